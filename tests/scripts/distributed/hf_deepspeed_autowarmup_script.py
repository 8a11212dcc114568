"""The HF Trainer under DeepSpeed ZeRO-2 on 2 CPU ranks (gloo) with ``optim="radamw"`` and
``lr_scheduler_type="auto_warmup_cosine"``: the Trainer builds the scheduler on its own optimizer
before DeepSpeed partitions it, so the measurement must find the per-rank partitions itself; both
ranks then use the same learning rates.

    python -m torch.distributed.run --standalone --nproc_per_node 2 \\
        -m tests.scripts.distributed.hf_deepspeed_autowarmup_script OUT
"""

from __future__ import annotations

import sys

import torch
import torch.distributed as dist
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainerCallback, TrainingArguments

from radam_integrations.experimental import AutoWarmup, register_all
from tests.scripts.distributed.common import run_then_shut_down, write_json

register_all()  # optim="radamw" and the experimental scheduler names

STEPS = 30


class TokenIds(torch.utils.data.Dataset):
    def __init__(self, n: int = 256, length: int = 16) -> None:
        self.ids = torch.randint(0, 64, (n, length), generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


class LearningRates(TrainerCallback):
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_step_end(self, args, state, control, optimizer=None, lr_scheduler=None, **kwargs):
        self.lrs.append(float(optimizer.param_groups[0]["lr"]))


def main(stage: str, out: str) -> None:
    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=2, n_head=2, n_embd=32, vocab_size=64, n_positions=32, bos_token_id=0, eos_token_id=0
    )
    args = TrainingArguments(
        out,
        optim="radamw",
        lr_scheduler_type="auto_warmup_cosine",
        learning_rate=3e-3,
        max_steps=STEPS,
        per_device_train_batch_size=4,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=0,
        deepspeed={
            "train_micro_batch_size_per_gpu": 4,
            "gradient_accumulation_steps": 1,
            "zero_optimization": {"stage": int(stage)},
            "zero_allow_untested_optimizer": True,
        },
    )
    recorder = LearningRates()
    trainer = Trainer(GPT2LMHeadModel(config), args, train_dataset=TokenIds(), callbacks=[recorder])
    trainer.train()
    scheduler = trainer.lr_scheduler
    inner = getattr(scheduler, "scheduler", scheduler)  # Accelerate's wrapper, if any
    assert isinstance(inner, AutoWarmup), type(inner)
    write_json(out, f"hf_ds{stage}_rank{dist.get_rank()}.json", {
        "world_size": dist.get_world_size(), "backend": dist.get_backend(),
        "zero": type(trainer.model_wrapped.optimizer).__name__, "optimizer": type(inner.optimizer).__name__,
        "sharded": inner.rectifier.detector.sharded,
        "measured": [inner.rectifier.measured(g) for g in range(len(inner.optimizer.param_groups))],
        "lrs": recorder.lrs,
    })  # fmt: skip


if __name__ == "__main__":
    run_then_shut_down(main, *sys.argv[1:])
