"""The Lightning and Fabric warmup-detector callbacks, with real Trainers and Fabric on tiny models."""

from __future__ import annotations

import csv
import importlib
import inspect
import json
import math
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from radam_integrations import RAdam, UnsupportedOptimizerError, theory
from radam_integrations.warmup import GROUP_METRICS, DetectorConfig

from .helpers.compare import same

lightning_mod = pytest.importorskip("radam_integrations.integrations.lightning")
WarmupDetectorCallback = lightning_mod.WarmupDetectorCallback
FabricWarmupDetectorCallback = lightning_mod.FabricWarmupDetectorCallback
ENV_VAR = lightning_mod.ENV_VAR

PACKAGES = ["lightning.pytorch", "pytorch_lightning"]
OPTIMIZERS = {
    "RAdam": lambda params: RAdam(params, lr=1e-2),
    "Adam": lambda params: torch.optim.Adam(params, lr=1e-2),
    "AdamW": lambda params: torch.optim.AdamW(params, lr=1e-2, weight_decay=0.01),
    "SGD": lambda params: torch.optim.SGD(params, lr=1e-2, momentum=0.9),
}
BATCHES_PER_EPOCH = 8


def package(name: str) -> Any:
    return pytest.importorskip(name)


def make_module(pl: Any, optimizer: str = "RAdam") -> Any:
    class Regression(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return nn.functional.mse_loss(self.net(x), y)

        def configure_optimizers(self) -> Any:
            return OPTIMIZERS[optimizer](self.parameters())

    return Regression()


def loader() -> torch.utils.data.DataLoader:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(8 * BATCHES_PER_EPOCH, 8, generator=gen)
    y = x.sum(dim=1, keepdim=True) + 0.1 * torch.randn(8 * BATCHES_PER_EPOCH, 1, generator=gen)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8, shuffle=False)


def trainer(pl: Any, tmp_path: Path, callbacks: list[Any], **kwargs: Any) -> Any:
    options = {
        "accelerator": "cpu",
        "devices": 1,
        "max_steps": 20,
        "log_every_n_steps": 1,
        "logger": pl.loggers.CSVLogger(str(tmp_path), name="run", version=0),
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "enable_checkpointing": False,
        "default_root_dir": str(tmp_path),
    }
    options.update(kwargs)
    return pl.Trainer(callbacks=callbacks, **options)


def read_metrics(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def logged_steps(rows: list[dict[str, str]], key: str) -> list[int]:
    return [int(r["step"]) for r in rows if r.get(key, "") != ""]


# ---------------------------------------------------------------------- Trainer
EVAL_STEPS = [1, 2, 4, 8, 10, 15, 20]  # every=5, max_steps=20


@pytest.mark.fit
@pytest.mark.parametrize(
    "pkg, optimizer",
    [
        ("lightning.pytorch", "RAdam"),
        ("lightning.pytorch", "Adam"),
        ("lightning.pytorch", "AdamW"),
        ("pytorch_lightning", "RAdam"),
    ],
)
def test_fit_logs_documented_metrics_to_csv(pkg, optimizer, tmp_path, capsys):
    pl = package(pkg)
    callback = WarmupDetectorCallback(every=5, metrics="all")
    assert isinstance(callback, pl.Callback)
    fit = trainer(pl, tmp_path, [callback])
    fit.fit(make_module(pl, optimizer), loader())

    rows = read_metrics(tmp_path / "run" / "version_0" / "metrics.csv")
    (detector,) = callback.detectors
    # Every metric is logged once it is defined (undefined values, NaN or inf, are left out).
    for metric in GROUP_METRICS:
        defined = any(math.isfinite(h["groups"]["pg0"][metric]) for h in detector.history)
        assert (f"warmup/{optimizer}/pg0/{metric}" in rows[0]) == defined, metric
    assert f"warmup/{optimizer}/relapses" in rows[0]
    assert [h["step"] for h in detector.history] == EVAL_STEPS
    assert "warmup/" + optimizer + "/pg0/rho_t" in fit.callback_metrics

    # log_dict: the value logged after optimizer step t is on Lightning's row t - 1, and Lightning
    # repeats it on the following rows of the same epoch (8 steps) until the next evaluation.
    rho_key = f"warmup/{optimizer}/pg0/rho_t"
    logged = {int(r["step"]): float(r[rho_key]) for r in rows if r.get(rho_key, "") != ""}
    expected = {}
    for row in range(20):
        epoch_start = row // BATCHES_PER_EPOCH * BATCHES_PER_EPOCH
        done = [t for t in EVAL_STEPS if epoch_start < t <= row + 1]
        if done:
            expected[row] = theory.rho_t(done[-1], 0.999)
    assert sorted(logged) == sorted(expected) and 8 not in logged
    assert [logged[r] for r in sorted(logged)] == pytest.approx(
        [expected[r] for r in sorted(logged)], rel=1e-6
    )

    history = json.loads((tmp_path / "run" / "version_0" / "warmup_history.json").read_text())
    assert [r["step"] for r in history["records"]] == EVAL_STEPS
    assert history["summary"][0]["optimizer"] == optimizer
    assert callback.summary() in capsys.readouterr().out


@pytest.mark.fit
@pytest.mark.parametrize("pkg", PACKAGES)
def test_log_with_loggers_writes_one_row_per_evaluation(pkg, tmp_path):
    pl = package(pkg)
    callback = WarmupDetectorCallback(every=5, log_with="loggers", metrics="all", print_summary=False)
    fit = trainer(pl, tmp_path, [callback], log_every_n_steps=50)  # does not throttle this route
    fit.fit(make_module(pl), loader())
    rows = read_metrics(tmp_path / "run" / "version_0" / "metrics.csv")
    rho_key = "warmup/RAdam/pg0/rho_t"
    assert logged_steps(rows, rho_key) == EVAL_STEPS  # at the optimizer step t itself
    logged = [float(r[rho_key]) for r in rows if r.get(rho_key, "") != ""]
    assert logged == pytest.approx([theory.rho_t(t, 0.999) for t in EVAL_STEPS], rel=1e-12)
    (detector,) = callback.detectors
    for metric in GROUP_METRICS:
        defined = any(math.isfinite(h["groups"]["pg0"][metric]) for h in detector.history)
        assert (f"warmup/RAdam/pg0/{metric}" in rows[0]) == defined, metric


@pytest.mark.fit
@pytest.mark.parametrize("pkg", PACKAGES)
def test_sgd_fails_with_a_clear_error(pkg, tmp_path):
    pl = package(pkg)
    fit = trainer(pl, tmp_path, [WarmupDetectorCallback()], logger=False)
    with pytest.raises(UnsupportedOptimizerError, match=r"optimizer 0 \(SGD\).*Remove the callback"):
        fit.fit(make_module(pl, "SGD"), loader())


def test_bad_options_fail_at_construction():
    with pytest.raises(ValueError, match="log_with must be 'log_dict' or 'loggers'"):
        WarmupDetectorCallback(log_with="wandb")
    with pytest.raises(ValueError, match="every must be >= 1"):
        WarmupDetectorCallback(every=0)
    with pytest.raises(ValueError, match="tol must be > 0"):
        FabricWarmupDetectorCallback(tol=0)


def test_load_state_dict_rejects_foreign_state():
    with pytest.raises(ValueError, match=r"pass what WarmupDetectorCallback.state_dict\(\) returned"):
        WarmupDetectorCallback().load_state_dict({"epoch": 3})


@pytest.mark.fit
def test_gradient_accumulation_counts_optimizer_steps(tmp_path):
    pl = package("lightning.pytorch")
    callback = WarmupDetectorCallback(
        every=5, log_with="loggers", metrics=["rho_t"], save_history=False, print_summary=False
    )
    fit = trainer(pl, tmp_path, [callback], max_steps=8, accumulate_grad_batches=2)
    fit.fit(make_module(pl), loader())
    assert [h["step"] for h in callback.detectors[0].history] == [1, 2, 4, 8]
    rows = read_metrics(tmp_path / "run" / "version_0" / "metrics.csv")
    assert logged_steps(rows, "warmup/RAdam/pg0/rho_t") == [1, 2, 4, 8]


@pytest.mark.fit
def test_log_every_n_steps_not_dividing_every_warns_and_drops_evaluations(tmp_path):
    pl = package("lightning.pytorch")
    callback = WarmupDetectorCallback(every=2, metrics=["rho_t"], save_history=False, print_summary=False)
    fit = trainer(pl, tmp_path, [callback], max_steps=8, log_every_n_steps=4)
    with pytest.warns(UserWarning, match="only the evaluations at multiples of 4"):
        fit.fit(make_module(pl), loader())
    assert [h["step"] for h in callback.detectors[0].history] == [1, 2, 4, 8]
    rows = read_metrics(tmp_path / "run" / "version_0" / "metrics.csv")
    assert logged_steps(rows, "warmup/RAdam/pg0/rho_t") == [3, 7]  # steps 4 and 8


@pytest.mark.fit
def test_without_logger_no_warning_and_history_in_root_dir(tmp_path):
    pl = package("lightning.pytorch")
    callback = WarmupDetectorCallback(every=5, print_summary=False)
    fit = trainer(pl, tmp_path, [callback], logger=False, max_steps=10)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*logger.*")
        fit.fit(make_module(pl), loader())
    assert (tmp_path / "warmup_history.json").exists()
    assert "warmup/RAdam/noise" in fit.callback_metrics  # the compact set, by default
    assert not any("/pg0/" in key for key in fit.callback_metrics)


@pytest.mark.fit
def test_two_optimizers_named_like_lr_monitor(tmp_path):
    pl = package("lightning.pytorch")

    class TwoOptimizers(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.a, self.b = nn.Linear(8, 1), nn.Linear(8, 1)
            self.automatic_optimization = False

        def training_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            for opt, net in zip(self.optimizers(), (self.a, self.b)):
                opt.zero_grad()
                self.manual_backward(nn.functional.mse_loss(net(x), y))
                opt.step()

        def configure_optimizers(self) -> Any:
            return [torch.optim.Adam(self.a.parameters()), torch.optim.Adam(self.b.parameters())]

    callback = WarmupDetectorCallback(every=5, metrics="all", print_summary=False)
    # manual optimization: global_step counts both optimizers' steps
    fit = trainer(pl, tmp_path, [callback], max_steps=8)
    fit.fit(TwoOptimizers(), loader())
    assert [d.name for d in callback.detectors] == ["Adam", "Adam-1"]
    rows = read_metrics(tmp_path / "run" / "version_0" / "metrics.csv")
    assert "warmup/Adam/pg0/rho_t" in rows[0] and "warmup/Adam-1/pg0/rho_t" in rows[0]
    history = json.loads((tmp_path / "run" / "version_0" / "warmup_history.json").read_text())
    assert {r["optimizer"] for r in history["records"]} == {"Adam", "Adam-1"}


def _fit_steps(pl: Any, root: Path, steps: int, ckpt_path: str | None = None) -> tuple[Any, Any, Any]:
    callback = WarmupDetectorCallback(every=2, hold=2, tol=0.3, print_summary=False)
    # Saved in on_train_batch_end, after ours (Lightning runs checkpoint callbacks last). An
    # epoch-end checkpoint would not do: resuming from one, Lightning 2.6 feeds the next epoch's
    # first batch twice, so even the parameters would differ from an uninterrupted run.
    checkpoint = pl.callbacks.ModelCheckpoint(
        dirpath=str(root / "ckpt"), every_n_train_steps=3 * BATCHES_PER_EPOCH, save_top_k=-1
    )
    model = make_module(pl)
    fit = trainer(pl, root, [callback, checkpoint], max_steps=steps, enable_checkpointing=True, logger=False)
    fit.fit(model, loader(), ckpt_path=ckpt_path)
    return callback, checkpoint, model


@pytest.mark.fit
@pytest.mark.parametrize("pkg", PACKAGES)
def test_resume_from_checkpoint_continues_the_detection(pkg, tmp_path):
    pl = package(pkg)
    total, first = 6 * BATCHES_PER_EPOCH, 3 * BATCHES_PER_EPOCH  # the checkpoint interval
    straight, _, straight_model = _fit_steps(pl, tmp_path / "straight", total)
    first_half, checkpoint, _ = _fit_steps(pl, tmp_path / "first", first)
    saved = torch.load(checkpoint.best_model_path, weights_only=False)
    assert saved["global_step"] == first
    assert saved["callbacks"]["WarmupDetectorCallback"]["detectors"][0]["name"] == "RAdam"
    assert first_half.detectors[0].evaluations < straight.detectors[0].evaluations

    resumed, _, resumed_model = _fit_steps(pl, tmp_path / "resumed", total, checkpoint.best_model_path)
    a, b = straight.detectors[0], resumed.detectors[0]
    assert a.settled_step is not None and a.settled_step > 4  # a detection happened, not trivially
    assert (b.settled_step, b.relapses, b.evaluations) == (a.settled_step, a.relapses, a.evaluations)
    assert same(resumed.state_dict(), straight.state_dict())  # history, counters, sample memory
    for p, q in zip(straight_model.parameters(), resumed_model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


# ---------------------------------------------------------------------- auto-attach
def test_factories_follow_the_environment_variable(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert lightning_mod.callbacks_factory() == []
    assert lightning_mod.fabric_callbacks_factory() == []
    monkeypatch.setenv(ENV_VAR, "true")
    with pytest.warns(UserWarning, match="set it to 1"):
        assert lightning_mod.callbacks_factory() == []
    monkeypatch.setenv(ENV_VAR, "1")
    (callback,) = lightning_mod.callbacks_factory()
    assert isinstance(callback, WarmupDetectorCallback)
    (fabric_callback,) = lightning_mod.fabric_callbacks_factory()
    assert isinstance(fabric_callback, FabricWarmupDetectorCallback)


@pytest.mark.fit
def test_auto_attached_callback_yields_to_the_users_own(tmp_path, monkeypatch):
    pl = package("lightning.pytorch")
    monkeypatch.setenv(ENV_VAR, "1")
    mine = WarmupDetectorCallback(every=5, print_summary=False)
    fit = trainer(pl, tmp_path, [mine], max_steps=10, enable_checkpointing=True, logger=False)
    ours = [cb for cb in fit.callbacks if isinstance(cb, WarmupDetectorCallback)]
    assert len(ours) == 2  # no "more than one stateful callback" error
    auto = next(cb for cb in ours if cb is not mine)
    fit.fit(make_module(pl), loader())
    assert len(mine.detectors) == 1 and auto.detectors == []
    fit.save_checkpoint(tmp_path / "both.ckpt")
    states = torch.load(tmp_path / "both.ckpt", weights_only=False)["callbacks"]
    assert "WarmupDetectorCallback" in states
    assert not any("auto_attached" in key for key in states)


@pytest.mark.fit
def test_auto_attached_callback_skips_sgd_with_a_warning(tmp_path, monkeypatch):
    pl = package("lightning.pytorch")
    monkeypatch.setenv(ENV_VAR, "1")  # a site-wide switch must not break runs it cannot monitor
    fit = trainer(pl, tmp_path, [], max_steps=4, logger=False)
    with pytest.warns(RuntimeWarning, match=r"optimizer 0 \(SGD\).*not monitored"):
        fit.fit(make_module(pl, "SGD"), loader())
    assert fit.global_step == 4


@pytest.mark.fit
def test_state_moves_between_auto_attached_and_explicit(tmp_path, monkeypatch):
    pl = package("lightning.pytorch")
    monkeypatch.setenv(ENV_VAR, "1")
    fit = trainer(pl, tmp_path, [], max_steps=BATCHES_PER_EPOCH, logger=False)
    (auto,) = [cb for cb in fit.callbacks if isinstance(cb, WarmupDetectorCallback)]
    fit.fit(make_module(pl), loader())
    fit.save_checkpoint(tmp_path / "auto.ckpt")

    monkeypatch.delenv(ENV_VAR)
    mine = WarmupDetectorCallback(print_summary=False)
    fit = trainer(pl, tmp_path, [mine], max_steps=2 * BATCHES_PER_EPOCH, logger=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*callbacks used to create the checkpoint.*")
        fit.fit(make_module(pl), loader(), ckpt_path=str(tmp_path / "auto.ckpt"))
    steps = [h["step"] for h in mine.detectors[0].history]
    assert steps == [1, 2, 4, 8, 10]  # a fresh detector would have [9, 10]
    assert steps[:4] == [h["step"] for h in auto.detectors[0].history]


AUTO_ATTACH_PROBE = textwrap.dedent(
    """
    import json
    from radam_integrations.integrations.lightning import (
        FabricWarmupDetectorCallback, WarmupDetectorCallback,
    )
    import lightning.fabric, lightning.pytorch, lightning_fabric, pytorch_lightning

    def ours(callbacks, cls):
        return sum(isinstance(cb, cls) for cb in callbacks)

    print(json.dumps({
        "lightning.pytorch": ours(lightning.pytorch.Trainer(logger=False).callbacks, WarmupDetectorCallback),
        "pytorch_lightning": ours(pytorch_lightning.Trainer(logger=False).callbacks, WarmupDetectorCallback),
        "lightning.fabric": ours(
            lightning.fabric.Fabric(accelerator="cpu")._callbacks, FabricWarmupDetectorCallback
        ),
        "lightning_fabric": ours(
            lightning_fabric.Fabric(accelerator="cpu")._callbacks, FabricWarmupDetectorCallback
        ),
    }))
    """
)


@pytest.mark.slow
def test_environment_variable_auto_attaches_through_entry_points(subprocess_env):
    for name in [*PACKAGES, "lightning.fabric", "lightning_fabric"]:
        package(name)
    envs = {"1": {**subprocess_env, ENV_VAR: "1"}, "unset": dict(subprocess_env)}
    envs["unset"].pop(ENV_VAR, None)
    procs = {
        key: subprocess.Popen(
            [sys.executable, "-c", AUTO_ATTACH_PROBE], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for key, env in envs.items()
    }
    found = {}
    for key, proc in procs.items():
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err.decode()[-3000:]
        found[key] = json.loads(out.decode().strip().splitlines()[-1])
    assert found["1"] == {name: 1 for name in found["1"]} and len(found["1"]) == 4
    assert found["unset"] == {name: 0 for name in found["1"]}


ONE_PACKAGE_PROBE = textwrap.dedent(
    """
    import importlib.machinery, json, os, sys

    BLOCKED = set(json.loads(sys.argv[1]))

    class WithoutPackages(importlib.machinery.PathFinder):
        # the path finder, except that the blocked packages are not there (as if uninstalled)
        @classmethod
        def find_spec(cls, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                return None
            return super().find_spec(name, path, target)

    sys.meta_path = [WithoutPackages if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
    os.environ["RADAM_WARMUP_DETECTOR"] = "1"
    import radam_integrations.integrations.lightning as adapter

    result = {"bases": [b.__module__ for b in adapter._TRAINER_CALLBACK_BASES]}
    result["factory"] = [type(cb).__name__ for cb in adapter.callbacks_factory()]
    try:
        adapter.WarmupDetectorCallback()
        result["construct"] = "ok"
    except ImportError as err:
        result["construct"] = str(err)
    if "pytorch_lightning" not in BLOCKED:
        import pytorch_lightning as pl
        result["trainer"] = sum(
            isinstance(cb, adapter.WarmupDetectorCallback) for cb in pl.Trainer(logger=False).callbacks
        )
    elif "lightning" not in BLOCKED:
        import lightning.pytorch as pl
        result["trainer"] = sum(
            isinstance(cb, adapter.WarmupDetectorCallback) for cb in pl.Trainer(logger=False).callbacks
        )
    print(json.dumps(result))
    """
)


@pytest.mark.slow
def test_works_with_only_one_lightning_package_installed(subprocess_env):
    cases = {
        "only pytorch_lightning": ["lightning"],
        "only lightning": ["pytorch_lightning", "lightning_fabric"],
        "neither": ["lightning", "pytorch_lightning", "lightning_fabric"],
    }
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", ONE_PACKAGE_PROBE, json.dumps(blocked)],
            env=subprocess_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, blocked in cases.items()
    }
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, f"{name}: {err.decode()[-3000:]}"
        results[name] = json.loads(out.decode().strip().splitlines()[-1])
    assert results["only pytorch_lightning"] == {
        "bases": ["pytorch_lightning.callbacks.callback"],
        "factory": ["WarmupDetectorCallback"],
        "construct": "ok",
        "trainer": 1,
    }
    assert results["only lightning"] == {
        "bases": ["lightning.pytorch.callbacks.callback"],
        "factory": ["WarmupDetectorCallback"],
        "construct": "ok",
        "trainer": 1,
    }
    neither = results["neither"]
    assert neither["bases"] == [] and neither["factory"] == []
    assert "pip install lightning" in neither["construct"]


# ---------------------------------------------------------------------- Fabric
def _fabric_run(
    pkg: str, root: Path, steps: int, start: int = 0, resume: Path | None = None, save: Path | None = None
) -> tuple[Any, Any, Any]:
    fabric_pkg = importlib.import_module(pkg)
    loggers = importlib.import_module(f"{pkg}.loggers")
    callback = FabricWarmupDetectorCallback(every=2, hold=2, tol=0.3, metrics="all", print_summary=False)
    fabric = fabric_pkg.Fabric(
        accelerator="cpu", devices=1, callbacks=[callback], loggers=loggers.CSVLogger(str(root), name="fab")
    )
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
    model, optimizer = fabric.setup(model, RAdam(model.parameters(), lr=1e-2))
    state = {"model": model, "optimizer": optimizer, "warmup": callback}
    if resume is not None:
        if "weights_only" in inspect.signature(fabric.load).parameters:
            fabric.load(resume, state, weights_only=True)
        else:  # Lightning < 2.6.1 has no Fabric.load(weights_only=): the same check by hand
            torch.load(resume, weights_only=True)
            fabric.load(resume, state)
    for step in range(start, steps):
        gen = torch.Generator().manual_seed(step)
        x = torch.randn(8, 8, generator=gen)
        y = x.sum(dim=1, keepdim=True)
        optimizer.zero_grad()
        fabric.backward(nn.functional.mse_loss(model(x), y))
        optimizer.step()
    if save is not None:
        fabric.save(save, state)
    fabric.call("on_train_end")
    fabric.logger.finalize("success")
    return fabric, callback, model


@pytest.mark.parametrize("pkg", ["lightning.fabric", "lightning_fabric"])
def test_fabric_logs_and_round_trips_state(pkg, tmp_path):
    package(pkg)
    fabric, straight, straight_model = _fabric_run(pkg, tmp_path / "a", 30)
    log_dir = Path(fabric.logger.log_dir)
    rows = read_metrics(log_dir / "metrics.csv")
    assert logged_steps(rows, "warmup/RAdam/pg0/rho_t") == [1, 2, 4, *range(8, 31, 2)]
    # Undefined values are not logged: noise needs a drift (from the second evaluation on).
    assert logged_steps(rows, "warmup/RAdam/pg0/noise") == [2, 4, *range(8, 31, 2)]
    for metric in GROUP_METRICS:
        defined = any(math.isfinite(h["groups"]["pg0"][metric]) for h in straight.detectors[0].history)
        assert (f"warmup/RAdam/pg0/{metric}" in rows[0]) == defined, metric
    assert (log_dir / "warmup_history.json").exists()
    assert straight.settled_step is not None

    _, first, _ = _fabric_run(pkg, tmp_path / "b", 12, save=tmp_path / "state.ckpt")
    assert first.detectors[0].evaluations < straight.detectors[0].evaluations
    _, resumed, resumed_model = _fabric_run(pkg, tmp_path / "c", 30, start=12, resume=tmp_path / "state.ckpt")
    assert same(resumed.state_dict(), straight.state_dict())
    assert resumed.settled_step == straight.settled_step
    for p, q in zip(straight_model.parameters(), resumed_model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_fabric_sgd_fails_with_a_clear_error():
    fabric_pkg = package("lightning.fabric")
    fabric = fabric_pkg.Fabric(accelerator="cpu", devices=1, callbacks=[FabricWarmupDetectorCallback()])
    model = nn.Linear(4, 1)
    model, optimizer = fabric.setup(model, torch.optim.SGD(model.parameters(), lr=0.1))
    fabric.backward(model(torch.randn(2, 4)).sum())
    with pytest.raises(UnsupportedOptimizerError, match="Remove the callback"):
        optimizer.step()


def test_fabric_without_setup_warns_once_and_keeps_detecting():
    fabric_pkg = package("lightning.fabric")
    callback = FabricWarmupDetectorCallback(every=2)
    fabric = fabric_pkg.Fabric(accelerator="cpu", devices=1, callbacks=[callback])
    model = fabric.setup_module(nn.Linear(4, 1))
    optimizer = fabric.setup_optimizers(torch.optim.Adam(model.parameters()))
    with pytest.warns(RuntimeWarning, match="on_after_setup") as record:
        for _ in range(4):
            optimizer.zero_grad()
            fabric.backward(model(torch.randn(2, 4)).pow(2).sum())
            optimizer.step()
    assert sum("on_after_setup" in str(w.message) for w in record) == 1
    assert callback.detectors[0].evaluations == 3  # steps 1, 2, 4
    assert math.isfinite(callback.detectors[0].history[-1]["groups"]["pg0"]["rho_t"])


@pytest.mark.process
def test_importing_the_package_does_not_import_lightning(subprocess_env):
    code = (
        "import sys, radam_integrations, radam_integrations.integrations; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('lightning', 'pytorch_lightning', 'lightning_fabric')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_env_var_name_is_documented():
    assert ENV_VAR == "RADAM_WARMUP_DETECTOR"
    assert ENV_VAR in (lightning_mod.__doc__ or "")


@pytest.mark.fit
def test_compact_metrics_by_default(tmp_path):
    pl = package("lightning.pytorch")
    callback = WarmupDetectorCallback(every=5, log_with="loggers", print_summary=False)
    fit = trainer(pl, tmp_path, [callback])
    fit.fit(make_module(pl), loader())
    rows = read_metrics(tmp_path / "run" / "version_0" / "metrics.csv")
    keys = {k for k in rows[0] if k.startswith("warmup/")}
    names = ("noise", "staleness", "settled_step", "suggested_warmup_steps")
    compact = {f"warmup/RAdam/{m}" for m in names}
    assert {"warmup/RAdam/noise", "warmup/RAdam/staleness"} <= keys <= compact
    assert logged_steps(rows, "warmup/RAdam/noise") == EVAL_STEPS[1:]  # undefined at the first one


@pytest.mark.slow
@pytest.mark.parametrize(
    ("optimizer", "warns"),
    [("RAdam", True), ("torch.optim.RAdam", True), ("radam_integrations.RAdam", False)],
)
def test_lightning_cli_says_when_it_picked_torchs_radam(optimizer, warns, tmp_path, subprocess_env):
    """Nothing of ours imported at parse time: a bare `--optimizer RAdam` silently means torch's."""
    script = Path(__file__).parent / "scripts" / "lightning_cli_train.py"
    args = [
        "fit", "--optimizer", optimizer, "--trainer.max_steps", "3", "--trainer.logger", "false",
        "--trainer.enable_checkpointing", "false", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false", f"--trainer.default_root_dir={tmp_path}",
    ]  # fmt: skip
    env = {**subprocess_env, ENV_VAR: "1"}
    result = subprocess.run(
        [sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=300,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    expected = "radam_integrations.optim.radam.RAdam" if not warns else "torch.optim.radam.RAdam"
    assert f"OPTIMIZER {expected}" in result.stdout
    said = "LightningCLI built torch.optim.RAdam" in result.stderr
    assert said == warns, result.stderr[-3000:]
    if warns:
        assert "--optimizer radam_integrations.RAdam" in result.stderr


def test_lightning_cli_refuses_a_bare_radam_once_ours_is_imported(tmp_path, capsys):
    """With radam_integrations imported, jsonargparse sees two RAdam classes and asks for the full path."""
    pl = package("lightning.pytorch")
    from lightning.pytorch.cli import LightningCLI

    class Regression(pl.LightningModule):
        def __init__(self, hidden: int = 8) -> None:
            super().__init__()
            self.net = nn.Linear(8, hidden)

    with pytest.raises(SystemExit):
        LightningCLI(Regression, args=["fit", "--optimizer", "RAdam"], save_config_callback=None, run=False)
    assert "Give the full class path" in capsys.readouterr().err


@pytest.mark.parametrize("pkg", PACKAGES)
def test_lightning_cli_builds_the_callbacks_from_flat_detector_options(pkg, tmp_path):
    """A config file gives the detector options flat (`init_args: {every: 10}`); LightningCLI takes them."""
    pl = package(pkg)
    cli_module = importlib.import_module(f"{pkg}.cli")

    class Regression(pl.LightningModule):
        def __init__(self, hidden: int = 8) -> None:
            super().__init__()
            self.net = nn.Linear(8, hidden)

    config = tmp_path / "config.yaml"
    config.write_text(
        "trainer:\n  callbacks:\n"
        "    - class_path: radam_integrations.integrations.lightning.WarmupDetectorCallback\n"
        "      init_args: {every: 7, tol: 0.2, metrics: all, plot: false}\n"
    )
    cli = cli_module.LightningCLI(
        Regression, args=["--config", str(config), "--trainer.logger", "false"], run=False,
        save_config_callback=None, trainer_defaults={"default_root_dir": str(tmp_path)},
    )  # fmt: skip
    (callback,) = [c for c in cli.trainer.callbacks if isinstance(c, WarmupDetectorCallback)]
    assert callback.config == DetectorConfig(every=7, tol=0.2)
    assert (callback.metrics, callback.plot) == ("all", False)

    parser = cli_module.LightningArgumentParser()
    parser.add_class_arguments(FabricWarmupDetectorCallback, "fabric_callback")
    parsed = parser.parse_args(["--fabric_callback.hold", "2", "--fabric_callback.sample_size", "null"])
    built = parser.instantiate_classes(parsed).fabric_callback
    assert built.config == DetectorConfig(hold=2, sample_size=None)
    with pytest.raises(SystemExit):  # a misspelt option is refused by the parser, before training
        parser.parse_args(["--fabric_callback.evry", "5"])


# ---------------------------------------------------------------------- AutoWarmup (issue 13)
def _auto_warmup_fit(
    pl: Any, root: Path, steps: int, ckpt_path: str | None = None
) -> tuple[Any, list[float]]:
    from radam_integrations.experimental import AutoWarmup

    class WithAutoWarmup(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
            self.lrs: list[float] = []

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            self.lrs.append(self.optimizers().param_groups[0]["lr"])
            x, y = batch
            return nn.functional.mse_loss(self.net(x), y)

        def configure_optimizers(self) -> Any:
            opt = torch.optim.AdamW(self.parameters(), lr=1e-2)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": AutoWarmup(opt), "interval": "step"}}

    checkpoint = pl.callbacks.ModelCheckpoint(
        dirpath=str(root / "ckpt"), every_n_train_steps=3 * BATCHES_PER_EPOCH, save_top_k=-1
    )
    model = WithAutoWarmup()
    fit = trainer(pl, root, [checkpoint], max_steps=steps, enable_checkpointing=True, logger=False)
    fit.fit(model, loader(), ckpt_path=ckpt_path)
    return fit, model.lrs


@pytest.mark.fit
def test_auto_warmup_from_configure_optimizers_resumes_exactly(tmp_path):
    from radam_integrations.experimental import AutoWarmup

    pl = package("lightning.pytorch")
    total, first = 6 * BATCHES_PER_EPOCH, 3 * BATCHES_PER_EPOCH
    straight, lrs = _auto_warmup_fit(pl, tmp_path / "straight", total)
    (scheduler,) = [config.scheduler for config in straight.lr_scheduler_configs]
    assert isinstance(scheduler, AutoWarmup) and scheduler.rectifier.measured(0)
    assert lrs[0] < lrs[-1] <= 1e-2  # a measured warmup, stepped per optimizer step
    _auto_warmup_fit(pl, tmp_path / "first", first)
    saved = next((tmp_path / "first" / "ckpt").glob("*.ckpt"))
    resumed, resumed_lrs = _auto_warmup_fit(pl, tmp_path / "resumed", total, str(saved))
    assert resumed_lrs == lrs[first:]
    (again,) = [config.scheduler for config in resumed.lr_scheduler_configs]
    assert same(again.state_dict()["rectifier"], scheduler.state_dict()["rectifier"])


@pytest.mark.fit
def test_lightning_cli_lr_scheduler_auto_warmup_says_it_is_stepped_per_epoch(tmp_path):
    """`--lr_scheduler radam_integrations.experimental.AutoWarmup`: LightningCLI steps it once per epoch (its
    default interval), so the warmup would move once per epoch: AutoWarmup says so, naming the fix."""
    pl = package("lightning.pytorch")
    from lightning.pytorch.cli import LightningCLI

    class Regression(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))

        def training_step(self, batch, batch_idx):
            x, y = batch
            return nn.functional.mse_loss(self.net(x), y)

        def train_dataloader(self):
            x = torch.randn(256, 8, generator=torch.Generator().manual_seed(0))
            data = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
            return torch.utils.data.DataLoader(data, batch_size=8)

    args = [
        "fit", "--optimizer", "AdamW", "--optimizer.lr", "0.01",
        "--lr_scheduler", "radam_integrations.experimental.AutoWarmup", "--trainer.max_epochs", "1",
        "--trainer.logger", "false", "--trainer.enable_checkpointing", "false",
        "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
        f"--trainer.default_root_dir={tmp_path}",
    ]  # fmt: skip
    with pytest.warns(UserWarning, match=r"32 optimizer steps after the previous one.*'interval': 'step'"):
        cli = LightningCLI(Regression, args=args, save_config_callback=None)
    (config,) = cli.trainer.lr_scheduler_configs
    assert type(config.scheduler).__name__ == "AutoWarmup" and config.interval == "epoch"


@pytest.mark.fit
@pytest.mark.parametrize("form", ["lists", "bare_in_dict"])
def test_auto_warmup_returned_without_interval_step_says_it_is_stepped_per_epoch(tmp_path, form):
    """configure_optimizers returning AutoWarmup without ``"interval": "step"``: Lightning steps it
    once per epoch; AutoWarmup says so (the route table in docs/routes.md)."""
    from radam_integrations.experimental import AutoWarmup

    pl = package("lightning.pytorch")

    class PerEpoch(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return nn.functional.mse_loss(self.net(x), y)

        def configure_optimizers(self) -> Any:
            opt = torch.optim.AdamW(self.parameters(), lr=1e-2)
            sched = AutoWarmup(opt)
            return ([opt], [sched]) if form == "lists" else {"optimizer": opt, "lr_scheduler": sched}

    fit = trainer(pl, tmp_path, [], max_steps=2 * BATCHES_PER_EPOCH, logger=False)
    expected = rf"{BATCHES_PER_EPOCH} optimizer steps after the previous one.*'interval': 'step'"
    with pytest.warns(UserWarning, match=expected):
        fit.fit(PerEpoch(), loader())
    (config,) = fit.lr_scheduler_configs
    assert config.interval == "epoch"


@pytest.mark.fit
def test_the_summary_says_what_lightnings_step_scheduler_did_to_radam(tmp_path, capsys) -> None:
    """RAdam at beta2 0.999 under a CosineAnnealingLR that Lightning steps every batch: the summary's
    last line says what `radam-integrations schedule --beta2 0.999 --steps 160 --decay cosine` says
    before the run, with what the study measured under cosine at that beta2. Lightning calls the
    callback after it stepped the scheduler, so the detector reads each step's lr one step late
    and the decay's own share may differ by that step (50% here against 49%)."""
    from radam_integrations._measured import advice

    pl = package("lightning.pytorch")
    steps = 160

    class Decayed(type(make_module(pl))):
        def configure_optimizers(self) -> Any:
            opt = RAdam(self.parameters(), lr=1e-2, betas=(0.9, 0.999))
            cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": cosine, "interval": "step"}}

    trainer(pl, tmp_path, [WarmupDetectorCallback()], max_steps=steps, logger=False).fit(Decayed(), loader())
    (said,) = [line for line in capsys.readouterr().out.splitlines() if "RAdam's steps" in line]
    predicted = theory.decayed_rectification(0.999, steps, "cosine")
    expected = f"RAdam: {advice(predicted)}"
    alone = f"(the decay alone: {100 * predicted.decay_below_half_lr:.0f}%)"
    one_step_later = f"(the decay alone: {100 * (predicted.decay_below_half_lr + 1 / steps):.0f}%)"
    assert said in (expected, expected.replace(alone, one_step_later))
    assert said.startswith(
        "RAdam: beta2=0.999, 160 steps, cosine decay: RAdam's steps run below half the base learning"
    )
    assert "for 100% of the run" in said and "a small ViT on digits (timm)" in said
