"""A LightningCLI script that does not import radam_integrations (the warmup detector comes from
RADAM_WARMUP_DETECTOR=1 through Lightning's entry points). Used to check what `--optimizer RAdam`
resolves to when nothing of ours is imported at parse time."""

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LightningCLI
from torch import nn


class Regression(LightningModule):
    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.mse_loss(self.net(x), y)

    def train_dataloader(self):
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(64, 8, generator=gen)
        data = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
        return torch.utils.data.DataLoader(data, batch_size=8)


if __name__ == "__main__":
    cli = LightningCLI(Regression, save_config_callback=None)
    optimizer = cli.trainer.optimizers[0]
    print(f"OPTIMIZER {type(optimizer).__module__}.{type(optimizer).__qualname__}")
