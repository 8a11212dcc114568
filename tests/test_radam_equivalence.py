"""radam_integrations.RAdam against torch.optim.RAdam: same numbers in every mode torch has."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from radam_integrations import RAdam

from .helpers.problems import flat_params, param_groups, tiny_model, train

TIGHT = {"rtol": 1e-12, "atol": 1e-12}

CASES = list(
    itertools.product(
        [{}, {"weight_decay": 0.1}, {"weight_decay": 0.1, "decoupled_weight_decay": True}],
        [False, True],  # foreach
        [False, True],  # maximize
        [False, True],  # several groups with different options
    )
)


def _pair(steps: int, *, varied: bool, dtype=torch.float64, **kwargs):
    ours, theirs = tiny_model(dtype), tiny_model(dtype)
    opt_ours = RAdam(param_groups(ours, varied=varied), lr=1e-2, **kwargs)
    opt_theirs = torch.optim.RAdam(param_groups(theirs, varied=varied), lr=1e-2, **kwargs)
    train(ours, opt_ours, steps)
    train(theirs, opt_theirs, steps)
    return ours, theirs, opt_ours, opt_theirs


@pytest.mark.parametrize(("decay", "foreach", "maximize", "varied"), CASES)
@pytest.mark.parametrize("steps", [1, 2, 3, 4, 5, 6, 200])
def test_matches_torch_float64(decay: dict, foreach: bool, maximize: bool, varied: bool, steps: int) -> None:
    ours, theirs, opt_ours, opt_theirs = _pair(
        steps, varied=varied, foreach=foreach, maximize=maximize, **decay
    )
    torch.testing.assert_close(flat_params(ours), flat_params(theirs), **TIGHT)
    for p_ours, p_theirs in zip(ours.parameters(), theirs.parameters()):
        s_ours, s_theirs = opt_ours.state[p_ours], opt_theirs.state[p_theirs]
        assert s_ours["step"].item() == s_theirs["step"].item() == steps
        torch.testing.assert_close(s_ours["exp_avg"], s_theirs["exp_avg"], **TIGHT)
        torch.testing.assert_close(s_ours["exp_avg_sq"], s_theirs["exp_avg_sq"], **TIGHT)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("foreach", [False, True])
def test_matches_torch_low_precision(dtype: torch.dtype, foreach: bool) -> None:
    # eps=1e-8 underflows to 0 in float16 (both optimizers then divide by zero): use 1e-4.
    eps = 1e-4 if dtype == torch.float16 else 1e-8
    ours, theirs, _, _ = _pair(30, varied=False, dtype=dtype, foreach=foreach, weight_decay=0.01, eps=eps)
    for p_ours, p_theirs in zip(ours.parameters(), theirs.parameters()):
        assert p_ours.dtype == dtype
        assert torch.isfinite(p_ours).all()
        torch.testing.assert_close(p_ours, p_theirs)  # dtype-appropriate default tolerances


@pytest.mark.parametrize("foreach", [False, True])
def test_params_without_grads_keep_their_own_step_counts(foreach: bool) -> None:
    ours, theirs = tiny_model(), tiny_model()
    frozen_ours, frozen_theirs = nn.Parameter(torch.ones(3, dtype=torch.float64), requires_grad=False), None
    frozen_theirs = nn.Parameter(torch.ones(3, dtype=torch.float64), requires_grad=False)
    opt_ours = RAdam([*ours.parameters(), frozen_ours], lr=1e-2, foreach=foreach)
    opt_theirs = torch.optim.RAdam([*theirs.parameters(), frozen_theirs], lr=1e-2, foreach=foreach)

    def drop_bias_grad(model: nn.Module) -> object:
        def hook(i: int) -> None:
            if i % 3 == 0:  # the last bias gets no gradient on every third step
                model[2].bias.grad = None

        return hook

    train(ours, opt_ours, 20, before_step=drop_bias_grad(ours))
    train(theirs, opt_theirs, 20, before_step=drop_bias_grad(theirs))
    torch.testing.assert_close(flat_params(ours), flat_params(theirs), **TIGHT)
    assert opt_ours.state[ours[2].bias]["step"].item() == 13
    assert opt_ours.state[ours[0].weight]["step"].item() == 20
    assert len(opt_ours.state[frozen_ours]) == 0
    assert torch.equal(frozen_ours, torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize("foreach", [False, True])
def test_schedulers_changing_lr_and_betas_every_step(foreach: bool) -> None:
    models = tiny_model(), tiny_model()
    opts = (
        RAdam(models[0].parameters(), lr=1e-2, foreach=foreach),
        torch.optim.RAdam(models[1].parameters(), lr=1e-2, foreach=foreach),
    )
    for model, opt in zip(models, opts):
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 / (1.0 + 0.1 * i))
        x = torch.randn(16, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
        for i in range(25):
            opt.param_groups[0]["betas"] = (0.9 - 0.005 * i, 0.999 - 0.002 * i)
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
            sched.step()
    torch.testing.assert_close(flat_params(models[0]), flat_params(models[1]), **TIGHT)


@pytest.mark.parametrize("foreach", [False, True])
def test_tensor_lr(foreach: bool) -> None:
    lr = torch.tensor(1e-2, dtype=torch.float64)
    ours, theirs = tiny_model(), tiny_model()
    opt_ours = RAdam(ours.parameters(), lr=lr.clone(), foreach=foreach)
    opt_theirs = torch.optim.RAdam(theirs.parameters(), lr=lr.clone(), foreach=foreach)
    train(ours, opt_ours, 12)
    train(theirs, opt_theirs, 12)
    torch.testing.assert_close(flat_params(ours), flat_params(theirs), **TIGHT)
    opt_ours.param_groups[0]["lr"].fill_(0.0)  # a tensor lr may be changed in place
    before = flat_params(ours)
    train(ours, opt_ours, 1)
    assert torch.equal(flat_params(ours), before)


@pytest.mark.parametrize("foreach", [False, True])
def test_complex_params_match_torch(foreach: bool) -> None:
    gen = torch.Generator().manual_seed(5)
    init = torch.randn(4, 3, dtype=torch.complex128, generator=gen)
    target = torch.randn(4, 3, dtype=torch.complex128, generator=gen)
    results = []
    for cls in (RAdam, torch.optim.RAdam):
        p = nn.Parameter(init.clone())
        opt = cls([p], lr=1e-2, foreach=foreach, weight_decay=0.01)
        for _ in range(15):
            opt.zero_grad()
            (p - target).abs().pow(2).sum().backward()
            opt.step()
        results.append(p.detach())
    torch.testing.assert_close(results[0], results[1], **TIGHT)


def test_closure_returns_loss_and_is_evaluated_with_grad() -> None:
    model = tiny_model()
    opt = RAdam(model.parameters(), lr=1e-2)
    x = torch.randn(4, 5, dtype=torch.float64)

    def closure() -> torch.Tensor:
        assert torch.is_grad_enabled()
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        return loss

    with torch.no_grad():
        loss = opt.step(closure)
    assert isinstance(loss, torch.Tensor) and loss.ndim == 0
    assert opt.step() is None


def test_empty_and_gradless_groups_are_noops() -> None:
    model = tiny_model()
    opt = RAdam([{"params": []}, {"params": list(model.parameters())}], lr=1e-2)
    before = flat_params(model)
    opt.step()  # no gradients anywhere
    assert torch.equal(flat_params(model), before)
    assert len(opt.state) == 0
