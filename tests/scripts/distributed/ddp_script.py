"""DDP, 2 ranks: RAdam state bit-identical across ranks; the detector logs once and equals one process."""

from __future__ import annotations

import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from radam_integrations import RAdam, WarmupDetector
from tests.scripts.distributed.common import env_summary, init_gloo, run_then_shut_down, write_json

PATHS = {"fused": {"fused": True}, "foreach": {"foreach": True}, "single": {"foreach": False}}


def model_and_data():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).double()
    gen = torch.Generator().manual_seed(1)
    batches = [
        (
            torch.randn(8, 6, generator=gen, dtype=torch.float64),
            torch.randn(8, 3, generator=gen, dtype=torch.float64),
        )
        for _ in range(4)
    ]
    return model, batches


def run(model, opt, batches, detector, steps, rank=None):
    logged = []
    for step in range(steps):
        x, y = batches[step % len(batches)]
        if rank is not None:  # each rank gets its half of the global batch
            x, y = x[rank * 4 : (rank + 1) * 4], y[rank * 4 : (rank + 1) * 4]
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        metrics = detector.update()
        if metrics is not None and detector.is_logging_rank:
            logged.append(metrics)
    return logged


def main(out_dir: str, path: str) -> None:
    rank, _ = init_gloo()
    model, batches = model_and_data()
    ddp = DDP(model)
    kwargs = PATHS[path]
    opt = RAdam(ddp.parameters(), lr=1e-2, weight_decay=0.01, decoupled_weight_decay=True, **kwargs)
    detector = WarmupDetector(opt, every=5, sample_size=None)
    logged = run(ddp, opt, batches, detector, 30, rank)
    assert detector.sharded is False  # replicated DDP state needs no reduce

    # Bit-identical state across ranks: compare every tensor with rank 0's copy.
    identical = True
    for p in model.parameters():
        for t in (p.detach(), opt.state[p]["exp_avg"], opt.state[p]["exp_avg_sq"], opt.state[p]["step"]):
            t0 = t.clone()
            dist.broadcast(t0, src=0)
            identical &= torch.equal(t0, t)
    write_json(
        out_dir, f"ddp_rank{rank}.json", {"env": env_summary(), "logged": logged, "identical": identical}
    )

    if rank == 0:  # the single-process reference on the same global batches
        ref_model, ref_batches = model_and_data()
        ref_opt = RAdam(
            ref_model.parameters(), lr=1e-2, weight_decay=0.01, decoupled_weight_decay=True, **kwargs
        )
        ref_detector = WarmupDetector(ref_opt, every=5, sample_size=None)
        ref_logged = run(ref_model, ref_opt, ref_batches, ref_detector, 30)
        diff = max((a - b).abs().max().item() for a, b in zip(ref_model.parameters(), model.parameters()))
        write_json(out_dir, "ddp_reference.json", {"logged": ref_logged, "param_max_abs_diff": diff})


if __name__ == "__main__":
    run_then_shut_down(main, sys.argv[1], sys.argv[2])
