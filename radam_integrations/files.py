"""Files the pack writes: atomically, as strict JSON, and without leaving temporaries behind.

Every file is written to a temporary sibling ``.NAME.<random>.tmp`` and renamed over ``NAME``
(``os.replace``), so a reader sees the old file or the new one, never half of one. While a
writer works it holds an exclusive ``flock`` on its temporary; a writer killed mid-save
(``kill -9``, OOM, preemption) leaves its temporary behind with the lock released, and the next
write of the same target removes such stale temporaries (see :func:`remove_stale_temporaries`).

JSON is strict (RFC 8259): NaN and infinities become ``null`` (:func:`strict_json`), because
``json.dump`` writes ``NaN``/``Infinity`` by default and ``JSON.parse`` and strict parsers
reject them. Readers turn ``null`` back into NaN where a number is expected.

Example:
    >>> import json, math, tempfile
    >>> from pathlib import Path
    >>> from radam_integrations.files import write_json
    >>> path = Path(tempfile.mkdtemp()) / "out.json"
    >>> _ = write_json(path, {"noise": math.nan, "steps": [1, 2]})
    >>> path.read_text()
    '{\\n "noise": null,\\n "steps": [\\n  1,\\n  2\\n ]\\n}'
    >>> sorted(p.name for p in path.parent.iterdir())  # no temporary left
    ['out.json']
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

try:  # POSIX: a killed writer's lock is released by the kernel, which is how stale files are told apart
    import fcntl
except ImportError:  # pragma: no cover - Windows: stale temporaries are left alone
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "atomic_write",
    "invalid_json_message",
    "remove_stale_temporaries",
    "strict_json",
    "write_json",
]

#: A temporary is only removed when it is unlocked AND untouched for this long: a writer takes its
#: lock right after creating the file, and this closes that microsecond window.
STALE_AFTER_S = 2.0


def invalid_json_message(path: str | os.PathLike[str], err: json.JSONDecodeError) -> str:
    """One line for a file that is not valid JSON, saying where it breaks.

    >>> try:
    ...     json.loads('{"a": "unfinished')
    ... except json.JSONDecodeError as err:
    ...     print(invalid_json_message("h.json", err))
    h.json: not valid JSON (line 1, column 7: Unterminated string starting at); truncated?
    """
    return f"{path}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); truncated?"


def strict_json(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, inf) replaced by ``None``, recursively.

    Tuples become lists (as ``json`` writes them); other values are returned unchanged.

    >>> strict_json({"a": [1.0, float("inf")], "b": (float("nan"), "x")})
    {'a': [1.0, None], 'b': [None, 'x']}
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: strict_json(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(value) for value in obj]
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`strict_json` ``(obj)``; raises rather than write NaN/Infinity."""
    return json.dumps(strict_json(obj), allow_nan=False, **kwargs)


def _temporary_pattern(name: str) -> re.Pattern[str]:
    # mkstemp's names: prefix + 8 characters of [a-z0-9_] + suffix (older versions wrote no suffix).
    return re.compile(re.escape(f".{name}.") + r"[a-z0-9_]{8}(\.tmp)?")


def remove_stale_temporaries(
    path: str | os.PathLike[str], *, older_than_s: float = STALE_AFTER_S
) -> list[Path]:
    """Remove the temporaries that killed writers of ``path`` left behind; return what was removed.

    A temporary ``.NAME.<random>.tmp`` next to ``path`` is stale when no process holds its lock
    (a live writer always does) and it has not been modified for ``older_than_s`` seconds. Only
    files matching that exact pattern for this ``NAME`` are considered, so other files in the
    folder are never touched. On systems without ``fcntl`` (Windows) nothing is removed: delete
    ``.NAME.*.tmp`` files by hand when no save is running.
    """
    path = Path(path)
    if fcntl is None or not path.parent.is_dir():
        return []
    pattern = _temporary_pattern(path.name)
    removed = []
    now = time.time()
    for candidate in path.parent.iterdir():
        if not pattern.fullmatch(candidate.name):
            continue
        try:
            fd = os.open(candidate, os.O_RDONLY)
        except OSError:
            continue  # gone meanwhile, or not ours to read
        try:
            if now - os.fstat(fd).st_mtime < older_than_s:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live writer holds it
            try:
                candidate.unlink()
                removed.append(candidate)
            except OSError:
                pass
        finally:
            os.close(fd)
    return removed


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a locked temporary next to ``path``; on success fsync and rename it over ``path``.

    On any exception (or ``KeyboardInterrupt``) the temporary is removed and ``path`` is left as
    it was. Stale temporaries of earlier, killed writers are removed first.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "data.bin"
    >>> with atomic_write(target) as fh:
    ...     _ = fh.write(b"payload")
    >>> target.read_bytes()
    b'payload'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        # mkstemp creates the file 0600; give it what a plain open() would: the target's own mode,
        # or 0666 less the umask.
        with contextlib.suppress(OSError):
            os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            os.replace(tmp, path)  # still locked: a concurrent cleanup never sees it unlocked
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (Python has no getter: set it and put it back at once, under a lock)."""
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_umask_lock = threading.Lock()


def write_json(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 1) -> str:
    """Write ``obj`` as strict JSON (non-finite numbers as ``null``), atomically; return the path."""
    text = dumps(obj, indent=indent)
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return str(path)
