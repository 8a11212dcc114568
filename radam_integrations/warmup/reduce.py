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
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return sums
    backend = dist.get_backend(process_group)
    work = sums
    if backend == "nccl" and sums.device.type != "cuda":
        work = sums.to(torch.device("cuda", torch.cuda.current_device()))
    elif backend == "gloo" and sums.device.type not in ("cpu",):
        work = sums.cpu()
    dist.all_reduce(work, op=dist.ReduceOp.SUM, group=process_group)
    if work is not sums:
        sums.copy_(work.to(sums.device))
    return sums


def world_rank(process_group: Any = None) -> int:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(process_group)
    return 0
