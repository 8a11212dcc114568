"""recipes/timm_train.py runs end to end (small settings) with our RAdam from timm's factory."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import pytest

pytest.importorskip("timm")


@pytest.mark.slow
def test_timm_recipe(repo_root, tmp_path, subprocess_env) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(repo_root / "recipes" / "timm_train.py"),
            "--steps",
            "40",
            "--output-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=subprocess_env,
        check=True,
    )
    assert "radam_integrations.optim.radam.RAdam" in out.stdout
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["is_radam"] and math.isfinite(result["final_loss"])
    assert result["evaluations"] == 8  # steps 1, 2, 4, 8, 10, 20, 30, 40
    assert (tmp_path / "warmup_history.json").is_file()
    # written by default whenever matplotlib is installed
    assert (tmp_path / "warmup_history.png").is_file() == (importlib.util.find_spec("matplotlib") is not None)
