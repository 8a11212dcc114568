"""The multi-tensor RAdam step built from ``torch._foreach_*`` ops (``foreach=True``).

Also the path for everything the one-pass step does not cover (unrectified steps,
complex parameters, capturable mode). With default switches the arithmetic is
torch.optim.RAdam's ``_multi_tensor_radam``, so results are bit-identical to torch's
``foreach=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import torch
from torch import Tensor

from .._compat import torch as torch_compat
from ._rectify import device_coefficients, host_rectification

#: A list of tensors as torch's ``_foreach_*`` ops take it; the out-of-place ones return a tuple.
TensorList = list[Tensor] | tuple[Tensor, ...]


class _GroupHyper(TypedDict):
    """The keyword arguments :func:`radam_foreach` passes to both group steps."""

    lr: float | Tensor
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    decoupled_weight_decay: bool
    threshold: float
    degenerated_to_sgd: bool
    negated_grads: bool


def radam_foreach(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    state_steps: list[Tensor],
    *,
    lr: float | Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    threshold: float,
    degenerated_to_sgd: bool,
    maximize: bool,
    capturable: bool,
    rectification: Callable[[float], float] | None = None,
) -> None:
    if not params:
        return
    grouped = torch_compat.group_by_device_and_dtype([params, grads, exp_avgs, exp_avg_sqs, state_steps])
    for (g_params, g_grads, g_exp_avgs, g_exp_avg_sqs, g_steps), _ in grouped.values():
        increment_steps(g_steps)
        _view_complex_as_real(g_params, g_grads, g_exp_avgs, g_exp_avg_sqs)
        step_grads: TensorList = torch._foreach_neg(g_grads) if maximize else g_grads
        hyper = _GroupHyper(
            lr=lr,
            beta1=beta1,
            beta2=beta2,
            eps=eps,
            weight_decay=weight_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            threshold=threshold,
            degenerated_to_sgd=degenerated_to_sgd,
            negated_grads=maximize,
        )
        if capturable:
            _device_group_step(g_params, step_grads, g_exp_avgs, g_exp_avg_sqs, g_steps, **hyper)
        else:
            _host_group_step(
                g_params, step_grads, g_exp_avgs, g_exp_avg_sqs, g_steps, **hyper, rectification=rectification
            )


def increment_steps(steps: list[Tensor]) -> None:
    """Add 1 to every step counter."""
    if not torch.compiler.is_compiling() and steps[0].is_cpu:
        # A CPU scalar tensor wrapped once is faster than re-wrapping the int per tensor.
        torch._foreach_add_(steps, torch.tensor(1.0, device="cpu"), alpha=1.0)
    else:
        torch._foreach_add_(steps, 1)


def _view_complex_as_real(params: list[Tensor], *others: list[Tensor]) -> None:
    for i, p in enumerate(params):
        if torch.is_complex(p):
            params[i] = torch.view_as_real(p)
            for lst in others:
                lst[i] = torch.view_as_real(lst[i])


def _update_moments(
    params: list[Tensor],
    grads: TensorList,
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    *,
    beta1: float,
    beta2: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    negated_grads: bool,
) -> None:
    """L2 decay into the gradient (unless decoupled), then the two EMAs."""
    if weight_decay != 0 and not decoupled_weight_decay:
        if negated_grads:  # grads is already our own copy: reuse its memory
            torch._foreach_add_(grads, params, alpha=weight_decay)
        else:
            grads = torch._foreach_add(grads, params, alpha=weight_decay)
    torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)


def _host_group_step(
    params: list[Tensor],
    grads: TensorList,
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    steps: list[Tensor],
    *,
    lr: float | Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    threshold: float,
    degenerated_to_sgd: bool,
    negated_grads: bool,
    rectification: Callable[[float], float] | None = None,
) -> None:
    step_values = [s.item() for s in steps]
    if rectification is None:
        rects = [host_rectification(t, beta2, threshold) for t in step_values]
    else:
        rects = [rectification(t) for t in step_values]
    moving = [r > 0 or degenerated_to_sgd for r in rects]
    everyone_moves = all(moving)

    if weight_decay != 0 and decoupled_weight_decay:
        movers = params if everyone_moves else [p for p, m in zip(params, moving) if m]
        if movers:
            torch._foreach_mul_(movers, 1 - lr * weight_decay)
    _update_moments(
        params,
        grads,
        exp_avgs,
        exp_avg_sqs,
        beta1=beta1,
        beta2=beta2,
        weight_decay=weight_decay,
        decoupled_weight_decay=decoupled_weight_decay,
        negated_grads=negated_grads,
    )
    del grads

    if not everyone_moves:  # degenerated_to_sgd=False and some tensors are not rectified yet
        keep = [i for i, m in enumerate(moving) if m]
        if not keep:
            return
        params, exp_avgs, exp_avg_sqs = ([lst[i] for i in keep] for lst in (params, exp_avgs, exp_avg_sqs))
        step_values, rects = [step_values[i] for i in keep], [rects[i] for i in keep]

    bias_correction1 = [1 - beta1**t for t in step_values]
    # Floats, or 0-dim tensors for a tensor lr: torch's foreach ops take a list of either.
    unrect_step: list[Any] = [
        (lr * (0 if r > 0 else 1.0) / bc) * -1 for r, bc in zip(rects, bias_correction1)
    ]
    rect_step = [
        ((1 - beta2**t) ** 0.5) * (lr * r / bc) * -1 for t, r, bc in zip(step_values, rects, bias_correction1)
    ]

    # buffer = rect_step / (sqrt(v) + eps) + unrect_step   (rect_step = -0.0 gives 1/-inf = -0.0)
    buffer = torch._foreach_sqrt(exp_avg_sqs)
    torch._foreach_add_(buffer, eps)
    torch._foreach_div_(buffer, rect_step)
    torch._foreach_reciprocal_(buffer)
    torch._foreach_add_(buffer, unrect_step)
    torch._foreach_addcmul_(params, exp_avgs, buffer)


def _device_group_step(
    params: list[Tensor],
    grads: TensorList,
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    steps: list[Tensor],
    *,
    lr: float | Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    threshold: float,
    degenerated_to_sgd: bool,
    negated_grads: bool,
) -> None:
    """Capturable variant: per-tensor scalars stay on the device; no branch depends on data."""
    c = device_coefficients(
        torch.stack(steps),
        beta1=beta1,
        beta2=beta2,
        threshold=threshold,
        degenerated_to_sgd=degenerated_to_sgd,
        dtype=params[0].dtype,  # grouped by device and dtype
    )
    if weight_decay != 0 and decoupled_weight_decay:
        torch._foreach_mul_(params, list((1 - lr * weight_decay * c.moves).unbind(0)))
    _update_moments(
        params,
        grads,
        exp_avgs,
        exp_avg_sqs,
        beta1=beta1,
        beta2=beta2,
        weight_decay=weight_decay,
        decoupled_weight_decay=decoupled_weight_decay,
        negated_grads=negated_grads,
    )
    del grads

    unrect_step = -lr * torch.where(c.rectified, torch.zeros_like(c.rect), c.moves) / c.bias_correction1
    rect_step = -lr * c.rect * c.bias_correction2.sqrt() / c.bias_correction1

    buffer = torch._foreach_sqrt(exp_avg_sqs)
    torch._foreach_add_(buffer, eps)
    torch._foreach_div_(buffer, list(rect_step.unbind(0)))
    torch._foreach_reciprocal_(buffer)
    torch._foreach_add_(buffer, list(unrect_step.unbind(0)))
    torch._foreach_addcmul_(params, exp_avgs, buffer)
