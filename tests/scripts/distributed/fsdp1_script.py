"""FSDP1 flat parameters on CPU, 2 ranks: the detector counts out the shard padding."""

from __future__ import annotations

import sys

import torch
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

from radam_integrations import RAdam, WarmupDetector
from radam_integrations.warmup.reduce import is_flat_param
from tests.scripts.distributed.common import env_summary, init_gloo, run_then_shut_down, write_json


def main(out_dir: str) -> None:
    rank, _ = init_gloo()
    torch.manual_seed(0)
    # 5*7 + 7*2 + 2 = 51 elements: an odd total, so one padding element lands on rank 1.
    model = torch.nn.Sequential(torch.nn.Linear(5, 7, bias=False), torch.nn.Tanh(), torch.nn.Linear(7, 2))
    numel = sum(p.numel() for p in model.parameters())
    fsdp = FSDP(model, use_orig_params=False, device_id=torch.device("cpu"))
    opt = RAdam(fsdp.parameters(), lr=1e-2)
    detector = WarmupDetector(opt, every=2, sample_size=None)
    gen = torch.Generator().manual_seed(1 + rank)
    for _ in range(6):
        opt.zero_grad()
        fsdp(torch.randn(4, 5, generator=gen)).pow(2).mean().backward()
        opt.step()
        detector.update()
    flat = next(iter(fsdp.parameters()))
    write_json(out_dir, f"fsdp1_rank{rank}.json", {
        "env": env_summary(),
        "is_flat": is_flat_param(flat),
        "local_numel": flat.numel(),
        "padding": int(getattr(flat, "_shard_numel_padded", -1)),
        "true_numel": numel,
        "sharded": detector.sharded,
        "sums": detector.raw_sums(),
    })  # fmt: skip


if __name__ == "__main__":
    run_then_shut_down(main, sys.argv[1])
