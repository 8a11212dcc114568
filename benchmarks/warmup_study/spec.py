"""What one study run is, and what it returns: the contract between the harness and the tasks.

A task module (``bytes_lm``, ``digits``, ``reversal``) exposes ``run(spec: RunSpec) -> dict``: it
trains one arm with one seed through the framework's own path (HF Trainer, timm's factories and
scheduler, Lightning) and returns a :func:`run_record`. The harness (``study/harness.py``)
chooses the specs, runs them, and never looks inside a task.

Example:
    >>> spec = RunSpec("bytes_lm/gpt2", "adamw", warmup_steps=100, lr=3e-3, beta2=0.99, steps=600, seed=0)
    >>> spec.arm
    'adamw-w100'
    >>> RunSpec.from_dict(spec.to_dict()) == spec
    True
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "DECAYS",
    "OPTIMIZERS",
    "PYTORCH_WARMUP",
    "SCHEDULES",
    "RunSpec",
    "collapsed",
    "diverged",
    "run_record",
]

OPTIMIZERS = ("radam", "adamw", "torch_radam", "radam_measured", "sf_radam")
#: pytorch_warmup's rules (Tony-Y/pytorch_warmup), applied to AdamW as its README does: the
#: scheduler's step inside ``warmup.dampening()``.
PYTORCH_WARMUP = ("pw_untuned_linear", "pw_untuned_exp", "pw_radamwarmup")
SCHEDULES = ("linear", "auto", *PYTORCH_WARMUP)
#: The learning rate after the warmup: held (the study's first rounds), or the decay to 0 that the
#: frameworks' users get by default (HF: linear; timm and the Lightning control: cosine).
DECAYS = ("constant", "linear", "cosine")


def with_decay(name: str, decay: str) -> str:
    """An arm's name under ``decay``: ``radam`` -> ``radam-linear`` (unchanged for ``"constant"``)."""
    return name if decay == "constant" else f"{name}-{decay}"


@dataclass(frozen=True)
class RunSpec:
    """One training run of the study.

    Args:
        task: ``"<task>/<model>"``, e.g. ``"bytes_lm/gpt2"``, ``"bytes_lm/bert_postln"``,
            ``"digits/<timm model>"``, ``"reversal/postln"``.
        optimizer: ``"radam"`` (radam_integrations.RAdam through the framework's own route),
            ``"adamw"`` (the framework's AdamW) or ``"torch_radam"`` (``torch.optim.RAdam``: the
            same numbers as ours, for the optimizer step's cost) or ``"radam_measured"``
            (experimental ``MeasuredRAdam``, issue 13) or ``"sf_radam"`` (schedule-free RAdam,
            ``schedulefree.RAdamScheduleFree``, through the framework's own route where it has one;
            evaluated in its ``.eval()`` mode; no warmup and no decay, as its authors intend).
        warmup_steps: linear warmup from 0 over this many optimizer steps, through the
            framework's own scheduler; constant learning rate afterwards. 0: none.
        schedule: ``"linear"`` (the warmup above) or ``"auto"``: ``radam_integrations.AutoWarmup``,
            the measured warmup, through the framework's scheduler route (HF
            ``lr_scheduler_type="auto_warmup"``, Lightning's ``configure_optimizers``, timm's
            ``create_scheduler_v2(sched="auto_warmup")``); or one of :data:`PYTORCH_WARMUP` (AdamW
            only). ``warmup_steps`` must be 0 for all but ``"linear"``.
        decay: ``"constant"`` after the warmup, or ``"linear"``/``"cosine"`` to 0 at ``steps``
            (:data:`DECAYS`), through the framework's own scheduler.
        lr, beta2: peak learning rate and Adam's beta2 (beta1 = 0.9, eps = 1e-8, weight decay 0.01
            decoupled, for every optimizer).
        steps: optimizer steps.
        seed: seeds model initialisation and data order.
        detect: attach the warmup detector (its framework callback) and report what it found.
        eval_every: held-out evaluation period in steps (and at the last step).
    """

    task: str
    optimizer: Literal["radam", "adamw", "torch_radam", "radam_measured", "sf_radam"]
    warmup_steps: int
    lr: float
    beta2: float
    steps: int
    seed: int
    detect: bool = False
    eval_every: int = 100
    schedule: str = "linear"
    decay: str = "constant"

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.decay not in DECAYS:
            raise ValueError(f"decay must be one of {DECAYS}, got {self.decay!r}")
        if self.schedule != "linear" and self.warmup_steps:
            what = "measures the warmup" if self.schedule == "auto" else "brings its own warmup"
            raise ValueError(
                f"schedule={self.schedule!r} {what}: warmup_steps must be 0, got {self.warmup_steps}"
            )
        if self.schedule in PYTORCH_WARMUP and self.optimizer != "adamw":
            raise ValueError(
                f"schedule={self.schedule!r} is pytorch_warmup's rule for AdamW, got {self.optimizer!r}"
            )
        if self.optimizer == "sf_radam" and (
            self.warmup_steps or self.schedule != "linear" or self.decay != "constant"
        ):
            raise ValueError("sf_radam runs without warmup and without decay, as its authors intend")
        if self.warmup_steps < 0 or self.steps < 1 or self.eval_every < 1:
            raise ValueError(f"warmup_steps >= 0, steps >= 1 and eval_every >= 1 needed, got {self}")

    @property
    def arm(self) -> str:
        """The tables' name: ``radam``, ``adamw-w<warmup>``, ``adamw-auto``, ``adamw-pw_untuned_linear``,
        ``sf_radam``, ..., with ``-linear``/``-cosine`` appended for a decay."""
        if self.schedule != "linear":
            name = f"{self.optimizer}-{self.schedule}"
        else:
            name = self.optimizer if self.warmup_steps == 0 else f"{self.optimizer}-w{self.warmup_steps}"
        return with_decay(name, self.decay)

    @property
    def measures(self) -> bool:
        """Whether the detector's measurement runs: the probe's detector, AutoWarmup, RAdam measured."""
        return self.detect or self.schedule == "auto" or self.optimizer == "radam_measured"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        return cls(**data)


def diverged(train_loss: list[float], eval_loss: list[float], initial_eval_loss: float) -> bool:
    """A run blew up: a non-finite loss anywhere, or it ends no better than it started held-out."""
    if any(not math.isfinite(x) for x in [*train_loss, *eval_loss]):
        return True
    return bool(eval_loss) and eval_loss[-1] >= initial_eval_loss


def collapsed(eval_loss: list[float], baseline_loss: float | None) -> bool:
    """A run ends no better than the task's context-free predictor (byte or class frequencies).

    Where a run blows up and collapses without ever producing a NaN (Adam's normalisation and
    gradient clipping keep it finite), it ends at that predictor's loss, however far below the
    initial loss that is. Meaningful for a run long enough to beat it when healthy.

    >>> collapsed([4.0, 3.19], 3.17), collapsed([4.0, 2.5], 3.17), collapsed([2.5], None)
    (True, False, False)
    """
    return baseline_loss is not None and bool(eval_loss) and eval_loss[-1] >= baseline_loss


def run_record(
    spec: RunSpec,
    *,
    train_loss: list[tuple[int, float]],
    evals: list[tuple[int, float, float | None]],
    initial_eval_loss: float,
    seconds: float,
    optimizer_seconds: float | None = None,
    detector: dict[str, Any] | None = None,
    baseline_loss: float | None = None,
    optimizer: Any = None,
) -> dict[str, Any]:
    """The JSON-safe record of one run (non-finite numbers are kept as floats; the writer nulls them).

    Args:
        train_loss: ``(step, loss)`` of the training loss, at least every 10 steps (mean over
            the steps since the previous point).
        evals: ``(step, held-out loss, held-out accuracy or None)`` at every evaluation.
        initial_eval_loss: held-out loss before the first step (what a failed run stays at).
        seconds: wall time of the training loop.
        optimizer_seconds: time spent in ``optimizer.step()`` (for the step's share), if measured.
        detector: with ``spec.detect``: the detector's ``run_summary()`` (``settled_step``,
            ``relapses``, ``suggested_warmup_steps``). Its time is measured by the harness
            (:func:`.timing.detector_time`), the same way for every task.
        baseline_loss: held-out loss of the task's context-free predictor (see :func:`collapsed`).
        optimizer: the optimizer that trained (after training): its class, betas and state bytes
            per parameter are recorded (:func:`.costs.optimizer_facts`).
    """
    losses = [loss for _, loss in train_loss]
    held_out = [loss for _, loss, _ in evals]
    record = {
        "spec": spec.to_dict(),
        "arm": spec.arm,
        "train_loss": [[int(s), float(x)] for s, x in train_loss],
        "evals": [[int(s), float(x), None if a is None else float(a)] for s, x, a in evals],
        "initial_eval_loss": float(initial_eval_loss),
        "final_eval_loss": held_out[-1] if held_out else math.nan,
        "final_eval_accuracy": evals[-1][2] if evals else None,
        "baseline_loss": baseline_loss,
        "diverged": diverged(losses, held_out, initial_eval_loss),
        "collapsed": collapsed(held_out, baseline_loss),
        "seconds": float(seconds),
        "optimizer_seconds": optimizer_seconds,
        "detector": detector,
    }
    if optimizer is not None:
        from .costs import optimizer_facts

        record.update(optimizer_facts(optimizer))
    return record
