"""DeepSpeed internals: where ZeRO keeps the optimizer state, and which of its elements are padding.

Read in DeepSpeed 0.19.8's source and tested with it (``make test-deepspeed``: ZeRO 1, 2 and 3 on
two CPU ranks). DeepSpeed documents none of this: its ZeRO optimizers expose no shard layout,
and their ``state_dict`` (which strips the padding) gathers and copies state, far too costly to
call at every evaluation of the warmup detector. The attributes read, all set in the
optimizers' ``__init__``:

* ``groups_padding`` (stages 1-3; also how a ZeRO optimizer is recognised,
  :func:`is_zero_optimizer`): stage 1/2 (``DeepSpeedZeroOptimizer``) one int per base group,
  the zeros at the end of the group's flat fp32 partition (on the last rank); stage 3
  (``DeepSpeedZeroOptimizer_Stage3``) one list per sub-group, each parameter's padding.
* Stage 3 only (recognised by ``fp32_partitioned_groups_flat``): the optimizer state is keyed
  by the flat fp32 partitions ``fp32_partitioned_groups_flat[s]`` of the sub-groups ``s``, the
  base groups' ``params`` lists are empty outside ``step()``; ``sub_group_to_group_id`` maps
  sub-groups to base groups (int or str keys; missing: group 0) and
  ``fp16_partitioned_groups[s]`` gives the size of each parameter's slice of the partition.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

__all__ = ["STAGE3_ATTRIBUTES", "ZERO_ATTRIBUTE", "ZeroLayout", "is_zero_optimizer"]

#: The attribute every ZeRO optimizer (stages 1-3) has, and the others do not.
ZERO_ATTRIBUTE = "groups_padding"
#: What stage 3 needs on top (the first one tells stage 3 apart).
STAGE3_ATTRIBUTES = ("fp32_partitioned_groups_flat", "fp16_partitioned_groups")

#: A tensor's padding in its rank-local data: the number of trailing padding elements (``int``)
#: or the list of valid ``(start, length)`` ranges.
Valid = int | list[tuple[int, int]]


def is_zero_optimizer(optimizer: Any) -> bool:
    """Whether ``optimizer`` is one of DeepSpeed's ZeRO optimizers (stage 1, 2 or 3)."""
    return hasattr(optimizer, ZERO_ATTRIBUTE)


class ZeroLayout:
    """The ZeRO optimizer's state tensors per base group, and the padding in each.

    Raises:
        RuntimeError: a stage-3 optimizer lacks what this relies on (a DeepSpeed that changed).
    """

    def __init__(self, zero_optimizer: Any) -> None:
        self.zero = zero_optimizer
        self.stage3 = hasattr(zero_optimizer, STAGE3_ATTRIBUTES[0])
        missing = [
            a
            for a in (ZERO_ATTRIBUTE, *(STAGE3_ATTRIBUTES if self.stage3 else ()))
            if not hasattr(self.zero, a)
        ]
        if missing:
            raise RuntimeError(
                f"{type(zero_optimizer).__name__} has no {missing}: this DeepSpeed version keeps the ZeRO "
                "layout elsewhere (radam_integrations._compat.deepspeed was checked on DeepSpeed 0.19.8)"
            )

    def group_tensors(self, group_index: int, group: dict[str, Any]) -> list[Tensor]:
        """The tensors that key the optimizer state of base group ``group_index``."""
        if not self.stage3:
            return list(group["params"])
        to_group = getattr(self.zero, "sub_group_to_group_id", {})
        return [
            flat
            for sub, flat in enumerate(self.zero.fp32_partitioned_groups_flat)
            if int(to_group.get(sub, to_group.get(str(sub), 0))) == group_index
        ]

    def padding(self, group_index: int, tensor: Tensor) -> Valid:
        """The padding in ``tensor`` (a state-keying tensor of base group ``group_index``)."""
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
