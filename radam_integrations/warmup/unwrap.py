"""From whatever the frameworks hand over to the optimizer that holds Adam-family state.

Accelerate (``AcceleratedOptimizer``), Lightning (``LightningOptimizer``), DeepSpeed's ZeRO
optimizers and timm's ``Lookahead`` wrap the optimizer that keeps ``exp_avg``/``exp_avg_sq``;
:func:`unwrap_optimizer` follows the wrappers down to it, and remembers the ZeRO wrapper, which
knows the shard padding (see :mod:`.reduce`).
"""

from __future__ import annotations

from typing import Any

import torch

from .._compat.deepspeed import is_zero_optimizer
from .._compat.wrappers import WRAPPER_ATTRIBUTES  # which attribute each library's wrapper uses

__all__ = [
    "WRAPPER_ATTRIBUTES",
    "UnsupportedOptimizerError",
    "check_adam_family",
    "unwrap_optimizer",
    "wrapper_chain",
]


class UnsupportedOptimizerError(TypeError):
    """The optimizer keeps no Adam-style state (``exp_avg``, ``exp_avg_sq``, ``step``)."""


def wrapper_chain(optimizer: Any) -> list[Any]:
    """``optimizer`` and everything it wraps, outermost first, following :data:`WRAPPER_ATTRIBUTES`."""
    chain, seen = [optimizer], {id(optimizer)}
    while True:
        inner = None
        for attr in WRAPPER_ATTRIBUTES:
            candidate = getattr(chain[-1], attr, None)
            if candidate is not None and id(candidate) not in seen and hasattr(candidate, "param_groups"):
                inner = candidate
                break
        if inner is None:
            return chain
        chain.append(inner)
        seen.add(id(inner))


def unwrap_optimizer(optimizer: Any) -> tuple[torch.optim.Optimizer, Any]:
    """The innermost optimizer holding the state, and the DeepSpeed ZeRO wrapper if any.

    Unwraps Accelerate's ``AcceleratedOptimizer`` / ``DeepSpeedOptimizerWrapper``,
    Lightning's ``LightningOptimizer``, DeepSpeed's ZeRO optimizers and timm's
    ``Lookahead`` (see :func:`wrapper_chain`).

    Raises:
        UnsupportedOptimizerError: what is at the bottom is no torch optimizer.
    """
    chain = wrapper_chain(optimizer)
    zero = next((o for o in chain if is_zero_optimizer(o)), None)
    current = chain[-1]
    if not (hasattr(current, "param_groups") and hasattr(current, "state")):
        raise UnsupportedOptimizerError(
            "WarmupDetector needs a torch optimizer (with param_groups and state), "
            f"got {type(optimizer).__name__}"
        )
    return current, zero


def check_adam_family(optimizer: torch.optim.Optimizer) -> None:
    """Refuse an optimizer that keeps no Adam-family state, with what it has instead.

    Raises:
        UnsupportedOptimizerError: no ``betas`` in its groups, or state without ``exp_avg_sq``.
    """
    groups = optimizer.param_groups
    if groups and not all("betas" in g for g in groups):
        raise UnsupportedOptimizerError(
            f"WarmupDetector reads Adam-family state (step, exp_avg, exp_avg_sq); {type(optimizer).__name__} "
            "has no 'betas' in its param groups, so it keeps none. Use Adam, AdamW, RAdam, NAdam or "
            "radam_integrations.RAdam."
        )
    state = next((st for st in optimizer.state.values() if st), None)
    if state is not None and "exp_avg_sq" not in state:
        raise UnsupportedOptimizerError(
            f"{type(optimizer).__name__}'s state has {sorted(state)} but no 'exp_avg_sq': "
            "WarmupDetector reads Adam-family state (step, exp_avg, exp_avg_sq)"
        )
