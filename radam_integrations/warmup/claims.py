"""Which detectors watch which optimizer, so that attaching automatically never doubles one.

A detector can come from three places, in order of precedence:

* ``EXPLICIT``: built by the user, directly or through a callback they added;
* ``FRAMEWORK``: a framework callback added without a code change (Lightning's entry points
  with ``RADAM_WARMUP_DETECTOR=1``, the Hugging Face callback the runner's ``--detect`` adds);
* ``HOOK``: the runner's ``--detect`` step hook, for any other Adam-family optimizer;
* ``INTERNAL``: a detector that only feeds a computation (``AutoWarmup``'s measurement): it
  logs nothing, so it outranks nothing and every logging detector outranks it.

Every :class:`~radam_integrations.WarmupDetector` records here, at construction, the optimizer
it reads and its level (``EXPLICIT`` unless built inside :func:`attaching`). An automatic one
asks :func:`outranked` and steps aside when one of a higher level watches the same optimizer.
Only weak references are kept.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["EXPLICIT", "FRAMEWORK", "HOOK", "INTERNAL", "attaching", "claim", "outranked", "watchers"]

INTERNAL, HOOK, FRAMEWORK, EXPLICIT = -1, 0, 1, 2

_level: ContextVar[int] = ContextVar("radam_integrations_attach_level", default=EXPLICIT)
# id(optimizer) -> (weak optimizer, [(level, weak detector)]); ids are only trusted while the
# optimizer is alive, which the weak reference tells.
_watchers: dict[int, tuple[weakref.ref[Any], list[tuple[int, weakref.ref[Any]]]]] = {}


@contextmanager
def attaching(level: int) -> Iterator[None]:
    """Detectors built inside this block are recorded at ``level`` (``FRAMEWORK``, ``HOOK``, ``INTERNAL``)."""
    token = _level.set(level)
    try:
        yield
    finally:
        _level.reset(token)


def _entry(optimizer: Any) -> list[tuple[int, weakref.ref[Any]]] | None:
    found = _watchers.get(id(optimizer))
    if found is None or found[0]() is not optimizer:
        return None
    found[1][:] = [(lvl, ref) for lvl, ref in found[1] if ref() is not None]
    return found[1]


def claim(optimizer: Any, detector: Any) -> int:
    """Record that ``detector`` watches ``optimizer`` at the current level; return the level."""
    level = _level.get()
    entry = _entry(optimizer)
    if entry is None:
        try:
            ref = weakref.ref(optimizer)
        except TypeError:  # not weak-referenceable: nothing to coordinate with
            return level
        for key in [k for k, (opt, _) in _watchers.items() if opt() is None]:
            del _watchers[key]
        entry = []
        _watchers[id(optimizer)] = (ref, entry)
    entry.append((level, weakref.ref(detector)))
    return level


def watchers(optimizer: Any) -> list[tuple[int, Any]]:
    """The live ``(level, detector)`` pairs watching ``optimizer``."""
    entry = _entry(optimizer) or []
    return [(level, det) for level, ref in entry if (det := ref()) is not None]


def outranked(detector: Any, optimizer: Any, level: int) -> bool:
    """Whether another live detector of a higher level than ``level`` watches ``optimizer``."""
    return any(lvl > level and det is not detector for lvl, det in watchers(optimizer))
