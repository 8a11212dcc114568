"""Resuming the HF Trainer after a save that was killed half-way.

The Trainer writes ``checkpoint-N`` in place, file by file, ``trainer_state.json`` last. A run
killed during a save (``kill -9``, OOM, preemption) leaves a ``checkpoint-N`` without it, and
transformers' ``get_last_checkpoint`` (what ``resume_from_checkpoint=True`` and the example
scripts use) still picks that folder, so every relaunch fails with ``FileNotFoundError:
.../trainer_state.json`` until the folder is deleted by hand.

:func:`last_complete_checkpoint` returns the newest folder the Trainer finished writing, and says
which newer ones it skipped; it never deletes anything (the Trainer overwrites the skipped folder
when the resumed run saves that step again). :func:`radam_integrations.integrations.transformers.register`
makes ``resume_from_checkpoint=True`` and ``transformers.trainer_utils.get_last_checkpoint`` use
it (patch 10 of :mod:`radam_integrations._compat.transformers`).

Example:
    >>> import json, os, tempfile, warnings
    >>> out = tempfile.mkdtemp()
    >>> for step, done in ((5, True), (10, False)):
    ...     os.makedirs(f"{out}/checkpoint-{step}")
    ...     if done:
    ...         with open(f"{out}/checkpoint-{step}/trainer_state.json", "w") as f:
    ...             json.dump({"global_step": step}, f)
    >>> with warnings.catch_warnings(record=True) as said:
    ...     warnings.simplefilter("always")
    ...     os.path.basename(last_complete_checkpoint(out))
    'checkpoint-5'
    >>> print(str(said[0].message).split(";")[0])
    checkpoint-10 is incomplete (no readable trainer_state.json for step 10: its save was interrupted)
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

__all__ = ["STATE_FILE", "is_complete_checkpoint", "last_complete_checkpoint"]

#: The file the Trainer writes last into a checkpoint folder (transformers' ``TRAINER_STATE_NAME``).
STATE_FILE = "trainer_state.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def is_complete_checkpoint(folder: str | os.PathLike[str]) -> bool:
    """Whether the Trainer finished writing ``folder`` (``checkpoint-N``).

    Its ``trainer_state.json`` exists, is whole JSON and holds ``global_step`` N.
    """
    path = Path(folder)
    found = _CHECKPOINT.match(path.name)
    try:
        state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return found is not None and isinstance(state, dict) and state.get("global_step") == int(found.group(1))


def last_complete_checkpoint(output_dir: str | os.PathLike[str]) -> str | None:
    """The newest ``checkpoint-N`` folder of ``output_dir`` that was completely written, or ``None``.

    Newer incomplete folders are skipped with one warning naming them; nothing is deleted.
    Use it where a script resumes:
    ``trainer.train(resume_from_checkpoint=last_complete_checkpoint(args.output_dir))``.
    """
    root = Path(output_dir)
    if not root.is_dir():
        return None
    steps = sorted(
        ((int(m.group(1)), p) for p in root.iterdir() if (m := _CHECKPOINT.match(p.name)) and p.is_dir()),
        reverse=True,
    )
    skipped: list[tuple[int, Path]] = []
    for step, folder in steps:
        if is_complete_checkpoint(folder):
            _report(skipped, f"resuming from {folder.name}")
            return str(folder)
        skipped.append((step, folder))
    _report(skipped, "no complete checkpoint to resume from")
    return None


def _report(skipped: list[tuple[int, Path]], outcome: str) -> None:
    if not skipped:
        return
    names = ", ".join(folder.name for _, folder in skipped)
    steps = ", ".join(str(step) for step, _ in skipped)
    verb = "is" if len(skipped) == 1 else "are"
    warnings.warn(
        f"{names} {verb} incomplete (no readable {STATE_FILE} for step {steps}: its save was interrupted); "
        f"{outcome}. Left as it is: the resumed run overwrites it when it saves that step again",
        UserWarning,
        stacklevel=3,
    )
