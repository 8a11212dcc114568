"""timm's optimizer factory creates radam_integrations.RAdam after register()."""

from __future__ import annotations

import copy
import json
import logging
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

timm = pytest.importorskip("timm")
from timm.optim import Lookahead, create_optimizer_v2, list_optimizers  # noqa: E402

from radam_integrations import RAdam, WarmupDetector  # noqa: E402
from radam_integrations.integrations import timm as radam_timm  # noqa: E402


@pytest.fixture
def registered():
    radam_timm.register()
    yield
    radam_timm.unregister()


def _vit():
    return timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, img_size=32, patch_size=8, depth=2, num_classes=5
    )


def test_names_resolve_to_our_radam(registered) -> None:
    model = _vit()
    opt = create_optimizer_v2(model, opt="radam", lr=1e-3, weight_decay=0.05, betas=(0.9, 0.98), eps=1e-7)
    assert type(opt) is RAdam
    # timm's grouping survives: decay for weights, none for biases / norms / tokens (1-d).
    decays = sorted(g["weight_decay"] for g in opt.param_groups)
    assert decays == [0.0, 0.05]
    assert all(g["betas"] == (0.9, 0.98) and g["eps"] == 1e-7 and g["lr"] == 1e-3 for g in opt.param_groups)
    assert all(not g["decoupled_weight_decay"] for g in opt.param_groups)

    opt_w = create_optimizer_v2(model, opt="radamw", lr=1e-3, weight_decay=0.05)
    assert type(opt_w) is RAdam and all(g["decoupled_weight_decay"] for g in opt_w.param_groups)


def test_torch_implementation_stays_reachable(registered) -> None:
    model = _vit()
    assert type(create_optimizer_v2(model, opt="torchradam")) is torch.optim.RAdam
    torch_w = create_optimizer_v2(model, opt="torchradamw", weight_decay=0.01)
    assert type(torch_w) is torch.optim.RAdam and torch_w.param_groups[0]["decoupled_weight_decay"]
    assert {"radam", "radamw", "torchradam", "torchradamw"} <= set(list_optimizers("*radam*"))


def test_lookahead_layer_decay_and_foreach(registered) -> None:
    model = _vit()
    opt = create_optimizer_v2(
        model, opt="lookahead_radamw", lr=1e-3, weight_decay=0.05, layer_decay=0.7, foreach=False
    )
    assert isinstance(opt, Lookahead) and type(opt._base_optimizer) is RAdam
    scales = {g["lr_scale"] for g in opt.param_groups}
    assert len(scales) > 2 and max(scales) == pytest.approx(1.0)  # one scale per depth
    assert all(g["foreach"] is False for g in opt.param_groups)
    # It trains, and the warmup detector reads the base optimizer's Adam state through Lookahead.
    detector = WarmupDetector(opt)
    x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 5, (4,))
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        detector.update()
    assert detector.optimizer is opt._base_optimizer and detector.evaluations == 2  # steps 1 and 2


def test_register_is_idempotent_and_reversible(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        radam_timm.register()
        radam_timm.register()
    assert "already registered" not in caplog.text
    radam_timm.unregister()
    assert type(create_optimizer_v2(torch.nn.Linear(2, 2), opt="radam")) is torch.optim.RAdam
    assert "torchradam" not in list_optimizers()


@pytest.mark.process
def test_runner_registers_before_the_training_script(tmp_path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import argparse, torch\n"
        "from timm.optim import create_optimizer_v2\n"
        "p = argparse.ArgumentParser(); p.add_argument('--opt'); a = p.parse_args()\n"
        "o = create_optimizer_v2(torch.nn.Linear(3, 3), opt=a.opt)\n"
        "print(type(o).__module__ + '.' + type(o).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "radam_integrations.integrations.timm", str(script), "--opt", "radam"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert out.stdout.strip().endswith("radam_integrations.optim.radam.RAdam")


# ---------------------------------------------------------------- AutoWarmup with timm's schedulers
from timm.scheduler import CosineLRScheduler  # noqa: E402

from radam_integrations.experimental import timm_schedules  # noqa: E402
from radam_integrations.experimental.timm_schedules import TimmAutoWarmup  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def scheduler_names(registered):
    timm_schedules.register()  # experimental: installed only when asked for


def create_scheduler_v2(*args, **kwargs):
    # Looked up at call time, as train.py's import runs after the registration: a name bound by
    # ``from timm.scheduler import create_scheduler_v2`` before register() is timm's own function.
    return timm.scheduler.create_scheduler_v2(*args, **kwargs)


def _train(model, opt, sched, updates, start=1, seed=0):
    """``updates`` updates of a tiny problem; after each, every group's lr and measured multiplier."""
    data = torch.Generator().manual_seed(seed)
    shape = (16, 3, 32, 32) if isinstance(model, timm.models.VisionTransformer) else (16, 8)
    seen = []
    for update in range(start, start + updates):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(
            model(torch.randn(shape, generator=data)), torch.arange(16) % 2
        ).backward()
        opt.step()
        sched.step_update(update)
        seen.append(([g["lr"] for g in opt.param_groups], sched.multipliers()))
    return seen


def _linear_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))


def _cosine(lr, t, total):
    return 0.5 * lr * (1 + math.cos(math.pi * t / total))


def test_auto_warmup_cosine_is_timm_cosine_times_the_measured_multiplier(scheduler_names) -> None:
    model = _linear_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched, epochs = create_scheduler_v2(
        opt, sched="auto_warmup_cosine", num_epochs=2, step_on_epochs=False, updates_per_epoch=40
    )
    assert isinstance(sched, TimmAutoWarmup) and isinstance(sched.decay, CosineLRScheduler)
    assert epochs == 2 and sched.t_in_epochs is False
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-2 * math.sqrt(1 / 50))  # prior: Gaussian, t = 1
    multipliers = []
    for update, ((lr,), (m,)) in enumerate(_train(model, opt, sched, 80), start=1):
        multipliers.append(m)
        assert lr == pytest.approx(_cosine(1e-2, update, 80) * m, rel=1e-12)
    assert multipliers[0] < 0.5 and multipliers[-1] == 1.0  # a warmup, then timm's cosine alone
    assert sched.rectifier.measured(0)


def test_per_epoch_decay_is_not_compounded_by_the_multiplier(scheduler_names) -> None:
    model = _linear_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched, _ = create_scheduler_v2(opt, sched="auto_warmup_cosine", num_epochs=4)
    assert sched.t_in_epochs is True  # timm's default: the cosine moves per epoch
    for epoch in range(4):
        for (lr,), (m,) in _train(model, opt, sched, 10, start=10 * epoch + 1, seed=epoch):
            assert lr == pytest.approx(_cosine(1e-2, epoch, 4) * m, rel=1e-12)
        sched.step(epoch + 1)


def test_layer_decay_lr_scale_is_applied_like_timms_schedulers(scheduler_names) -> None:
    model = _vit()
    opt = create_optimizer_v2(model, opt="radamw", lr=1e-3, weight_decay=0.05, layer_decay=0.7)
    sched, _ = create_scheduler_v2(opt, sched="auto_warmup", num_epochs=1)
    assert sched.decay is None
    for lrs, multipliers in _train(model, opt, sched, 12):
        for group, lr, m in zip(opt.param_groups, lrs, multipliers):
            assert lr == pytest.approx(1e-3 * group["lr_scale"] * m, rel=1e-12)
    assert len({g["lr_scale"] for g in opt.param_groups}) > 2


def test_timm_warmup_is_replaced_with_a_warning_and_other_names_pass_through(scheduler_names) -> None:
    opt = torch.optim.AdamW(_linear_model().parameters(), lr=1e-2)
    with pytest.warns(UserWarning, match=r"warmup_epochs=5 is ignored .*--warmup-epochs 0"):
        sched, epochs = create_scheduler_v2(opt, sched="auto_warmup_step", num_epochs=3, warmup_epochs=5)
    assert type(sched.decay).__name__ == "StepLRScheduler" and sched.decay.warmup_t == 0 and epochs == 3
    plain, _ = create_scheduler_v2(opt, sched="cosine", num_epochs=3, warmup_epochs=1)
    assert type(plain) is CosineLRScheduler and plain.warmup_t == 1
    with pytest.raises(ValueError, match="nosuch"):
        create_scheduler_v2(opt, sched="auto_warmup_nosuch", num_epochs=3)
    with pytest.raises(TypeError, match="decay must be a timm scheduler"):
        TimmAutoWarmup(opt, decay=lambda step: 1.0)
    timm_schedules.register()  # idempotent: still one wrapper around timm's function
    wrapper = timm.scheduler.create_scheduler_v2
    assert wrapper is timm.scheduler.scheduler_factory.create_scheduler_v2
    original = wrapper._radam_integrations_original
    assert not hasattr(original, "_radam_integrations_original") and original.__module__.startswith("timm.")


def test_the_wrapper_takes_timms_arguments_by_position_too(scheduler_names) -> None:
    opt = torch.optim.AdamW(_linear_model().parameters(), lr=1e-2)
    plain, epochs = create_scheduler_v2(opt, "cosine", 10)  # (optimizer, sched, num_epochs)
    assert type(plain) is CosineLRScheduler and epochs == 10
    # warmup_epochs is the 10th parameter: found and ignored by position as by name
    args = (opt, "auto_warmup_cosine", 10, None, (90,), 0, 10, 0.1, 0.0, 1e-5, 3)
    with pytest.warns(UserWarning, match="warmup_epochs=3 is ignored"):
        sched, epochs = create_scheduler_v2(*args)
    assert isinstance(sched.decay, CosineLRScheduler) and sched.decay.warmup_t == 0 and epochs == 10


def test_state_dict_resumes_exactly(scheduler_names) -> None:
    def build():
        model = _linear_model()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
        return model, opt, TimmAutoWarmup(opt, CosineLRScheduler(opt, t_initial=60, t_in_epochs=False))

    model, opt, sched = build()
    _train(model, opt, sched, 25)
    saved = copy.deepcopy((model.state_dict(), opt.state_dict(), sched.state_dict()))
    straight = _train(model, opt, sched, 20, start=26, seed=1)

    model2, opt2, sched2 = build()
    model2.load_state_dict(saved[0])
    opt2.load_state_dict(saved[1])
    sched2.load_state_dict(saved[2])
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in saved[1]["param_groups"]]
    assert _train(model2, opt2, sched2, 20, start=26, seed=1) == straight


@pytest.mark.process
def test_the_runner_gives_a_timm_style_script_the_scheduler_names(tmp_path, subprocess_env) -> None:
    result_file = tmp_path / "result.json"
    script = ROOT / "tests" / "scripts" / "timm_style" / "train.py"
    out = subprocess.run(
        [sys.executable, "-m", "radam_integrations.experimental", str(script), "--opt", "radam", "--sched",
         "auto_warmup_cosine", "--steps", "40", "--result", str(result_file)],
        capture_output=True, text=True, timeout=300, env=subprocess_env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(result_file.read_text())
    assert seen["scheduler"] == "TimmAutoWarmup"
    lrs = seen["lrs"]
    assert lrs[0] < 0.3 * 1e-2 and max(lrs) > 2 * lrs[0] and lrs[-1] < max(lrs)  # rises, then cosine decay
