"""The detector's metrics, computed from one evaluation's sums (definitions: docs/detector.md).

Pure functions of the weighted sums of :mod:`.sums` and the step count: no optimizer, no tensor.
The per-group metrics are :data:`GROUP_METRICS`; the run-level ones :data:`RUN_METRICS` and
:data:`RUN_WORST`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from .. import theory

__all__ = ["GROUP_METRICS", "RUN_METRICS", "RUN_WORST", "UpdateRule", "group_metrics", "update_rule"]

#: Metrics per parameter group, as ``warmup/<Optimizer>/<group>/<metric>``.
GROUP_METRICS = (
    "rho_t",
    "r_t",
    "var_ratio",
    "ess",
    "logpsi_std",
    "drift_mean",
    "drift_std",
    "noise",
    "noise_floor",
    "staleness",
    "update_rms",
    "update_to_param",
    "frac_zero_v",
    "nonfinite_frac",
    "lr",
    "settled",
    "settled_step",
    "beta2",
)
#: Run-level metrics (``warmup/<Optimizer>/<metric>``): T, relapses and the suggested warmup.
RUN_METRICS = ("settled_step", "relapses", "suggested_warmup_steps")
#: Run-level metrics that are the maximum over groups (``warmup/<Optimizer>/<metric>``).
RUN_WORST = ("noise", "staleness")


@dataclass(frozen=True)
class UpdateRule:
    """How the optimizer turns its state into an update, for ``update_to_param``.

    ``threshold=None``: Adam's ``m_hat / (sqrt(v_hat) + eps)`` at every step. Otherwise RAdam's:
    that update times ``r_t`` on rectified steps (``theory.applied_rectification``), and on the
    others ``m_hat`` (``degenerated_to_sgd``) or nothing.
    """

    threshold: float | None = None
    degenerated_to_sgd: bool = True


def update_rule(optimizer: Any, group: Mapping[str, Any]) -> UpdateRule:
    """The :class:`UpdateRule` of an optimizer's parameter group.

    ``torch.optim.RAdam`` is RAdam with torch's rule; a group with ``degenerated_to_sgd`` and
    ``threshold`` options is ``radam_integrations.RAdam`` (recognised by its options, so that
    this package needs no import of the optimizer); anything else updates like Adam.
    """
    if "threshold" in group and "degenerated_to_sgd" in group:
        return UpdateRule(float(group["threshold"]), bool(group["degenerated_to_sgd"]))
    if isinstance(optimizer, torch.optim.RAdam):
        return UpdateRule(5.0, True)
    return UpdateRule()


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def group_metrics(
    sums: Mapping[str, float], t: float, prev_t: float | None, beta2: float, lr: float, rule: UpdateRule
) -> dict[str, float]:
    """One evaluation's per-group metrics, up to ``nonfinite_frac`` (the settling rule adds the rest).

    Args:
        sums: the group's sums by :data:`~.sums.SUM_FIELDS` name (after any reduce over ranks).
        t: the group's step count; ``prev_t``: at the previous evaluation (``None``: none yet).
        beta2, lr: the group's options.
        rule: how its optimizer updates (see :func:`update_rule`).
    """
    rho = theory.rho_t(t, beta2)
    r = theory.r_t(t, beta2)
    mean_l = _ratio(sums["sum_logpsi"], sums["weight_v"])
    logpsi_std = math.sqrt(max(_ratio(sums["sum_logpsi_sq"], sums["weight_v"]) - mean_l**2, 0.0))
    drift_mean = _ratio(sums["sum_drift"], sums["weight_drift"])
    drift_var = max(_ratio(sums["sum_drift_sq"], sums["weight_drift"]) - drift_mean**2, 0.0)
    drift_std = math.sqrt(drift_var) if math.isfinite(drift_mean) else math.nan

    noise = noise_floor = staleness = math.nan
    lag = t - prev_t if prev_t is not None else 0.0
    if 0 < lag <= t and math.isfinite(drift_mean):
        # drift of log psi = -drift of log v_hat / 2
        c2 = theory.c2_from_drift(4.0 * drift_var, t, lag, beta2)
        noise = theory.logpsi_noise(c2, t, beta2)
        noise_floor = theory.logpsi_noise_floor(c2, beta2)
        staleness = -drift_mean / lag * (rho - 1.0) / 2.0

    if rule.threshold is None:
        update_norm = lr * math.sqrt(sums["sum_update_sq"])
    else:
        rect = theory.applied_rectification(t, beta2, rule.threshold)
        if rect > 0:
            update_norm = lr * rect * math.sqrt(sums["sum_update_sq"])
        elif rule.degenerated_to_sgd:
            update_norm = lr * math.sqrt(sums["sum_mhat_sq"])
        else:
            update_norm = 0.0
    return {
        "rho_t": rho,
        "r_t": r,
        "var_ratio": 1.0 / (r * r) if r > 0 else math.inf,
        "ess": theory.effective_sample_size(t, beta2),
        "logpsi_std": logpsi_std,
        "drift_mean": drift_mean,
        "drift_std": drift_std,
        "noise": noise,
        "noise_floor": noise_floor,
        "staleness": staleness,
        "update_rms": math.sqrt(_ratio(sums["sum_update_sq"], sums["weight"])),
        "update_to_param": _ratio(update_norm, math.sqrt(sums["sum_param_sq"])),
        "frac_zero_v": _ratio(sums["weight_zero_v"], sums["weight"]),
        "nonfinite_frac": _ratio(sums["weight_nonfinite"], sums["weight"] + sums["weight_nonfinite"]),
        "lr": lr,
    }
