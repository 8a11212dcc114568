"""Byte-level language-modelling data nobody on this project wrote: CPython's own standard library.

The corpus is the top-level ``*.py`` files of ``sysconfig.get_paths()["stdlib"]`` (no
``site-packages``, no ``test*`` modules, no ``_sysconfigdata_*``, which describes the machine's
build rather than being library code), read as bytes: the vocabulary is the 256 byte values.
Files are sorted by name and split BY FILE (every ``held_out_every``-th file is held out), so no
held-out block shares a file with a training block. Each file is cut into non-overlapping
``block_size``-byte blocks (its tail dropped); when a side has more blocks than its byte cap
allows, evenly spaced blocks are kept, so the cap samples the whole library, not its first
files alphabetically. The same Python version gives the same data; :meth:`Corpus.describe`
records the version, the byte counts and a hash of the blocks.

Pure torch + stdlib.

Example:
    >>> corpus = load_corpus(block_size=64, max_train_bytes=2**16, max_held_out_bytes=2**12)
    >>> corpus.train.shape, corpus.held_out.shape
    (torch.Size([1024, 64]), torch.Size([64, 64]))
    >>> item = corpus.train_dataset(seed=0)[0]
    >>> sorted(item), item["input_ids"].dtype, bool((item["input_ids"] == item["labels"]).all())
    (['input_ids', 'labels'], torch.int64, True)
    >>> set(corpus.train_files).isdisjoint(corpus.held_out_files)
    True
"""

from __future__ import annotations

import functools
import hashlib
import platform
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = ["VOCAB_SIZE", "ByteBlocks", "Corpus", "load_corpus", "split_by_file", "stdlib_files"]

#: Byte values: the vocabulary.
VOCAB_SIZE = 256

_SKIPPED_PREFIXES = ("test", "_sysconfigdata")


def stdlib_files(root: str | Path | None = None) -> list[Path]:
    """The standard library's top-level ``.py`` files, sorted by name (tests and build config left out).

    >>> files = stdlib_files()
    >>> files == sorted(files) and all(f.suffix == ".py" for f in files)
    True
    """
    folder = Path(root if root is not None else sysconfig.get_paths()["stdlib"])
    return sorted(
        (p for p in folder.glob("*.py") if p.is_file() and not p.name.startswith(_SKIPPED_PREFIXES)),
        key=lambda p: p.name,
    )


def split_by_file(files: list[Path], held_out_every: int = 10) -> tuple[list[Path], list[Path]]:
    """``(train, held_out)``: every ``held_out_every``-th file, from the first, is held out.

    >>> split_by_file([Path(f"{c}.py") for c in "abcde"], held_out_every=2)
    ([PosixPath('b.py'), PosixPath('d.py')], [PosixPath('a.py'), PosixPath('c.py'), PosixPath('e.py')])
    """
    if held_out_every < 2:
        raise ValueError(f"held_out_every must be >= 2 (some files must train), got {held_out_every}")
    held_out = [f for i, f in enumerate(files) if i % held_out_every == 0]
    train = [f for i, f in enumerate(files) if i % held_out_every != 0]
    return train, held_out


def _read_blocks(files: list[Path], block_size: int) -> tuple[Tensor, list[str], int]:
    """``(blocks [n, block_size] uint8, names of the files read, bytes read)``; unreadable files skipped."""
    chunks: list[Tensor] = []
    names: list[str] = []
    total = 0
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        names.append(path.name)
        total += len(data)
        usable = len(data) - len(data) % block_size
        if usable:
            chunks.append(torch.frombuffer(bytearray(data[:usable]), dtype=torch.uint8).view(-1, block_size))
    if not chunks:
        return torch.empty(0, block_size, dtype=torch.uint8), names, total
    return torch.cat(chunks), names, total


def _spread(blocks: Tensor, max_blocks: int) -> Tensor:
    """At most ``max_blocks`` rows, evenly spaced over ``blocks`` (all of them when they fit)."""
    n = len(blocks)
    if n <= max_blocks:
        return blocks
    return blocks[torch.arange(max_blocks) * n // max_blocks]


class ByteBlocks(torch.utils.data.Dataset):
    """Blocks of bytes as ``{"input_ids", "labels"}`` (int64, identical: the model shifts the labels).

    >>> data = ByteBlocks(torch.tensor([[104, 105]], dtype=torch.uint8))
    >>> len(data), data[0]["labels"].tolist()
    (1, [104, 105])
    """

    def __init__(self, blocks: Tensor) -> None:
        self.blocks = blocks

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        ids = self.blocks[index].long()
        return {"input_ids": ids, "labels": ids}


@dataclass(frozen=True)
class Corpus:
    """Training and held-out blocks of the standard library (see the module docstring)."""

    block_size: int
    train: Tensor  # [n_train, block_size] uint8
    held_out: Tensor  # [n_held_out, block_size] uint8
    train_files: tuple[str, ...]
    held_out_files: tuple[str, ...]
    train_bytes_read: int
    held_out_bytes_read: int
    held_out_every: int
    root: str

    def train_dataset(self, seed: int) -> ByteBlocks:
        """The training blocks in a seeded random order (the same order for the same seed)."""
        order = torch.randperm(len(self.train), generator=torch.Generator().manual_seed(seed))
        return ByteBlocks(self.train[order])

    def held_out_dataset(self) -> ByteBlocks:
        return ByteBlocks(self.held_out)

    def unigram_loss(self) -> float:
        """Held-out cross-entropy (nats per byte) of the training bytes' frequencies (add-one).

        What a model that ignores the context scores: a run that ends here has collapsed to
        predicting byte frequencies, however far below the initial loss that is. The causal
        loss predicts every byte but the first of each block, so those are the ones counted.
        """
        counts = torch.bincount(self.train.reshape(-1).long(), minlength=256).double() + 1.0
        log_p = (counts / counts.sum()).log()
        return float(-log_p[self.held_out[:, 1:].reshape(-1).long()].mean())

    def digest(self) -> str:
        """SHA-256 (first 16 hex digits) of the block size, training and held-out blocks."""
        h = hashlib.sha256(str(self.block_size).encode())
        h.update(self.train.numpy().tobytes())
        h.update(b"|")
        h.update(self.held_out.numpy().tobytes())
        return h.hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """What the data is, JSON-safe: enough to tell whether two machines trained on the same bytes."""
        return {
            "source": "CPython stdlib top-level *.py files",
            "python_version": platform.python_version(),
            "root": self.root,
            "vocab_size": VOCAB_SIZE,
            "block_size": self.block_size,
            "held_out_every": self.held_out_every,
            "train_files": len(self.train_files),
            "held_out_files": len(self.held_out_files),
            "train_bytes_read": self.train_bytes_read,
            "held_out_bytes_read": self.held_out_bytes_read,
            "train_blocks": len(self.train),
            "held_out_blocks": len(self.held_out),
            "train_bytes_used": self.train.numel(),
            "held_out_bytes_used": self.held_out.numel(),
            "sha256_16": self.digest(),
        }


@functools.lru_cache(maxsize=8)
def load_corpus(
    block_size: int = 64,
    max_train_bytes: int = 2**20,
    max_held_out_bytes: int = 2**13,
    held_out_every: int = 10,
    root: str | None = None,
) -> Corpus:
    """Read, split and cap the corpus (cached: runs in one process share it; do not modify its tensors).

    Args:
        block_size: bytes per block (the model's context).
        max_train_bytes, max_held_out_bytes: caps on the bytes used on each side (whole blocks).
        held_out_every: every n-th file (sorted by name) is held out.
        root: the folder to read (default: this interpreter's standard library).
    """
    if block_size < 2:
        raise ValueError(f"block_size must be >= 2 (a next byte to predict), got {block_size}")
    folder = str(root if root is not None else sysconfig.get_paths()["stdlib"])
    train_files, held_out_files = split_by_file(stdlib_files(folder), held_out_every)
    train, train_names, train_read = _read_blocks(train_files, block_size)
    held_out, held_out_names, held_out_read = _read_blocks(held_out_files, block_size)
    train = _spread(train, max(1, max_train_bytes // block_size))
    held_out = _spread(held_out, max(1, max_held_out_bytes // block_size))
    if not len(train) or not len(held_out):
        raise RuntimeError(f"no {block_size}-byte blocks found in the .py files of {folder}")
    return Corpus(
        block_size=block_size,
        train=train,
        held_out=held_out,
        train_files=tuple(train_names),
        held_out_files=tuple(held_out_names),
        train_bytes_read=train_read,
        held_out_bytes_read=held_out_read,
        held_out_every=held_out_every,
        root=folder,
    )
