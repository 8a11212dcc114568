"""timm's optimizer factory creates radam_integrations.RAdam after register()."""

from __future__ import annotations

import logging
import subprocess
import sys

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
