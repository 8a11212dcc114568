"""HF Trainer + WarmupDetectorCallback, saving every 5 steps; resumes from the newest checkpoint.

Run again and again (killed with SIGKILL at random moments) until it finishes: the test compares
its final detector history and weights with an uninterrupted run. Prints ``step N`` as it trains.

    python tests/scripts/hf_kill_resume.py OUTPUT_DIR [MAX_STEPS]
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainerCallback, TrainingArguments

import radam_integrations.hf  # noqa: F401  registers radam, and resume_from_checkpoint=True's guard
from radam_integrations.integrations.transformers import WarmupDetectorCallback


class Steps(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        print(f"step {state.global_step}", flush=True)


def main() -> None:
    out = Path(sys.argv[1])
    max_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=64, n_positions=16,
                        bos_token_id=0, eos_token_id=0)  # fmt: skip
    model = GPT2LMHeadModel(config)
    ids = torch.randint(0, 64, (256, 16), generator=torch.Generator().manual_seed(1))
    data = [{"input_ids": row, "labels": row} for row in ids]
    args = TrainingArguments(
        str(out), optim="radamw", learning_rate=3e-3, max_steps=max_steps, per_device_train_batch_size=8,
        save_strategy="steps", save_steps=5, logging_steps=5, report_to="none", use_cpu=True, seed=0,
        data_seed=0, disable_tqdm=True,
    )  # fmt: skip
    detector = WarmupDetectorCallback(every=5, plot=False, print_summary=False)
    trainer = Trainer(model, args, train_dataset=data, callbacks=[detector, Steps()])
    resume = True if any(out.glob("checkpoint-*")) else None
    trainer.train(resume_from_checkpoint=resume)
    params = trainer.model.named_parameters()
    weights = {n: hashlib.sha256(p.detach().numpy().tobytes()).hexdigest() for n, p in params}
    (out / "final.json").write_text(json.dumps({"weights": weights}))


if __name__ == "__main__":
    main()
