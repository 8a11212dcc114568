"""Which elements of a parameter group's optimizer state the detector reads.

A group's sample size ``S`` is spread over its tensors in proportion to their size (at least one
element each, :func:`allocate_sample`); for each tensor a fixed random sample of ``k`` elements is
drawn once (from the valid, unpadded local data, :func:`draw_sample`) and reused at every
evaluation, with weight ``valid_numel / k``, so that weighted sums over the sample estimate sums
over the whole group (see :mod:`.sums`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["TensorSample", "allocate_sample", "draw_sample"]


@dataclass
class TensorSample:
    """The fixed sample of one tensor: indices into its local flat data and their weight."""

    index: Tensor | None  # None: the first ``count`` elements (all valid ones), no gather
    count: int  # number of sampled elements
    weight: float  # valid_numel / count
    prev_logpsi: Tensor | None = None  # float32 log psi at the previous evaluation (NaN = invalid)


def allocate_sample(valid_counts: list[int], size: int | None) -> list[int | None]:
    """Elements to sample per tensor: ``size`` spread in proportion to ``valid_counts``.

    Every tensor with valid elements gets at least one (so the weighted sums stay unbiased),
    hence the total is at most ``size`` plus one per tensor. ``None`` everywhere (all elements)
    when ``size`` is ``None`` or the group has no more than ``size`` valid elements.

    >>> allocate_sample([1000, 3000, 0, 5], 400)
    [100, 300, 0, 1]
    >>> allocate_sample([5, 7], 400)
    [None, None]
    """
    total = sum(max(n, 0) for n in valid_counts)
    if size is None or total <= size:
        return [None] * len(valid_counts)
    return [min(n, max(1, round(size * n / total))) if n > 0 else 0 for n in valid_counts]


def draw_sample(
    valid_numel: int,
    k: int | None,
    generator: torch.Generator,
    device: torch.device,
    ranges: list[tuple[int, int]] | None = None,
) -> TensorSample:
    """Sample at most ``k`` valid elements (``k=None``: all of them).

    The valid elements are the first ``valid_numel`` ones, or, with ``ranges``, the union of
    the ``(start, length)`` ranges (then ``valid_numel`` is their total length).
    """
    if ranges is None and (k is None or valid_numel <= k):
        return TensorSample(index=None, count=max(valid_numel, 0), weight=1.0)
    if k is None or valid_numel <= k:
        positions, count, weight = torch.arange(max(valid_numel, 0)), max(valid_numel, 0), 1.0
    else:
        if valid_numel <= 64 * k:
            positions = torch.randperm(valid_numel, generator=generator)[:k]
        else:  # large tensors: k draws with replacement are as good and avoid a huge permutation
            positions = torch.randint(valid_numel, (k,), generator=generator)
        positions, count, weight = positions.sort().values, k, valid_numel / k
    if ranges:  # map positions in the concatenated valid ranges to indices in the tensor
        starts = torch.tensor([s for s, n in ranges if n > 0], dtype=torch.long)
        lengths = torch.tensor([n for _, n in ranges if n > 0], dtype=torch.long)
        ends = lengths.cumsum(0)
        which = torch.searchsorted(ends, positions, right=True)
        positions = starts[which] + positions - (ends[which] - lengths[which])
    return TensorSample(index=positions.to(device), count=count, weight=weight)
