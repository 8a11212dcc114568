"""The study's tables and figures, from its results file (``radam-integrations report DIR`` re-renders them).

Writes into the run folder: ``study.md`` (per task: the arm table, the verdict, the flags) and
``study_<task>.png`` per task (left: held-out loss over the steps, mean over seeds, for RAdam,
AdamW without warmup, the best grid arm, the suggested arm and AutoWarmup; right: final
held-out loss against the warmup length, mean and spread over seeds, with RAdam as a band,
AutoWarmup as a line, the suggestion, the untuned length and 2T marked).

Example:
    >>> row = {"mean": 1.23456, "std": 0.01, "accuracy": 0.5, "diverged": 0, "seeds": 3,
    ...        "steps_to_target": 200, "reached_target": 3, "warmup": 100}
    >>> _cells("adamw-w100", {**row, "train": 1.1})[:3]
    ['adamw-w100', '100', '1.2346 ± 0.0100']
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from radam_integrations.tables import text_table

from .analysis import (
    AUTO_ARM,
    close_to,
    gap_text,
    regime_runs,
    rule_of_t_check,
    summarize_study,
    task_label,
    task_runs,
    verdict,
)

__all__ = [
    "choice_cells",
    "decision_data",
    "decision_panels",
    "decision_report",
    "decision_rows",
    "decision_sentences",
    "markdown_report",
    "plot_decision",
    "plot_task",
    "terminal_report",
    "write_report",
]  # fmt: skip

HEADER = ("arm", "warmup", "held-out loss", "accuracy", "diverged", "steps to target", "train loss")


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
    train = f"{s['train']:.4f}" if math.isfinite(s.get("train", math.inf)) else "-"
    return [label, str(s["warmup"]), loss, accuracy, f"{s['diverged']}/{s['seeds']}", reached, train]


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


def _auto_cell(auto: dict[str, Any] | None, measure: str) -> str:
    if auto is None:
        return "-"
    return f"{'pass' if auto['passes'] else 'miss'} ({gap_text(measure, auto)})"


def overview_rows(summaries: list[dict[str, Any]]) -> list[list[str]]:
    """One row per task: the issue's questions, answered (see :mod:`.analysis` for the definitions)."""
    rows = []
    for s in summaries:
        suggested = f"{s['suggested']['steps']}" + ("" if s["suggested"]["source"] == "detector" else "*")
        rows.append([
            s["task"], "yes" if s["warmup_matters"] else "no", "yes" if s["radam_removes_the_need"] else "no",
            str(s["settled_step"]), suggested,
            f"{s['suggestion_rank']}/{s['grid_size']}",
            gap_text(s["measure"], {"gap": s["suggestion_gap"], "diff": s["suggestion_diff"]}),
            "pass" if s["suggestion_passes"] else "miss", "pass" if s["untuned_passes"] else "miss",
            _auto_cell(s.get("auto"), s["measure"]), _auto_cell(s.get("measured"), s["measure"]),
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


def markdown_report(results: dict[str, Any], summaries: list[dict[str, Any]] | None = None) -> str:
    """``study.md``: the overview, then one section per task (``summaries``: :func:`summarize_study`'s,
    if already computed)."""
    tasks = {task_label(t): t for t in results["plan"]["tasks"]}
    summaries = summarize_study(results) if summaries is None else summaries
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
        task, seeds = tasks[summary["plan_task"]], len(results["plan"]["seeds"])
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


DECISION = (
    "choice", "held-out loss", "accuracy", "diverged", "train loss", "optimizer step (ms)", "state (B/param)",
    "optimizer", "betas",
)  # fmt: skip


def choice_cells(c: dict[str, Any]) -> list[str]:
    """One choice's row of a decision table, from its :func:`decision_data` entry (or its summary)."""
    loss = f"{c['mean']:.4f} ± {c['std']:.4f}" if math.isfinite(c["mean"]) else "failed"
    ms, state, train = c["optimizer_step_ms"], c["state_bytes_per_parameter"], c["train"]
    return [
        c["choice"], loss, "" if c["accuracy"] is None else f"{c['accuracy']:.3f}",
        f"{c['diverged']}/{c['seeds']}", f"{train:.4f}" if math.isfinite(train) else "-",
        "-" if ms is None else f"{ms:.2f}", "-" if state is None else f"{state:g}",
        (c["optimizer_class"] or "-").rsplit(".", 1)[-1],
        "-" if c["betas"] is None else "/".join(f"{b:g}" for b in c["betas"]),
    ]  # fmt: skip


def decision_rows(summary: dict[str, Any]) -> list[list[str]]:
    """One row per choice a user has (:func:`.analysis.choices`), in one task and regime."""
    return [choice_cells(c) for c in summary["choices"]]


def decision_sentences(summary: dict[str, Any]) -> list[str]:
    """What one task and regime's choices say, in plain sentences, numbers from the same summary."""
    picks = [c for c in summary["choices"] if math.isfinite(c["mean"])]
    if not picks:
        return [f"{summary['task']}: every choice failed."]
    best = min(picks, key=lambda c: c["mean"])
    by_arm = {c["arm"]: c for c in summary["choices"]}
    radam, measure = by_arm.get("radam"), summary["measure"]

    def versus(c: dict[str, Any]) -> str:
        diff = c["mean"] - best["mean"]
        return gap_text(measure, {"diff": diff, "gap": diff / best["mean"]})

    out = [
        f"{summary['task']}: the lowest held-out loss was {best['choice']} ({best['mean']:.4f} ± "
        f"{best['std']:.4f})."
    ]
    if radam is not None and radam is not best:
        close = close_to(radam, best, measure)
        out.append(
            f"RAdam without warmup reached {radam['mean']:.4f} ± {radam['std']:.4f} ({versus(radam)}): "
            + ("within the seed spread or tolerance of it." if close else "RAdam lost here.")
        )
    failed = [c["choice"] for c in summary["choices"] if c["diverged"]]
    if failed:
        out.append("Failed in at least one seed: " + "; ".join(failed) + ".")
    return out


def decision_report(results: dict[str, Any], summaries: list[dict[str, Any]] | None = None) -> str:
    """``decision.md``: per task and regime, the choices side by side, then the sentences."""
    parts = [
        "Held-out loss: mean ± sample std over seeds; hyperparameters (schedule-free RAdam's lr, the "
        "swept warmup) chosen on the final training loss, never on the held-out split; optimizer step: "
        "median ms per step over seeds; state: bytes of optimizer state per parameter element."
    ]
    for summary in summarize_study(results) if summaries is None else summaries:
        if not summary["choices"]:
            continue
        parts.append("\n".join([
            f"## {summary['task']}",
            "",
            "| " + " | ".join(DECISION) + " |",
            "| " + " | ".join("---" for _ in DECISION) + " |",
            *("| " + " | ".join(row) + " |" for row in decision_rows(summary)),
            "",
            *decision_sentences(summary),
        ]))  # fmt: skip
    return "\n\n".join(parts) + "\n"


def decision_data(
    results: dict[str, Any], summaries: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The decision tables as data (``decision.json``): what the docs and the README quote."""
    keys = ("choice", "arm", "mean", "std", "accuracy", "diverged", "seeds", "train", "optimizer_step_ms",
            "state_bytes_per_parameter", "optimizer_class", "betas", "losses")  # fmt: skip
    return [
        {
            "task": s["plan_task"], "regime": s["regime"], "measure": s["measure"],
            "choices": [{k: c.get(k) for k in keys} for c in s["choices"]],
            "sentences": decision_sentences(s),
        }
        for s in (summarize_study(results) if summaries is None else summaries)
        if s["choices"]
    ]  # fmt: skip


#: The decision figure's short name of each choice (:func:`decision_panels`), by its table name's start.
SHORT_CHOICES = (
    ("RAdam, no warmup", "RAdam"),
    ("schedule-free RAdam", "schedule-free RAdam"),
    ("AdamW, no warmup", "AdamW, no warmup"),
    ("AdamW, untuned linear warmup", "AdamW, untuned warmup"),
    ("AdamW + pytorch_warmup UntunedLinearWarmup", "AdamW + pw UntunedLinear"),
    ("AdamW + pytorch_warmup UntunedExponentialWarmup", "AdamW + pw UntunedExp"),
    ("AdamW + pytorch_warmup RAdamWarmup", "AdamW + pw RAdamWarmup"),
    ("AdamW, swept warmup", "AdamW, swept warmup"),
    ("AdamW, the detector's suggested warmup", "AdamW, suggested warmup"),
)


def decision_panels(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the decision figure draws, from :func:`decision_data` (or study_decision.json): one
    panel per task and regime that ran the alternatives, each choice's seeds as gaps to the best
    choice's mean (percent, or absolute loss where the task's ``measure`` is absolute)."""
    panels = []
    for entry in data:
        choices = entry["choices"]
        if not any(c["arm"].startswith("sf_radam") for c in choices):
            continue
        means = [c["mean"] for c in choices if c["mean"] is not None and math.isfinite(c["mean"])]
        best = min(means)
        absolute = entry["measure"] == "absolute"
        rows = []
        for c in choices:
            name = next(
                (short for start, short in SHORT_CHOICES if c["choice"].startswith(start)), c["choice"]
            )
            if name == "schedule-free RAdam" or name == "AdamW, swept warmup":
                name += f" ({c['arm'].split('@')[-1] if name.startswith('schedule') else c['arm']})"
            losses = [v for v in c["losses"] if v is not None and math.isfinite(v)]
            gaps = [v - best if absolute else 100 * (v - best) / best for v in losses]
            rows.append({"name": name, "gaps": gaps, "failed": len(c["losses"]) - len(losses)})
        panels.append({
            "title": entry["task"] + ("" if entry["regime"] == "constant" else f", {entry['regime']} decay"),
            "unit": "held-out loss above the best" + ("" if absolute else " (%)"),
            "rows": rows,
        })  # fmt: skip
    return panels


def plot_decision(data: list[dict[str, Any]], path: Path) -> Path:
    """``decision.png``: per task and regime, every choice's seeds against the best choice (needs
    matplotlib). RAdam is drawn in red, schedule-free RAdam in blue, AdamW in grey."""
    from warmup_ablation.console import pyplot

    plt = pyplot()
    panels = decision_panels(data)
    rows = (len(panels) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(13, 2.9 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        names = [r["name"] for r in panel["rows"]]
        for y, row in enumerate(panel["rows"]):
            color = "C3" if row["name"] == "RAdam" else "C0" if row["name"].startswith("schedule") else "0.45"
            ax.scatter(row["gaps"], [y] * len(row["gaps"]), color=color, s=18, zorder=3)
            if row["gaps"]:
                ax.plot([sum(row["gaps"]) / len(row["gaps"])] * 2, [y - 0.3, y + 0.3], color=color, lw=2)
            if row["failed"]:
                ax.annotate(f"{row['failed']} diverged", (1.0, y), xycoords=("axes fraction", "data"),
                            ha="right", va="center", fontsize=7, color="C3")  # fmt: skip
        ax.axvline(0, color="0.7", lw=0.8)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.invert_yaxis()
        ax.set_title(panel["title"], fontsize=9)
        ax.set_xlabel(panel["unit"], fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle(
        "Which should I use? Each dot a seed, each bar the mean; 0 is the best choice's mean", fontsize=10
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_task(results: dict[str, Any], summary: dict[str, Any], path: Path) -> Path:
    """The two-panel figure of one task (needs matplotlib)."""
    from warmup_ablation.console import pyplot

    plt = pyplot()
    task = next(t for t in results["plan"]["tasks"] if task_label(t) == summary["plan_task"])
    runs = regime_runs(task_runs(results, task), summary["regime"])
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
    from radam_integrations.files import atomic_write, write_json

    written, summaries = [], summarize_study(results)
    with atomic_write(out / "study.md", "w") as fh:
        fh.write(markdown_report(results, summaries))
    written.append(out / "study.md")
    with atomic_write(out / "decision.md", "w") as fh:
        fh.write(decision_report(results, summaries))
    written.append(out / "decision.md")
    decision = decision_data(results, summaries)
    write_json(out / "decision.json", decision)
    written.append(out / "decision.json")
    if plot:
        if decision_panels(decision):
            written.append(plot_decision(decision, out / "decision.png"))
        for summary in summaries:
            name = summary["plan_task"].replace("/", "_").replace("@", "_lr")
            if summary["regime"] != "constant":
                name += f"_{summary['regime']}"
            written.append(plot_task(results, summary, out / f"study_{name}.png"))
    return written
