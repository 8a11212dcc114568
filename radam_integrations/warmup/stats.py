"""Per-group statistics of an Adam-family optimizer's state, as sums over sampled elements.

A group's sample size ``S`` is spread over its tensors in proportion to their size (at least
one element each, see :func:`allocate_sample`); for each tensor a fixed random sample of
``k`` elements is drawn once (from the valid, unpadded local data) and reused at every
evaluation, with weight ``valid_numel / k`` so that weighted sums estimate sums over the whole
group. Everything is a sum (see :data:`SUM_FIELDS`), so sharded state is exact after one
all_reduce.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .reduce import local_flat

SUM_FIELDS = (
    "weight",  # finite sampled elements (weighted): the group's element count estimate
    "weight_zero_v",  # ... whose v is still exactly zero (never got a gradient)
    "weight_nonfinite",  # elements with a NaN/Inf in v, m or the parameter (excluded elsewhere)
    "weight_v",  # finite elements with v > 0: the population of log psi
    "sum_logpsi",
    "sum_logpsi_sq",
    "weight_drift",  # elements valid now and at the previous evaluation
    "sum_drift",
    "sum_drift_sq",
    "sum_update_sq",  # Adam update m_hat / (sqrt(v_hat) + eps), squared
    "sum_mhat_sq",  # momentum m_hat, squared (the update of RAdam's unrectified steps)
    "sum_param_sq",
)
FIELD = {name: i for i, name in enumerate(SUM_FIELDS)}


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


def group_sums(
    entries: list[tuple[Tensor, dict, TensorSample]],
    steps: list[float],
    *,
    beta1: float,
    beta2: float,
    eps: float,
) -> Tensor:
    """Weighted sums (float64, in :data:`SUM_FIELDS` order) over the sampled elements of one group.

    ``entries`` are ``(param, state, sample)`` for the group's tensors that have state, ``steps``
    their step counts (read once by the caller). The sample's ``prev_logpsi`` is replaced by this
    evaluation's values.
    """
    sums = torch.zeros(len(SUM_FIELDS), dtype=torch.float64)
    if not entries:
        return sums
    device = local_flat(entries[0][1]["exp_avg_sq"]).device
    gathered: dict[str, list[Tensor]] = {"v": [], "m": [], "p": [], "t": [], "w": [], "prev": []}
    sizes = []
    for (param, state, sample), step in zip(entries, steps):
        flat_v = local_flat(state["exp_avg_sq"])
        n, idx = sample.count, sample.index

        def take(x: Tensor, n: int = n, idx: Tensor | None = idx) -> Tensor:
            return (x[:n] if idx is None else x[idx]).to(device, torch.float64)

        gathered["v"].append(take(flat_v))
        gathered["m"].append(take(local_flat(state["exp_avg"])))
        gathered["p"].append(take(local_flat(param)))
        sizes.append(n)
        gathered["t"].append(torch.full((n,), step, dtype=torch.float64, device=device))
        gathered["w"].append(torch.full((n,), sample.weight, dtype=torch.float64, device=device))
        prev = sample.prev_logpsi
        if prev is None or prev.numel() != n:
            prev = torch.full((n,), math.nan, dtype=torch.float64, device=device)
        gathered["prev"].append(prev.to(device, torch.float64))
    v, m, p, t, w, prev = (torch.cat(gathered[key]) for key in ("v", "m", "p", "t", "w", "prev"))

    finite = torch.isfinite(v) & torch.isfinite(m) & torch.isfinite(p)
    zero_v = finite & (v == 0)
    with_v = finite & (v > 0)
    bc1 = 1 - torch.pow(beta1, t)
    bc2 = 1 - torch.pow(beta2, t)
    denom = torch.where(finite, (v / bc2).sqrt() + eps, torch.ones_like(v))
    logpsi = torch.where(with_v, -denom.log(), torch.full_like(v, math.nan))
    drift = logpsi - prev
    with_drift = with_v & torch.isfinite(drift)
    m_hat = torch.where(finite, m / bc1, torch.zeros_like(m))
    update = torch.where(finite & (denom > 0), m_hat / denom, torch.zeros_like(m))

    def wsum(mask: Tensor, values: Tensor | None = None) -> Tensor:
        if values is None:
            return (w * mask).sum()
        return torch.where(mask, w * values, torch.zeros_like(w)).sum()

    # wsum selects with torch.where, so NaN/Inf outside the mask never reaches a sum.
    values = [
        wsum(finite),
        wsum(zero_v),
        wsum(~finite),
        wsum(with_v),
        wsum(with_v, logpsi),
        wsum(with_v, logpsi * logpsi),
        wsum(with_drift),
        wsum(with_drift, drift),
        wsum(with_drift, drift * drift),
        wsum(finite, update * update),
        wsum(finite, m_hat * m_hat),
        wsum(finite, p * p),
    ]
    sums = torch.stack(values)

    # The memory is kept in float32: half the size in checkpoints, and log psi (of order 10) is
    # still resolved to about 1e-6, three orders below the drift between two evaluations.
    for (_, _, sample), new in zip(entries, torch.split(logpsi.to(torch.float32), sizes)):
        sample.prev_logpsi = new
    return sums
