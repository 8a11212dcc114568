"""Hugging Face Trainer + radam_integrations: ``--optim radam`` on a tiny GPT-2 trained from scratch.

The model is built from a config (random init, nothing downloaded) and trained on token
sequences from a fixed random second-order Markov chain, so the loss has a known floor (the
chain's entropy rate, printed at the start). ``import radam_integrations.hf`` runs before the
argument parser is built, so ``--optim radam`` / ``--optim radamw`` and ``--optim_args`` work
on the command line like any built-in optimizer name; the warmup detector callback logs into
the Trainer's logs and writes ``warmup_history.json`` and, when matplotlib is installed,
``warmup_history.png`` (``--no-plot``: never) into ``--output_dir`` (default ``runs/hf_trainer``).

    python recipes/hf_trainer.py                    # radamw, lr 1e-3, 300 steps
    python recipes/hf_trainer.py --output_dir runs/hf --optim radamw --learning_rate 1e-3 --max_steps 300
    python recipes/hf_trainer.py --output_dir runs/hf --optim radam --optim_args "threshold=4" --max_steps 100

Run time, measured on this project's 2-core CPU machine while other jobs shared it: the default 300
steps take 19 s with ``OMP_NUM_THREADS=1`` and 15-85 s with torch's default two threads, whose parallel
regions wait on each other when the cores are busy (for a model this small one thread is the faster
choice on a loaded machine); ``--max_steps 100`` 10 s.

The flags are Hugging Face's own (``HfArgumentParser`` over ``TrainingArguments``: ``--max_steps``,
``--learning_rate``, ``--adam_beta2``, ``--per_device_train_batch_size``, ``--weight_decay``,
``--seed``, ``--output_dir``, ``--resume_from_checkpoint``), plus this task's fields
(``--train_sequences``, ``--n_layer``, ...) and ``--no-plot``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded: the model comes from a config

import torch

import radam_integrations.hf  # noqa: F401  registers "radam"/"radamw" before the parser exists
from radam_integrations import RAdam
from radam_integrations.integrations.transformers import WarmupDetectorCallback


@dataclass
class TaskArguments:
    vocab_size: int = 32
    seq_len: int = 32
    train_sequences: int = 4096
    n_layer: int = 2
    n_embd: int = 64
    chain_seed: int = 0
    # HfArgumentParser turns a bool defaulting to True into --plot and --no-plot (also --no_plot)
    plot: bool = True


class MarkovTokens(torch.utils.data.Dataset):
    """Sequences from a second-order Markov chain with a fixed random transition table."""

    def __init__(self, args: TaskArguments, count: int, seed: int) -> None:
        gen = torch.Generator().manual_seed(args.chain_seed)
        logits = 3.0 * torch.randn(args.vocab_size, args.vocab_size, args.vocab_size, generator=gen)
        self.table = logits.softmax(-1)  # p(x_t | x_{t-2}, x_{t-1})
        sample_gen = torch.Generator().manual_seed(seed)
        seqs = torch.randint(0, args.vocab_size, (count, args.seq_len), generator=sample_gen)
        for t in range(2, args.seq_len):
            probs = self.table[seqs[:, t - 2], seqs[:, t - 1]]
            seqs[:, t] = torch.multinomial(probs, 1, generator=sample_gen).squeeze(1)
        self.seqs = seqs

    def entropy_rate(self) -> float:
        """Mean next-token entropy (nats) over uniform contexts: the best achievable loss."""
        p = self.table
        return float(-(p * p.clamp_min(1e-12).log()).sum(-1).mean())

    def __len__(self) -> int:
        return len(self.seqs)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.seqs[i], "labels": self.seqs[i]}


def main(argv: list[str] | None = None) -> dict:
    from transformers import GPT2Config, GPT2LMHeadModel, HfArgumentParser, Trainer, TrainingArguments

    parser = HfArgumentParser((TrainingArguments, TaskArguments))
    defaults = {
        "--optim": "radamw", "--learning_rate": "1e-3", "--max_steps": "300", "--logging_steps": "10",
        "--report_to": "none", "--use_cpu": "true", "--save_strategy": "no", "--weight_decay": "0.01",
        "--per_device_train_batch_size": "32", "--seed": "0", "--output_dir": "runs/hf_trainer",
    }  # fmt: skip
    defaults_argv = [x for pair in defaults.items() for x in pair]
    train_args, task = parser.parse_args_into_dataclasses(
        defaults_argv + list(sys.argv[1:] if argv is None else argv)
    )
    config = GPT2Config(
        vocab_size=task.vocab_size,
        n_positions=task.seq_len,
        n_embd=task.n_embd,
        n_layer=task.n_layer,
        n_head=4,
        bos_token_id=None,  # GPT-2's 50256 lies outside this vocabulary (transformers warns about it)
        eos_token_id=None,
    )
    torch.manual_seed(train_args.seed)
    model = GPT2LMHeadModel(config)
    data = MarkovTokens(task, task.train_sequences, seed=1)
    optim = getattr(train_args.optim, "value", train_args.optim)  # an OptimizerNames enum member
    print(f"optim={optim}, loss floor (entropy rate) {data.entropy_rate():.3f} nats")
    # plot=None: warmup_history.png whenever matplotlib is installed
    detector = WarmupDetectorCallback(plot=False if not task.plot else None)
    trainer = Trainer(model=model, args=train_args, train_dataset=data, callbacks=[detector])
    output = trainer.train()
    result = {
        "optimizer": type(trainer.optimizer.optimizer).__name__,
        "is_radam": isinstance(trainer.optimizer.optimizer, RAdam),
        "train_loss": output.training_loss,
        "final_logged_loss": [e["loss"] for e in trainer.state.log_history if "loss" in e][-1],
        "entropy_rate": data.entropy_rate(),
        "settled_step": detector.detector.settled_step,
        "warmup_keys_logged": sum(1 for e in trainer.state.log_history for k in e if k.startswith("warmup/")),
    }
    print("result:", json.dumps(result))
    assert math.isfinite(result["train_loss"])
    return result


if __name__ == "__main__":
    main()
