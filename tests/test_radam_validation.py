"""Every bad input is rejected with an error naming the argument and the problem."""

from __future__ import annotations

import math

import pytest
import torch

from radam_integrations import RAdam, SparseGradientError


def _params() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.ones(3))]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"lr": -1e-3}, ValueError, r"lr must be >= 0, got -0\.001"),
        ({"lr": math.nan}, ValueError, "lr must be >= 0"),
        ({"lr": torch.tensor([1e-3, 2e-3])}, ValueError, "lr: a tensor learning rate must have exactly one"),
        ({"lr": torch.tensor(-1.0)}, ValueError, "lr must be >= 0"),
        ({"lr": "0.1"}, TypeError, "lr must be a float"),
        ({"betas": (1.0, 0.999)}, ValueError, r"betas\[0\] must be in \[0, 1\), got 1\.0"),
        ({"betas": (-0.1, 0.999)}, ValueError, r"betas\[0\]"),
        ({"betas": (0.9, 1.0)}, ValueError, r"betas\[1\] must be in \[0, 1\)"),
        ({"betas": (0.9,)}, ValueError, "betas must be a pair"),
        ({"betas": (0.9, "x")}, TypeError, r"betas\[1\] must be a float"),
        ({"betas": (torch.tensor(0.9), 0.999)}, TypeError, r"betas\[0\].*tensor betas"),
        ({"eps": -1e-8}, ValueError, "eps must be >= 0"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay must be >= 0"),
        ({"threshold": -1.0}, ValueError, "threshold must be a finite number >= 0"),
        ({"threshold": math.inf}, ValueError, "threshold must be a finite number"),
        ({"threshold": math.nan}, ValueError, "threshold must be a finite number"),
        ({"threshold": "5"}, TypeError, "threshold must be a float"),
        ({"foreach": True, "fused": True}, ValueError, "foreach=True and fused=True"),
        ({"fused": True, "capturable": True}, ValueError, "fused=True cannot be combined with capturable"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        RAdam(_params(), **kwargs)


def test_bad_param_group_options_are_rejected() -> None:
    opt = RAdam(_params())
    with pytest.raises(ValueError, match="lr must be >= 0"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(2))], "lr": -1.0})
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        RAdam([{"params": _params(), "betas": (0.9, 1.5)}])
    with pytest.raises(ValueError, match="threshold"):
        RAdam([{"params": _params(), "threshold": -2.0}])


def test_sparse_gradient_is_rejected_clearly() -> None:
    emb = torch.nn.Embedding(10, 3, sparse=True)
    opt = RAdam(emb.parameters())
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(SparseGradientError, match=r"sparse gradient.*no sparse form") as info:
        opt.step()
    assert isinstance(info.value, TypeError) and isinstance(info.value, RuntimeError)


@pytest.mark.parametrize(
    "param",
    [
        torch.nn.Parameter(torch.ones(3, dtype=torch.complex64)),
        torch.nn.Parameter(torch.ones(3, device="meta")),
    ],
    ids=["complex", "meta-device"],
)
def test_fused_on_unsupported_param_is_rejected(param: torch.nn.Parameter) -> None:
    with pytest.raises(ValueError, match="fused=True needs floating-point"):
        RAdam([param], fused=True)
    opt = RAdam(_params(), fused=None)
    with pytest.raises(ValueError, match="fused=True"):
        opt.add_param_group({"params": [param], "fused": True})


def test_differentiable_group_from_a_checkpoint_is_rejected() -> None:
    model = torch.nn.Linear(2, 1)
    torch_opt = torch.optim.RAdam(model.parameters(), differentiable=True)
    opt = RAdam(model.parameters())
    opt.load_state_dict(torch_opt.state_dict())
    model(torch.ones(1, 2)).sum().backward()
    with pytest.raises(ValueError, match="differentiable=True is not supported"):
        opt.step()
