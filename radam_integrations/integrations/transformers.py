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
    trainer.train()  # warmup/RAdam/... in every reporter and in trainer_state.json

Scripts you did not write (``examples/pytorch/*/run_*.py``) take ``--optim radam`` when run
through the runner, with no edit: ``radam-integrations run run_clm.py --optim radam ...``
(see :mod:`radam_integrations.runner`).

How ``optim="radam"`` is wired in: ``OptimizerNames`` (a closed ``str`` Enum that both
``TrainingArguments`` and ``HfArgumentParser`` consult) gets two members, ``optim_args`` are
checked when the arguments are built, and ``Trainer.get_optimizer_cls_and_kwargs`` returns
``(radam_integrations.RAdam, kwargs)`` for our two names and defers to transformers for every
other one. What exactly is patched, and why no public route does it, is listed in
:mod:`radam_integrations._compat.transformers`. The Trainer still builds its two parameter
groups (decay / no-decay), so biases and norms are not decayed. Register before
``TrainingArguments`` or ``HfArgumentParser`` is built, and in any process that loads a
``training_args.bin`` holding ``"radam"``. Without registering, pass
``optimizer_cls_and_kwargs=optimizer_cls_and_kwargs(args)`` to the Trainer.

Mapping: ``learning_rate`` -> ``lr``, ``(adam_beta1, adam_beta2)`` -> ``betas``,
``adam_epsilon`` -> ``eps``, ``weight_decay`` -> ``weight_decay``; ``"radam"`` applies it as an
L2 penalty (torch's RAdam default), ``"radamw"`` decoupled (AdamW-style, like HF's default
``adamw_torch``). ``optim_args`` takes ``threshold``, ``degenerated_to_sgd``, ``maximize``,
``foreach``, ``fused`` and ``capturable`` (see :func:`parse_optim_args`).

With DeepSpeed, a config that has an ``"optimizer"`` block makes transformers ignore ``optim``
entirely (DeepSpeed builds its own optimizer); drop the block to train with RAdam.

See :class:`WarmupDetectorCallback` for the detector's metric names, schedule and resuming.
"""

from __future__ import annotations

import importlib
import math
import warnings
import weakref
from collections.abc import Sequence
from typing import Any

import torch
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_callback import ExportableState
from transformers.utils import logging

from .. import theory
from .._compat import transformers as compat
from .._console import say
from .._measured import advice
from ..optim import RAdam
from ..warmup import (
    DetectorConfig,
    UnsupportedOptimizerError,
    WarmupDetector,
    check_metric_choice,
    claims,
    select_metrics,
    unwrap_optimizer,
)
from ..warmup.autodetect import current_session
from ..warmup.detector import DEFAULT_EVERY
from ..warmup.outputs import summary_text, write_outputs
from . import transformers_args
from .transformers_args import OPTIM_ARGS, OPTIMIZERS, optim_name, parse_optim_args
from .transformers_checkpoints import last_complete_checkpoint

_logger = logging.get_logger(__name__)

__all__ = [
    "OPTIMIZERS",
    "OPTIM_ARGS",
    "AttachedWarmupDetectorCallback",
    "WarmupDetectorCallback",
    "attach_by_default",
    "last_complete_checkpoint",
    "optimizer_cls_and_kwargs",
    "parse_optim_args",
    "register",
]


def optimizer_cls_and_kwargs(
    args: TrainingArguments, optim: str | None = None
) -> tuple[type[RAdam], dict[str, Any]]:
    """``(RAdam, kwargs)`` built from ``args``: what the Trainer builds for ``optim="radam"``
    (``MeasuredRAdam`` for ``optim_args="rectify=measured"`` once the experimental package is registered).

    Works without registering:
    ``Trainer(..., optimizer_cls_and_kwargs=optimizer_cls_and_kwargs(args))`` trains with RAdam
    whatever ``args.optim`` says. ``optim`` picks ``"radam"`` (L2 weight decay)
    or ``"radamw"`` (decoupled); by default ``args.optim`` when it is one of them, else
    ``"radamw"``, which decouples weight decay like the Trainer's default AdamW. The Trainer
    overrides ``weight_decay`` per parameter group.

    >>> args = TrainingArguments("out", learning_rate=3e-4, weight_decay=0.1)  # optim: adamw_torch
    >>> cls, kwargs = optimizer_cls_and_kwargs(args)
    >>> cls.__name__, kwargs["lr"], kwargs["decoupled_weight_decay"]
    ('RAdam', 0.0003, True)
    """
    return transformers_args.optimizer_class(transformers_args.radam_kwargs(args, optim))


def register() -> tuple[str, ...]:
    """Make ``optim="radam"`` and ``optim="radamw"`` work in ``TrainingArguments`` and the Trainer.

    Idempotent; call it (or ``import radam_integrations.hf``) before ``TrainingArguments`` or
    ``HfArgumentParser`` is built. Other ``optim`` names behave exactly as before. Also: the
    arguments refuse what would fail or be dropped at ``train()`` (see
    :func:`~.transformers_args.check_training_arguments`), the Trainer warns when an optimizer
    handed to it replaces ours, ``resume_from_checkpoint=True`` skips a checkpoint
    whose save was killed (:func:`last_complete_checkpoint`), and when the Trainer builds a
    decaying scheduler for RAdam that holds its steps back, one line says so before the first
    step (:func:`_schedule_advice`).

    Returns:
        The registered names.

    >>> register()
    ('radam', 'radamw')
    >>> TrainingArguments("out", optim="radamw").optim.value
    'radamw'
    """
    transformers_args.register(importlib.import_module(compat.TRAINING_ARGS_MODULE))
    compat.route_optimizer_names(Trainer, lambda args: optim_name(args.optim) in OPTIMIZERS, _route)
    compat.check_before_create(Trainer, "create_optimizer", _warn_if_optimizer_replaced)
    compat.after_create_scheduler(Trainer, _advise_on_scheduler)
    modules = [importlib.import_module(name) for name in (compat.TRAINER_UTILS_MODULE, compat.TRAINER_MODULE)]
    compat.replace_last_checkpoint(modules, _get_last_checkpoint)
    return tuple(OPTIMIZERS)


def _get_last_checkpoint(folder: Any) -> str | None:
    """transformers' ``get_last_checkpoint``, skipping a checkpoint whose save was killed (patch 10)."""
    return last_complete_checkpoint(folder)


def _warn_once(trainer: Any, what: str, message: str) -> None:
    seen = trainer.__dict__.setdefault("_radam_integrations_warned", set())
    if what not in seen:
        seen.add(what)
        warnings.warn(message, UserWarning, stacklevel=4)


def _warn_if_optimizer_replaced(trainer: Any) -> None:
    """``optim="radam"`` with an optimizer handed to the Trainer: say which one runs."""
    name = optim_name(trainer.args.optim)
    if name not in OPTIMIZERS:
        return
    given = trainer.optimizer
    if given is not None:
        cls, route = type(getattr(given, "optimizer", given)), "optimizers=(optimizer, ...)"
    elif getattr(trainer, "optimizer_cls_and_kwargs", None) is not None:
        cls, route = trainer.optimizer_cls_and_kwargs[0], "optimizer_cls_and_kwargs="
    else:
        return
    if not (isinstance(cls, type) and issubclass(cls, RAdam)):
        _warn_once(
            trainer,
            "optimizer",
            f"optim={name!r} is ignored: the Trainer was given {getattr(cls, '__name__', cls)} through "
            f"{route}, which trains instead",
        )


def _route(args: TrainingArguments) -> tuple[type[RAdam], dict[str, Any]]:
    """What the Trainer gets for our names; logged, since ``optim=OptimizerNames.RADAM`` alone does
    not say which class builds it."""
    cls, kwargs = optimizer_cls_and_kwargs(args)
    options = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k not in ("params", "lr", "weight_decay"))
    _logger.info(f"optim={optim_name(args.optim)}: {cls.__module__}.{cls.__qualname__}({options})")
    return cls, kwargs


def _schedule_advice(args: Any, steps: int, optimizer: Any) -> str | None:
    """What RAdam's rectification and the Trainer's decay do together over the run, when it matters.

    For RAdam (ours or torch's) with ``lr_scheduler_type`` ``"linear"`` or ``"cosine"`` and no
    warmup: :meth:`radam_integrations.theory.DecayedRectification.note` for its beta2 and threshold
    over ``steps``, then what the study measured at that beta2 and decay (``_measured``), prefixed
    and followed by the command that shows the whole table; ``None`` when
    the combination keeps RAdam's steps low no longer than the decay alone would (or any other case).
    Printed once per optimizer (:func:`_say_schedule_advice`): when ``Trainer.create_scheduler``
    returns, once :func:`register` ran, else by the detector's callback at the start of training.
    """
    decay = optim_name(args.lr_scheduler_type)
    if decay not in ("linear", "cosine") or transformers_args.warmup_given(args):
        return None
    try:
        inner, _ = unwrap_optimizer(optimizer)
    except UnsupportedOptimizerError:  # no optimizer yet, or DeepSpeed's placeholder: nothing to say
        return None
    if not isinstance(inner, (RAdam, torch.optim.RAdam)) or not inner.param_groups or steps < 1:
        return None
    group = inner.param_groups[0]
    beta2 = float(group["betas"][1])
    said = advice(theory.decayed_rectification(beta2, int(steps), decay, float(group.get("threshold", 5.0))))
    if said is None:
        return None
    return (
        f"radam-integrations: {said} See `radam-integrations schedule --beta2 {beta2:g} --steps {int(steps)} "
        f"--decay {decay}`."
    )


#: The optimizers whose schedule was considered: once each, by whichever of the scheduler hook
#: and the detector's callback sees it first (both see the same run's arguments and length).
_ADVISED: weakref.WeakSet[Any] = weakref.WeakSet()


def _say_schedule_advice(args: Any, steps: int, optimizer: Any) -> None:
    """Print :func:`_schedule_advice` when it has something to say, considering each optimizer
    once (its arithmetic is one pass over the run's steps)."""
    try:
        inner = unwrap_optimizer(optimizer)[0]
    except UnsupportedOptimizerError:
        return
    if inner in _ADVISED:
        return
    _ADVISED.add(inner)
    if (said := _schedule_advice(args, steps, optimizer)) is not None:
        say(said)


def _advise_on_scheduler(trainer: Any, num_training_steps: int, optimizer: Any = None, **_: Any) -> None:
    """After ``Trainer.create_scheduler`` (patch 11): the run's length is the call's own argument."""
    if trainer.is_world_process_zero() and isinstance(num_training_steps, int):
        _say_schedule_advice(trainer.args, num_training_steps, optimizer or trainer.optimizer)


def attach_by_default(trainer_module: Any = None) -> None:
    """Give every Trainer built from now on an :class:`AttachedWarmupDetectorCallback` (``--detect``).

    It steps aside when the Trainer also has your own :class:`WarmupDetectorCallback`.
    """
    compat.add_default_callback(
        trainer_module or importlib.import_module(compat.TRAINER_MODULE), AttachedWarmupDetectorCallback
    )


# ---------------------------------------------------------------------- the callback


class WarmupDetectorCallback(TrainerCallback, ExportableState):
    """Logs the warmup detector's metrics with the Trainer's logs and checkpoints its state.

    What is logged (``metrics``): by default the compact set, per optimizer
    ``warmup/<Optimizer>/noise`` and ``staleness`` (the worst parameter group's; warmup still
    matters while either is above ``tol``), and, once known, ``settled_step`` and
    ``suggested_warmup_steps`` (see :mod:`radam_integrations.warmup.selection`);
    ``metrics="all"`` logs every metric of every group (``warmup/<Optimizer>/pg0/r_t``, ...;
    the Trainer's two groups are ``pg0``, with weight decay, and ``pg1``, without). Values not
    defined yet (e.g. ``noise`` before the second evaluation) are left out of that log entry.
    The detector evaluates at steps 1, 2, 4, 8 and then every ``every`` steps; each evaluation
    goes into the next training log (the entry holding ``"loss"``: the latest evaluation). With
    the default ``every=None`` the detector evaluates every ``min(logging_steps, 10)`` steps, so T
    is resolved to 10 steps even with the Trainer's default ``logging_steps=500``, and the
    evaluations land on logged steps when ``logging_steps`` divides 10 or is a multiple of it.
    Only the world process 0 logs; every rank updates the detector (sharded state needs a
    collective per evaluation).

    At the end of training, process 0 prints the summary (above the progress bar) and writes
    ``warmup_history.json`` and ``warmup_history.png`` into ``output_dir`` (for
    ``radam-integrations report``); the history file always holds every metric.

    Checkpoints: the callback is an ``ExportableState``: ``trainer_state.json`` holds its
    arguments and the detector's state (counters, settled step, sample memory, history; bounded,
    about 35 KB per parameter group at most), and ``trainer.train(resume_from_checkpoint=...)``
    continues the same detection, whether or not ``restore_callback_states_from_checkpoint`` is
    set, and also from a checkpoint saved without this callback. With that flag transformers
    replaces this instance by a new one built from the saved arguments (find it in
    ``trainer.callback_handler.callbacks``); without it, this instance reads the saved state
    from the resumed ``TrainerState`` when training begins.

    Args:
        config: the detector's :class:`~radam_integrations.warmup.DetectorConfig` (or the dict
            of its fields); ``**options`` are its fields too (``every=5``, ``tol=0.2``, ...). Here
            ``every`` defaults to ``None``: ``min(logging_steps, 10)`` (10 when not logging by
            steps).
        name, sharded: as for :class:`~radam_integrations.WarmupDetector`.
        metrics: ``"compact"`` (default), ``"all"``, or a list of metric names to log (e.g.
            ``["r_t", "noise", "staleness", "settled_step"]``).
        save_history: write ``warmup_history.json`` into ``output_dir`` at the end.
        plot: write ``warmup_history.png`` too (``None``: when matplotlib is installed).
        print_summary: print the summary table at the end of training.

    Example::

        trainer = Trainer(model, args, train_dataset=data, callbacks=[WarmupDetectorCallback()])
        trainer.train()
        cb = next(c for c in trainer.callback_handler.callbacks if isinstance(c, WarmupDetectorCallback))
        cb.detector.settled_step, cb.detector.suggested_warmup_steps
    """

    #: How this callback's detector is recorded in :mod:`radam_integrations.warmup.claims`.
    _level = claims.EXPLICIT

    def __init__(
        self,
        config: DetectorConfig | dict[str, Any] | None = None,
        *,
        name: str | None = None,
        sharded: bool | None = None,
        metrics: str | Sequence[str] = "compact",
        save_history: bool = True,
        plot: bool | None = None,
        print_summary: bool = True,
        **options: Any,
    ) -> None:
        if config is None:
            options.setdefault("every", None)  # the Trainer's logging period decides (on_train_begin)
        self.config = DetectorConfig.build(config, **options)  # validated now, not at train start
        self.metrics = check_metric_choice(metrics, type(self).__name__)
        self.name = name
        self.sharded = sharded
        self.save_history = save_history
        self.plot = plot
        self.print_summary = print_summary
        self.detector: WarmupDetector | None = None
        self._saved_state: dict[str, Any] | None = None  # restored, loaded when the detector exists
        self._gathered_state: dict[str, Any] | None = None
        self._unlogged: dict[str, float] = {}
        compat.merge_into_logs(Trainer, "_take_unlogged_metrics")

    # ------------------------------------------------------------------ state (ExportableState)
    def _args(self) -> dict[str, Any]:
        """The constructor's arguments, JSON-safe: transformers rebuilds the callback from them."""
        return {
            "config": self.config.as_dict(),
            "name": self.name,
            "sharded": self.sharded,
            "metrics": self.metrics,
            "save_history": self.save_history,
            "plot": self.plot,
            "print_summary": self.print_summary,
        }

    def state(self) -> dict[str, Any]:
        """``{"args": constructor arguments, "attributes": {"detector_state": ...}}`` (strict JSON)."""
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
        """The detector state in a resumed ``TrainerState``: this class's entry, else the other one's.

        A run started with ``--detect`` (:class:`AttachedWarmupDetectorCallback`) and resumed with an
        explicit callback, or the reverse, continues the same detection.
        """
        for name in [type(self).__name__, *(n for n in _STATE_NAMES if n != type(self).__name__)]:
            saved = compat.stateful_entry(trainer_state, name)
            if isinstance(saved, dict):
                found = (saved.get("attributes") or {}).get("detector_state")
                if found is not None:
                    return found
        return None

    # ------------------------------------------------------------------ events
    def on_train_begin(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        optimizer = kwargs.get("optimizer")
        if optimizer is None:
            raise RuntimeError(
                "WarmupDetectorCallback: the Trainer passed no optimizer to on_train_begin; "
                "the detector needs the optimizer the Trainer steps"
            )
        config = self.config
        if config.every is None:
            by_steps = optim_name(args.logging_strategy) == "steps"
            logging = max(1, math.ceil(state.logging_steps)) if by_steps else DEFAULT_EVERY
            config = config.replace(every=min(logging, DEFAULT_EVERY))
        with claims.attaching(self._level):
            self.detector = WarmupDetector(optimizer, config, name=self.name, sharded=self.sharded)
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
        if state.is_world_process_zero and not self.detector.outranked:
            _say_schedule_advice(args, state.max_steps, optimizer)
        # Resuming from a checkpoint saved without this callback: the Trainer's next save indexes
        # stateful_callbacks[<this class>] and would raise KeyError.
        compat.ensure_stateful_entry(state, type(self).__name__, self.state())

    def on_optimizer_step(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        if self.detector is None or self.detector.outranked:
            return
        self._gathered_state = None
        metrics = self.detector.update()  # every rank: sharded state is reduced collectively
        if metrics is None:
            return
        if state.is_world_process_zero:
            self._unlogged = select_metrics(metrics, self.metrics)

    def on_step_end(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        # trainer_state.json is written by process 0 alone (state() runs there only), so a
        # sharded detector gathers every rank's sample memory now, while all ranks are here.
        if self.detector is not None and control.should_save and self.detector.sharded:
            self._gathered_state = self.detector.state_dict(all_ranks=True)

    def on_train_end(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        if self.detector is None or self.detector.outranked or not state.is_world_process_zero:
            return
        if self.print_summary:
            say(summary_text([self.detector]))
        if self.save_history or self.plot:
            write_outputs([self.detector], args.output_dir, history=self.save_history, plot=self.plot)

    # ------------------------------------------------------------------ logging
    def _take_unlogged_metrics(self) -> dict[str, float]:
        """The latest evaluation not logged yet (called by the ``Trainer.log`` wrapper)."""
        out, self._unlogged = self._unlogged, {}
        return out


class AttachedWarmupDetectorCallback(WarmupDetectorCallback):
    """The callback the runner's ``--detect`` adds to every Trainer (through ``DEFAULT_CALLBACKS``).

    Same as :class:`WarmupDetectorCallback` with the defaults, except that it steps aside when the
    Trainer also has your own :class:`WarmupDetectorCallback`, and that the runner prints its
    summary and writes its files (into ``--detector-dir``) when the script ends. Its state is
    checkpointed under its own name; a run resumed with an explicit callback continues it.
    """

    _level = claims.FRAMEWORK

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("print_summary", False)
        kwargs.setdefault("save_history", False)
        kwargs.setdefault("plot", False)
        super().__init__(**kwargs)

    def on_train_begin(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        super().on_train_begin(args, state, control, **kwargs)
        session = current_session()
        if session is not None and self.detector is not None:
            session.add(self.detector)


#: The names the detector's state is checkpointed under: each class's own, and the attached
#: callback's name before 0.1 (``AutoWarmupDetectorCallback``), so older checkpoints resume.
_STATE_NAMES = ("WarmupDetectorCallback", "AttachedWarmupDetectorCallback", "AutoWarmupDetectorCallback")


def __getattr__(name: str) -> Any:
    if name == "AutoWarmupDetectorCallback":  # renamed: it has nothing to do with AutoWarmup
        warnings.warn(
            "AutoWarmupDetectorCallback is now AttachedWarmupDetectorCallback (the callback --detect "
            "attaches); the old name goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return AttachedWarmupDetectorCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
