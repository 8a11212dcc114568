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

#: ``padding(group_index, tensor)``: the padding in a tensor's rank-local data, either as the number
#: of trailing padding elements (``int``) or as the list of valid ``(start, length)`` ranges.
Valid = int | list[tuple[int, int]]
PaddingFn = Callable[[int, Tensor], Valid]


def is_dtensor(t: Any) -> bool:
    return type(t).__name__ == "DTensor" and hasattr(t, "to_local")


def is_flat_param(t: Any) -> bool:
    """FSDP1's ``FlatParameter`` (use_orig_params=False): a flat, padded local shard."""
    return type(t).__name__ == "FlatParameter" or bool(getattr(t, "_is_flat_param", False))


def local_flat(t: Tensor) -> Tensor:
    """The rank-local data of ``t`` as a 1-D tensor (a view where possible)."""
    if is_dtensor(t):
        t = t.to_local()
    return t.detach().reshape(-1)


def fsdp1_padding(_group_index: int, param: Tensor) -> int:
    """Trailing padding of an FSDP1 flat-parameter shard (0 for anything else)."""
    if is_flat_param(param):
        return int(getattr(param, "_shard_numel_padded", 0) or 0)
    return 0


class ZeroLayout:
    """Where DeepSpeed ZeRO keeps the optimizer state, and which of its elements are padding.

    * Stage 1/2 (``DeepSpeedZeroOptimizer``): the base optimizer's group ``i`` holds one flat
      fp32 partition; ``groups_padding[i]`` zeros sit at its end (on the last rank).
    * Stage 3 (``DeepSpeedZeroOptimizer_Stage3``): the state is keyed by the flat partitions
      ``fp32_partitioned_groups_flat[s]`` of sub-groups ``s`` (mapped to base groups by
      ``sub_group_to_group_id``), and the base groups' ``params`` lists are empty outside
      ``step()``. Each parameter's slice of a sub-group is padded at its own end
      (``groups_padding[s]`` per parameter, slice sizes from ``fp16_partitioned_groups[s]``).
    """

    def __init__(self, zero_optimizer: Any) -> None:
        self.zero = zero_optimizer
        self.stage3 = hasattr(zero_optimizer, "fp32_partitioned_groups_flat")

    def group_tensors(self, group_index: int, group: dict[str, Any]) -> list[Tensor]:
        if not self.stage3:
            return list(group["params"])
        to_group = getattr(self.zero, "sub_group_to_group_id", {})
        return [
            flat
            for sub, flat in enumerate(self.zero.fp32_partitioned_groups_flat)
            if int(to_group.get(sub, to_group.get(str(sub), 0))) == group_index
        ]

    def padding(self, group_index: int, tensor: Tensor) -> Valid:
        paddings = self.zero.groups_padding
        if not self.stage3:
            return int(paddings[group_index]) if group_index < len(paddings) else 0
        sub = next(i for i, flat in enumerate(self.zero.fp32_partitioned_groups_flat) if flat is tensor)
        ranges, offset = [], 0
        for part, pad in zip(self.zero.fp16_partitioned_groups[sub], paddings[sub]):
            n = part.numel()
            ranges.append((offset, n - int(pad)))
            offset += n
        return ranges


def state_is_sharded(optimizer: torch.optim.Optimizer, wrapper: Any = None) -> bool:
    """Whether each rank holds only part of the optimizer state."""
    if wrapper is not None and hasattr(wrapper, "groups_padding"):
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
