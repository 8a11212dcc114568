"""recipes/accelerate_loop.py end to end: one process, two CPU processes (gloo), and a resumed run.

Two processes come from ``ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2``; every
run's own output is checked for the world size, distributed type and backend it actually got (without
``ACCELERATE_USE_CPU=1`` that command silently starts two independent single processes).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("accelerate")

from .helpers.compare import same

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "accelerate_loop.py"
# Small and quick: 16 batches per epoch, so 60 steps cross epochs and a resume at 30 skips batches.
FLAGS = ["--samples", "1024", "--batch-size", "64", "--width", "32", "--every", "5"]


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env["HF_HOME"] = str(tmp / "hf")  # no user-level accelerate config
    return env


def _run(command: list[str], env: dict[str, str]) -> str:
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    # No tracker without --log-with: the recipe passes log=False rather than have the detector warn.
    assert "has no tracker" not in out.stderr, out.stderr[-3000:]
    return out.stdout


def _single(out_dir: Path, steps: int, *extra: str) -> str:
    command = [
        sys.executable,
        str(RECIPE),
        "--steps",
        str(steps),
        "--output-dir",
        str(out_dir),
        *FLAGS,
        *extra,
    ]
    return _run(command, _env(out_dir.parent))


def _two_processes(out_dir: Path, steps: int, *extra: str) -> str:
    launcher = Path(sys.executable).with_name("accelerate")
    if not launcher.exists():
        pytest.skip(f"no accelerate launcher next to {sys.executable}")
    command = [
        str(launcher), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no",
        str(RECIPE), "--steps", str(steps), "--output-dir", str(out_dir), *FLAGS, *extra,
    ]  # fmt: skip
    return _run(command, {**_env(out_dir.parent), "ACCELERATE_USE_CPU": "1"})


def _fields(stdout: str, first_key: str) -> dict[str, str]:
    """The ``key=value`` pairs of the output line that starts with ``first_key=`` (exactly one such line)."""
    lines = [line for line in stdout.splitlines() if line.startswith(first_key + "=")]
    assert len(lines) == 1, stdout
    return dict(pair.split("=", 1) for pair in lines[0].split())


def _history(out_dir: Path) -> list[dict[str, Any]]:
    return json.loads((out_dir / "warmup_history.json").read_text())["records"]


@pytest.fixture(scope="module")
def single_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out_dir = tmp_path_factory.mktemp("accelerate_single") / "run"
    return out_dir, _single(out_dir, 60)


@pytest.mark.process
def test_recipe_single_process(single_run: tuple[Path, str]) -> None:
    out_dir, stdout = single_run
    assert _fields(stdout, "world_size") == {
        "world_size": "1",
        "distributed_type": "NO",
        "backend": "none",
        "device": "cpu",
    }
    result = _fields(stdout, "final_loss")
    assert math.isfinite(float(result["final_loss"])) and result["steps"] == "60"
    assert result["evaluations"] == "15"  # steps 1, 2, 4, 8, then every 5 up to 60
    assert result["settled_step"] != "None"
    assert [r["step"] for r in _history(out_dir)] == [1, 2, 4, 8, *range(10, 61, 5)]
    assert (out_dir / "warmup_history.png").is_file()
    checkpoint = out_dir / "checkpoint"
    for name in ("model.safetensors", "optimizer.bin", "custom_checkpoint_0.pkl", "custom_checkpoint_1.pkl"):
        assert (checkpoint / name).is_file(), name


@pytest.mark.slow
@pytest.mark.distributed
def test_recipe_two_cpu_processes_match_one_process(single_run: tuple[Path, str], tmp_path: Path) -> None:
    """Two-process resume is proved in test_integration_accelerate (each rank's own sample memory)."""
    single_dir, single_out = single_run
    full_out = _two_processes(tmp_path / "full", 60)
    header = _fields(full_out, "world_size")
    assert (header["world_size"], header["distributed_type"], header["backend"]) == ("2", "MULTI_CPU", "gloo")
    assert full_out.count("final_loss=") == 1  # printed by the main process only

    # Each process trains on half of every global batch and DDP averages the gradients: the same steps as
    # one process on the whole batch, up to float rounding of the all-reduce.
    single, full = _fields(single_out, "final_loss"), _fields(full_out, "final_loss")
    assert float(full["final_loss"]) == pytest.approx(float(single["final_loss"]), rel=1e-4)
    assert full["settled_step"] == single["settled_step"] != "None"
    assert full["evaluations"] == single["evaluations"]
    single_history, full_history = _history(single_dir), _history(tmp_path / "full")
    assert [r["step"] for r in full_history] == [r["step"] for r in single_history]
    for one, two in zip(single_history, full_history):
        for key, value in one.items():
            if isinstance(value, float) and math.isfinite(value):
                assert two[key] == pytest.approx(value, rel=1e-4, abs=1e-9), (one["step"], key)
            else:
                assert same(two[key], value), (one["step"], key)


@pytest.mark.slow
@pytest.mark.process
def test_recipe_resumes_exactly(single_run: tuple[Path, str], tmp_path: Path) -> None:
    """save_state at 30 and --resume-from in a new process: the uninterrupted run, exactly."""
    single_dir, single_out = single_run
    _single(tmp_path / "half", 30)
    resumed_out = _single(tmp_path / "resumed", 60, "--resume-from", str(tmp_path / "half" / "checkpoint"))
    assert "resumed from" in resumed_out and "at step 30" in resumed_out
    resumed, full = _fields(resumed_out, "final_loss"), _fields(single_out, "final_loss")
    assert resumed["final_loss"] == full["final_loss"]
    assert resumed["settled_step"] == full["settled_step"]
    assert same(_history(tmp_path / "resumed"), _history(single_dir))
