"""timm: AutoWarmup with timm's scheduler interface, and ``--sched auto_warmup_<name>`` for ``train.py``.

timm's schedulers are not torch ``LRScheduler``s: the training loop calls ``step_update(num_updates)``
after each optimizer update and ``step(epoch)`` at the end of each epoch, and the scheduler writes
each group's learning rate times its ``lr_scale`` (timm's layer-wise lr decay). A torch scheduler
(such as :class:`~radam_integrations.experimental.AutoWarmup`) ignores ``lr_scale``, so timm loops get
:class:`TimmAutoWarmup`: the measured rectification times whatever timm's own decay
schedule sets.

Experimental: after :func:`register` (``radam_integrations.experimental.register_all()`` does it,
and so does ``python -m radam_integrations.experimental run SCRIPT`` when the script imports
``timm.scheduler``), ``create_scheduler_v2`` also knows:

* ``sched="auto_warmup"``: the measured warmup, then the base learning rate (times ``lr_scale``);
* ``sched="auto_warmup_<name>"`` for timm's names (``auto_warmup_cosine``, ``auto_warmup_step``,
  ``auto_warmup_poly``, ...): the measured warmup times timm's ``<name>`` schedule built without
  a warmup.

The measured warmup replaces timm's: ``warmup_epochs`` is ignored, with a warning when it is not 0
(``train.py`` defaults to 5; pass ``--warmup-epochs 0`` to silence it). timm's ``train.py`` runs
unmodified through the runner::

    python -m radam_integrations.experimental path/to/timm/train.py --opt radam \\
        --sched auto_warmup_cosine --warmup-epochs 0 ...

``train.py`` saves no scheduler state in its checkpoints: on ``--resume`` the measurement starts
again from the resumed optimizer state (its step count is restored, so the multiplier is 1 unless
the new measurement finds the adaptive learning rate unsettled). Loops that save
:meth:`TimmAutoWarmup.state_dict` resume exactly.

Example:
    >>> import torch
    >>> from timm.scheduler import CosineLRScheduler
    >>> model = torch.nn.Linear(8, 2)
    >>> opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    >>> sched = TimmAutoWarmup(opt, decay=CosineLRScheduler(opt, t_initial=100, t_in_epochs=False))
    >>> round(opt.param_groups[0]["lr"] / 1e-3, 4)   # cosine at 0 (1.0) times the prior multiplier
    0.1414
    >>> for update in range(1, 31):
    ...     opt.zero_grad()
    ...     model(torch.randn(16, 8)).pow(2).mean().backward()
    ...     opt.step()
    ...     sched.step_update(update)
    >>> sched.multipliers()[0] > 0.1414
    True
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

from .._compat import timm as _compat
from ..warmup.config import DetectorConfig
from .measured import MeasuredRectification

__all__ = ["PREFIX", "TimmAutoWarmup", "create_scheduler_v2", "register"]

#: ``sched`` names that start with this (or equal it without the trailing ``_``) are ours.
PREFIX = "auto_warmup_"
_BARE = PREFIX.rstrip("_")


class TimmAutoWarmup:
    """timm-style scheduler: each group's lr is ``decay``'s (or the base lr) times the measured rectification.

    Args:
        optimizer: an Adam-family optimizer (``create_optimizer_v2``'s, Lookahead included).
        decay: a timm scheduler for the same optimizer built without a warmup (for example
            ``CosineLRScheduler(opt, t_initial=..., warmup_t=0)``), or ``None``: the base
            learning rate times the group's ``lr_scale``, as timm's ``constant`` schedule.
        config, **options: the measurement's options, as for
            :class:`~radam_integrations.experimental.AutoWarmup`
            (``tol``, ``floor_factor``, ``every``, ``sample_size``).
        process_group, sharded: for sharded optimizer state, as for ``WarmupDetector``.

    Call ``step_update(num_updates)`` after each optimizer update and ``step(epoch)`` at the
    end of each epoch, as timm's ``train.py`` does; each call first reads the optimizer's
    state when an evaluation is due (once per optimizer step, however often it is called).
    """

    def __init__(
        self,
        optimizer: Any,
        decay: Any = None,
        *,
        config: DetectorConfig | dict[str, Any] | None = None,
        process_group: Any = None,
        sharded: bool | None = None,
        **options: Any,
    ) -> None:
        if decay is not None and not (hasattr(decay, "step") and hasattr(decay, "step_update")):
            raise TypeError(
                "decay must be a timm scheduler (with step() and step_update()), e.g. "
                f"timm.scheduler.CosineLRScheduler(optimizer, ..., warmup_t=0); got {decay!r}"
            )
        if decay is not None and getattr(decay, "optimizer", optimizer) is not optimizer:
            raise ValueError("decay schedules another optimizer: build it for the same optimizer")
        self.optimizer = optimizer
        self.decay = decay
        self.rectifier = MeasuredRectification(
            optimizer, config, process_group=process_group, sharded=sharded, **options
        )
        self.t_in_epochs = bool(decay.t_in_epochs) if decay is not None else False
        if decay is None:
            for group in optimizer.param_groups:  # as timm's schedulers remember the base lr
                group.setdefault("initial_lr", group["lr"])
            self._scheduled = [g["initial_lr"] * g.get("lr_scale", 1.0) for g in optimizer.param_groups]
        else:
            self._scheduled = [g["lr"] for g in optimizer.param_groups]  # decay's lr at t = 0
        self._apply()

    def step(self, epoch: int, metric: float | None = None) -> None:
        """End of an epoch: measure if due, let ``decay`` step, set the learning rates."""
        self.rectifier.observe()
        if self.decay is not None:
            self._run_decay(self.decay.step, epoch, metric)
        self._apply()

    def step_update(self, num_updates: int, metric: float | None = None) -> None:
        """After an optimizer update: measure if due, let ``decay`` step, set the learning rates."""
        self.rectifier.observe()
        if self.decay is not None:
            self._run_decay(self.decay.step_update, num_updates, metric)
        self._apply()

    def multipliers(self) -> list[float]:
        """The measured rectification of each group for the next step (without the decay)."""
        return [self.rectifier.multiplier(gi) for gi in range(len(self.optimizer.param_groups))]

    def _run_decay(self, call: Callable[..., None], t: int, metric: float | None) -> None:
        # The decay sees its own learning rates (not ours times the multiplier): a scheduler that
        # skips this call (per-epoch schedule, per-update call) leaves them, and they are kept.
        for group, lr in zip(self.optimizer.param_groups, self._scheduled):
            group["lr"] = lr
        call(t, metric)
        self._scheduled = [g["lr"] for g in self.optimizer.param_groups]

    def _apply(self) -> None:
        for group, lr, m in zip(self.optimizer.param_groups, self._scheduled, self.multipliers()):
            group["lr"] = lr * m

    def state_dict(self) -> dict[str, Any]:
        """The decay's state, its current learning rates and the measurement."""
        return {
            "decay": None if self.decay is None else self.decay.state_dict(),
            "scheduled": list(self._scheduled),
            "rectifier": self.rectifier.state_dict(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output; the learning rates are those of the saved run."""
        if not isinstance(state_dict, dict) or "rectifier" not in state_dict:
            raise ValueError("not a TimmAutoWarmup state: it has no 'rectifier' entry")
        if (state_dict.get("decay") is None) != (self.decay is None):
            raise ValueError("the saved scheduler and this one differ in having a decay schedule")
        if self.decay is not None:
            self.decay.load_state_dict(state_dict["decay"])
        self.rectifier.load_state_dict(state_dict["rectifier"])
        self._scheduled = [float(v) for v in state_dict["scheduled"]]
        self._apply()


def create_scheduler_v2(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """timm's ``create_scheduler_v2`` with the ``auto_warmup`` names; other names go to ``original``.

    Takes timm's arguments as timm does, by position or by name. Returns ``(scheduler,
    num_epochs)`` as timm's does. For ``auto_warmup_<name>`` the decay is ``original(optimizer,
    sched=<name>, warmup_epochs=0, ...)``; an unknown ``<name>`` is refused (by timm, or here
    where an older timm returns no scheduler).
    """
    bound = inspect.signature(original).bind(*args, **kwargs)
    sched = bound.arguments.get("sched", "cosine")
    if not isinstance(sched, str) or not (sched == _BARE or sched.startswith(PREFIX)):
        return original(*args, **kwargs)
    named = dict(bound.arguments)
    optimizer = named.pop("optimizer")
    named.pop("sched")
    warmup = named.pop("warmup_epochs", 0)
    if warmup:
        warnings.warn(
            f"sched={sched!r} measures the warmup itself: warmup_epochs={warmup} is ignored "
            "(timm's train.py defaults to 5; pass --warmup-epochs 0)",
            UserWarning,
            stacklevel=2,
        )
    inner = sched[len(PREFIX) :] if sched.startswith(PREFIX) else "none"
    decay, num_epochs = original(optimizer, sched=inner, warmup_epochs=0, **named)
    if decay is None and inner != "none":
        raise ValueError(
            f"sched={sched!r}: timm has no schedule named {inner!r} (use auto_warmup or "
            "auto_warmup_<name> with one of timm's names: cosine, tanh, step, multistep, poly, ...)"
        )
    return TimmAutoWarmup(optimizer, decay=decay), num_epochs


def register() -> None:
    """Teach ``create_scheduler_v2`` (and ``create_scheduler``) the ``auto_warmup`` names. Idempotent."""
    _compat.wrap_scheduler_factory(lambda original: functools.partial(create_scheduler_v2, original))
