"""The Lightning recipes run end to end with small settings and do what they say."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("radam_integrations.integrations.lightning")

pytestmark = pytest.mark.slow

# The detector's plot is written by default (plot=None) whenever matplotlib is installed.
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def run_all(commands: dict[str, list[str]], cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """Run the recipes side by side; their stdout by name (a failure shows the stderr tail)."""
    procs = {
        name: subprocess.Popen(
            [sys.executable, *argv],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, argv in commands.items()
    }
    outputs = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name} failed:\n{out[-2000:]}\n{err[-4000:]}"
        outputs[name] = out
    return outputs


def result(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("result: ")]
    assert lines, f"no result line in:\n{stdout[-2000:]}"
    return json.loads(lines[-1][len("result: ") :])


def test_configure_optimizers_recipe_radam_and_adamw_warmup(repo_root, tmp_path, subprocess_env):
    script = str(repo_root / "recipes" / "lightning_configure_optimizers.py")
    small = ["--steps", "30", "--every", "5", "--output-dir", str(tmp_path)]
    outputs = run_all(
        {
            "radam": [script, *small],
            "adamw": [script, *small, "--optimizer", "adamw-warmup", "--warmup-steps", "20"],
        },
        tmp_path,
        subprocess_env,
    )
    assert "optimizer: radam_integrations.optim.radam.RAdam (0.9, 0.99)" in outputs["radam"]
    assert "optimizer: torch.optim.adamw.AdamW (0.9, 0.99)" in outputs["adamw"]
    for name, opt in (("radam", "RAdam"), ("adamw", "AdamW")):
        got = result(outputs[name])
        assert got["steps"] == 30
        assert got["evaluations"] == 9  # steps 1, 2, 4, 8, 10, 15, 20, 25, 30
        assert "settled T" in outputs[name]  # the summary table printed at train end
        log_dir = Path(got["output_dir"])
        history = json.loads((log_dir / "warmup_history.json").read_text())
        assert {r["optimizer"] for r in history["records"]} == {opt}
        header = (log_dir / "metrics.csv").read_text().splitlines()[0].split(",")
        assert f"warmup/{opt}/noise" in header and "train_loss" in header  # the compact set
        assert got["final_loss"] < 3.4  # below log(32) = 3.47, the loss of a uniform guess
        assert (log_dir / "warmup_history.png").is_file() == HAS_MATPLOTLIB


def test_lightning_cli_recipe_uses_radam_from_yaml_and_command_line(repo_root, tmp_path, subprocess_env):
    script = str(repo_root / "recipes" / "lightning_cli.py")
    dirs = {name: str(tmp_path / name) for name in ("yaml", "flags")}
    outputs = run_all(
        {
            "yaml": [
                script, "fit", "--config", str(repo_root / "recipes" / "lightning_cli.yaml"),
                "--trainer.max_steps", "5", "--trainer.default_root_dir", dirs["yaml"],
                "--trainer.logger.init_args.save_dir", dirs["yaml"],
            ],
            "flags": [
                script, "fit", "--optimizer", "radam_integrations.RAdam", "--optimizer.lr", "0.001",
                "--trainer.max_steps", "5", "--trainer.logger", "false",
                "--trainer.default_root_dir", dirs["flags"], "--trainer.enable_progress_bar", "false",
            ],
        },
        tmp_path,
        subprocess_env,
    )  # fmt: skip
    # betas from the yaml's init_args; the command-line run has RAdam's defaults
    assert "optimizer: radam_integrations.optim.radam.RAdam (0.9, 0.99)" in outputs["yaml"]
    assert "optimizer: radam_integrations.optim.radam.RAdam (0.9, 0.999)" in outputs["flags"]
    config = (Path(dirs["yaml"]) / "version_0" / "config.yaml").read_text()
    assert "class_path: radam_integrations.RAdam" in config
    assert "class_path: radam_integrations.integrations.lightning.WarmupDetectorCallback" in config
    assert "settled T" in outputs["yaml"]  # the detector from the yaml's callbacks ran
    history = json.loads((Path(dirs["yaml"]) / "version_0" / "warmup_history.json").read_text())
    assert [r["step"] for r in history["records"]] == [1, 2, 4]
    assert (Path(dirs["yaml"]) / "version_0" / "warmup_history.png").is_file() == HAS_MATPLOTLIB
    assert "settled T" not in outputs["flags"]  # no callback configured there


def test_fabric_loop_recipe_logs_and_resumes_the_detection(repo_root, tmp_path, subprocess_env):
    script = str(repo_root / "recipes" / "fabric_loop.py")
    small = ["--every", "5", "--batch-size", "16"]
    first = run_all(
        {
            "straight": [script, *small, "--steps", "30", "--output-dir", str(tmp_path / "straight")],
            "first": [script, *small, "--steps", "20", "--output-dir", str(tmp_path / "first")],
        },
        tmp_path,
        subprocess_env,
    )
    straight, part = result(first["straight"]), result(first["first"])
    assert straight["optimizer"] == "radam_integrations.optim.radam.RAdam"
    assert straight["history_steps"] == [1, 2, 4, 8, 10, 15, 20, 25, 30]
    assert part["history_steps"] == [1, 2, 4, 8, 10, 15, 20]
    metrics = (Path(straight["log_dir"]) / "metrics.csv").read_text().splitlines()
    assert "warmup/RAdam/noise" in metrics[0].split(",")  # the compact set
    assert (Path(straight["log_dir"]) / "warmup_history.json").exists()
    assert (Path(straight["log_dir"]) / "warmup_history.png").exists() == HAS_MATPLOTLIB

    resumed_out = run_all(
        {
            "resumed": [
                script, *small, "--steps", "30", "--output-dir", str(tmp_path / "resumed"),
                "--resume-from", part["checkpoint"],
            ]
        },
        tmp_path,
        subprocess_env,
    )["resumed"]  # fmt: skip
    assert "resumed at step 20" in resumed_out
    resumed = result(resumed_out)
    for key in ("history_steps", "evaluations", "settled_step", "suggested_warmup_steps", "last_loss"):
        assert resumed[key] == straight[key], key  # last_loss: the same training, to the bit
