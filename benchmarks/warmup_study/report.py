"""The study's tables and figures, from its results file (``radam-integrations report DIR`` re-renders them).

Writes into the run folder: ``study.md`` (per task: the arm table, the verdict, the flags) and
``study_<task>.png`` per task (left: held-out loss over the steps, mean over seeds, for RAdam,
AdamW without warmup, the best grid arm, the suggested arm and AutoWarmup; right: final
held-out loss against the warmup length, mean and spread over seeds, with RAdam as a band,
AutoWarmup as a line, the suggestion, the untuned length and 2T marked).

Example:
    >>> row = {"mean": 1.23456, "std": 0.01, "accuracy": 0.5, "diverged": 0, "seeds": 3,
    ...        "steps_to_target": 200, "reached_target": 3, "warmup": 100}
    >>> _cells("adamw-w100", row)[:3]
    ['adamw-w100', '100', '1.2346 ± 0.0100']
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from radam_integrations.tables import text_table

from .analysis import AUTO_ARM, rule_of_t_check, summarize_study, task_label, task_runs, verdict

__all__ = ["markdown_report", "plot_task", "terminal_report", "write_report"]

HEADER = ("arm", "warmup", "held-out loss", "accuracy", "diverged", "steps to target")


def _order(label: str, stats: dict[str, Any]) -> tuple[int, int]:
    first = {"radam": 0, "torch_radam": 1, "radam_measured": 1, "suggested": 3, "adamw-auto": 4}
    return (first.get(label, 2), stats["warmup"])


COSTS = (
    "task",
    "step share: ours",
    "torch RAdam",
    "AdamW",
    "detector overhead (probe)",
    "ours, measured",
    "AutoWarmup overhead",
)


def cost_rows(results: dict[str, Any]) -> list[list[str]]:
    """Per task: the optimizer step's share of the training loop (median over runs) and the detector's.

    The share is ``optimizer_seconds / seconds`` of each run (torch's step hooks; a closure's
    forward and backward subtracted); the detector's is the probe's time inside
    ``WarmupDetector.update`` over its training loop, at the detector's defaults; "ours,
    measured" is the step share of RAdam with ``rectify="measured"`` (its measurement runs inside
    the step); AutoWarmup's overhead is the time its measurement takes over the training loop
    (median over the ``adamw-auto`` runs).
    """
    rows = []
    for task in results["plan"]["tasks"]:
        label = task_label(task)
        runs = task_runs(results, task)

        def share(optimizer: str, runs: list[dict[str, Any]] = runs) -> str:
            values = [
                r["optimizer_seconds"] / r["seconds"]
                for r in runs
                if r["spec"]["optimizer"] == optimizer and r.get("optimizer_seconds") and r["seconds"] > 0
            ]
            return f"{100 * statistics.median(values):.1f}%" if values else "-"

        probe = results["probes"].get(label, {})
        overhead = (
            f"{100 * probe['detector_seconds'] / probe['seconds']:.2f}%"
            if probe.get("detector_seconds")
            else "-"
        )
        auto = [
            r["detector_seconds"] / r["seconds"]
            for r in runs
            if r["label"] == AUTO_ARM and r.get("detector_seconds") and r["seconds"] > 0
        ]
        auto_overhead = f"{100 * statistics.median(auto):.2f}%" if auto else "-"
        rows.append([
            label, share("radam"), share("torch_radam"), share("adamw"), overhead, share("radam_measured"),
            auto_overhead,
        ])  # fmt: skip
    return rows


def _cells(label: str, s: dict[str, Any]) -> list[str]:
    loss = f"{s['mean']:.4f} ± {s['std']:.4f}" if math.isfinite(s["mean"]) else "diverged"
    accuracy = "" if s["accuracy"] is None else f"{s['accuracy']:.3f}"
    reached = (
        f"{s['steps_to_target']:g}"
        if s["steps_to_target"] is not None
        else f"{s['reached_target']}/{s['seeds']} reached"
    )
    return [label, str(s["warmup"]), loss, accuracy, f"{s['diverged']}/{s['seeds']}", reached]


def _rows(summary: dict[str, Any]) -> list[list[str]]:
    arms = sorted(summary["arms"].items(), key=lambda item: _order(*item))
    return [_cells(label, stats) for label, stats in arms]


OVERVIEW = (
    "task",
    "warmup matters",
    "RAdam ~ best",
    "T (probe)",
    "suggested",
    "rank",
    "gap",
    "bar",
    "untuned",
    "auto",
    "RAdam measured",
)


def _auto_cell(auto: dict[str, Any] | None) -> str:
    if auto is None:
        return "-"
    return f"{'pass' if auto['passes'] else 'miss'} ({100 * auto['gap']:+.1f}%)"


def overview_rows(summaries: list[dict[str, Any]]) -> list[list[str]]:
    """One row per task: the issue's questions, answered (see :mod:`.analysis` for the definitions)."""
    rows = []
    for s in summaries:
        suggested = f"{s['suggested']['steps']}" + ("" if s["suggested"]["source"] == "detector" else "*")
        rows.append([
            s["task"], "yes" if s["warmup_matters"] else "no", "yes" if s["radam_removes_the_need"] else "no",
            str(s["settled_step"]), suggested,
            f"{s['suggestion_rank']}/{s['grid_size']}", f"{100 * s['suggestion_gap']:+.1f}%",
            "pass" if s["suggestion_passes"] else "miss", "pass" if s["untuned_passes"] else "miss",
            _auto_cell(s.get("auto")), _auto_cell(s.get("measured")),
        ])  # fmt: skip
    return rows


RULE = ("task", "T (probe)", "grid warmups that pass the bar", "suggested")


def rule_rows(summaries: list[dict[str, Any]]) -> list[list[str]]:
    """Per task: which of the grid's warmups pass the issue's bar, beside T and the suggestion."""
    order = sorted(summaries, key=lambda s: (s["settled_step"] is None, s["settled_step"] or 0))
    return [
        [
            s["task"], str(s["settled_step"]),
            ", ".join(str(w) for w in s["passing_warmups"]) or "none",
            f"{s['suggested']['steps']}" + ("" if s["suggested"]["source"] == "detector" else "*"),
        ]
        for s in order
    ]  # fmt: skip


def rule_sentence(summaries: list[dict[str, Any]]) -> str:
    """Whether any rule ``W = f(T)``, ``f`` non-decreasing, could pass every task (on the grid)."""
    check = rule_of_t_check(summaries)
    if check["possible"]:
        picks = ", ".join(f"{task} {w}" for task, w in check["choice"].items())
        return (
            "A non-decreasing rule of T alone could pass every task whose probe settled, on this grid "
            f"({picks})."
        )
    low, high = check["conflict"]
    if low is None:
        return f"No grid warmup passes the bar on {high}: no rule could pass it on this grid."
    return (
        f"No rule W = f(T) with f non-decreasing passes every task on this grid: {low} needs a longer "
        f"warmup than any that passes on {high}, whose T is not smaller."
    )


def markdown_report(results: dict[str, Any]) -> str:
    """``study.md``: the overview, then one section per task."""
    tasks = {task_label(t): t for t in results["plan"]["tasks"]}
    summaries = summarize_study(results)
    parts = [
        "\n".join([
            "| " + " | ".join(OVERVIEW) + " |",
            "| " + " | ".join("---" for _ in OVERVIEW) + " |",
            *("| " + " | ".join(row) + " |" for row in overview_rows(summaries)),
            "",
            "`*`: the probe did not settle; the suggestion is the untuned `2 / (1 - beta2)`. rank: among the "
            "AdamW grid arms by mean held-out loss; gap: against the best grid arm; bar and untuned: the "
            "issue's criterion for the suggested and the untuned warmup; auto: the same for AutoWarmup "
            "(the `adamw-auto` arm), RAdam measured: for RAdam with `rectify=\"measured\"`, each with its "
            "gap to the best grid arm.",
            "",
            "| " + " | ".join(COSTS) + " |",
            "| " + " | ".join("---" for _ in COSTS) + " |",
            *("| " + " | ".join(row) + " |" for row in cost_rows(results)),
            "",
            "| " + " | ".join(RULE) + " |",
            "| " + " | ".join("---" for _ in RULE) + " |",
            *("| " + " | ".join(row) + " |" for row in rule_rows(summaries)),
            "",
            rule_sentence(summaries),
        ])
    ]  # fmt: skip
    for summary in summaries:
        task, seeds = tasks[summary["task"]], len(results["plan"]["seeds"])
        lines = [
            f"## {summary['task']}",
            "",
            f"lr {task['lr']:g}, beta2 {task['beta2']:g}, {task['steps']} steps, {seeds} seeds; target "
            f"held-out loss {task['target']:g}; probe {task['probe_steps']} steps (RAdam, seed 0): "
            f"T = {summary['settled_step']}, suggested warmup {summary['suggested']['steps']} "
            f"({summary['suggested']['source']}).",
            "",
            "| " + " | ".join(HEADER) + " |",
            "| " + " | ".join("---" for _ in HEADER) + " |",
            *("| " + " | ".join(cells) + " |" for cells in _rows(summary)),
            "",
            verdict(summary),
        ]
        lines += [f"- note: {flag}" for flag in summary["flags"]]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def terminal_report(results: dict[str, Any]) -> str:
    summaries = summarize_study(results)
    out = (
        [
            text_table(OVERVIEW, overview_rows(summaries)),
            text_table(COSTS, cost_rows(results)),
            f"{text_table(RULE, rule_rows(summaries))}\n{rule_sentence(summaries)}",
        ]
        if summaries
        else []
    )
    for summary in summaries:
        out.append(f"{summary['task']}\n{text_table(HEADER, _rows(summary))}\n{verdict(summary)}")
        out += [f"  note: {flag}" for flag in summary["flags"]]
    return "\n\n".join(out)


def plot_task(results: dict[str, Any], summary: dict[str, Any], path: Path) -> Path:
    """The two-panel figure of one task (needs matplotlib)."""
    from warmup_ablation.console import pyplot

    plt = pyplot()
    task = next(t for t in results["plan"]["tasks"] if task_label(t) == summary["task"])
    runs = task_runs(results, task)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    shown = ["radam", "adamw", summary["best_grid_arm"], "suggested"]
    if AUTO_ARM in summary["arms"]:
        shown.append(AUTO_ARM)
    for label in dict.fromkeys(shown):
        curves = [r["evals"] for r in runs if r["label"] == label]
        steps = [e[0] for e in curves[0]]
        means = [_mean([c[i][1] for c in curves]) for i in range(len(steps))]
        left.plot(steps, means, marker=".", label=f"{label} (w={summary['arms'][label]['warmup']})")
    left.set(xlabel="step", ylabel="held-out loss (mean over seeds)", title=summary["task"])
    left.legend(fontsize=8)
    grid = sorted(
        (
            (s["warmup"], s)
            for label, s in summary["arms"].items()
            if label == "adamw" or label.startswith("adamw-w")
        ),
        key=lambda item: item[0],
    )
    xs = [max(w, 1) for w, _ in grid]
    right.errorbar(
        xs, [s["mean"] for _, s in grid], yerr=[s["std"] for _, s in grid], marker="o", label="AdamW, grid"
    )
    radam = summary["arms"]["radam"]
    right.axhspan(radam["mean"] - radam["std"], radam["mean"] + radam["std"], alpha=0.2, color="C2")
    right.axhline(radam["mean"], color="C2", label="RAdam, no warmup")
    auto = summary["arms"].get(AUTO_ARM)
    if auto is not None:
        right.axhline(auto["mean"], color="C4", linestyle="-.", label="AutoWarmup (measured)")
    sugg = summary["arms"]["suggested"]
    right.errorbar([max(sugg["warmup"], 1)], [sugg["mean"]], yerr=[sugg["std"]], marker="*", markersize=14,
                   color="C3", linestyle="none", label=f"suggested ({sugg['warmup']})")  # fmt: skip
    if summary["settled_step"]:
        right.axvline(
            2 * summary["settled_step"],
            color="C3",
            linestyle=":",
            label=f"2T = {2 * summary['settled_step']}",
        )
    right.axvline(task["steps"], color="grey", linestyle="--", label=f"budget {task['steps']}")
    right.set(xscale="log", xlabel="linear warmup steps (0 drawn at 1)", ylabel="final held-out loss")
    right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _mean(values: list[float]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if len(finite) == len(values) else math.nan


def write_report(results: dict[str, Any], out: Path, *, plot: bool = True) -> list[Path]:
    """``study.md`` and (with matplotlib) one figure per task in ``out``; returns the paths."""
    from radam_integrations.files import atomic_write

    written = []
    with atomic_write(out / "study.md", "w") as fh:
        fh.write(markdown_report(results))
    written.append(out / "study.md")
    if plot:
        for summary in summarize_study(results):
            name = summary["task"].replace("/", "_").replace("@", "_lr")
            written.append(plot_task(results, summary, out / f"study_{name}.png"))
    return written
