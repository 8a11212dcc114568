"""The warmup detector (framework-free): how Adam's adaptive learning rate settles."""

from .detector import (
    GROUP_METRICS,
    RUN_METRICS,
    RUN_WORST,
    UnsupportedOptimizerError,
    WarmupDetector,
    unwrap_optimizer,
)
from .report import HistoryError, MissingDependencyError, find_history, load_history, summarize_history
from .selection import COMPACT_METRICS, MetricChoice, check_metric_choice, select_metrics

__all__ = [
    "COMPACT_METRICS",
    "GROUP_METRICS",
    "RUN_METRICS",
    "RUN_WORST",
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
