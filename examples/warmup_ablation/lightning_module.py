"""The LightningModule one demo run trains: the model, its optimizer and warmup, its curves.

Imports Lightning: :mod:`.training` imports this module only when a run starts, so reading and
re-rendering results (``radam-integrations report runs/demo``) works without Lightning.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F

from radam_integrations import RAdam

from .model import PostLNTransformer
from .settings import Arm, DemoSettings
from .task import validation_set

__all__ = ["DemoModule"]


class DemoModule(pl.LightningModule):
    """One arm and seed: records the training loss every step, held-out loss/accuracy every ``val_every``."""

    def __init__(self, arm: Arm, seed: int, settings: DemoSettings, warmup: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.arm, self.settings, self.warmup = arm, settings, warmup
        self.net = PostLNTransformer(settings.model)
        self.val_x, self.val_y = validation_set(settings.val_size, settings.length, settings.model.vocab_size)
        self.train_losses: list[float] = []
        self.val_points: list[dict[str, float]] = []

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        logits = self.net(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.train_losses.append(loss.item())
        return loss

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        step = self.trainer.global_step
        if step % self.settings.val_every == 0 or step == self.settings.steps:
            self.val_points.append({"step": step, **self.evaluate()})

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        was_training = self.net.training
        self.net.eval()
        logits = self.net(self.val_x)
        self.net.train(was_training)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), self.val_y.reshape(-1)).item()
        accuracy = (logits.argmax(-1) == self.val_y).float().mean().item()
        return {"val_loss": loss, "val_accuracy": accuracy}

    def make_optimizer(self) -> torch.optim.Optimizer:
        """The arm's optimizer (the study's control task overrides this, and only this)."""
        s, arm = self.settings, self.arm
        kwargs = {"lr": s.lr, "betas": (s.beta1, s.beta2), "eps": arm.eps}
        if arm.optimizer == "radam":
            return RAdam(self.parameters(), **kwargs)
        return torch.optim.Adam(self.parameters(), **kwargs)

    def configure_optimizers(self) -> Any:
        """:meth:`make_optimizer`, with a linear warmup over ``warmup`` steps when there is one."""
        optimizer = self.make_optimizer()
        if self.warmup <= 0:
            return optimizer
        length = self.warmup
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / length))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
