"""The demo's task: reverse a random token sequence (generated on the fly, nothing to download).

Each example is a sequence of ``length`` tokens drawn uniformly from ``2..vocab_size-1``;
the target at position ``i`` is the token at position ``length - 1 - i``. Solving it needs
attention to route information across positions, which a post-LN Transformer learns in a
few hundred steps when training is stable. Chance accuracy is ``1 / (vocab_size - 2)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor


def reversal_batch(
    batch_size: int, length: int, vocab_size: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """``(tokens, targets)`` of shape ``[batch_size, length]``.

    >>> x, y = reversal_batch(2, 5, 10, torch.Generator().manual_seed(0))
    >>> bool((y == x.flip(1)).all())
    True
    """
    tokens = torch.randint(2, vocab_size, (batch_size, length), generator=generator)
    return tokens, tokens.flip(1)


class ReversalStream(torch.utils.data.IterableDataset):
    """An endless, seeded stream of reversal batches (already batched: use ``batch_size=None``)."""

    def __init__(self, batch_size: int, length: int, vocab_size: int, seed: int) -> None:
        super().__init__()
        self.batch_size, self.length, self.vocab_size, self.seed = batch_size, length, vocab_size, seed

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        generator = torch.Generator().manual_seed(self.seed)
        while True:
            yield reversal_batch(self.batch_size, self.length, self.vocab_size, generator)


def validation_set(size: int, length: int, vocab_size: int, seed: int = 12345) -> tuple[Tensor, Tensor]:
    """A fixed held-out set (the same for every configuration and seed)."""
    return reversal_batch(size, length, vocab_size, torch.Generator().manual_seed(seed))
