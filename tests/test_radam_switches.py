"""threshold and degenerated_to_sgd, checked against an independent element-wise reference."""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch

from radam_integrations import RAdam, theory

from .helpers.reference import ReferenceRAdam

CONFIGS = [
    {},
    {"degenerated_to_sgd": False},
    {"degenerated_to_sgd": False, "weight_decay": 0.1, "decoupled": True},
    {"degenerated_to_sgd": False, "weight_decay": 0.1},
    {"threshold": 4.0},
    {"threshold": 4.0, "degenerated_to_sgd": False, "maximize": True},
    {"threshold": 12.0, "beta2": 0.99, "weight_decay": 0.05, "decoupled": True},
]


def _quadratic_grad(theta: torch.Tensor) -> torch.Tensor:
    a = torch.linspace(0.5, 3.0, theta.numel(), dtype=torch.float64)
    return a * theta - 1.0 + 0.3 * torch.sin(7.0 * theta)


def _opt_kwargs(cfg: dict) -> dict:
    kw = {"lr": 5e-2, "betas": (0.9, cfg.get("beta2", 0.999))}
    kw["weight_decay"] = cfg.get("weight_decay", 0.0)
    kw["decoupled_weight_decay"] = cfg.get("decoupled", False)
    for key in ("threshold", "degenerated_to_sgd", "maximize"):
        if key in cfg:
            kw[key] = cfg[key]
    return kw


@pytest.mark.parametrize(
    ("cfg", "foreach", "capturable"), list(itertools.product(CONFIGS, [False, True], [False, True]))
)
def test_trajectory_matches_reference(cfg: dict, foreach: bool, capturable: bool) -> None:
    kw = _opt_kwargs(cfg)
    ref = ReferenceRAdam(
        lr=kw["lr"],
        beta1=0.9,
        beta2=kw["betas"][1],
        weight_decay=kw["weight_decay"],
        decoupled=kw["decoupled_weight_decay"],
        threshold=kw.get("threshold", 5.0),
        degenerated_to_sgd=kw.get("degenerated_to_sgd", True),
        maximize=kw.get("maximize", False),
    )
    theta = torch.nn.Parameter(torch.linspace(-1.0, 2.0, 6, dtype=torch.float64))
    opt = RAdam([theta], foreach=foreach, capturable=capturable, **kw)
    expected = theta.detach().tolist()
    for _ in range(40):
        grad = _quadratic_grad(theta.detach())
        theta.grad = grad.clone()
        opt.step()
        expected = ref.step(expected, grad.tolist())
        torch.testing.assert_close(
            theta.detach(), torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=1e-12
        )


def _first_moving_step(**kwargs) -> int:
    theta = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
    opt = RAdam([theta], lr=1e-2, degenerated_to_sgd=False, **kwargs)
    for t in range(1, 50):
        before = theta.detach().clone()
        theta.grad = torch.full_like(theta, 0.5)
        opt.step()
        if not torch.equal(before, theta.detach()):
            return t
    raise AssertionError("never moved")


def test_threshold_4_follows_the_paper() -> None:
    # rho_5 = 4.996 at b2 = 0.999: the paper (rho_t > 4) rectifies from step 5, torch (> 5) from 6.
    assert _first_moving_step(threshold=4.0) == 5 == theory.first_rectified_step(0.999, 4.0)
    assert _first_moving_step() == 6 == theory.first_rectified_step(0.999)
    assert _first_moving_step(betas=(0.9, 0.99), threshold=20.0) == theory.first_rectified_step(0.99, 20.0)


def test_no_update_and_no_decoupled_decay_before_rectification() -> None:
    theta = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = RAdam([theta], lr=1e-1, weight_decay=0.5, decoupled_weight_decay=True, degenerated_to_sgd=False)
    for _ in range(5):
        theta.grad = torch.ones_like(theta)
        opt.step()
    assert torch.equal(theta.detach(), torch.ones(3, dtype=torch.float64))
    assert opt.state[theta]["step"].item() == 5
    assert opt.state[theta]["exp_avg"].abs().sum() > 0  # the moments advanced


def test_small_beta2_is_never_rectified() -> None:
    theta = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = RAdam([theta], lr=1e-1, betas=(0.9, 0.6), degenerated_to_sgd=False)
    for _ in range(30):
        theta.grad = torch.ones_like(theta)
        opt.step()
    assert torch.equal(theta.detach(), torch.ones(3, dtype=torch.float64))


def test_threshold_below_four_warns_and_acts_as_four() -> None:
    with pytest.warns(UserWarning, match="below 4"):
        low = RAdam([torch.nn.Parameter(torch.ones(2))], threshold=1.0)
    assert low.param_groups[0]["threshold"] == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RAdam([torch.nn.Parameter(torch.ones(2))], threshold=4.0)  # no warning at 4
    with pytest.warns(UserWarning, match="below 4"):
        assert _first_moving_step(threshold=0.0) == _first_moving_step(threshold=4.0) == 5
