"""pytorch_warmup's factors, straight from its classes: what a dampened schedule must multiply by.

Shared by the study tasks' tests (HF Trainer, timm, Lightning), each of which checks that its
framework's scheduler step, run inside ``warmup.dampening()``, gives ``lr * decay * omega_t``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import torch


def omegas(rule: str, steps: int, beta2: float = 0.99) -> list[float]:
    """pytorch_warmup's factor for optimizer steps 1..steps (``rule`` one of ``pw_untuned_linear``,
    ``pw_untuned_exp``, ``pw_radamwarmup``), from the library's own classes."""
    import pytorch_warmup

    cls = {
        "pw_untuned_linear": pytorch_warmup.UntunedLinearWarmup,
        "pw_untuned_exp": pytorch_warmup.UntunedExponentialWarmup,
        "pw_radamwarmup": pytorch_warmup.RAdamWarmup,
    }[rule]
    reference = cls(torch.optim.AdamW([torch.nn.Parameter(torch.ones(1))], betas=(0.9, beta2)))
    return [reference.warmup_factor(t - 1, **reference.warmup_params[0]) for t in range(1, steps + 1)]


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """One torch thread for the block: on a busy 2-core machine two make small steps 2-50x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Autouse in the test modules that import it: their small training runs on one torch thread."""
    with one_torch_thread():
        yield
