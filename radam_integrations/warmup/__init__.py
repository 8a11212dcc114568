"""The warmup detector (framework-free): how Adam's adaptive learning rate settles.

The names users need are here; each module holds one piece (see :mod:`.detector`'s docstring).
"""

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
