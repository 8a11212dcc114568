"""``radam-integrations report``: re-render a run's warmup report; exit 2 with one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radam_integrations import WarmupDetector
from radam_integrations.cli import main

from .helpers.problems import tiny_model, train


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


@pytest.mark.process
@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda d: d / "missing", "no such file or directory"),
        (lambda d: d, "no warmup history found"),
        (
            _write("warmup_history.json", '{"format": "radam-integrations/warmup-hi'),
            "not valid JSON (line 1, column 12: Unterminated string starting at); truncated?",
        ),
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


HISTORY_HEAD = b'{"format": "radam-integrations/warmup-history", '


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("warmup_history.json", b"\x80\x81\xfe binary", "not a text file"),
        ("ckpt.pt", b"PK\x03\x04 a torch checkpoint", "unsupported file type"),
        ("warmup_history.json", HISTORY_HEAD + b'"records": []}', "no evaluations"),
        ("warmup_history.json", HISTORY_HEAD + b'"records": [1]}', "record 0"),
        ("warmup_history.json", b"[1, 2]", "neither a warmup history"),
        ("warmup_history.csv", b"step,group\nabc,pg0\n", "no numeric 'step'"),
        ("trainer_state.json", b'{"log_history": ["x", {"step": "y"}]}', "holds no warmup/"),
    ],
)
def test_report_bad_files_exit_2_with_one_line(tmp_path, capsys, name, content, reason) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["report", str(path), "--no-plot"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and reason in captured.err, captured.err


def test_report_out_folder_and_bad_out(history_dir, tmp_path, capsys) -> None:
    run, _ = history_dir
    folder = tmp_path / "plots"
    folder.mkdir()
    assert main(["report", str(run), "--out", str(folder)]) == 0
    assert f"plot: {folder / 'warmup_report.png'}" in capsys.readouterr().out
    assert (folder / "warmup_report.png").stat().st_size > 10_000
    assert main(["report", str(run), "--out", str(tmp_path / "plot.txt")]) == 2
    assert "give a .png file name or an existing folder" in capsys.readouterr().err
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["report", str(run), "--out", str(blocker / "x.png")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is not a folder" in err


def test_the_named_folders_own_history_wins(history_dir, capsys) -> None:
    run, _ = history_dir
    nested = run / "older_run" / "inner"
    nested.mkdir(parents=True)
    (nested / "warmup_history.json").write_text((run / "warmup_history.json").read_text())  # newer mtime
    assert main(["report", str(run), "--no-plot"]) == 0
    assert f"warmup report from {run / 'warmup_history.json'} " in capsys.readouterr().out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=400),
    name=st.sampled_from(["warmup_history.json", "warmup_history.csv", "trainer_state.json", "metrics.csv"]),
)
def test_report_random_bytes_never_traceback(tmp_path, capsys, data, name) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    code = main(["report", str(path), "--no-plot"])
    captured = capsys.readouterr()
    if code != 0:  # random bytes are (almost surely) not a history: one line, exit 2
        assert code == 2 and captured.out == ""
        assert len(captured.err.strip().splitlines()) == 1, captured.err


@pytest.mark.parametrize(
    ("threshold", "first"),
    [("2", "5"), ("4", "5"), ("5", "6"), ("500", "551")],
)
def test_schedule_agrees_with_the_optimizer(capsys, threshold, first) -> None:
    from radam_integrations import RAdam

    assert main(["schedule", "--beta2", "0.999", "--threshold", threshold]) == 0
    row = capsys.readouterr().out.splitlines()[2].split()
    assert row[2] == first
    # The optimizer's first update with the same threshold (degenerated_to_sgd=False: no update before).
    p = torch.nn.Parameter(torch.ones(3))
    with pytest.warns(UserWarning) if float(threshold) < 4 else _no_warning():
        opt = RAdam([p], lr=0.1, threshold=float(threshold), degenerated_to_sgd=False)
    for step in range(1, 600):
        before = p.detach().clone()
        p.grad = torch.ones(3)
        opt.step()
        if not torch.equal(before, p.detach()):
            assert step == int(first)
            break


def test_schedule_never_rectified_prints_never_for_every_horizon(capsys) -> None:
    assert main(["schedule", "--beta2", "0.99", "--threshold", "500"]) == 0
    row = capsys.readouterr().out.splitlines()[2].split()
    assert row[2:6] == ["never", "never", "never", "never"]
    assert main(["schedule", "--threshold", "-1"]) == 2
    assert "--threshold must be a finite number >= 0" in capsys.readouterr().err


def _no_warning():
    import contextlib

    return contextlib.nullcontext()


@pytest.mark.parametrize(("results", "lab"), [("demo_results.json", "warmup_ablation"),
                                              ("study_results.json", "warmup_study")])  # fmt: skip
def test_a_lab_folder_points_to_the_labs_report(tmp_path, capsys, results, lab) -> None:
    (tmp_path / results).write_text("{}")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"python -m {lab} report {tmp_path}" in err


@pytest.mark.parametrize("command", ["demo", "study"])
def test_the_lab_commands_say_where_they_went(capsys, command) -> None:
    assert main([command, "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"`make {command}`" in err and "no longer part of the installed" in err
