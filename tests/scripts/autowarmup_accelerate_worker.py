"""The worker of test_autowarmup's two-process test, one per rank.

    ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 \
        tests/scripts/autowarmup_accelerate_worker.py OUT_DIR

AutoWarmup prepared by Accelerate (``AcceleratedScheduler``, which steps it once per process per
optimizer step) under DDP, and on state that differs per rank, as with ZeRO or FSDP: declared
(``sharded=True``) and undeclared (found by comparing the ranks). Each rank writes
``autowarmup_rank<r>.json``: its learning rates and multipliers.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import torch
from accelerate import Accelerator

from radam_integrations.experimental import AutoWarmup
from tests.helpers import accelerate_loop as loop
from tests.scripts.distributed.common import run_then_shut_down


def main(out_dir: Path) -> None:
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    accelerator = Accelerator()
    result: dict = {
        "rank": accelerator.process_index,
        "world_size": accelerator.num_processes,
        "backend": dist.get_backend() if dist.is_initialized() else None,
    }

    # DDP: each rank its half of the global batch.
    model = loop.model()
    raw = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=loop.BETAS)
    model, optimizer, scheduler = accelerator.prepare(model, raw, AutoWarmup(raw, every=2))
    result["scheduler_class"] = type(scheduler).__name__
    half = slice(16 * rank, 16 * (rank + 1))
    lrs = []
    for step in range(1, 21):
        x, y = loop.batch(step)
        accelerator.backward(((model(x[half]) - y[half]) ** 2).mean())
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        lrs.append(raw.param_groups[0]["lr"])
    result["ddp_lrs"] = lrs
    result["ddp_sharded"] = scheduler.scheduler.rectifier.detector.sharded  # replicated state

    # Sharded: each rank holds a different tensor; the measurement sums over ranks.
    for name, declared in (("sharded", {"sharded": True}), ("undeclared", {})):
        torch.manual_seed(100 + rank)
        param = torch.nn.Parameter(torch.randn(600))
        opt = torch.optim.Adam([param], lr=1e-2, betas=loop.BETAS)
        sched = AutoWarmup(opt, every=2, sample_size=256, **declared)
        multipliers = []
        for step in range(1, 21):
            gen = torch.Generator().manual_seed(10_000 * rank + step)
            param.grad = (1.0 + rank) * torch.randn(param.shape, generator=gen)
            opt.step()
            sched.step()
            multipliers.append(sched.multipliers()[0])
        result[f"{name}_multipliers"] = multipliers
        result[f"{name}_c2"] = sched.rectifier.c2(0)
        result[f"{name}_found_sharded"] = sched.rectifier.detector.sharded

    # Different numbers of parameter groups on the ranks: the comparison (a collective of the same
    # size on every rank) refuses on both, instead of a mismatched collective.
    params = [torch.nn.Parameter(torch.randn(8)) for _ in range(1 + rank)]
    try:
        AutoWarmup(torch.optim.Adam([{"params": [p]} for p in params], lr=1e-2))
        result["group_mismatch"] = None
    except ValueError as err:
        result["group_mismatch"] = str(err)

    (out_dir / f"autowarmup_rank{rank}.json").write_text(json.dumps(result))
    accelerator.wait_for_everyone()
    accelerator.end_training()


if __name__ == "__main__":
    warnings.simplefilter("ignore", UserWarning)
    run_then_shut_down(main, Path(sys.argv[1]))
