"""radam-integrations: Rectified Adam for real PyTorch training stacks.

``import radam_integrations`` needs only torch and imports no training framework:
adapters live in :mod:`radam_integrations.integrations` and import their framework
when they are used. :func:`register_all` registers RAdam with every installed framework
that picks optimizers by name; ``radam-integrations run SCRIPT`` runs a script you did not
write with everything registered (:mod:`radam_integrations.runner`).

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
from .autowarmup import AutoWarmup
from .optim import RAdam, SparseGradientError
from .registration import register_all
from .warmup import DetectorConfig, UnsupportedOptimizerError, WarmupDetector

__all__ = [
    "AutoWarmup",
    "DetectorConfig",
    "RAdam",
    "SparseGradientError",
    "UnsupportedOptimizerError",
    "WarmupDetector",
    "__version__",
    "register_all",
    "theory",
]
