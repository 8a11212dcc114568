"""What the study's runs say, per task: arm statistics, whether warmup mattered, where the suggestion landed.

Definitions used by the tables and docs/evidence.md (one place):

* an arm's score is its final held-out loss, as mean and sample standard deviation over seeds;
  a run *failed* (the tables' "diverged" column) when its loss became non-finite, it ended no
  better than it started, or it ended no better than the task's context-free predictor
  (:func:`.spec.collapsed`);
* *close to* an arm B: A's mean is within the seed spread (the larger of the two arms' standard
  deviations: a difference of two noisy means) or within 2% of B's mean, or better;
* the best grid arm: the AdamW arm of the fixed grid (no warmup included, untuned included) with
  the lowest mean among those with no diverged seed (all of them if every one diverged): the
  held-out reference the detector's suggestion is read against;
* the choices a user has (:func:`choices`, the decision tables): schedule-free RAdam's lr and the
  swept warmup are chosen on the final *training* loss (:func:`final_train_loss`), never on the
  held-out split;
* a task whose losses end near 0 (``TaskPlan.measure == "absolute"``) compares arms by absolute
  difference (:data:`ABS_TOLERANCE`) instead of a percentage;
* *warmup matters* when AdamW without warmup diverged in a seed, or is not close to the best arm;
* the suggestion *passes* (the issue's bar) when warmup matters and the suggested arm is close to
  (or better than) the best arm and diverges in no seed where the best did not; and, when warmup
  does not matter, when it is close to (or better than) AdamW without warmup.

Example:
    >>> run = {"final_eval_loss": 2.0, "diverged": False, "evals": [[0, 5.0, None]],
    ...        "train_loss": [[10, 3.0], [20, 1.5]], "spec": {"steps": 20}}
    >>> stats = arm_stats([run, run], target=1.0)
    >>> stats["mean"], stats["std"], stats["diverged"], stats["train"]
    (2.0, 0.0, 0, 1.5)
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from radam_integrations import theory

from .plan import run_task, task_plan
from .spec import with_decay

__all__ = [
    "arm_stats",
    "choices",
    "chosen_on_training_loss",
    "close_to",
    "final_train_loss",
    "regime_runs",
    "rule_of_t_check",
    "summarize_study",
    "summarize_task",
    "task_label",
    "task_runs",
    "verdict",
]

TOLERANCE = 0.02
#: "Close" on a task compared by absolute difference (``TaskPlan.measure == "absolute"``): held-out
#: losses within 0.01 nats per token of each other.
ABS_TOLERANCE = 0.01
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
        "train": _mean_or_inf([final_train_loss(r) for r in runs]),
        "optimizer_class": runs[0].get("optimizer_class"),
        "betas": runs[0].get("betas"),
        "state_bytes_per_parameter": runs[0].get("state_bytes_per_parameter"),
        "optimizer_step_ms": _median_step_ms(runs),
        "mean": statistics.fmean(finite) if finite and len(finite) == len(losses) else math.inf,
        "std": statistics.stdev(finite) if len(finite) == len(losses) and len(finite) > 1 else 0.0,
        "accuracy": statistics.fmean(accuracies) if accuracies else None,
        "diverged": sum(bool(r["diverged"] or r.get("collapsed")) for r in runs),
        "steps_to_target": statistics.median(hit) if len(hit) == len(runs) else None,
        "reached_target": len(hit),
    }


def final_train_loss(run: dict[str, Any]) -> float:
    """The training loss at the end of a run: the mean of its last tenth of logged points (at least
    one). What the study chooses hyperparameters on, never the held-out split."""
    points = [loss for _, loss in run["train_loss"]]
    if not points:
        return math.inf
    tail = points[-max(1, len(points) // 10) :]
    value = statistics.fmean(tail)
    return value if math.isfinite(value) else math.inf


def _mean_or_inf(values: list[float]) -> float:
    return statistics.fmean(values) if values and all(math.isfinite(v) for v in values) else math.inf


def _median_step_ms(runs: list[dict[str, Any]]) -> float | None:
    """The optimizer step's time per step, ms (median over seeds), where it was measured."""
    values = [
        1000 * r["optimizer_seconds"] / (r.get("steps_done") or r["spec"]["steps"])
        for r in runs
        if r.get("optimizer_seconds")
    ]
    return statistics.median(values) if values else None


def _steps_to(evals: list[list[Any]], target: float) -> int | None:
    for step, loss, _ in evals:
        if loss is not None and math.isfinite(loss) and loss <= target:
            return int(step)
    return None


def close_to(a: dict[str, Any], b: dict[str, Any], measure: str = "relative") -> bool:
    """``a`` is within the seed spread of either arm or within 2% of ``b``'s mean (or better); with
    ``measure="absolute"`` (losses near 0, where a ratio says nothing) within :data:`ABS_TOLERANCE`."""
    if not math.isfinite(a["mean"]):
        return False
    if not math.isfinite(b["mean"]):
        return True
    margin = ABS_TOLERANCE if measure == "absolute" else TOLERANCE * abs(b["mean"])
    return a["mean"] - b["mean"] <= max(a.get("std", 0.0), b["std"], margin)


def summarize_task(
    task: dict[str, Any],
    runs: list[dict[str, Any]],
    probe: dict[str, Any],
    suggested: dict[str, Any],
    regime: str = "constant",
) -> dict[str, Any]:
    """Statistics and verdicts for one task in one regime (``task`` is a :class:`~.plan.TaskPlan` as
    a dict; ``runs`` that regime's, labels without the decay: :func:`regime_runs`)."""
    measure = task.get("measure", "relative")
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
    warmup_matters = none["diverged"] > 0 or not close_to(none, best, measure)

    def passes_bar(arm: dict[str, Any]) -> bool:
        if warmup_matters:
            return close_to(arm, best, measure) and not (arm["diverged"] > 0 and best["diverged"] == 0)
        return close_to(arm, none, measure) and arm["diverged"] <= none["diverged"]

    ranked = sorted(grid.values(), key=lambda s: s["mean"])

    def placement(arm: dict[str, Any]) -> dict[str, Any]:
        """An arm against the grid: the bar, its rank among the grid arms, its gap to the best."""
        return {
            "passes": passes_bar(arm),
            "rank": 1 + sum(s["mean"] < arm["mean"] for s in ranked),
            "gap": (arm["mean"] - best["mean"]) / best["mean"] if math.isfinite(best["mean"]) else math.nan,
            "diff": arm["mean"] - best["mean"],
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
    label = task_label(task)
    return {
        "task": label if regime == "constant" else f"{label} ({regime} decay)",
        "plan_task": label,
        "regime": regime,
        "measure": measure,
        "arms": arms,
        "best_grid_arm": best_label,
        "untuned_arm": untuned_label,
        "warmup_matters": warmup_matters,
        "radam_removes_the_need": radam["diverged"] == 0 and close_to(radam, best, measure),
        "settled_step": settled,
        "suggested": suggested,
        "suggestion_rank": suggestion["rank"],
        "grid_size": len(ranked),
        "suggestion_gap": suggestion["gap"],
        "suggestion_diff": suggestion["diff"],
        "suggestion_passes": suggestion["passes"],
        "passing_warmups": sorted(s["warmup"] for s in grid.values() if passes_bar(s)),
        "grid_warmups": sorted(s["warmup"] for s in grid.values()),
        "untuned_passes": untuned_label is not None
        and close_to(arms[untuned_label], best if warmup_matters else none, measure),
        "auto": _measured_arm(arms, AUTO_ARM, placement, untuned_label, measure),
        "measured": _measured_arm(arms, MEASURED_ARM, placement, untuned_label, measure),
        "choices": choices(arms, grid, untuned_label, task["beta2"]),
        "flags": flags,
    }


def _measured_arm(
    arms: dict[str, dict[str, Any]], label: str, placement: Any, untuned_label: str | None, measure: str
) -> dict[str, Any] | None:
    """Where an issue-13 arm (AutoWarmup, or RAdam's measured rectification) landed; ``None`` without it."""
    arm = arms.get(label)
    if arm is None:
        return None
    untuned = arms.get(untuned_label) if untuned_label else None

    def at_least_as_good(other: dict[str, Any] | None) -> bool | None:
        return None if other is None else arm["mean"] <= other["mean"] or close_to(arm, other, measure)

    return {
        **placement(arm),
        "as_good_as_radam": at_least_as_good(arms["radam"]),
        "as_good_as_untuned": at_least_as_good(untuned),
    }


def chosen_on_training_loss(arms: dict[str, dict[str, Any]]) -> str | None:
    """The label, among ``arms``, with the lowest final training loss and no failed seed (all of
    them if every one failed): a hyperparameter chosen without the held-out split."""
    if not arms:
        return None
    healthy = {label: s for label, s in arms.items() if s["diverged"] == 0} or arms
    return min(healthy, key=lambda label: (healthy[label]["train"], healthy[label]["mean"]))


def choices(
    arms: dict[str, dict[str, Any]], grid: dict[str, dict[str, Any]], untuned_label: str | None, beta2: float
) -> list[dict[str, Any]]:
    """What a user picks between, in one regime: ``{"choice", "arm", **stats}`` for each one run.

    RAdam without warmup; schedule-free RAdam at the lr of its sweep chosen on training loss; AdamW
    without warmup, with the untuned linear warmup, with each of pytorch_warmup's rules, with the
    grid's warmup chosen on training loss, and with the detector's suggestion.
    """
    untuned = theory.untuned_linear_warmup(beta2)
    sf = chosen_on_training_loss({k: s for k, s in arms.items() if k.startswith("sf_radam")})
    best = chosen_on_training_loss(grid)
    named = [
        ("RAdam, no warmup", "radam"),
        (f"schedule-free RAdam, lr {sf.split('@')[-1] if sf else '-'} (chosen on training loss)", sf),
        ("AdamW, no warmup", "adamw"),
        (f"AdamW, untuned linear warmup ({untuned} steps)", untuned_label),
        ("AdamW + pytorch_warmup UntunedLinearWarmup", "adamw-pw_untuned_linear"),
        ("AdamW + pytorch_warmup UntunedExponentialWarmup", "adamw-pw_untuned_exp"),
        ("AdamW + pytorch_warmup RAdamWarmup", "adamw-pw_radamwarmup"),
        (f"AdamW, swept warmup chosen on training loss ({best})", best),
        ("AdamW, the detector's suggested warmup", "suggested"),
    ]
    return [{"choice": name, "arm": label, **arms[label]} for name, label in named if label in arms]


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
    return task_plan(task).label


def task_runs(results: dict[str, Any], task: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of one task of the plan (a task is a model at one learning rate and beta2)."""
    label = task_label(task)
    return [r for r in results["runs"] if run_task(r) == label]


def regime_runs(runs: list[dict[str, Any]], regime: str) -> list[dict[str, Any]]:
    """One regime's runs, labelled without the decay (``radam-linear`` -> ``radam``); schedule-free
    RAdam, which never decays, belongs to every regime."""
    out = []
    for run in runs:
        decay = run["spec"].get("decay", "constant")
        if run["spec"]["optimizer"] == "sf_radam" or decay == regime == "constant":
            out.append(run)
        elif decay == regime:
            out.append({**run, "label": run["label"].removesuffix(with_decay("", regime))})
    return out


def summarize_study(results: dict[str, Any]) -> list[dict[str, Any]]:
    """:func:`summarize_task` for every task and regime of a results file that has runs."""
    out = []
    for task in results["plan"]["tasks"]:
        label = task_label(task)
        runs = task_runs(results, task)
        if not runs or label not in results["probes"]:
            continue
        for regime in task_plan(task).regimes():
            these = regime_runs(runs, regime)
            if {"radam", "adamw", "suggested"} <= {r["label"] for r in these}:
                probe, suggested = results["probes"][label], results["suggested"][label]
                out.append(summarize_task(task, these, probe, suggested, regime))
    return out


def _place(rank: int, size: int) -> str:
    """``ranked 2 of 6``, or ``ranked below all 6 grid arms`` for a rank past the grid."""
    return f"ranked {rank} of {size}" if rank <= size else f"ranked below all {size} grid arms"


def gap_text(measure: str, placed: dict[str, Any]) -> str:
    """An arm's gap to the best grid arm: ``+1.2%`` (relative), or ``+0.0052 absolute`` where the
    task's losses end near 0 and a ratio of two tiny numbers says nothing."""
    if measure == "absolute":
        diff = placed["diff"] if abs(placed["diff"]) >= 5e-5 else 0.0  # no "-0.0000"
        return f"{diff:+.4f} absolute"
    return f"{100 * placed['gap']:+.1f}%"


def measure_text(summary: dict[str, Any]) -> str:
    """Which measure a task's verdict used, in words."""
    if summary.get("measure") == "absolute":
        return (
            f"compared by absolute held-out loss (close: within {ABS_TOLERANCE} or the seed spread), "
            "with accuracy and steps to target beside it"
        )
    return f"compared by relative held-out loss (close: within {100 * TOLERANCE:g}% or the seed spread)"


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
    suggested, measure = summary["suggested"], summary.get("measure", "relative")
    gap = gap_text(measure, {"gap": summary["suggestion_gap"], "diff": summary.get("suggestion_diff")})
    where = (
        f"the suggestion ({suggested['steps']} steps, {suggested['source']}) ranked "
        f"{summary['suggestion_rank']} of {summary['grid_size']} grid arms, {gap} held-out loss "
        f"against the best ({summary['best_grid_arm']}, {best['mean']:.4f}; suggested {sugg['mean']:.4f})"
    )
    bar = "passes the bar" if summary["suggestion_passes"] else "misses the bar"
    sentence = f"{summary['task']}: the model {need}; {radam}; {where}: it {bar}."
    for key, name in (("auto", "AutoWarmup"), ("measured", "RAdam with the measured rectification")):
        arm = summary.get(key)
        if arm:
            sentence += (
                f" {name} {_place(arm['rank'], summary['grid_size'])} ({gap_text(measure, arm)}): it "
                f"{'passes' if arm['passes'] else 'misses'} the bar, and is "
                f"{'at least as good as' if arm['as_good_as_radam'] else 'worse than'} RAdam."
            )
    return f"{sentence} ({measure_text(summary)}.)"
