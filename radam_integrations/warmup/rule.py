"""When a parameter group has settled: the settling step T, relapses, and the suggested warmup.

At each evaluation a group is *settled now* when :func:`radam_integrations.theory.is_settled` holds
(``rho_t > 4``, noise at most ``max(tol, floor_factor * noise_floor)``, staleness at most
``tol``). T is the first step of ``hold`` consecutive settled evaluations; after T, ``hold``
consecutive unsettled evaluations count as one relapse. The suggested linear warmup is
``theory.suggested_warmup_steps(T, beta2)`` = ``clip(2 T, 10, 2 / (1 - beta2))``.

Example:
    >>> settling = Settling()
    >>> for step, now in [(10, True), (20, False), (30, True), (40, True), (50, True)]:
    ...     settling.observe(now, step, hold=3)
    >>> settling.settled_step
    30
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Settling"]


@dataclass
class Settling:
    """The settling rule's state for one parameter group (plain data: it goes into checkpoints)."""

    settled_step: int | None = None
    candidate: int | None = None  # first step of the current settled streak
    streak: int = 0
    unsettled: int = 0
    relapses: int = 0

    def observe(self, settled_now: bool, step: int, hold: int) -> None:
        """Advance the rule by one evaluation at ``step``."""
        if self.settled_step is None:
            if settled_now:
                self.streak += 1
                if self.streak == 1:
                    self.candidate = step
                if self.streak >= hold:
                    self.settled_step = self.candidate
            else:
                self.streak = 0
                self.candidate = None
            return
        if settled_now:
            self.unsettled = 0
            return
        self.unsettled += 1
        if self.unsettled == hold:
            self.relapses += 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> Settling:
        return cls(
            settled_step=saved["settled_step"],
            candidate=saved["candidate"],
            streak=int(saved["streak"]),
            unsettled=int(saved["unsettled"]),
            relapses=int(saved["relapses"]),
        )
