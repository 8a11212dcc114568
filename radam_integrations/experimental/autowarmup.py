"""AutoWarmup: a learning-rate warmup measured on the run, for any Adam-family optimizer.

A torch ``LRScheduler`` that multiplies each parameter group's learning rate by the measured
rectification (:mod:`radam_integrations.experimental.measured`): small while the adaptive learning rate
``psi_t`` is estimated from too few squared gradients for their measured spread, 1 once its noise
is within the detector's tolerance, and reduced while ``psi`` lags a growing gradient scale. There
is no warmup length to set. An optional ``decay(step)`` multiplies in the schedule you would have
used after the warmup (cosine, linear), as ``LambdaLR``'s ``lr_lambda`` does.

Experimental: see docs/experimental.md for what the study measured.

Example:
    >>> import math, torch
    >>> from radam_integrations.experimental import AutoWarmup
    >>> model = torch.nn.Linear(8, 2)
    >>> opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    >>> sched = AutoWarmup(opt, decay=lambda step: 0.5 * (1 + math.cos(math.pi * min(step, 100) / 100)))
    >>> round(opt.param_groups[0]["lr"] / 1e-3, 4)   # before any measurement: Gaussian prior, t = 1
    0.1414
    >>> for _ in range(30):
    ...     opt.zero_grad()
    ...     model(torch.randn(16, 8)).pow(2).mean().backward()
    ...     opt.step()
    ...     sched.step()
    >>> sched.multipliers()[0] > 0.1414
    True
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from ..warmup.config import DetectorConfig
from .measured import MeasuredRectification

__all__ = ["AutoWarmup"]


class AutoWarmup(LRScheduler):
    """Learning rate ``base_lr * m_t * decay(step)`` with ``m_t`` the measured rectification.

    Args:
        optimizer: the optimizer whose learning rates are scheduled: ``torch.optim.Adam``,
            ``AdamW``, ``NAdam``, ``RAdam``, timm's Adam family, ``radam_integrations.RAdam``
            (any optimizer whose state has ``step``, ``exp_avg`` and ``exp_avg_sq``), or a
            wrapper of one, such as the ZeRO optimizer ``deepspeed.initialize`` returns (then
            the ZeRO state is read as sharded, with its padding counted out).
        decay: multiplier of the learning rate by scheduler step (``LambdaLR``'s ``lr_lambda``),
            for the schedule after the warmup; ``None``: constant.
        config: the measurement's options (``DetectorConfig`` or a dict): ``tol`` (tolerated
            noise of ``log psi``, default 0.1), ``floor_factor``, ``every`` (evaluation period),
            ``sample_size`` (elements read per group). ``**options`` are its fields too.
        last_epoch: as for every torch scheduler (-1: a new run).
        process_group, sharded: for sharded optimizer state (FSDP, DeepSpeed ZeRO), as for
            ``WarmupDetector``: every rank computes the same multiplier.

    Call ``step()`` after each ``optimizer.step()``, as for any torch scheduler. The state dict
    (``state_dict()`` / ``load_state_dict()``) holds the measurement, so a resumed run continues
    with the same multipliers.
    """

    def __init__(
        self,
        optimizer: Any,
        decay: Callable[[int], float] | None = None,
        *,
        config: DetectorConfig | dict[str, Any] | None = None,
        last_epoch: int = -1,
        process_group: Any = None,
        sharded: bool | None = None,
        **options: Any,
    ) -> None:
        if decay is not None and not callable(decay):
            raise TypeError(
                f"decay must be a function of the step (like LambdaLR's lr_lambda), got {decay!r}"
            )
        # Built before LRScheduler.__init__, which takes the first step (the initial learning rate).
        self.rectifier = MeasuredRectification(
            optimizer, config, process_group=process_group, sharded=sharded, **options
        )
        self.decay = decay
        self._warned_skips = False
        # torch's LRScheduler takes only torch optimizers; a wrapper that is none (DeepSpeed's ZeRO
        # optimizers) shares the param_groups of the one it wraps, which the measurement found.
        scheduled = optimizer if isinstance(optimizer, Optimizer) else self.rectifier.optimizer
        # The optimizer's step count when this scheduler started (a resumed optimizer's is not 0).
        self._seen_step = self.rectifier.optimizer_step()
        super().__init__(scheduled, last_epoch)

    def step(self, epoch: int | None = None) -> None:
        """Measure (when an evaluation is due), then set the learning rates of the next step."""
        self.rectifier.observe()
        now = self.rectifier.detector.last_step
        skipped, self._seen_step = now - self._seen_step, now
        if skipped > 1 and not self._warned_skips:
            # LightningCLI's --lr_scheduler and a bare scheduler from configure_optimizers are
            # stepped once per epoch: the warmup would move once per epoch.
            self._warned_skips = True
            warnings.warn(
                f"AutoWarmup.step() came {skipped:g} optimizer steps after the previous one: the "
                "measured warmup only moves when the scheduler steps; step it after every optimizer "
                "step (Lightning: 'interval': 'step' in configure_optimizers' lr_scheduler dict)",
                UserWarning,
                stacklevel=2,
            )
        super().step(epoch)

    def multipliers(self) -> list[float]:
        """The measured rectification of each group for the next step (without ``decay``)."""
        return [self.rectifier.multiplier(gi) for gi in range(len(self.optimizer.param_groups))]

    def get_lr(self) -> list[float]:  # type: ignore[override]
        factor = 1.0 if self.decay is None else float(self.decay(self.last_epoch))
        return [float(base) * m * factor for base, m in zip(self.base_lrs, self.multipliers())]

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's counters and the measurement (strict JSON); ``decay`` is not saved."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "rectifier", "decay")}
        state["rectifier"] = self.rectifier.state_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output (``decay`` is the one given to the constructor)."""
        state = dict(state_dict)
        rectifier = state.pop("rectifier", None)
        if rectifier is None:
            raise ValueError("not an AutoWarmup state: it has no 'rectifier' entry")
        self.rectifier.load_state_dict(rectifier)
        self.__dict__.update(state)
