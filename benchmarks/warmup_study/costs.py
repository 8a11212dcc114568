"""What an optimizer is and what it keeps: its class, its betas, and its state memory per parameter.

Recorded for every study run (``run_record(..., optimizer=...)``), so that arms compare on cost as
well as loss: schedule-free optimizers keep an extra copy of the weights, Adam-family ones two
moments. The state's bytes count every tensor in ``optimizer.state`` except 0-dimensional ones
(step counters), divided by the number of parameter elements the optimizer updates.

Example:
    >>> import torch
    >>> p = torch.nn.Parameter(torch.ones(10))
    >>> opt = torch.optim.AdamW([p], betas=(0.9, 0.99))
    >>> p.grad = torch.ones(10); opt.step()
    >>> optimizer_facts(opt)
    {'optimizer_class': 'torch.optim.adamw.AdamW', 'betas': [0.9, 0.99], 'state_bytes_per_parameter': 8.0}
"""

from __future__ import annotations

from typing import Any

from radam_integrations.warmup import unwrap_optimizer

__all__ = ["optimizer_facts"]


def optimizer_facts(optimizer: Any) -> dict[str, Any]:
    """``optimizer_class`` (module and name), ``betas`` of the first group, ``state_bytes_per_parameter``.

    ``optimizer`` may be a framework's wrapper (Accelerate's, Lightning's): the optimizer it wraps
    is described. ``state_bytes_per_parameter`` is ``None`` before the first step (no state yet).
    """
    inner, _ = unwrap_optimizer(optimizer)
    groups = inner.param_groups
    betas = groups[0].get("betas") if groups else None
    elements = sum(p.numel() for group in groups for p in group["params"])
    state_bytes = sum(
        value.numel() * value.element_size()
        for state in inner.state.values()
        for value in state.values()
        if hasattr(value, "element_size") and value.dim() > 0
    )
    return {
        "optimizer_class": f"{type(inner).__module__}.{type(inner).__qualname__}",
        "betas": None if betas is None else [float(b) for b in betas],
        "state_bytes_per_parameter": state_bytes / elements if inner.state and elements else None,
    }
