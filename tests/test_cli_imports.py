"""The CLI answers at once: ``--help``, ``schedule`` and ``report`` import neither torch nor a framework.

``radam_integrations/__init__.py`` and ``radam_integrations/warmup/__init__.py`` import their names on
first use (PEP 562), so the CLI's light commands load only what they run: ``schedule`` is float
arithmetic (:mod:`radam_integrations.theory`), ``report`` reads JSON/CSV and imports matplotlib (and
with it numpy) for its plot only.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Never imported by the light commands.
HEAVY = [
    "torch",
    "transformers",
    "timm",
    "lightning",
    "pytorch_lightning",
    "lightning_fabric",
    "accelerate",
    "deepspeed",
    "torchvision",
    "jsonargparse",
    "scipy",
]

PROBE = r"""
import contextlib, io, json, sys
from radam_integrations.cli import main

argv, heavy = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(argv)
    except SystemExit as exit:  # --help exits through argparse
        code = exit.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
print(json.dumps({"code": code, "stdout": out.getvalue(), "loaded": loaded}))
"""


def _history(tmp_path):
    """A small warmup_history.json in the format WarmupDetector.save_history writes."""
    records = [
        {
            "step": step,
            "optimizer": "Adam",
            "group": "pg0",
            "beta2": 0.999,
            "noise": noise,
            "noise_floor": 0.05,
            "staleness": 0.5 / step,
            "r_t": min(1.0, step / 40),
            "update_to_param": 1e-3,
            "settled_step": 30 if step >= 30 else None,
            "relapses": 0,
        }
        for step, noise in ((10, 0.4), (20, 0.2), (30, 0.04), (40, 0.03))
    ]
    path = tmp_path / "warmup_history.json"
    payload = {"format": "radam-integrations/warmup-history", "version": 1, "records": records, "summary": []}
    path.write_text(json.dumps(payload), encoding="utf-8")
    return tmp_path


def _run(argv: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(HEAVY)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.process
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--help"], "usage: radam-integrations"),
        (["schedule", "--beta2", "0.99", "0.999"], "rho_inf"),
        (["schedule", "--json"], '"first_rectified_step"'),
    ],
)
def test_help_and_schedule_import_no_framework(argv, expected, subprocess_env) -> None:
    result = _run(argv, subprocess_env)
    assert result["code"] == 0
    assert expected in result["stdout"]
    assert result["loaded"] == []


@pytest.mark.process
@pytest.mark.parametrize("plot", [False, True])
def test_report_imports_no_framework(plot, tmp_path, subprocess_env) -> None:
    run = _history(tmp_path)
    result = _run(["report", str(run)] + ([] if plot else ["--no-plot"]), subprocess_env)
    assert result["code"] == 0
    assert "settled T" in result["stdout"] and "Adam" in result["stdout"]
    assert result["loaded"] == []
    assert (run / "warmup_report.png").is_file() is plot
