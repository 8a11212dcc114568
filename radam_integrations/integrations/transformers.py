"""Hugging Face transformers: ``TrainingArguments(optim="radam")`` and the warmup detector callback.

Supported: transformers 5.x and 4.57 (both tested).

Example (``import radam_integrations.hf`` is a shortcut for :func:`register`)::

    import radam_integrations.hf  # registers "radam" and "radamw": import it before building the arguments
    from transformers import Trainer, TrainingArguments
    from radam_integrations.integrations.transformers import WarmupDetectorCallback

    args = TrainingArguments(
        "out", optim="radamw", learning_rate=3e-4, weight_decay=0.01, optim_args="threshold=4"
    )
    trainer = Trainer(model, args, train_dataset=data, callbacks=[WarmupDetectorCallback()])
    trainer.train()  # warmup/RAdam/pg0/... in every reporter and in trainer_state.json

On the command line (any script that builds its arguments with ``HfArgumentParser`` after
``import radam_integrations.hf``): ``--optim radam --adam_beta2 0.99 --optim_args "threshold=4"``.

How ``optim="radam"`` is wired in (read from the installed sources)
-------------------------------------------------------------------
``TrainingArguments.__post_init__`` converts ``optim`` with ``OptimizerNames(optim)``, a closed
string enum, and ``HfArgumentParser`` takes the ``--optim`` choices from the same enum. The
optimizer is then chosen by the static method ``Trainer.get_optimizer_cls_and_kwargs(args,
model)``: in 5.x it looks the name up in a private dict (``_OPTIMIZER_HANDLERS`` in
``trainer_optimizer.py``), in 4.57 it is an if/elif chain. The public routes (``optimizers=``,
``optimizer_cls_and_kwargs=``) do not make ``optim="radam"`` a valid name. So :func:`register`:

1. adds the members ``RADAM = "radam"`` and ``RADAMW = "radamw"`` to ``OptimizerNames`` (the
   same bookkeeping the enum machinery does for a member defined in the class body), which makes
   ``TrainingArguments``, the CLI choices and unpickling a saved ``training_args.bin`` (it pickles
   the enum member, restored by value) accept the names;
2. wraps ``Trainer.get_optimizer_cls_and_kwargs`` once, at class level, keeping it a staticmethod:
   our two names return ``(radam_integrations.RAdam, kwargs)``, every other name goes to the
   original unchanged.

This is one route for both major versions and depends only on the documented signature of that
static method, not on the private handler dict, whose shape has changed between releases. The
Trainer still builds its two parameter groups (decay / no-decay, ``weight_decay`` and 0.0), so
biases and norms are not decayed. Register before ``TrainingArguments`` or ``HfArgumentParser``
is built, and in any process that loads a ``training_args.bin`` holding ``"radam"``.

Mapping: ``learning_rate`` -> ``lr``, ``(adam_beta1, adam_beta2)`` -> ``betas``,
``adam_epsilon`` -> ``eps``, ``weight_decay`` -> ``weight_decay``; ``"radam"`` applies it as an
L2 penalty (torch's RAdam default), ``"radamw"`` decoupled (AdamW-style, like HF's default
``adamw_torch``). ``optim_args`` takes ``threshold``, ``degenerated_to_sgd``, ``maximize``,
``foreach``, ``fused`` and ``capturable`` (see :func:`parse_optim_args`).

With DeepSpeed, a config that has an ``"optimizer"`` block makes transformers ignore ``optim``
entirely (DeepSpeed builds its own optimizer); drop the block to train with RAdam.

The warmup detector callback
----------------------------
:class:`WarmupDetectorCallback` creates a :class:`~radam_integrations.WarmupDetector` on the
Trainer's optimizer when training begins and calls ``update()`` after every optimizer step, on
every rank. Why its metrics reach the logs through ``Trainer.log`` rather than ``on_log``:
``Trainer.log`` appends ``{**logs, "step": ...}`` to ``state.log_history`` *before* it calls the
callbacks' ``on_log``, and reporting integrations (TensorBoard, W&B, ...) sit before user
callbacks in the list, so a callback that edits ``logs`` in ``on_log`` reaches neither. The
callback therefore installs (once, idempotently) a thin class-level wrapper of ``Trainer.log``
that, when the trainer holds a ``WarmupDetectorCallback`` with an evaluation not yet logged,
merges it into a training-loss log (one with a ``"loss"`` key) before delegating to the original.
Every reporter and ``trainer_state.json`` then see the same entry. Trainer subclasses that
override ``log`` and call ``super().log(...)`` keep working; one that replaces it without calling
``super()`` gets no warmup metrics in its logs (the history file still has them).

See :class:`WarmupDetectorCallback` for the metric names, the schedule and resuming.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import torch
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_callback import ExportableState
from transformers.training_args import OptimizerNames

from ..optim import RAdam
from ..warmup import GROUP_METRICS, WarmupDetector

__all__ = [
    "OPTIMIZERS",
    "OPTIM_ARGS",
    "WarmupDetectorCallback",
    "optimizer_cls_and_kwargs",
    "parse_optim_args",
    "register",
]

#: The ``optim`` names this module adds: name -> (``OptimizerNames`` member, RAdam defaults).
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
    raise ValueError("expected true or false")


def _parse_optional_bool(text: str) -> bool | None:
    return None if text.lower() in ("none", "null") else _parse_bool(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
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
_VALUE_HELP = {
    _parse_float: "a number (e.g. 4)",
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
    ``maximize`` and ``capturable`` booleans (``true/false``, ``1/0``, ``yes/no``), and
    ``foreach``/``fused`` booleans or ``None`` (``none``).

    Raises:
        ValueError: naming the key for an unknown key, a malformed pair or a bad value.

    >>> parse_optim_args("threshold=4, degenerated_to_sgd=false,fused=none")
    {'threshold': 4.0, 'degenerated_to_sgd': False, 'fused': None}
    """
    out: dict[str, Any] = {}
    if not optim_args:
        return out
    for pair in optim_args.replace(" ", "").split(","):
        if not pair:
            continue
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"optim_args: expected key=value pairs separated by commas, got {pair!r}")
        if key in _SET_ELSEWHERE:
            raise ValueError(
                f"optim_args: {key!r} is not set through optim_args for radam/radamw; "
                f"use {_SET_ELSEWHERE[key]} in TrainingArguments"
            )
        parser = OPTIM_ARGS.get(key)
        if parser is None:
            raise ValueError(
                f"optim_args: unknown key {key!r} for radam/radamw; allowed keys: {sorted(OPTIM_ARGS)}"
            )
        try:
            out[key] = parser(text)
        except ValueError as err:
            raise ValueError(
                f"optim_args: bad value {text!r} for {key!r}: expected {_VALUE_HELP[parser]} ({err})"
            ) from None
    return out


def _enum_value(optim: Any) -> str:
    return str(getattr(optim, "value", optim))


def optimizer_cls_and_kwargs(args: TrainingArguments) -> tuple[type[RAdam], dict[str, Any]]:
    """``(RAdam, kwargs)`` for ``args.optim`` in ``"radam"``/``"radamw"``: what the Trainer builds.

    Usable directly as ``Trainer(..., optimizer_cls_and_kwargs=optimizer_cls_and_kwargs(args))``
    where registering is not wanted. The Trainer overrides ``weight_decay`` per parameter group.
    """
    name = _enum_value(args.optim)
    if name not in OPTIMIZERS:
        raise ValueError(
            f"optimizer_cls_and_kwargs: args.optim is {name!r}, expected one of {sorted(OPTIMIZERS)}"
        )
    kwargs: dict[str, Any] = {
        "lr": args.learning_rate,
        "betas": (args.adam_beta1, args.adam_beta2),
        "eps": args.adam_epsilon,
        "weight_decay": args.weight_decay,
        **OPTIMIZERS[name][1],
        **parse_optim_args(args.optim_args),
    }
    return RAdam, kwargs


# ---------------------------------------------------------------------- registration
_MARK = "_radam_integrations_original"


def _add_enum_member(enum_cls: type, member_name: str, value: str) -> None:
    """Add ``member_name = value`` to a closed ``str`` enum, as if it had been in the class body.

    The standard library has no API for this. What the enum machinery does for each member
    (3.10 to 3.13): build the instance, set ``_name_``/``_value_``, and record it in
    ``_member_names_`` (iteration, hence the CLI choices), ``_member_map_`` (``Enum["NAME"]``)
    and ``_value2member_map_`` (``Enum(value)``, hence TrainingArguments and unpickling).
    """
    existing = enum_cls._value2member_map_.get(value)
    if existing is not None:
        return  # registered before, or transformers grew this name itself: reuse that member
    if member_name in enum_cls._member_map_:
        raise RuntimeError(
            f"{enum_cls.__name__}.{member_name} already exists with value "
            f"{enum_cls._member_map_[member_name].value!r}; cannot register {value!r} under that name"
        )
    member = str.__new__(enum_cls, value)
    member._name_ = member_name
    member._value_ = value
    member.__objclass__ = enum_cls
    member._sort_order_ = len(enum_cls._member_names_)
    # Set the class attribute first: EnumType.__setattr__ refuses names already in _member_map_.
    type.__setattr__(enum_cls, member_name, member)
    enum_cls._member_names_.append(member_name)
    enum_cls._member_map_[member_name] = member
    enum_cls._value2member_map_[value] = member


def _install_optimizer_route() -> None:
    current = inspect.getattr_static(Trainer, "get_optimizer_cls_and_kwargs")
    if not isinstance(current, staticmethod):
        raise TypeError(
            "radam_integrations expected Trainer.get_optimizer_cls_and_kwargs to be a staticmethod "
            f"(transformers 4.57 and 5.x), found {type(current).__name__} in transformers "
            f"{_transformers_version()}; pass optimizer_cls_and_kwargs=optimizer_cls_and_kwargs(args) "
            "to the Trainer instead"
        )
    original = current.__func__
    if getattr(original, _MARK, None) is not None:
        return

    @functools.wraps(original)
    def get_optimizer_cls_and_kwargs(args: TrainingArguments, model: Any = None) -> tuple[Any, Any]:
        if _enum_value(args.optim) in OPTIMIZERS:
            return optimizer_cls_and_kwargs(args)
        return original(args, model)

    setattr(get_optimizer_cls_and_kwargs, _MARK, original)
    Trainer.get_optimizer_cls_and_kwargs = staticmethod(get_optimizer_cls_and_kwargs)


def _install_log_hook() -> None:
    original = Trainer.__dict__["log"]
    if getattr(original, _MARK, None) is not None:
        return

    @functools.wraps(original)
    def log(self: Trainer, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        if isinstance(logs, dict) and "loss" in logs:
            handler = getattr(self, "callback_handler", None)
            for callback in getattr(handler, "callbacks", ()):
                take = getattr(callback, "_take_unlogged_metrics", None)
                if take is not None:
                    for key, value in take().items():
                        logs.setdefault(key, value)
        return original(self, logs, *args, **kwargs)

    setattr(log, _MARK, original)
    Trainer.log = log


def _transformers_version() -> str:
    import transformers

    return transformers.__version__


def register() -> tuple[str, ...]:
    """Make ``optim="radam"`` and ``optim="radamw"`` work in ``TrainingArguments`` and the Trainer.

    Idempotent; call it (or ``import radam_integrations.hf``) before ``TrainingArguments`` or
    ``HfArgumentParser`` is built. Other ``optim`` names behave exactly as before. Also installs
    the ``Trainer.log`` hook :class:`WarmupDetectorCallback` uses.

    Returns:
        The registered names.

    >>> from transformers import TrainingArguments
    >>> register()
    ('radam', 'radamw')
    >>> TrainingArguments("out", optim="radamw").optim.value
    'radamw'
    """
    for name, (member_name, _) in OPTIMIZERS.items():
        _add_enum_member(OptimizerNames, member_name, name)
    _install_optimizer_route()
    _install_log_hook()
    return tuple(OPTIMIZERS)


# ---------------------------------------------------------------------- the callback
_RUN_METRICS = ("settled_step", "relapses", "suggested_warmup_steps")
_DETECTOR_DEFAULT_EVERY: int = inspect.signature(WarmupDetector).parameters["every"].default


class WarmupDetectorCallback(TrainerCallback, ExportableState):
    """Logs the warmup detector's metrics with the Trainer's logs and checkpoints its state.

    Metrics are named ``warmup/<Optimizer>/<group>/<metric>`` (``<Optimizer>`` is ``RAdam``,
    ``AdamW``, ...; the Trainer's two parameter groups are ``pg0``, with weight decay, and
    ``pg1``, without) plus run-level ``warmup/<Optimizer>/settled_step``, ``relapses`` and
    ``suggested_warmup_steps``. Values not defined yet (NaN or infinite, e.g. ``noise`` before
    the second evaluation) are left out of that log entry. The detector evaluates at steps 1, 2,
    4, 8 and then every ``every`` steps; each evaluation goes into the next training log (the
    entry holding ``"loss"``), so with the default ``every=None`` (= ``logging_steps``) the
    evaluations from step 8 on land exactly on logged steps. Only the world process 0 logs;
    every rank updates the detector (sharded state needs a collective per evaluation).

    At the end of training, process 0 prints :meth:`WarmupDetector.summary` and writes every
    evaluation to ``<output_dir>/warmup_history.json`` (for ``radam-integrations report``).

    Checkpoints: the callback is an ``ExportableState``: ``trainer_state.json`` holds its
    arguments and the detector's state (counters, settled step, sample memory, history), and
    ``trainer.train(resume_from_checkpoint=...)`` continues the same detection, whether or not
    ``restore_callback_states_from_checkpoint`` is set. With that flag transformers replaces this
    instance by a new one built from the saved arguments (find it in
    ``trainer.callback_handler.callbacks``); without it, this instance reads the saved state
    from the resumed ``TrainerState`` when training begins.

    Args:
        every: evaluation period in optimizer steps after step 8; ``None`` uses
            ``logging_steps`` (or the detector's default, 10, when not logging by steps).
        sample_per_tensor, tol, hold, floor_factor, seed, name, sharded, keep_history: as for
            :class:`~radam_integrations.WarmupDetector`.
        metrics: metric names to log (e.g. ``["r_t", "noise", "staleness", "settled"]``);
            ``None`` logs all of them. The history file always has all.
        history_file: file name written into ``output_dir`` at the end (``None``: none).
        print_summary: print the summary table at the end of training.

    Example::

        trainer = Trainer(model, args, train_dataset=data, callbacks=[WarmupDetectorCallback()])
        trainer.train()
        cb = next(c for c in trainer.callback_handler.callbacks if isinstance(c, WarmupDetectorCallback))
        cb.detector.settled_step, cb.detector.suggested_warmup_steps
    """

    def __init__(
        self,
        *,
        every: int | None = None,
        sample_per_tensor: int | None = 1024,
        tol: float = 0.1,
        hold: int = 3,
        floor_factor: float = 1.5,
        seed: int = 0,
        name: str | None = None,
        sharded: bool | None = None,
        keep_history: bool = True,
        metrics: Sequence[str] | None = None,
        history_file: str | None = "warmup_history.json",
        print_summary: bool = True,
    ) -> None:
        known = set(GROUP_METRICS) | set(_RUN_METRICS)
        if metrics is not None:
            unknown = sorted(set(metrics) - known)
            if unknown:
                raise ValueError(
                    f"WarmupDetectorCallback: unknown metrics {unknown}; choose from {sorted(known)}"
                )
        self._detector_kwargs = {
            "sample_per_tensor": sample_per_tensor,
            "tol": tol,
            "hold": hold,
            "floor_factor": floor_factor,
            "seed": seed,
            "name": name,
            "sharded": sharded,
            "keep_history": keep_history,
        }
        # Validate now, not when training begins: the detector checks its options on construction.
        probe = torch.nn.Parameter(torch.zeros(1))
        WarmupDetector(
            torch.optim.Adam([probe]), every=1 if every is None else every, **self._detector_kwargs
        )
        self.every = every
        self.metrics = None if metrics is None else list(metrics)
        self.history_file = history_file
        self.print_summary = print_summary
        self.detector: WarmupDetector | None = None
        self._saved_state: dict[str, Any] | None = None  # restored, loaded when the detector exists
        self._gathered_state: dict[str, Any] | None = None
        self._unlogged: dict[str, float] = {}
        _install_log_hook()

    # ------------------------------------------------------------------ state (ExportableState)
    def _args(self) -> dict[str, Any]:
        return {
            "every": self.every,
            **self._detector_kwargs,
            "metrics": self.metrics,
            "history_file": self.history_file,
            "print_summary": self.print_summary,
        }

    def state(self) -> dict[str, Any]:
        """``{"args": constructor arguments, "attributes": {"detector_state": ...}}`` (JSON-safe)."""
        return {"args": self._args(), "attributes": {"detector_state": self.detector_state}}

    @property
    def detector_state(self) -> dict[str, Any] | None:
        """The detector's ``state_dict()`` (or the restored one, before training begins)."""
        if self.detector is None:
            return self._saved_state
        if self._gathered_state is not None:
            return self._gathered_state
        return self.detector.state_dict()

    @detector_state.setter
    def detector_state(self, value: dict[str, Any] | None) -> None:
        # transformers' restore path: setattr on a new instance before training begins.
        self._saved_state = value
        if self.detector is not None and value is not None:
            self.detector.load_state_dict(value)

    def _state_in(self, trainer_state: Any) -> dict[str, Any] | None:
        """This callback's detector state in a resumed ``TrainerState``, if it has one."""
        saved = (trainer_state.stateful_callbacks or {}).get(type(self).__name__)
        if isinstance(saved, list):  # several instances of this class: transformers appends, take the latest
            saved = saved[-1] if saved else None
        if not isinstance(saved, dict):
            return None
        return (saved.get("attributes") or {}).get("detector_state")

    # ------------------------------------------------------------------ events
    def on_train_begin(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        optimizer = kwargs.get("optimizer")
        if optimizer is None:
            raise RuntimeError(
                "WarmupDetectorCallback: the Trainer passed no optimizer to on_train_begin; "
                "the detector needs the optimizer the Trainer steps"
            )
        every = self.every
        if every is None:
            by_steps = _enum_value(args.logging_strategy) == "steps"
            every = max(1, math.ceil(state.logging_steps)) if by_steps else _DETECTOR_DEFAULT_EVERY
        self.detector = WarmupDetector(optimizer, every=every, **self._detector_kwargs)
        self._unlogged = {}
        self._gathered_state = None
        saved = self._saved_state
        # The Trainer loads the checkpoint's TrainerState before on_train_begin; a fresh run has
        # global_step 0 (and its stateful_callbacks only hold this callback's initial state).
        if saved is None and state.global_step > 0:
            saved = self._state_in(state)
        if saved is not None:
            self.detector.load_state_dict(saved)
        self._saved_state = None

    def on_optimizer_step(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        if self.detector is None:
            return
        self._gathered_state = None
        metrics = self.detector.update()  # every rank: sharded state is reduced collectively
        if metrics is not None and state.is_world_process_zero:
            self._unlogged = self._loggable(metrics)

    def on_step_end(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        # trainer_state.json is written by process 0 alone (state() runs there only), so a
        # sharded detector gathers every rank's sample memory now, while all ranks are here.
        if self.detector is not None and control.should_save and self.detector.sharded:
            self._gathered_state = self.detector.state_dict(all_ranks=True)

    def on_train_end(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        if self.detector is None or not state.is_world_process_zero:
            return
        if self.print_summary:
            print(self.detector.summary())
        if self.history_file:
            self.detector.save_history(os.path.join(args.output_dir, self.history_file))

    # ------------------------------------------------------------------ logging
    def _loggable(self, metrics: dict[str, float]) -> dict[str, float]:
        keep = None if self.metrics is None else set(self.metrics)
        return {
            key: float(value)
            for key, value in metrics.items()
            if math.isfinite(value) and (keep is None or key.rsplit("/", 1)[-1] in keep)
        }

    def _take_unlogged_metrics(self) -> dict[str, float]:
        """The latest evaluation not logged yet (called by the ``Trainer.log`` hook)."""
        out, self._unlogged = self._unlogged, {}
        return out
