"""Small deterministic training problems shared by the optimizer tests."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def tiny_model(dtype: torch.dtype = torch.float64, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)).to(dtype)


def batch(dtype: torch.dtype = torch.float64, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 5, generator=gen, dtype=torch.float64).to(dtype)
    y = torch.randn(16, 3, generator=gen, dtype=torch.float64).to(dtype)
    return x, y


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    steps: int,
    *,
    data_seed: int = 1,
    before_step: Callable[[int], None] | None = None,
) -> None:
    """``steps`` full-batch steps of a regression loss; ``before_step(i)`` may alter grads or groups."""
    dtype = next(model.parameters()).dtype
    x, y = batch(dtype, data_seed)
    for i in range(steps):
        optimizer.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        if before_step is not None:
            before_step(i)
        optimizer.step()


def flat_params(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).to(torch.float64) for p in model.parameters()])


def param_groups(model: nn.Module, *, varied: bool) -> list[dict]:
    """One group per layer; with ``varied`` each has its own lr, betas, eps and decay."""
    first, second = model[0], model[2]
    if not varied:
        return [{"params": list(model.parameters())}]
    return [
        {"params": [first.weight], "lr": 3e-2, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05},
        {"params": [first.bias, second.bias], "lr": 1e-2, "weight_decay": 0.0},
        {"params": [second.weight], "lr": 5e-3, "betas": (0.95, 0.9), "eps": 1e-10},
    ]
