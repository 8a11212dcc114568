"""The paper's warmup ablation on a post-LN Transformer, trained with Lightning on a CPU.

The whole demo, top-down: every configuration of :mod:`.settings` with every seed
(:func:`.training.run_one`), the results file (:mod:`.results`), their statistics
(:mod:`.summary`) and the renderers (:mod:`.tables`, :mod:`.figure`). Results go to ``out``
(``runs/demo`` by default): ``demo_results.json`` (all raw metrics), ``metrics.csv``,
``summary.md`` and ``demo.png``; ``radam-integrations report runs/demo`` re-renders the table
and the figure from ``demo_results.json``.

The names callers use are importable from here (``from warmup_ablation.ablation import
DemoSettings, run_ablation, ...``); Lightning is imported only when a run starts.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from radam_integrations import theory

from .console import progress_bar
from .figure import plot_results
from .results import RESULTS_FILE, load_results, save_results, write_metrics_csv
from .settings import ARMS, Arm, DemoSettings, warmup_length
from .summary import steps_to_target, summarize
from .tables import describe_setup, markdown_table, terminal_table
from .training import run_one

__all__ = [
    "ARMS",
    "RESULTS_FILE",
    "Arm",
    "DemoSettings",
    "load_results",
    "markdown_table",
    "plot_results",
    "run_ablation",
    "run_one",
    "steps_to_target",
    "summarize",
    "terminal_table",
    "write_reports",
]


def run_ablation(settings: DemoSettings, out: Path, progress: bool = True) -> dict[str, Any]:
    """Run every configuration and seed, write the results, the table and the figure."""
    out.mkdir(parents=True, exist_ok=True)
    total = len(ARMS) * len(settings.seeds) * settings.steps
    bar = progress_bar(total, enabled=progress, unit="step")
    runs: list[dict[str, Any]] = []
    suggested: int | None = None
    source: str | None = None
    started = time.perf_counter()
    for arm in ARMS:
        if arm.warmup == "detector":
            suggested, source = _detector_suggestion(runs, settings)
        for seed in settings.seeds:
            bar.set_description(f"{arm.key} seed {seed}")
            length = warmup_length(arm, settings, suggested)
            runs.append(run_one(arm, seed, settings, length, on_step=lambda: bar.update(1)))
    bar.close()
    results = {
        "settings": settings.to_dict(),
        "arms": [asdict(a) for a in ARMS],
        "detector_suggested_warmup": suggested,
        "detector_suggestion_source": source,
        "seconds": time.perf_counter() - started,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "runs": runs,
    }
    save_results(results, out)
    write_reports(results, out)
    return results


def _detector_suggestion(runs: list[dict[str, Any]], settings: DemoSettings) -> tuple[int, str]:
    """Median of the RAdam runs' suggestions, or the untuned length if none settled; and which."""
    radam = [r for r in runs if r["arm"] == "radam"]
    values = [r["suggested_warmup_steps"] for r in radam if r["suggested_warmup_steps"]]
    if not values:
        return theory.untuned_linear_warmup(settings.beta2), (
            f"the detector did not settle in any of the {len(radam)} RAdam run(s) of {settings.steps} "
            "steps, so this is the untuned fallback 2/(1-beta2), not a measurement"
        )
    return int(statistics.median_low(values)), f"median over {len(values)} settled RAdam run(s)"


def write_reports(results: dict[str, Any], out: Path) -> dict[str, Path]:
    """``summary.md``, ``metrics.csv`` and ``demo.png`` from ``results``; prints the table."""
    settings = DemoSettings.from_dict(results["settings"])
    rows = summarize(results)
    intro = describe_setup(results)
    (out / "summary.md").write_text(f"{intro}\n\n{markdown_table(rows, settings)}\n")
    write_metrics_csv(results, out / "metrics.csv")
    print(intro)
    print(terminal_table(rows, settings))
    paths = {"summary": out / "summary.md", "metrics": out / "metrics.csv"}
    try:
        paths["figure"] = Path(plot_results(results, out / "demo.png"))
    except ImportError as err:
        print(f"(no figure: {err})")
    return paths
