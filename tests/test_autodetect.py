"""--detect's session: a detector on every Adam-family optimizer, precedence, lifetime, the report."""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from radam_integrations import RAdam, WarmupDetector
from radam_integrations.warmup import claims
from radam_integrations.warmup.autodetect import DetectSession, current_session


@pytest.fixture
def session(tmp_path: Path) -> Iterator[DetectSession]:
    session = DetectSession(tmp_path / "warmup", plot=False)
    session.start()
    yield session
    session.stop()


def train(opt: torch.optim.Optimizer, model: torch.nn.Module, steps: int, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        opt.zero_grad()
        model(torch.randn(16, model.in_features, generator=gen)).pow(2).mean().backward()
        opt.step()


def test_every_adam_family_optimizer_gets_one_detector(session: DetectSession) -> None:
    assert current_session() is session
    a, b, c = (torch.nn.Linear(8, 2) for _ in range(3))
    optimizers = [torch.optim.AdamW(a.parameters()), torch.optim.AdamW(b.parameters()), RAdam(c.parameters())]
    for opt, model in zip(optimizers, (a, b, c)):
        train(opt, model, 12)
    sgd_model = torch.nn.Linear(8, 2)
    train(torch.optim.SGD(sgd_model.parameters(), lr=0.1), sgd_model, 3)  # not Adam: ignored, no error
    assert [d.name for d in session.detectors] == ["AdamW", "AdamW-1", "RAdam"]
    assert [[r["step"] for r in d.history] for d in session.detectors] == [[1, 2, 4, 8, 10]] * 3


def test_a_detector_the_script_builds_takes_precedence(session: DetectSession) -> None:
    model = torch.nn.Linear(8, 2)
    opt = torch.optim.Adam(model.parameters())
    mine = WarmupDetector(opt, every=5)
    train(opt, model, 3)
    assert session.detectors == []  # watched already: the hook stays out
    other = torch.nn.Linear(8, 2)
    late = torch.optim.Adam(other.parameters())
    train(late, other, 4)
    (hooked,) = session.detectors
    assert hooked.evaluations == 3  # steps 1, 2, 4
    late_mine = WarmupDetector(late)  # the script attaches its own after a few steps
    train(late, other, 6)
    assert session.detectors == [] and hooked.evaluations == 3  # the hook's detector stepped aside
    assert mine.optimizer is opt and late_mine.attach_level == claims.EXPLICIT


def test_a_framework_detector_outranks_the_hook(session: DetectSession) -> None:
    model = torch.nn.Linear(8, 2)
    opt = torch.optim.Adam(model.parameters())
    train(opt, model, 2)
    (hooked,) = session.detectors
    with claims.attaching(claims.FRAMEWORK):
        framework = WarmupDetector(opt)
    session.add(framework)
    assert hooked.outranked and not framework.outranked
    assert session.detectors == [framework]


def test_wrappers_share_the_inner_optimizers_detector(session: DetectSession) -> None:
    from timm.optim import Lookahead

    model = torch.nn.Linear(8, 2)
    opt = Lookahead(torch.optim.AdamW(model.parameters()))
    train(opt, model, 10)
    (detector,) = session.detectors
    assert type(detector.optimizer) is torch.optim.AdamW and detector.evaluations == 5


def test_the_session_does_not_keep_old_optimizers_alive(session: DetectSession, tmp_path: Path) -> None:
    """A script that trains several models in turn must not accumulate their optimizer state."""
    refs = []
    for seed in range(3):
        model = torch.nn.Linear(8, 2)
        opt = torch.optim.Adam(model.parameters())
        train(opt, model, 10, seed=seed)
        refs.append(weakref.ref(opt))
        del model, opt
    gc.collect()
    assert [r() for r in refs] == [None, None, None]
    written = session.finish()  # the report still covers the three runs
    history = json.loads(Path(written[0]).read_text())
    assert [row["optimizer"] for row in history["summary"]] == ["Adam", "Adam-1", "Adam-2"]


def test_finish_prints_and_writes_strict_json(
    session: DetectSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = torch.nn.Linear(8, 2)
    train(torch.optim.AdamW(model.parameters(), lr=1e-2), model, 30)
    (path,) = session.finish()
    assert current_session() is None
    out = capsys.readouterr().out
    assert "settled T" in out and "AdamW" in out and path in out

    def refuse(token: str) -> None:
        raise ValueError(token)

    data = json.loads(Path(path).read_text(), parse_constant=refuse)
    assert [r["step"] for r in data["records"]] == [1, 2, 4, 8, 10, 20, 30]
    assert data["records"][0]["noise"] is None  # undefined at the first evaluation: null, not NaN


def test_only_rank_0_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "1")
    session = DetectSession(tmp_path / "warmup", plot=False)
    session.start()
    model = torch.nn.Linear(8, 2)
    train(torch.optim.AdamW(model.parameters()), model, 3)
    assert session.finish() == []
    assert not (tmp_path / "warmup").exists()


def test_framework_detectors_are_announced_once_when_they_settle(
    session: DetectSession, capsys: pytest.CaptureFixture[str]
) -> None:
    model = torch.nn.Linear(8, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    with claims.attaching(claims.FRAMEWORK):  # as the HF/Lightning callbacks under --detect
        detector = WarmupDetector(opt)
    session.add(detector)
    gen = torch.Generator().manual_seed(0)
    for _ in range(120):
        opt.zero_grad()
        model(torch.randn(16, 8, generator=gen)).pow(2).mean().backward()
        opt.step()
        if detector.update() is not None:
            session.evaluated(detector)
    assert detector.settled_step is not None
    out = capsys.readouterr().out
    assert out.count(f"warmup detector: AdamW settled at step {detector.settled_step}") == 1


def test_the_scripts_own_detector_is_reported_even_once_gone(session: DetectSession, tmp_path: Path) -> None:
    """A detector the script built (e.g. through its own WarmupDetectorCallback) is in the run's report."""
    model = torch.nn.Linear(8, 2)
    opt = torch.optim.Adam(model.parameters())
    mine = WarmupDetector(opt, every=5, name="Mine")
    gen = torch.Generator().manual_seed(0)
    for _ in range(10):
        opt.zero_grad()
        model(torch.randn(16, 8, generator=gen)).pow(2).mean().backward()
        opt.step()
        mine.update()
    expected = [r["step"] for r in mine.history]
    del mine, opt, model
    gc.collect()
    (path,) = session.finish()
    history = json.loads(Path(path).read_text())
    assert [row["optimizer"] for row in history["summary"]] == ["Mine"]
    assert [r["step"] for r in history["records"]] == expected == [1, 2, 4, 8, 10]


def test_an_internal_detector_is_not_reported(session: DetectSession) -> None:
    model = torch.nn.Linear(8, 2)
    opt = torch.optim.Adam(model.parameters())
    with claims.attaching(claims.INTERNAL):
        internal = WarmupDetector(opt)
    train(opt, model, 1)
    internal.update()
    assert internal.evaluations == 1
    assert [d.attach_level for d in session.detectors] == [claims.HOOK]  # the hook's own, not the internal


@pytest.mark.parametrize(
    ("optimizer", "message"),
    [
        (None, "warmup detector: no optimizer stepped in this run; nothing to report"),
        ("SGD", "warmup detector: no detector evaluated in this run (stepped: SGD; only Adam-family"),
    ],
)
def test_the_end_message_says_what_stepped(
    session: DetectSession, optimizer: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if optimizer is not None:
        model = torch.nn.Linear(8, 2)
        train(getattr(torch.optim, optimizer)(model.parameters(), lr=0.1), model, 2)
    assert session.finish() == []
    assert message in capsys.readouterr().out


def test_the_report_says_what_timms_cosine_did_to_radam(
    session: DetectSession, capsys: pytest.CaptureFixture[str]
) -> None:
    """The runner's --detect watches timm's train.py through the step hooks: RAdam at beta2 0.999
    under timm's cosine schedule (stepped per update, as train.py does) gets the schedule line in
    the report, with what the study measured on its timm task."""
    CosineLRScheduler = pytest.importorskip("timm.scheduler").CosineLRScheduler
    model = torch.nn.Linear(8, 2)
    opt = RAdam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    scheduler = CosineLRScheduler(opt, t_initial=200, t_in_epochs=False)
    gen = torch.Generator().manual_seed(0)
    for update in range(200):
        scheduler.step_update(update)
        opt.zero_grad()
        model(torch.randn(16, 8, generator=gen)).pow(2).mean().backward()
        opt.step()
    session.finish()
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "RAdam's steps" in line]
    assert line.startswith(
        "RAdam: beta2=0.999, 200 steps, cosine decay: RAdam's steps run below half the base"
    )
    assert "on a small ViT on digits (timm) at beta2 0.999, 2,000 steps, cosine decay" in line
