"""LightningCLI with radam_integrations.RAdam picked from the config or the command line.

Lightning has no optimizer registry: LightningCLI takes any ``torch.optim.Optimizer`` subclass by
its import path, so ``radam_integrations.RAdam`` needs no registration. The model here has no
``configure_optimizers``; the CLI builds one from the ``optimizer:`` block of the config:

    python recipes/lightning_cli.py fit --config recipes/lightning_cli.yaml
    python recipes/lightning_cli.py fit --config recipes/lightning_cli.yaml --trainer.max_steps 50
    python recipes/lightning_cli.py fit --config recipes/lightning_cli.yaml \\
        --optimizer radam_integrations.RAdam --optimizer.lr 0.001 --optimizer.weight_decay 0.01

The config also attaches the warmup detector as a Trainer callback
(``radam_integrations.integrations.lightning.WarmupDetectorCallback``), which prints its summary
when training ends and writes ``warmup_history.json`` next to ``metrics.csv``. Without touching
the config, ``RADAM_WARMUP_DETECTOR=1`` attaches it to any Lightning run.

The model and data (a tiny post-LN transformer on generated Markov-chain tokens) come from
``lightning_configure_optimizers.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling recipe, however this is run

try:
    from lightning.pytorch.cli import LightningCLI
except ImportError:  # only pytorch-lightning installed
    from pytorch_lightning.cli import LightningCLI

from lightning_configure_optimizers import LanguageModel, MarkovTokens


def main() -> None:
    # The optimizer comes from the config (`optimizer:`) or `--optimizer`; LanguageModel has no
    # configure_optimizers of its own, so LightningCLI adds one.
    LightningCLI(LanguageModel, MarkovTokens, save_config_kwargs={"overwrite": True})


if __name__ == "__main__":
    main()
