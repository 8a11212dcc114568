"""Run by tests/test_integration_transformers.py with the transformers 4.57.6 side install first on
PYTHONPATH: registers, parses ``--optim radam``, trains a tiny GPT-2 with the warmup detector
callback, resumes from a checkpoint, trains with ``--lr_scheduler_type auto_warmup_cosine``, and
prints one JSON line of results.

Usage: ``PYTHONPATH=.cache/transformers-4.57 python tests/scripts/hf_457_probe.py OUTPUT_DIR``
"""

from __future__ import annotations

import json
import os
import sys


def main(out: str) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel, HfArgumentParser, Trainer, TrainerCallback

    assert transformers.__version__ == "4.57.6", transformers.__version__
    from transformers import TrainingArguments
    from transformers.training_args import OptimizerNames

    import radam_integrations.hf  # noqa: F401  (registers)
    from radam_integrations.experimental import register_all

    register_all()  # and the experimental scheduler names
    from radam_integrations import RAdam
    from radam_integrations.integrations.transformers import WarmupDetectorCallback

    (parsed,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses(
        ["--output_dir", out, "--optim", "radam", "--optim_args", "threshold=4", "--report_to", "none"]
    )
    assert parsed.optim is OptimizerNames.RADAM, parsed.optim
    assert Trainer.get_optimizer_cls_and_kwargs(parsed)[1]["threshold"] == 4.0

    class Recorder(TrainerCallback):
        def __init__(self):
            self.logs = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            self.logs.append((state.global_step, dict(logs)))

    class TokenIds(torch.utils.data.Dataset):
        def __init__(self):
            self.ids = torch.randint(0, 64, (48, 16), generator=torch.Generator().manual_seed(0))

        def __len__(self):
            return len(self.ids)

        def __getitem__(self, i):
            return {"input_ids": self.ids[i], "labels": self.ids[i]}

    def model(seed):
        torch.manual_seed(seed)
        config = GPT2Config(
            n_layer=2, n_head=2, n_embd=32, vocab_size=64, n_positions=32, bos_token_id=0, eos_token_id=0
        )
        return GPT2LMHeadModel(config)

    def args(run):
        return TrainingArguments(
            os.path.join(out, run), optim="radamw", weight_decay=0.1, learning_rate=1e-3, max_steps=12,
            per_device_train_batch_size=4, logging_steps=2, save_strategy="steps", save_steps=6,
            report_to="none", use_cpu=True, seed=0, disable_tqdm=True,
        )  # fmt: skip

    recorder = Recorder()
    callback = WarmupDetectorCallback(metrics="all")
    trainer = Trainer(model(0), args("full"), train_dataset=TokenIds(), callbacks=[recorder, callback])
    trainer.train()
    optimizer = trainer.optimizer.optimizer
    assert type(optimizer) is RAdam and len(optimizer.param_groups) == 2
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.1, 0.0]
    (full_cb,) = [c for c in trainer.callback_handler.callbacks if isinstance(c, WarmupDetectorCallback)]
    reference = full_cb.detector.state_dict()
    steps_logged = [e["step"] for e in trainer.state.log_history if "warmup/RAdam/pg1/rho_t" in e]
    assert steps_logged == [s for s, logs in recorder.logs if "warmup/RAdam/pg1/rho_t" in logs]
    assert os.path.isfile(os.path.join(out, "full", "warmup_history.json"))

    # Resume from step 6, with and without transformers' own callback-state restore.
    resumed_equal = {}
    for flag in (False, True):
        run_args = args(f"resumed-{flag}")
        run_args.restore_callback_states_from_checkpoint = flag
        resumed = Trainer(model(1), run_args, train_dataset=TokenIds(), callbacks=[WarmupDetectorCallback()])
        resumed.train(resume_from_checkpoint=os.path.join(out, "full", "checkpoint-6"))
        (cb,) = [c for c in resumed.callback_handler.callbacks if isinstance(c, WarmupDetectorCallback)]
        params = all(
            torch.equal(p, q) for p, q in zip(trainer.model.parameters(), resumed.model.parameters())
        )
        # Sorted keys, as trainer_state.json writes them; NaN equals NaN as text.
        state = json.dumps(cb.detector.state_dict(), sort_keys=True)
        resumed_equal[str(flag)] = {
            "params": params,
            "detector": state == json.dumps(reference, sort_keys=True),
        }
    # AutoWarmup by name: --lr_scheduler_type auto_warmup_cosine, trained with the default optimizer.
    from radam_integrations.experimental import AutoWarmup

    (parsed,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses(
        ["--output_dir", out, "--lr_scheduler_type", "auto_warmup_cosine", "--report_to", "none"]
    )
    auto_args = args("auto")
    auto_args.lr_scheduler_type = parsed.lr_scheduler_type
    auto_args.optim = "adamw_torch"
    auto_args.save_strategy = "no"
    auto = Trainer(model(0), auto_args, train_dataset=TokenIds())
    auto.train()
    return {
        "auto_warmup": type(auto.lr_scheduler).__name__
        if isinstance(auto.lr_scheduler, AutoWarmup)
        else None,
        "transformers": transformers.__version__,
        "optimizer": type(optimizer).__name__,
        "warmup_steps_logged": steps_logged,
        "resumed_equal": resumed_equal,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
