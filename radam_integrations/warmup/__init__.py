"""The warmup detector (framework-free): how Adam's adaptive learning rate settles.

The names users need are here; each module holds one piece (see :mod:`.detector`'s docstring).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _lazy

if TYPE_CHECKING:  # for type checkers; at run time __getattr__ below imports these on first use
    from .config import DetectorConfig
    from .detector import WarmupDetector
    from .metrics import GROUP_METRICS, RUN_METRICS, RUN_WORST
    from .report import HistoryError, MissingDependencyError, find_history, load_history, summarize_history
    from .selection import COMPACT_METRICS, MetricChoice, check_metric_choice, select_metrics
    from .unwrap import UnsupportedOptimizerError, unwrap_optimizer

__all__ = [
    "COMPACT_METRICS",
    "GROUP_METRICS",
    "RUN_METRICS",
    "RUN_WORST",
    "DetectorConfig",
    "HistoryError",
    "MetricChoice",
    "MissingDependencyError",
    "UnsupportedOptimizerError",
    "WarmupDetector",
    "check_metric_choice",
    "find_history",
    "load_history",
    "select_metrics",
    "summarize_history",
    "unwrap_optimizer",
]

# Imported on first use (PEP 562): the report side (``radam-integrations report``) reads history
# files without importing torch, which the detector's modules need. Each name's module, relative to
# this package; the submodules are the ones this package used to import at once, still reachable as
# attributes (radam_integrations.warmup.detector).
_LAZY = {
    "COMPACT_METRICS": ".selection",
    "GROUP_METRICS": ".metrics",
    "RUN_METRICS": ".metrics",
    "RUN_WORST": ".metrics",
    "DetectorConfig": ".config",
    "HistoryError": ".report",
    "MetricChoice": ".selection",
    "MissingDependencyError": ".report",
    "UnsupportedOptimizerError": ".unwrap",
    "WarmupDetector": ".detector",
    "check_metric_choice": ".selection",
    "find_history": ".report",
    "load_history": ".report",
    "select_metrics": ".selection",
    "summarize_history": ".report",
    "unwrap_optimizer": ".unwrap",
}
_SUBMODULES = ("config", "detector", "metrics", "report", "selection", "unwrap")


def __getattr__(name: str) -> object:
    return _lazy.load(__name__, globals(), name, _LAZY, _SUBMODULES)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
