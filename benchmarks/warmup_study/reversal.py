"""The control task: the demo's post-LN sequence reversal (generated data), trained with Lightning.

Kept from the demo as the control the real-data tasks are read against: the task this project
wrote itself, where warmup is known to matter at the demo's learning rate. The run is the
demo's :class:`~warmup_ablation.lightning_module.DemoModule` (its model at the size of
:data:`MODEL`, its training step, held-out set and linear warmup through a step-interval
``LambdaLR`` from ``configure_optimizers``, Lightning's own scheduler route), with the study's
optimizers: ``radam_integrations.RAdam`` or ``torch.optim.RAdam`` (decoupled weight decay) or
``torch.optim.AdamW``, or schedule-free RAdam (``schedulefree.RAdamScheduleFree``, no Lightning
route: built in ``configure_optimizers``, evaluated in its ``.eval()`` mode). With ``spec.decay``
the step-interval ``LambdaLR`` runs the warmup, then the decay over the whole run's position (the
cosine of timm's ``train.py``, the control's default, or a linear one): ``decay_factor(step)`` after
the warmup. pytorch_warmup's rules step that scheduler inside ``warmup.dampening()`` through
Lightning's own hook for it, ``LightningModule.lr_scheduler_step``.

Example:
    >>> spec = RunSpec("reversal/postln", "radam", 0, lr=3e-3, beta2=0.99, steps=4, seed=0, eval_every=2)
    >>> record = run(spec)                                         # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from radam_integrations.theory import decay_factor
from warmup_ablation.model import ModelConfig
from warmup_ablation.task import ReversalStream
from warmup_ablation.training import quiet_lightning

from .alternatives import eval_mode, pytorch_warmup_rule, schedule_free_radam
from .spec import PYTORCH_WARMUP, RunSpec, run_record

__all__ = ["MODEL", "run"]

#: The demo's post-LN model, smaller than the demo's (4 layers, d_model 64) so that a 600-step run
#: costs about as much as the other tasks' runs; 20-token sequences over 22 symbols.
MODEL = ModelConfig(vocab_size=24, d_model=64, n_layers=4, n_heads=4, d_ff=256, max_len=20)
LENGTH, BATCH, VAL_SIZE = 20, 64, 256


def _module(spec: RunSpec) -> Any:
    """The demo's LightningModule with the study's optimizers (everything else is the demo's)."""
    from radam_integrations import RAdam
    from radam_integrations.experimental import MeasuredRAdam
    from warmup_ablation.lightning_module import DemoModule
    from warmup_ablation.settings import Arm, DemoSettings

    class ReversalModule(DemoModule):
        pw: Any = None  # pytorch_warmup's rule, with spec.schedule in PYTORCH_WARMUP
        sf: Any = None  # the schedule-free optimizer, switched to .eval() around evaluations

        def make_optimizer(self) -> torch.optim.Optimizer:
            kwargs = {"lr": spec.lr, "betas": (0.9, spec.beta2), "eps": 1e-8, "weight_decay": 0.01}
            if spec.optimizer == "sf_radam":
                self.sf = schedule_free_radam(
                    self.parameters(), lr=spec.lr, beta2=spec.beta2, eps=1e-8, weight_decay=0.01
                )
                return self.sf
            if spec.optimizer in ("radam", "radam_measured"):
                cls = MeasuredRAdam if spec.optimizer == "radam_measured" else RAdam
                return cls(self.parameters(), decoupled_weight_decay=True, **kwargs)
            if spec.optimizer == "torch_radam":
                return torch.optim.RAdam(self.parameters(), decoupled_weight_decay=True, **kwargs)
            return torch.optim.AdamW(self.parameters(), **kwargs)

        def evaluate(self) -> dict[str, float]:
            with eval_mode(self.sf):
                return super().evaluate()

        def lr_scheduler_step(self, scheduler: Any, metric: Any) -> None:
            if self.pw is None:
                return super().lr_scheduler_step(scheduler, metric)
            with self.pw.dampening():  # pytorch_warmup's README: the scheduler's step inside
                scheduler.step()
            return None

        def configure_optimizers(self) -> Any:
            if spec.schedule != "auto" and spec.decay == "constant" and spec.schedule not in PYTORCH_WARMUP:
                return super().configure_optimizers()
            if spec.schedule != "auto":
                optimizer = self.make_optimizer()
                scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _factor(spec))
                if spec.schedule in PYTORCH_WARMUP:
                    self.pw = pytorch_warmup_rule(optimizer, spec.schedule)  # after the scheduler's first lr
                return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
            from radam_integrations.experimental import AutoWarmup

            optimizer = self.make_optimizer()
            scheduler = AutoWarmup(optimizer)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    settings = DemoSettings(
        steps=spec.steps, seeds=(spec.seed,), lr=spec.lr, beta2=spec.beta2, batch_size=BATCH, length=LENGTH,
        model=MODEL, val_every=spec.eval_every, val_size=VAL_SIZE,
    )  # fmt: skip
    return ReversalModule(Arm(spec.arm, spec.arm, spec.optimizer), spec.seed, settings, spec.warmup_steps)


def _factor(spec: RunSpec) -> Any:
    """The ``LambdaLR`` factor of scheduler step ``step`` (0-based): the demo's warmup, then the decay.

    >>> f = _factor(RunSpec("reversal/postln", "adamw", 10, lr=1e-2, beta2=0.99, steps=100, seed=0,
    ...                     decay="cosine"))
    >>> f(0), f(9), f(50), f(100)
    (0.1, 1.0, 0.5, 0.0)
    """
    length = spec.warmup_steps

    def factor(step: int) -> float:
        if step < length:
            return min(1.0, (step + 1) / length)
        return decay_factor(step, spec.steps, spec.decay)

    return factor


def _every_ten(losses: list[float]) -> list[tuple[int, float]]:
    """``(step, mean loss)`` every 10 steps and at the last, over the steps since the previous point."""
    points, start = [], 0
    for step in range(1, len(losses) + 1):
        if step % 10 == 0 or step == len(losses):
            chunk = losses[start:step]
            points.append((step, sum(chunk) / len(chunk)))
            start = step
    return points


def run(spec: RunSpec) -> dict[str, Any]:
    """Train one arm and seed of the control task; its :func:`~.spec.run_record`."""
    import lightning.pytorch as pl

    from radam_integrations.integrations.lightning import WarmupDetectorCallback

    from .timing import StepTimer

    quiet_lightning()
    module = _module(spec)
    timer = StepTimer()

    class AttachTimer(pl.Callback):
        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            timer.attach(trainer.optimizers[0])

    callbacks: list[Any] = [AttachTimer()]
    detector_cb = None
    if spec.detect:
        detector_cb = WarmupDetectorCallback(print_summary=False, save_history=False, log=False)
        callbacks.append(detector_cb)
    trainer = pl.Trainer(
        max_steps=spec.steps, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=callbacks,
        num_sanity_val_steps=0, limit_val_batches=0,
    )  # fmt: skip
    loader = torch.utils.data.DataLoader(
        ReversalStream(BATCH, LENGTH, MODEL.vocab_size, seed=1000 + spec.seed), batch_size=None
    )
    initial = module.evaluate()
    start = time.perf_counter()
    trainer.fit(module, train_dataloaders=loader)
    seconds = time.perf_counter() - start
    detector = None if detector_cb is None else detector_cb.detectors[0].run_summary()
    return run_record(
        spec,
        train_loss=_every_ten(module.train_losses),
        evals=[
            (p["step"], p["val_loss"], p["val_accuracy"])
            for p in [{"step": 0, **initial}, *module.val_points]
        ],
        initial_eval_loss=initial["val_loss"],
        seconds=seconds,
        optimizer_seconds=timer.seconds,
        detector=detector,
        baseline_loss=math.log(MODEL.vocab_size - 2),  # tokens are uniform over 2..vocab_size-1
        optimizer=trainer.optimizers[0],
    )
