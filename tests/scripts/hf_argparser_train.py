"""A training script in the style of transformers' examples/pytorch/*/run_*.py, run unmodified.

It parses its arguments with HfArgumentParser first thing in main() (so `--optim radam` must be
valid before the script runs) and knows nothing about radam_integrations. Tests run it through
the runner: `radam-integrations run hf_argparser_train.py --optim radam --optim_args threshold=4 ...`.
"""

import json
import os
from dataclasses import dataclass, field

import torch
from transformers import GPT2Config, GPT2LMHeadModel, HfArgumentParser, Trainer, TrainingArguments


@dataclass
class ModelArguments:
    n_layer: int = field(default=2, metadata={"help": "transformer blocks"})
    result_file: str = field(default="", metadata={"help": "write the optimizer seen here (JSON)"})


class TokenIds(torch.utils.data.Dataset):
    def __init__(self, n: int = 64, length: int = 16) -> None:
        self.ids = torch.randint(0, 64, (n, length), generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def main() -> None:
    parser = HfArgumentParser((ModelArguments, TrainingArguments))
    model_args, training_args = parser.parse_args_into_dataclasses()
    torch.manual_seed(training_args.seed)
    config = GPT2Config(
        n_layer=model_args.n_layer, n_head=2, n_embd=32, vocab_size=64, n_positions=32,
        bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    trainer = Trainer(model=GPT2LMHeadModel(config), args=training_args, train_dataset=TokenIds())
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    if model_args.result_file and training_args.process_index == 0:
        inner = getattr(trainer.optimizer, "optimizer", trainer.optimizer)
        group = inner.param_groups[0]
        with open(model_args.result_file, "w") as fh:
            json.dump(
                {
                    "class": f"{type(inner).__module__}.{type(inner).__qualname__}",
                    "threshold": group.get("threshold"),
                    "decoupled_weight_decay": group.get("decoupled_weight_decay"),
                    "cwd": os.getcwd(),
                },
                fh,
            )


if __name__ == "__main__":
    main()
