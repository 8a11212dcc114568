"""State layout and checkpoint interchange with torch.optim.RAdam, both ways."""

from __future__ import annotations

import io

import pytest
import torch

from radam_integrations import RAdam

from .helpers.problems import flat_params, tiny_model, train

TIGHT = {"rtol": 1e-12, "atol": 1e-12}
TORCH_GROUP_KEYS = {
    "params",
    "lr",
    "betas",
    "eps",
    "weight_decay",
    "maximize",
    "foreach",
    "capturable",
    "decoupled_weight_decay",
    "differentiable",
}


def _roundtrip(state_dict: dict) -> dict:
    """Through bytes with torch.save / torch.load(weights_only=True): no pickled classes."""
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_state_layout_is_torchs() -> None:
    ours, theirs = tiny_model(), tiny_model()
    opt_ours, opt_theirs = RAdam(ours.parameters()), torch.optim.RAdam(theirs.parameters())
    train(ours, opt_ours, 3)
    train(theirs, opt_theirs, 3)
    sd_ours, sd_theirs = opt_ours.state_dict(), opt_theirs.state_dict()
    assert sd_ours["state"].keys() == sd_theirs["state"].keys()
    for key, s in sd_ours["state"].items():
        t = sd_theirs["state"][key]
        assert s.keys() == t.keys() == {"step", "exp_avg", "exp_avg_sq"}
        assert (s["step"].dtype, s["step"].device, s["step"].shape) == (t["step"].dtype, t["step"].device, ())
    group_keys = set(sd_ours["param_groups"][0])
    assert group_keys >= TORCH_GROUP_KEYS
    assert group_keys - TORCH_GROUP_KEYS == {"threshold", "degenerated_to_sgd", "fused"}


@pytest.mark.parametrize("source_cls", [RAdam, torch.optim.RAdam])
@pytest.mark.parametrize("target_cls", [RAdam, torch.optim.RAdam])
@pytest.mark.parametrize("decay", [{}, {"weight_decay": 0.1, "decoupled_weight_decay": True}])
def test_checkpoint_interchange_mid_run(source_cls, target_cls, decay: dict) -> None:
    """N steps with one class, save, load into the other, M more: same as N + M with one class."""
    n, m = 4, 30  # the switch to rectified steps (step 6) happens after the hand-over
    reference = tiny_model()
    ref_opt = RAdam(reference.parameters(), lr=1e-2, **decay)
    train(reference, ref_opt, n + m)

    first = tiny_model()
    first_opt = source_cls(first.parameters(), lr=1e-2, **decay)
    train(first, first_opt, n)
    model_sd, opt_sd = _roundtrip(first.state_dict()), _roundtrip(first_opt.state_dict())

    resumed = tiny_model(seed=99)  # different init: everything must come from the checkpoint
    resumed.load_state_dict(model_sd)
    resumed_opt = target_cls(resumed.parameters(), lr=0.5)  # lr etc. come from the checkpoint too
    resumed_opt.load_state_dict(opt_sd)
    train(resumed, resumed_opt, m)
    torch.testing.assert_close(flat_params(resumed), flat_params(reference), **TIGHT)


def test_group_options_survive_roundtrip() -> None:
    model = tiny_model()
    opt = RAdam(model.parameters(), lr=3e-3, threshold=4.0, degenerated_to_sgd=False, foreach=True)
    train(model, opt, 2)
    fresh = RAdam(tiny_model().parameters())
    fresh.load_state_dict(_roundtrip(opt.state_dict()))
    group = fresh.param_groups[0]
    assert (group["lr"], group["threshold"], group["degenerated_to_sgd"], group["foreach"]) == (
        3e-3,
        4.0,
        False,
        True,
    )


def test_torch_checkpoint_takes_missing_options_from_constructor() -> None:
    model = tiny_model()
    opt = torch.optim.RAdam(model.parameters(), lr=1e-2)
    train(model, opt, 3)
    ours = RAdam(model.parameters(), threshold=4.0, degenerated_to_sgd=False)
    ours.load_state_dict(opt.state_dict())
    group = ours.param_groups[0]
    assert group["threshold"] == 4.0 and group["degenerated_to_sgd"] is False and group["fused"] is None
    assert group["lr"] == 1e-2
    train(model, ours, 2)  # and it steps
    assert ours.state[model[0].weight]["step"].item() == 5


def test_legacy_float_step_is_converted_to_tensor() -> None:
    model = tiny_model()
    opt = RAdam(model.parameters())
    train(model, opt, 2)
    sd = opt.state_dict()
    for s in sd["state"].values():
        s["step"] = float(s["step"])  # checkpoints from torch < 1.12 kept a Python number
    fresh = RAdam(model.parameters())
    fresh.load_state_dict(sd)
    step = fresh.state[model[0].weight]["step"]
    assert torch.is_tensor(step) and step.item() == 2.0
