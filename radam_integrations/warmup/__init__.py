"""The warmup detector (framework-free): how Adam's adaptive learning rate settles."""

from .detector import GROUP_METRICS, UnsupportedOptimizerError, WarmupDetector, unwrap_optimizer
from .report import HistoryError, MissingDependencyError, find_history, load_history, summarize_history

__all__ = [
    "GROUP_METRICS",
    "HistoryError",
    "MissingDependencyError",
    "UnsupportedOptimizerError",
    "WarmupDetector",
    "find_history",
    "load_history",
    "summarize_history",
    "unwrap_optimizer",
]
