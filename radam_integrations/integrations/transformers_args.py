"""``TrainingArguments`` -> RAdam: the ``optim`` names and the ``optim_args`` syntax.

Plain Python, no transformers import: it runs while transformers itself is being imported (the
runner's post-import hook adds the names to ``OptimizerNames`` then) and when
``TrainingArguments`` validates itself.

Mapping: ``learning_rate`` -> ``lr``, ``(adam_beta1, adam_beta2)`` -> ``betas``,
``adam_epsilon`` -> ``eps``, ``weight_decay`` -> ``weight_decay``; ``"radam"`` applies it as an
L2 penalty (torch's RAdam default), ``"radamw"`` decoupled (AdamW-style, like HF's default
``adamw_torch``). ``optim_args`` takes the RAdam options that have no ``TrainingArguments`` field.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = [
    "OPTIMIZERS",
    "OPTIM_ARGS",
    "check_training_arguments",
    "install",
    "optim_name",
    "parse_optim_args",
    "radam_kwargs",
    "refuse_deepspeed_block",
]

#: The ``optim`` names we add: name -> (``OptimizerNames`` member name, RAdam defaults).
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "radam": ("RADAM", {"decoupled_weight_decay": False}),
    "radamw": ("RADAMW", {"decoupled_weight_decay": True}),
}


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError


def _parse_optional_bool(text: str) -> bool | None:
    return None if text.lower() in ("none", "null") else _parse_bool(text)


def _parse_rectify(text: str) -> str:
    if text.lower() in ("theory", "measured"):
        return text.lower()
    raise ValueError


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError
    return value


#: ``optim_args`` keys accepted for ``radam``/``radamw``, with the parser of their string values.
OPTIM_ARGS: dict[str, Callable[[str], Any]] = {
    "threshold": _parse_float,
    "degenerated_to_sgd": _parse_bool,
    "maximize": _parse_bool,
    "foreach": _parse_optional_bool,
    "fused": _parse_optional_bool,
    "capturable": _parse_bool,
    "rectify": _parse_rectify,
}
_VALUE_HELP = {
    _parse_rectify: "theory or measured",
    _parse_float: "a finite number (e.g. 4)",
    _parse_bool: "true or false",
    _parse_optional_bool: "true, false or none",
}
# RAdam options that come from TrainingArguments fields (or the optim name), not from optim_args.
_SET_ELSEWHERE = {
    "lr": "learning_rate",
    "betas": "adam_beta1 / adam_beta2",
    "beta1": "adam_beta1",
    "beta2": "adam_beta2",
    "eps": "adam_epsilon",
    "weight_decay": "weight_decay",
    "decoupled_weight_decay": 'optim="radamw" (decoupled) or optim="radam" (L2)',
}


def parse_optim_args(optim_args: str | None) -> dict[str, Any]:
    """Typed RAdam options from ``TrainingArguments.optim_args`` (``"key=value,key=value"``).

    Values arrive as strings; ``threshold`` becomes a float, ``degenerated_to_sgd``,
    ``maximize`` and ``capturable`` booleans (``true/false``, ``1/0``, ``yes/no``),
    ``foreach``/``fused`` booleans or ``None`` (``none``), and ``rectify`` ``theory`` or
    ``measured`` (:class:`~radam_integrations.RAdam`'s measured rectification, experimental).

    Raises:
        ValueError: one line naming the problem: an unknown or repeated key, a malformed pair,
            ``;`` used as the separator, or a bad value.

    >>> parse_optim_args("threshold=4, degenerated_to_sgd=false,fused=none")
    {'threshold': 4.0, 'degenerated_to_sgd': False, 'fused': None}
    >>> parse_optim_args("threshold=4;maximize=yes")
    Traceback (most recent call last):
    ValueError: optim_args: separate the key=value pairs with commas, not ';' (got 'threshold=4;maximize=yes')
    """
    out: dict[str, Any] = {}
    if not optim_args:
        return out
    if ";" in optim_args:
        raise ValueError(
            f"optim_args: separate the key=value pairs with commas, not ';' (got {optim_args!r})"
        )
    for pair in optim_args.replace(" ", "").split(","):
        if not pair:
            continue
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"optim_args: expected key=value pairs separated by commas, got {pair!r}")
        if key in _SET_ELSEWHERE:
            raise ValueError(
                f"optim_args: {key!r} is not an optim_args key for radam/radamw; "
                f"set it with {_SET_ELSEWHERE[key]} in TrainingArguments"
            )
        parser = OPTIM_ARGS.get(key)
        if parser is None:
            raise ValueError(
                f"optim_args: unknown key {key!r} for radam/radamw; allowed keys: {sorted(OPTIM_ARGS)}"
            )
        if key in out:
            raise ValueError(f"optim_args: {key!r} is given twice in {optim_args!r}")
        try:
            out[key] = parser(text)
        except ValueError:
            raise ValueError(
                f"optim_args: bad value {text!r} for {key!r}; expected {_VALUE_HELP[parser]}"
            ) from None
    return out


def optim_name(optim: Any) -> str:
    """The string value of ``TrainingArguments.optim`` (an ``OptimizerNames`` member or a str)."""
    return str(getattr(optim, "value", optim))


def radam_kwargs(args: Any, optim: str | None = None) -> dict[str, Any]:
    """RAdam keyword arguments from a ``TrainingArguments``: what the Trainer passes to RAdam.

    ``optim`` is ``"radam"`` (L2 weight decay) or ``"radamw"`` (decoupled); by default
    ``args.optim`` when it is one of them, else ``"radamw"`` (the Trainer's default optimizer,
    AdamW, decouples its weight decay too). ``args.optim_args`` is read only when ``args.optim``
    is ours, since otherwise it was written for another optimizer.

    Raises:
        ValueError: ``optim`` is not ``"radam"``/``"radamw"``, or ``optim_args`` is malformed.
    """
    current = optim_name(args.optim)
    name = optim if optim is not None else (current if current in OPTIMIZERS else "radamw")
    if name not in OPTIMIZERS:
        raise ValueError(f"optim must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    return {
        "lr": args.learning_rate,
        "betas": (args.adam_beta1, args.adam_beta2),
        "eps": args.adam_epsilon,
        "weight_decay": args.weight_decay,
        **OPTIMIZERS[name][1],
        **(parse_optim_args(args.optim_args) if current in OPTIMIZERS else {}),
    }


def check_training_arguments(args: Any) -> None:
    """Refuse what would fail or be dropped at ``train()`` (run at the end of ``__post_init__``).

    ``optim_args`` when ``args.optim`` is ours; a DeepSpeed config with an ``"optimizer"`` block
    beside our ``optim`` (transformers then lets DeepSpeed build its own optimizer and ignores
    ``optim``); our ``lr_scheduler_type`` names' arguments (see
    :func:`.transformers_schedules.check_scheduler_arguments`).

    Raises:
        ValueError: one line naming the problem and what to do.
    """
    from .._compat.transformers import deepspeed_config
    from .transformers_schedules import check_scheduler_arguments

    config = deepspeed_config(args)
    name = optim_name(args.optim)
    if name in OPTIMIZERS:
        parse_optim_args(args.optim_args)
        refuse_deepspeed_block(config, "optimizer", f"optim={name!r}", "to train with RAdam")
    check_scheduler_arguments(args, config)


def refuse_deepspeed_block(config: dict[str, Any] | None, block: str, ours: str, remedy: str) -> None:
    """Raise when the DeepSpeed ``config`` has a ``block`` (``"optimizer"``/``"scheduler"``), with
    which transformers builds DeepSpeed's instead of ``ours``; ``remedy`` ends the message."""
    if config and block in config:
        theirs = (config.get(block) or {}).get("type", f"its {block}")
        article = "an" if block[0] in "aeiou" else "a"
        raise ValueError(
            f"{ours} would never run: the DeepSpeed config has {article} \"{block}\" block ({theirs}), "
            f"and transformers then builds DeepSpeed's {block} instead; remove that block {remedy}"
        )


def install(training_args_module: Any) -> None:
    """Make ``optim="radam"``/``"radamw"`` (and the AutoWarmup ``lr_scheduler_type`` names) valid.

    Adds the ``OptimizerNames`` members and validates ``optim_args`` when the arguments are
    built (patches 1 and 2 of :mod:`radam_integrations._compat.transformers`), and adds the
    scheduler names (patch 7, :mod:`.transformers_schedules`). Idempotent.
    """
    from .._compat import transformers as compat

    compat.add_optim_names(
        training_args_module.OptimizerNames, {name: member for name, (member, _) in OPTIMIZERS.items()}
    )
    compat.check_optim_args_on_init(training_args_module.TrainingArguments, check_training_arguments)
    from .transformers_schedules import install as install_schedules

    install_schedules(training_args_module)
