"""Where a training step's time goes: inside ``optimizer.step()``, and inside the warmup detector.

:class:`StepTimer` uses torch's public step hooks. Frameworks that pass a closure to ``step``
(Lightning's automatic optimization runs forward and backward inside it) would otherwise count
the whole step: the pre-hook wraps the closure and its time is subtracted.
:func:`detector_time` sums the time spent in ``WarmupDetector.update`` during a block.

Example:
    >>> import torch
    >>> p = torch.nn.Parameter(torch.ones(3))
    >>> opt = torch.optim.SGD([p], lr=0.1)
    >>> timer = StepTimer().attach(opt)
    >>> p.grad = torch.ones(3); opt.step()
    >>> timer.steps, timer.seconds > 0
    (1, True)
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from typing import Any

import torch

__all__ = ["StepTimer", "detector_time"]


class StepTimer:
    """Sums the wall time of every ``step()`` of the optimizers it is attached to.

    A subclass whose ``step`` calls ``super().step()`` (``MeasuredRAdam``) fires torch's step hooks
    twice per step once the parent's ``step`` is hooked too: the nested call is part of the outer
    one, so only the outermost is timed (and its closure's time subtracted once).
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self.steps = 0
        self._depth = 0
        self._started: float | None = None
        self._closure_seconds = 0.0
        self._handles: list[Any] = []

    def attach(self, optimizer: torch.optim.Optimizer) -> StepTimer:
        self._handles.append(optimizer.register_step_pre_hook(self._pre))
        self._handles.append(optimizer.register_step_post_hook(self._post))
        return self

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _pre(self, optimizer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self._depth += 1
        if self._depth > 1:  # a nested step: timed by the outer one, its closure already wrapped
            return None
        self._closure_seconds = 0.0
        self._started = time.perf_counter()
        # torch passes step's own arguments, the optimizer first: (self, closure=None).
        closure = kwargs.get("closure", args[1] if len(args) > 1 else None)
        if closure is None:
            return None

        def timed_closure() -> Any:
            start = time.perf_counter()
            try:
                return closure()
            finally:
                self._closure_seconds += time.perf_counter() - start

        if "closure" in kwargs:
            return args, {**kwargs, "closure": timed_closure}
        return (args[0], timed_closure, *args[2:]), kwargs

    def _post(self, *args: Any) -> None:
        self._depth = max(0, self._depth - 1)
        if self._depth == 0 and self._started is not None:
            self.seconds += time.perf_counter() - self._started - self._closure_seconds
            self.steps += 1
            self._started = None


@contextlib.contextmanager
def detector_time() -> Iterator[list[float]]:
    """``with detector_time() as spent:`` ``spent[0]`` is the seconds inside ``WarmupDetector.update``.

    Wraps the method on the class for the duration of the block (this package's own class: the
    study's worker processes run one training at a time).
    """
    from radam_integrations import WarmupDetector

    spent = [0.0]
    original = WarmupDetector.update

    @functools.wraps(original)
    def update(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    WarmupDetector.update = update  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        WarmupDetector.update = original  # type: ignore[method-assign]
