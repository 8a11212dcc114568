"""The demo's model: a small post-LayerNorm Transformer encoder (needs only torch).

Post-LN (LayerNorm after each residual addition, as in the original Transformer) is the
architecture Liu et al. found most sensitive to warmup: without it, Adam's first large,
badly-scaled updates can derail training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int = 32
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 512
    max_len: int = 64
    dropout: float = 0.0


class PostLNTransformer(nn.Module):
    """Token embedding + learned positions + post-LN encoder layers + a per-token classifier.

    Example:
        >>> model = PostLNTransformer(ModelConfig(d_model=32, n_layers=2, d_ff=64))
        >>> model(torch.randint(0, 32, (2, 10))).shape
        torch.Size([2, 10, 32])
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        nn.init.normal_(self.embed.weight, std=config.d_model**-0.5)  # times sqrt(d) below: unit scale
        self.pos = nn.Parameter(torch.zeros(config.max_len, config.d_model))
        nn.init.normal_(self.pos, std=1.0)
        layer = nn.TransformerEncoderLayer(
            config.d_model,
            config.n_heads,
            config.d_ff,
            dropout=config.dropout,
            batch_first=True,
            norm_first=False,  # post-LN
        )
        self.encoder = nn.TransformerEncoder(layer, config.n_layers, enable_nested_tensor=False)
        self.head = nn.Linear(config.d_model, config.vocab_size)

    def forward(self, tokens: Tensor) -> Tensor:
        x = self.embed(tokens) * math.sqrt(self.config.d_model) + self.pos[: tokens.shape[1]]
        return self.head(self.encoder(x))
