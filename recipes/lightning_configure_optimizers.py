"""RAdam in a LightningModule's ``configure_optimizers``, with the warmup detector attached.

A tiny post-LN transformer (the kind that needs learning-rate warmup with Adam) learns to predict
the next token of sequences drawn from a random Markov chain, generated here: no download.
``configure_optimizers`` returns ``radam_integrations.RAdam``, with no warmup scheduler; the
``WarmupDetectorCallback`` logs how the adaptive learning rate settles and prints, at the end, the
step T after which warmup no longer mattered and the linear warmup it would suggest.

    python recipes/lightning_configure_optimizers.py                            # RAdam, 600 steps
    python recipes/lightning_configure_optimizers.py --optimizer adamw-warmup   # AdamW + linear warmup
    python recipes/lightning_configure_optimizers.py --steps 150 --no-plot      # quick: settles at 90

Run time, measured on this project's 2-core CPU machine while other jobs shared it: the default 600
steps take 18-20 s with ``OMP_NUM_THREADS=1`` (``--optimizer adamw-warmup`` the same) and 100-155 s
with torch's default two threads, whose parallel regions wait on each other when the cores are busy
(for a model this small one thread is the faster choice on a loaded machine), 4.5-5.5 min for
``adamw-warmup``; ``--steps 150 --no-plot`` 9-10 s.

The last line printed is ``result: {...}`` (JSON): optimizer, final loss (mean of the last 50
steps), the loss floor (the chain's entropy rate), the settled step and the output directory
(``metrics.csv``, ``warmup_history.json`` and, with matplotlib installed, ``warmup_history.png``;
``radam-integrations report DIR`` reads it). The file stands alone: copy it anywhere and run it.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from typing import Any

import torch
from torch import nn

try:
    import lightning.pytorch as L
except ImportError:  # only pytorch-lightning installed
    import pytorch_lightning as L

from radam_integrations import RAdam, theory
from radam_integrations.integrations.lightning import WarmupDetectorCallback


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


class MarkovTokens(L.LightningDataModule):
    """Sequences from a random Markov chain (generated, seeded)."""

    def __init__(
        self,
        vocab_size: int = 32,
        seq_len: int = 32,
        num_sequences: int = 4096,
        batch_size: int = 32,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.vocab_size, self.seq_len = vocab_size, seq_len
        self.num_sequences, self.batch_size, self.seed = num_sequences, batch_size, seed
        self.transitions = markov_chain(vocab_size, seed)
        self.tokens = markov_tokens(num_sequences, seq_len + 1, self.transitions, seed)

    @property
    def loss_floor(self) -> float:
        return entropy_rate(self.transitions, self.tokens)

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(self.tokens),
            batch_size=self.batch_size,
            shuffle=True,
            generator=torch.Generator().manual_seed(self.seed),
        )


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


class LanguageModel(L.LightningModule):
    """TinyLM as a LightningModule, without ``configure_optimizers`` (LightningCLI supplies one)."""

    def __init__(
        self, vocab_size: int = 32, seq_len: int = 32, d_model: int = 64, nhead: int = 4, layers: int = 2
    ):
        super().__init__()
        self.save_hyperparameters()
        self.net = TinyLM(vocab_size, seq_len, d_model, nhead, layers)
        self.recent_losses: collections.deque[float] = collections.deque(maxlen=50)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = self.net.loss(batch[0])
        self.log("train_loss", loss, prog_bar=True)
        self.recent_losses.append(float(loss.detach()))
        return loss

    @property
    def final_loss(self) -> float:
        """Mean training loss of the last 50 steps (one batch alone is too noisy to compare)."""
        return sum(self.recent_losses) / max(len(self.recent_losses), 1)

    def on_train_start(self) -> None:
        opt = self.trainer.optimizers[0]
        self.print(f"optimizer: {type(opt).__module__}.{type(opt).__qualname__} {opt.defaults['betas']}")


class RAdamLanguageModel(LanguageModel):
    """``configure_optimizers`` returns RAdam (no scheduler), or AdamW with linear warmup to compare."""

    def __init__(
        self,
        optimizer: str = "radam",
        lr: float = 3e-3,
        beta2: float = 0.99,
        weight_decay: float = 0.01,
        warmup_steps: int | None = None,
        **model: Any,
    ) -> None:
        super().__init__(**model)
        self.save_hyperparameters()

    def configure_optimizers(self) -> Any:
        h = self.hparams
        betas = (0.9, h.beta2)
        if h.optimizer == "radam":
            # decoupled_weight_decay=True: RAdamW, the AdamW-style decay
            return RAdam(
                self.parameters(),
                lr=h.lr,
                betas=betas,
                weight_decay=h.weight_decay,
                decoupled_weight_decay=True,
            )
        warmup = h.warmup_steps or theory.untuned_linear_warmup(h.beta2)
        opt = torch.optim.AdamW(self.parameters(), lr=h.lr, betas=betas, weight_decay=h.weight_decay)
        ramp = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / warmup))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": ramp, "interval": "step"}}


# ---------------------------------------------------------------------- run
def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--optimizer", choices=["radam", "adamw-warmup"], default="radam")
    parser.add_argument("--steps", type=int, default=600, help="optimizer steps (default 600)")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--beta2", type=float, default=0.99)
    parser.add_argument("--weight-decay", type=float, default=0.01, help="decoupled (RAdamW) decay")
    parser.add_argument(
        "--warmup-steps", type=int, default=None, help="adamw-warmup only (default 2/(1-beta2))"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--every", type=int, default=10, help="detector evaluation period (steps)")
    parser.add_argument("--no-plot", action="store_true", help="do not write warmup_history.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="runs/lightning_configure_optimizers")
    args = parser.parse_args(argv)

    L.seed_everything(args.seed, verbose=False)
    torch.set_num_threads(min(torch.get_num_threads(), 4))
    data = MarkovTokens(batch_size=args.batch_size, seed=args.seed)
    model = RAdamLanguageModel(
        args.optimizer, args.lr, args.beta2, args.weight_decay, warmup_steps=args.warmup_steps
    )
    # plot=None: warmup_history.png whenever matplotlib is installed
    detector = WarmupDetectorCallback(every=args.every, plot=False if args.no_plot else None)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=args.steps,
        callbacks=[detector],
        logger=L.loggers.CSVLogger(args.output_dir, name=args.optimizer),
        log_every_n_steps=args.every,  # a divisor of the detector's period: no evaluation dropped
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=sys.stdout.isatty(),
    )
    trainer.fit(model, datamodule=data)

    (warmup,) = detector.detectors
    result = {
        "optimizer": args.optimizer,
        "steps": trainer.global_step,
        "final_loss": round(model.final_loss, 4),
        "loss_floor": round(data.loss_floor, 4),
        "evaluations": warmup.evaluations,
        "settled_step": warmup.settled_step,
        "suggested_warmup_steps": warmup.suggested_warmup_steps,
        "output_dir": trainer.log_dir,
    }
    print(f"result: {json.dumps(result)}")
    return result


if __name__ == "__main__":
    main()
