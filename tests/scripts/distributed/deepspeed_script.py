"""DeepSpeed ZeRO 1/2/3 on 2 CPU ranks (gloo): client RAdam trains like an unsharded run, and the
warmup detector counts the ZeRO padding out.

    python -m torch.distributed.run --standalone --nproc_per_node 2 \\
        -m tests.scripts.distributed.deepspeed_script STAGE OUT
"""

from __future__ import annotations

import sys

import deepspeed
import torch
import torch.distributed as dist

from radam_integrations import RAdam, WarmupDetector
from tests.scripts.distributed.common import run_then_shut_down, write_json

STEPS = 12


def build() -> torch.nn.Module:
    torch.manual_seed(0)
    # 5*7 + 7 + 7*3 + 3 = 66 elements: ZeRO-1/2 pad the flat group to 68, ZeRO-3 pads each parameter.
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))


def batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 5, generator=gen), torch.randn(8, 3, generator=gen)) for _ in range(4)]


def main(stage: str, out: str) -> None:
    deepspeed.init_distributed(dist_backend="gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert world == 2 and dist.get_backend() == "gloo", (world, dist.get_backend())
    model = build()
    config = {
        "train_micro_batch_size_per_gpu": 4,
        "zero_optimization": {"stage": int(stage)},
        "zero_allow_untested_optimizer": True,  # DeepSpeed's list of tested client optimizers
    }
    optimizer = RAdam(model.parameters(), lr=1e-2, weight_decay=0.01, decoupled_weight_decay=True)
    engine, zero_optimizer, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=config)
    detector = WarmupDetector(zero_optimizer, every=4, sample_size=None)
    data = batches()
    for step in range(STEPS):
        x, y = data[step % len(data)]
        x, y = x[rank * 4 : (rank + 1) * 4], y[rank * 4 : (rank + 1) * 4]
        engine.backward(torch.nn.functional.mse_loss(engine(x), y))
        engine.step()
        detector.update()

    # The full parameters, gathered from the shards (ZeRO-3 partitions the parameters too).
    with deepspeed.zero.GatheredParameters(list(engine.module.parameters()), enabled=int(stage) == 3):
        params = torch.cat([p.detach().reshape(-1).clone() for p in engine.module.parameters()])

    reference = build()
    ref_opt = RAdam(reference.parameters(), lr=1e-2, weight_decay=0.01, decoupled_weight_decay=True)
    for step in range(STEPS):
        x, y = data[step % len(data)]
        ref_opt.zero_grad()
        torch.nn.functional.mse_loss(reference(x), y).backward()
        ref_opt.step()
    ref_params = torch.cat([p.detach().reshape(-1) for p in reference.parameters()])
    base = zero_optimizer.optimizer
    write_json(out, f"zero{stage}_rank{rank}.json", {
        "world_size": world, "backend": dist.get_backend(), "zero": type(zero_optimizer).__name__,
        "base": type(base).__name__, "sharded": detector.sharded, "sums": detector.raw_sums(),
        "evaluations": detector.evaluations, "true_numel": sum(p.numel() for p in reference.parameters()),
        "param_max_abs_diff": (params - ref_params).abs().max().item(),
    })  # fmt: skip


if __name__ == "__main__":
    run_then_shut_down(main, *sys.argv[1:])
