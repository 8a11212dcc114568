"""Which of the detector's metrics an adapter logs: the compact set, all of them, or a list.

:meth:`WarmupDetector.update` returns every metric (17 per parameter group plus the run-level
ones). Logging all of them puts dozens of keys on every console line and a chart per key in
every logger, many of them functions of the step alone (``rho_t``, ``r_t``, ``ess``,
``var_ratio``, ``beta2``). The adapters therefore log the **compact** set by default, what a
user acts on, per optimizer:

* ``noise`` and ``staleness``: the worst group's sampling noise and staleness of the adaptive
  learning rate; warmup still matters while either is above the tolerance (0.1);
* ``settled_step``: T, the step from which warmup no longer matters (once known);
* ``suggested_warmup_steps``: the linear warmup to use (once T is known).

``"all"`` logs everything; a list of names (per-group metric names such as ``"r_t"`` or
run-level names such as ``"relapses"``) logs exactly those. The history file
(``warmup_history.json``) always holds every metric.

Example:
    >>> metrics = {"warmup/Adam/noise": 0.3, "warmup/Adam/pg0/noise": 0.3, "warmup/Adam/pg0/rho_t": 12.0}
    >>> select_metrics(metrics, "compact")
    {'warmup/Adam/noise': 0.3}
    >>> sorted(select_metrics(metrics, ["rho_t"]))
    ['warmup/Adam/pg0/rho_t']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from .metrics import GROUP_METRICS, RUN_METRICS, RUN_WORST

__all__ = ["COMPACT_METRICS", "MetricChoice", "check_metric_choice", "select_metrics"]

#: The run-level metrics the adapters log by default.
COMPACT_METRICS = (*RUN_WORST, "settled_step", "suggested_warmup_steps")

#: What an adapter's ``metrics=`` takes: ``"compact"``, ``"all"`` or a list of metric names.
MetricChoice = Literal["compact", "all"] | Sequence[str]

_KNOWN = frozenset(GROUP_METRICS) | frozenset(RUN_METRICS) | frozenset(RUN_WORST)


def check_metric_choice(metrics: MetricChoice, owner: str) -> MetricChoice:
    """Validate a ``metrics=`` argument; returns it (a list when a sequence of names was given).

    Raises:
        ValueError: an unknown name, or neither ``"compact"``, ``"all"`` nor a list of names.
    """
    if metrics in ("compact", "all"):
        return metrics
    if isinstance(metrics, str) or not isinstance(metrics, Sequence):
        raise ValueError(
            f"{owner}: metrics must be 'compact', 'all' or a list of metric names, got {metrics!r}"
        )
    unknown = sorted(set(metrics) - _KNOWN)
    if unknown:
        raise ValueError(f"{owner}: unknown metrics {unknown}; choose from {sorted(_KNOWN)}")
    return list(metrics)


def select_metrics(metrics: dict[str, float], which: MetricChoice) -> dict[str, float]:
    """The finite entries of a detector's metrics dict that ``which`` selects.

    Names are ``warmup/<Optimizer>/<metric>`` (run level) or ``warmup/<Optimizer>/<group>/<metric>``.
    Values that are not defined yet (NaN, infinite) are left out.
    """
    if which == "all":
        keep = None
        run_only = False
    elif which == "compact":
        keep, run_only = frozenset(COMPACT_METRICS), True
    else:
        keep, run_only = frozenset(which), False
    out = {}
    for key, value in metrics.items():
        if not math.isfinite(value):
            continue
        parts = key.split("/")
        if keep is not None and (parts[-1] not in keep or (run_only and len(parts) != 3)):
            continue
        out[key] = float(value)
    return out
