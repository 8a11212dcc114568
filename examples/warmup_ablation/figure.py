"""The results as a figure (``demo.png``): loss curves, held-out accuracy, and the detector's view.

Needs matplotlib (an ImportError says so otherwise).
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from .settings import DemoSettings
from .summary import runs_by_arm, smoothed

__all__ = ["plot_results"]


def plot_results(results: dict[str, Any], path: Path) -> str:
    """Loss curves, held-out accuracy, and the detector's noise and staleness with T marked."""
    from .console import pyplot

    plt = pyplot()
    settings = DemoSettings.from_dict(results["settings"])
    keys = (a["key"] for a in results["arms"])
    colors = dict(zip(keys, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    (ax_loss, ax_acc), (ax_noise, ax_stale) = axes
    for arm, mine in runs_by_arm(results):
        color = colors[arm.key]
        curves = [smoothed(r["train_loss"]) for r in mine]
        steps = list(range(1, len(curves[0]) + 1))
        mean = [statistics.fmean(c[i] for c in curves) for i in range(len(steps))]
        ax_loss.plot(steps, mean, color=color, label=f"{arm.label} (warmup {mine[0]['warmup']})")
        if len(curves) > 1:
            lo = [min(c[i] for c in curves) for i in range(len(steps))]
            hi = [max(c[i] for c in curves) for i in range(len(steps))]
            ax_loss.fill_between(steps, lo, hi, color=color, alpha=0.15)
        val_steps = [p["step"] for p in mine[0]["val"]]
        acc = [statistics.fmean(r["val"][i]["val_accuracy"] for r in mine) for i in range(len(val_steps))]
        ax_acc.plot(val_steps, acc, color=color, marker="o", markersize=3)
        run = mine[0]  # the detector of the first seed
        rows = [d for d in run["detector"] if d["group"] == "pg0"]
        noise = [(d["step"], d["noise"]) for d in rows if _finite(d.get("noise"))]
        stale = [(d["step"], d["staleness"]) for d in rows if _finite(d.get("staleness"))]
        if noise:
            ax_noise.plot(*zip(*noise), color=color)
        if stale:
            ax_stale.plot(*zip(*stale), color=color)
        if run["settled_step"] is not None:
            for ax in (ax_noise, ax_stale):
                ax.axvline(run["settled_step"], color=color, linestyle="--", alpha=0.7)
    ax_loss.set_yscale("log")
    ax_loss.axhline(settings.target_loss, color="grey", linestyle=":", linewidth=1)
    ax_loss.set_title(f"training loss (10-step mean; band: min-max over {len(settings.seeds)} seeds)")
    ax_loss.legend(fontsize=8)
    ax_acc.set_title("held-out accuracy (mean over seeds)")
    ax_acc.set_ylim(0, 1.02)
    ax_noise.set_yscale("log")
    ax_noise.axhline(0.1, color="grey", linestyle=":", linewidth=1)
    ax_noise.set_title("detector: sampling noise of log psi (dashed: settled step T, seed 0)")
    ax_stale.axhline(0.1, color="grey", linestyle=":", linewidth=1)
    ax_stale.axhline(0.0, color="grey", linewidth=0.8)
    ax_stale.set_title("detector: staleness (> 0: psi over-estimated)")
    for ax in axes.flat:
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
    model = settings.model
    fig.suptitle(
        f"Warmup ablation: post-LN Transformer ({model.n_layers} layers), lr={settings.lr:g}, "
        f"beta2={settings.beta2}, sequence reversal"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
