"""torch internals: the fused Adam kernels and the helpers torch's own optimizers step with.

Checked on torch 2.4.0 (the floor) and 2.14.1. Public routes do not do these jobs: torch's
optimizers are classes, and the functional step paths they use are private modules.

1. ``torch._fused_adam_`` / ``torch._fused_adamw_`` (:func:`fused_adam_step`): the one-pass Adam(W)
   kernels behind ``torch.optim.Adam(fused=True)``, called with the keyword signature below. The
   public ``torch.optim.adam.adam(..., fused=True)`` cannot take RAdam's per-step ``lr'``/``eps'``
   with our step counts (it increments the counts itself and computes its own bias corrections).
   Guard: the first time the one-pass step is considered (:func:`fused_adam_usable`) both kernels
   run once on three float64 CPU elements and must give Adam's numbers; at every call a
   ``TypeError`` is caught as well. Either failure switches the process to the foreach step for
   good, with one ``RuntimeWarning``. A ``TypeError`` from a changed signature comes from
   torch's Python argument parser (``PythonArgParser::parse``), which runs before the operator is
   dispatched, so no tensor has been touched and the caller's foreach step does the whole step
   exactly once. Other errors (out of memory, a bad device) are not taken for a signature change
   and propagate as torch raises them.
2. ``Optimizer._group_tensors_by_device_and_dtype`` (:func:`group_by_device_and_dtype`): the static
   method every multi-tensor optimizer of torch splits its tensor lists with (C++ grouping, and a
   pass-through while compiling). Without it a Python grouping with the same result is used:
   grouping only decides which tensors share a kernel launch, so the numbers are the same.
3. ``torch.utils._foreach_utils._get_foreach_kernels_supported_devices`` and
   ``_get_fused_kernels_supported_devices`` (:func:`foreach_supported_devices`,
   :func:`fused_supported_devices`): torch's own lists of device types with multi-tensor and fused
   optimizer kernels (they include the renamed ``privateuse1`` backend). Without them: foreach on
   ``cuda``/``xpu`` (torch 2.4's list) and no fused step.
4. ``torch.optim.optimizer._foreach_supported_types`` (:func:`foreach_tensor_types`): the tensor
   types torch's multi-tensor paths accept; ``torch.distributed.tensor`` appends ``DTensor`` to it
   when imported. Without it: ``Tensor`` and ``Parameter``.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "FUSED_KERNELS",
    "foreach_supported_devices",
    "foreach_tensor_types",
    "fused_adam_present",
    "fused_adam_step",
    "fused_adam_usable",
    "fused_supported_devices",
    "group_by_device_and_dtype",
]

#: The fused kernel for ``decoupled`` weight decay: Adam (L2 in the gradient) or AdamW.
FUSED_KERNELS = {False: "_fused_adam_", True: "_fused_adamw_"}
#: What :func:`foreach_supported_devices` answers when torch no longer has its list (torch 2.4's).
FALLBACK_FOREACH_DEVICES = ("cuda", "xpu")

# The kernels as torch defined them when this module was imported, for the one-time check: a
# wrapper installed later (a test counting kernel calls, a profiler) sees only real steps.
_PROBE_KERNELS: dict[bool, Callable[..., Any] | None] = {
    decoupled: getattr(torch, name, None) for decoupled, name in FUSED_KERNELS.items()
}


@dataclass
class _FusedState:
    usable: bool | None = None  # None: not checked yet
    warned: bool = False


_fused_state = _FusedState()


def fused_adam_present() -> bool:
    """Whether this torch build has both fused Adam entry points (not whether they take our call)."""
    return all(hasattr(torch, name) for name in FUSED_KERNELS.values())


def fused_adam_usable() -> bool:
    """Whether the one-pass step may run: the kernels exist, passed the one-time check and never failed.

    The check runs on the first call in the process (two kernel calls on three CPU elements);
    a failure warns once and makes this ``False`` for good.
    """
    state = _fused_state
    if state.usable is None:
        state.usable = fused_adam_present()
        if state.usable and "cpu" in fused_supported_devices():
            problem = _probe()
            if problem is not None:
                _give_up(problem)
    return bool(state.usable)


def fused_adam_step(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    count: Tensor,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
    decoupled: bool,
) -> bool:
    """One Adam(W) step of torch's fused kernel; ``False`` (nothing touched) when it cannot be called.

    ``count`` is the step number every tensor is at (one float32 scalar on their device); the
    kernel reads it for the bias corrections and does not change it. ``False`` when the kernels
    were given up on, or when the kernel refuses these arguments (a ``TypeError``: torch changed
    its signature), which gives them up for the process (one warning): the caller then runs
    the whole step on its fallback path.
    """
    if _fused_state.usable is False:
        return False
    kernel = getattr(torch, FUSED_KERNELS[decoupled], None)
    if kernel is None:
        _give_up(f"torch {torch.__version__} has no torch.{FUSED_KERNELS[decoupled]}")
        return False
    try:
        _call(
            kernel, params, grads, exp_avgs, exp_avg_sqs, count, lr, beta1, beta2, weight_decay, eps, maximize
        )
    except TypeError as err:
        _give_up(f"torch.{FUSED_KERNELS[decoupled]} refused the call ({err})")
        return False
    return True


def _call(
    kernel: Callable[..., Any],
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    count: Tensor,
    lr: float,
    beta1: float,
    beta2: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
) -> None:
    """The call as checked: no AMSGrad (empty ``max_exp_avg_sqs``), one shared step-count tensor."""
    kernel(
        params,
        grads,
        exp_avgs,
        exp_avg_sqs,
        [],
        [count] * len(params),
        amsgrad=False,
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        weight_decay=weight_decay,
        eps=eps,
        maximize=maximize,
    )


def _give_up(reason: str) -> None:
    state = _fused_state
    state.usable = False
    if state.warned:
        return
    state.warned = True
    warnings.warn(
        f"radam_integrations: {reason}. RAdam's one-pass step is off for the rest of this process; "
        "the foreach step runs instead (torch.optim.RAdam(foreach=True)'s numbers, somewhat slower). "
        "radam_integrations._compat.torch needs updating for this torch version.",
        RuntimeWarning,
        stacklevel=2,
    )


# ---------------------------------------------------------------------- the one-time check
_P = (1.0, -2.0, 0.5)
_G = (0.3, -0.1, 0.0)
_M = (0.1, 0.2, -0.05)
_V = (0.01, 0.04, 0.0025)
_HYPER = {"lr": 0.01, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.1, "eps": 1e-3}  # and maximize=False
_STEP = 3.0


def _adam_reference(decoupled: bool) -> tuple[list[float], list[float], list[float]]:
    """Adam(W) at step ``_STEP`` from (``_M``, ``_V``), in Python floats: (param, exp_avg, exp_avg_sq)."""
    lr, b1, b2, wd, eps = (_HYPER[k] for k in ("lr", "beta1", "beta2", "weight_decay", "eps"))
    bc1, bc2 = 1 - b1**_STEP, 1 - b2**_STEP
    out: tuple[list[float], list[float], list[float]] = ([], [], [])
    for p, g, m, v in zip(_P, _G, _M, _V):
        if decoupled:
            p *= 1 - lr * wd
        else:
            g += wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p -= lr / bc1 * m / (math.sqrt(v) / math.sqrt(bc2) + eps)
        for column, value in zip(out, (p, m, v)):
            column.append(value)
    return out


def _probe() -> str | None:
    """Run both kernels on three float64 CPU elements; what is wrong, or ``None``."""
    for decoupled, name in FUSED_KERNELS.items():
        kernel = _PROBE_KERNELS[decoupled]
        if kernel is None:
            return f"torch {torch.__version__} has no torch.{name}"
        tensors = [torch.tensor(values, dtype=torch.float64, device="cpu") for values in (_P, _G, _M, _V)]
        params, grads, exp_avgs, exp_avg_sqs = ([t] for t in tensors)
        count = torch.full((), _STEP, dtype=torch.float32, device="cpu")
        try:
            _call(kernel, params, grads, exp_avgs, exp_avg_sqs, count, maximize=False, **_HYPER)
        except Exception as err:  # any failure on this tiny valid input means the kernel changed
            return f"torch.{name} refused the call RAdam's one-pass step makes ({type(err).__name__}: {err})"
        want = _adam_reference(decoupled)
        got = (tensors[0].tolist(), tensors[2].tolist(), tensors[3].tolist())
        for got_column, want_column in zip(got, want):
            if not all(
                math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(got_column, want_column)
            ):
                return (
                    f"torch.{name} no longer computes Adam's step for the arguments RAdam's one-pass "
                    f"step passes (got {got}, expected {want})"
                )
    return None


# ---------------------------------------------------------------------- multi-tensor helpers
def group_by_device_and_dtype(
    tensorlistlist: list[list[Tensor]],
) -> dict[Any, tuple[list[list[Tensor]], list[int]]]:
    """``{(device, dtype): (tensorlistlist restricted to that group, indices)}``, keyed by the first list.

    torch's own grouping (``Optimizer._group_tensors_by_device_and_dtype``) where it exists.
    """
    grouper = getattr(torch.optim.Optimizer, "_group_tensors_by_device_and_dtype", None)
    if grouper is None:
        return _group_in_python(tensorlistlist)
    return grouper(tensorlistlist)


def _group_in_python(tensorlistlist: list[list[Tensor]]) -> dict[Any, tuple[list[list[Tensor]], list[int]]]:
    groups: dict[Any, tuple[list[list[Tensor]], list[int]]] = {}
    for i, first in enumerate(tensorlistlist[0]):
        lists, indices = groups.setdefault((first.device, first.dtype), ([[] for _ in tensorlistlist], []))
        for out, source in zip(lists, tensorlistlist):
            out.append(source[i])
        indices.append(i)
    return groups


def foreach_supported_devices() -> list[str]:
    """Device types with torch's multi-tensor (foreach) kernels (the CPU is not among them)."""
    try:
        from torch.utils._foreach_utils import _get_foreach_kernels_supported_devices as devices
    except ImportError:  # pragma: no cover - a torch that moved it
        return list(FALLBACK_FOREACH_DEVICES)
    return list(devices())


@functools.cache
def fused_supported_devices() -> frozenset[str]:
    """Device types with torch's fused optimizer kernels (empty when torch no longer says)."""
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices as devices
    except ImportError:  # pragma: no cover - a torch that moved it
        return frozenset()
    return frozenset(devices())


def foreach_tensor_types() -> tuple[type, ...]:
    """Tensor types torch's multi-tensor kernels take (Tensor, Parameter, and DTensor once imported)."""
    try:
        from torch.optim.optimizer import _foreach_supported_types as types
    except ImportError:  # pragma: no cover - a torch that moved it
        return (Tensor, torch.nn.Parameter)
    return tuple(types)
