"""How many torch threads the pack's own programs use: the demo, the study, the benchmarks.

The library never changes a user's thread settings. The programs we run ourselves choose on
purpose, because on a small shared machine torch's default (one intra-op thread per core) is the
worst choice: beside one other CPU-bound process, two threads on two cores wait on each other
at every parallel region, and steps this small became 3-10x slower (issue 19: the quick demo took
62 s quiet, 185 s beside a busy loop, 603 s beside another torch process).

The choice, in order: the program's ``--threads N``; else ``OMP_NUM_THREADS`` when it is set; else
one thread (per worker process, where a program runs several). Programs print what they chose.

Example:
    >>> threads, why = choose_threads(3)
    >>> describe(threads, why, workers=2)
    'torch threads: 2 worker processes x 3 (--threads)'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["ENV", "choose_threads", "describe", "set_program_threads", "torch_threads"]

ENV = "OMP_NUM_THREADS"


def choose_threads(requested: int | None) -> tuple[int, str]:
    """``(threads, where the number came from)``.

    Raises:
        ValueError: ``requested`` or ``OMP_NUM_THREADS`` is not a positive whole number.
    """
    if requested is not None:
        if requested < 1:
            raise ValueError(f"--threads must be at least 1, got {requested}")
        return requested, "--threads"
    value = os.environ.get(ENV, "").strip()
    if value:
        try:
            threads = int(value)
        except ValueError:
            threads = 0
        if threads < 1:
            raise ValueError(f"{ENV}={value!r} is not a positive whole number; set it to e.g. 1, or unset it")
        return threads, ENV
    return 1, "default: one thread, which a busy machine cannot oversubscribe; --threads N to change"


def describe(threads: int, why: str, workers: int = 1) -> str:
    """The line a program prints about its choice."""
    per = f"{workers} worker processes x {threads}" if workers > 1 else f"{threads}"
    return f"torch threads: {per} ({why})"


def set_program_threads(requested: int | None, error: Callable[[str], object]) -> int:
    """For a program's ``main``: choose (:func:`choose_threads`), set torch's count, print the line.

    ``error`` reports a bad count (``parser.error``: one line, exit 2).
    """
    import torch

    try:
        threads, why = choose_threads(requested)
    except ValueError as err:
        error(str(err))
        raise
    torch.set_num_threads(threads)
    print(describe(threads, why))
    return threads


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)``; the previous number comes back after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
