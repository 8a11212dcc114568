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
from typing import Any, NamedTuple

__all__ = [
    "OPTIMIZERS",
    "OPTIM_ARGS",
    "check_training_arguments",
    "optim_name",
    "optimizer_class",
    "parse_optim_args",
    "radam_kwargs",
    "refuse_deepspeed_block",
    "register",
    "register_optim_arg",
    "warmup_given",
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
}
_VALUE_HELP: dict[Callable[[str], Any], str] = {
    _parse_float: "a finite number (e.g. 4)",
    _parse_bool: "true or false",
    _parse_optional_bool: "true, false or none",
}


class _ExtraKey(NamedTuple):
    parse: Callable[[str], Any]
    expected: str
    choose: Callable[[Any], type | None]


#: ``optim_args`` keys added by :func:`register_optim_arg` (the experimental package's ``rectify``).
_EXTRA: dict[str, _ExtraKey] = {}
#: Keys that exist only once asked for: key -> how to ask.
_ASK_FOR = {
    "rectify": "'rectify' (rectify=measured) is experimental: call "
    "radam_integrations.experimental.register_all() before building the arguments, or run the script "
    "with python -m radam_integrations.experimental",
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
    ``foreach``/``fused`` booleans or ``None`` (``none``); keys added by
    :func:`register_optim_arg` as their parser says (``rectify``, once the experimental package
    is registered).

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
        extra = _EXTRA.get(key)
        parser = OPTIM_ARGS.get(key) or (extra.parse if extra else None)
        if parser is None and key in _ASK_FOR:
            raise ValueError(f"optim_args: {_ASK_FOR[key]}")
        if parser is None:
            raise ValueError(
                f"optim_args: unknown key {key!r} for radam/radamw; "
                f"allowed keys: {sorted([*OPTIM_ARGS, *_EXTRA])}"
            )
        if key in out:
            raise ValueError(f"optim_args: {key!r} is given twice in {optim_args!r}")
        try:
            out[key] = parser(text)
        except ValueError:
            raise ValueError(
                f"optim_args: bad value {text!r} for {key!r}; "
                f"expected {extra.expected if extra else _VALUE_HELP[parser]}"
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
    ``optim``).

    Raises:
        ValueError: one line naming the problem and what to do.
    """
    from .._compat.transformers import deepspeed_config

    name = optim_name(args.optim)
    if name in OPTIMIZERS:
        parse_optim_args(args.optim_args)
        refuse_deepspeed_block(deepspeed_config(args), "optimizer", f"optim={name!r}", "to train with RAdam")


def refuse_deepspeed_block(config: dict[str, Any] | None, block: str, ours: str, remedy: str) -> None:
    """Raise when the DeepSpeed ``config`` has a ``block`` (``"optimizer"``/``"scheduler"``), with
    which transformers builds DeepSpeed's instead of ``ours``; ``remedy`` ends the message."""
    if config and block in config:
        theirs = (config.get(block) or {}).get("type", f"its {block}")
        article = "an" if block[0] in "aeiou" else "a"
        raise ValueError(
            f'{ours} would never run: the DeepSpeed config has {article} "{block}" block ({theirs}), '
            f"and transformers then builds DeepSpeed's {block} instead; remove that block {remedy}"
        )


#: The warmup fields of ``TrainingArguments`` (transformers 5.x dropped ``warmup_ratio``).
WARMUP_FIELDS = ("warmup_steps", "warmup_ratio")


def warmup_given(args: Any) -> list[str]:
    """``"field=value"`` for each warmup field of ``args`` that is set (not 0), in field order.

    >>> from types import SimpleNamespace
    >>> warmup_given(SimpleNamespace(warmup_steps=10)), warmup_given(SimpleNamespace(warmup_steps=0))
    (['warmup_steps=10'], [])
    """
    return [f"{field}={getattr(args, field)}" for field in WARMUP_FIELDS if getattr(args, field, 0)]


def register_optim_arg(
    key: str, parse: Callable[[str], Any], expected: str, choose: Callable[[Any], type | None]
) -> None:
    """Accept ``key=value`` in ``optim_args`` for ``radam``/``radamw``. Idempotent.

    ``parse`` turns the string into the value (``ValueError`` when it is bad; ``expected`` says
    what it takes), and ``choose(value)`` names the optimizer class the Trainer builds for it
    (``None``: RAdam); the key itself is not passed to the class. The experimental package adds
    ``rectify`` this way (``rectify=measured`` builds its ``MeasuredRAdam``).
    """
    if key in OPTIM_ARGS or key in _SET_ELSEWHERE:
        raise ValueError(f"optim_args: {key!r} is already a RAdam option")
    _EXTRA[key] = _ExtraKey(parse, expected, choose)


def optimizer_class(kwargs: dict[str, Any]) -> tuple[type, dict[str, Any]]:
    """``(class, kwargs)`` for :func:`radam_kwargs`' output: RAdam, or what a registered key selects."""
    from ..optim import RAdam

    cls: type = RAdam
    kwargs = dict(kwargs)
    for key, extra in _EXTRA.items():
        if key in kwargs:
            cls = extra.choose(kwargs.pop(key)) or cls
    return cls, kwargs


def register(training_args_module: Any) -> None:
    """Make ``optim="radam"``/``"radamw"`` valid in ``TrainingArguments`` and ``--optim``. Idempotent.

    Adds the ``OptimizerNames`` members and validates ``optim_args`` when the arguments are
    built (patches 1 and 2 of :mod:`radam_integrations._compat.transformers`).
    """
    from .._compat import transformers as compat

    compat.add_optim_names(
        training_args_module.OptimizerNames, {name: member for name, (member, _) in OPTIMIZERS.items()}
    )
    compat.check_optim_args_on_init(training_args_module.TrainingArguments, check_training_arguments)
