"""radam-integrations: Rectified Adam for real PyTorch training stacks.

``import radam_integrations`` needs only torch and imports no training framework:
adapters live in :mod:`radam_integrations.integrations` and import their framework
when they are used. :func:`register_all` registers RAdam with every installed framework
that picks optimizers by name; ``radam-integrations run SCRIPT`` runs a script you did not
write with everything registered (:mod:`radam_integrations.runner`). Experimental work
(AutoWarmup, MeasuredRAdam) is in :mod:`radam_integrations.experimental`, imported only on request.

Example:
    >>> import torch
    >>> from radam_integrations import RAdam, theory
    >>> opt = RAdam(torch.nn.Linear(3, 1).parameters(), lr=1e-3)
    >>> theory.first_rectified_step(0.999)
    6
"""

from __future__ import annotations

from . import theory
from ._version import __version__
from .optim import RAdam, SparseGradientError
from .registration import register_all
from .warmup import DetectorConfig, UnsupportedOptimizerError, WarmupDetector

__all__ = [
    "DetectorConfig",
    "RAdam",
    "SparseGradientError",
    "UnsupportedOptimizerError",
    "WarmupDetector",
    "__version__",
    "register_all",
    "theory",
]


def __getattr__(name: str) -> object:
    # Deprecated in 0.1.0, removed in the next release: the one place the core names the
    # experimental package (tests/test_import_graph.py holds it to this).
    if name == "AutoWarmup":
        import importlib
        import warnings

        warnings.warn(
            "radam_integrations.AutoWarmup moved: import it from radam_integrations.experimental",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module("radam_integrations.experimental").AutoWarmup
    raise AttributeError(f"module 'radam_integrations' has no attribute {name!r}")
