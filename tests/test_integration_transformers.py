"""Hugging Face transformers: optim="radam"/"radamw" and the warmup detector callback, on the real Trainer.

A tiny random GPT-2 built from a config, generated token ids, CPU, no downloads. transformers
4.57.6 is checked in a subprocess from a side install (see the Makefile's transformers-4.57).
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any, ClassVar

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    HfArgumentParser,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.integrations import integration_utils
from transformers.training_args import OptimizerNames

from radam_integrations import RAdam, experimental, theory
from radam_integrations._compat import transformers as compat
from radam_integrations.integrations import transformers as hf
from radam_integrations.integrations.transformers import (
    WarmupDetectorCallback,
    optimizer_cls_and_kwargs,
    parse_optim_args,
    register,
)

from .helpers.compare import same, strict_json

register()
experimental.register_all()  # the experimental names are tested here too (not without: test_experimental_*)

ROOT = Path(__file__).resolve().parents[1]
SIDE_DIR = ROOT / ".cache" / "transformers-4.57"
PROBE = Path(__file__).parent / "scripts" / "hf_457_probe.py"
PG0, PG1 = "warmup/RAdam/pg0", "warmup/RAdam/pg1"


# ---------------------------------------------------------------------- helpers
def tiny_gpt2(seed: int = 0) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    config = GPT2Config(
        n_layer=2, n_head=2, n_embd=32, vocab_size=64, n_positions=32, bos_token_id=0, eos_token_id=0
    )
    return GPT2LMHeadModel(config)


class TokenIds(torch.utils.data.Dataset):
    """Random token ids (language modelling on noise: enough to drive the optimizer)."""

    def __init__(self, n: int = 64, length: int = 16, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, 64, (n, length), generator=gen)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def training_args(out: Path, **overrides: Any) -> TrainingArguments:
    base: dict[str, Any] = {
        "optim": "radam",
        "learning_rate": 1e-3,
        "max_steps": 12,
        "per_device_train_batch_size": 4,
        "logging_steps": 2,
        "save_strategy": "no",
        "report_to": "none",
        "use_cpu": True,
        "seed": 0,
        "data_seed": 0,
        "disable_tqdm": True,
    }
    base.update(overrides)
    return TrainingArguments(str(out), **base)


class Recorder(TrainerCallback):
    """Records what on_log receives, as a reporting integration does."""

    def __init__(self) -> None:
        self.logs: list[tuple[int, dict[str, float]]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.logs.append((state.global_step, dict(logs)))


def detector_callback(trainer: Trainer) -> WarmupDetectorCallback:
    (cb,) = [c for c in trainer.callback_handler.callbacks if isinstance(c, WarmupDetectorCallback)]
    return cb


def warmup_keys(entry: dict[str, Any]) -> set[str]:
    return {k for k in entry if k.startswith("warmup/")}


# ---------------------------------------------------------------------- registration
def test_register_is_idempotent_and_keeps_a_staticmethod() -> None:
    WarmupDetectorCallback()  # installs the Trainer.log wrapper (only callbacks need it)
    members = list(OptimizerNames)
    route = inspect.getattr_static(Trainer, "get_optimizer_cls_and_kwargs")
    log = Trainer.__dict__["log"]
    post_init = TrainingArguments.__dict__["__post_init__"]
    assert register() == ("radam", "radamw")
    assert register() == ("radam", "radamw")
    WarmupDetectorCallback()
    assert list(OptimizerNames) == members
    assert inspect.getattr_static(Trainer, "get_optimizer_cls_and_kwargs") is route
    assert isinstance(route, staticmethod)
    assert Trainer.__dict__["log"] is log
    assert TrainingArguments.__dict__["__post_init__"] is post_init
    # One wrapper each, directly around transformers' own functions.
    for wrapper in (route.__func__, log, post_init):
        assert not hasattr(getattr(wrapper, compat.MARK), compat.MARK)
    assert OptimizerNames("radam") is OptimizerNames.RADAM is OptimizerNames["RADAM"]
    assert OptimizerNames("radamw") is OptimizerNames.RADAMW
    assert OptimizerNames.RADAM == "radam"
    if sys.version_info >= (3, 12):  # `str in Enum` raised TypeError before 3.12
        # From CPython 3.13.4/3.14 this reads only _hashable_values_, which must know our values.
        assert "radam" in OptimizerNames and "radamw" in OptimizerNames
    if hasattr(OptimizerNames, "_hashable_values_"):
        assert {"radam", "radamw"} <= set(OptimizerNames._hashable_values_)


@pytest.mark.parametrize(("optim", "decoupled"), [("radam", False), ("radamw", True)])
def test_create_optimizer_maps_training_arguments(tmp_path: Path, optim: str, decoupled: bool) -> None:
    args = training_args(
        tmp_path, optim=optim, learning_rate=3e-4, adam_beta1=0.8, adam_beta2=0.99, adam_epsilon=1e-6,
        weight_decay=0.05,
    )  # fmt: skip
    model = tiny_gpt2()
    trainer = Trainer(model, args)
    opt = trainer.create_optimizer()
    assert type(opt) is RAdam
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert opt.defaults["weight_decay"] == 0.05
    for group in opt.param_groups:
        assert group["lr"] == 3e-4
        assert group["betas"] == (0.8, 0.99)
        assert group["eps"] == 1e-6
        assert group["decoupled_weight_decay"] is decoupled
        assert group["threshold"] == 5.0 and group["degenerated_to_sgd"] is True
    # The Trainer's split is kept: biases and LayerNorm weights are not decayed.
    names = {id(p): n for n, p in model.named_parameters()}
    no_decay_names = {names[id(p)] for p in no_decay["params"]}
    assert no_decay_names == set(names.values()) - set(trainer.get_decay_parameter_names(model))
    assert all("bias" in n or ".ln_" in n for n in no_decay_names)
    assert len(decay["params"]) + len(no_decay["params"]) == len(names)


def test_optim_args_turn_on_the_measured_rectification(tmp_path: Path) -> None:
    trainer = Trainer(tiny_gpt2(), training_args(tmp_path, optim="radamw", optim_args="rectify=measured"))
    opt = trainer.create_optimizer()
    assert type(opt) is experimental.MeasuredRAdam and opt.measured_rectification.config.every > 0
    with pytest.raises(ValueError, match="bad value 'gaussian' for 'rectify'; expected theory or measured"):
        training_args(tmp_path, optim="radam", optim_args="rectify=gaussian")


def test_optim_args_are_typed(tmp_path: Path) -> None:
    args = training_args(
        tmp_path,
        optim_args="threshold=4, degenerated_to_sgd=False,maximize=yes,foreach=none,fused=true,capturable=0,"
        "rectify=Theory",
    )
    cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(args)
    assert cls is RAdam
    extra = {k: kwargs[k] for k in hf.OPTIM_ARGS}
    assert "rectify" not in kwargs  # it chose the class (theory: RAdam), it is not an option of it
    assert extra == {
        "threshold": 4.0,
        "degenerated_to_sgd": False,
        "maximize": True,
        "foreach": None,
        "fused": True,
        "capturable": False,
    }
    assert type(extra["threshold"]) is float
    opt = Trainer(tiny_gpt2(), args).create_optimizer()
    assert {k: opt.param_groups[0][k] for k in extra} == extra
    assert type(opt) is RAdam


@pytest.mark.parametrize(
    ("optim_args", "message"),
    [
        ("bogus=1", r"unknown key 'bogus'.*allowed keys: \['capturable', 'degenerated_to_sgd', 'foreach'"),
        ("threshold=abc", r"bad value 'abc' for 'threshold'; expected a finite number \(e\.g\. 4\)$"),
        ("threshold=inf", r"bad value 'inf' for 'threshold'; expected a finite number"),
        ("fused=maybe", r"bad value 'maybe' for 'fused'; expected true, false or none$"),
        ("capturable=none", r"bad value 'none' for 'capturable'; expected true or false$"),
        ("lr=0.1", r"'lr' is not an optim_args key for radam/radamw; set it with learning_rate"),
        ("weight_decay=0.1", r"'weight_decay' is not an optim_args key.*set it with weight_decay"),
        ("decoupled_weight_decay=true", r'optim="radamw"'),
        ("threshold", r"expected key=value pairs.*'threshold'"),
        ("threshold=4,maximize=true,threshold=5", r"'threshold' is given twice"),
        ("threshold=4;maximize=true", r"separate the key=value pairs with commas, not ';'"),
    ],
)
def test_optim_args_errors_name_the_key(tmp_path: Path, optim_args: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_optim_args(optim_args)
    words = str(info.value).split()
    assert not any(a == b for a, b in itertools.pairwise(words)), f"doubled word in {info.value}"
    # Refused when the arguments are built, before any model or data is loaded.
    with pytest.raises(ValueError, match=message):
        training_args(tmp_path, optim_args=optim_args)
    with pytest.raises(ValueError, match=message):
        HfArgumentParser(TrainingArguments).parse_args_into_dataclasses(
            ["--output_dir", str(tmp_path), "--optim", "radam", "--optim_args", optim_args]
        )


def test_optim_args_of_other_optimizers_are_not_ours_to_check(tmp_path: Path) -> None:
    args = training_args(tmp_path, optim="adamw_torch", optim_args="anything=goes")
    assert args.optim_args == "anything=goes"


def test_optimizer_cls_and_kwargs_works_without_optim_radam(tmp_path: Path) -> None:
    """The public route: Trainer(optimizer_cls_and_kwargs=...) whatever args.optim says."""
    args = training_args(tmp_path, optim="adamw_torch", optim_args=None, learning_rate=3e-4, weight_decay=0.1)
    cls, kwargs = optimizer_cls_and_kwargs(args)
    assert cls is RAdam and kwargs["decoupled_weight_decay"] is True and kwargs["lr"] == 3e-4
    assert optimizer_cls_and_kwargs(args, optim="radam")[1]["decoupled_weight_decay"] is False
    with pytest.raises(ValueError, match=r"optim must be one of \['radam', 'radamw'\], got 'adam'"):
        optimizer_cls_and_kwargs(args, optim="adam")
    trainer = Trainer(tiny_gpt2(), args, optimizer_cls_and_kwargs=optimizer_cls_and_kwargs(args))
    opt = trainer.create_optimizer()
    assert type(opt) is RAdam and opt.param_groups[1]["weight_decay"] == 0.0


def test_bad_option_values_are_refused_by_radam(tmp_path: Path) -> None:
    trainer = Trainer(tiny_gpt2(), training_args(tmp_path, optim_args="fused=true,capturable=true"))
    with pytest.raises(ValueError, match="fused=True cannot be combined with capturable=True"):
        trainer.create_optimizer()
    trainer = Trainer(tiny_gpt2(), training_args(tmp_path, optim_args="threshold=-1"))
    with pytest.raises(ValueError, match="threshold must be a finite number >= 0"):
        trainer.create_optimizer()


@pytest.mark.parametrize("optim", ["adamw_torch", "adamw_torch_fused", "sgd", "adafactor"])
def test_other_optimizers_are_unchanged(tmp_path: Path, optim: str) -> None:
    args = training_args(tmp_path, optim=optim, optim_args=None, weight_decay=0.01)
    route = inspect.getattr_static(Trainer, "get_optimizer_cls_and_kwargs").__func__
    original = getattr(route, compat.MARK)
    assert Trainer.get_optimizer_cls_and_kwargs(args) == original(args)
    opt = Trainer(tiny_gpt2(), args).create_optimizer()
    assert type(opt) is original(args)[0]


def test_cli_parses_optim_radam(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = HfArgumentParser(TrainingArguments)
    argv = ["--output_dir", str(tmp_path), "--report_to", "none", "--use_cpu", "true"]
    (args,) = parser.parse_args_into_dataclasses(
        [*argv, "--optim", "radam", "--adam_beta2", "0.99", "--optim_args", "threshold=4"]
    )
    assert args.optim is OptimizerNames.RADAM
    cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(args)
    assert cls is RAdam and kwargs["betas"] == (0.9, 0.99) and kwargs["threshold"] == 4.0
    (args,) = parser.parse_args_into_dataclasses([*argv, "--optim", "radamw"])
    assert args.optim is OptimizerNames.RADAMW
    with pytest.raises(SystemExit):
        parser.parse_args_into_dataclasses([*argv, "--optim", "radamx"])
    assert "invalid choice: 'radamx'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="radamx is not a valid OptimizerNames"):
        TrainingArguments(str(tmp_path), optim="radamx")


@pytest.mark.process
def test_training_args_bin_loads_where_registered(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    # What Trainer._save_checkpoint writes: the pickled TrainingArguments (optim is the enum member).
    path = tmp_path / "training_args.bin"
    torch.save(training_args(tmp_path, optim="radamw"), path)
    script = textwrap.dedent(
        f"""
        import sys
        import torch
        import radam_integrations, radam_integrations.integrations
        assert "transformers" not in sys.modules, "import radam_integrations imported transformers"
        try:
            torch.load({str(path)!r}, weights_only=False)
        except ValueError as err:
            assert "radamw is not a valid OptimizerNames" in str(err), err
        else:
            raise AssertionError("loaded without registering: the test proves nothing")
        import radam_integrations.hf
        args = torch.load({str(path)!r}, weights_only=False)
        assert args.optim.value == "radamw", args.optim
        from transformers import Trainer
        cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(args)
        assert cls is radam_integrations.RAdam and kwargs["decoupled_weight_decay"] is True
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=subprocess_env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


def test_callback_validates_its_options() -> None:
    with pytest.raises(ValueError, match="every must be >= 1"):
        WarmupDetectorCallback(every=0)
    with pytest.raises(ValueError, match="hold must be >= 1"):
        WarmupDetectorCallback(hold=0)
    with pytest.raises(ValueError, match=r"unknown metrics \['rho'\]"):
        WarmupDetectorCallback(metrics=["r_t", "rho"])


# ---------------------------------------------------------------------- training
@pytest.mark.slow
@pytest.mark.parametrize(("optim", "decoupled"), [("radam", False), ("radamw", True)])
def test_trainer_trains_with_radam(tmp_path: Path, optim: str, decoupled: bool) -> None:
    model = tiny_gpt2()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = Trainer(model, training_args(tmp_path, optim=optim, weight_decay=0.1), train_dataset=TokenIds())
    result = trainer.train()
    opt = trainer.optimizer.optimizer  # accelerate's AcceleratedOptimizer holds ours
    assert type(opt) is RAdam
    assert opt.param_groups[0]["decoupled_weight_decay"] is decoupled
    steps = {float(s["step"]) for s in opt.state.values()}
    assert steps == {12.0}
    assert math.isfinite(result.training_loss)
    assert all(not torch.equal(before[n], p) for n, p in model.named_parameters())


class ReportingRecorder(Recorder):
    """Registered under report_to="recorder", so the Trainer puts it where reporters go."""

    instances: ClassVar[list[ReportingRecorder]] = []

    def __init__(self) -> None:
        super().__init__()
        ReportingRecorder.instances.append(self)


@pytest.mark.slow
def test_callback_metrics_reach_reporters_and_log_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(integration_utils.INTEGRATION_TO_CALLBACK, "recorder", ReportingRecorder)
    ReportingRecorder.instances.clear()
    user_recorder = Recorder()
    args = training_args(tmp_path, max_steps=16, report_to=["recorder"], save_strategy="steps", save_steps=16)
    trainer = Trainer(
        tiny_gpt2(),
        args,
        train_dataset=TokenIds(),
        callbacks=[user_recorder, WarmupDetectorCallback(metrics="all")],
    )
    (reporter,) = ReportingRecorder.instances
    order = [type(c) for c in trainer.callback_handler.callbacks]
    # Both recorders see on_log before our callback does: mutating logs in on_log would be too late.
    assert order.index(ReportingRecorder) < order.index(Recorder) < order.index(WarmupDetectorCallback)
    trainer.train()
    cb = detector_callback(trainer)
    detector = cb.detector
    assert [r["step"] for r in detector.history] == [1, 2, 4, 8, 10, 12, 14, 16]  # every = logging_steps

    loss_logs = [(s, logs) for s, logs in reporter.logs if "loss" in logs]
    assert [s for s, _ in loss_logs] == list(range(2, 17, 2))  # the loss log of every logging step is kept
    assert loss_logs == [(s, logs) for s, logs in user_recorder.logs if "loss" in logs]
    saved = json.loads((tmp_path / "checkpoint-16" / "trainer_state.json").read_text())
    for history in (trainer.state.log_history, saved["log_history"]):
        entries = [e for e in history if "loss" in e]
        assert [e["step"] for e in entries] == [s for s, _ in loss_logs]
        for entry, (_, logs) in zip(entries, loss_logs):
            assert warmup_keys(entry) == warmup_keys(logs)
            assert all(same(entry[k], logs[k]) for k in warmup_keys(logs))
    by_step = dict(loss_logs)
    for record in detector.history:
        step = record["step"]
        if step not in by_step:  # steps 1 (no log); 6 had no evaluation
            continue
        logs = by_step[step]
        for prefix in (PG0, PG1):
            assert logs[f"{prefix}/rho_t"] == pytest.approx(theory.rho_t(step, 0.999), rel=1e-12)
            assert logs[f"{prefix}/ess"] == pytest.approx(theory.effective_sample_size(step, 0.999))
        assert logs["warmup/RAdam/relapses"] == 0
    assert not warmup_keys(by_step[6])
    assert f"{PG0}/noise" in by_step[8] and f"{PG1}/update_to_param" in by_step[8]
    assert f"{PG0}/var_ratio" not in by_step[2]  # infinite before rectification: left out, not logged as inf

    out = capsys.readouterr().out
    assert "settled T" in out and "RAdam" in out
    written = json.loads((tmp_path / "warmup_history.json").read_text())
    assert [r["step"] for r in written["records"] if r["group"] == "pg0"] == [1, 2, 4, 8, 10, 12, 14, 16]


@pytest.mark.slow
def test_callback_metrics_filter_with_hf_default_optimizer(tmp_path: Path) -> None:
    # The callback needs no registration and reads any Adam-family optimizer (here torch's AdamW).
    recorder = Recorder()
    cb = WarmupDetectorCallback(
        metrics=["r_t", "settled_step"], save_history=False, plot=False, print_summary=False
    )
    args = training_args(tmp_path, optim="adamw_torch")
    trainer = Trainer(tiny_gpt2(), args, train_dataset=TokenIds(), callbacks=[recorder, cb])
    trainer.train()
    logged = set().union(*(warmup_keys(logs) for _, logs in recorder.logs))
    # settled_step is undefined (NaN per group, None for the run) until T is found: not logged.
    assert cb.detector.settled_step is None
    assert logged == {"warmup/AdamW/pg0/r_t", "warmup/AdamW/pg1/r_t"}
    assert not (tmp_path / "warmup_history.json").exists()
    assert len(cb.detector.history) == 6  # steps 1, 2, 4, 8, 10, 12: the detector keeps everything


# ---------------------------------------------------------------------- resume
RESUME_STEPS, CHECKPOINT = 16, 10
# tol so large that every evaluation past rho_t > 4 counts as settled: with hold=3 the evaluations
# at steps 8, 10, 12 settle T = 8, so checkpoint-10 sits in the middle of the streak.
DETECTOR = {"tol": 100.0, "hold": 3}


def _resume_args(out: Path, **overrides: Any) -> TrainingArguments:
    return training_args(
        out,
        max_steps=RESUME_STEPS,
        save_strategy="steps",
        save_steps=CHECKPOINT,
        weight_decay=0.1,
        **overrides,
    )


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("uninterrupted")
    trainer = Trainer(
        tiny_gpt2(),
        _resume_args(out),
        train_dataset=TokenIds(),
        callbacks=[WarmupDetectorCallback(**DETECTOR)],
    )
    trainer.train()
    detector = detector_callback(trainer).detector
    return {
        "out": out,
        "params": {n: p.detach().clone() for n, p in trainer.model.named_parameters()},
        "detector": detector.state_dict(),
        "settled_step": detector.settled_step,
        "relapses": detector.relapses,
        "log_history": trainer.state.log_history,
    }


@pytest.mark.slow
@pytest.mark.skipif(
    torch.__version__ < "2.6",
    reason="transformers refuses to load optimizer.pt with torch < 2.6 (CVE-2025-32434): "
    "resume_from_checkpoint raises ValueError there",
)
@pytest.mark.parametrize("restore_flag", [False, True], ids=["plain", "restore_callback_states"])
def test_resume_continues_training_and_detection(
    tmp_path: Path, uninterrupted: dict[str, Any], restore_flag: bool
) -> None:
    ref = uninterrupted
    assert ref["settled_step"] == 8  # the scenario the constants above describe
    checkpoint = tmp_path / f"checkpoint-{CHECKPOINT}"
    shutil.copytree(ref["out"] / f"checkpoint-{CHECKPOINT}", checkpoint)
    saved = json.loads((checkpoint / "trainer_state.json").read_text())
    saved_detector = saved["stateful_callbacks"]["WarmupDetectorCallback"]["attributes"]["detector_state"]
    assert saved_detector["groups"][0]["streak"] == 2 and saved_detector["evaluations"] == 5

    mine = WarmupDetectorCallback(**DETECTOR)
    trainer = Trainer(
        tiny_gpt2(seed=1),  # other initial weights: everything must come from the checkpoint
        _resume_args(tmp_path, restore_callback_states_from_checkpoint=restore_flag),
        train_dataset=TokenIds(),
        callbacks=[mine],
    )
    trainer.train(resume_from_checkpoint=str(checkpoint))
    cb = detector_callback(trainer)
    assert (cb is mine) is not restore_flag  # with the flag transformers builds a new instance

    for name, param in trainer.model.named_parameters():
        assert torch.equal(param, ref["params"][name]), name
    detector = cb.detector
    assert detector.settled_step == ref["settled_step"] == 8
    assert detector.relapses == ref["relapses"]
    assert detector.evaluations == ref["detector"]["evaluations"] == 8
    assert same(detector.state_dict(), ref["detector"])
    resumed = [e for e in trainer.state.log_history if e["step"] > CHECKPOINT and "loss" in e]
    expected = [e for e in ref["log_history"] if e["step"] > CHECKPOINT and "loss" in e]
    assert [e["step"] for e in resumed] == [12, 14, 16]
    for got, want in zip(resumed, expected):
        assert warmup_keys(got) == warmup_keys(want) != set()
        assert all(same(got[k], want[k]) for k in warmup_keys(want))


@pytest.mark.slow
def test_callback_state_round_trips_through_json(uninterrupted: dict[str, Any]) -> None:
    saved = json.loads((uninterrupted["out"] / "checkpoint-16" / "trainer_state.json").read_text())
    state = saved["stateful_callbacks"]["WarmupDetectorCallback"]
    assert state["args"] == {
        "config": {
            "every": None,
            "sample_size": 4096,
            "tol": 100.0,
            "hold": 3,
            "floor_factor": 1.5,
            "seed": 0,
            "keep_history": True,
            "history_limit": 128,
        },
        "name": None,
        "sharded": None,
        "metrics": "compact",
        "save_history": True,
        "plot": None,
        "print_summary": True,
    }
    restored = WarmupDetectorCallback.from_state(state)
    assert same(restored.state(), state)
    assert same(restored.detector_state, uninterrupted["detector"])
    assert WarmupDetectorCallback().state() == {
        "args": {**state["args"], "config": {**state["args"]["config"], "tol": 0.1}},
        "attributes": {"detector_state": None},
    }
    # Checkpoints of 0.1 stored the options flat; the Trainer rebuilds the callback from them.
    flat = {**state["args"]["config"], **{k: v for k, v in state["args"].items() if k != "config"}}
    del flat["history_limit"]  # not an option then
    assert WarmupDetectorCallback(**flat).state()["args"] == state["args"]


@pytest.mark.slow
def test_resume_from_a_checkpoint_saved_without_the_callback(tmp_path: Path) -> None:
    """Adding the callback on resume used to train and then fail at the next save (KeyError)."""
    first = Trainer(tiny_gpt2(), _resume_args(tmp_path), train_dataset=TokenIds())
    first.train()
    checkpoint = tmp_path / f"checkpoint-{CHECKPOINT}"
    saved_without = strict_json(checkpoint / "trainer_state.json")["stateful_callbacks"]
    assert "WarmupDetectorCallback" not in saved_without
    out = tmp_path / "resumed"
    resumed = Trainer(
        tiny_gpt2(seed=1),
        training_args(out, max_steps=2 * CHECKPOINT, save_strategy="steps", save_steps=CHECKPOINT),
        train_dataset=TokenIds(),
        callbacks=[WarmupDetectorCallback(save_history=False, print_summary=False)],
    )
    resumed.train(resume_from_checkpoint=str(checkpoint))
    state = strict_json(out / f"checkpoint-{2 * CHECKPOINT}" / "trainer_state.json")
    saved = state["stateful_callbacks"]["WarmupDetectorCallback"]["attributes"]["detector_state"]
    assert saved["last_step"] == 2 * CHECKPOINT and saved["evaluations"] > 0


@pytest.mark.slow
def test_trainer_state_json_is_strict_and_the_detector_state_is_bounded(
    uninterrupted: dict[str, Any],
) -> None:
    path = uninterrupted["out"] / "checkpoint-16" / "trainer_state.json"
    state = strict_json(path)  # NaN/Infinity used to be written here
    detector = json.dumps(state["stateful_callbacks"]["WarmupDetectorCallback"], separators=(",", ":"))
    # tiny GPT-2, 2 groups, 8 evaluations: sample memory + history, not a copy of the model
    assert len(detector) < 40_000, len(detector)


@pytest.mark.slow
def test_compact_metrics_keep_the_console_line_short(tmp_path: Path) -> None:
    lengths = {}
    for metrics in ("compact", "all"):
        recorder = Recorder()
        cb = WarmupDetectorCallback(metrics=metrics, save_history=False, print_summary=False)
        trainer = Trainer(
            tiny_gpt2(), training_args(tmp_path / metrics), train_dataset=TokenIds(), callbacks=[recorder, cb]
        )
        trainer.train()
        logged = [logs for step, logs in recorder.logs if step == 10]  # every metric is defined by then
        keys = warmup_keys(logged[0])
        lengths[metrics] = len(str(logged[0]))  # what ProgressCallback prints on the console
        if metrics == "compact":
            assert keys <= {f"warmup/RAdam/{m}" for m in ("noise", "staleness", "settled_step",
                                                           "suggested_warmup_steps")}  # fmt: skip
            assert {"warmup/RAdam/noise", "warmup/RAdam/staleness"} <= keys
        else:
            assert len(keys) >= 30
    assert lengths["compact"] < 300 < 1500 < lengths["all"], lengths


SUMMARY_SCRIPT = """
from tests.test_integration_transformers import TokenIds, tiny_gpt2, training_args
from transformers import Trainer
from radam_integrations.integrations.transformers import WarmupDetectorCallback
args = training_args({out!r}, max_steps=4, disable_tqdm=False)
callback = WarmupDetectorCallback(save_history=False)
Trainer(tiny_gpt2(), args, train_dataset=TokenIds(), callbacks=[callback]).train()
"""


@pytest.mark.slow
@pytest.mark.process
def test_summary_is_not_printed_onto_the_progress_bar(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    script = SUMMARY_SCRIPT.format(out=str(tmp_path / "out"))  # the repo is on the child's PYTHONPATH
    env = {**subprocess_env, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(  # one stream, as a terminal shows stdout and stderr
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    text = result.stdout
    at = text.index("optimizer  group")
    assert "it/s]" in text[:at] or "s/it]" in text[:at], "no progress bar was drawn: the test proves nothing"
    assert text[at - 1] in "\r\n", repr(text[max(0, at - 80) : at])


# ---------------------------------------------------------------------- transformers 4.57
def _side_install() -> Path:
    """The transformers 4.57.6 side install that `make transformers-4.57` (a `make test` step) builds.

    Installing is the Makefile's job, not a test's: without it, fail under CI and skip elsewhere.
    """
    if not (SIDE_DIR / ".installed").is_file():
        message = f"no transformers 4.57 side install in {SIDE_DIR}: run `make transformers-4.57`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return SIDE_DIR


@pytest.mark.slow
def test_transformers_4_57(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    side = _side_install()
    env = dict(subprocess_env)
    env["PYTHONPATH"] = os.pathsep.join([str(side), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["HF_HUB_OFFLINE"] = "1"
    out = subprocess.run(
        [sys.executable, str(PROBE), str(tmp_path)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["transformers"] == "4.57.6"
    assert result["optimizer"] == "RAdam"
    assert result["warmup_steps_logged"] == [2, 4, 8, 10, 12]
    both = {"params": True, "detector": True}
    assert result["resumed_equal"] == {"False": both, "True": both}
    assert result["auto_warmup"] == "AutoWarmup"


# ---------------------------------------------------------------------- AutoWarmup as lr_scheduler_type
def test_auto_warmup_scheduler_names_are_valid_arguments_and_cli_choices(tmp_path: Path) -> None:
    from transformers import get_scheduler
    from transformers.trainer_utils import SchedulerType

    from radam_integrations.experimental import AutoWarmup

    for name in ("auto_warmup", "auto_warmup_linear", "auto_warmup_cosine"):
        assert training_args(tmp_path, lr_scheduler_type=name).lr_scheduler_type is SchedulerType(name)
    parser = HfArgumentParser(TrainingArguments)
    (args,) = parser.parse_args_into_dataclasses(
        ["--output_dir", str(tmp_path), "--lr_scheduler_type", "auto_warmup_cosine", "--use_cpu", "true"]
    )
    assert args.lr_scheduler_type.value == "auto_warmup_cosine"

    opt = torch.optim.AdamW(tiny_gpt2().parameters(), lr=1e-3)
    sched = get_scheduler("auto_warmup_linear", opt, num_warmup_steps=0, num_training_steps=100,
                          scheduler_specific_kwargs={"tol": 0.2})  # fmt: skip
    assert isinstance(sched, AutoWarmup) and sched.rectifier.config.tol == 0.2
    assert sched.decay(50) == pytest.approx(0.5) and sched.decay(100) == 0.0
    with pytest.raises(ValueError, match="measures the warmup itself; leave warmup_steps"):
        get_scheduler("auto_warmup", opt, num_warmup_steps=10, num_training_steps=100)
    with pytest.raises(TypeError):
        get_scheduler("auto_warmup", opt, num_warmup_steps=0, num_training_steps=100,
                      scheduler_specific_kwargs={"warmup": 3})  # fmt: skip
    # every other name is transformers' own
    assert (
        type(get_scheduler("linear", opt, num_warmup_steps=2, num_training_steps=10)).__name__ == "LambdaLR"
    )


@pytest.mark.slow
@pytest.mark.fit
@pytest.mark.skipif(
    torch.__version__ < "2.6",
    reason="transformers refuses to load optimizer.pt with torch < 2.6 (CVE-2025-32434)",
)
def test_trainer_with_auto_warmup_trains_logs_and_resumes_exactly(tmp_path: Path) -> None:
    from radam_integrations.experimental import AutoWarmup

    def args(out: Path) -> TrainingArguments:
        return training_args(
            out, optim="adamw_torch", lr_scheduler_type="auto_warmup_cosine", learning_rate=3e-3,
            max_steps=16, save_strategy="steps", save_steps=8, logging_steps=1,
        )  # fmt: skip

    recorder = Recorder()
    trainer = Trainer(tiny_gpt2(), args(tmp_path / "a"), train_dataset=TokenIds(), callbacks=[recorder])
    trainer.train()
    assert isinstance(trainer.lr_scheduler, AutoWarmup) and trainer.lr_scheduler.rectifier.measured(0)
    lrs = [logs["learning_rate"] for _, logs in recorder.logs if "learning_rate" in logs]
    assert len(lrs) == 16 and all(0 < lr <= 3e-3 for lr in lrs)
    assert lrs[0] < max(lrs[:8]) and lrs[-1] < max(lrs)  # measured warmup up, cosine decay down
    params = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}

    again = Trainer(tiny_gpt2(seed=1), args(tmp_path / "b"), train_dataset=TokenIds())
    again.train(resume_from_checkpoint=str(tmp_path / "a" / "checkpoint-8"))
    for name, param in again.model.named_parameters():
        assert torch.equal(param, params[name]), name
    assert same(again.lr_scheduler.state_dict()["rectifier"], trainer.lr_scheduler.state_dict()["rectifier"])


@pytest.mark.fit
def test_trainer_takes_auto_warmup_through_optimizers(tmp_path: Path) -> None:
    from radam_integrations.experimental import AutoWarmup

    model = tiny_gpt2()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    sched = AutoWarmup(opt)
    recorder = Recorder()
    trainer = Trainer(model, training_args(tmp_path, max_steps=6, logging_steps=1), train_dataset=TokenIds(),
                      optimizers=(opt, sched), callbacks=[recorder])  # fmt: skip
    with pytest.warns(UserWarning, match="optim='radam' is ignored: the Trainer was given AdamW"):
        trainer.train()  # the helper's arguments say optim="radam": the warning comes on the real path
    assert trainer.lr_scheduler is sched and sched.rectifier.detector.last_step == 6
    lrs = [logs["learning_rate"] for _, logs in recorder.logs if "learning_rate" in logs]
    assert lrs[0] == pytest.approx(2e-3 * theory.measured_rectification(2.0, 1, 0.999))
    assert lrs[-1] > lrs[0]


# ---------------------------------------------------------------------- what would be swapped or fail late
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"warmup_steps": 10}, r"measures the warmup itself; leave warmup_steps at 0 \(got warmup_steps=10"),
        ({"warmup_steps": 0.1}, "leave warmup_steps at 0"),
        ({"lr_scheduler_kwargs": {"warmup": 3}}, r"lr_scheduler_kwargs: unknown option\(s\) \['warmup'\]"),
        ({"lr_scheduler_kwargs": '{"tol": 0.2, "nope": 1}'}, r"unknown option\(s\) \['nope'\]"),
    ],
)
def test_auto_warmup_arguments_fail_when_built_not_at_train(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        training_args(tmp_path, lr_scheduler_type="auto_warmup_cosine", **overrides)
    if "warmup_ratio" not in inspect.signature(TrainingArguments).parameters:
        assert "warmup_ratio" not in str(caught.value)  # transformers 5 has no such field to set
    training_args(tmp_path, lr_scheduler_type="auto_warmup_cosine", lr_scheduler_kwargs={"tol": 0.2})  # valid


def test_deepspeed_blocks_that_would_replace_ours_are_refused() -> None:
    """transformers lets a DeepSpeed config's blocks replace optim and lr_scheduler_type: say so up front."""
    from types import SimpleNamespace

    from radam_integrations.experimental.transformers_schedules import check_scheduler_arguments
    from radam_integrations.integrations.transformers_args import check_training_arguments

    def args(optim: str, sched: str, config: dict[str, Any]) -> Any:
        return SimpleNamespace(
            optim=optim, optim_args=None, lr_scheduler_type=sched, lr_scheduler_kwargs=None, warmup_steps=0,
            hf_deepspeed_config=SimpleNamespace(config=config),
        )  # fmt: skip

    warmup_lr = {"scheduler": {"type": "WarmupLR", "params": {}}}
    never = r"lr_scheduler_type='auto_warmup_cosine' would never run: .*\(WarmupLR\)"
    with pytest.raises(ValueError, match=never):  # the experimental package's check
        check_scheduler_arguments(args("radamw", "auto_warmup_cosine", warmup_lr), warmup_lr)
    check_training_arguments(args("radamw", "auto_warmup_cosine", warmup_lr))  # the core's: optim only
    with pytest.raises(ValueError, match=r"optim='radam' would never run: .*\"optimizer\" block \(AdamW\)"):
        check_training_arguments(args("radam", "linear", {"optimizer": {"type": "AdamW"}}))
    check_training_arguments(args("radamw", "linear", warmup_lr))  # DeepSpeed's scheduler, ours not asked
    check_training_arguments(args("adamw_torch", "linear", {"optimizer": {"type": "AdamW"}}))


def test_an_optimizer_handed_to_the_trainer_says_optim_is_ignored(tmp_path: Path) -> None:
    model = tiny_gpt2()
    adamw = torch.optim.AdamW(model.parameters(), lr=1e-3)
    trainer = Trainer(model, training_args(tmp_path, optim="radam"), train_dataset=TokenIds(),
                      optimizers=(adamw, None))  # fmt: skip
    ignored = r"optim='radam' is ignored: the Trainer was given AdamW through optimizers="
    with pytest.warns(UserWarning, match=ignored):
        trainer.create_optimizer()
    assert trainer.optimizer is adamw
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer.create_optimizer()  # said once per Trainer
        ours = Trainer(model, training_args(tmp_path, optim="radam"), train_dataset=TokenIds())
        ours.create_optimizer()  # no optimizer handed over: nothing to say
        radam = optimizer_cls_and_kwargs(training_args(tmp_path))
        by_cls = Trainer(model, training_args(tmp_path, optim="radam"), train_dataset=TokenIds(),
                         optimizer_cls_and_kwargs=radam)  # fmt: skip
        by_cls.create_optimizer()  # RAdam through optimizer_cls_and_kwargs: what optim asked for
    sgd = Trainer(model, training_args(tmp_path, optim="radamw"), train_dataset=TokenIds(),
                  optimizer_cls_and_kwargs=(torch.optim.SGD, {"lr": 0.1}))  # fmt: skip
    with pytest.warns(UserWarning, match=r"optim='radamw' is ignored: .*SGD through optimizer_cls_and_kwar"):
        sgd.create_optimizer()


def test_a_scheduler_handed_to_the_trainer_says_auto_warmup_is_ignored(tmp_path: Path) -> None:
    model = tiny_gpt2()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    args = training_args(tmp_path, optim="adamw_torch", lr_scheduler_type="auto_warmup_cosine")
    trainer = Trainer(model, args, train_dataset=TokenIds(), optimizers=(opt, sched))
    with pytest.warns(UserWarning, match=r"lr_scheduler_type='auto_warmup_cosine' is ignored: .* LambdaLR"):
        trainer.create_scheduler(num_training_steps=12, optimizer=opt)
    assert trainer.lr_scheduler is sched


def test_the_attached_callback_is_renamed_and_resumes_old_checkpoints() -> None:
    """AutoWarmupDetectorCallback (nothing to do with AutoWarmup) is AttachedWarmupDetectorCallback now;
    the old name still imports, with a DeprecationWarning, and its checkpointed state is found."""
    from types import SimpleNamespace

    renamed = "AutoWarmupDetectorCallback is now AttachedWarmupDetectorCallback"
    with pytest.warns(DeprecationWarning, match=renamed):
        old = hf.AutoWarmupDetectorCallback
    assert old is hf.AttachedWarmupDetectorCallback
    saved = {"args": {}, "attributes": {"detector_state": {"marker": 1}}}
    state = SimpleNamespace(stateful_callbacks={"AutoWarmupDetectorCallback": saved})
    assert hf.AttachedWarmupDetectorCallback()._state_in(state) == {"marker": 1}
    assert WarmupDetectorCallback()._state_in(state) == {"marker": 1}


# ---------------------------------------------------------------------- beside transformers' own names
@pytest.mark.fit
def test_transformers_own_schedule_free_radam_works_beside_ours(tmp_path: Path) -> None:
    """Our names are added, transformers' are left alone: ``--optim schedule_free_radam`` (transformers'
    own route, schedulefree's RAdamScheduleFree) trains next to ``--optim radamw``, with everything
    registered (RAdam's names and the experimental ones, as at the top of this file)."""
    schedulefree = pytest.importorskip("schedulefree", reason="schedulefree comes with the [study] extra")
    parser = HfArgumentParser(TrainingArguments)
    seen = {}
    for optim in ("schedule_free_radam", "radamw"):
        (args,) = parser.parse_args_into_dataclasses(
            ["--output_dir", str(tmp_path / optim), "--optim", optim, "--adam_beta2", "0.99",
             "--max_steps", "4", "--per_device_train_batch_size", "4", "--report_to", "none",
             "--use_cpu", "true", "--save_strategy", "no", "--disable_tqdm", "true"]
        )  # fmt: skip
        trainer = Trainer(tiny_gpt2(), args, train_dataset=TokenIds())
        result = trainer.train()
        inner = getattr(trainer.optimizer, "optimizer", trainer.optimizer)
        seen[optim] = (type(inner), inner.param_groups[0]["betas"], math.isfinite(result.training_loss))
    assert seen["schedule_free_radam"] == (schedulefree.RAdamScheduleFree, (0.9, 0.99), True)
    assert seen["radamw"] == (RAdam, (0.9, 0.99), True)


@pytest.mark.fit
def test_the_detector_says_when_radam_and_the_decay_keep_its_steps_low(tmp_path: Path, capsys) -> None:
    """RAdam at beta2 0.999 under the Trainer's linear decay: its rectification (r_t reaches 0.5 at
    step 556) and the decay multiply, so one line says so when the Trainer builds its scheduler
    (not again from the detector's callback), and the detector's summary says the same of the
    schedule it saw; for RAdam at constant lr, or AdamW under the same decay, nothing is said."""
    from radam_integrations._measured import advice, measured_alternative

    said = {}
    for optim, sched in (("radamw", "linear"), ("radamw", "constant"), ("adamw_torch", "linear")):
        args = training_args(tmp_path / f"{optim}-{sched}", optim=optim, adam_beta2=0.999,
                             lr_scheduler_type=sched, max_steps=12)  # fmt: skip
        Trainer(tiny_gpt2(), args, train_dataset=TokenIds(), callbacks=[WarmupDetectorCallback()]).train()
        said[(optim, sched)] = [
            line for line in capsys.readouterr().out.splitlines() if "RAdam's steps" in line
        ]
    decayed = theory.decayed_rectification(0.999, 12, "linear")
    note, measured = decayed.note(), measured_alternative(0.999, "linear")  # the study's GPT-2 task
    command = "radam-integrations schedule --beta2 0.999 --steps 12 --decay linear"
    # before the run, from the arguments; after it, from the learning rates the detector saw: the same
    assert said[("radamw", "linear")] == [
        f"radam-integrations: {note} {measured} See `{command}`.",
        f"RAdam: {advice(decayed)}",
    ]
    assert "RAdam without warmup reached 1.749" in measured
    assert said[("radamw", "constant")] == said[("adamw_torch", "linear")] == []


@pytest.mark.fit
def test_the_schedule_advice_needs_no_detector(tmp_path: Path, capsys) -> None:
    """register() alone: the Trainer building a linear decay for RAdam at beta2 0.999 prints the
    line once (for torch's RAdam handed to the Trainer too), and the same run with a warmup, whose
    choice is the user's, prints none."""
    said = {}
    for name, extra in (("ours", {}), ("warmup", {"warmup_steps": 4})):
        args = training_args(
            tmp_path / name, optim="radamw", adam_beta2=0.999, lr_scheduler_type="linear", **extra
        )
        Trainer(tiny_gpt2(), args, train_dataset=TokenIds()).train()
        said[name] = [line for line in capsys.readouterr().out.splitlines() if "RAdam's steps" in line]
    model = tiny_gpt2()
    torch_radam = torch.optim.RAdam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    args = training_args(tmp_path / "torch", lr_scheduler_type="linear")
    Trainer(model, args, train_dataset=TokenIds(), optimizers=(torch_radam, None)).train()
    said["torch"] = [line for line in capsys.readouterr().out.splitlines() if "RAdam's steps" in line]
    expected = theory.decayed_rectification(0.999, 12, "linear").note()
    assert len(said["ours"]) == len(said["torch"]) == 1 and expected in said["ours"][0] == said["torch"][0]
    assert said["warmup"] == []


def test_the_schedule_advice_never_fails_a_run_on_an_optimizer_it_cannot_read(tmp_path: Path) -> None:
    """Patch 11 runs for every Trainer once registered: DeepSpeed's placeholder optimizer (which the
    Trainer hands to create_scheduler when the DeepSpeed config builds the optimizer) or none at all
    give no advice rather than an error."""
    from accelerate.utils.deepspeed import DummyOptim

    from radam_integrations.integrations.transformers import _schedule_advice

    args = training_args(tmp_path, adam_beta2=0.999, lr_scheduler_type="linear")
    placeholder = DummyOptim(params=list(tiny_gpt2().parameters()))
    assert _schedule_advice(args, 12, placeholder) is None and _schedule_advice(args, 12, None) is None
    radam = RAdam(tiny_gpt2().parameters(), betas=(0.9, 0.999))
    assert _schedule_advice(args, 12, radam).startswith(
        "radam-integrations: beta2=0.999, 12 steps, linear decay"
    )
