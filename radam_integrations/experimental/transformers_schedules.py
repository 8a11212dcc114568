"""``lr_scheduler_type`` names for AutoWarmup in the HF Trainer.

``lr_scheduler_type="auto_warmup"`` (constant after the measured warmup), ``"auto_warmup_linear"``
and ``"auto_warmup_cosine"`` (the measured warmup times a linear or cosine decay to 0 over the
run's ``max_steps``), on the command line too (``--lr_scheduler_type auto_warmup_cosine``). The
measured warmup replaces ``warmup_steps``/``warmup_ratio``, which must stay 0;
``lr_scheduler_kwargs`` are AutoWarmup's measurement options (``{"tol": 0.2, "every": 5}``).

Experimental: installed only by :func:`register` (``radam_integrations.experimental.register_all()``
does it, and so does ``python -m radam_integrations.experimental run SCRIPT``).

Example:
    >>> from radam_integrations.experimental import register_all
    >>> _ = register_all()
    >>> from transformers import TrainingArguments
    >>> TrainingArguments("out", lr_scheduler_type="auto_warmup_cosine").lr_scheduler_type.value
    'auto_warmup_cosine'
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import theory

__all__ = ["SCHEDULERS", "check_scheduler_arguments", "register", "warn_if_scheduler_replaced"]


#: name -> (``SchedulerType`` member name, the decay over the run as :func:`theory.decay_factor` names
#: it, the Trainer's own ``linear``/``cosine``; ``None``: constant).
SCHEDULERS: dict[str, tuple[str, str | None]] = {
    "auto_warmup": ("AUTO_WARMUP", None),
    "auto_warmup_linear": ("AUTO_WARMUP_LINEAR", "linear"),
    "auto_warmup_cosine": ("AUTO_WARMUP_COSINE", "cosine"),
}


def _warmup_fields(args: Any) -> str:
    """The warmup fields this transformers version has."""
    from ..integrations.transformers_args import WARMUP_FIELDS

    return " and ".join(field for field in WARMUP_FIELDS if hasattr(args, field))


def _options(kwargs: Any) -> dict[str, Any]:
    """``lr_scheduler_kwargs`` as a dict (transformers accepts a JSON string too)."""
    if kwargs is None or kwargs == "":
        return {}
    if isinstance(kwargs, str):
        try:
            kwargs = json.loads(kwargs)
        except ValueError:
            raise ValueError(f"lr_scheduler_kwargs: not a JSON object: {kwargs!r}") from None
    if not isinstance(kwargs, dict):
        raise ValueError(f"lr_scheduler_kwargs: expected a dict of AutoWarmup options, got {kwargs!r}")
    return dict(kwargs)


def check_scheduler_arguments(args: Any, deepspeed_config: dict[str, Any] | None = None) -> None:
    """Refuse, when the arguments are built, what would fail or be dropped at ``train()``.

    For our ``lr_scheduler_type`` names: a warmup length (the warmup is measured), unknown
    ``lr_scheduler_kwargs`` (they are AutoWarmup's measurement options), and a DeepSpeed config with
    a ``"scheduler"`` block (transformers then builds DeepSpeed's scheduler and never ours).

    Raises:
        ValueError: one line naming the problem and what to do.
    """
    from ..integrations.transformers_args import optim_name, refuse_deepspeed_block, warmup_given

    name = optim_name(args.lr_scheduler_type)
    if name not in SCHEDULERS:
        return
    given = warmup_given(args)
    if given:
        raise ValueError(
            f"lr_scheduler_type={name!r} measures the warmup itself; leave {_warmup_fields(args)} at 0 "
            f"(got {', '.join(given)})"
        )
    from ..warmup.config import DetectorConfig

    options = _options(args.lr_scheduler_kwargs)
    known = set(DetectorConfig().as_dict()) | {"sharded"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"lr_scheduler_kwargs: unknown option(s) {unknown} for lr_scheduler_type={name!r}; "
            f"AutoWarmup takes {sorted(known)}"
        )
    DetectorConfig.build(None, **{k: v for k, v in options.items() if k != "sharded"})  # values
    refuse_deepspeed_block(
        deepspeed_config, "scheduler", f"lr_scheduler_type={name!r}",
        "to use the measured warmup, or drop lr_scheduler_type to keep DeepSpeed's",
    )  # fmt: skip


def _factory(name: str) -> Callable[..., Any]:
    decay_name = SCHEDULERS[name][1]

    def make(
        optimizer: Any, num_warmup_steps: int = 0, num_training_steps: int | None = None, **options: Any
    ) -> Any:
        from .autowarmup import AutoWarmup

        if num_warmup_steps:
            raise ValueError(
                f"lr_scheduler_type={name!r} measures the warmup itself; leave warmup_steps at 0 "
                f"(got {num_warmup_steps} warmup steps)"
            )
        decay = None
        if decay_name is not None:
            if not num_training_steps:
                raise ValueError(f"lr_scheduler_type={name!r} needs the number of training steps (max_steps)")
            total = int(num_training_steps)
            decay = lambda step: theory.decay_factor(step, total, decay_name)  # noqa: E731
        return AutoWarmup(optimizer, decay=decay, **options)

    make.__name__ = f"get_{name}_schedule"
    return make


def warn_if_scheduler_replaced(trainer: Any) -> None:
    """An AutoWarmup ``lr_scheduler_type`` with a scheduler handed to the Trainer: say which one runs."""
    from ..integrations.transformers import _warn_once  # the Trainer is imported: it is calling us
    from ..integrations.transformers_args import optim_name

    name = optim_name(trainer.args.lr_scheduler_type)
    given = trainer.lr_scheduler
    if name not in SCHEDULERS or given is None:
        return
    from .autowarmup import AutoWarmup

    if not isinstance(given, AutoWarmup):
        _warn_once(
            trainer,
            "scheduler",
            f"lr_scheduler_type={name!r} is ignored: the Trainer was given {type(given).__name__} through "
            "optimizers=(..., lr_scheduler), which schedules instead",
        )


def register(training_args_module: Any) -> None:
    """Add the names to ``SchedulerType`` and their factories to ``get_scheduler``'s table (patch 7 of
    :mod:`radam_integrations._compat.transformers`), their checks to ``TrainingArguments`` (patch 2)
    and, once the Trainer is imported, its warning when a scheduler handed to it replaces ours (patch 9).
    Idempotent.
    """
    import importlib

    from .._compat import transformers as compat

    optimization = importlib.import_module(compat.OPTIMIZATION_MODULE)
    compat.add_scheduler_names(
        training_args_module.SchedulerType,
        optimization.TYPE_TO_SCHEDULER_FUNCTION,
        {name: (member, _factory(name)) for name, (member, _) in SCHEDULERS.items()},
    )
    compat.check_optim_args_on_init(training_args_module.TrainingArguments, _check_arguments)


def _check_arguments(args: Any) -> None:
    from .._compat.transformers import deepspeed_config

    check_scheduler_arguments(args, deepspeed_config(args))
