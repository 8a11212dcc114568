"""The control task: the demo's post-LN sequence reversal (generated data), trained with Lightning.

Kept from the demo as the control the real-data tasks are read against: the task this project
wrote itself, where warmup is known to matter at the demo's learning rate. The model is the
demo's :class:`~radam_integrations.demo.model.PostLNTransformer` (:data:`MODEL`); the optimizer is
``radam_integrations.RAdam`` (decoupled weight decay) or ``torch.optim.AdamW``, with a linear
warmup through a step-interval ``LambdaLR`` returned from ``configure_optimizers`` (Lightning's
own scheduler route), constant afterwards.

Example:
    >>> spec = RunSpec("reversal/postln", "radam", 0, lr=3e-3, beta2=0.99, steps=4, seed=0, eval_every=2)
    >>> record = run(spec)                                         # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
import torch.nn.functional as F

from ..demo.model import ModelConfig, PostLNTransformer
from ..demo.task import ReversalStream, validation_set
from ..demo.training import quiet_lightning
from .spec import RunSpec, run_record

__all__ = ["MODEL", "run"]

#: The demo's post-LN model, smaller than the demo's (4 layers, d_model 64) so that a 600-step run
#: costs about as much as the other tasks' runs; 20-token sequences over 22 symbols.
MODEL = ModelConfig(vocab_size=24, d_model=64, n_layers=4, n_heads=4, d_ff=256, max_len=20)
LENGTH, BATCH, VAL_SIZE = 20, 64, 256


def _module(spec: RunSpec) -> Any:
    import lightning.pytorch as pl

    from ..optim import RAdam

    class ReversalModule(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(spec.seed)
            self.net = PostLNTransformer(MODEL)
            self.val_x, self.val_y = validation_set(VAL_SIZE, LENGTH, MODEL.vocab_size)
            self.losses: list[float] = []
            self.train_points: list[tuple[int, float]] = []
            self.evals: list[tuple[int, float, float | None]] = []

        def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
            x, y = batch
            logits = self.net(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            self.losses.append(loss.item())
            return loss

        def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
            step = self.trainer.global_step
            if step % 10 == 0 or step == spec.steps:
                self.train_points.append((step, sum(self.losses) / len(self.losses)))
                self.losses.clear()
            if step % spec.eval_every == 0 or step == spec.steps:
                self.evals.append((step, *self.evaluate()))

        @torch.no_grad()
        def evaluate(self) -> tuple[float, float]:
            was_training = self.net.training
            self.net.eval()
            logits = self.net(self.val_x)
            self.net.train(was_training)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), self.val_y.reshape(-1)).item()
            return loss, (logits.argmax(-1) == self.val_y).float().mean().item()

        def configure_optimizers(self) -> Any:
            kwargs = {"lr": spec.lr, "betas": (0.9, spec.beta2), "eps": 1e-8, "weight_decay": 0.01}
            if spec.optimizer == "radam":
                optimizer: torch.optim.Optimizer = RAdam(
                    self.parameters(), decoupled_weight_decay=True, **kwargs
                )
            elif spec.optimizer == "torch_radam":
                optimizer = torch.optim.RAdam(self.parameters(), decoupled_weight_decay=True, **kwargs)
            else:
                optimizer = torch.optim.AdamW(self.parameters(), **kwargs)
            if spec.warmup_steps == 0:
                return optimizer
            length = spec.warmup_steps
            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / length))
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    return ReversalModule()


def run(spec: RunSpec) -> dict[str, Any]:
    """Train one arm and seed of the control task; its :func:`~.spec.run_record`."""
    import lightning.pytorch as pl

    from ..integrations.lightning import WarmupDetectorCallback
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
    initial_loss, initial_accuracy = module.evaluate()
    start = time.perf_counter()
    trainer.fit(module, train_dataloaders=loader)
    seconds = time.perf_counter() - start
    detector = None if detector_cb is None else detector_cb.detectors[0].run_summary()
    return run_record(
        spec,
        train_loss=module.train_points,
        evals=[(0, initial_loss, initial_accuracy), *module.evals],
        initial_eval_loss=initial_loss,
        seconds=seconds,
        optimizer_seconds=timer.seconds,
        detector=detector,
        baseline_loss=math.log(MODEL.vocab_size - 2),  # tokens are uniform over 2..vocab_size-1
    )
