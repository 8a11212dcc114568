"""LightningCLI with radam_integrations.RAdam picked from the config or the command line.

Lightning has no optimizer registry: LightningCLI takes any ``torch.optim.Optimizer`` subclass by
its import path, so ``radam_integrations.RAdam`` needs no registration. The model here has no
``configure_optimizers``; the CLI builds one from the ``optimizer:`` block of the config:

    python recipes/lightning_cli.py fit --config recipes/lightning_cli.yaml
    python recipes/lightning_cli.py fit --config recipes/lightning_cli.yaml --trainer.max_steps 150
    python recipes/lightning_cli.py fit --config recipes/lightning_cli.yaml \\
        --optimizer radam_integrations.RAdam --optimizer.lr 0.001 --optimizer.weight_decay 0.01

Run time, measured on this project's 2-core CPU machine while other jobs shared it: the config's 600
steps take 18 s with ``OMP_NUM_THREADS=1`` and 140-415 s with torch's default two threads, whose parallel
regions wait on each other when the cores are busy (for a model this small one thread is the faster
choice on a loaded machine); ``--trainer.max_steps 150`` 10-12 s.

The config also attaches the warmup detector as a Trainer callback
(``radam_integrations.integrations.lightning.WarmupDetectorCallback``), which prints its summary
when training ends and writes ``warmup_history.json`` (and ``warmup_history.png`` when matplotlib
is installed; ``plot: false`` in the config turns it off) next to ``metrics.csv``. Without touching
the config, ``RADAM_WARMUP_DETECTOR=1`` attaches it to any Lightning run.

The model and data (a tiny post-LN transformer on tokens from a random Markov chain, generated: no
download) are the ones of ``lightning_configure_optimizers.py``, repeated here so that this file and
``lightning_cli.yaml`` stand alone. ``LanguageModel`` and ``MarkovTokens`` are handed to
``LightningCLI`` directly, so the config's ``model:`` and ``data:`` blocks hold only their init
arguments, with no ``class_path`` to resolve (a ``__main__.LanguageModel`` path would only work when
this file is the script being run).
"""

from __future__ import annotations

import collections
from typing import Any

import torch
from torch import nn

try:
    import lightning.pytorch as L
    from lightning.pytorch.cli import LightningCLI
except ImportError:  # only pytorch-lightning installed
    import pytorch_lightning as L
    from pytorch_lightning.cli import LightningCLI


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


# ---------------------------------------------------------------------- run
def main() -> None:
    # The optimizer comes from the config (`optimizer:`) or `--optimizer`; LanguageModel has no
    # configure_optimizers of its own, so LightningCLI adds one.
    LightningCLI(LanguageModel, MarkovTokens, save_config_kwargs={"overwrite": True})


if __name__ == "__main__":
    main()
