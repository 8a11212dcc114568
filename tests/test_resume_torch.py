"""Exact resume with torch.save in fresh processes, on every step path, with the detector's state."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _run(repo_root, env, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "tests.scripts.resume_torch", *args], cwd=repo_root, env=env,
                   check=True, capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.parametrize("kind", ["fused", "foreach", "single", "capturable"])
def test_n_plus_m_equals_resumed_run(repo_root, subprocess_env, tmp_path, kind: str) -> None:
    _run(repo_root, subprocess_env, "full", kind, str(tmp_path))
    _run(repo_root, subprocess_env, "first", kind, str(tmp_path))
    _run(repo_root, subprocess_env, "second", kind, str(tmp_path))
    full = json.loads((tmp_path / "full.json").read_text())
    resumed = json.loads((tmp_path / "second.json").read_text())
    assert resumed["params"] == full["params"]  # exactly, bit for bit
    assert resumed["settled"] == full["settled"] and resumed["evaluations"] == full["evaluations"]
    assert json.dumps(resumed["history"]) == json.dumps(full["history"])


@pytest.mark.parametrize(("first", "second"), [("torch-foreach", "foreach"), ("foreach", "torch-foreach")])
def test_checkpoints_move_between_torch_and_ours(repo_root, subprocess_env, tmp_path, first, second) -> None:
    _run(repo_root, subprocess_env, "full", "foreach", str(tmp_path))
    _run(repo_root, subprocess_env, "first", first, str(tmp_path))
    _run(repo_root, subprocess_env, "second", second, str(tmp_path), second)
    full = json.loads((tmp_path / "full.json").read_text())
    resumed = json.loads((tmp_path / "second.json").read_text())
    assert resumed["optimizer"].endswith(("radam.RAdam",))
    assert resumed["params"] == full["params"]  # the foreach paths are bit-identical
