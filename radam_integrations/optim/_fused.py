"""The one-pass RAdam step, through torch's fused multi-tensor Adam kernels.

A rectified RAdam step is exactly an Adam step with rescaled hyperparameters::

    RAdam:  theta -= lr * r_t / (1 - b1^t) * m * sqrt(1 - b2^t) / (sqrt(v) + eps)
    Adam:   theta -= lr' / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps')
    with    lr' = lr * r_t,   eps' = eps / sqrt(1 - b2^t)
    and, for decoupled decay (theta *= 1 - lr' wd'),   wd' = wd / r_t   (so lr' wd' = lr wd)

L2 decay (``g += wd * theta``) does not involve ``lr`` and is passed unchanged. torch's
``_fused_adam_`` / ``_fused_adamw_`` kernels read, update and write every tensor once
(param, grad, exp_avg, exp_avg_sq: 28 bytes per float32 element), on CPU and CUDA.

Because ``lr'`` and ``eps'`` depend on the step count, tensors are grouped by (device,
dtype, step count); usually all share one count and there is one kernel call per
device and dtype. Unrectified steps (the first few) go to the foreach path, which also
advances their step counts.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable

import torch
from torch import Tensor
from torch.optim import Optimizer

from ._foreach import increment_steps
from ._rectify import host_rectification

#: Parameter dtypes the fused Adam kernels accept.
FUSED_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)

#: dtypes for which ``fused=None`` picks the one-pass step. For float16/bfloat16 the fused
#: kernel computes in float32 internally, which is more accurate than (so not the same
#: numbers as) torch's step in half precision: those need an explicit ``fused=True``.
AUTO_FUSED_DTYPES = (torch.float32, torch.float64)


def fused_kernels_available() -> bool:
    """Whether this torch build has the private fused Adam entry points."""
    return hasattr(torch, "_fused_adam_") and hasattr(torch, "_fused_adamw_")


@functools.cache
def fused_supported_devices() -> frozenset[str]:
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices
    except ImportError:  # pragma: no cover - very old or very new torch
        return frozenset()
    return frozenset(_get_fused_kernels_supported_devices())


def plain_tensor_types() -> tuple[type, ...]:
    """Tensor types torch's multi-tensor kernels take (Tensor, Parameter, and DTensor once imported)."""
    try:
        from torch.optim.optimizer import _foreach_supported_types
    except ImportError:  # pragma: no cover
        return (Tensor, torch.nn.Parameter)
    return tuple(_foreach_supported_types)


def fused_eligible(device: torch.device, dtype: torch.dtype, *, auto: bool) -> bool:
    """Whether the fused kernel runs for tensors of this device and dtype.

    ``auto`` (``fused=None``) also requires float32/float64, where the result is torch's.
    """
    return (
        fused_kernels_available()
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
) -> int:
    """Run the step; return how many tensors the fused kernel updated.

    ``fallback`` (the foreach or single-tensor step, same signature) takes the tensors
    whose step is not rectified, and whole (device, dtype) groups the kernel cannot take
    (with ``auto``: anything but float32/float64).
    """
    if not params:
        return 0
    hyper = {
        "lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": weight_decay,
        "decoupled_weight_decay": decoupled_weight_decay, "threshold": threshold,
        "degenerated_to_sgd": degenerated_to_sgd, "maximize": maximize,
    }  # fmt: skip
    fused_count = 0
    plain = plain_tensor_types()
    tensor_lists = [params, grads, exp_avgs, exp_avg_sqs, state_steps]
    grouped = Optimizer._group_tensors_by_device_and_dtype(tensor_lists)
    for (device, dtype), (tensors, _) in grouped.items():
        if not fused_eligible(device, dtype, auto=auto) or not all(type(p) in plain for p in tensors[0]):
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
            rect = host_rectification(t, beta2, threshold)
            if rect == 0.0:  # not rectified: momentum-SGD (or no) step on the fallback path
                fallback(*bucket, **hyper, capturable=False)
                continue
            _fused_rectified_step(bucket, device, t, rect, **hyper)
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
) -> None:
    params, grads, exp_avgs, exp_avg_sqs, state_steps = bucket
    decoupled = decoupled_weight_decay and weight_decay != 0
    kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
    # The kernel derives its bias corrections from this count; one float32 scalar on the
    # parameters' device serves every tensor of the bucket (they share the count).
    count = torch.full((), t, dtype=torch.float32, device=device)
    kernel(
        params,
        grads,
        exp_avgs,
        exp_avg_sqs,
        [],
        [count] * len(params),
        amsgrad=False,
        lr=lr * rect,
        beta1=beta1,
        beta2=beta2,
        weight_decay=weight_decay / rect if decoupled else weight_decay,
        eps=eps / (1 - beta2**t) ** 0.5,
        maximize=maximize,
    )
    increment_steps(state_steps)
