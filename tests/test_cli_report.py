"""``radam-integrations report``: re-render a run's warmup report; exit 2 with one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from radam_integrations import WarmupDetector
from radam_integrations.cli import main

from ._problems import tiny_model, train


@pytest.fixture
def history_dir(tmp_path):
    model = tiny_model(torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    detector = WarmupDetector(opt, every=5)
    for _ in range(40):
        train(model, opt, 1)
        detector.update()
    detector.save_history(str(tmp_path / "warmup_history.json"))
    return tmp_path, detector


def test_report_renders_table_and_plot(history_dir, capsys) -> None:
    run, detector = history_dir
    assert main(["report", str(run)]) == 0
    out = capsys.readouterr().out
    assert "settled T" in out and "Adam" in out and f"{detector.evaluations} evaluations" in out
    assert (run / "warmup_report.png").stat().st_size > 10_000


def test_report_reads_trainer_state_and_lightning_csv(tmp_path, history_dir, capsys) -> None:
    _, detector = history_dir
    log_history = []
    for record in detector.history:
        entry = {"step": record["step"], "loss": 1.0}
        for label, values in record["groups"].items():
            entry.update({f"warmup/Adam/{label}/{k}": v for k, v in values.items()})
        log_history.append(entry)
    hf = tmp_path / "hf" / "checkpoint-40"
    hf.mkdir(parents=True)
    (hf / "trainer_state.json").write_text(json.dumps({"global_step": 40, "log_history": log_history}))
    assert main(["report", str(tmp_path / "hf"), "--no-plot"]) == 0
    assert "trainer_state.json" in capsys.readouterr().out

    csv_dir = tmp_path / "pl" / "lightning_logs" / "version_0"
    csv_dir.mkdir(parents=True)
    keys = sorted({k for e in log_history for k in e})
    lines = [",".join(keys)] + [",".join(str(e.get(k, "")) for k in keys) for e in log_history]
    (csv_dir / "metrics.csv").write_text("\n".join(lines))
    assert main(["report", str(tmp_path / "pl"), "--no-plot"]) == 0
    assert "metrics.csv" in capsys.readouterr().out


def _write(name: str, text: str):
    def setup(d):
        (d / name).write_text(text)
        return d

    return setup


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda d: d / "missing", "no such file or directory"),
        (lambda d: d, "no warmup history found"),
        (_write("warmup_history.json", '{"format": "radam-integrations/warmup-hi'), "not valid JSON"),
        (_write("warmup_history.csv", ""), "empty CSV"),
        (_write("trainer_state.json", '{"log_history": [{"step": 1, "loss": 2}]}'), "holds no warmup/"),
    ],
    ids=["missing", "empty-dir", "truncated-json", "empty-csv", "no-metrics"],
)
def test_report_bad_run_dir_exits_2_with_one_line(tmp_path, setup, reason) -> None:
    target = setup(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "radam_integrations.cli", "report", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and reason in err, err
