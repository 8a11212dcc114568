"""timm internals: the default optimizer registry, and where Lookahead keeps its base optimizer.

Public since timm 1.0.12: ``timm.optim.OptimInfo``, ``list_optimizers``, ``get_optimizer_info``
and ``OptimizerRegistry.register``. Not public: the registry instance ``default_registry``
(module ``timm.optim._optim_factory``, also the post-import hook's trigger, since its rows exist
once that module has run) and its row table ``_optimizers``, which we read to skip an
identical row and edit to replace a row without timm's "already registered, overwriting"
warning. Also not public: ``timm.optim.Lookahead`` keeps the optimizer it wraps in
``_base_optimizer`` (:data:`LOOKAHEAD_BASE_ATTRIBUTE`; the warmup detector follows it, see
:mod:`.wrappers`). Checked on timm 1.0.12 and 1.0.31.

Schedulers: timm has no scheduler registry; ``create_scheduler_v2`` (module
:data:`SCHEDULER_FACTORY_MODULE`) chooses by name in an if/elif chain, and ``create_scheduler``
calls it through that module's globals. :func:`wrap_scheduler_factory` replaces the function
there and in ``timm.scheduler``, which re-exports it (``train.py`` does ``from timm.scheduler
import create_scheduler_v2``, so the wrapper must be in place before the script runs).
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = [
    "LOOKAHEAD_BASE_ATTRIBUTE",
    "MARK",
    "REGISTRY_MODULE",
    "SCHEDULER_FACTORY_MODULE",
    "drop_row",
    "get_row",
    "optim_info_class",
    "optimizer_registry",
    "wrap_scheduler_factory",
]

#: The module that defines ``OptimInfo`` and builds ``default_registry`` with timm's own rows.
REGISTRY_MODULE = "timm.optim._optim_factory"
#: The module that defines ``create_scheduler_v2`` (the post-import hook's trigger for the scheduler names).
SCHEDULER_FACTORY_MODULE = "timm.scheduler.scheduler_factory"
#: Attribute set on the wrapper, holding the wrapped original.
MARK = "_radam_integrations_original"
#: Where ``timm.optim.Lookahead`` keeps the optimizer it wraps.
LOOKAHEAD_BASE_ATTRIBUTE = "_base_optimizer"


def optimizer_registry() -> Any:
    """timm's process-wide optimizer registry (what ``create_optimizer_v2`` looks names up in)."""
    try:
        from timm.optim._optim_factory import default_registry as registry
    except ImportError as err:
        raise ImportError(
            "radam_integrations needs timm >= 1.0.12 (its optimizer registry): "
            f"pip install 'radam-integrations[timm]' ({err})"
        ) from err
    _rows(registry)
    return registry


def optim_info_class() -> type:
    """``timm.optim.OptimInfo``, imported from where it is defined (works during timm's own import)."""
    from timm.optim._optim_factory import OptimInfo

    return OptimInfo


def _rows(registry: Any) -> dict[str, Any]:
    rows = getattr(registry, "_optimizers", None)
    if not isinstance(rows, dict):
        raise RuntimeError(
            "timm's OptimizerRegistry no longer keeps its rows in a dict named _optimizers; "
            "radam_integrations._compat.timm needs updating for this timm version"
        )
    return rows


def get_row(registry: Any, name: str) -> Any:
    """The registered ``OptimInfo`` for ``name``, or ``None``."""
    return _rows(registry).get(name)


def drop_row(registry: Any, name: str) -> None:
    """Remove ``name`` so that ``registry.register`` adds it again without a warning."""
    _rows(registry).pop(name, None)


def wrap_scheduler_factory(make_wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Put ``make_wrapper(original)`` where timm's ``create_scheduler_v2`` is looked up. Idempotent."""
    # Modules looked up by name, their functions replaced: Any, not ModuleType (no attributes to assign).
    factory: Any = importlib.import_module(SCHEDULER_FACTORY_MODULE)
    current = factory.create_scheduler_v2
    if getattr(current, MARK, None) is not None:
        return
    wrapper = functools.wraps(current)(make_wrapper(current))
    setattr(wrapper, MARK, current)
    factory.create_scheduler_v2 = wrapper
    package: Any = sys.modules.get("timm.scheduler")  # bound by its ``from .scheduler_factory import``
    if package is not None and getattr(package, "create_scheduler_v2", None) is current:
        package.create_scheduler_v2 = wrapper
