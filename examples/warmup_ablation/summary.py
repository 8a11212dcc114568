"""Statistics of the results: one row per configuration, means and spreads over its seeds.

Final training loss (mean of the last 10 steps), final held-out accuracy, the steps each seed
took to bring the 10-step moving average of the loss under the target, and the detector's
settled step ``T`` and suggested warmup. A seed whose loss became NaN or infinite (stored as
``null`` in the strict-JSON results) counts as diverged: the loss statistics are over the other
seeds. The renderers (:mod:`.tables`, :mod:`.figure`) show these rows; nothing here formats text.

Example:
    >>> smoothed([4.0, 2.0, 0.0], window=2)
    [4.0, 3.0, 1.0]
    >>> steps_to_target([3.0] * 10 + [0.0] * 10, target=0.5)   # 10-step mean 0.3 at step 19
    19
    >>> final_loss([2.0] * 10), final_loss([2.0] * 9 + [None])   # a diverged run
    (2.0, nan)
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from .settings import Arm, DemoSettings

__all__ = ["final_loss", "runs_by_arm", "smoothed", "steps_to_target", "summarize"]


def _value(v: float | None) -> float:
    return math.nan if v is None else float(v)  # strict JSON stores NaN and inf as null


def smoothed(values: list[float | None], window: int = 10) -> list[float]:
    """The trailing moving average over ``window`` values (over fewer at the start); NaN once a value is."""
    values = [_value(v) for v in values]
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def final_loss(losses: list[float | None], window: int = 10) -> float:
    """Mean of the last ``window`` losses; NaN when one of them is not finite (the run diverged)."""
    last = [_value(v) for v in losses[-window:]]
    return statistics.fmean(last) if last and all(math.isfinite(v) for v in last) else math.nan


def steps_to_target(losses: list[float], target: float, window: int = 10) -> int | None:
    """First step (1-based) at which the ``window``-step moving average of the loss is below ``target``."""
    for i, value in enumerate(smoothed(losses, window)):
        if i + 1 >= window and value < target:
            return i + 1
    return None


def runs_by_arm(results: dict[str, Any]) -> list[tuple[Arm, list[dict[str, Any]]]]:
    """Each configuration with its runs, in the results' order; a configuration without runs is left out."""
    grouped = []
    for arm in (Arm(**a) for a in results["arms"]):
        mine = [r for r in results["runs"] if r["arm"] == arm.key]
        if mine:
            grouped.append((arm, mine))
    return grouped


def summarize(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per configuration: means and spreads over seeds."""
    settings = DemoSettings.from_dict(results["settings"])
    rows = []
    for arm, mine in runs_by_arm(results):
        losses = [final_loss(r["train_loss"]) for r in mine]
        finite = [v for v in losses if math.isfinite(v)]
        final_acc = [r["val"][-1]["val_accuracy"] for r in mine if r["val"]]
        reach = [steps_to_target(r["train_loss"], settings.target_loss) for r in mine]
        rows.append(
            {
                "key": arm.key,
                "label": arm.label,
                "warmup": mine[0]["warmup"],
                "final_loss_mean": statistics.fmean(finite) if finite else math.nan,
                "final_loss_std": statistics.pstdev(finite) if finite else math.nan,
                "diverged": len(losses) - len(finite),
                "val_accuracy_mean": statistics.fmean(final_acc) if final_acc else math.nan,
                "val_accuracy_std": statistics.pstdev(final_acc) if final_acc else math.nan,
                "steps_to_target": reach,
                "reached": sum(r is not None for r in reach),
                "seeds": len(mine),
                "settled_step": [r["settled_step"] for r in mine],
                "suggested_warmup": [r["suggested_warmup_steps"] for r in mine],
            }
        )
    return rows
