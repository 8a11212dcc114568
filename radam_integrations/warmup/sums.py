"""Per-group statistics of an Adam-family optimizer's state, as weighted sums over the sample.

Everything the detector computes is a sum over sampled elements (see :data:`SUM_FIELDS`), so
sharded state is exact after one all_reduce of these sums (see :mod:`.reduce`); the metrics are
functions of the sums (see :mod:`.metrics`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .reduce import local_flat
from .sampling import TensorSample

__all__ = ["FIELD", "SUM_FIELDS", "group_sums"]

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


def group_sums(
    entries: list[tuple[Tensor, dict[str, Any], TensorSample]],
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
    # One indexed read per state tensor; everything else is one operation per group: the parts
    # are concatenated in their own dtype and converted to float64 once (the same values as
    # converting each part), and the per-element step and weight are expanded from one entry
    # per tensor.
    parts: dict[str, list[Tensor]] = {"v": [], "m": [], "p": []}
    sizes, prevs = [], []
    for param, state, sample in entries:
        n, idx = sample.count, sample.index
        for key, x in (("v", state["exp_avg_sq"]), ("m", state["exp_avg"]), ("p", param)):
            flat = local_flat(x)
            parts[key].append(flat.narrow(0, 0, n) if idx is None else flat.index_select(0, idx))
        sizes.append(n)
        prev = sample.prev_logpsi
        prevs.append(prev if prev is not None and prev.numel() == n else None)
    v, m, p = (_cat64(parts[key], device) for key in ("v", "m", "p"))
    counts = torch.tensor(sizes, dtype=torch.long, device=device)
    t = torch.tensor(steps, dtype=torch.float64, device=device).repeat_interleave(counts)
    weights = [sample.weight for _, _, sample in entries]
    w = torch.tensor(weights, dtype=torch.float64, device=device).repeat_interleave(counts)
    filled = [torch.full((n,), math.nan, device=device) if x is None else x for x, n in zip(prevs, sizes)]
    prev = _cat64(filled, device)

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


def _cat64(parts: list[Tensor], device: torch.device) -> Tensor:
    """``parts`` concatenated on ``device`` as float64 (each converted first if their dtypes differ)."""
    dtypes = {x.dtype for x in parts}
    if len(dtypes) > 1:  # mixed precision state: convert each part, still exact
        parts = [x.to(torch.float64) for x in parts]
    return torch.cat([x if x.device == device else x.to(device) for x in parts]).to(torch.float64)
