"""``radam_integrations.RAdam``: torch.optim.RAdam's numbers and state, the official switches."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch
from torch import Tensor
from torch.optim import Optimizer

from .._compat.torch import foreach_supported_devices
from ._foreach import radam_foreach
from ._fused import (
    FUSED_DTYPES,
    fused_eligible,
    fused_kernels_available,
    fused_supports,
    plain_tensor_types,
    radam_fused,
)
from ._rectify import MIN_RECTIFY_RHO, host_rectification
from ._single_tensor import radam_single_tensor

__all__ = ["RAdam", "SparseGradientError", "StepPath"]

#: The step implementations, as :meth:`RAdam.step_path` names them.
StepPath = Literal["single_tensor", "foreach", "fused"]

# Options torch.optim.RAdam does not have. Missing from a loaded state_dict (one saved by
# torch's optimizer), they are filled from this optimizer's own constructor arguments.
_EXTRA_GROUP_OPTIONS = ("threshold", "degenerated_to_sgd", "fused")


class SparseGradientError(TypeError, RuntimeError):
    """A parameter has a sparse gradient; RAdam has no sparse form.

    Subclasses both :class:`TypeError` (the gradient is of the wrong kind) and
    :class:`RuntimeError` (what ``torch.optim.RAdam`` raises), so either ``except`` works.
    """


def _scalar_dtype() -> torch.dtype:
    # As torch: the step counter is float64 only when the default dtype is float64.
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def _foreach_ok(params: list[Tensor]) -> bool:
    """Whether the multi-tensor path can take these parameters.

    torch's rule (devices with foreach kernels, plain tensors) plus the CPU: torch's
    foreach ops run there as loops of per-tensor kernels, which still beats a Python
    for-loop (1.7x at 1M parameters in benchmarks/optim_step.py) and gives the same
    numbers as ``torch.optim.RAdam(foreach=True)``.
    """
    supported = {*foreach_supported_devices(), "cpu"}
    plain = plain_tensor_types()
    return all(type(p) in plain and p.device.type in supported for p in params)


def _fallback_step(*tensors: list[Tensor], **kwargs: Any) -> None:
    """The step for what the one-pass kernel does not take (unrectified steps, other dtypes)."""
    impl = radam_foreach if _foreach_ok(tensors[0]) else radam_single_tensor
    impl(*tensors, **kwargs)


class RAdam(Optimizer):
    r"""Rectified Adam (Liu et al., ICLR 2020), a drop-in for :class:`torch.optim.RAdam`.

    With its defaults this optimizer produces ``torch.optim.RAdam``'s numbers and keeps
    the same state layout (per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``), so a
    ``state_dict`` saved by either optimizer loads into the other and training continues
    the same way. On top it offers the switches of the authors' implementation and a
    one-pass step.

    The update at step ``t`` (``rho_t``, ``r_t`` as in :mod:`radam_integrations.theory`)::

        m_t = b1 m + (1 - b1) g          v_t = b2 v + (1 - b2) g^2       m_hat = m_t / (1 - b1^t)
        rho_t > threshold:  theta -= lr * r_t * m_hat * sqrt(1 - b2^t) / (sqrt(v_t) + eps)
        otherwise:          theta -= lr * m_hat      (degenerated_to_sgd=True, torch's behaviour)
                            theta unchanged          (degenerated_to_sgd=False, the official default)

    Args:
        params: parameters or parameter groups (dicts), as for any torch optimizer.
        lr: learning rate (a float, or a 1-element tensor).
        betas: ``(beta1, beta2)`` decay rates of the first and second moment, each in ``[0, 1)``.
        eps: added to ``sqrt(v_t)`` in the denominator (not to ``v_hat``: torch's convention).
        weight_decay: decay coefficient. L2 (added to the gradient) unless
            ``decoupled_weight_decay``.
        decoupled_weight_decay: AdamW-style decay ``theta *= 1 - lr * weight_decay`` ("RAdamW").
            With ``degenerated_to_sgd=False`` it is applied only on steps that update the
            parameter, as in the official implementation.
        threshold: a step is rectified when ``rho_t > threshold``. 5 is torch's rule (first
            rectified step 6 for ``b2 = 0.999``), 4 the paper's (step 5). ``r_t`` only exists
            for ``rho_t > 4``, so values below 4 act as 4.
        degenerated_to_sgd: on unrectified steps take an SGD-with-momentum step
            (``True``, torch) or leave the parameters alone (``False``, the official code's
            default). The moments advance either way.
        maximize: maximize the objective instead of minimizing it.
        foreach: use the multi-tensor (``torch._foreach_*``) path. ``None`` picks it
            whenever every parameter lives on a device with foreach kernels.
        fused: use the one-pass step (see docs/optimizer.md, "Which step runs"). ``None`` picks it
            where it is available and gives the same numbers; ``True`` requires it.
        capturable: keep the step count on the parameters' device and avoid every host
            synchronisation and data-dependent branch (CUDA graphs, ``torch.compile``, XLA).
        differentiable: make the step differentiable (autograd records it, for higher-order
            optimization), as in ``torch.optim.RAdam``: the step then runs torch's own
            differentiable implementation (``torch.optim.radam.radam``), so it has torch's rule
            only: ``threshold=5``, ``degenerated_to_sgd=True``, no ``fused``.
        rectify: ``"theory"`` (the only value): ``r_t`` for Gaussian gradients, the paper's and
            torch's numbers. ``"measured"`` moved to the experimental package:
            ``radam_integrations.experimental.MeasuredRAdam`` (this keyword, and
            ``rectify_options``, say so for one release and then go).
        rectify_options: see ``rectify``.

    Subclasses may replace ``r_t`` through one hook, :meth:`rectification` (host step paths only).

    Invalid options raise what ``torch.optim.RAdam`` raises for them, with torch's message
    followed by an explanation (for example ``ValueError: Invalid learning rate: -0.001
    (lr must be >= 0)``).

    Example:
        >>> import torch
        >>> from radam_integrations import RAdam
        >>> model = torch.nn.Linear(4, 2)
        >>> opt = RAdam(model.parameters(), lr=1e-3, weight_decay=0.01, decoupled_weight_decay=True)
        >>> loss = model(torch.randn(8, 4)).pow(2).mean()
        >>> loss.backward()
        >>> opt.step()
        >>> sorted(opt.state[model.weight])
        ['exp_avg', 'exp_avg_sq', 'step']
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        threshold: float = 5.0,
        degenerated_to_sgd: bool = True,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        rectify: str = "theory",
        rectify_options: Any = None,
    ) -> None:
        _validate_hyperparameters(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, threshold=threshold)
        _check_rectify(rectify, rectify_options)
        _check_differentiable(differentiable, threshold, degenerated_to_sgd, fused)
        if foreach and fused:
            raise ValueError(
                "foreach=True and fused=True were both given: choose one step path "
                "(or leave both as None to let RAdam pick)"
            )
        if fused and capturable:
            raise ValueError(
                "fused=True cannot be combined with capturable=True: the one-pass step reads the step "
                "count on the host. Use capturable=True with fused=None (the foreach path then runs)."
            )
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
            "threshold": threshold,
            "degenerated_to_sgd": degenerated_to_sgd,
            "fused": fused,
        }
        super().__init__(params, defaults)
        if threshold < MIN_RECTIFY_RHO:
            warnings.warn(
                f"threshold={threshold} is below 4: r_t is only defined for rho_t > 4, so steps with "
                "rho_t <= 4 stay unrectified (threshold=4 is the paper's rule, 5 torch's).",
                stacklevel=2,
            )

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group; its options are validated like the constructor's."""
        _validate_hyperparameters(
            **{
                k: param_group[k]
                for k in ("lr", "betas", "eps", "weight_decay", "threshold")
                if k in param_group
            }
        )
        _check_differentiable(
            param_group.get("differentiable", self.defaults["differentiable"]),
            param_group.get("threshold", self.defaults["threshold"]),
            param_group.get("degenerated_to_sgd", self.defaults["degenerated_to_sgd"]),
            param_group.get("fused", self.defaults["fused"]),
        )
        super().add_param_group(param_group)
        if param_group.get("fused", self.defaults.get("fused")):
            _check_fused_supported(self.param_groups[-1]["params"])

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state.pop("rectify", None)  # pickled by 0.1.0.dev versions, which had rectify="measured"
        if state.pop("measured_rectification", None) is not None:
            raise ValueError(
                "this RAdam was pickled with rectify='measured', which moved to "
                "radam_integrations.experimental.MeasuredRAdam: build one and load the saved state_dict()"
            )
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("capturable", False)
            for key in _EXTRA_GROUP_OPTIONS:
                group.setdefault(key, self.defaults[key])
            for p in group["params"]:
                p_state = self.state.get(p, {})
                if len(p_state) != 0 and not torch.is_tensor(p_state["step"]):
                    step_val = float(p_state["step"])
                    device = p.device if group["capturable"] else None
                    p_state["step"] = torch.tensor(step_val, dtype=_scalar_dtype(), device=device)

    def _init_group(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        exp_avgs: list[Tensor],
        exp_avg_sqs: list[Tensor],
        state_steps: list[Tensor],
    ) -> None:
        all_state = self.state
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            if grad.is_sparse:
                raise SparseGradientError(
                    f"RAdam got a sparse gradient for a parameter of shape {tuple(p.shape)}; RAdam has no "
                    "sparse form. Use dense gradients (e.g. nn.Embedding(sparse=False)) "
                    "or torch.optim.SparseAdam."
                )
            state = all_state[p]
            if not state:
                state["step"] = (
                    torch.zeros((), dtype=_scalar_dtype(), device=p.device)
                    if group["capturable"]
                    else torch.tensor(0.0, dtype=_scalar_dtype())
                )
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            params.append(p)
            grads.append(grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            state_steps.append(state["step"])

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Perform one optimization step.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or ``None`` without a closure.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # As torch: autograd records the step only for a differentiable optimizer.
        with torch.set_grad_enabled(bool(self.defaults.get("differentiable", False))):
            for index, group in enumerate(self.param_groups):
                self._step_group(group, self.rectification(index))
        return loss

    def rectification(self, group_index: int) -> Callable[[float], float] | None:
        """The hook for another rectification: what replaces ``r_t`` in ``param_groups[group_index]``.

        Called once per group at every step, before the group's update. Return ``None`` (this
        class: ``r_t`` from theory) or a function of the step count ``t`` (a float, the count after
        this step's increment) giving the factor that replaces ``r_t``. It is called only for
        rectified steps (``rho_t > threshold``); unrectified steps stay as they are. The factor is
        read on the host, so a subclass that returns a function cannot take
        ``capturable=True`` or ``differentiable=True`` (a ``ValueError`` says so at the step).
        :class:`radam_integrations.experimental.MeasuredRAdam` is built on this hook.

        >>> import torch
        >>> class HalfRAdam(RAdam):
        ...     def rectification(self, group_index):
        ...         return lambda t: 0.5
        >>> p = torch.nn.Parameter(torch.ones(1))
        >>> opt = HalfRAdam([p], lr=0.1)
        >>> for _ in range(6):
        ...     p.grad = torch.ones(1)
        ...     opt.step()
        >>> round(1 - 5 * 0.1 - p.item(), 4)  # steps 1-5 unrectified (SGD, lr 0.1), step 6 at 0.5 lr
        0.05
        """
        return None

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load torch's (or our) optimizer state dict."""
        state_dict = dict(state_dict)
        if state_dict.pop("measured_rectification", None) is not None and type(self) is RAdam:
            warnings.warn(
                "the state_dict holds a measured rectification (saved by RAdam(rectify='measured') or "
                "MeasuredRAdam); RAdam ignores it: load it into "
                "radam_integrations.experimental.MeasuredRAdam to continue that run exactly",
                UserWarning,
                stacklevel=2,
            )
        super().load_state_dict(state_dict)

    def _step_group(
        self, group: dict[str, Any], rectification: Callable[[float], float] | None = None
    ) -> None:
        params: list[Tensor] = []
        grads: list[Tensor] = []
        exp_avgs: list[Tensor] = []
        exp_avg_sqs: list[Tensor] = []
        state_steps: list[Tensor] = []
        self._init_group(group, params, grads, exp_avgs, exp_avg_sqs, state_steps)
        if not params:
            return
        if rectification is not None and (group["capturable"] or group["differentiable"]):
            raise ValueError(
                f"{type(self).__name__}.rectification() replaces r_t on the host between steps: it cannot "
                "run with capturable=True or differentiable=True (use radam_integrations.RAdam there)"
            )
        if group["differentiable"]:
            # A group can still say so when it comes from a loaded state_dict: check the rule again.
            _check_differentiable(True, group["threshold"], group["degenerated_to_sgd"], group["fused"])
            _differentiable_step(group, params, grads, exp_avgs, exp_avg_sqs, state_steps)
            return
        beta1, beta2 = group["betas"]
        capturable = group["capturable"]
        lr = group["lr"]
        if isinstance(lr, Tensor):
            if not capturable:
                # Host paths read a tensor lr once per step (they synchronise on the step count anyway).
                lr = lr.item()
        else:
            lr = float(lr)  # numpy scalars and ints, as torch accepts them
        hyper = {
            "lr": lr,
            "beta1": float(beta1),
            "beta2": float(beta2),
            "eps": float(group["eps"]),
            "weight_decay": float(group["weight_decay"]),
            "decoupled_weight_decay": group["decoupled_weight_decay"],
            "threshold": group["threshold"],
            "degenerated_to_sgd": group["degenerated_to_sgd"],
            "maximize": group["maximize"],
        }
        if rectification is not None:
            hyper["rectification"] = _gated(rectification, hyper["beta2"], hyper["threshold"])
        path = self._select_path(group, params)
        tensors = (params, grads, exp_avgs, exp_avg_sqs, state_steps)
        if path == "fused":
            radam_fused(*tensors, **hyper, auto=not group["fused"], fallback=_fallback_step)
        elif path == "foreach":
            radam_foreach(*tensors, **hyper, capturable=capturable)
        else:
            radam_single_tensor(*tensors, **hyper, capturable=capturable)

    def _select_path(self, group: dict[str, Any], params: list[Tensor]) -> StepPath:
        """The one place that decides which step implementation runs for a group.

        * ``fused=True``: the one-pass step (unrectified steps still take the foreach path).
        * ``fused=None`` and ``foreach=None``: the one-pass step, unless capturable or
          compiling. It then runs the kernel for float32/float64 tensors on devices with
          fused Adam kernels, where it gives torch's numbers, and sends other (device,
          dtype) groups to the foreach path.
        * ``fused=False`` (or ``foreach`` given): ``foreach`` when requested, or when ``None``
          and every parameter is a plain tensor on the CPU or a device with foreach kernels;
          else the for-loop.
        """
        fused, foreach = group["fused"], group["foreach"]
        if fused:
            return "fused"
        if (
            fused is None
            and foreach is None
            and not group["capturable"]
            and not torch.compiler.is_compiling()
            and fused_kernels_available()
        ):
            return "fused"
        if foreach is None:
            foreach = torch.compiler.is_compiling() or _foreach_ok(params)
        return "foreach" if foreach else "single_tensor"

    def step_path(self, group_index: int = 0) -> StepPath:
        """Which step implementation the next rectified step of ``param_groups[group_index]`` uses.

        ``"fused"`` when the one-pass kernel updates at least one of the group's
        tensors; otherwise the path that does the work.

        >>> import torch
        >>> RAdam([torch.nn.Parameter(torch.ones(2))]).step_path()
        'fused'
        >>> RAdam([torch.nn.Parameter(torch.ones(2, dtype=torch.complex64))]).step_path()
        'foreach'
        """
        group = self.param_groups[group_index]
        params = [p for p in group["params"] if p.grad is not None] or list(group["params"])
        path = self._select_path(group, params)
        if path == "fused":
            plain = plain_tensor_types()
            # fused=None: the kernel has to take at least one tensor; either way it has to work.
            idle = not group["fused"] and not any(
                type(p) in plain and fused_eligible(p.device, p.dtype, auto=True) for p in params
            )
            if idle or not fused_kernels_available():
                return "foreach" if _foreach_ok(params) else "single_tensor"
        return path


def _gated(rule: Callable[[float], float], beta2: float, threshold: float) -> Callable[[float], float]:
    """``rule`` on rectified steps, 0 (unrectified) where ``rho_t <= threshold``."""

    def gated(t: float) -> float:
        return 0.0 if host_rectification(t, beta2, threshold) == 0.0 else rule(t)

    return gated


def _check_rectify(rectify: object, options: object) -> None:
    if rectify == "measured":
        raise ValueError(
            "RAdam(rectify='measured') moved to the experimental package: use "
            "radam_integrations.experimental.MeasuredRAdam(params, ..., config=rectify_options)"
        )
    if rectify != "theory":
        raise ValueError(
            f"rectify must be 'theory' (the measured one is experimental.MeasuredRAdam), got {rectify!r}"
        )
    if options:
        raise ValueError(
            "rectify_options are the measured rectification's options: "
            "pass them as radam_integrations.experimental.MeasuredRAdam(params, ..., config=...)"
        )


class _BetasLengthError(ValueError, IndexError):
    """``betas`` is not a pair. Both types: ours (a bad value) and torch's (it indexes ``betas[1]``)."""


def _is_real(value: object) -> bool:
    """A real number as torch's options take it: float, int, numpy scalar; not bool, not a tensor."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, Tensor))


def _validate_hyperparameters(
    *,
    lr: float | Tensor = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    threshold: float = 5.0,
) -> None:
    """Reject what ``torch.optim.RAdam`` rejects, with its exception types and wording.

    Each message starts with torch's text (so code matching torch's messages keeps working)
    and then says what is expected. Checks run in torch's order (lr, eps, betas,
    weight_decay). Values that torch rejects only through Python's own errors (strings,
    ``None``) or lets through by accident (bools, tensor betas/eps/weight_decay) get a
    ``TypeError`` naming the argument.
    """
    if isinstance(lr, Tensor):
        if lr.numel() != 1:
            raise ValueError(
                f"Tensor lr must be 1-element, got a tensor of shape {tuple(lr.shape)} "
                "(a tensor learning rate holds exactly one value)"
            )
        lr_value = float(lr.detach().reshape(()).item()) if lr.device.type != "meta" else 0.0
    elif _is_real(lr):
        lr_value = float(lr)
    else:
        raise TypeError(f"lr must be a float or a 1-element tensor, got {type(lr).__name__}")
    if not lr_value >= 0.0:
        raise ValueError(f"Invalid learning rate: {lr} (lr must be >= 0)")
    _check_non_negative("eps", eps, "Invalid epsilon value")
    if isinstance(betas, Tensor):
        raise TypeError("betas must be a pair of floats, got a tensor; tensor betas are not supported")
    try:
        n_betas = len(betas)
    except TypeError:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {type(betas).__name__}") from None
    if n_betas != 2:
        raise _BetasLengthError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for index in range(2):
        beta = betas[index]
        if isinstance(beta, Tensor):
            raise TypeError(f"betas[{index}] must be a float, got a tensor; tensor betas are not supported")
        if not _is_real(beta):
            raise TypeError(f"betas[{index}] must be a float, got {type(beta).__name__}")
        if not 0.0 <= beta < 1.0:
            raise ValueError(
                f"Invalid beta parameter at index {index}: {beta} (betas[{index}] must be in [0, 1))"
            )
    _check_non_negative("weight_decay", weight_decay, "Invalid weight_decay value")
    if not _is_real(threshold):
        raise TypeError(f"threshold must be a float, got {type(threshold).__name__}")
    if not math.isfinite(threshold) or threshold < 0:
        raise ValueError(
            f"threshold must be a finite number >= 0 (rectify when rho_t > threshold; 5 is torch's, "
            f"4 the paper's), got {threshold}"
        )


def _check_non_negative(name: str, value: object, torch_wording: str) -> None:
    if not _is_real(value):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if not value >= 0.0:  # type: ignore[operator]
        raise ValueError(f"{torch_wording}: {value} ({name} must be >= 0)")


def _check_differentiable(
    differentiable: object, threshold: float, degenerated_to_sgd: bool, fused: object
) -> None:
    """``differentiable=True`` runs torch's differentiable step, so only with torch's rule."""
    if not differentiable:
        return
    if threshold != 5.0 or not degenerated_to_sgd or fused:
        raise ValueError(
            "differentiable=True runs torch's own differentiable RAdam step, which has torch's rule only: "
            f"threshold=5, degenerated_to_sgd=True and no fused step (got threshold={threshold}, "
            f"degenerated_to_sgd={degenerated_to_sgd}, fused={fused})"
        )


def _differentiable_step(
    group: dict[str, Any],
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    state_steps: list[Tensor],
) -> None:
    """torch's functional RAdam with ``differentiable=True`` (public API, ``torch.optim.radam.radam``)."""
    from torch.optim.radam import radam

    beta1, beta2 = group["betas"]
    radam(
        params,
        grads,
        exp_avgs,
        exp_avg_sqs,
        state_steps,
        beta1=beta1,
        beta2=beta2,
        lr=group["lr"],
        weight_decay=group["weight_decay"],
        eps=group["eps"],
        maximize=group["maximize"],
        foreach=group["foreach"],
        capturable=group["capturable"],
        differentiable=True,
        decoupled_weight_decay=group["decoupled_weight_decay"],
        has_complex=any(torch.is_complex(p) for p in params),
    )


def _check_fused_supported(params: Iterable[Tensor]) -> None:
    for p in params:
        if not fused_supports(p):
            from ._fused import fused_kernels_present, fused_supported_devices

            if not fused_kernels_present():
                raise ValueError(
                    f"fused=True needs torch's fused Adam kernels, which torch {torch.__version__} lacks; "
                    "pass fused=None to use the foreach step."
                )
            raise ValueError(
                f"fused=True needs floating-point (not complex) parameters of dtype "
                f"{', '.join(str(d).replace('torch.', '') for d in FUSED_DTYPES)} on one of "
                f"{sorted(set(fused_supported_devices()))}; got a {p.dtype} parameter on {p.device.type}. "
                "Pass fused=None to fall back automatically."
            )
