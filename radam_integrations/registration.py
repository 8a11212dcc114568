"""Register RAdam with every installed framework that selects optimizers by name.

* transformers: ``TrainingArguments(optim="radam"/"radamw")``, ``--optim radam`` through
  ``HfArgumentParser`` (see :mod:`radam_integrations.integrations.transformers`);
* timm: ``create_optimizer_v2(opt="radam"/"radamw")`` and ``train.py --opt radam``
  (see :mod:`radam_integrations.integrations.timm`).

Lightning and Accelerate take optimizer objects or class paths and need no registration. The
experimental names (AutoWarmup's schedulers, ``optim_args="rectify=measured"``) are not registered
here: ``radam_integrations.experimental.register_all()`` adds them.

Example:
    >>> import radam_integrations
    >>> "timm" in radam_integrations.register_all()  # what was registered (installed frameworks)
    True
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable
from types import ModuleType

from . import _import_hooks
from ._compat import timm as timm_compat
from ._compat import transformers as transformers_compat

__all__ = ["FRAMEWORKS", "installed_frameworks", "register_all", "register_frameworks"]


def _transformers_names(module: ModuleType) -> None:
    importlib.import_module("radam_integrations.integrations.transformers_args").register(module)


def _transformers_trainer(module: ModuleType) -> None:
    importlib.import_module("radam_integrations.integrations.transformers").register()


def _timm(module: ModuleType) -> None:
    importlib.import_module("radam_integrations.integrations.timm").register()


#: A table of registration steps: framework -> ``(module, step)`` pairs.
Steps = dict[str, tuple[tuple[str, Callable[[ModuleType], None]], ...]]

#: framework -> the modules whose import triggers each registration step, in order. Names come
#: first for transformers: ``OptimizerNames`` must know "radam" before any ``TrainingArguments``
#: is built, and ``transformers.training_args`` can be imported without the Trainer.
FRAMEWORKS: Steps = {
    "transformers": (
        (transformers_compat.TRAINING_ARGS_MODULE, _transformers_names),
        (transformers_compat.TRAINER_MODULE, _transformers_trainer),
    ),
    "timm": ((timm_compat.REGISTRY_MODULE, _timm),),
}


def installed_frameworks(frameworks: Iterable[str] = FRAMEWORKS) -> list[str]:
    """The frameworks (of :data:`FRAMEWORKS`) that are installed (found without importing them)."""
    found = []
    for name in frameworks:
        try:
            if importlib.util.find_spec(name) is not None:
                found.append(name)
        except (ImportError, ValueError):
            continue
    return found


def register_all(*, when_imported: bool = False) -> list[str]:
    """Register RAdam's names with every installed framework; return the frameworks.

    Args:
        when_imported: register each framework right after the program imports it, instead of
            importing every framework now. The runner does this, so that a timm script does
            not pay for importing transformers and the reverse; the effect is the same, since a
            framework selects optimizers by name only once it is imported.

    Idempotent. ``register_all()`` imports the frameworks (transformers' Trainer and timm take a
    few seconds each).
    """
    return register_frameworks(FRAMEWORKS, when_imported=when_imported)


def register_frameworks(frameworks: Steps, *, when_imported: bool = False) -> list[str]:
    """:func:`register_all` for another table of steps (the experimental package's); the frameworks found."""
    found = installed_frameworks(frameworks)
    for name in found:
        for module_name, step in frameworks[name]:
            if when_imported:
                _import_hooks.when_imported(module_name, step)
            else:
                step(importlib.import_module(module_name))
    return found
