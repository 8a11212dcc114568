"""Every bad input is rejected with an error naming the argument and the problem."""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import pytest
import torch

from radam_integrations import RAdam, SparseGradientError


def _params() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.ones(3))]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"lr": -1e-3}, ValueError, r"Invalid learning rate: -0\.001 \(lr must be >= 0\)"),
        ({"lr": math.nan}, ValueError, r"Invalid learning rate: nan \(lr must be >= 0\)"),
        (
            {"lr": torch.tensor([1e-3, 2e-3])},
            ValueError,
            r"Tensor lr must be 1-element, got a tensor of shape \(2,\)",
        ),
        ({"lr": torch.tensor(-1.0)}, ValueError, r"Invalid learning rate: -1\.0 \(lr must be >= 0\)"),
        ({"lr": "0.1"}, TypeError, "lr must be a float"),
        ({"lr": True}, TypeError, "lr must be a float or a 1-element tensor, got bool"),
        (
            {"betas": (1.0, 0.999)},
            ValueError,
            r"Invalid beta parameter at index 0: 1\.0 \(betas\[0\] must be in \[0, 1\)\)",
        ),
        ({"betas": (-0.1, 0.999)}, ValueError, r"index 0: -0\.1 \(betas\[0\] must be in"),
        (
            {"betas": (0.9, 1.0)},
            ValueError,
            r"Invalid beta parameter at index 1: 1\.0 \(betas\[1\] must be in \[0, 1\)\)",
        ),
        ({"betas": (0.9,)}, ValueError, r"betas must be a pair \(beta1, beta2\), got \(0\.9,\)"),
        ({"betas": (0.9, 0.99, 0.9)}, ValueError, "betas must be a pair"),
        ({"betas": None}, TypeError, "betas must be a pair .*got NoneType"),
        ({"betas": (0.9, "x")}, TypeError, r"betas\[1\] must be a float"),
        ({"betas": (torch.tensor(0.9), 0.999)}, TypeError, r"betas\[0\].*tensor betas"),
        ({"eps": -1e-8}, ValueError, r"Invalid epsilon value: -1e-08 \(eps must be >= 0\)"),
        ({"eps": torch.tensor(1e-8)}, TypeError, "eps must be a float, got Tensor"),
        (
            {"weight_decay": -0.1},
            ValueError,
            r"Invalid weight_decay value: -0\.1 \(weight_decay must be >= 0\)",
        ),
        ({"weight_decay": "x"}, TypeError, "weight_decay must be a float, got str"),
        ({"threshold": -1.0}, ValueError, "threshold must be a finite number >= 0"),
        ({"threshold": math.inf}, ValueError, "threshold must be a finite number"),
        ({"threshold": math.nan}, ValueError, "threshold must be a finite number"),
        ({"threshold": "5"}, TypeError, "threshold must be a float"),
        ({"foreach": True, "fused": True}, ValueError, "foreach=True and fused=True"),
        ({"fused": True, "capturable": True}, ValueError, "fused=True cannot be combined with capturable"),
        (
            {"differentiable": True, "threshold": 4.0},
            ValueError,
            r"differentiable=True runs torch's own differentiable RAdam step.*threshold=5",
        ),
        ({"differentiable": True, "degenerated_to_sgd": False}, ValueError, r"degenerated_to_sgd=True"),
        ({"differentiable": True, "fused": True}, ValueError, r"no fused step"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        RAdam(_params(), **kwargs)


def test_bad_param_group_options_are_rejected() -> None:
    opt = RAdam(_params())
    with pytest.raises(ValueError, match=r"Invalid learning rate: -1\.0 \(lr must be >= 0\)"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(2))], "lr": -1.0})
    with pytest.raises(ValueError, match=r"Invalid beta parameter at index 1: 1\.5 \(betas\[1\] must be in"):
        RAdam([{"params": _params(), "betas": (0.9, 1.5)}])
    with pytest.raises(ValueError, match="threshold"):
        RAdam([{"params": _params(), "threshold": -2.0}])
    with pytest.raises(ValueError, match="differentiable=True runs torch's own"):
        opt.add_param_group(
            {"params": [torch.nn.Parameter(torch.ones(2))], "differentiable": True, "threshold": 4.0}
        )
    assert len(opt.param_groups) == 1


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


def test_differentiable_group_from_a_checkpoint_steps_like_torch() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    twin = torch.nn.Linear(2, 1)
    twin.load_state_dict(model.state_dict())
    saved = torch.optim.RAdam(twin.parameters(), differentiable=True).state_dict()
    torch_opt = torch.optim.RAdam(twin.parameters(), foreach=False)  # the same numbers, no graph
    opt = RAdam(model.parameters(), threshold=4.0)  # a group option torch's checkpoint does not have
    opt.load_state_dict(saved)
    for m in (model, twin):
        m(torch.ones(1, 2)).sum().backward()
    with pytest.raises(ValueError, match="has torch's rule only"):
        opt.step()  # differentiable=True from the checkpoint, threshold=4 from this optimizer
    opt.param_groups[0]["threshold"] = 5.0
    opt.step()
    torch_opt.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        assert torch.equal(p, q)


def test_differentiable_step_matches_torchs_gradients() -> None:
    """Higher-order optimization: d(params after k steps) / d(initial params), as torch computes it."""

    def unrolled(cls: type, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = torch.linspace(-1.0, 1.0, 6, dtype=torch.float64, requires_grad=True)
        param = start.clone()  # non-leaf: the optimizer updates it in the graph
        opt = cls([param], lr=0.1, differentiable=True)
        for t in range(steps):
            param.grad = (param * (t + 1)).sin()  # a gradient that depends on the parameter
            opt.step()
        (grad,) = torch.autograd.grad(param.pow(2).sum(), start)
        return param.detach(), grad

    for steps in (3, 8):  # unrectified (momentum SGD) steps only, then across the switch at step 6
        ours, theirs = unrolled(RAdam, steps), unrolled(torch.optim.RAdam, steps)
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


# --- A drop-in is a drop-in: torch.optim.RAdam's keywords, exception types and wording. ---


def _init_parameters(cls: type) -> dict[str, inspect.Parameter]:
    return {name: p for name, p in inspect.signature(cls.__init__).parameters.items() if name != "self"}


def test_every_torch_keyword_is_accepted_in_the_same_place_with_the_same_default() -> None:
    """A keyword added to torch.optim.RAdam fails here until RAdam takes it (or rejects it clearly)."""
    ours, theirs = _init_parameters(RAdam), _init_parameters(torch.optim.RAdam)
    assert set(theirs) <= set(ours), f"torch.optim.RAdam keywords we lack: {sorted(set(theirs) - set(ours))}"
    for name, theirs_p in theirs.items():
        ours_p = ours[name]
        assert ours_p.kind == theirs_p.kind, (name, ours_p.kind, theirs_p.kind)
        assert ours_p.default == theirs_p.default, (name, ours_p.default, theirs_p.default)
    positional = [n for n, p in theirs.items() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert list(ours)[: len(positional)] == positional
    # Every keyword, spelled out at torch's default: what generic code passes.
    explicit = {n: p.default for n, p in theirs.items() if p.default is not inspect.Parameter.empty}
    param = torch.nn.Parameter(torch.ones(3))
    opt = RAdam([param], **explicit)
    for name, value in explicit.items():
        assert opt.param_groups[0][name] == value, name
    param.grad = torch.ones(3)
    opt.step()


def test_differentiable_false_is_accepted_and_kept_in_the_group() -> None:
    model = torch.nn.Linear(2, 1)
    opt = RAdam(model.parameters(), differentiable=False)
    assert opt.param_groups[0]["differentiable"] is False
    assert opt.defaults["differentiable"] is False
    assert "differentiable': False" in repr(opt) or "differentiable: False" in repr(opt)
    opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(2))], "differentiable": False})
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    assert all(group["differentiable"] is False for group in opt.state_dict()["param_groups"])
    theirs = torch.optim.RAdam(torch.nn.Linear(2, 1).parameters(), differentiable=False)
    theirs.load_state_dict(RAdam(theirs.param_groups[0]["params"], differentiable=False).state_dict())


def test_differentiable_true_is_accepted_with_torchs_rule() -> None:
    opt = RAdam(_params(), differentiable=True)
    assert opt.param_groups[0]["differentiable"] is True
    with pytest.raises(ValueError, match=r"threshold=5, degenerated_to_sgd=True and no fused step"):
        RAdam(_params(), differentiable=True, threshold=4.0)


def _torch_error(kwargs: dict[str, Any]) -> BaseException:
    try:
        torch.optim.RAdam(_params(), **kwargs)
    except Exception as exc:  # whatever torch raises is the reference
        return exc
    pytest.fail(f"torch.optim.RAdam accepted {kwargs!r}; this case no longer checks anything")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": -1e-3},
        {"lr": -1},
        {"lr": math.nan},
        {"lr": -math.inf},
        {"lr": np.float32(-1e-3)},
        pytest.param(
            {"lr": torch.tensor([1e-3, 2e-3])},
            marks=pytest.mark.skipif(
                torch.__version__ < "2.5",
                reason="torch < 2.5 has no 1-element check for a tensor lr (its RuntimeError is Python's "
                "'Boolean value of Tensor ... is ambiguous'); ours raises ValueError naming the shape",
            ),
        ),
        {"lr": torch.tensor(-1.0)},
        {"lr": torch.tensor(math.nan)},
        {"lr": "0.1"},
        {"lr": None},
        {"betas": (1.0, 0.999)},
        {"betas": (-0.1, 0.999)},
        {"betas": (0.9, 1.0)},
        {"betas": (0.9, -1e-3)},
        {"betas": (math.nan, 0.999)},
        {"betas": (1.0, 0.0)},
        {"betas": (0.9,)},
        {"betas": ()},
        {"betas": None},
        {"betas": 0.9},
        {"betas": (0.9, "x")},
        {"betas": ("x", 0.999)},
        {"eps": -1e-8},
        {"eps": math.nan},
        {"eps": "x"},
        {"eps": None},
        {"weight_decay": -1},
        {"weight_decay": -0.1},
        {"weight_decay": math.nan},
        {"weight_decay": "x"},
        {"weight_decay": None},
        # Several bad at once: the first one torch checks is the one reported.
        {"lr": -1.0, "eps": -1.0, "betas": (2.0, 2.0), "weight_decay": -1.0},
        {"eps": -1.0, "betas": (2.0, 2.0), "weight_decay": -1.0},
        {"betas": (0.5, 2.0), "weight_decay": -1.0},
    ],
    ids=repr,
)
def test_invalid_input_raises_what_torch_raises_with_torchs_wording(kwargs: dict[str, Any]) -> None:
    """Same exception type as torch.optim.RAdam (computed now, so this tracks torch), torch's text in ours.

    Where torch's error is its own check (a ValueError such as "Invalid learning rate: -0.001"),
    its message must appear in ours: code matching torch's messages keeps working. Where torch's
    error is Python's own (comparing a str with a float, indexing a short tuple), only the type
    has to match; our message names the argument instead.
    """
    theirs = _torch_error(kwargs)
    with pytest.raises(Exception) as info:  # the type is checked against torch's below
        RAdam(_params(), **kwargs)
    ours = info.value
    assert isinstance(ours, type(theirs)), f"torch: {type(theirs).__name__}, ours: {type(ours).__name__}"
    if type(theirs) is ValueError:
        assert str(theirs) in str(ours)
        assert len(str(ours)) > len(str(theirs)), "our message should add what is expected"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": np.float32(1e-2)},
        {"lr": np.float64(1e-2)},
        {"lr": 1},
        pytest.param(
            {"lr": torch.tensor([[1e-2]])},
            marks=pytest.mark.skipif(
                torch.__version__ < "2.8",
                reason="torch < 2.8: torch.optim.RAdam's step fails on a (1, 1)-shaped tensor lr "
                "(a broadcast error), so torch gives no reference numbers",
            ),
        ),
        {"betas": [0.8, 0.99]},
        {"betas": (np.float32(0.8), np.float32(0.99))},
        {"eps": np.float32(1e-6), "weight_decay": np.float32(0.01)},
        {"weight_decay": 0},
    ],
    ids=repr,
)
def test_values_torch_accepts_are_accepted_and_give_torchs_numbers(kwargs: dict[str, Any]) -> None:
    torch.manual_seed(0)
    start, grads = torch.randn(5), [torch.randn(5) for _ in range(8)]
    results = []
    for cls in (torch.optim.RAdam, RAdam):
        param = torch.nn.Parameter(start.clone())
        opt = cls([param], **kwargs)
        for grad in grads:
            param.grad = grad.clone()
            opt.step()
        results.append(param.detach())
    torch.testing.assert_close(results[1], results[0])


def test_betas_of_the_wrong_length_are_both_a_value_error_and_torchs_index_error() -> None:
    with pytest.raises(ValueError, match="betas must be a pair"):
        RAdam(_params(), betas=(0.9,))
    with pytest.raises(IndexError, match="betas must be a pair"):
        RAdam(_params(), betas=(0.9,))


def test_a_torch_radam_state_dict_loads_and_the_base_class_api_works() -> None:
    """load_state_dict of torch's state (every torch option set), then repr, hooks, zero_grad."""
    model = torch.nn.Linear(3, 2)
    torch_opt = torch.optim.RAdam(
        model.parameters(),
        lr=2e-3,
        betas=(0.8, 0.99),
        eps=1e-6,
        weight_decay=0.1,
        decoupled_weight_decay=True,
        foreach=False,
        maximize=True,
        capturable=False,
        differentiable=False,
    )
    model(torch.ones(4, 3)).sum().backward()
    torch_opt.step()
    opt = RAdam(model.parameters())
    opt.load_state_dict(torch_opt.state_dict())
    group = opt.param_groups[0]
    for key, value in torch_opt.param_groups[0].items():
        if key != "params":
            assert group[key] == value, key
    assert group["threshold"] == 5.0 and group["degenerated_to_sgd"] is True and group["fused"] is None
    assert "RAdam (" in repr(opt) and "differentiable: False" in repr(opt)
    calls: list[str] = []
    opt.register_step_pre_hook(lambda *_: calls.append("pre"))
    opt.register_step_post_hook(lambda *_: calls.append("post"))
    opt.step()
    assert calls == ["pre", "post"]
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    again = RAdam(model.parameters())
    again.load_state_dict(opt.state_dict())
    assert again.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
