"""A DeepSpeed config whose blocks would replace our optimizer or scheduler is refused when the
HF ``TrainingArguments`` are built (``make test-deepspeed``: DeepSpeed lives in its own venv)."""

from __future__ import annotations

import pytest

pytest.importorskip("deepspeed", reason="DeepSpeed is tested by `make test-deepspeed` (own venv)")

from transformers import TrainingArguments

from radam_integrations.experimental import register_all

pytestmark = pytest.mark.deepspeed

register_all()  # optim="radam" and the experimental lr_scheduler_type="auto_warmup*"

WARMUP_LR = {
    "type": "WarmupLR",
    "params": {"warmup_min_lr": 0, "warmup_max_lr": "auto", "warmup_num_steps": 1},
}


def _config(**blocks: object) -> dict[str, object]:
    return {"train_micro_batch_size_per_gpu": "auto", "zero_optimization": {"stage": 2}, **blocks}


def _args(tmp_path, **kwargs: object) -> TrainingArguments:
    return TrainingArguments(str(tmp_path), use_cpu=True, report_to="none", **kwargs)


def test_a_scheduler_block_beside_auto_warmup_is_refused(tmp_path, monkeypatch) -> None:
    """The trial of issue 19: DeepSpeed's WarmupLR ran instead of auto_warmup_cosine, without a word."""
    monkeypatch.setenv("ACCELERATE_USE_CPU", "1")
    config = _config(scheduler=WARMUP_LR)
    with pytest.raises(ValueError, match=r"'auto_warmup_cosine' would never run: .*\(WarmupLR\).*remove"):
        _args(tmp_path, optim="radamw", lr_scheduler_type="auto_warmup_cosine", deepspeed=config)
    # DeepSpeed's scheduler with a transformers name: transformers' documented behaviour, not ours to refuse
    kept = _args(tmp_path, optim="radamw", lr_scheduler_type="linear", deepspeed=config)
    assert kept.optim.value == "radamw"


def test_an_optimizer_block_beside_optim_radam_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ACCELERATE_USE_CPU", "1")
    adamw = {"type": "AdamW", "params": {"lr": "auto"}}
    with pytest.raises(ValueError, match=r"optim='radam' would never run: .*\"optimizer\" block \(AdamW\)"):
        _args(tmp_path, optim="radam", deepspeed=_config(optimizer=adamw))
    _args(tmp_path, optim="adamw_torch", deepspeed=_config(optimizer=adamw))  # not ours: as transformers does
