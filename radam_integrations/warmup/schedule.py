"""What RAdam's rectification did under the run's own learning-rate schedule, from the detector's history.

The detector records each parameter group's learning rate at every evaluation (the ``lr``
metric). At the end of a run, :func:`schedule_advice` rebuilds the schedule from those points
(linear between them), multiplies it by RAdam's applied rectification ``r_t`` step by step
(:func:`radam_integrations.theory.rectified_schedule`) and, when the two together keep RAdam's
steps below half the peak learning rate clearly longer than the schedule alone would, says so,
with what ``make study`` measured at that beta2 and decay (:mod:`radam_integrations._measured`).
The detector's summary prints it, whatever the framework that stepped the learning rate.

Example:
    >>> points = [(1, 1e-3), (500, 5e-4), (1000, 1e-6)]   # a linear decay, seen at 3 evaluations
    >>> print(schedule_advice(points, 1000, beta2=0.999, threshold=5.0)[:99])
    beta2=0.999, 1000 steps, linear decay: RAdam's steps run below half the base learning rate for 100%
    >>> schedule_advice([(1, 1e-3), (1000, 1e-3)], 1000, beta2=0.999, threshold=5.0) is None  # constant
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .. import theory
from .._measured import advice

__all__ = ["ObservedSchedule", "schedule_advice", "schedule_factors"]


def schedule_factors(points: Sequence[tuple[int, float]], steps: int) -> list[float] | None:
    """The learning-rate factor (``lr / peak``) at steps 1 .. ``steps`` from ``(step, lr)`` points.

    Linear between the points, held flat before the first and after the last, and rounded to 6
    decimals (the history keeps float32 values); ``None`` with no finite point or a peak of 0.
    """
    known = sorted((int(s), float(lr)) for s, lr in points if math.isfinite(lr) and lr >= 0)
    if not known or steps < 1:
        return None
    peak = max(lr for _, lr in known)
    if peak <= 0:
        return None
    out, i = [], 0
    for t in range(1, steps + 1):
        while i + 1 < len(known) and known[i + 1][0] <= t:
            i += 1
        (s0, lr0), (s1, lr1) = known[i], known[min(i + 1, len(known) - 1)]
        lr = lr0 if t <= s0 or s1 == s0 else lr0 + (lr1 - lr0) * (t - s0) / (s1 - s0)
        out.append(round(lr / peak, 6))  # the history keeps float32: 7 digits, not 16
    return out


def schedule_advice(
    points: Sequence[tuple[int, float]], steps: int, *, beta2: float, threshold: float
) -> str | None:
    """The note on RAdam's rectification times the run's decaying schedule, or ``None``.

    ``points`` are ``(step, lr)`` of the evaluations, ``steps`` the run's last optimizer step and
    ``threshold`` the optimizer's rectification threshold. ``None`` when the schedule stays within
    5% of constant (that case is ``radam-integrations schedule``'s, before a run), or when
    :meth:`~radam_integrations.theory.DecayedRectification.note` finds nothing to say.
    """
    schedule = schedule_factors(points, steps)
    if schedule is None:
        return None
    shape = theory.decay_shape(schedule)
    if shape == "constant":
        return None
    return advice(
        theory.rectified_schedule(beta2, schedule, shape or "the run's learning-rate schedule", threshold)
    )


@dataclass(frozen=True)
class ObservedSchedule:
    """What :func:`schedule_advice` needs of a run, kept to say it later (at the summary)."""

    points: tuple[tuple[int, float], ...]
    steps: int
    beta2: float
    threshold: float

    def advice(self) -> str | None:
        return schedule_advice(self.points, self.steps, beta2=self.beta2, threshold=self.threshold)
