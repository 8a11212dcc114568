"""Experimental: a warmup measured on the run, and RAdam with a measured rectification.

Nothing here is imported by the rest of the package, and the names it gives frameworks are
registered only when asked for (:func:`register_all`, or ``python -m radam_integrations.experimental
SCRIPT``). What the study measured for both, where they help and where they do not, is in the
docs/experimental.md; the derivation in ``docs/measured_rectification.md``. APIs here may change
between minor releases.

* :class:`AutoWarmup`: a torch ``LRScheduler`` for any Adam-family optimizer, with no warmup
  length to set (timm's scheduler interface: :class:`~.timm_schedules.TimmAutoWarmup`).
* :class:`MeasuredRAdam`: :class:`radam_integrations.RAdam` whose ``r_t`` is measured per
  parameter group (through RAdam's :meth:`~radam_integrations.RAdam.rectification` hook).
* :class:`MeasuredRectification`: the measurement both use.

Example:
    >>> import torch
    >>> from radam_integrations.experimental import AutoWarmup, MeasuredRAdam
    >>> model = torch.nn.Linear(4, 2)
    >>> opt = MeasuredRAdam(model.parameters(), lr=1e-3)
    >>> sched = AutoWarmup(torch.optim.AdamW(model.parameters(), lr=1e-3))
"""

from __future__ import annotations

from .autowarmup import AutoWarmup
from .measured import MeasuredRectification
from .measured_radam import MeasuredRAdam
from .registration import register_all

__all__ = ["AutoWarmup", "MeasuredRAdam", "MeasuredRectification", "register_all"]
