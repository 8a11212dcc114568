"""Register the experimental names, only when asked: they are never part of ``register_all()``.

Asking is one of:

* ``radam_integrations.experimental.register_all()`` in your own code (before building
  ``TrainingArguments``, or calling timm's ``create_scheduler_v2``);
* ``python -m radam_integrations.experimental [--detect] SCRIPT [ARGS...]``: the runner
  (:mod:`radam_integrations.runner`) with these names registered too, for scripts you did not write.

What it adds, on top of RAdam's own names (:func:`radam_integrations.register_all`):

* transformers: ``lr_scheduler_type="auto_warmup"``, ``"auto_warmup_linear"``, ``"auto_warmup_cosine"``
  (:mod:`.transformers_schedules`) and ``optim_args="rectify=measured"``, which trains with
  :class:`~radam_integrations.experimental.MeasuredRAdam`;
* timm: ``create_scheduler_v2(sched="auto_warmup_<name>")`` and ``train.py --sched auto_warmup_cosine``
  (:mod:`.timm_schedules`); ``create_optimizer_v2(opt="measuredradam")`` / ``"measuredradamw"``
  (``--opt measuredradamw``) for :class:`~radam_integrations.experimental.MeasuredRAdam`.

Example:
    >>> from radam_integrations.experimental import register_all
    >>> sorted(register_all())
    ['timm', 'transformers']
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from .. import registration as _core
from .. import runner as _runner
from .._compat import timm as timm_compat
from .._compat import transformers as transformers_compat

__all__ = ["FRAMEWORKS", "NAMES", "register_all"]

#: What the experimental runner's first line says it registered, per framework: RAdam's names
#: (the core runner's line) and the experimental ones.
NAMES = {
    "transformers": f"{_runner.NAMES['transformers']}; experimental: --lr_scheduler_type auto_warmup*, "
    "--optim_args rectify=measured",
    "timm": f"{_runner.NAMES['timm']}; experimental: --sched auto_warmup*, "
    "--opt measuredradam/measuredradamw",
}


def _parse_rectify(text: str) -> str:
    if text.lower() in ("theory", "measured"):
        return text.lower()
    raise ValueError


def _rectify_class(value: Any) -> type | None:
    if value == "measured":
        from .measured_radam import MeasuredRAdam

        return MeasuredRAdam
    return None


def _transformers_names(module: ModuleType) -> None:
    from ..integrations import transformers_args

    transformers_args.register_optim_arg("rectify", _parse_rectify, "theory or measured", _rectify_class)
    importlib.import_module("radam_integrations.experimental.transformers_schedules").register(module)


def _transformers_trainer(module: ModuleType) -> None:
    from .transformers_schedules import warn_if_scheduler_replaced

    transformers_compat.check_before_create(module.Trainer, "create_scheduler", warn_if_scheduler_replaced)


def _timm_schedulers(module: ModuleType) -> None:
    importlib.import_module("radam_integrations.experimental.timm_schedules").register()


def _timm_optimizers(module: ModuleType) -> None:
    from ..integrations import timm as radam_timm
    from .measured_radam import MeasuredRAdam

    radam_timm.register(
        {
            "measuredradam": (MeasuredRAdam, {}, "experimental: RAdam with the measured rectification"),
            "measuredradamw": (
                MeasuredRAdam,
                {"decoupled_weight_decay": True},
                "experimental: RAdam with the measured rectification, decoupled weight decay",
            ),
        }
    )


#: framework -> the experimental registration steps, after RAdam's own
#: (:data:`radam_integrations.registration.FRAMEWORKS`).
FRAMEWORKS: _core.Steps = {
    "transformers": (
        *_core.FRAMEWORKS["transformers"],
        (transformers_compat.TRAINING_ARGS_MODULE, _transformers_names),
        (transformers_compat.TRAINER_MODULE, _transformers_trainer),
    ),
    "timm": (
        *_core.FRAMEWORKS["timm"],
        (timm_compat.REGISTRY_MODULE, _timm_optimizers),
        (timm_compat.SCHEDULER_FACTORY_MODULE, _timm_schedulers),
    ),
}


def register_all(*, when_imported: bool = False) -> list[str]:
    """Register RAdam's names and the experimental ones with every installed framework.

    As :func:`radam_integrations.register_all` (``when_imported`` included), plus the names
    listed in this module's docstring. Idempotent.
    """
    return _core.register_frameworks(FRAMEWORKS, when_imported=when_imported)
