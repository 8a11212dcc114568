"""A Lightning Fabric training loop with RAdam and the warmup detector as a Fabric callback.

Fabric calls ``on_after_optimizer_step`` on its callbacks after every ``optimizer.step()``, so
``FabricWarmupDetectorCallback`` sees every step without a line in the loop; it logs through
``fabric.log_dict`` (a CSVLogger here). The loop saves a checkpoint with the callback in it, so a
resumed run (``--resume-from``) continues the same detection:

    python recipes/fabric_loop.py                              # 600 steps
    python recipes/fabric_loop.py --steps 300                  # writes runs/fabric_loop/checkpoint.ckpt
    python recipes/fabric_loop.py --steps 600 --resume-from runs/fabric_loop/checkpoint.ckpt

Run time, measured on this project's 2-core CPU machine while other jobs shared it: the default 600
steps take 17 s with ``OMP_NUM_THREADS=1`` and 105-110 s with torch's default two threads, whose
parallel regions wait on each other when the cores are busy (for a model this small one thread is the
faster choice on a loaded machine); ``--steps 300`` and the resumed half each take 12 s with one
thread, 65-270 s with two.

The last line printed is ``result: {...}`` (JSON). The model and data (a tiny post-LN transformer on
tokens from a random Markov chain, generated: no download) are the ones of
``lightning_configure_optimizers.py``, repeated here so that this file stands alone.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

try:
    from lightning.fabric import Fabric
    from lightning.fabric.loggers import CSVLogger
except ImportError:  # only pytorch-lightning (which brings lightning-fabric) installed
    from lightning_fabric import Fabric
    from lightning_fabric.loggers import CSVLogger

from radam_integrations import RAdam
from radam_integrations.integrations.lightning import FabricWarmupDetectorCallback


# ---------------------------------------------------------------------- data
def markov_chain(vocab_size: int, seed: int, sharpness: float = 2.5) -> torch.Tensor:
    """Transition probabilities ``P[a, b]`` of a random chain; larger ``sharpness``: more predictable."""
    gen = torch.Generator().manual_seed(seed)
    return torch.softmax(sharpness * torch.randn(vocab_size, vocab_size, generator=gen), dim=1)


def markov_tokens(num: int, length: int, transitions: torch.Tensor, seed: int) -> torch.Tensor:
    """``num`` token sequences of ``length`` drawn from the chain (int64, shape ``[num, length]``)."""
    gen = torch.Generator().manual_seed(seed + 1)
    tokens = torch.empty(num, length, dtype=torch.long)
    tokens[:, 0] = torch.randint(transitions.shape[0], (num,), generator=gen)
    for i in range(1, length):
        tokens[:, i] = torch.multinomial(transitions[tokens[:, i - 1]], 1, generator=gen).squeeze(1)
    return tokens


def entropy_rate(transitions: torch.Tensor, tokens: torch.Tensor) -> float:
    """The best achievable next-token loss (nats), weighting states by how often the data visits them."""
    per_state = -(transitions * transitions.log()).sum(dim=1)
    freq = torch.bincount(tokens[:, :-1].reshape(-1), minlength=transitions.shape[0]).double()
    return float((per_state.double() * freq).sum() / freq.sum())


# ---------------------------------------------------------------------- model
class TinyLM(nn.Module):
    """A small causal transformer with post-LayerNorm blocks (the original, warmup-hungry layout)."""

    def __init__(
        self, vocab_size: int = 32, seq_len: int = 32, d_model: int = 64, nhead: int = 4, layers: int = 2
    ):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Parameter(0.02 * torch.randn(seq_len, d_model))
        block = nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, dropout=0.0, batch_first=True)
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, vocab_size)
        self.register_buffer(
            "mask", nn.Transformer.generate_square_subsequent_mask(seq_len), persistent=False
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        n = tokens.shape[1]
        x = self.embed(tokens) + self.pos[:n]
        return self.head(self.blocks(x, mask=self.mask[:n, :n], is_causal=True))

    def loss(self, tokens: torch.Tensor) -> torch.Tensor:
        logits = self(tokens[:, :-1])
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))


# ---------------------------------------------------------------------- run
def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--steps", type=int, default=600, help="total optimizer steps, resumed ones included (default 600)"
    )
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--beta2", type=float, default=0.99)
    parser.add_argument("--weight-decay", type=float, default=0.01, help="decoupled (RAdamW) decay")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--every", type=int, default=10, help="detector evaluation period (steps)")
    parser.add_argument("--no-plot", action="store_true", help="do not write warmup_history.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume-from", default=None, help="a checkpoint written by an earlier run")
    parser.add_argument("--output-dir", default="runs/fabric_loop")
    args = parser.parse_args(argv)

    # plot=None: warmup_history.png whenever matplotlib is installed
    warmup = FabricWarmupDetectorCallback(every=args.every, plot=False if args.no_plot else None)
    fabric = Fabric(
        accelerator="cpu",
        devices=1,
        callbacks=[warmup],
        loggers=CSVLogger(args.output_dir, name="logs"),
    )
    fabric.seed_everything(args.seed)
    torch.set_num_threads(min(torch.get_num_threads(), 4))
    transitions = markov_chain(32, args.seed)
    tokens = markov_tokens(4096, 33, transitions, args.seed)

    model = TinyLM()
    optimizer = RAdam(
        model.parameters(),
        lr=args.lr,
        betas=(0.9, args.beta2),
        weight_decay=args.weight_decay,
        decoupled_weight_decay=True,
    )
    # fabric.setup(...) calls the callback's on_after_setup, which is how it finds fabric.log_dict
    model, optimizer = fabric.setup(model, optimizer)
    state = {"model": model, "optimizer": optimizer, "warmup": warmup, "step": 0}
    if args.resume_from:
        fabric.load(args.resume_from, state)  # restores the detector too: same T, counters, history
        fabric.print(f"resumed at step {state['step']}")

    order = torch.Generator().manual_seed(args.seed)
    losses: list[float] = []
    for step in range(state["step"], args.steps):
        # the batch depends only on the step, so a resumed run sees what an uninterrupted one would
        order.manual_seed(args.seed * 100_003 + step)
        batch = tokens[torch.randint(len(tokens), (args.batch_size,), generator=order)]
        loss = model.loss(fabric.to_device(batch))
        optimizer.zero_grad()
        fabric.backward(loss)
        optimizer.step()  # -> warmup.on_after_optimizer_step(...)
        losses.append(float(loss.detach()))
        if (step + 1) % 100 == 0:
            fabric.print(f"step {step + 1}: loss {sum(losses[-50:]) / len(losses[-50:]):.4f}")
        fabric.log("train_loss", losses[-1], step=step + 1)
    state["step"] = args.steps

    checkpoint = Path(args.output_dir) / "checkpoint.ckpt"
    fabric.save(checkpoint, state)
    fabric.call("on_train_end")  # prints the summary, writes warmup_history.json next to metrics.csv
    fabric.logger.finalize("success")

    (detector,) = warmup.detectors
    recent = losses[-50:]
    result = {
        "optimizer": type(detector.optimizer).__module__ + "." + type(detector.optimizer).__qualname__,
        "steps": args.steps,
        "final_loss": round(sum(recent) / len(recent), 4) if recent else None,  # this run's steps only
        "last_loss": losses[-1] if losses else None,
        "loss_floor": round(entropy_rate(transitions, tokens), 4),
        "evaluations": detector.evaluations,
        "history_steps": [record["step"] for record in detector.history],
        "settled_step": detector.settled_step,
        "suggested_warmup_steps": detector.suggested_warmup_steps,
        "checkpoint": str(checkpoint),
        "log_dir": fabric.logger.log_dir,
    }
    print(f"result: {json.dumps(result)}")
    return result


if __name__ == "__main__":
    main()
