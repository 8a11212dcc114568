"""MeasuredRAdam: RAdam whose rectification is measured on the run instead of assumed.

RAdam multiplies Adam's step by ``r_t``, the rectification for Gaussian gradients (``c^2 = 2``).
:class:`MeasuredRAdam` plugs :class:`~radam_integrations.experimental.measured.MeasuredRectification`
(the estimate :class:`~radam_integrations.experimental.AutoWarmup` uses) into
:meth:`radam_integrations.RAdam.rectification`, RAdam's hook for another rectification: on
rectified steps each parameter group's ``r_t`` is replaced by its measured rectification, read
from this optimizer's state every ``every`` steps. Everything else is RAdam's (state layout,
step paths, options), and unrectified steps are unchanged.

Experimental: the study's ``radam_measured`` arm; see docs/experimental.md.

Example:
    >>> import torch
    >>> from radam_integrations.experimental import MeasuredRAdam
    >>> model = torch.nn.Linear(8, 2)
    >>> opt = MeasuredRAdam(model.parameters(), lr=1e-3, config={"every": 5})
    >>> for _ in range(20):
    ...     opt.zero_grad()
    ...     model(torch.randn(16, 8)).pow(2).mean().backward()
    ...     opt.step()
    >>> opt.measured_rectification.measured(0), "measured_rectification" in opt.state_dict()
    (True, True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from torch import Tensor

from ..optim import RAdam
from ..warmup.config import DetectorConfig
from .measured import MeasuredRectification

__all__ = ["MeasuredRAdam"]

#: The key of the measurement in ``state_dict()`` and in the pickled state (as ``RAdam(rectify=
#: "measured")`` saved it before the move, so its checkpoints load here).
STATE_KEY = "measured_rectification"


class MeasuredRAdam(RAdam):
    """:class:`radam_integrations.RAdam` with each group's ``r_t`` replaced by its measured rectification.

    Args:
        params, lr, betas, eps, weight_decay, decoupled_weight_decay: as for ``RAdam``.
        config: the measurement's options: a ``DetectorConfig`` or a dict of its fields (``tol``,
            ``floor_factor``, ``every``, ``sample_size``, ``seed``).
        **kwargs: RAdam's other keyword options (``threshold``, ``degenerated_to_sgd``, ``fused``,
            ...), except ``capturable`` and ``differentiable``: the measurement is read on the host.

    The measurement is part of ``state_dict()`` (key ``"measured_rectification"``, strict JSON)
    and of the pickled optimizer, so a resumed run continues with the same multipliers. Every
    parameter group must be in each step: DeepSpeed ZeRO with several groups steps one at a time
    (a ``RuntimeError`` says so; use ``RAdam`` with ``AutoWarmup(engine.optimizer)`` there).
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        config: DetectorConfig | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("capturable") or kwargs.get("differentiable"):
            raise ValueError(
                "MeasuredRAdam reads its measurement on the host between steps: it cannot be combined "
                "with capturable=True or differentiable=True (use radam_integrations.RAdam there)"
            )
        config = DetectorConfig.build(config)  # its type and values, checked before any state is built
        super().__init__(params, lr, betas, eps, weight_decay, decoupled_weight_decay, **kwargs)
        #: The measurement, per group the factor that replaces ``r_t``.
        self.measured_rectification = MeasuredRectification(self, config)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One RAdam step with the measured rectification, then a measurement when one is due."""
        self._check_all_groups_present()
        loss = super().step(closure)
        self.measured_rectification.observe()
        return loss

    def rectification(self, group_index: int) -> Callable[[float], float]:
        """The group's measured rectification by step count (RAdam's hook)."""
        measured = self.measured_rectification
        return lambda t: measured.multiplier(group_index, t)

    def _check_all_groups_present(self) -> None:
        # DeepSpeed steps its basic optimizer one group at a time: ZeRO-1/2 narrow param_groups
        # to that group (a group's position is then not its index), ZeRO-3 empties the others'
        # params (their state lies outside the groups). Either way only one group is measured.
        groups = self.measured_rectification.groups
        shown = sum(len(group["params"]) for group in self.param_groups)
        if len(self.param_groups) < groups or len(self.state) > shown:
            raise RuntimeError(
                f"MeasuredRAdam needs all {groups} parameter groups in each step, but this step shows "
                "one at a time (DeepSpeed ZeRO with several groups): use one parameter group, or "
                "radam_integrations.RAdam with AutoWarmup(engine.optimizer) for a measured warmup"
            )

    def state_dict(self) -> dict[str, Any]:
        """RAdam's state dict and the measurement (strict JSON, key ``"measured_rectification"``)."""
        state = super().state_dict()
        state[STATE_KEY] = self.measured_rectification.state_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict; a saved measurement (ours, or ``RAdam(rectify="measured")``'s) is restored."""
        state_dict = dict(state_dict)
        measured = state_dict.pop(STATE_KEY, None)
        super().load_state_dict(state_dict)
        if measured is not None:
            self.measured_rectification.load_state_dict(measured)

    def __getstate__(self) -> dict[str, Any]:
        """torch's pickled state plus the measurement, as its options and strict-JSON state."""
        state = super().__getstate__()
        measured = self.__dict__.get("measured_rectification")  # holds a detector: saved as data
        if measured is not None:
            state[STATE_KEY] = {"config": measured.config.as_dict(), "state": measured.state_dict()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        measured = state.pop(STATE_KEY, None)
        super().__setstate__(state)
        if isinstance(measured, dict) and "config" in measured:  # unpickling or deepcopy
            self.measured_rectification = MeasuredRectification(self, measured["config"])
            self.measured_rectification.load_state_dict(measured["state"])
