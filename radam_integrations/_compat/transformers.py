"""transformers internals: everything this package patches or reads in transformers, and why.

Checked on transformers 4.57.6 and 5.24.0. Each patch is installed once (idempotent, marked
with :data:`MARK`), only when it is needed, and each keeps transformers' own behaviour for
everything that is not ours:

1. ``OptimizerNames`` gets the members ``RADAM``/``RADAMW`` (:func:`add_optim_names`):
   ``TrainingArguments.__post_init__`` converts ``optim`` with ``OptimizerNames(optim)``, a
   closed ``str`` Enum, and ``HfArgumentParser`` builds the ``--optim`` choices from it; there
   is no registry. Installed by ``register()`` (or when ``transformers.training_args`` is
   imported under the runner).
2. ``TrainingArguments.__post_init__`` is wrapped (:func:`check_optim_args_on_init`) so that a
   bad ``optim_args`` for ``radam``/``radamw`` fails when the arguments are built, not at
   ``train()`` after the model and data were loaded. Installed with 1.
3. The static method ``Trainer.get_optimizer_cls_and_kwargs`` is wrapped at class level
   (:func:`route_optimizer_names`): our names return ``(RAdam, kwargs)``, every other name goes
   to the original. 5.x looks names up in a private dict (``_OPTIMIZER_HANDLERS``) and 4.57 in an
   if/elif chain; the public ``optimizers=``/``optimizer_cls_and_kwargs=`` arguments do not make
   ``optim="radam"`` valid. Installed by ``register()``.
4. ``Trainer.log`` is wrapped (:func:`merge_into_logs`), only once a ``WarmupDetectorCallback``
   exists: ``Trainer.log`` appends to ``state.log_history`` and calls the reporting callbacks
   before a user callback's ``on_log`` runs, so the detector's metrics can reach them only
   through ``log``. Trainers without the callback are unaffected (the wrapper finds nothing).
5. The runner's ``--detect`` appends the auto-attached callback class to the module list
   ``transformers.trainer.DEFAULT_CALLBACKS`` (:func:`add_default_callback`), which every
   Trainer built afterwards instantiates; there is no callback entry point.
6. ``TrainerState.stateful_callbacks`` (read, and completed by :func:`ensure_stateful_entry`):
   ``Trainer._save_checkpoint`` indexes ``state.stateful_callbacks[<class name>]`` for every
   ``ExportableState`` callback, so a stateful callback added when resuming from a checkpoint
   saved without it raises ``KeyError`` at the next save.
7. ``SchedulerType`` gets the experimental AutoWarmup members and ``transformers.optimization``'s module dict
   ``TYPE_TO_SCHEDULER_FUNCTION`` their factories (:func:`add_scheduler_names`):
   ``TrainingArguments`` converts ``lr_scheduler_type`` with ``SchedulerType(value)`` (a closed
   ``str`` Enum, also the ``--lr_scheduler_type`` choices) and ``get_scheduler`` looks the factory
   up in that dict; there is no registry. Installed only by
   ``radam_integrations.experimental.register_all()`` (or its runner).
8. ``TrainingArguments.hf_deepspeed_config.config`` (read, :func:`deepspeed_config`): the
   DeepSpeed config transformers resolved from ``deepspeed=`` (a path or a dict); its
   ``"optimizer"`` and ``"scheduler"`` blocks replace ``optim`` and ``lr_scheduler_type``.
9. ``Trainer.create_optimizer`` and ``Trainer.create_scheduler`` are wrapped
   (:func:`check_before_create`): when the Trainer was handed its own optimizer or scheduler
   (``optimizers=(opt, sched)``, ``optimizer_cls_and_kwargs=``) while the arguments name ours,
   one warning says which one runs. Both are public methods that a subclass may override.
   Patches 2 and 9 hold a list of checks in one wrapper (:data:`CHECKS`): the experimental
   package adds its scheduler checks to it.
10. ``get_last_checkpoint`` is replaced in ``transformers.trainer_utils`` and in
   ``transformers.trainer``'s namespace (:func:`replace_last_checkpoint`), where
   ``Trainer.train(resume_from_checkpoint=True)`` looks it up, by one that skips a ``checkpoint-N``
   whose save was killed (see :mod:`radam_integrations.integrations.transformers_checkpoints`);
   transformers' own picks the highest number, complete or not. Installed by ``register()``.
11. ``Trainer.create_scheduler`` is also wrapped after the call (:func:`after_create_scheduler`):
   ``create_scheduler(num_training_steps)`` is where the run's length and its decay meet the
   optimizer; 4.57 calls it before ``state.max_steps`` is set, so the check takes the length from
   the call. For RAdam under a decay that holds its steps back, one line says so before the first
   step (see ``radam_integrations.integrations.transformers``). Installed by ``register()``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .enums import add_str_enum_member

__all__ = [
    "AFTER_CHECKS",
    "CHECKS",
    "MARK",
    "OPTIMIZATION_MODULE",
    "TRAINER_MODULE",
    "TRAINER_UTILS_MODULE",
    "TRAINING_ARGS_MODULE",
    "add_default_callback",
    "add_optim_names",
    "add_scheduler_names",
    "after_create_scheduler",
    "check_before_create",
    "check_optim_args_on_init",
    "deepspeed_config",
    "ensure_stateful_entry",
    "merge_into_logs",
    "replace_last_checkpoint",
    "route_optimizer_names",
    "stateful_entry",
]

TRAINING_ARGS_MODULE = "transformers.training_args"
TRAINER_MODULE = "transformers.trainer"
TRAINER_UTILS_MODULE = "transformers.trainer_utils"
OPTIMIZATION_MODULE = "transformers.optimization"
#: Attribute set on each wrapper, holding the wrapped original.
MARK = "_radam_integrations_original"
#: On a wrapper from :func:`check_before_create`: its checks.
CHECKS = "_radam_integrations_checks"
#: On a wrapper from :func:`check_optim_args_on_init` / :func:`after_create_scheduler`: its checks.
AFTER_CHECKS = "_radam_integrations_after_checks"


def add_optim_names(optimizer_names: type, names: dict[str, str]) -> None:
    """Add ``{value: MEMBER_NAME}`` to ``OptimizerNames`` (patch 1)."""
    for value, member in names.items():
        add_str_enum_member(optimizer_names, member, value)


def add_scheduler_names(
    scheduler_type: type, schedule_functions: dict[Any, Any], names: dict[str, tuple[str, Callable[..., Any]]]
) -> None:
    """Add ``{value: (MEMBER, factory)}`` to ``SchedulerType`` and ``get_scheduler``'s table (patch 7)."""
    for value, (member_name, factory) in names.items():
        member = add_str_enum_member(scheduler_type, member_name, value)
        schedule_functions.setdefault(member, factory)


def _wrapped(owner: type, attr: str) -> Any:
    """The original of ``owner.attr`` if we wrapped it already, else ``None``."""
    return getattr(inspect.getattr_static(owner, attr), MARK, None)


def _add_check(owner: type, attr: str, check: Callable[..., None], *, after: bool) -> None:
    """Run ``check(self)`` before ``owner.<attr>``, or ``check(self, *args, **kwargs)`` (the call's
    own arguments) after it; one wrapper per side holds its checks. Idempotent."""
    current = owner.__dict__.get(attr)
    if current is None:
        return
    side = AFTER_CHECKS if after else CHECKS
    # functools.wraps copies the wrapped function's __dict__: an outer wrapper of the other side
    # still finds this side's list of checks.
    checks: list[Callable[..., None]] | None = getattr(current, side, None)
    if checks is None:
        original, checks = current, []
        held = checks

        @functools.wraps(original)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not after:
                for each in list(held):
                    each(self)
            out = original(self, *args, **kwargs)
            if after:
                for each in list(held):
                    each(self, *args, **kwargs)
            return out

        setattr(wrapper, MARK, original)
        setattr(wrapper, side, checks)
        setattr(owner, attr, wrapper)
    if check not in checks:
        checks.append(check)


def check_optim_args_on_init(training_args_cls: type, check: Callable[[Any], None]) -> None:
    """Run ``check(args)`` at the end of ``TrainingArguments.__post_init__`` (patch 2); checks add up."""
    _add_check(training_args_cls, "__post_init__", check, after=True)


def deepspeed_config(args: Any) -> dict[str, Any] | None:
    """The DeepSpeed config of ``TrainingArguments`` (patch 8), or ``None`` without DeepSpeed."""
    resolved = getattr(getattr(args, "hf_deepspeed_config", None), "config", None)
    if isinstance(resolved, dict):
        return resolved
    given = getattr(args, "deepspeed", None)
    return given if isinstance(given, dict) else None


def check_before_create(trainer_cls: type, attr: str, check: Callable[[Any], None]) -> None:
    """Run ``check(trainer)`` before ``Trainer.<attr>`` (the ``create_*`` methods; patch 9); checks add up."""
    _add_check(trainer_cls, attr, check, after=False)


def after_create_scheduler(trainer_cls: type, check: Callable[..., None]) -> None:
    """Run ``check(trainer, num_training_steps, ...)`` after ``Trainer.create_scheduler`` (patch 11),
    with the arguments the Trainer called it with; checks add up."""
    _add_check(trainer_cls, "create_scheduler", check, after=True)


def replace_last_checkpoint(modules: list[ModuleType], replacement: Callable[[Any], Any]) -> None:
    """Put ``replacement`` in place of ``get_last_checkpoint`` in each of ``modules`` (patch 10)."""
    for module in modules:
        current = getattr(module, "get_last_checkpoint", None)
        if current is None:
            raise RuntimeError(
                f"{module.__name__}.get_last_checkpoint is gone in this transformers version; pass "
                "resume_from_checkpoint=last_complete_checkpoint(output_dir) to Trainer.train instead"
            )
        if getattr(current, MARK, None) is None:
            setattr(replacement, MARK, current)
            # The patch itself: ModuleType declares no attributes to assign (transformers is Any here).
            module.get_last_checkpoint = replacement  # type: ignore[attr-defined]


def route_optimizer_names(
    trainer_cls: type[Any], ours: Callable[[Any], bool], build: Callable[[Any], tuple[Any, Any]]
) -> None:
    """Wrap the static ``Trainer.get_optimizer_cls_and_kwargs`` (patch 3).

    Returns ``build(args)`` where ``ours(args)``, else calls the original.
    """
    current = inspect.getattr_static(trainer_cls, "get_optimizer_cls_and_kwargs", None)
    if not isinstance(current, staticmethod):
        raise TypeError(
            "radam_integrations expected Trainer.get_optimizer_cls_and_kwargs to be a staticmethod "
            f"(transformers 4.57 and 5.x), found {type(current).__name__}; pass "
            "optimizer_cls_and_kwargs=optimizer_cls_and_kwargs(args) to the Trainer instead"
        )
    original = current.__func__
    if getattr(original, MARK, None) is not None:
        return

    @functools.wraps(original)
    def get_optimizer_cls_and_kwargs(args: Any, model: Any = None) -> tuple[Any, Any]:
        if ours(args):
            return build(args)
        return original(args, model)

    setattr(get_optimizer_cls_and_kwargs, MARK, original)
    trainer_cls.get_optimizer_cls_and_kwargs = staticmethod(get_optimizer_cls_and_kwargs)


def merge_into_logs(trainer_cls: type[Any], take_attribute: str) -> None:
    """Wrap ``Trainer.log``: merge ``callback.<take_attribute>()`` into training-loss logs (patch 4).

    A log with a ``"loss"`` key gets, for every callback of the trainer that has the attribute,
    the entries its ``take_attribute()`` returns (without overriding the Trainer's own keys).
    """
    original = trainer_cls.__dict__["log"]
    if getattr(original, MARK, None) is not None:
        return

    @functools.wraps(original)
    def log(self: Any, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        if isinstance(logs, dict) and "loss" in logs:
            handler = getattr(self, "callback_handler", None)
            for callback in getattr(handler, "callbacks", ()):
                take = getattr(callback, take_attribute, None)
                if take is not None:
                    for key, value in take().items():
                        logs.setdefault(key, value)
        return original(self, logs, *args, **kwargs)

    setattr(log, MARK, original)
    trainer_cls.log = log


def add_default_callback(trainer_module: ModuleType, callback_cls: type) -> None:
    """Append ``callback_cls`` to ``transformers.trainer.DEFAULT_CALLBACKS`` once (patch 5)."""
    defaults = getattr(trainer_module, "DEFAULT_CALLBACKS", None)
    if not isinstance(defaults, list):
        raise RuntimeError(
            "transformers.trainer.DEFAULT_CALLBACKS is gone or not a list in this transformers version; "
            "add WarmupDetectorCallback() to the Trainer's callbacks instead"
        )
    if callback_cls not in defaults:
        defaults.append(callback_cls)


def stateful_entry(trainer_state: Any, name: str) -> Any:
    """``trainer_state.stateful_callbacks[name]`` (the last one if transformers stored a list), or None."""
    entry = (getattr(trainer_state, "stateful_callbacks", None) or {}).get(name)
    if isinstance(entry, list):
        return entry[-1] if entry else None
    return entry


def ensure_stateful_entry(trainer_state: Any, name: str, entry: dict[str, Any]) -> None:
    """Give ``stateful_callbacks`` an entry for ``name`` if it has none (patch 6's fix)."""
    callbacks = getattr(trainer_state, "stateful_callbacks", None)
    if callbacks is None:
        trainer_state.stateful_callbacks = callbacks = {}
    callbacks.setdefault(name, entry)
