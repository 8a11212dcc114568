"""The study harness: plan, analysis, report and CLI, on records built here (no training).

The tasks themselves train real models through the real frameworks in test_study_bytes_lm.py,
test_study_digits.py and the end-to-end ``--quick`` test below.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from radam_integrations import theory
from radam_integrations.files import write_json
from warmup_study.analysis import close_to, rule_of_t_check, summarize_task, verdict
from warmup_study.cli import main
from warmup_study.harness import RESULTS_FILE, _key, load_results, run_many, suggestion
from warmup_study.plan import GRID, StudyPlan, TaskPlan
from warmup_study.report import markdown_report, rule_sentence, terminal_report
from warmup_study.spec import RunSpec, diverged, run_record

TASK = TaskPlan(
    "reversal/postln", lr=3e-3, beta2=0.99, steps=800, eval_every=100, probe_steps=400, target=0.5
)


def test_grid_is_fixed_below_the_budget_with_the_untuned_length() -> None:
    assert GRID == (0, 25, 50, 100, 200, 400, 800)
    assert TASK.grid(GRID) == (0, 25, 50, 100, 200, 400)  # 800 is not shorter than the run; 200 = 2/(1-0.99)
    assert TaskPlan("x/y", 1e-3, 0.995, 1000, 100, 400, 1.0).grid(GRID) == (0, 25, 50, 100, 200, 400, 800)


def test_every_seed_gets_every_arm_and_the_probe_is_radam_without_warmup() -> None:
    plan = StudyPlan(tasks=(TASK,), seeds=(0, 1, 2))
    specs = plan.arm_specs(TASK, suggested=150)
    labels = [label for label, _ in specs]
    # torch's RAdam (the same numbers as ours, run for the step's cost) on the first seed only
    assert len(specs) == 3 * (1 + len(TASK.grid(GRID)) + 3) + 1
    assert {s.optimizer for label, s in specs if label == "radam_measured"} == {"radam_measured"}
    assert labels.count("suggested") == 3 and labels.count("radam") == 3 and labels.count("torch_radam") == 1
    assert {s.seed for label, s in specs if label == "torch_radam"} == {0}
    auto = [s for label, s in specs if label == "adamw-auto"]
    assert len(auto) == 3 and {(s.optimizer, s.warmup_steps, s.schedule, s.arm) for s in auto} == {
        ("adamw", 0, "auto", "adamw-auto")
    }
    assert {s.warmup_steps for label, s in specs if label == "suggested"} == {150}
    assert all(
        s.optimizer == "adamw"
        for label, s in specs
        if label not in ("radam", "torch_radam", "radam_measured")
    )
    assert {s.optimizer for label, s in specs if label == "torch_radam"} == {"torch_radam"}
    probe = TASK.probe()
    assert (probe.optimizer, probe.warmup_steps, probe.detect, probe.steps, probe.seed) == (
        "radam",
        0,
        True,
        400,
        0,
    )


def test_plan_round_trips_and_only_selects_by_prefix() -> None:
    plan = StudyPlan.default()
    assert StudyPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    assert {t.task for t in plan.only(["bytes_lm"]).tasks} == {"bytes_lm/gpt2", "bytes_lm/bert_postln"}
    with pytest.raises(ValueError, match="no task matches"):
        plan.only(["imagenet"])


def test_spec_validation_and_divergence_rule() -> None:
    with pytest.raises(ValueError, match="optimizer"):
        RunSpec("x/y", "sgd", 0, lr=1e-3, beta2=0.99, steps=10, seed=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="warmup_steps"):
        RunSpec("x/y", "adamw", -1, lr=1e-3, beta2=0.99, steps=10, seed=0)
    with pytest.raises(ValueError, match="schedule must be one of"):
        RunSpec("x/y", "adamw", 0, lr=1e-3, beta2=0.99, steps=10, seed=0, schedule="cosine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="measures the warmup: warmup_steps must be 0"):
        RunSpec("x/y", "adamw", 10, lr=1e-3, beta2=0.99, steps=10, seed=0, schedule="auto")
    # a results file written before the field existed still identifies its runs
    old = {k: v for k, v in TASK.spec("adamw", 25, 1).to_dict().items() if k != "schedule"}
    assert _key(old) == _key(TASK.spec("adamw", 25, 1).to_dict())
    assert diverged([3.0, math.nan], [2.0], 5.0)
    assert diverged([3.0, 2.0], [5.1], 5.0)  # ends no better than it started
    assert not diverged([3.0, 2.0], [4.0], 5.0)


def _record(label: str, warmup: int, seed: int, loss: float, *, optimizer: str = "adamw") -> dict[str, Any]:
    spec = TASK.spec(optimizer, warmup, seed)
    record = run_record(
        spec, train_loss=[(10, 3.0)], evals=[(0, 3.2, 0.0), (400, loss + 0.3, 0.5), (800, loss, 0.9)],
        initial_eval_loss=3.2, seconds=1.0,
    )  # fmt: skip
    return {**record, "label": label}


def _runs(losses: dict[str, list[float]], suggested: int) -> list[dict[str, Any]]:
    runs = []
    for label, values in losses.items():
        warmup = suggested if label == "suggested" else 0 if label in ("adamw", "radam") else int(label[7:])
        optimizer = "radam" if label == "radam" else "adamw"
        runs += [_record(label, warmup, seed, x, optimizer=optimizer) for seed, x in enumerate(values)]
    return runs


#: A probe whose detector settled at step 60 and suggested 120 steps.
SETTLED_AT_60 = {"detector": {"settled_step": 60, "suggested_warmup_steps": 120, "relapses": 0}}


def test_summary_when_warmup_matters_and_the_suggestion_is_close() -> None:
    losses = {
        "radam": [0.40, 0.41, 0.42], "adamw": [3.3, 0.9, 3.4], "adamw-w25": [0.60, 0.61, 0.62],
        "adamw-w100": [0.40, 0.42, 0.44], "adamw-w200": [0.42, 0.43, 0.44], "suggested": [0.42, 0.43, 0.44],
    }  # fmt: skip
    probe = SETTLED_AT_60
    summary = summarize_task(asdict(TASK), _runs(losses, 120), probe, {"steps": 120, "source": "detector"})
    assert summary["warmup_matters"] and summary["radam_removes_the_need"]
    assert summary["best_grid_arm"] == "adamw-w100"
    assert summary["arms"]["adamw"]["diverged"] == 2  # 3.3 and 3.4 end worse than the initial 3.2
    assert summary["suggestion_rank"] == 1 + 1  # behind w100 only
    assert summary["suggestion_passes"] and summary["untuned_passes"]
    assert summary["untuned_arm"] == "adamw-w200" and theory.untuned_linear_warmup(0.99) == 200
    assert summary["flags"] == []
    assert summary["auto"] is None  # a study without the AutoWarmup arm
    # the same bar, applied to every grid arm: w25 is 50% worse, no warmup diverged
    assert summary["passing_warmups"] == [100, 200] and summary["grid_warmups"] == [0, 25, 100, 200]
    sentence = verdict(summary)
    assert (
        "needed warmup" in sentence and "RAdam removed the need" in sentence and "passes the bar" in sentence
    )


def test_summary_places_autowarmup_against_the_grid_radam_and_the_untuned_warmup() -> None:
    losses = {
        "radam": [0.40, 0.41, 0.42], "adamw": [3.3, 0.9, 3.4], "adamw-w100": [0.40, 0.42, 0.44],
        "adamw-w200": [0.42, 0.43, 0.44], "suggested": [0.42, 0.43, 0.44], "adamw-auto": [0.50, 0.52, 0.51],
    }  # fmt: skip
    probe = SETTLED_AT_60
    runs = _runs({k: v for k, v in losses.items() if k != "adamw-auto"}, 120)
    for seed, x in enumerate(losses["adamw-auto"]):
        auto_spec = TASK.spec("adamw", 0, seed, schedule="auto").to_dict()
        runs.append({**_record("adamw-auto", 0, seed, x), "spec": auto_spec})
    summary = summarize_task(asdict(TASK), runs, probe, {"steps": 120, "source": "detector"})
    auto = summary["auto"]
    assert auto["rank"] == 3 and auto["gap"] == pytest.approx(0.51 / 0.42 - 1)
    assert not auto["passes"] and not auto["as_good_as_radam"] and not auto["as_good_as_untuned"]
    assert "AutoWarmup ranked 3 of 3 (+21.4%): it misses the bar, and is worse than RAdam." in verdict(
        summary
    )
    assert "adamw-auto" in markdown_report_of(runs, probe)


def markdown_report_of(runs: list[dict[str, Any]], probe: dict[str, Any]) -> str:
    plan = StudyPlan(tasks=(TASK,), seeds=(0, 1, 2), grid=(0, 100, 200))
    results = {
        "plan": plan.to_dict(), "environment": {}, "probes": {TASK.label: probe},
        "suggested": {TASK.label: {"steps": 120, "source": "detector"}}, "runs": runs,
    }  # fmt: skip
    return markdown_report(results)


def test_summary_flags_a_late_or_missing_settling_and_a_suggestion_longer_than_the_run() -> None:
    losses = {"radam": [0.5], "adamw": [0.495], "adamw-w100": [0.49], "suggested": [0.7]}
    late = {"detector": {"settled_step": 390, "suggested_warmup_steps": 780, "relapses": 0}}
    summary = summarize_task(asdict(TASK), _runs(losses, 900), late, {"steps": 900, "source": "detector"})
    assert not summary["warmup_matters"]  # 0.495 is within 2% of 0.49
    assert not summary["suggestion_passes"]  # 0.7 is 40% worse than no warmup
    assert any("last fifth" in f for f in summary["flags"])
    assert any("not shorter than the run" in f for f in summary["flags"])
    assert "misses the bar" in verdict(summary)
    never = {"detector": {"settled_step": None, "suggested_warmup_steps": None, "relapses": 0}}
    assert suggestion(TASK, never) == (200, "untuned (the probe did not settle)")
    assert suggestion(TASK, late) == (780, "detector")
    summary = summarize_task(
        asdict(TASK),
        _runs(losses, 200),
        never,
        suggestion(TASK, never) and {"steps": 200, "source": "untuned"},
    )
    assert any("did not settle" in f for f in summary["flags"])


def _ruled(task: str, settled: int | None, passing: list[int]) -> dict[str, Any]:
    return {"task": task, "settled_step": settled, "passing_warmups": passing}


def test_rule_of_t_check_finds_a_non_decreasing_choice_or_the_conflict() -> None:
    fits = [_ruled("a", 70, [50, 100, 200]), _ruled("b", 100, [100, 400]), _ruled("c", 150, [0, 400])]
    check = rule_of_t_check(fits)
    assert check["possible"] and check["choice"] == {"a": 50, "b": 100, "c": 400}
    # a task whose probe did not settle has no T: a rule of T says nothing about it
    assert rule_of_t_check([*fits, _ruled("d", None, [])])["possible"]
    # the task with the smaller T needs the longer warmup: no non-decreasing rule fits both
    clash = [_ruled("late", 150, [0, 25, 200]), _ruled("early", 100, [400])]
    assert rule_of_t_check(clash) == {
        "possible": False,
        "choice": {"early": 400},
        "conflict": ("early", "late"),
    }
    # tasks with the same T must share a warmup; the conflict names the one that forced it up
    tied = [_ruled("x", 100, [50, 100, 400]), _ruled("y", 100, [400]), _ruled("z", 150, [200])]
    assert rule_of_t_check(tied)["conflict"] == ("y", "z")
    assert rule_of_t_check([_ruled("none", 80, [])])["conflict"] == (None, "none")
    sentences = [rule_sentence([_summary_like(r) for r in rs]) for rs in (fits, clash)]
    assert sentences[0].startswith("A non-decreasing rule of T alone could pass")
    assert "early needs a longer warmup than any that passes on late" in sentences[1]


def _summary_like(ruled: dict[str, Any]) -> dict[str, Any]:
    return {**ruled, "suggested": {"steps": 200, "source": "detector"}}


def test_close_to_uses_either_seed_spread_or_two_percent() -> None:
    best = {"mean": 1.0, "std": 0.05}
    assert close_to({"mean": 1.04}, best) and not close_to({"mean": 1.06}, best)
    assert close_to({"mean": 1.06, "std": 0.07}, best)  # within the compared arm's own spread
    assert close_to({"mean": 2e-4, "std": 1e-4}, {"mean": 1e-4, "std": 0.0})  # both solved the task
    assert close_to({"mean": 1.019}, {"mean": 1.0, "std": 0.0}) and not close_to({"mean": math.inf}, best)


def _results(tmp_path: Path) -> Path:
    losses = {
        "radam": [0.40, 0.41],
        "adamw": [0.9, 0.95],
        "adamw-w100": [0.40, 0.42],
        "suggested": [0.41, 0.42],
    }
    plan = StudyPlan(tasks=(TASK,), seeds=(0, 1), grid=(0, 100))
    probe = SETTLED_AT_60
    results = {
        "plan": plan.to_dict(), "environment": {}, "probes": {TASK.label: probe},
        "suggested": {TASK.label: {"steps": 120, "source": "detector"}}, "runs": _runs(losses, 120),
    }  # fmt: skip
    write_json(tmp_path / RESULTS_FILE, results)
    return tmp_path


def test_report_renders_tables_from_the_results_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = load_results(_results(tmp_path))
    md = markdown_report(results)
    assert "## reversal/postln" in md and "| adamw-w100 | 100 | 0.4100 ± 0.0141 |" in md
    assert "passes the bar" in terminal_report(results)
    assert "| reversal/postln@0.003 | 60 | 100 | 120 |" in md  # the grid warmups that pass, beside T
    assert "A non-decreasing rule of T alone could pass every task" in md
    assert main(["report", str(tmp_path), "--no-plot"]) == 0
    assert "study report from" in capsys.readouterr().out
    assert (tmp_path / "study.md").read_text() == md


def test_report_plots_each_task(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    assert main(["report", str(_results(tmp_path))]) == 0
    assert (tmp_path / "study_reversal_postln_lr0.003.png").stat().st_size > 10_000


def test_a_broken_results_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / RESULTS_FILE).write_text('{"plan": {"tasks": [{"task": 1}]}, "probes": {}, "runs": [{}]}')
    assert main(["report", str(tmp_path), "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "malformed study results" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tasks", "imagenet"], "no task matches"),
        (["--seeds", "0"], "--seeds must be >= 1"),
        (["--workers", "0"], "--workers must be >= 1"),
    ],
)
def test_study_cli_mistakes_are_one_line_and_exit_2(argv, message, tmp_path, capsys) -> None:
    assert main(["--quick", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_step_timer_leaves_out_a_closures_forward_and_backward() -> None:
    import time

    import torch

    from warmup_study.timing import StepTimer

    param = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.SGD([param], lr=0.1)
    timer = StepTimer().attach(optimizer)

    def closure() -> torch.Tensor:  # what Lightning passes: forward and backward run inside step()
        time.sleep(0.2)
        param.grad = torch.ones(3)
        return torch.tensor(1.0)

    optimizer.step(closure)
    optimizer.step(closure=closure)
    assert timer.steps == 2 and timer.seconds < 0.1
    assert torch.allclose(param.detach(), torch.full((3,), 0.8))  # both steps used the closure's gradient
    timer.detach()
    optimizer.step(closure)
    assert timer.steps == 2


def test_step_timer_times_a_subclass_calling_its_parents_step_once() -> None:
    """MeasuredRAdam's step does its own work, then calls RAdam's: once RAdam's step is hooked too
    (any RAdam made in the process), torch fires the hooks twice; the step is still timed once,
    outer work included, its closure subtracted once (a negative share was measured before)."""
    import time

    import torch

    from warmup_study.timing import StepTimer

    class Measured(torch.optim.SGD):
        def step(self, closure=None):  # type: ignore[override]
            time.sleep(0.1)  # the subclass's own work, inside the step
            return super().step(closure)

    param = torch.nn.Parameter(torch.ones(3))
    torch.optim.SGD([param], lr=0.1)  # hooks SGD.step itself, as a plain RAdam would RAdam.step
    optimizer = Measured([param], lr=0.1)
    timer = StepTimer().attach(optimizer)

    def closure() -> torch.Tensor:
        time.sleep(0.2)
        param.grad = torch.ones(3)
        return torch.tensor(1.0)

    optimizer.step(closure)
    assert timer.steps == 1 and 0.1 <= timer.seconds < 0.2


@pytest.mark.slow
@pytest.mark.fit
def test_quick_study_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m warmup_study --quick`: every task and arm trains through its framework, by parts
    (one task first, then the rest into the same folder), then resumes with nothing left to run."""
    out = tmp_path / "study"
    quick = ["--quick", "--workers", "1", "--no-progress", "--out", str(out)]
    assert main([*quick, "--no-plot", "--tasks", "reversal"]) == 0
    part = load_results(out)
    assert [t["task"] for t in part["plan"]["tasks"]] == ["reversal/postln"] and part["runs"]
    capsys.readouterr()
    assert main(quick) == 0
    printed = capsys.readouterr().out
    assert f"resuming {out / RESULTS_FILE}: {len(part['runs'])} runs done" in printed
    results = load_results(out)
    plan = StudyPlan.quick()
    assert set(results["probes"]) == {t.label for t in plan.tasks}
    expected = sum(len(plan.arm_specs(t, 1)) for t in plan.tasks)
    assert len(results["runs"]) == expected
    assert results["runs"][: len(part["runs"])] == part["runs"]  # the first part's runs, kept as they were
    trained: dict[Any, float] = {}
    for run in results["runs"]:  # two arms with one spec (a suggestion on a grid length) trained once
        assert trained.setdefault(_key(run["spec"]), run["seconds"]) == run["seconds"]
    assert len(trained) < len(results["runs"])
    classes = {
        "radam": "RAdam", "adamw": "AdamW", "torch_radam": "RAdam", "radam_measured": "MeasuredRAdam",
        "sf_radam": "RAdamScheduleFree",
    }  # fmt: skip
    for run in results["runs"]:
        assert run["spec"]["steps"] == 30 and math.isfinite(run["initial_eval_loss"])
        assert [e[0] for e in run["evals"]][-1] == 30
    for run in [*results["runs"], *results["probes"].values()]:
        # what trained, as the optimizer itself says: its class, betas, state memory per parameter
        assert run["optimizer_class"].rsplit(".", 1)[1] == classes[run["spec"]["optimizer"]], run["arm"]
        assert run["betas"] == [0.9, run["spec"]["beta2"]] and run["state_bytes_per_parameter"] >= 8.0
    for label, probe in results["probes"].items():
        assert probe["spec"]["optimizer"] == "radam" and probe["detector"] is not None, label
        assert probe["detector_seconds"] > 0
    json.loads(
        (out / RESULTS_FILE).read_text(), parse_constant=lambda token: pytest.fail(token)
    )  # strict JSON
    for t in plan.tasks:
        name = t.label.replace("/", "_").replace("@", "_lr")
        assert t.label in printed and (out / f"study_{name}.png").is_file()
        assert (out / f"study_{name}_{t.decay}.png").is_file()  # every quick task runs its decayed regime too
    regimes = 2 * len(plan.tasks)
    assert (out / "study.md").read_text().count("## ") == regimes
    assert (out / "decision.md").read_text().count("## ") == regimes
    decision = json.loads(
        (out / "decision.json").read_text(), parse_constant=lambda token: pytest.fail(token)
    )
    assert len(decision) == regimes
    for entry in decision:
        # every choice a user has, each with its class and betas as the optimizer reported them
        choices = {c["arm"].split("@")[0]: c for c in entry["choices"]}
        assert {"radam", "sf_radam", "adamw", "adamw-pw_untuned_exp", "suggested"} <= set(choices), entry
        assert choices["sf_radam"]["optimizer_class"].endswith("RAdamScheduleFree")
        assert all(c["betas"][1] == 0.99 and c["seeds"] == 1 for c in entry["choices"])
    # Run again into the same folder: nothing is left to run.
    assert main([*quick, "--no-plot"]) == 0
    assert f"{expected} runs done" in capsys.readouterr().out
    assert len(load_results(out)["runs"]) == expected
    assert load_results(out)["seconds"] >= results["seconds"] > 0  # the first session's time is kept


def test_a_folder_with_another_plans_results_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (_results(tmp_path) / RESULTS_FILE).read_bytes()  # a one-task plan with two seeds
    assert main(["--quick", "--no-progress", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds a study of another plan" in err
    assert (tmp_path / RESULTS_FILE).read_bytes() == before  # nothing overwritten
    (tmp_path / RESULTS_FILE).write_text("{not json")
    assert main(["--quick", "--no-progress", "--out", str(tmp_path)]) == 2
    assert "not a study results file" in capsys.readouterr().err


def _side_runs():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "study_side_runs.py"
    spec = importlib.util.spec_from_file_location("study_side_runs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("arms", "message"),
    [(["radam-400@0.03"], "expected <optimizer>-w<warmup>@<lr>"), (["sgd-w0@0.1"], "optimizer one of"),
     (["adamw-pw_nosuch@0.1"], "rule one of"), (["adamw-w0@1e-2"], "unknown study task")],
)  # fmt: skip
def test_side_runs_mistakes_are_one_line_and_exit_2(arms, message, tmp_path, capsys) -> None:
    side = _side_runs()
    assert side.parse_arm("torch_radam-w25@3e-3") == ("torch_radam", 25, 3e-3, "linear")
    assert side.parse_arm("adamw-pw_untuned_exp@3e-3") == ("adamw", 0, 3e-3, "pw_untuned_exp")
    assert side.parse_arm("sf_radam-w0@1e-2") == ("sf_radam", 0, 1e-2, "linear")
    with pytest.raises(SystemExit) as exit_info:
        side.main(
            ["--task", "nope/model", "--arms", *arms, "--workers", "1", "--out", str(tmp_path / "o.json")]
        )
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.count("\n") == 1


@pytest.mark.fit
def test_run_many_returns_records_in_the_order_of_the_specs() -> None:
    task = replace(StudyPlan.quick().tasks[-1], steps=6, eval_every=3)
    specs = [task.spec("adamw", 2, seed=1), task.spec("radam", 0, seed=0)]
    records = run_many(specs, workers=1, progress=False)
    assert [r["spec"] for r in records] == [s.to_dict() for s in specs]
    assert all(math.isfinite(r["final_eval_loss"]) for r in records)


def _decision_runs() -> list[dict[str, Any]]:
    """A task with both regimes and the alternatives: held-out and training losses that disagree."""
    runs = []

    def add(label: str, losses: list[float], train: float, **spec_changes: Any) -> None:
        for seed, x in enumerate(losses):
            spec = replace(TASK.spec("adamw", 0, seed), **spec_changes)
            record = run_record(
                spec, train_loss=[(10, 3.0), (800, train)], evals=[(0, 3.2, 0.0), (800, x, 0.9)],
                initial_eval_loss=3.2, seconds=2.0, optimizer_seconds=0.8,
            )  # fmt: skip
            runs.append({**record, "label": label, "task": TASK.label})

    for decay, shift in (("constant", 0.0), ("linear", -0.1)):
        sfx = "" if decay == "constant" else f"-{decay}"
        add(f"radam{sfx}", [0.50 + shift, 0.52 + shift], 0.45, optimizer="radam", decay=decay)
        add(f"adamw{sfx}", [0.60 + shift, 0.61 + shift], 0.55, decay=decay)
        # w100 is best held out, w200 best in training: the choice must follow training
        add(f"adamw-w100{sfx}", [0.40 + shift, 0.41 + shift], 0.50, warmup_steps=100, decay=decay)
        add(f"adamw-w200{sfx}", [0.45 + shift, 0.46 + shift], 0.40, warmup_steps=200, decay=decay)
        add(f"suggested{sfx}", [0.45 + shift, 0.46 + shift], 0.40, warmup_steps=200, decay=decay)
        add(
            f"adamw-pw_untuned_exp{sfx}",
            [0.55 + shift, 0.56 + shift],
            0.5,
            schedule="pw_untuned_exp",
            decay=decay,
        )
    add("sf_radam@0.003", [0.30, 0.31], 0.60, optimizer="sf_radam", lr=3e-3)  # best held out, not in training
    add("sf_radam@0.01", [0.35, 0.36], 0.30, optimizer="sf_radam", lr=1e-2)
    return runs


def _decision_results() -> dict[str, Any]:
    task = replace(TASK, decay="linear", alternatives=True, sf_lrs=(3e-3, 1e-2))
    plan = StudyPlan(tasks=(task,), seeds=(0, 1), grid=(0, 100))
    return {
        "plan": plan.to_dict(), "environment": {}, "probes": {TASK.label: SETTLED_AT_60},
        "suggested": {TASK.label: {"steps": 200, "source": "detector"}}, "runs": _decision_runs(),
    }  # fmt: skip


def test_each_regime_is_summarized_apart_and_schedule_free_belongs_to_both() -> None:
    from warmup_study.analysis import regime_runs, summarize_study

    runs = _decision_runs()
    constant, linear = regime_runs(runs, "constant"), regime_runs(runs, "linear")
    assert {r["label"] for r in linear} == {r["label"] for r in constant}  # decay stripped from the labels
    assert all(r["spec"]["decay"] == "linear" for r in linear if r["spec"]["optimizer"] != "sf_radam")
    summaries = summarize_study(_decision_results())
    assert [(s["task"], s["regime"]) for s in summaries] == [
        ("reversal/postln@0.003", "constant"), ("reversal/postln@0.003 (linear decay)", "linear"),
    ]  # fmt: skip
    assert summaries[1]["arms"]["radam"]["mean"] == pytest.approx(0.41)
    assert summaries[0]["arms"]["sf_radam@0.01"] == summaries[1]["arms"]["sf_radam@0.01"]


def test_choices_are_made_on_training_loss_never_on_the_held_out_split() -> None:
    from warmup_study.analysis import summarize_study
    from warmup_study.report import decision_data, decision_report

    summary = summarize_study(_decision_results())[0]
    assert summary["best_grid_arm"] == "adamw-w100"  # the held-out reference the detector is read against
    by_arm = {c["arm"]: c for c in summary["choices"]}
    assert "adamw-w200" in by_arm and "adamw-w100" not in by_arm  # w200: the lower training loss
    assert "sf_radam@0.01" in by_arm and "sf_radam@0.003" not in by_arm
    assert by_arm["sf_radam@0.01"]["choice"] == "schedule-free RAdam, lr 0.01 (chosen on training loss)"
    assert by_arm["radam"]["optimizer_step_ms"] == pytest.approx(1.0)  # 0.8 s over 800 steps
    data = decision_data(_decision_results())
    assert [d["regime"] for d in data] == ["constant", "linear"]
    first = {c["arm"]: c for c in data[0]["choices"]}
    assert first["sf_radam@0.01"]["mean"] == pytest.approx(0.355)
    assert data[0]["sentences"][0].startswith(
        "reversal/postln@0.003: the lowest held-out loss was schedule-free RAdam, lr 0.01"
    )
    assert "RAdam lost here." in data[0]["sentences"][1]
    assert decision_report(_decision_results()).count("## ") == 2


def test_a_task_whose_losses_end_near_zero_is_compared_by_absolute_difference() -> None:
    task = replace(TASK, measure="absolute")
    tiny = {
        "radam": [0.0002, 0.0003, 0.0002], "adamw": [0.9, 0.8, 0.9], "adamw-w100": [0.0001, 0.0001, 0.0001],
        "adamw-w200": [0.004, 0.006, 0.005], "suggested": [0.004, 0.006, 0.005],
    }  # fmt: skip
    summary = summarize_task(
        asdict(task), _runs(tiny, 120), SETTLED_AT_60, {"steps": 120, "source": "detector"}
    )
    # +4900% relative, 0.0049 absolute: close within 0.01 nats per token
    assert summary["suggestion_passes"] and summary["suggestion_diff"] == pytest.approx(0.0049)
    sentence = verdict(summary)
    assert "+0.0049 absolute held-out loss" in sentence and "%" not in sentence.split("(compared")[0]
    assert "compared by absolute held-out loss" in sentence
    assert "compared by relative held-out loss" in verdict(
        summarize_task(asdict(TASK), _runs(tiny, 120), SETTLED_AT_60, {"steps": 120, "source": "detector"})
    )
    assert not close_to({"mean": 0.02, "std": 0.0}, {"mean": 0.005, "std": 0.0}, "absolute")


def test_a_study_runs_by_parts_into_one_folder() -> None:
    from warmup_study.harness import merge_plans

    a, b = replace(TASK, lr=1e-2), replace(TASK, lr=3e-2)
    first = StudyPlan(tasks=(a,), seeds=(0, 1)).to_dict()
    second = StudyPlan(tasks=(b,), seeds=(0, 1)).to_dict()
    merged = merge_plans(first, second, Path("x"))
    assert [t["lr"] for t in merged["tasks"]] == [3e-2, 1e-2]  # this part's tasks, then the others
    assert merge_plans(merged, first, Path("x"))["tasks"] == [merged["tasks"][1], merged["tasks"][0]]
    changed = StudyPlan(tasks=(replace(a, steps=900),), seeds=(0, 1)).to_dict()
    with pytest.raises(ValueError, match=r"tasks reversal/postln@0.01 with other settings"):
        merge_plans(first, changed, Path("x"))
    with pytest.raises(ValueError, match="another seed list or grid"):
        merge_plans(first, StudyPlan(tasks=(b,), seeds=(0,)).to_dict(), Path("x"))


def test_task_labels_name_a_beta2_other_than_the_studys_first() -> None:
    plan = StudyPlan.default()
    labels = [t.label for t in plan.tasks]
    assert len(set(labels)) == len(labels)
    assert "bytes_lm/gpt2@0.003/beta2=0.999" in labels and "bytes_lm/gpt2@0.003" in labels
    long = [t for t in plan.tasks if t.beta2 == 0.999]
    assert len(long) >= 2 and all(t.steps >= 2000 and t.decay and t.alternatives for t in long)
    assert all(t.grid(plan.grid)[-1] == 2000 for t in long)  # the untuned 2 / (1 - 0.999) is swept
    assert len(plan.only(["bytes_lm/gpt2@0.003/"]).tasks) == 1
    with pytest.raises(ValueError, match="alternatives need sf_lrs"):
        replace(TASK, alternatives=True)
