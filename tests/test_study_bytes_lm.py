"""Study task bytes_lm: the stdlib byte corpus, the two causal LMs, and runs through the real HF Trainer.

The corpus is this interpreter's standard library (nothing to download); the models are built
from transformers configs with random init, on the CPU.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from radam_integrations import RAdam
from warmup_study import bytes_lm
from warmup_study.bytes_lm import SETTINGS, build_model, causal_eval, run
from warmup_study.corpus import VOCAB_SIZE, load_corpus, split_by_file, stdlib_files
from warmup_study.spec import RunSpec
from warmup_study.timing import detector_time

from .helpers import warmup_rules

#: Small enough for a test: fewer bytes, a smaller batch and held-out set than the study's.
TINY = replace(SETTINGS, batch_size=8, max_train_bytes=2**16, held_out_blocks=32)


def spec(task: str = "bytes_lm/gpt2", optimizer: str = "radam", **overrides: object) -> RunSpec:
    base: dict[str, object] = {
        "warmup_steps": 0, "lr": 3e-3, "beta2": 0.99, "steps": 40, "seed": 0, "eval_every": 20,
    }  # fmt: skip
    base.update(overrides)
    return RunSpec(task, optimizer, **base)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the corpus
def test_stdlib_corpus_is_split_by_file_disjoint_and_256_bytes() -> None:
    corpus = load_corpus(block_size=64, max_train_bytes=2**15, max_held_out_bytes=2**12)
    names = [f.name for f in stdlib_files()]
    assert not any(n.startswith(("test", "_sysconfigdata")) for n in names)
    assert set(corpus.train_files).isdisjoint(corpus.held_out_files)
    assert list(corpus.held_out_files) == names[::10]  # every 10th file, sorted by name
    assert sorted(corpus.train_files + corpus.held_out_files) == names
    assert corpus.train.dtype == corpus.held_out.dtype == torch.uint8  # 256 values, by type
    assert corpus.train.shape == (2**15 // 64, 64) and corpus.held_out.shape == (2**12 // 64, 64)
    info = corpus.describe()
    assert info["vocab_size"] == VOCAB_SIZE == 256
    assert info["train_bytes_used"] == 2**15 and info["held_out_bytes_used"] == 2**12
    assert info["train_bytes_read"] > info["train_bytes_used"]  # the cap applied
    assert len(info["sha256_16"]) == 16 and info["python_version"]


def test_held_out_blocks_come_only_from_held_out_files(tmp_path: Path) -> None:
    # Twenty files, each one byte value repeated: a block's value says which file it came from.
    for i in range(20):
        (tmp_path / f"m{i:02d}.py").write_bytes(bytes([65 + i]) * 300)
    (tmp_path / "test_skipped.py").write_bytes(b"!" * 300)
    (tmp_path / "_sysconfigdata_x.py").write_bytes(b"?" * 300)
    corpus = load_corpus(block_size=32, max_train_bytes=2**20, max_held_out_bytes=2**20, root=str(tmp_path))
    assert corpus.held_out_files == ("m00.py", "m10.py")
    assert set(corpus.held_out.unique().tolist()) == {65, 75}
    assert set(corpus.train.unique().tolist()) == {65 + i for i in range(20)} - {65, 75}
    assert len(corpus.train) == 18 * (300 // 32)  # whole blocks per file; tails dropped


def test_caps_spread_over_the_corpus_and_the_data_is_deterministic(tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"m{i:02d}.py").write_bytes(bytes([65 + i]) * 320)
    corpus = load_corpus(block_size=32, max_train_bytes=18 * 32, max_held_out_bytes=64, root=str(tmp_path))
    # 18 of 180 training blocks: one from each training file, not the first file's ten
    assert len(set(corpus.train[:, 0].tolist())) == 18
    load_corpus.cache_clear()
    again = load_corpus(block_size=32, max_train_bytes=18 * 32, max_held_out_bytes=64, root=str(tmp_path))
    assert again is not corpus and again.digest() == corpus.digest()


def test_training_order_is_a_seeded_permutation() -> None:
    corpus = load_corpus(block_size=64, max_train_bytes=2**15, max_held_out_bytes=2**12)
    first, second, other = (corpus.train_dataset(s).blocks for s in (0, 0, 1))
    assert torch.equal(first, second) and not torch.equal(first, other)
    assert torch.equal(first.sort(0).values, corpus.train.sort(0).values)
    item = corpus.train_dataset(0)[3]
    assert torch.equal(item["input_ids"], first[3].long()) and torch.equal(item["labels"], item["input_ids"])


def test_split_needs_training_files() -> None:
    with pytest.raises(ValueError, match="held_out_every"):
        split_by_file([Path("a.py")], held_out_every=1)


# ---------------------------------------------------------------------- the models
@pytest.mark.parametrize("model", ["gpt2", "bert_postln"])
def test_models_are_causal(model: str) -> None:
    lm = build_model(model, TINY).eval()
    ids = torch.randint(0, VOCAB_SIZE, (2, TINY.block_size), generator=torch.Generator().manual_seed(0))
    changed = ids.clone()
    changed[:, 40] = (changed[:, 40] + 1) % VOCAB_SIZE
    with torch.no_grad():
        before, after = lm(input_ids=ids).logits, lm(input_ids=changed).logits
    torch.testing.assert_close(before[:, :40], after[:, :40])  # the past does not see the future
    assert not torch.allclose(before[:, 40:], after[:, 40:])


def test_bert_is_post_ln_and_gpt2_pre_ln() -> None:
    """Post-LN normalises the residual stream after every layer; pre-LN leaves it unnormalised."""
    ids = torch.randint(0, VOCAB_SIZE, (2, TINY.block_size), generator=torch.Generator().manual_seed(0))
    spreads = {}
    for model in ("bert_postln", "gpt2"):
        lm = build_model(model, TINY).eval()
        with torch.no_grad():
            after_first_layer = lm(input_ids=ids, output_hidden_states=True).hidden_states[1]
        spreads[model] = after_first_layer.std(-1, unbiased=False)
    # LayerNorm at init (weight 1, bias 0) makes every position's features unit-variance
    torch.testing.assert_close(
        spreads["bert_postln"], torch.ones_like(spreads["bert_postln"]), atol=1e-3, rtol=0
    )
    assert spreads["gpt2"].max() < 0.5  # embeddings (std 0.02) plus small sublayer outputs


def test_causal_eval_is_chance_level_at_init_and_keeps_the_mode() -> None:
    lm = build_model("gpt2", TINY).train()
    held_out = TINY.corpus().held_out
    loss, accuracy = causal_eval(lm, held_out)
    assert abs(loss - math.log(VOCAB_SIZE)) < 0.5
    # Tied input/output embeddings make a fresh model predict "the same byte again", right as
    # often as source code repeats a byte (indentation): that is its accuracy, not 1/256.
    repeats = (held_out[:, 1:] == held_out[:, :-1]).float().mean().item()
    assert accuracy == pytest.approx(repeats, abs=0.05)
    assert lm.training


def test_unknown_task_is_refused() -> None:
    with pytest.raises(ValueError, match="bytes_lm/gpt2"):
        run(spec("digits/resnet"))


# ---------------------------------------------------------------------- runs through the Trainer
@pytest.mark.fit
@pytest.mark.parametrize("task", bytes_lm.TASKS)
@pytest.mark.parametrize("optimizer", ["radam", "adamw", "torch_radam"])
def test_run_trains_through_the_trainer_and_the_loss_falls(
    task: str, optimizer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    record = run(spec(task, optimizer), TINY)
    expected = {"radam": RAdam, "adamw": torch.optim.AdamW, "torch_radam": torch.optim.RAdam}[optimizer]
    assert record["optimizer_class"] == f"{expected.__module__}.{expected.__qualname__}"
    assert record["betas"] == [0.9, 0.99]  # adam_beta2 from the spec, recorded from the optimizer itself
    assert record["state_bytes_per_parameter"] == 8.0  # two float32 moments per element, all three
    assert record["steps_done"] == 40 and not record["diverged"]
    assert [s for s, _ in record["train_loss"]] == [10, 20, 30, 40]
    assert [s for s, _, _ in record["evals"]] == [20, 40]
    assert record["final_eval_loss"] < record["initial_eval_loss"] - 1.0
    assert record["train_loss"][-1][1] < record["train_loss"][0][1]
    assert 0.0 < record["final_eval_accuracy"] <= 1.0
    assert 0.0 < record["optimizer_seconds"] < record["seconds"]
    assert 0.0 < record["median_step_seconds"] < record["seconds"]
    assert record["spec"]["task"] == task and record["detector"] is None
    assert capsys.readouterr().out == ""  # no per-step printing


@pytest.mark.fit
def test_run_is_reproducible_and_warmup_reaches_the_optimizer() -> None:
    first = run(spec(steps=20, warmup_steps=10, eval_every=10), TINY)
    again = run(spec(steps=20, warmup_steps=10, eval_every=10), TINY)
    assert first["evals"] == again["evals"] and first["train_loss"] == again["train_loss"]
    no_warmup = run(spec(steps=20, warmup_steps=0, eval_every=10), TINY)
    assert first["evals"][0][1] > no_warmup["evals"][0][1]  # half the lr, on average, for 10 steps


@pytest.mark.fit
def test_detect_reports_the_detectors_findings() -> None:
    # beta2 = 0.9: a 20-step horizon, so the detector settles within the run
    with detector_time() as spent:
        record = run(spec(optimizer="adamw", beta2=0.9, steps=60, detect=True, eval_every=60), TINY)
    found = record["detector"]
    assert set(found) == {"settled_step", "suggested_warmup_steps", "relapses"}
    assert isinstance(found["settled_step"], int) and 0 < found["settled_step"] <= 60
    assert isinstance(found["suggested_warmup_steps"], int) and found["suggested_warmup_steps"] > 0
    assert found["relapses"] >= 0 and 0.0 < spent[0] < record["seconds"]


@pytest.mark.fit
def test_a_diverging_run_is_recorded_as_diverged() -> None:
    record = run(spec(optimizer="adamw", lr=30.0, steps=20, eval_every=10), TINY)
    assert record["diverged"]
    assert record["evals"][-1][0] == record["steps_done"]  # evaluated where it stopped


# ---------------------------------------------------------------------- the alternatives (issue 22)
@pytest.mark.fit
def test_schedule_free_radam_trains_through_the_trainers_own_route() -> None:
    pytest.importorskip("schedulefree", reason="schedulefree comes with the [study] extra")
    record = run(spec(optimizer="sf_radam", lr=1e-2), TINY)
    assert record["arm"] == "sf_radam"
    assert record["optimizer_class"] == "schedulefree.radam_schedulefree.RAdamScheduleFree"
    assert record["betas"] == [0.9, 0.99] and record["state_bytes_per_parameter"] >= 8.0
    assert record["final_eval_loss"] < record["initial_eval_loss"] - 0.5 and not record["diverged"]


def test_held_out_evaluation_uses_a_schedule_free_optimizers_eval_mode() -> None:
    """Schedule-free optimizers hold two weight sequences: .eval() swaps the averaged one in, and the
    held-out loss is taken there, then .train() swaps back (its README's requirement)."""
    schedulefree = pytest.importorskip("schedulefree", reason="schedulefree comes with the [study] extra")
    model = build_model("gpt2", TINY)
    opt = schedulefree.RAdamScheduleFree(model.parameters(), lr=1e-2, betas=(0.9, 0.99))
    opt.train()
    ids = TINY.corpus().held_out
    for _ in range(8):
        opt.zero_grad()
        model(input_ids=ids[:4].long(), labels=ids[:4].long()).loss.backward()
        opt.step()
    probe = bytes_lm._probe_class()(ids, eval_every=1)
    probe.optimizer = opt
    probe.evaluate(model, 8)
    train_mode = causal_eval(model, ids)[0]
    opt.eval()
    assert probe.evals[-1][1] == pytest.approx(causal_eval(model, ids)[0])  # measured at .eval()'s weights
    assert probe.evals[-1][1] != pytest.approx(train_mode)  # which differ from the training weights
    opt.train()


@pytest.mark.fit
@pytest.mark.parametrize("rule", ["pw_untuned_linear", "pw_untuned_exp", "pw_radamwarmup"])
def test_pytorch_warmup_dampens_the_trainers_schedule_as_its_readme_does(rule: str, tmp_path: Path) -> None:
    """Each optimizer step t runs at lr * decay(t - 1) * omega_t: the Trainer's linear decay, dampened by
    pytorch_warmup's factor for step t (the scheduler's step inside ``warmup.dampening()``)."""
    pytest.importorskip("pytorch_warmup", reason="pytorch-warmup comes with the [study] extra")
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from radam_integrations import theory

    seen: list[float] = []

    class Record(TrainerCallback):
        def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):  # before the restore
            seen.append(optimizer.param_groups[0]["lr"])

    steps, lr = 12, 1e-2
    args = TrainingArguments(
        str(tmp_path), optim="adamw_torch", learning_rate=lr, adam_beta2=0.99, lr_scheduler_type="linear",
        max_steps=steps, per_device_train_batch_size=4, report_to="none", use_cpu=True, save_strategy="no",
        disable_tqdm=True,
    )  # fmt: skip
    dampening = bytes_lm._pytorch_warmup_callback(rule)
    data = TINY.corpus().train_dataset(0)
    trainer = Trainer(
        model=build_model("gpt2", TINY), args=args, train_dataset=data, callbacks=[Record(), dampening]
    )
    trainer.train()
    omegas = warmup_rules.omegas(rule, steps)
    expected = [lr * theory.decay_factor(t - 1, steps, "linear") * omegas[t - 1] for t in range(1, steps + 1)]
    assert seen == pytest.approx(expected, rel=1e-6)
    assert max(omegas) < 1.0  # the rule still dampens in these 12 steps (beta2 0.99: 200 / 100 / RAdam's)
