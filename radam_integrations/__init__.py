"""radam-integrations: Rectified Adam for real PyTorch training stacks.

``import radam_integrations`` needs only torch (imported when a name that needs it is first
used, so the command line answers at once) and imports no training framework: adapters live in
:mod:`radam_integrations.integrations` and import their framework when they are used.
:func:`register_all` registers RAdam with every installed framework that picks optimizers by
name; ``radam-integrations run SCRIPT`` runs a script you did not write with everything
registered (:mod:`radam_integrations.runner`). Experimental work (AutoWarmup, MeasuredRAdam) is in
:mod:`radam_integrations.experimental`, imported only on request.

Example:
    >>> import torch
    >>> from radam_integrations import RAdam, theory
    >>> opt = RAdam(torch.nn.Linear(3, 1).parameters(), lr=1e-3)
    >>> theory.first_rectified_step(0.999)
    6
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from . import _lazy, theory
from ._version import __version__

if TYPE_CHECKING:  # for type checkers; at run time __getattr__ below imports these on first use
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

# Imported on first use (PEP 562), so that importing the package, or the CLI's schedule and report,
# does not import torch: each name's module, relative to this package. The submodules are the ones
# this package used to import at once; they stay reachable as attributes (radam_integrations.warmup).
_LAZY = {
    "DetectorConfig": ".warmup",
    "RAdam": ".optim",
    "SparseGradientError": ".optim",
    "UnsupportedOptimizerError": ".warmup",
    "WarmupDetector": ".warmup",
    "register_all": ".registration",
}
_SUBMODULES = ("optim", "registration", "warmup")


def __getattr__(name: str) -> object:
    if name == "AutoWarmup":
        # Deprecated in 0.1.0, removed in the next release: the one place the core names the
        # experimental package (tests/test_layout.py holds it to this). Not cached: it warns each time.
        import warnings

        warnings.warn(
            "radam_integrations.AutoWarmup moved: import it from radam_integrations.experimental",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module("radam_integrations.experimental").AutoWarmup
    return _lazy.load(__name__, globals(), name, _LAZY, _SUBMODULES)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
