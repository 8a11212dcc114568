"""Lightning on 2 gloo ranks (torchrun): DDP and ModelParallelStrategy (FSDP2) with the warmup
detector callback; checkpoint at step 10 and resume to step 20.

    torchrun --standalone --nproc_per_node 2 -m tests.scripts.distributed.lightning_script STRATEGY OUT PHASE

STRATEGY: ddp | fsdp2; PHASE: full | first | resume
"""

from __future__ import annotations

import sys
from pathlib import Path

import lightning.pytorch as L
import torch
import torch.distributed as dist

from radam_integrations import RAdam
from radam_integrations.integrations.lightning import WarmupDetectorCallback
from tests.scripts.distributed.common import run_then_shut_down, write_json

TOTAL, FIRST = 20, 10


class Module(L.LightningModule):
    def __init__(self, fsdp2: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fsdp2 = fsdp2
        self.net = torch.nn.Sequential(torch.nn.Linear(6, 15), torch.nn.Tanh(), torch.nn.Linear(15, 3))

    def configure_model(self) -> None:
        if self.fsdp2:
            from torch.distributed.fsdp import fully_shard

            mesh = self.device_mesh["data_parallel"]
            for layer in (self.net[0], self.net[2]):
                fully_shard(layer, mesh=mesh)
            fully_shard(self.net, mesh=mesh)

    def training_step(self, batch, batch_idx):
        # The batch is a function of the optimizer step and the rank, not of the loader position:
        # Lightning restarts an epoch's data order when resuming mid-epoch, and that is not what
        # this test is about (the optimizer's and the detector's state are).
        gen = torch.Generator().manual_seed(1000 * self.global_step + self.global_rank)
        x, y = torch.randn(4, 6, generator=gen), torch.randn(4, 3, generator=gen)
        return torch.nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self):
        return RAdam(self.parameters(), lr=1e-2, weight_decay=0.01, decoupled_weight_decay=True)


def main(strategy_name: str, out: str, phase: str) -> None:
    out_dir = Path(out)
    fsdp2 = strategy_name == "fsdp2"
    if fsdp2:
        from lightning.pytorch.strategies import ModelParallelStrategy

        strategy = ModelParallelStrategy(data_parallel_size=2, tensor_parallel_size=1)
    else:
        strategy = "ddp"
    gen = torch.Generator().manual_seed(1)
    data = torch.utils.data.TensorDataset(
        torch.randn(96, 6, generator=gen), torch.randn(96, 3, generator=gen)
    )
    loader = torch.utils.data.DataLoader(data, batch_size=4, shuffle=False)
    callback = WarmupDetectorCallback(
        every=5, output_dir=str(out_dir / f"{phase}_history"), print_summary=False
    )
    trainer = L.Trainer(
        accelerator="cpu", devices=2, strategy=strategy, max_steps=FIRST if phase == "first" else TOTAL,
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[callback],
    )  # fmt: skip
    module = Module(fsdp2)
    ckpt = out_dir / ("ckpt" if fsdp2 else "ckpt.pt")
    trainer.fit(module, loader, ckpt_path=str(ckpt) if phase == "resume" else None)
    if phase == "first":
        trainer.save_checkpoint(str(ckpt))
    rank = dist.get_rank()
    params = [(p.full_tensor() if hasattr(p, "full_tensor") else p.detach()).reshape(-1).tolist()
              for p in module.parameters()]  # fmt: skip
    detector = callback.detectors[0]
    state_type = type(trainer.optimizers[0].state[next(iter(module.parameters()))]["exp_avg_sq"]).__name__
    write_json(out_dir, f"{phase}_rank{rank}.json", {
        "world_size": dist.get_world_size(), "backend": dist.get_backend(),
        "strategy": type(trainer.strategy).__name__, "state_type": state_type, "sharded": detector.sharded,
        "params": params,
        "settled": detector.settled_step, "evaluations": detector.evaluations, "history": detector.history,
        "global_step": trainer.global_step,
    })  # fmt: skip


if __name__ == "__main__":
    run_then_shut_down(main, *sys.argv[1:])
