"""study/digits.py: the split, timm's optimizer and scheduler as the study uses them, and real short runs."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

pytest.importorskip("sklearn")
pytest.importorskip("timm")

from radam_integrations import RAdam
from warmup_study import digits
from warmup_study.spec import RunSpec
from warmup_study.timing import detector_time

from .helpers import warmup_rules
from .helpers.warmup_rules import one_thread  # noqa: F401  (autouse: one torch thread)

TASK = "digits/vit_tiny_patch16_224"


def _spec(optimizer: str = "adamw", **changes) -> RunSpec:
    fields = dict(
        task=TASK, optimizer=optimizer, warmup_steps=0, lr=3e-3, beta2=0.99, steps=40, seed=0, eval_every=20
    )
    return RunSpec(**{**fields, **changes})


def test_split_is_fixed_stratified_and_disjoint():
    from sklearn.datasets import load_digits

    split = digits.load_split(8)
    train, test = split.index_train.tolist(), split.index_test.tolist()
    assert not set(train) & set(test)
    assert sorted(train + test) == list(range(1797))
    assert len(test) == math.ceil(1797 * digits.HELD_OUT)  # scikit-learn rounds the held-out share up

    labels = load_digits().target
    per_class, held_out = Counter(labels.tolist()), Counter(labels[test].tolist())
    for label, count in per_class.items():  # stratified: each class held out in proportion
        assert abs(held_out[label] - count * digits.HELD_OUT) <= 1, label
    assert torch.equal(split.y_test, torch.as_tensor(labels[test]))

    digits.load_split.cache_clear()  # fixed: computed again from scratch, the same split
    again = digits.load_split(8)
    assert torch.equal(again.index_test, split.index_test) and torch.equal(again.x_train, split.x_train)
    assert abs(split.x_train.mean().item()) < 1e-4 and abs(split.x_train.std().item() - 1) < 1e-4


def test_resized_split_keeps_the_split():
    small, large = digits.load_split(8), digits.load_split(16)
    assert tuple(large.x_test.shape) == (450, 1, 16, 16)
    assert torch.equal(small.index_test, large.index_test) and torch.equal(small.y_train, large.y_train)


def _lrs(spec: RunSpec, updates: int) -> list[list[float]]:
    """The lr of each group at updates 1..updates, stepping the scheduler as digits.run does."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    optimizer = digits.build_optimizer(model, spec)
    after_step = digits.build_schedule(optimizer, spec)
    lrs = []
    for step in range(1, updates + 1):
        lrs.append([group["lr"] for group in optimizer.param_groups])
        after_step(step)
    return lrs


def test_scheduler_warms_up_linearly_from_zero_then_stays_constant():
    lr = 1e-2
    lrs = _lrs(_spec(warmup_steps=4, lr=lr, steps=10), 10)
    expected = [0.0, 0.25 * lr, 0.5 * lr, 0.75 * lr] + [lr] * 6
    assert len(lrs[0]) == 2  # timm's groups: decay, no decay; both follow the schedule
    for got, want in zip(lrs, expected):
        assert got == pytest.approx([want, want], abs=1e-12)


def test_scheduler_without_warmup_is_constant():
    assert _lrs(_spec(warmup_steps=0, lr=3e-3, steps=5), 8) == [[3e-3, 3e-3]] * 8


def test_cosine_decay_is_timms_train_py_default_after_the_warmup():
    """timm's CosineLRScheduler as train.py builds it by default (no warmup prefix, lr_min 0): update k
    runs at lr * (k - 1) / W during the warmup, then at lr * (1 + cos(pi * (k - 1) / steps)) / 2."""
    lr, steps, warmup = 1e-2, 20, 4
    lrs = _lrs(_spec(warmup_steps=warmup, lr=lr, steps=steps, decay="cosine"), steps)
    expected = [
        lr * (k - 1) / warmup if k <= warmup else lr * 0.5 * (1 + math.cos(math.pi * (k - 1) / steps))
        for k in range(1, steps + 1)
    ]
    assert [group[0] for group in lrs] == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="decay='cosine'"):
        digits.build_scheduler(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))]), _spec(decay="linear"))


@pytest.mark.parametrize("rule", ["pw_untuned_linear", "pw_untuned_exp", "pw_radamwarmup"])
@pytest.mark.parametrize("decay", ["constant", "cosine"])
def test_pytorch_warmup_dampens_timms_schedule_as_its_readme_does(rule, decay):
    """Update k runs at the timm schedule's lr times pytorch_warmup's factor omega_k."""
    pytest.importorskip("pytorch_warmup", reason="pytorch-warmup comes with the [study] extra")
    from radam_integrations import theory

    lr, steps = 1e-2, 30
    lrs = _lrs(_spec(lr=lr, steps=steps, schedule=rule, decay=decay), steps)
    omegas = warmup_rules.omegas(rule, steps)
    expected = [lr * theory.decay_factor(k - 1, steps, decay) * omegas[k - 1] for k in range(1, steps + 1)]
    for got, want in zip(lrs, expected):
        assert got == pytest.approx([want, want], rel=1e-9)
    assert max(omegas) < 1.0


def test_schedule_free_radam_trains_and_is_evaluated_at_its_averaged_weights():
    pytest.importorskip("schedulefree", reason="schedulefree comes with the [study] extra")
    model = digits.build_model("vit_tiny_patch16_224")
    opt = digits.build_optimizer(model, _spec("sf_radam", lr=1e-2))
    assert type(opt).__name__ == "RAdamScheduleFree"
    assert sorted(group["weight_decay"] for group in opt.param_groups) == [0.0, digits.WEIGHT_DECAY]
    split = digits.load_split(digits._setup("vit_tiny_patch16_224").image_size)
    for _ in range(20):  # RAdam's first steps are silent (no update) while the variance is undefined
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(split.x_train[:32]), split.y_train[:32]).backward()
        opt.step()
    at_train = digits._evaluate(model, split, torch.optim.SGD(model.parameters(), lr=0.0))
    loss, _ = digits._evaluate(model, split, opt)  # .eval() for the evaluation, .train() after
    opt.eval()
    assert loss == pytest.approx(
        digits._evaluate(model, split, torch.optim.SGD(model.parameters(), lr=0.0))[0]
    )
    assert loss != pytest.approx(at_train[0])
    opt.train()
    record = digits.run(_spec("sf_radam", lr=1e-2))
    assert record["optimizer_class"].endswith("RAdamScheduleFree") and record["betas"] == [0.9, 0.99]
    assert record["final_eval_loss"] < 0.8 * record["initial_eval_loss"] and not record["diverged"]


@pytest.mark.parametrize(
    ("optimizer", "expected"),
    [("radam", RAdam), ("adamw", torch.optim.AdamW), ("torch_radam", torch.optim.RAdam)],
    ids=["radam", "adamw", "torch_radam"],
)
def test_build_optimizer_differs_only_in_rectification(optimizer, expected):
    model = digits.build_model("vit_tiny_patch16_224")
    opt = digits.build_optimizer(model, _spec(optimizer, lr=2e-3, beta2=0.95))
    assert type(opt) is expected
    decays = sorted(group["weight_decay"] for group in opt.param_groups)
    assert decays == [0.0, digits.WEIGHT_DECAY]  # timm: no decay for biases and norms
    for group in opt.param_groups:
        assert group["lr"] == 2e-3 and tuple(group["betas"]) == (0.9, 0.95) and group["eps"] == 1e-8
    if optimizer in ("radam", "torch_radam"):
        assert all(group["decoupled_weight_decay"] for group in opt.param_groups)


def test_model_name():
    assert digits.model_name(TASK) == "vit_tiny_patch16_224"
    with pytest.raises(ValueError, match="digits/<timm model>"):
        digits.model_name("bytes_lm/gpt2")


@pytest.mark.parametrize("optimizer", ["radam", "adamw"])
def test_both_optimizers_train_and_held_out_loss_falls(optimizer):
    record = digits.run(_spec(optimizer, warmup_steps=10))
    assert record["arm"] == f"{optimizer}-w10"
    assert [step for step, _ in record["train_loss"]] == [10, 20, 30, 40]
    assert [step for step, _, _ in record["evals"]] == [20, 40]
    assert record["initial_eval_loss"] == pytest.approx(math.log(10), rel=0.1)  # untrained: chance
    assert record["final_eval_loss"] < 0.8 * record["initial_eval_loss"]
    assert record["final_eval_accuracy"] > 0.5 and not record["diverged"]
    assert 0 < record["optimizer_seconds"] < record["seconds"] and record["detector"] is None
    assert record["betas"] == [0.9, 0.99] and record["state_bytes_per_parameter"] == 8.0
    assert record["optimizer_class"].rsplit(".", 1)[1] == {"radam": "RAdam", "adamw": "AdamW"}[optimizer]


def test_detect_reports_findings():
    # beta2 = 0.9: the adaptive lr settles within tens of steps, so T is known in a short run.
    with detector_time() as spent:
        record = digits.run(_spec("radam", beta2=0.9, steps=80, detect=True))
    found = record["detector"]
    assert set(found) == {"settled_step", "suggested_warmup_steps", "relapses"}
    assert isinstance(found["settled_step"], int) and 0 < found["settled_step"] <= 80
    assert isinstance(found["suggested_warmup_steps"], int) and found["suggested_warmup_steps"] >= 10
    assert found["relapses"] >= 0 and 0.0 < spent[0] < record["seconds"]


def test_same_spec_gives_the_same_record():
    spec = _spec("radam", steps=20, eval_every=10, detect=True)
    first, second = digits.run(spec), digits.run(spec)
    for record in (first, second):
        del record["seconds"], record["optimizer_seconds"]
    assert first == second
    other_seed = digits.run(_spec("radam", steps=20, eval_every=10, seed=1))
    assert other_seed["train_loss"] != first["train_loss"]
