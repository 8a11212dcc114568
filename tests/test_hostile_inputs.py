"""Hostile and faulty inputs: NaN/Inf gradients, AMP skips, odd parameter sets, damaged files."""

from __future__ import annotations

import io
import math
import pickle

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from radam_integrations import RAdam, WarmupDetector
from radam_integrations.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

from .helpers.problems import flat_params, tiny_model, train

PATHS = {"fused": {"fused": True}, "foreach": {"foreach": True}, "single": {"foreach": False}}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nonfinite_gradients_behave_exactly_as_torch(path: str, bad: float) -> None:
    """No special casing: a NaN/Inf gradient poisons that element's moments and parameter, as in torch."""
    ours, theirs = tiny_model(torch.float32), tiny_model(torch.float32)
    opt = RAdam(ours.parameters(), lr=1e-2, **PATHS[path])
    ref = torch.optim.RAdam(theirs.parameters(), lr=1e-2, foreach=True)

    def poison(model):
        def hook(i: int) -> None:
            if i == 8:  # after the switch to rectified steps
                model[0].weight.grad[1, 2] = bad

        return hook

    train(ours, opt, 12, before_step=poison(ours))
    train(theirs, ref, 12, before_step=poison(theirs))
    a, b = flat_params(ours), flat_params(theirs)
    assert torch.equal(torch.isnan(a), torch.isnan(b)) and torch.equal(torch.isinf(a), torch.isinf(b))
    assert not torch.isfinite(a).all()  # the poison did propagate, as it does in torch
    finite = torch.isfinite(b)
    tol = 1e-6 if path == "fused" else 0.0
    torch.testing.assert_close(a[finite], b[finite], rtol=tol, atol=tol)


@pytest.mark.parametrize("path", PATHS)
def test_gradscaler_skipped_steps_are_not_steps(path: str) -> None:
    model = tiny_model(torch.float32)
    opt = RAdam(model.parameters(), lr=1e-2, **PATHS[path])
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    detector = WarmupDetector(opt)
    x = torch.randn(8, 5)
    for i in range(10):
        opt.zero_grad()
        scaler.scale(model(x).pow(2).mean()).backward()
        if i in (6, 7):
            model[2].bias.grad[0] = math.inf
            before = flat_params(model)
        scaler.step(opt)
        scaler.update()
        detector.update()
        if i in (6, 7):
            assert torch.equal(flat_params(model), before), "a skipped step must not move the parameters"
    assert opt.state[model[0].weight]["step"].item() == 8
    assert detector.history[-1]["step"] == 8
    assert torch.isfinite(flat_params(model)).all()


@pytest.mark.parametrize("path", PATHS)
def test_zero_size_empty_groups_gradless_and_added_groups(path: str) -> None:
    ours, theirs = tiny_model(), tiny_model()
    empty_ours, empty_theirs = (torch.nn.Parameter(torch.zeros(0, 3, dtype=torch.float64)) for _ in range(2))
    never_ours, never_theirs = (torch.nn.Parameter(torch.ones(4, dtype=torch.float64)) for _ in range(2))
    opt = RAdam(
        [{"params": []}, {"params": [*ours[0].parameters(), empty_ours, never_ours]}], lr=1e-2, **PATHS[path]
    )
    ref = torch.optim.RAdam([*theirs[0].parameters(), empty_theirs, never_theirs], lr=1e-2)

    def add_grads(empty):
        def hook(i: int) -> None:
            empty.grad = torch.zeros(0, 3, dtype=torch.float64)

        return hook

    train(ours, opt, 5, before_step=add_grads(empty_ours))
    train(theirs, ref, 5, before_step=add_grads(empty_theirs))
    # Mid-run: the second layer joins with its own step count.
    opt.add_param_group({"params": list(ours[2].parameters()), "lr": 5e-3, "betas": (0.8, 0.99)})
    ref.add_param_group({"params": list(theirs[2].parameters()), "lr": 5e-3, "betas": (0.8, 0.99)})
    train(ours, opt, 12, before_step=add_grads(empty_ours))
    train(theirs, ref, 12, before_step=add_grads(empty_theirs))
    tol = 1e-10 if path == "fused" else 1e-12
    torch.testing.assert_close(flat_params(ours), flat_params(theirs), rtol=tol, atol=tol)
    assert opt.state[ours[2].weight]["step"].item() == 12 and opt.state[ours[0].weight]["step"].item() == 17
    assert len(opt.state[never_ours]) == 0 and torch.equal(never_ours, torch.ones(4, dtype=torch.float64))
    assert opt.state[empty_ours]["exp_avg"].shape == (0, 3)


def _checkpoint(tmp_path):
    model = tiny_model(torch.float32)
    opt = RAdam(model.parameters())
    detector = WarmupDetector(opt)
    train(model, opt, 3)
    detector.update()
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, model=model, optimizer=opt, detector=detector, extra={"step": 3})
    return path, model, opt, detector


def test_truncated_checkpoint_is_a_clear_error(tmp_path) -> None:
    path, model, opt, detector = _checkpoint(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        CheckpointError, match=rf"{path.name}: cannot read checkpoint \(truncated or corrupted"
    ):
        load_checkpoint(path, model=model, optimizer=opt, detector=detector)


def test_garbage_missing_and_foreign_files(tmp_path) -> None:
    _, model, _, _ = _checkpoint(tmp_path)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00\x01not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match=r"garbage\.pt: cannot read checkpoint"):
        load_checkpoint(garbage, model=model)
    with pytest.raises(CheckpointError, match=r"missing\.pt: no such checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt", model=model)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.ones(2)}, foreign)
    with pytest.raises(CheckpointError, match=r"foreign\.pt: not a radam-integrations checkpoint"):
        load_checkpoint(foreign, model=model)


class _Exploit:
    def __reduce__(self):
        return (print, ("arbitrary code ran",))


def test_pickled_objects_are_refused(tmp_path, capsys) -> None:
    """weights_only=True: a checkpoint carrying an arbitrary pickled object is not executed."""
    path = tmp_path / "evil.pt"
    torch.save({"format": "radam-integrations/checkpoint", "version": 1, "extra": _Exploit()}, path)
    with pytest.raises(CheckpointError, match=r"evil\.pt: cannot read checkpoint"):
        load_checkpoint(path)
    assert "arbitrary code ran" not in capsys.readouterr().out


def test_checkpoint_with_wrong_state_is_a_clear_error(tmp_path) -> None:
    path, _, _, _ = _checkpoint(tmp_path)
    other = torch.nn.Linear(2, 2)
    with pytest.raises(CheckpointError, match=r"ckpt\.pt: model state does not fit"):
        load_checkpoint(path, model=other)


def test_corrupted_detector_state_is_a_clear_error(tmp_path) -> None:
    _, _, opt, detector = _checkpoint(tmp_path)
    state = detector.state_dict()
    first = next(iter(state["groups"][0]["prev_logpsi"]))
    state["groups"][0]["prev_logpsi"][first]["b64"] = "!!!not base64!!!"
    fresh = WarmupDetector(opt)
    fresh.load_state_dict(state)
    with pytest.raises(ValueError, match="corrupted WarmupDetector state"):
        fresh.evaluate()


def test_save_is_atomic_when_serialisation_fails(tmp_path) -> None:
    path, model, _, _ = _checkpoint(tmp_path)
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, TypeError, AttributeError, RuntimeError)):
        save_checkpoint(path, model=model, extra={"bad": lambda: None})
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temporary left behind
    assert torch.load(io.BytesIO(before), weights_only=True)["extra"] == {"step": 3}


shapes = st.lists(st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple), min_size=1, max_size=3)


@settings(max_examples=40, deadline=None)
@given(
    shapes=shapes,
    lr=st.floats(1e-5, 1e-1),
    beta1=st.floats(0.0, 0.99),
    beta2=st.floats(0.5, 0.9999),
    eps=st.floats(1e-10, 1e-3),
    weight_decay=st.floats(0.0, 0.3),
    decoupled=st.booleans(),
    maximize=st.booleans(),
    path=st.sampled_from(sorted(PATHS)),
    steps=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
def test_property_matches_torch(
    shapes, lr, beta1, beta2, eps, weight_decay, decoupled, maximize, path, steps, seed
):
    gen = torch.Generator().manual_seed(seed)
    inits = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
    ours = [torch.nn.Parameter(t.clone()) for t in inits]
    theirs = [torch.nn.Parameter(t.clone()) for t in inits]
    kw = {"lr": lr, "betas": (beta1, beta2), "eps": eps, "weight_decay": weight_decay,
          "decoupled_weight_decay": decoupled, "maximize": maximize}  # fmt: skip
    opt, ref = RAdam(ours, **kw, **PATHS[path]), torch.optim.RAdam(theirs, **kw, foreach=True)
    for _ in range(steps):
        grads = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
        for p, q, g in zip(ours, theirs, grads):
            p.grad, q.grad = g.clone(), g.clone()
        opt.step()
        ref.step()
    tol = 1e-10 if path == "fused" else 1e-12
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=tol, atol=tol)
