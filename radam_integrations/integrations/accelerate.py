"""Accelerate: the warmup detector in an ``Accelerator`` loop, the DeepSpeed optimizer check, RAdam options.

Three helpers for a plain Accelerate training loop; none of them imports ``accelerate`` before it is used:

* :class:`AccelerateWarmupDetector` runs the :class:`~radam_integrations.WarmupDetector` on every rank,
  logs through ``accelerator.log`` on the main process and is saved and restored by
  ``accelerator.save_state`` / ``load_state``.
* :func:`predict_optimizer_swap` (before ``prepare``) and :func:`check_optimizer_kept` (after it) catch
  DeepSpeed's optimizer offload replacing RAdam with ``DeepSpeedCPUAdam``, which is plain Adam.
* :func:`radam_kwargs_for` gives the RAdam step options that suit the accelerator's device.

Example (one process; launch the same script with ``accelerate launch`` for several)::

    from accelerate import Accelerator
    from radam_integrations import RAdam
    from radam_integrations.integrations.accelerate import (
        AccelerateWarmupDetector, check_optimizer_kept, radam_kwargs_for,
    )

    accelerator = Accelerator(log_with="tensorboard", project_dir="runs/demo")
    optimizer = RAdam(model.parameters(), lr=1e-3, **radam_kwargs_for(accelerator))
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    check_optimizer_kept(accelerator, optimizer)          # DeepSpeed offload would swap RAdam for Adam
    accelerator.init_trackers("demo")
    detector = AccelerateWarmupDetector(accelerator, optimizer)
    for x, y in loader:
        accelerator.backward(loss_fn(model(x), y))
        optimizer.step()
        optimizer.zero_grad()
        detector.update()                                 # every rank; logs on the main process
    accelerator.save_state("runs/demo/checkpoint")        # includes the detector
    detector.finish("runs/demo")                          # summary; warmup_history.json + .png
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch

from .._compat import accelerate as accelerate_compat
from .._compat.accelerate import DEEPSPEED_CPU_OPTIMIZERS
from .._console import say
from ..warmup import MetricChoice, WarmupDetector, check_metric_choice, select_metrics, unwrap_optimizer
from ..warmup.outputs import write_outputs
from ..warmup.unwrap import wrapper_chain

if TYPE_CHECKING:  # annotations only: importing this module does not import accelerate
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, PartialState
    from accelerate.utils import DeepSpeedPlugin

__all__ = [
    "AccelerateWarmupDetector",
    "OptimizerSwappedError",
    "OptimizerSwappedWarning",
    "check_optimizer_kept",
    "predict_optimizer_swap",
    "radam_kwargs_for",
]

_KEEP_RADAM = (
    'To keep RAdam, add "zero_force_ds_cpu_optimizer": false at the top level of the DeepSpeed config: '
    "Accelerate then passes your optimizer through and DeepSpeed steps it on the offloaded fp32 CPU "
    "partitions (DeepSpeed's own caveat: a client optimizer there can be slower than the vectorised C++ "
    "DeepSpeedCPUAdam, so time a few steps), or do not offload the optimizer."
)


class OptimizerSwappedError(RuntimeError):
    """The optimizer that steps after ``accelerator.prepare`` is not the one you built."""


class OptimizerSwappedWarning(UserWarning):
    """Warning form of :class:`OptimizerSwappedError` (``check_optimizer_kept(..., on_swap="warn")``)."""


# ---------------------------------------------------------------------- RAdam options per device
def radam_kwargs_for(
    target: Accelerator | AcceleratorState | PartialState | torch.device | str,
) -> dict[str, Any]:
    """RAdam's step options for where ``target`` trains: ``RAdam(params, lr=..., **radam_kwargs_for(acc))``.

    ``target`` is an ``Accelerator`` (or ``AcceleratorState`` / ``PartialState``), a ``torch.device`` or a
    device string. The choice:

    * XLA (``DistributedType.XLA`` or an ``xla`` device: TPUs, torch_xla on GPU/CPU):
      ``capturable=True, foreach=False``. XLA traces the step into a graph. Without ``capturable`` the
      step reads the step count on the host and branches on ``rho_t > threshold``, so every step syncs
      and the graph changes (XLA recompiles) at the switch to rectified steps; ``capturable`` keeps the
      count on the device and computes ``r_t`` without a branch: one graph for the whole run. Capturable
      multi-tensor steps are not supported on XLA (torch's own RAdam refuses them), hence the per-tensor
      loop, which costs nothing extra once XLA has traced it into the graph.
    * Everywhere else (CPU, CUDA, MPS, XPU, ..., also under DDP, FSDP and DeepSpeed):
      ``foreach=None, fused=None, capturable=False``, RAdam's own choice: the one-pass step through
      torch's fused Adam kernels for float32/float64 parameters on devices that have them (CPU, CUDA,
      MPS, XPU), the multi-tensor step otherwise. Half-precision parameters take the multi-tensor step
      unless you ask for ``fused=True`` (see docs/optimizer.md, "Which step runs").

    Example:
        >>> radam_kwargs_for("cpu")
        {'foreach': None, 'fused': None, 'capturable': False}
        >>> radam_kwargs_for("xla")
        {'foreach': False, 'fused': None, 'capturable': True}
    """
    device_type, distributed_type = _where(target)
    if device_type == "xla" or distributed_type == "XLA":
        return {"foreach": False, "fused": None, "capturable": True}
    return {"foreach": None, "fused": None, "capturable": False}


def _where(target: Any) -> tuple[str, str]:
    """``(device type, distributed type name)`` of an accelerator, a state, a device or a device string."""
    if isinstance(target, (str, torch.device)):
        return torch.device(target).type, ""
    device = getattr(target, "device", None)
    if device is None:
        raise TypeError(
            "radam_kwargs_for needs an Accelerator (or AcceleratorState), a torch.device or a device string "
            f"such as 'cuda'; got {type(target).__name__}, which has no .device"
        )
    distributed_type = getattr(target, "distributed_type", "")
    return torch.device(device).type, str(getattr(distributed_type, "value", distributed_type) or "")


# ---------------------------------------------------------------------- DeepSpeed: was RAdam kept?
def predict_optimizer_swap(
    source: Accelerator | AcceleratorState | DeepSpeedPlugin | dict[str, Any] | str | os.PathLike[str],
) -> str | None:
    """Before ``accelerator.prepare``: why DeepSpeed will not step your optimizer, or ``None`` if it will.

    ``source`` is an ``Accelerator`` (or ``AcceleratorState``), a ``DeepSpeedPlugin``, a DeepSpeed config
    dict or the path of a DeepSpeed JSON config. Without DeepSpeed the answer is ``None``. It mirrors
    Accelerate's own rules: a config with an ``"optimizer"`` block builds DeepSpeed's optimizer (and
    ``prepare`` refuses a real one), and an offloaded optimizer
    (``zero_optimization.offload_optimizer.device`` other than ``"none"``) with
    ``zero_force_ds_cpu_optimizer`` true (the default) is replaced by ``DeepSpeedCPUAdam``.

    Example:
        >>> predict_optimizer_swap({"zero_optimization": {"stage": 2}}) is None
        True
        >>> offload = {"zero_optimization": {"stage": 2, "offload_optimizer": {"device": "cpu"}}}
        >>> print(predict_optimizer_swap(offload).split(":")[0])
        DeepSpeed will step DeepSpeedCPUAdam instead of your optimizer
        >>> predict_optimizer_swap({**offload, "zero_force_ds_cpu_optimizer": False}) is None
        True
    """
    config = _deepspeed_config(source)
    if config is None:
        return None
    if "optimizer" in config:
        kind = (config.get("optimizer") or {}).get("type", "?")
        return (
            f'the DeepSpeed config has an "optimizer" block (type {kind!r}): DeepSpeed builds that optimizer '
            "itself and accelerator.prepare only accepts accelerate.utils.DummyOptim with it. Remove the "
            '"optimizer" block to train with RAdam.'
        )
    device = _offload_device(config)
    if accelerate_compat.swaps_client_optimizer(config):  # Accelerate's own rule, see _compat
        return (
            f"DeepSpeed will step DeepSpeedCPUAdam instead of your optimizer: {_offload_explanation(device)} "
            f"{_KEEP_RADAM}"
        )
    return None


def check_optimizer_kept(
    accelerator: Accelerator,
    optimizer: torch.optim.Optimizer,
    *,
    expected: type | tuple[type, ...] | None = None,
    on_swap: Literal["raise", "warn"] = "raise",
) -> torch.optim.Optimizer:
    """After ``accelerator.prepare``: check that the optimizer that steps is still ``expected``.

    ``optimizer`` is what ``prepare`` returned (the raw optimizer works too when Accelerate wrapped it
    without replacing it). The wrappers (Accelerate's, DeepSpeed's ZeRO optimizer, ...) are unwrapped to
    the optimizer that updates the parameters. When that one is not an instance of ``expected`` (default:
    ``radam_integrations.RAdam`` or ``torch.optim.RAdam``) this raises :class:`OptimizerSwappedError`
    (``on_swap="raise"``) or warns with :class:`OptimizerSwappedWarning` (``on_swap="warn"``), saying what
    replaced it and how to keep yours. The usual culprit is DeepSpeed's optimizer offload, where Accelerate
    maps any optimizer to ``DeepSpeedCPUAdam``: Adam with lr and weight decay, without RAdam's
    rectification, betas or eps.

    Returns:
        The optimizer that steps (the innermost one).

    Example (the tests run it)::

        model, optimizer = accelerator.prepare(model, RAdam(model.parameters(), lr=1e-3))
        check_optimizer_kept(accelerator, optimizer)   # OptimizerSwappedError under offload + the default
    """
    if on_swap not in ("raise", "warn"):
        raise ValueError(f'on_swap must be "raise" or "warn", got {on_swap!r}')
    inner, _ = unwrap_optimizer(optimizer)
    classes = _expected_classes(expected)
    if isinstance(inner, classes):
        return inner
    message = _swap_message(accelerator, optimizer, inner, classes)
    if on_swap == "raise":
        raise OptimizerSwappedError(message)
    warnings.warn(message, OptimizerSwappedWarning, stacklevel=2)
    return inner


def _expected_classes(expected: type | tuple[type, ...] | None) -> tuple[type, ...]:
    if expected is None:
        from ..optim import RAdam

        return (RAdam, torch.optim.RAdam)
    classes = expected if isinstance(expected, tuple) else (expected,)
    if not classes or not all(isinstance(c, type) for c in classes):
        raise TypeError(f"expected must be an optimizer class or a tuple of classes, got {expected!r}")
    return classes


def _swap_message(accelerator: Any, optimizer: Any, inner: Any, classes: tuple[type, ...]) -> str:
    wanted = " or ".join(f"{c.__module__}.{c.__qualname__}" for c in classes)
    chain = " -> ".join(type(o).__name__ for o in wrapper_chain(optimizer))
    head = (
        f"the optimizer that steps after accelerator.prepare is {type(inner).__name__} ({chain}), "
        f"not {wanted}"
    )
    if type(inner).__name__ in DEEPSPEED_CPU_OPTIMIZERS:
        config = _deepspeed_config(accelerator)
        device = None if config is None else _offload_device(config)
        return f"{head}: {_offload_explanation(device)} {_KEEP_RADAM}"
    return (
        f"{head}. Something between your code and the step replaced it (a DeepSpeed config "
        '"optimizer" block, a plugin, or a different optimizer passed to prepare); build the expected '
        "optimizer and pass it to accelerator.prepare, or pass expected= the class you meant."
    )


def _offload_explanation(device: str | None) -> str:
    where = "" if device is None else f" (zero_optimization.offload_optimizer.device={device!r})"
    return (
        f'the DeepSpeed config offloads the optimizer{where} and "zero_force_ds_cpu_optimizer" is '
        "true (its default), so Accelerate maps the client optimizer to DeepSpeedCPUAdam "
        "(accelerate.utils.deepspeed.map_pytorch_optim_to_deepspeed). That is plain Adam with L2 weight "
        "decay (AdamW mode only for torch.optim.AdamW): it keeps lr and weight_decay and drops betas, eps, "
        "RAdam's rectification and decoupled weight decay."
    )


def _offload_device(config: dict[str, Any]) -> str:
    """Where the config offloads the optimizer to, ``"none"`` when it does not (Accelerate's reading)."""
    return accelerate_compat.offload_device(config)


def _deepspeed_config(source: Any) -> dict[str, Any] | None:
    """The DeepSpeed config dict of an accelerator/state/plugin/dict/path; ``None`` without DeepSpeed."""
    if isinstance(source, dict):
        return source
    if isinstance(source, (str, os.PathLike)):
        try:
            return json.loads(Path(source).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"cannot read the DeepSpeed config {str(source)!r}: {err}") from err
    if hasattr(source, "deepspeed_config"):  # DeepSpeedPlugin
        return source.deepspeed_config
    if hasattr(source, "deepspeed_plugin"):  # Accelerator, AcceleratorState
        plugin = source.deepspeed_plugin
        return None if plugin is None else plugin.deepspeed_config
    if hasattr(source, "state") and hasattr(source.state, "deepspeed_plugin"):
        return _deepspeed_config(source.state)
    raise TypeError(
        "expected an Accelerator, an AcceleratorState, a DeepSpeedPlugin, a DeepSpeed config dict or a JSON "
        f"path; got {type(source).__name__}"
    )


# ---------------------------------------------------------------------- the detector in an Accelerate loop
class AccelerateWarmupDetector:
    """The warmup detector for an Accelerate loop: computes on every rank, logs on the main process.

    Call :meth:`update` after every ``optimizer.step()``, on every rank (with sharded optimizer state
    the ranks sum their statistics in one collective). When an evaluation is due it returns all the
    metrics (``warmup/<Optimizer>/<group>/<metric>``, see :class:`~radam_integrations.WarmupDetector`)
    on every rank and sends those ``metrics`` selects (default: the compact set, see
    :mod:`radam_integrations.warmup.selection`) to ``accelerator.log`` on the main process, at the
    optimizer's step count. Without a tracker ``accelerator.log`` drops them, so the detector warns
    once: configure ``Accelerator(log_with=..., project_dir=...)`` and ``init_trackers``.

    It registers itself with ``accelerator.register_for_checkpointing``, so ``save_state`` /
    ``load_state`` keep the detection (settled step, counters, history, sample memory). Accelerate calls
    ``state_dict()`` on every rank but writes the main process's copy only, which every rank then loads;
    so :meth:`state_dict` gathers every rank's sample memory (a collective when the state is sharded) and
    each rank picks its own on load. Call ``accelerator.wait_for_everyone()`` between a ``save_state`` and
    a ``load_state`` of the same directory in one run.

    ``optimizer`` may be the one ``accelerator.prepare`` returned or the raw one, created before or after
    ``prepare``: on first use the detector finds the prepared wrapper of a raw optimizer (that is where
    DeepSpeed ZeRO keeps the shard layout), and raises :class:`OptimizerSwappedError` if DeepSpeed
    replaced it.

    Args:
        accelerator: the ``accelerate.Accelerator``.
        optimizer: the optimizer to watch (prepared or raw).
        log: send the metrics to ``accelerator.log`` (its trackers; a warning once without any).
        metrics: ``"compact"`` (default), ``"all"`` or a list of metric names to log.
        register: register with ``accelerator.register_for_checkpointing``. Registration order fixes the
            ``custom_checkpoint_<i>.pkl`` file, so register in the same order when resuming.
        **detector_kwargs: :class:`~radam_integrations.WarmupDetector` options (``every``, ``tol``,
            ``hold``, ``sample_size``, ``name``, ``sharded``, ...).

    Example (the tests run it; a doctest would leave Accelerate's process-wide state behind)::

        accelerator = Accelerator()
        model = torch.nn.Linear(8, 1)
        model, optimizer = accelerator.prepare(model, RAdam(model.parameters(), lr=1e-2))
        detector = AccelerateWarmupDetector(accelerator, optimizer, every=5, log=False)  # no tracker here
        for _ in range(20):
            accelerator.backward(model(torch.randn(16, 8)).pow(2).mean())
            optimizer.step()
            optimizer.zero_grad()
            metrics = detector.update()       # a dict at steps 1, 2, 4, 8, 10, 15, 20
        assert detector.evaluations == 7
        detector.finish("runs/example")       # summary; warmup_history.json, warmup_history.png
    """

    def __init__(
        self,
        accelerator: Accelerator,
        optimizer: torch.optim.Optimizer,
        *,
        log: bool = True,
        metrics: MetricChoice = "compact",
        register: bool = True,
        **detector_kwargs: Any,
    ) -> None:
        self.accelerator = accelerator
        self.log = log
        self.metrics = check_metric_choice(metrics, "AccelerateWarmupDetector")
        self._warned_no_tracker = False
        self._detector_kwargs = detector_kwargs
        self.detector = WarmupDetector(optimizer, **detector_kwargs)  # validates the options now
        self._bound = _is_accelerated(optimizer)
        if register:
            accelerator.register_for_checkpointing(self)

    # ------------------------------------------------------------------ the loop
    def update(self, step: int | None = None) -> dict[str, float] | None:
        """Call on every rank after ``optimizer.step()``: the metrics when an evaluation is due, else None.

        Args:
            step: the step the metrics are logged at (default: the optimizer's step count, which
                leaves out micro-batches of gradient accumulation and steps AMP skipped).
        """
        self._bind()
        metrics = self.detector.update()
        if metrics is not None and self.log and self.accelerator.is_main_process:
            if not self.accelerator.trackers:
                self._warn_no_tracker()
            else:
                self.accelerator.log(
                    select_metrics(metrics, self.metrics), step=self.optimizer_step if step is None else step
                )
        return metrics

    def _warn_no_tracker(self) -> None:
        if self._warned_no_tracker:
            return
        self._warned_no_tracker = True
        warnings.warn(
            "AccelerateWarmupDetector: the Accelerator has no tracker, so accelerator.log drops the warmup "
            'metrics. Pass Accelerator(log_with="tensorboard", project_dir=...) (or "wandb", "csv" '
            "through a custom tracker, ...) and call accelerator.init_trackers(...), or "
            "AccelerateWarmupDetector(..., log=False) to keep them only for finish().",
            RuntimeWarning,
            stacklevel=3,
        )

    @property
    def optimizer_step(self) -> int:
        """The optimizer's step count at the last :meth:`update`."""
        return self.detector.last_step  # the detector's own record (it skips AMP-skipped steps)

    # ------------------------------------------------------------------ results (forwarded)
    @property
    def settled_step(self) -> int | None:
        """The step from which warmup no longer matters (``None`` until every group settled)."""
        return self.detector.settled_step

    @property
    def suggested_warmup_steps(self) -> int | None:
        return self.detector.suggested_warmup_steps

    @property
    def relapses(self) -> int:
        return self.detector.relapses

    @property
    def evaluations(self) -> int:
        return self.detector.evaluations

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.detector.history

    def summary(self) -> str:
        """The text table of :meth:`WarmupDetector.summary` (settled step per group, suggested warmup)."""
        return self.detector.summary()

    def finish(
        self, output_dir: str | os.PathLike[str], *, print_summary: bool = True, plot: bool | None = None
    ) -> dict[str, str]:
        """On the main process: print the summary, write ``warmup_history.json`` and ``warmup_history.png``.

        Returns the paths written (``{"history": ..., "plot": ...}``; empty on other ranks). The
        plot needs matplotlib (``plot=None``: skipped quietly without it, ``True``: with a
        warning). ``radam-integrations report output_dir`` reads the history back.
        """
        if not self.accelerator.is_main_process:
            return {}
        if print_summary:
            say(self.summary())
        paths = write_outputs([self.detector], output_dir, plot=plot)
        return dict(zip(("history", "plot"), paths))

    # ------------------------------------------------------------------ checkpointing (Accelerate protocol)
    def state_dict(self) -> dict[str, Any]:
        """The detector's state with every rank's sample memory; call on every rank (``save_state`` does)."""
        self._bind()
        return self.detector.state_dict(all_ranks=True)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output (this rank takes its own sample memory)."""
        self._bind()
        self.detector.load_state_dict(state)

    # ------------------------------------------------------------------ binding to the prepared optimizer
    def _bind(self) -> None:
        """Watch the prepared wrapper of a raw optimizer once ``accelerator.prepare`` has made it.

        Accelerate and DDP keep the raw optimizer as the one that steps, so this changes nothing there;
        DeepSpeed ZeRO keeps it too but flattens and partitions its parameters, and the shard padding is
        only known from the ZeRO wrapper, so the detector is rebuilt on the wrapper (state carried over).
        """
        if self._bound:
            return
        prepared = accelerate_compat.prepared_optimizers(self.accelerator)  # what prepare() returned
        raw = self.detector.optimizer
        wrapper = next((p for p in prepared if any(o is raw for o in wrapper_chain(p))), None)
        if wrapper is None:
            swapped = [
                p for p in prepared if type(unwrap_optimizer(p)[0]).__name__ in DEEPSPEED_CPU_OPTIMIZERS
            ]
            if swapped:
                raise OptimizerSwappedError(
                    "AccelerateWarmupDetector was given an optimizer that accelerator.prepare replaced: "
                    + _swap_message(
                        self.accelerator, swapped[0], unwrap_optimizer(swapped[0])[0], (type(raw),)
                    )
                )
            return  # not prepared (yet): the raw optimizer is the one that steps
        self._bound = True
        inner, zero = unwrap_optimizer(wrapper)
        if inner is raw and zero is self.detector._zero:
            return
        state = self.detector.state_dict()
        self.detector = WarmupDetector(wrapper, **self._detector_kwargs)
        self.detector.load_state_dict(state)


def _is_accelerated(optimizer: Any) -> bool:
    try:
        from accelerate.optimizer import AcceleratedOptimizer
    except ImportError:  # pragma: no cover - accelerate is installed wherever an Accelerator exists
        return False
    return isinstance(optimizer, AcceleratedOptimizer)
