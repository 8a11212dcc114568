"""The for-loop RAdam step: one tensor at a time (``foreach=False``).

The arithmetic is torch.optim.RAdam's single-tensor path, extended with the
``threshold`` and ``degenerated_to_sgd`` switches; with their defaults the results are
bit-identical to torch's.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ._rectify import device_coefficients, host_rectification


def radam_single_tensor(
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
    for param, grad, exp_avg, exp_avg_sq, step_t in zip(params, grads, exp_avgs, exp_avg_sqs, state_steps):
        if maximize:
            grad = -grad
        if torch.is_complex(param):
            param = torch.view_as_real(param)
            grad = torch.view_as_real(grad)
            exp_avg = torch.view_as_real(exp_avg)
            exp_avg_sq = torch.view_as_real(exp_avg_sq)

        step_t += 1
        if capturable:
            _capturable_update(
                param,
                grad,
                exp_avg,
                exp_avg_sq,
                step_t,
                lr=lr,
                beta1=beta1,
                beta2=beta2,
                eps=eps,
                weight_decay=weight_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                threshold=threshold,
                degenerated_to_sgd=degenerated_to_sgd,
            )
            continue

        step = step_t.item()
        rect = host_rectification(step, beta2, threshold) if rectification is None else rectification(step)
        moves = rect > 0 or degenerated_to_sgd

        if weight_decay != 0:
            if decoupled_weight_decay:
                if moves:
                    param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)

        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        if rect > 0:
            adaptive_lr = (bias_correction2**0.5) / exp_avg_sq.sqrt().add_(eps)
            param.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
        elif degenerated_to_sgd:
            param.add_(bias_corrected_exp_avg * lr, alpha=-1.0)


def _capturable_update(
    param: Tensor,
    grad: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    step_t: Tensor,
    *,
    lr: float | Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    threshold: float,
    degenerated_to_sgd: bool,
) -> None:
    """Branch-free update: the step count stays on the device and is never read on the host."""
    c = device_coefficients(
        step_t,
        beta1=beta1,
        beta2=beta2,
        threshold=threshold,
        degenerated_to_sgd=degenerated_to_sgd,
        dtype=param.dtype,
    )
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - lr * weight_decay * c.moves)
        else:
            grad = grad.add(param, alpha=weight_decay)

    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

    unrect = torch.where(c.rectified, torch.zeros_like(c.rect), c.moves)
    adaptive = c.rect * c.bias_correction2.sqrt() / (exp_avg_sq.sqrt() + eps)
    update = torch.where(c.rectified, adaptive, unrect)
    param.add_(exp_avg / c.bias_correction1 * lr * update, alpha=-1.0)
