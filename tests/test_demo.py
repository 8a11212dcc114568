"""``python -m warmup_ablation --quick`` (``make demo-quick``) writes its files; ``report`` redraws them."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import pytest

from warmup_ablation.ablation import ARMS, DemoSettings, steps_to_target


@pytest.mark.slow
def test_quick_demo_end_to_end(tmp_path, subprocess_env) -> None:
    out = tmp_path / "demo"
    cli = [sys.executable, "-m", "warmup_ablation"]
    proc = subprocess.run([*cli, "--quick", "--out", str(out), "--no-progress"],
                          capture_output=True, text=True, timeout=600, env=subprocess_env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "torch threads: 1 (OMP_NUM_THREADS)" in proc.stdout  # the demo says what it chose
    for name in ("demo_results.json", "summary.md", "metrics.csv", "demo.png"):
        assert (out / name).is_file(), name
    assert (out / "demo.png").stat().st_size > 30_000

    results = json.loads((out / "demo_results.json").read_text())
    settings = DemoSettings.from_dict(results["settings"])
    assert settings == DemoSettings.quick() and results["torch_threads"] == 1
    assert {r["arm"] for r in results["runs"]} == {a.key for a in ARMS}
    for run in results["runs"]:
        assert len(run["train_loss"]) == settings.steps
        assert all(math.isfinite(v) for v in run["train_loss"])
        assert all(math.isfinite(p["val_accuracy"]) and 0 <= p["val_accuracy"] <= 1 for p in run["val"])
        assert run["detector"], "the detector evaluated"
    warmups = {r["arm"]: r["warmup"] for r in results["runs"]}
    assert warmups["adam-warmup-2k"] == 2000 and warmups["adam"] == warmups["radam"] == 0
    assert warmups["adam-warmup-det"] == results["detector_suggested_warmup"] > 0
    table = (out / "summary.md").read_text()
    assert all(a.label in table for a in ARMS)

    report = subprocess.run([*cli, "report", str(out), "--out", str(tmp_path / "again.png")],
                            capture_output=True, text=True, timeout=300, env=subprocess_env)  # fmt: skip
    assert report.returncode == 0, report.stderr[-2000:]
    assert "RAdam (ours), no warmup" in report.stdout
    assert (tmp_path / "again.png").stat().st_size > 30_000


@pytest.mark.process
@pytest.mark.parametrize(("threads", "env"), [("0", {}), (None, {"OMP_NUM_THREADS": "two"})])
def test_a_bad_thread_count_is_one_line_and_exit_2(tmp_path, subprocess_env, threads, env) -> None:
    cli = [sys.executable, "-m", "warmup_ablation", "--quick", "--out", str(tmp_path)]
    cli += ["--threads", threads] if threads else []
    proc = subprocess.run(cli, capture_output=True, text=True, timeout=300, env={**subprocess_env, **env})
    # OpenMP's runtime itself complains about a bad OMP_NUM_THREADS when torch loads it (libgomp: ...)
    ours = [line for line in proc.stderr.strip().splitlines() if not line.startswith("libgomp:")]
    assert proc.returncode == 2 and len(ours) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert ("--threads must be at least 1" if threads else "OMP_NUM_THREADS='two'") in proc.stderr


def test_steps_to_target() -> None:
    losses = [3.0] * 20 + [0.01] * 30
    assert steps_to_target(losses, 0.1) is not None and 20 < steps_to_target(losses, 0.1) <= 50
    assert steps_to_target([3.0] * 50, 0.1) is None


def _run(arm: str, seed: int, losses: list) -> dict:
    val = [{"step": 10, "val_accuracy": 0.5, "val_loss": 1.0}]
    return {"arm": arm, "seed": seed, "warmup": 0, "train_loss": losses, "val": val, "detector": [],
            "settled_step": None, "suggested_warmup_steps": None}  # fmt: skip


@pytest.mark.parametrize("stored", [math.nan, None], ids=["in-memory", "strict-json-null"])
def test_a_diverged_seed_is_counted_not_a_crash(tmp_path, stored) -> None:
    """A diverged run's loss is NaN in memory and null in strict JSON; neither crashes the summary."""
    from warmup_ablation.figure import plot_results
    from warmup_ablation.summary import summarize
    from warmup_ablation.tables import markdown_table, terminal_table

    pytest.importorskip("matplotlib")
    settings = DemoSettings.quick()
    results = {
        "settings": settings.to_dict(),
        "arms": [{"key": "radam", "label": "RAdam", "optimizer": "radam"},
                 {"key": "adam", "label": "Adam", "optimizer": "adam"}],
        "runs": [_run("radam", 0, [2.0] * 20), _run("radam", 1, [1.0] * 19 + [stored]),
                 _run("radam", 2, [3.0] * 20), _run("adam", 0, [2.0] * 10 + [stored] * 10),
                 _run("adam", 1, [stored] * 20)],
    }  # fmt: skip
    radam, adam = summarize(results)
    assert radam["diverged"] == 1 and radam["final_loss_mean"] == pytest.approx(2.5)
    assert radam["final_loss_std"] == pytest.approx(0.5)
    assert adam["diverged"] == 2 and math.isnan(adam["final_loss_mean"])
    table = markdown_table([radam, adam], settings)
    assert "2.500 ± 0.500 (1/3 diverged)" in table and "diverged (2/2)" in table
    assert "diverged (2/2)" in terminal_table([radam, adam], settings)
    assert plot_results(results, tmp_path / "demo.png") and (tmp_path / "demo.png").stat().st_size > 10_000


def test_an_unsettled_detector_is_not_passed_off_as_a_suggestion() -> None:
    from warmup_ablation.ablation import _detector_suggestion
    from warmup_ablation.tables import describe_setup

    settings = dataclasses.replace(DemoSettings.quick(), steps=30)
    runs = [{"arm": "radam", "suggested_warmup_steps": None}, {"arm": "adam", "suggested_warmup_steps": 50}]
    value, source = _detector_suggestion(runs, settings)
    assert value == 2000 and "did not settle in any of the 1 RAdam run(s) of 30 steps" in source
    text = describe_setup({"settings": settings.to_dict(), "detector_suggested_warmup": value,
                           "detector_suggestion_source": source})  # fmt: skip
    assert "2000 steps (the detector did not settle" in text and "untuned fallback" in text
    settled = [{"arm": "radam", "suggested_warmup_steps": s} for s in (120, 140, 160)]
    assert _detector_suggestion(settled, settings) == (140, "median over 3 settled RAdam run(s)")
