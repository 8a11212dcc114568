"""Measured rectification: the step multiplier from the noise of the adaptive learning rate, measured.

RAdam multiplies Adam's step by ``r_t``, computed for Gaussian gradients. This module measures
instead: a :class:`~radam_integrations.WarmupDetector` reads the optimizer's state (the same
sample, the same all_reduce for sharded state), estimates per parameter group the relative
variance ``c^2`` of the squared gradients and the staleness of ``psi``, and
:func:`~radam_integrations.theory.measured_rectification` turns them into a multiplier for the
next step. Between evaluations ``c^2`` and the staleness are held, and the multiplier follows the
effective sample size ``ESS_t`` in closed form, so it moves every step at no cost. Before the
first measurement (two evaluations are needed for a drift) ``c^2 = 2``, RAdam's own assumption.

:class:`~radam_integrations.experimental.AutoWarmup` (a learning-rate scheduler for any Adam-family optimizer)
is built on this; the derivation is in ``docs/measured_rectification.md``.

Example:
    >>> import torch
    >>> model = torch.nn.Linear(8, 2)
    >>> opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    >>> rect = MeasuredRectification(opt)
    >>> round(rect.multiplier(0, step=1), 4)   # the prior: Gaussian gradients, one sample
    0.1414
    >>> for _ in range(20):
    ...     opt.zero_grad()
    ...     model(torch.randn(16, 8)).pow(2).mean().backward()
    ...     opt.step()
    ...     _ = rect.observe()
    >>> rect.measured(0)
    True
"""

from __future__ import annotations

import math
from typing import Any

from .. import theory
from ..warmup import claims
from ..warmup.config import DetectorConfig
from ..warmup.detector import WarmupDetector
from ..warmup.reduce import ranks_hold_different_state, world_size

__all__ = ["PRIOR_C2", "MeasuredRectification"]

#: ``c^2`` before the first measurement: Gaussian gradients, the assumption behind RAdam's ``r_t``.
PRIOR_C2 = 2.0
_STATE_VERSION = 1


class MeasuredRectification:
    """Per parameter group, the step multiplier that keeps the adaptive learning rate's noise in tolerance.

    Args:
        optimizer: any Adam-family optimizer (or a wrapper of one), as for ``WarmupDetector``.
        config: the detector's options (``DetectorConfig`` or a dict); ``tol`` and
            ``floor_factor`` set the tolerance the multiplier aims at, ``every`` and
            ``sample_size`` the cost. ``**options`` are its fields too.
        process_group, padding, sharded: as for ``WarmupDetector`` (sharded state is reduced
            the same way, so every rank computes the same multiplier).

    Call :meth:`observe` after each ``optimizer.step()``; :meth:`multiplier` gives the factor
    for a group's next step.
    """

    def __init__(
        self,
        optimizer: Any,
        config: DetectorConfig | dict[str, Any] | None = None,
        *,
        process_group: Any = None,
        padding: Any = None,
        sharded: bool | None = None,
        **options: Any,
    ) -> None:
        config = DetectorConfig.build(config, **options)
        if "keep_history" not in options:  # nothing reads it (pass keep_history=True to keep it)
            config = config.replace(keep_history=False)
        with claims.attaching(claims.INTERNAL):
            self.detector = WarmupDetector(
                optimizer, config, process_group=process_group, padding=padding, sharded=sharded
            )
        self.optimizer = self.detector.optimizer
        # Every rank must compute the same multiplier. Shards that announce themselves (DTensor,
        # FSDP1, the ZeRO wrapper) are reduced by the detector; per-rank state that does not (a
        # ZeRO partition reached through DeepSpeed's basic optimizer) is found by comparing the
        # ranks once, when state first exists. ``sharded=False`` skips the comparison.
        self._compare_ranks = sharded is None and world_size(process_group) > 1
        groups = len(self.optimizer.param_groups)
        self._c2: list[float | None] = [None] * groups
        self._staleness: list[float] = [0.0] * groups

    @property
    def config(self) -> DetectorConfig:
        return self.detector.config

    def observe(self) -> bool:
        """Read the optimizer's state if an evaluation is due; whether one happened.

        Call it on every rank at the same points (schedulers and optimizer steps are).
        """
        if self.detector.last_step == 0:
            self._check_state_is_reachable()
        if self._compare_ranks and not self._ranks_compared():
            return False
        if self.detector.update() is None:
            return False
        for gi, values in enumerate(self.detector.last_group_metrics):
            if values is None:
                continue
            self._grow(gi)
            noise, ess, staleness = values["noise"], values["ess"], values["staleness"]
            if math.isfinite(noise) and math.isfinite(ess):  # NaN until a drift exists
                self._c2[gi] = 4.0 * ess * noise * noise  # noise = sqrt(c^2 / (4 ESS_t))
            self._staleness[gi] = staleness if math.isfinite(staleness) else 0.0
        return True

    def _check_state_is_reachable(self) -> None:
        # DeepSpeed ZeRO-3 empties its basic optimizer's param_groups between steps: a scheduler
        # given that optimizer would see no state ever and hold the prior multiplier for good.
        stepped = any("step" in state for state in self.optimizer.state.values())
        if stepped and self.detector._current_step() is None:
            raise RuntimeError(
                f"{type(self.optimizer).__name__} has state, but none for the tensors in its "
                "param_groups (DeepSpeed ZeRO-3 keeps them outside): build the scheduler on the "
                "ZeRO optimizer that deepspeed.initialize returns, e.g. AutoWarmup(engine.optimizer), "
                "and call its step() after engine.step()"
            )

    def _ranks_compared(self) -> bool:
        """Decide (once state exists on some rank) whether unannounced per-rank state is sharded."""
        if not self.detector.sharded:
            differs = ranks_hold_different_state(self.optimizer, self.detector.process_group)
            if differs is None:
                return False
            self.detector.sharded = differs
        self._compare_ranks = False
        return True

    def _grow(self, gi: int) -> None:
        while len(self._c2) <= gi:  # a group added after construction
            self._c2.append(None)
            self._staleness.append(0.0)

    def optimizer_step(self) -> int:
        """The optimizer's step count now, from its state (0 before its first step)."""
        return int(self.detector._current_step() or 0)

    @property
    def groups(self) -> int:
        """How many parameter groups the measurement knows (those at construction, and any added since)."""
        return len(self._c2)

    def measured(self, group: int) -> bool:
        """Whether ``c^2`` of this group has been measured (otherwise the prior is used)."""
        return group < len(self._c2) and self._c2[group] is not None

    def c2(self, group: int) -> float:
        """The group's ``c^2``: the last measurement, or :data:`PRIOR_C2`."""
        value = self._c2[group] if group < len(self._c2) else None
        return PRIOR_C2 if value is None else value

    def staleness(self, group: int) -> float:
        """The group's last measured staleness of ``log psi`` (0 before a measurement)."""
        return self._staleness[group] if group < len(self._staleness) else 0.0

    def multiplier(self, group: int, step: float | None = None) -> float:
        """The factor for the group's step number ``step`` (default: the step after the last one seen)."""
        t = float(step) if step is not None else self.detector.last_step + 1.0
        beta2 = float(self.optimizer.param_groups[group]["betas"][1])
        return theory.measured_rectification(
            self.c2(group),
            max(t, 1.0),
            beta2,
            staleness=self.staleness(group),
            tol=self.config.tol,
            floor_factor=self.config.floor_factor,
        )

    def state_dict(self, all_ranks: bool = False) -> dict[str, Any]:
        """Strict-JSON state: the detector's (sample memory included) and the measurements."""
        return {
            "version": _STATE_VERSION,
            "detector": self.detector.state_dict(all_ranks=all_ranks),
            "c2": list(self._c2),
            "staleness": list(self._staleness),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output; the next multipliers are those of the saved run."""
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            raise ValueError(
                f"not a MeasuredRectification state (expected a dict with version {_STATE_VERSION})"
            )
        try:
            c2 = [None if v is None else float(v) for v in state["c2"]]
            staleness = [float(v) for v in state["staleness"]]
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"corrupted MeasuredRectification state: {err}") from err
        self.detector.load_state_dict(state["detector"])
        self._c2, self._staleness = c2, staleness
