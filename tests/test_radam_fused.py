"""The one-pass (fused) step: taken when it should be, same numbers and state as torch."""

from __future__ import annotations

import copy

import pytest
import torch

from radam_integrations import RAdam

from .helpers.problems import flat_params, param_groups, tiny_model, train
from .helpers.reference import ReferenceRAdam


class KernelCounter:
    """Wraps torch's real fused Adam kernels to count the elements they update."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.elements = 0
        for name in ("_fused_adam_", "_fused_adamw_"):
            real = getattr(torch, name)
            monkeypatch.setattr(torch, name, self._wrap(real))

    def _wrap(self, real):
        def counted(params, *args, **kwargs):
            self.calls += 1
            self.elements += sum(p.numel() for p in params)
            return real(params, *args, **kwargs)

        return counted


def _rel_norm(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


def test_fused_path_is_taken_for_rectified_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = KernelCounter(monkeypatch)
    model = tiny_model(torch.float32)
    opt = RAdam(model.parameters(), lr=1e-2)  # fused=None: the default picks it
    assert opt.step_path() == "fused"
    n = sum(p.numel() for p in model.parameters())
    train(model, opt, 5)
    assert counter.calls == 0  # steps 1..5 are unrectified (rho_t <= 5): foreach path
    train(model, opt, 3)
    assert counter.calls == 3 and counter.elements == 3 * n


@pytest.mark.parametrize(
    ("kwargs", "dtype", "expected"),
    [
        ({}, torch.float32, "fused"),
        ({}, torch.float64, "fused"),
        ({}, torch.bfloat16, "foreach"),  # fused computes in float32: not torch's bf16 numbers
        ({"fused": True}, torch.bfloat16, "fused"),
        ({"capturable": True}, torch.float32, "foreach"),
        ({"foreach": True}, torch.float32, "foreach"),
        ({"foreach": False}, torch.float32, "single_tensor"),
        ({"fused": False}, torch.float32, "foreach"),
    ],
)
def test_path_selection(kwargs: dict, dtype: torch.dtype, expected: str) -> None:
    opt = RAdam(tiny_model(dtype).parameters(), **kwargs)
    assert opt.step_path() == expected


def test_complex_params_fall_back_from_auto_fused() -> None:
    p = torch.nn.Parameter(torch.ones(3, dtype=torch.complex64))
    assert RAdam([p]).step_path() == "foreach"


DECAYS = [{}, {"weight_decay": 0.1}, {"weight_decay": 0.1, "decoupled_weight_decay": True}]


@pytest.mark.parametrize("decay", DECAYS)
@pytest.mark.parametrize("maximize", [False, True])
def test_float32_within_1e6_of_torch_after_200_steps(decay: dict, maximize: bool) -> None:
    fused, theirs = tiny_model(torch.float32), tiny_model(torch.float32)
    train(fused, RAdam(fused.parameters(), lr=1e-2, fused=True, maximize=maximize, **decay), 200)
    train(theirs, torch.optim.RAdam(theirs.parameters(), lr=1e-2, maximize=maximize, **decay), 200)
    assert _rel_norm(flat_params(fused), flat_params(theirs)) < 1e-6


@pytest.mark.parametrize("decay", DECAYS)
def test_float32_several_groups_open_loop(decay: dict) -> None:
    """Groups with their own lr/betas/eps/decay, on a fixed gradient stream.

    Open loop (gradients do not depend on the parameters) so that rounding differences
    are not amplified by the dynamics: on a chaotic closed loop even torch's own
    foreach and for-loop paths drift apart by 1e-3 in 200 steps.
    """
    models = tiny_model(torch.float32), tiny_model(torch.float32)
    opts = (
        RAdam(param_groups(models[0], varied=True), lr=1e-2, fused=True, **decay),
        torch.optim.RAdam(param_groups(models[1], varied=True), lr=1e-2, **decay),
    )
    gen = torch.Generator().manual_seed(3)
    for i in range(200):
        grads = [torch.randn(p.shape, generator=gen) * (1 + 0.02 * i) for p in models[0].parameters()]
        for model, opt in zip(models, opts):
            for p, g in zip(model.parameters(), grads):
                p.grad = g.clone()
            opt.step()
    assert _rel_norm(flat_params(models[0]), flat_params(models[1])) < 1e-6


def test_float64_matches_torch_closely() -> None:
    fused, theirs = tiny_model(), tiny_model()
    opt = RAdam(fused.parameters(), lr=1e-2, fused=True, weight_decay=0.1, decoupled_weight_decay=True)
    train(fused, opt, 200)
    train(
        theirs,
        torch.optim.RAdam(theirs.parameters(), lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True),
        200,
    )
    torch.testing.assert_close(flat_params(fused), flat_params(theirs), rtol=1e-10, atol=1e-12)


def test_per_parameter_step_counts_are_bucketed(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = KernelCounter(monkeypatch)
    fused, theirs = tiny_model(), tiny_model()
    opt = RAdam(fused.parameters(), lr=1e-2, fused=True)
    ref = torch.optim.RAdam(theirs.parameters(), lr=1e-2)

    def drop(model):
        def hook(i: int) -> None:
            if i % 4 == 1:
                model[0].bias.grad = None  # this tensor falls behind in step count

        return hook

    train(fused, opt, 40, before_step=drop(fused))
    train(theirs, ref, 40, before_step=drop(theirs))
    torch.testing.assert_close(flat_params(fused), flat_params(theirs), rtol=1e-10, atol=1e-12)
    assert opt.state[fused[0].bias]["step"].item() == 30
    assert opt.state[fused[0].weight]["step"].item() == 40
    assert counter.calls > 34  # different counts -> separate kernel calls on shared steps


@pytest.mark.parametrize(
    "cfg",
    [
        {"threshold": 4.0, "degenerated_to_sgd": False},
        {"degenerated_to_sgd": False, "weight_decay": 0.2, "decoupled": True},
        {"threshold": 9.0, "weight_decay": 0.05},
    ],
)
def test_switches_on_the_fused_path_match_reference(cfg: dict) -> None:
    theta = torch.nn.Parameter(torch.linspace(-1.0, 2.0, 6, dtype=torch.float64))
    opt = RAdam(
        [theta], lr=5e-2, fused=True, weight_decay=cfg.get("weight_decay", 0.0),
        decoupled_weight_decay=cfg.get("decoupled", False), threshold=cfg.get("threshold", 5.0),
        degenerated_to_sgd=cfg.get("degenerated_to_sgd", True),
    )  # fmt: skip
    ref = ReferenceRAdam(
        lr=5e-2, weight_decay=cfg.get("weight_decay", 0.0), decoupled=cfg.get("decoupled", False),
        threshold=cfg.get("threshold", 5.0), degenerated_to_sgd=cfg.get("degenerated_to_sgd", True),
    )  # fmt: skip
    expected = theta.detach().tolist()
    for _ in range(30):
        grad = torch.cos(3.0 * theta.detach()) + 0.5
        theta.grad = grad.clone()
        opt.step()
        expected = ref.step(expected, grad.tolist())
    torch.testing.assert_close(
        theta.detach(), torch.tensor(expected, dtype=torch.float64), rtol=1e-11, atol=1e-12
    )


def test_state_dict_of_fused_run_continues_in_torch() -> None:
    a, b = tiny_model(), tiny_model()
    opt = RAdam(a.parameters(), lr=1e-2, fused=True)
    train(a, opt, 12)
    b.load_state_dict(a.state_dict())
    sd = copy.deepcopy(opt.state_dict())  # load_state_dict keeps references: do not share buffers
    assert {k for s in sd["state"].values() for k in s} == {"step", "exp_avg", "exp_avg_sq"}
    assert all(
        s["step"].dtype == torch.float32 and s["step"].device.type == "cpu" for s in sd["state"].values()
    )
    theirs = torch.optim.RAdam(b.parameters())
    theirs.load_state_dict(sd)
    train(a, opt, 20)
    train(b, theirs, 20)
    torch.testing.assert_close(flat_params(a), flat_params(b), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_fused_is_at_least_as_accurate_as_foreach(dtype: torch.dtype) -> None:
    """Same gradient stream (rounded to ``dtype``) for a float32 run and two half-precision runs."""
    gen = torch.Generator().manual_seed(0)
    init = torch.randn(4096, generator=gen)
    exact = torch.nn.Parameter(init.clone())
    fused = torch.nn.Parameter(init.to(dtype))
    foreach = torch.nn.Parameter(init.to(dtype))
    opts = [
        RAdam([exact], lr=1e-2, eps=1e-4, fused=True),
        RAdam([fused], lr=1e-2, eps=1e-4, fused=True),
        RAdam([foreach], lr=1e-2, eps=1e-4, foreach=True),
    ]
    for _ in range(50):
        g = torch.randn(4096, generator=gen).to(dtype)
        for p, opt in zip((exact, fused, foreach), opts):
            p.grad = g.to(p.dtype)
            opt.step()
    err_fused = _rel_norm(fused.detach().double(), exact.detach().double())
    err_foreach = _rel_norm(foreach.detach().double(), exact.detach().double())
    # Computing in float32 internally leaves only the rounding of each stored result, a
    # random walk of about eps / 2 per step.
    assert err_fused < 50**0.5 * torch.finfo(dtype).eps
    assert err_fused <= err_foreach


def test_missing_kernel_falls_back_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(torch, "_fused_adam_")
    model = tiny_model(torch.float32)
    opt = RAdam(model.parameters(), lr=1e-2)
    assert opt.step_path() == "foreach"
    train(model, opt, 10)
    assert torch.isfinite(flat_params(model)).all()
    with pytest.raises(ValueError, match="fused Adam kernels"):
        RAdam(model.parameters(), fused=True)
