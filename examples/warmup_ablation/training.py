"""One demo run: train one configuration with one seed under Lightning, on the CPU.

Every run attaches the warmup detector (through the Lightning callback) and returns the
training loss, held-out loss/accuracy and the detector's findings as one plain dict: a run of
the results file (:mod:`.results`).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

from .settings import Arm, DemoSettings
from .task import ReversalStream

__all__ = ["quiet_lightning", "run_one"]


def run_one(
    arm: Arm,
    seed: int,
    settings: DemoSettings,
    warmup: int,
    on_step: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Train one configuration with one seed; return its curves and the detector's findings."""
    import lightning.pytorch as pl

    from radam_integrations.integrations.lightning import WarmupDetectorCallback

    from .lightning_module import DemoModule

    quiet_lightning()
    module = DemoModule(arm, seed, settings, warmup)
    detector_cb = WarmupDetectorCallback(
        every=settings.detector_every, print_summary=False, save_history=False
    )
    callbacks: list[Any] = [detector_cb]
    if on_step is not None:
        callbacks.append(_step_hook(pl.Callback, on_step))
    trainer = pl.Trainer(
        max_steps=settings.steps,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    loader = torch.utils.data.DataLoader(
        ReversalStream(settings.batch_size, settings.length, settings.model.vocab_size, seed=1000 + seed),
        batch_size=None,
    )
    start = time.perf_counter()
    trainer.fit(module, train_dataloaders=loader)
    detector = detector_cb.detectors[0]
    return {
        "arm": arm.key,
        "seed": seed,
        "warmup": warmup,
        "seconds": time.perf_counter() - start,
        "train_loss": module.train_losses,
        "val": module.val_points,
        "settled_step": detector.settled_step,
        "suggested_warmup_steps": detector.suggested_warmup_steps,
        "relapses": detector.relapses,
        "detector": detector.history_records(),
    }


def quiet_lightning() -> None:
    """Silence Lightning's per-fit banners (both packages: either may own the rank-zero logger)."""
    for name in (
        "lightning.pytorch",
        "lightning.fabric",
        "lightning",
        "pytorch_lightning",
        "lightning_fabric",
    ):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*IterableDataset.*__len__.*")
    # Lightning 2.6 on torch 2.14 warns about its own use of torch's pytree API on every fit.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


def _step_hook(base: type, fn: Callable[[], None]) -> Any:
    """A Lightning callback calling ``fn`` after every training batch (drives the progress bar)."""

    class StepHook(base):  # type: ignore[misc, valid-type]
        def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
            fn()

    return StepHook()
