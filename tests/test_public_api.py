"""The public API, pinned: changing what a module exports is a deliberate edit of this file.

Every listed name exists; a module's ``__all__`` is exactly the list here. The lists say what users
may import; everything else (underscore modules, names outside ``__all__``) may change freely.
"""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "radam_integrations": [
        "DetectorConfig", "RAdam", "SparseGradientError", "UnsupportedOptimizerError",
        "WarmupDetector", "__version__", "register_all", "theory",
    ],
    "radam_integrations.experimental": [
        "AutoWarmup", "MeasuredRAdam", "MeasuredRectification", "register_all",
    ],
    "radam_integrations.optim": ["RAdam", "SparseGradientError", "StepPath"],
    "radam_integrations.warmup": [
        "COMPACT_METRICS", "DetectorConfig", "GROUP_METRICS", "HistoryError", "MetricChoice",
        "MissingDependencyError", "RUN_METRICS", "RUN_WORST", "UnsupportedOptimizerError", "WarmupDetector",
        "check_metric_choice", "find_history", "load_history", "select_metrics", "summarize_history",
        "unwrap_optimizer",
    ],
    "radam_integrations.integrations.transformers": [
        "AttachedWarmupDetectorCallback", "OPTIMIZERS", "OPTIM_ARGS", "WarmupDetectorCallback",
        "attach_by_default", "last_complete_checkpoint", "optimizer_cls_and_kwargs", "parse_optim_args",
        "register",
    ],
    "radam_integrations.integrations.lightning": [
        "ENV_VAR", "FabricWarmupDetectorCallback", "WarmupDetectorCallback", "callbacks_factory",
        "fabric_callbacks_factory",
    ],
    "radam_integrations.integrations.accelerate": [
        "AccelerateWarmupDetector", "OptimizerSwappedError", "OptimizerSwappedWarning",
        "check_optimizer_kept", "predict_optimizer_swap", "radam_kwargs_for",
    ],
    "radam_integrations.integrations.timm": ["NAMES", "register", "unregister"],
    "radam_integrations.checkpoint": ["CheckpointError", "load_checkpoint", "remove_stale_temporaries",
                                      "save_checkpoint"],
    "radam_integrations.runner": ["DETECTOR_DIR_ENV", "ENV_VAR", "RunnerError", "main", "run_script"],
    "radam_integrations.tables": ["text_table"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_exports_are_exactly_the_pinned_names(module: str) -> None:
    if module.startswith("radam_integrations.integrations."):
        pytest.importorskip(module.rsplit(".", 1)[1])  # the framework itself
    loaded = importlib.import_module(module)
    assert sorted(loaded.__all__) == sorted(PUBLIC[module])
    missing = [name for name in loaded.__all__ if not hasattr(loaded, name)]
    assert missing == []
