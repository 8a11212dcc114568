"""The one-pass RAdam step, through torch's fused multi-tensor Adam kernels.

A rectified RAdam step is exactly an Adam step with rescaled hyperparameters::

    RAdam:  theta -= lr * r_t / (1 - b1^t) * m * sqrt(1 - b2^t) / (sqrt(v) + eps)
    Adam:   theta -= lr' / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps')
    with    lr' = lr * r_t,   eps' = eps / sqrt(1 - b2^t)
    and, for decoupled decay (theta *= 1 - lr' wd'),   wd' = wd / r_t   (so lr' wd' = lr wd)

L2 decay (``g += wd * theta``) does not involve ``lr`` and is passed unchanged. torch's fused
Adam and AdamW kernels read, update and write every tensor once (param, grad, exp_avg,
exp_avg_sq: 28 bytes per float32 element), on CPU and CUDA. They are private to torch: the call
and its guard live in :mod:`radam_integrations._compat.torch` (a torch that changes them makes
this step fall back to the foreach path, with one warning).

Because ``lr'`` and ``eps'`` depend on the step count, tensors are grouped by (device,
dtype, step count); usually all share one count and there is one kernel call per
device and dtype. Unrectified steps (the first few) go to the foreach path, which also
advances their step counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TypedDict

import torch
from torch import Tensor

from .._compat import torch as torch_compat
from ._foreach import increment_steps
from ._rectify import host_rectification

#: Parameter dtypes the fused Adam kernels accept.
FUSED_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)

#: dtypes for which ``fused=None`` picks the one-pass step. For float16/bfloat16 the fused
#: kernel computes in float32 internally, which is more accurate than (so not the same
#: numbers as) torch's step in half precision: those need an explicit ``fused=True``.
AUTO_FUSED_DTYPES = (torch.float32, torch.float64)


def fused_kernels_present() -> bool:
    """Whether this torch build has the fused Adam kernels (what ``fused=True`` is validated against)."""
    return torch_compat.fused_adam_present()


def fused_kernels_available() -> bool:
    """Whether the one-pass step runs: the kernels exist and take our call (checked once per process)."""
    return torch_compat.fused_adam_usable()


fused_supported_devices = torch_compat.fused_supported_devices
plain_tensor_types = torch_compat.foreach_tensor_types


def fused_eligible(device: torch.device, dtype: torch.dtype, *, auto: bool) -> bool:
    """Whether the fused kernel takes tensors of this device and dtype.

    ``auto`` (``fused=None``) also requires float32/float64, where the result is torch's.
    Whether it may run at all is :func:`fused_kernels_available`.
    """
    return (
        fused_kernels_present()
        and device.type in fused_supported_devices()
        and dtype in (AUTO_FUSED_DTYPES if auto else FUSED_DTYPES)
    )


def fused_supports(param: Tensor) -> bool:
    """Whether the fused kernel can update ``param`` (device, dtype, dense tensor type)."""
    return (
        type(param) in plain_tensor_types()
        and param.layout == torch.strided
        and fused_eligible(param.device, param.dtype, auto=False)
    )


class _Hyper(TypedDict):
    """The keyword arguments :func:`radam_fused` passes to the kernel step and to ``fallback``."""

    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    decoupled_weight_decay: bool
    threshold: float
    degenerated_to_sgd: bool
    maximize: bool
    rectification: Callable[[float], float] | None


def radam_fused(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    state_steps: list[Tensor],
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    threshold: float,
    degenerated_to_sgd: bool,
    maximize: bool,
    auto: bool,
    fallback: Callable[..., None],
    rectification: Callable[[float], float] | None = None,
) -> int:
    """Run the step; return how many tensors the fused kernel updated.

    ``fallback`` (the foreach or single-tensor step, same signature) takes the tensors
    whose step is not rectified, and whole (device, dtype) groups the kernel cannot take
    (with ``auto``: anything but float32/float64), and everything once the kernels are given up
    on (see :mod:`radam_integrations._compat.torch`).
    """
    if not params:
        return 0
    usable = fused_kernels_available()
    hyper: _Hyper = {
        "lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": weight_decay,
        "decoupled_weight_decay": decoupled_weight_decay, "threshold": threshold,
        "degenerated_to_sgd": degenerated_to_sgd, "maximize": maximize, "rectification": rectification,
    }  # fmt: skip
    fused_count = 0
    plain = plain_tensor_types()
    tensor_lists = [params, grads, exp_avgs, exp_avg_sqs, state_steps]
    grouped = torch_compat.group_by_device_and_dtype(tensor_lists)
    for (device, dtype), (tensors, _) in grouped.items():
        if (
            not usable
            or not fused_eligible(device, dtype, auto=auto)
            or not all(type(p) in plain for p in tensors[0])
        ):
            fallback(*tensors, **hyper, capturable=False)
            continue
        # One host read of the group's step counts (0-dim CPU tensors in torch's layout).
        counts = torch.stack(tensors[4]).tolist()
        first = counts[0]
        if all(c == first for c in counts):  # the usual case: one bucket, no list copies
            buckets = {first + 1: tensors}
        else:
            by_count: dict[float, list[int]] = defaultdict(list)
            for i, c in enumerate(counts):
                by_count[c + 1].append(i)
            buckets = {t: [[lst[i] for i in idx] for lst in tensors] for t, idx in by_count.items()}
        for t, bucket in buckets.items():
            rect = host_rectification(t, beta2, threshold) if rectification is None else rectification(t)
            # Not rectified: momentum-SGD (or no) step on the fallback path. A kernel that refuses
            # the call has touched nothing, so the fallback then does this bucket's whole step.
            if rect == 0.0 or not _fused_rectified_step(bucket, device, t, rect, **hyper):
                fallback(*bucket, **hyper, capturable=False)
                continue
            fused_count += len(bucket[0])
    return fused_count


def _fused_rectified_step(
    bucket: list[list[Tensor]],
    device: torch.device,
    t: float,
    rect: float,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    maximize: bool,
    **_: object,
) -> bool:
    """The bucket's step through the kernel; ``False`` (nothing touched) if the kernel cannot be called."""
    params, grads, exp_avgs, exp_avg_sqs, state_steps = bucket
    decoupled = decoupled_weight_decay and weight_decay != 0
    # The kernel derives its bias corrections from this count; one float32 scalar on the
    # parameters' device serves every tensor of the bucket (they share the count).
    count = torch.full((), t, dtype=torch.float32, device=device)
    done = torch_compat.fused_adam_step(
        params,
        grads,
        exp_avgs,
        exp_avg_sqs,
        count,
        lr=lr * rect,
        beta1=beta1,
        beta2=beta2,
        weight_decay=weight_decay / rect if decoupled else weight_decay,
        eps=eps / (1 - beta2**t) ** 0.5,
        maximize=maximize,
        decoupled=decoupled,
    )
    if done:
        increment_steps(state_steps)
    return done
