"""What users would pick instead of RAdam, built the way their authors' READMEs use them.

* **Schedule-free RAdam** (``schedulefree.RAdamScheduleFree``, facebookresearch/schedule_free): no
  warmup, no schedule; the optimizer is put in ``.train()`` mode before training and evaluated in
  ``.eval()`` mode (its averaged weights swapped in), as its README requires. The HF task takes it
  through the Trainer's own ``optim="schedule_free_radam"``; timm and Lightning have no route to it,
  so the digits and reversal tasks build it here.
* **pytorch_warmup's rules** (Tony-Y/pytorch_warmup) on AdamW: ``UntunedLinearWarmup``,
  ``UntunedExponentialWarmup`` and ``RAdamWarmup``, each made from the optimizer and stepped as its
  README does: the learning-rate scheduler's step inside ``with warmup.dampening():``.

Example:
    >>> import torch
    >>> p = torch.nn.Parameter(torch.zeros(3))
    >>> opt = torch.optim.AdamW([p], lr=1.0, betas=(0.9, 0.99))
    >>> warmup = pytorch_warmup_rule(opt, "pw_untuned_linear")  # dampens the first step at once
    >>> round(opt.param_groups[0]["lr"], 4)                       # 1 / 200 (2 / (1 - beta2) steps)
    0.005
    >>> with eval_mode(opt):                                      # no-op for a non-schedule-free one
    ...     pass
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

__all__ = ["eval_mode", "pytorch_warmup_rule", "schedule_free_radam"]


def schedule_free_radam(
    params: Iterable[Any], *, lr: float, beta2: float, eps: float, weight_decay: float
) -> torch.optim.Optimizer:
    """``schedulefree.RAdamScheduleFree`` with the study's betas, eps and weight decay, in train mode."""
    from schedulefree import RAdamScheduleFree

    optimizer = RAdamScheduleFree(params, lr=lr, betas=(0.9, beta2), eps=eps, weight_decay=weight_decay)
    optimizer.train()  # its README: .train() before training steps, .eval() before evaluating
    return optimizer


def pytorch_warmup_rule(optimizer: torch.optim.Optimizer, schedule: str) -> Any:
    """pytorch_warmup's rule ``schedule`` (one of :data:`.spec.PYTORCH_WARMUP`) on ``optimizer``."""
    import pytorch_warmup

    rules = {
        "pw_untuned_linear": pytorch_warmup.UntunedLinearWarmup,
        "pw_untuned_exp": pytorch_warmup.UntunedExponentialWarmup,
        "pw_radamwarmup": pytorch_warmup.RAdamWarmup,
    }
    if schedule not in rules:
        raise ValueError(f"schedule must be one of {sorted(rules)}, got {schedule!r}")
    return rules[schedule](optimizer)


@contextmanager
def eval_mode(optimizer: Any) -> Iterator[None]:
    """A schedule-free optimizer's ``.eval()`` for the block, ``.train()`` after; others untouched."""
    switch = callable(getattr(optimizer, "eval", None)) and callable(getattr(optimizer, "train", None))
    if switch:
        optimizer.eval()
    try:
        yield
    finally:
        if switch:
            optimizer.train()
