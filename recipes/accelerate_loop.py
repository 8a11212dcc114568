"""RAdam in a plain Accelerate training loop, with the warmup detector and a checkpoint.

A small MLP learns a fixed random "teacher" MLP from generated inputs (nothing is downloaded). The loop
picks RAdam's step options for the device (``radam_kwargs_for``), checks after ``prepare`` that RAdam is
the optimizer that steps (``check_optimizer_kept``), runs the warmup detector on every rank (logged
through ``accelerator.log`` on the main process), and ends with ``accelerator.save_state``, which
includes the detector.

    python recipes/accelerate_loop.py                                  # one process, 3000 steps
    python recipes/accelerate_loop.py --steps 200 --no-plot --output-dir /tmp/acc   # settles at 120
    ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 recipes/accelerate_loop.py
    accelerate launch --multi_gpu --num_processes 2 recipes/accelerate_loop.py          # two GPUs
    accelerate launch --use_deepspeed --deepspeed_config_file recipes/deepspeed_zero2.json \\
        --num_processes 2 recipes/accelerate_loop.py                   # DeepSpeed ZeRO-2 on two GPUs

Two CPU processes need ``ACCELERATE_USE_CPU=1``: on a machine without GPUs ``--multi_gpu`` alone
silently starts two independent single processes (the script prints the world size it got).

``recipes/deepspeed_zero2.json`` offloads the optimizer to the CPU and sets
``"zero_force_ds_cpu_optimizer": false``. Without that flag Accelerate replaces RAdam with
``DeepSpeedCPUAdam`` (plain Adam; betas and eps dropped) and this script stops at
``check_optimizer_kept`` saying so. With it DeepSpeed steps RAdam on the offloaded CPU partitions,
which can be slower than its C++ CPU Adam: time a few steps. On a machine without GPUs Accelerate runs
DeepSpeed in one process only (``--num_processes 1``; with two, each process sees a world of one and
DeepSpeed rejects the batch size).

``--batch-size`` is the global batch. Accelerate splits every batch across the processes
(``split_batches=True``) and DDP averages their gradients, so any number of processes takes the same
steps as one process on the whole batch. ``--resume-from OUTPUT_DIR/checkpoint`` continues a run to
``--steps``.

Logging: with ``--log-with tensorboard`` (or wandb, mlflow, ...; each needs its package) the loss and
the detector's metrics go to that tracker. Accelerate has no tracker that needs no extra package, so
without ``--log-with`` the script passes ``log=False`` to ``AccelerateWarmupDetector`` (which would
otherwise warn that ``accelerator.log`` drops its metrics): the detection runs all the same, and
``detector.finish`` prints its summary and writes ``warmup_history.json`` and, when matplotlib is
installed (``--no-plot``: never), ``warmup_history.png`` into ``--output-dir``.
``radam-integrations report OUTPUT_DIR`` prints the summary again.

Run time, measured on this project's 2-core CPU machine while other jobs shared it: the default 3000
steps take 8.5 s with ``OMP_NUM_THREADS=1`` and 75-250 s with torch's default two threads, whose
parallel regions wait on each other when the cores are busy (for a model this small one thread is the
faster choice on a loaded machine); ``--steps 200`` 3-5 s; the two-CPU-process launch above (3000
steps, one thread per process) 30 s.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch
from accelerate import Accelerator, DataLoaderConfiguration
from accelerate.utils import set_seed
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from radam_integrations import RAdam
from radam_integrations.integrations.accelerate import (
    AccelerateWarmupDetector,
    check_optimizer_kept,
    radam_kwargs_for,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="optimizer steps in total (default 3000)")
    parser.add_argument("--batch-size", type=int, default=64, help="global batch size (default 64)")
    parser.add_argument("--samples", type=int, default=8192, help="size of the generated data set")
    parser.add_argument("--width", type=int, default=128, help="hidden width of the MLP")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--beta2", type=float, default=0.999)
    parser.add_argument("--weight-decay", type=float, default=0.01, help="decoupled (RAdamW) decay")
    parser.add_argument("--every", type=int, default=10, help="warmup detector: evaluate every N steps")
    parser.add_argument("--no-plot", action="store_true", help="do not write warmup_history.png")
    parser.add_argument("--output-dir", default="runs/accelerate_loop")
    parser.add_argument("--resume-from", default=None, help="a checkpoint directory written by this script")
    parser.add_argument("--log-with", default=None, help="an Accelerate tracker: tensorboard, wandb, ...")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


class Progress:
    """The loop's position; registered for checkpointing so a resumed run knows where it stopped."""

    def __init__(self) -> None:
        self.step = 0

    def state_dict(self) -> dict[str, int]:
        return {"step": self.step}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.step = int(state["step"])


def mlp(width: int, d_in: int = 32, d_out: int = 8) -> nn.Module:
    return nn.Sequential(
        nn.Linear(d_in, width), nn.GELU(), nn.Linear(width, width), nn.GELU(), nn.Linear(width, d_out)
    )


def teacher_data(samples: int, seed: int) -> TensorDataset:
    """Inputs x ~ N(0, I) and targets from a random teacher MLP plus a little noise."""
    gen = torch.Generator().manual_seed(seed + 10_000)
    x = torch.randn(samples, 32, generator=gen)
    with torch.no_grad():
        teacher = mlp(64)
        for p in teacher.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[-1]))
        y = teacher(x) + 0.05 * torch.randn(samples, 8, generator=gen)
    return TensorDataset(x, y)


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    accelerator = Accelerator(
        dataloader_config=DataLoaderConfiguration(split_batches=True),
        log_with=args.log_with,
        project_dir=args.output_dir,
    )
    backend = torch.distributed.get_backend() if torch.distributed.is_initialized() else "none"
    accelerator.print(
        f"world_size={accelerator.num_processes} distributed_type={accelerator.distributed_type.value} "
        f"backend={backend} device={accelerator.device}"
    )
    set_seed(args.seed)
    model = mlp(args.width)
    # The data is iid already; no shuffling keeps the batch order trivial to resume.
    loader = DataLoader(teacher_data(args.samples, args.seed), batch_size=args.batch_size, drop_last=True)
    optimizer = RAdam(
        model.parameters(),
        lr=args.lr,
        betas=(0.9, args.beta2),
        weight_decay=args.weight_decay,
        decoupled_weight_decay=True,
        **radam_kwargs_for(accelerator),
    )
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    stepping = check_optimizer_kept(accelerator, optimizer)  # DeepSpeed offload may swap RAdam for Adam
    accelerator.print(f"optimizer={type(stepping).__name__} step_path={stepping.step_path()}")

    # log=False without a tracker: accelerator.log would drop the metrics (the detector would warn once)
    detector = AccelerateWarmupDetector(accelerator, optimizer, every=args.every, log=bool(args.log_with))
    progress = Progress()
    accelerator.register_for_checkpointing(progress)
    if args.log_with:
        accelerator.init_trackers("accelerate_loop", config=vars(args))
    if args.resume_from:
        accelerator.load_state(args.resume_from)
        accelerator.print(f"resumed from {args.resume_from} at step {progress.step}")

    model.train()
    loss = torch.zeros((), device=accelerator.device)
    start = time.perf_counter()
    while progress.step < args.steps:
        skip = progress.step % len(loader)  # batches of this epoch already trained on
        batches = accelerator.skip_first_batches(loader, skip) if skip else loader
        for x, y in batches:
            loss = nn.functional.mse_loss(model(x), y)
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad()
            progress.step += 1
            detector.update()  # every rank; logs on the main process when an evaluation is due
            if progress.step % 500 == 0 or progress.step == args.steps:
                mean_loss = accelerator.reduce(loss.detach(), "mean").item()
                accelerator.log({"train/loss": mean_loss}, step=progress.step)
                accelerator.print(f"step {progress.step:5d}  loss {mean_loss:.5f}")
            if progress.step == args.steps:
                break

    final_loss = accelerator.reduce(loss.detach(), "mean").item()
    accelerator.save_state(str(Path(args.output_dir) / "checkpoint"))
    # plot=None: warmup_history.png whenever matplotlib is installed
    written = detector.finish(args.output_dir, plot=False if args.no_plot else None)
    accelerator.print(
        f"final_loss={final_loss:.6f} steps={progress.step} settled_step={detector.settled_step} "
        f"evaluations={detector.evaluations} seconds={time.perf_counter() - start:.1f}"
    )
    if written:
        accelerator.print("wrote " + ", ".join(written.values()))
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return final_loss


if __name__ == "__main__":
    main()
