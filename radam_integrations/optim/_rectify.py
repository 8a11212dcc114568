"""Per-step scalars of a RAdam update, shared by every step path.

A RAdam update of one tensor at step ``t`` is::

    theta -= rect_step * m / (sqrt(v) + eps) + unrect_step * m

with ``rect_step = lr * r_t * sqrt(1 - b2^t) / (1 - b1^t)`` on rectified steps (else 0)
and ``unrect_step = lr / (1 - b1^t)`` on unrectified steps when the optimizer
degenerates to SGD with momentum (else 0). These helpers compute ``r_t`` for a step
count, on the host (Python floats, torch's order of arithmetic) or on the device
(tensors, no host synchronisation and no data-dependent Python branch, for
``capturable=True`` and ``torch.compile``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from .. import theory

MIN_RECTIFY_RHO = theory.MIN_RECTIFY_RHO
effective_threshold = theory.effective_threshold


#: ``r_t`` if the step is rectified under ``threshold``, else ``0.0`` (the rule lives in theory).
host_rectification = theory.applied_rectification


class DeviceCoefficients(NamedTuple):
    """Per-step scalars as tensors (one element per step count)."""

    rect: Tensor  # r_t where rectified, else 0
    rectified: Tensor  # bool
    moves: Tensor  # 1.0 where the parameter is updated this step, else 0.0
    bias_correction1: Tensor  # 1 - b1^t
    bias_correction2: Tensor  # 1 - b2^t


def device_coefficients(
    steps: Tensor,
    *,
    beta1: float,
    beta2: float,
    threshold: float,
    degenerated_to_sgd: bool,
    dtype: torch.dtype | None = None,
) -> DeviceCoefficients:
    """:func:`host_rectification` and the bias corrections, elementwise on a tensor of step counts.

    No host synchronisation and no data-dependent Python branch (``capturable=True``).
    The arithmetic runs in float64 where the device has it: ``rho_t = rho_inf - 2 t b2^t /
    (1 - b2^t)`` cancels catastrophically in float32 (about 1999 - 1993 at the first
    rectified step for ``b2 = 0.999``), which would put a 1e-4 relative error on ``r_t``.
    """
    if steps.device.type != "mps":  # MPS has no float64
        steps = steps.to(torch.float64)
    rho_max = theory.rho_inf(beta2)
    bt = torch.pow(beta2, steps)
    bias_correction2 = 1 - bt
    rho = rho_max - 2 * steps * bt / bias_correction2
    ratio = (rho - 4) * (rho - 2) * rho_max / (rho * ((rho_max - 4) * (rho_max - 2)))
    rectified = rho > effective_threshold(threshold)
    # Outside the rectified region the ratio may be negative or undefined: clamp before
    # the sqrt so no NaN is produced, then select.
    rect = torch.where(rectified, ratio.clamp(min=0).sqrt(), torch.zeros_like(ratio))
    moves = torch.ones_like(rect) if degenerated_to_sgd else rectified.to(rect.dtype)
    bias_correction1 = 1 - torch.pow(beta1, steps)
    if dtype is not None:
        out = dtype if dtype in (torch.float32, torch.float64) else torch.float32
        rect, moves, bias_correction1, bias_correction2 = (
            t.to(out) for t in (rect, moves, bias_correction1, bias_correction2)
        )
    return DeviceCoefficients(rect, rectified, moves, bias_correction1, bias_correction2)
