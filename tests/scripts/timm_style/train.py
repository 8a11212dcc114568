"""A script in the style of timm's train.py, run unmodified through the runner.

Like timm's, it imports a sibling module, selects the optimizer by name with timm's factory
(`--opt radam`), initialises torch.distributed when launched by torchrun, and exits with its own
code. It knows nothing about radam_integrations.
"""

import argparse
import gc
import json
import os
import sys

import torch
import torch.distributed as dist
from helpers import make_model
from timm.optim import create_optimizer_v2
from timm.scheduler import create_scheduler_v2


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opt", default="adamw")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--sched", default="none")
    parser.add_argument("--warmup-epochs", type=int, default=0)
    parser.add_argument("--result", default="")
    parser.add_argument("--exit-code", type=int, default=0)
    args = parser.parse_args()
    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    model = make_model()
    if distributed:
        model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = create_optimizer_v2(model, opt=args.opt, lr=args.lr, weight_decay=args.weight_decay)
    # One epoch of --steps updates, the schedule stepped per update (train.py --sched-on-updates).
    lr_scheduler, _ = create_scheduler_v2(
        optimizer,
        sched=args.sched,
        num_epochs=1,
        warmup_epochs=args.warmup_epochs,
        step_on_epochs=False,
        updates_per_epoch=args.steps,
    )
    lrs = []
    data = torch.Generator().manual_seed(rank)
    for update in range(1, args.steps + 1):
        optimizer.zero_grad()
        x = torch.randn(32, 16, generator=data)
        torch.nn.functional.cross_entropy(model(x), x[:, :4].argmax(1)).backward()
        optimizer.step()
        if lr_scheduler is not None:
            lr_scheduler.step_update(num_updates=update)
        lrs.append(optimizer.param_groups[0]["lr"])
    backend = dist.get_backend() if distributed else None
    class_name = f"{type(optimizer).__module__}.{type(optimizer).__qualname__}"
    scheduler_name = type(lr_scheduler).__name__
    if distributed:
        # Nothing may hold the process group when it is destroyed (the DDP wrapper does): one that
        # outlives it is destructed at interpreter exit, which can abort the process under load.
        del model, optimizer, lr_scheduler
        gc.collect()
        dist.destroy_process_group()
    if args.result and rank == 0:
        with open(args.result, "w") as fh:
            json.dump(
                {
                    "class": class_name,
                    "scheduler": scheduler_name,
                    "lrs": lrs,
                    "world_size": world,
                    "backend": backend,
                    "argv0": sys.argv[0],
                    "path0": sys.path[0],
                },
                fh,
            )
    return args.exit_code


if __name__ == "__main__":
    sys.exit(main())
