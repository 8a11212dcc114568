"""What the study's runs say, per task: arm statistics, whether warmup mattered, where the suggestion landed.

Definitions used by the tables and docs/evidence.md (one place):

* an arm's score is its final held-out loss, as mean and sample standard deviation over seeds;
  a run *failed* (the tables' "diverged" column) when its loss became non-finite, it ended no
  better than it started, or it ended no better than the task's context-free predictor
  (:func:`.spec.collapsed`);
* *close to* an arm B: A's mean is within the seed spread (the larger of the two arms' standard
  deviations: a difference of two noisy means) or within 2% of B's mean, or better;
* the best grid arm: the AdamW arm of the fixed grid (no warmup included, untuned included) with
  the lowest mean among those with no diverged seed (all of them if every one diverged);
* *warmup matters* when AdamW without warmup diverged in a seed, or is not close to the best arm;
* the suggestion *passes* (the issue's bar) when warmup matters and the suggested arm is close to
  (or better than) the best arm and diverges in no seed where the best did not; and, when warmup
  does not matter, when it is close to (or better than) AdamW without warmup.

Example:
    >>> run = {"final_eval_loss": 2.0, "diverged": False, "evals": [[0, 5.0, None]]}
    >>> stats = arm_stats([run, run], target=1.0)
    >>> stats["mean"], stats["std"], stats["diverged"]
    (2.0, 0.0, 0)
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from radam_integrations import theory

from .plan import TaskPlan

__all__ = [
    "arm_stats",
    "close_to",
    "rule_of_t_check",
    "summarize_study",
    "summarize_task",
    "task_label",
    "task_runs",
    "verdict",
]

TOLERANCE = 0.02
#: The study's issue-13 arms: AutoWarmup with AdamW, and RAdam with ``rectify="measured"``.
AUTO_ARM = "adamw-auto"
MEASURED_ARM = "radam_measured"


def arm_stats(runs: list[dict[str, Any]], target: float) -> dict[str, Any]:
    """Mean, spread, accuracy, divergences and steps-to-target over one arm's seeds."""
    losses = [r["final_eval_loss"] if r["final_eval_loss"] is not None else math.nan for r in runs]
    finite = [x for x in losses if math.isfinite(x)]
    accuracies = [r.get("final_eval_accuracy") for r in runs if r.get("final_eval_accuracy") is not None]
    reached = [_steps_to(r["evals"], target) for r in runs]
    hit = [s for s in reached if s is not None]
    return {
        "seeds": len(runs),
        "losses": losses,
        "mean": statistics.fmean(finite) if finite and len(finite) == len(losses) else math.inf,
        "std": statistics.stdev(finite) if len(finite) == len(losses) and len(finite) > 1 else 0.0,
        "accuracy": statistics.fmean(accuracies) if accuracies else None,
        "diverged": sum(bool(r["diverged"] or r.get("collapsed")) for r in runs),
        "steps_to_target": statistics.median(hit) if len(hit) == len(runs) else None,
        "reached_target": len(hit),
    }


def _steps_to(evals: list[list[Any]], target: float) -> int | None:
    for step, loss, _ in evals:
        if loss is not None and math.isfinite(loss) and loss <= target:
            return int(step)
    return None


def close_to(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """``a`` is within the seed spread of either arm or within 2% of ``b``'s mean (or better)."""
    if not math.isfinite(a["mean"]):
        return False
    if not math.isfinite(b["mean"]):
        return True
    return a["mean"] - b["mean"] <= max(a.get("std", 0.0), b["std"], TOLERANCE * abs(b["mean"]))


def summarize_task(
    task: dict[str, Any], runs: list[dict[str, Any]], probe: dict[str, Any], suggested: dict[str, Any]
) -> dict[str, Any]:
    """Statistics and verdicts for one task (``task`` is a :class:`~.plan.TaskPlan` as a dict)."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_label.setdefault(run["label"], []).append(run)
    arms = {
        label: {**arm_stats(rs, task["target"]), "warmup": rs[0]["spec"]["warmup_steps"]}
        for label, rs in by_label.items()
    }
    grid = {label: s for label, s in arms.items() if label == "adamw" or label.startswith("adamw-w")}
    healthy = {label: s for label, s in grid.items() if s["diverged"] == 0} or grid
    best_label = min(healthy, key=lambda label: healthy[label]["mean"])
    best, none, radam, sugg = healthy[best_label], arms["adamw"], arms["radam"], arms["suggested"]
    untuned_label = next(
        (label for label, s in grid.items() if s["warmup"] == theory.untuned_linear_warmup(task["beta2"])),
        None,
    )
    warmup_matters = none["diverged"] > 0 or not close_to(none, best)

    def passes_bar(arm: dict[str, Any]) -> bool:
        if warmup_matters:
            return close_to(arm, best) and not (arm["diverged"] > 0 and best["diverged"] == 0)
        return close_to(arm, none) and arm["diverged"] <= none["diverged"]

    ranked = sorted(grid.values(), key=lambda s: s["mean"])

    def placement(arm: dict[str, Any]) -> dict[str, Any]:
        """An arm against the grid: the bar, its rank among the grid arms, its gap to the best."""
        return {
            "passes": passes_bar(arm),
            "rank": 1 + sum(s["mean"] < arm["mean"] for s in ranked),
            "gap": (arm["mean"] - best["mean"]) / best["mean"] if math.isfinite(best["mean"]) else math.nan,
        }

    suggestion = placement(sugg)
    detector = probe.get("detector") or {}
    settled = detector.get("settled_step")
    flags = []
    if settled is None:
        flags.append(
            f"the probe ({task['probe_steps']} steps) did not settle: the suggestion is the untuned length"
        )
    elif settled >= 0.8 * task["probe_steps"]:
        flags.append(f"T = {settled} is in the last fifth of the {task['probe_steps']}-step probe")
    if suggested["steps"] >= task["steps"]:
        flags.append(
            f"the suggested warmup ({suggested['steps']}) is not shorter than the run ({task['steps']})"
        )
    return {
        "task": task_label(task),
        "arms": arms,
        "best_grid_arm": best_label,
        "untuned_arm": untuned_label,
        "warmup_matters": warmup_matters,
        "radam_removes_the_need": radam["diverged"] == 0 and close_to(radam, best),
        "settled_step": settled,
        "suggested": suggested,
        "suggestion_rank": suggestion["rank"],
        "grid_size": len(ranked),
        "suggestion_gap": suggestion["gap"],
        "suggestion_passes": suggestion["passes"],
        "passing_warmups": sorted(s["warmup"] for s in grid.values() if passes_bar(s)),
        "grid_warmups": sorted(s["warmup"] for s in grid.values()),
        "untuned_passes": untuned_label is not None
        and close_to(arms[untuned_label], best if warmup_matters else none),
        "auto": _measured_arm(arms, AUTO_ARM, placement, untuned_label),
        "measured": _measured_arm(arms, MEASURED_ARM, placement, untuned_label),
        "flags": flags,
    }


def _measured_arm(
    arms: dict[str, dict[str, Any]], label: str, placement: Any, untuned_label: str | None
) -> dict[str, Any] | None:
    """Where an issue-13 arm (AutoWarmup, or RAdam's measured rectification) landed; ``None`` without it."""
    arm = arms.get(label)
    if arm is None:
        return None
    untuned = arms.get(untuned_label) if untuned_label else None

    def at_least_as_good(other: dict[str, Any] | None) -> bool | None:
        return None if other is None else arm["mean"] <= other["mean"] or close_to(arm, other)

    return {
        **placement(arm),
        "as_good_as_radam": at_least_as_good(arms["radam"]),
        "as_good_as_untuned": at_least_as_good(untuned),
    }


def rule_of_t_check(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Could any rule ``W = f(T)`` with ``f`` non-decreasing pick a passing grid warmup on every task?

    Tasks whose probe settled are ordered by ``T``; a non-decreasing choice exists iff picking,
    task by task, the shortest passing warmup not below the previous choice never runs out (tasks
    with the same ``T`` must share one warmup). When it runs out, ``conflict`` names the task that
    forced the choice up to where it is and the task with no passing warmup at or above it. Only the
    grid's lengths are considered: a warmup between two grid points was not run.

    >>> a = {"task": "a", "settled_step": 100, "passing_warmups": [400]}
    >>> b = {"task": "b", "settled_step": 150, "passing_warmups": [0, 25, 200]}
    >>> rule_of_t_check([a, b])["possible"], rule_of_t_check([a, b])["conflict"]
    (False, ('a', 'b'))
    >>> rule_of_t_check([b, {**a, "passing_warmups": [200, 400]}])["choice"]
    {'a': 200, 'b': 200}
    """
    settled = sorted(
        (s for s in summaries if s.get("settled_step") is not None), key=lambda s: s["settled_step"]
    )
    choice: dict[str, int] = {}
    floor, floor_task = 0, None
    i = 0
    while i < len(settled):
        same = [s for s in settled[i:] if s["settled_step"] == settled[i]["settled_step"]]
        common = set(same[0]["passing_warmups"]).intersection(*(s["passing_warmups"] for s in same[1:]))
        feasible = sorted(w for w in common if w >= floor)
        if not feasible:
            return {"possible": False, "choice": choice, "conflict": (floor_task, same[0]["task"])}
        if floor_task is None or feasible[0] > floor:  # the task that set the floor, not one that kept it
            floor_task = max(same, key=lambda s: min(w for w in s["passing_warmups"] if w >= floor))["task"]
        floor = feasible[0]
        for s in same:
            choice[s["task"]] = floor
        i += len(same)
    return {"possible": True, "choice": choice, "conflict": None}


def task_label(task: dict[str, Any]) -> str:
    """``task@lr`` of a task as the results file stores it (:attr:`.plan.TaskPlan.label`)."""
    return TaskPlan(**task).label


def task_runs(results: dict[str, Any], task: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of one task of the plan (a task is a model at one learning rate)."""
    return [r for r in results["runs"] if (r["spec"]["task"], r["spec"]["lr"]) == (task["task"], task["lr"])]


def summarize_study(results: dict[str, Any]) -> list[dict[str, Any]]:
    """:func:`summarize_task` for every task of a results file that has runs."""
    out = []
    for task in results["plan"]["tasks"]:
        label = task_label(task)
        runs = task_runs(results, task)
        if runs and label in results["probes"]:
            out.append(summarize_task(task, runs, results["probes"][label], results["suggested"][label]))
    return out


def _place(rank: int, size: int) -> str:
    """``ranked 2 of 6``, or ``ranked below all 6 grid arms`` for a rank past the grid."""
    return f"ranked {rank} of {size}" if rank <= size else f"ranked below all {size} grid arms"


def verdict(summary: dict[str, Any]) -> str:
    """One sentence per question of the issue: did it need warmup, did RAdam remove it, the suggestion."""
    best = summary["arms"][summary["best_grid_arm"]]
    sugg = summary["arms"]["suggested"]
    need = "needed warmup" if summary["warmup_matters"] else "did not need warmup"
    radam = (
        "RAdam removed the need"
        if summary["radam_removes_the_need"]
        else "RAdam did not match the best warmup"
    )
    suggested, gap = summary["suggested"], 100 * summary["suggestion_gap"]
    where = (
        f"the suggestion ({suggested['steps']} steps, {suggested['source']}) ranked "
        f"{summary['suggestion_rank']} of {summary['grid_size']} grid arms, {gap:+.1f}% held-out loss "
        f"against the best ({summary['best_grid_arm']}, {best['mean']:.4f}; suggested {sugg['mean']:.4f})"
    )
    bar = "passes the bar" if summary["suggestion_passes"] else "misses the bar"
    sentence = f"{summary['task']}: the model {need}; {radam}; {where}: it {bar}."
    for key, name in (("auto", "AutoWarmup"), ("measured", "RAdam with the measured rectification")):
        arm = summary.get(key)
        if arm:
            sentence += (
                f" {name} {_place(arm['rank'], summary['grid_size'])} ({100 * arm['gap']:+.1f}%): it "
                f"{'passes' if arm['passes'] else 'misses'} the bar, and is "
                f"{'at least as good as' if arm['as_good_as_radam'] else 'worse than'} RAdam."
            )
    return sentence
