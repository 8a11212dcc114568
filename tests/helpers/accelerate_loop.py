"""A tiny regression loop shared by the Accelerate tests and their two-process worker.

Fixed batches per step (seeded by the step), so one process on the whole batch and two on its
halves take the same steps up to the all-reduce's rounding.
"""

from __future__ import annotations

from typing import Any

import torch

BETAS = (0.9, 0.99)


def model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 4))


def batch(step: int, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1000 + step)
    return torch.randn(size, 8, generator=gen), torch.randn(size, 4, generator=gen)


def train(
    model: torch.nn.Module,
    optimizer: Any,
    update: Any,
    steps: range,
    *,
    backward: Any = None,
    rows: slice = slice(None),
) -> dict[int, dict[str, float]]:
    """Steps over the fixed batches (``rows`` of each); ``update()`` after each; the metrics it returned."""
    got = {}
    for step in steps:
        x, y = batch(step)
        loss = ((model(x[rows]) - y[rows]) ** 2).mean()
        (backward or torch.Tensor.backward)(loss)
        optimizer.step()
        optimizer.zero_grad()
        metrics = update()
        if metrics is not None:
            got[step] = metrics
    return got
