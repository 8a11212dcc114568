"""Launching two CPU processes (gloo) for the distributed tests: ``torchrun`` or ``accelerate launch``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def accelerate_two_processes(
    script: Path, *args: str, env: dict[str, str], home: Path, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """``ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 script args``; fails the test
    with the output's tail when it does not exit 0. ``home`` isolates Accelerate from any user config."""
    launcher = Path(sys.executable).with_name("accelerate")
    if not launcher.exists():
        pytest.skip(f"no accelerate launcher next to {sys.executable}")
    env = {**env, "ACCELERATE_USE_CPU": "1", "HF_HOME": str(home)}
    command = [
        str(launcher), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", str(script), *args,
    ]  # fmt: skip
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    return out


def torchrun_two_processes(
    module: str, *args: str, env: dict[str, str], cwd: Path, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    """``torchrun --standalone --nproc_per_node 2 -m module args`` (through ``sys.executable``, so
    any venv's interpreter works); fails the test with the output's tail when it does not exit 0."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    out = subprocess.run(
        [*launcher, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-8000:]
    return out
