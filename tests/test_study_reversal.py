"""study/reversal.py: the control task's schedules and alternatives, through a real Lightning fit."""

from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("lightning")

from radam_integrations import theory
from warmup_ablation.lightning_module import DemoModule
from warmup_study import reversal
from warmup_study.spec import RunSpec

from .helpers import warmup_rules
from .helpers.warmup_rules import one_thread  # noqa: F401  (autouse: one torch thread)

pytestmark = pytest.mark.fit


def _spec(optimizer: str = "adamw", **changes) -> RunSpec:
    fields = dict(
        task="reversal/postln", optimizer=optimizer, warmup_steps=0, lr=1e-2, beta2=0.99, steps=12, seed=0,
        eval_every=6,
    )  # fmt: skip
    return RunSpec(**{**fields, **changes})


def _lrs(spec: RunSpec) -> list[float]:
    """The learning rate each optimizer step ran at, in a Lightning fit of the study's module."""
    import lightning.pytorch as pl

    from warmup_ablation.task import ReversalStream
    from warmup_ablation.training import quiet_lightning

    seen: list[float] = []

    class Record(pl.Callback):
        def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
            seen.append(optimizer.param_groups[0]["lr"])

    quiet_lightning()
    trainer = pl.Trainer(
        max_steps=spec.steps, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[Record()], num_sanity_val_steps=0,
        limit_val_batches=0,
    )  # fmt: skip
    stream = ReversalStream(reversal.BATCH, reversal.LENGTH, reversal.MODEL.vocab_size, seed=0)
    trainer.fit(
        reversal._module(spec), train_dataloaders=torch.utils.data.DataLoader(stream, batch_size=None)
    )
    return seen


def test_warmup_then_cosine_decay_over_the_whole_run() -> None:
    lr, steps, warmup = 1e-2, 12, 3
    expected = [
        lr * min(1.0, t / warmup) if t <= warmup else lr * theory.decay_factor(t - 1, steps, "cosine")
        for t in range(1, steps + 1)
    ]
    assert _lrs(_spec(warmup_steps=warmup, decay="cosine")) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("rule", ["pw_untuned_linear", "pw_untuned_exp", "pw_radamwarmup"])
@pytest.mark.parametrize("decay", ["constant", "cosine"])
def test_pytorch_warmup_dampens_the_scheduler_through_lightnings_hook(rule: str, decay: str) -> None:
    """Step t runs at lr * decay(t - 1) * omega_t: LightningModule.lr_scheduler_step runs the
    scheduler's step inside ``warmup.dampening()``, as pytorch_warmup's README does."""
    pytest.importorskip("pytorch_warmup", reason="pytorch-warmup comes with the [study] extra")
    steps, lr = 12, 1e-2
    omegas = warmup_rules.omegas(rule, steps)
    expected = [lr * theory.decay_factor(t - 1, steps, decay) * omegas[t - 1] for t in range(1, steps + 1)]
    assert _lrs(_spec(schedule=rule, decay=decay)) == pytest.approx(expected, rel=1e-9)
    assert max(omegas) < 1.0


def test_schedule_free_radam_is_built_in_train_mode_and_evaluated_in_eval_mode() -> None:
    pytest.importorskip("schedulefree", reason="schedulefree comes with the [study] extra")
    spec = _spec("sf_radam", steps=30, eval_every=10)
    module = reversal._module(spec)
    optimizer = module.configure_optimizers()
    assert type(optimizer).__name__ == "RAdamScheduleFree" and module.sf is optimizer
    assert optimizer.param_groups[0]["train_mode"]
    x, y = module.val_x[:32], module.val_y[:32]
    for _ in range(20):  # RAdam's first steps are silent while the variance is undefined
        optimizer.zero_grad()
        logits = module.net(x)
        torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).backward()
        optimizer.step()
    at_train = DemoModule.evaluate(module)["val_loss"]  # the training weights, no switch
    loss = module.evaluate()["val_loss"]
    assert optimizer.param_groups[0]["train_mode"]  # switched back after evaluating
    optimizer.eval()
    assert loss == pytest.approx(DemoModule.evaluate(module)["val_loss"]) != at_train
    optimizer.train()
    record = reversal.run(spec)
    assert record["optimizer_class"].endswith("RAdamScheduleFree") and record["betas"] == [0.9, 0.99]
    assert record["final_eval_loss"] < record["initial_eval_loss"] and math.isfinite(
        record["final_eval_loss"]
    )
    assert [e[0] for e in record["evals"]] == [0, 10, 20, 30]
