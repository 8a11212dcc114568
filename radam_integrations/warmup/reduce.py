"""Sharded optimizer state: local views without padding, and the one all_reduce.

The detector's statistics are weighted sums over sampled elements, so a state sharded
across ranks (FSDP2 DTensor, FSDP1 flat shards, DeepSpeed ZeRO partitions) is handled by
having each rank sum over its own shard and adding the per-group sums with ONE
``all_reduce(SUM)`` per evaluation. Shard padding (zeros appended so shards have equal
size) must be excluded, or it would count as parameters whose ``v`` is zero.

Replicated state (DDP, single process) needs no reduction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

# How sharded state is recognised, and where DeepSpeed ZeRO keeps its layout: other libraries'
# internals, in _compat (re-exported here, where the detector and the scripts import them).
from .._compat.deepspeed import ZeroLayout as ZeroLayout
from .._compat.deepspeed import is_zero_optimizer
from .._compat.torch_distributed import flat_param_padding, is_dtensor, is_flat_param

#: ``padding(group_index, tensor)``: the padding in a tensor's rank-local data, either as the number
#: of trailing padding elements (``int``) or as the list of valid ``(start, length)`` ranges.
Valid = int | list[tuple[int, int]]
PaddingFn = Callable[[int, Tensor], Valid]


_PLAIN = (Tensor, torch.nn.Parameter)  # exact types that are never a DTensor (the fast path)


def local_flat(t: Tensor) -> Tensor:
    """The rank-local data of ``t`` as a 1-D tensor (a view where possible)."""
    if type(t) not in _PLAIN and is_dtensor(t):
        t = t.to_local()
    return t.detach().reshape(-1)


def fsdp1_padding(_group_index: int, param: Tensor) -> int:
    """Trailing padding of an FSDP1 flat-parameter shard (0 for anything else)."""
    return flat_param_padding(param)


def state_is_sharded(optimizer: torch.optim.Optimizer, wrapper: Any = None) -> bool:
    """Whether each rank holds only part of the optimizer state."""
    if wrapper is not None and is_zero_optimizer(wrapper):
        return True  # DeepSpeed ZeRO
    for group in optimizer.param_groups:
        for p in group["params"]:
            if is_dtensor(p) or is_flat_param(p):
                return True
            state = optimizer.state.get(p)
            if state and is_dtensor(state.get("exp_avg_sq")):
                return True
    return False


def all_reduce_sum(sums: Tensor, process_group: Any = None) -> Tensor:
    """Sum ``sums`` over the ranks of ``process_group`` (in place, one collective).

    The tensor is moved to the backend's device when needed (gloo reduces CPU tensors,
    NCCL CUDA tensors) and back.
    """
    return _all_reduce(sums, "SUM", process_group)


def _all_reduce(values: Tensor, op: str, process_group: Any = None) -> Tensor:
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return values
    backend = dist.get_backend(process_group)
    work = values
    if backend == "nccl" and values.device.type != "cuda":
        work = values.to(torch.device("cuda", torch.cuda.current_device()))
    elif backend == "gloo" and values.device.type not in ("cpu",):
        work = values.cpu()
    dist.all_reduce(work, op=getattr(dist.ReduceOp, op), group=process_group)
    if work is not values:
        values.copy_(work.to(values.device))
    return values


def ranks_hold_different_state(optimizer: torch.optim.Optimizer, process_group: Any = None) -> bool | None:
    """Whether the ranks hold different Adam state: per-rank shards no wrapper announces.

    DeepSpeed hands a scheduler its *basic* optimizer (``deepspeed.initialize(lr_scheduler=
    callable)``, and a scheduler built on the client optimizer before ZeRO partitions it): each
    rank then holds a flat partition that nothing marks as sharded. Compares the number of
    parameter groups, of elements with state and the sum of ``exp_avg_sq`` (largest and smallest
    over the ranks: one ``all_reduce(MAX)`` of seven numbers, the same size on every rank).
    ``None`` while no rank has state. Every rank must call it at the same point.

    Raises:
        ValueError: the ranks have different numbers of parameter groups (their measurements
            could not be reduced together).
    """
    groups, numel, total = len(optimizer.param_groups), 0, 0.0
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p)
            v = state.get("exp_avg_sq") if state else None
            if isinstance(v, Tensor):
                local = local_flat(v)
                numel += local.numel()
                total += float(local.double().sum())
    local_stats = torch.tensor([groups, numel, total], dtype=torch.float64)
    has_state = torch.tensor([float(numel > 0)], dtype=torch.float64)
    table = _all_reduce(torch.cat([has_state, local_stats, -local_stats]), "MAX", process_group)
    most, least = table[1:4], -table[4:7]
    if most[0] != least[0]:
        raise ValueError(
            f"the ranks' optimizers have between {int(least[0])} and {int(most[0])} parameter groups: "
            "the measurement cannot be reduced across them; pass sharded=False to measure each "
            "rank's own state"
        )
    if table[0].item() == 0:
        return None
    return bool((most != least).any())


def world_size(process_group: Any = None) -> int:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(process_group)
    return 1


def world_rank(process_group: Any = None) -> int:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(process_group)
    return 0
