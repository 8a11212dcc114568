"""Helpers for scripts launched with ``torchrun --standalone --nproc_per_node 2`` (gloo, CPU)."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist


def init_gloo() -> tuple[int, int]:
    """Initialise the default process group and assert the setting every test relies on."""
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert world == 2, f"expected 2 processes, got world_size={world}"
    assert dist.get_backend() == "gloo", dist.get_backend()
    torch.manual_seed(0)
    return rank, world


def write_json(out_dir: str, name: str, payload: Any) -> None:
    path = Path(out_dir) / name
    path.write_text(json.dumps(payload, indent=1, default=float))


def env_summary() -> dict[str, Any]:
    return {"world_size": dist.get_world_size(), "backend": dist.get_backend(), "rank": dist.get_rank(),
            "local_world": int(os.environ.get("LOCAL_WORLD_SIZE", "0"))}  # fmt: skip


def run_then_shut_down(main: Callable[..., Any], *args: Any) -> None:
    """Run ``main(*args)``, then tear the process group down while the interpreter is still whole.

    A gloo process group that is still referenced when the interpreter finalizes (by a DDP or FSDP
    wrapper, a DeepSpeed engine, a Lightning or Accelerate object, even after
    ``destroy_process_group()``) is destructed during finalization, and under load that sometimes
    aborts the process: ``terminate called without an active exception`` (SIGABRT) from its
    threads. So ``main``'s objects are freed first (it has returned; ``gc.collect()`` breaks their
    cycles), then the ranks meet and the group is destroyed, and nothing that holds it is left.
    """
    main(*args)
    gc.collect()
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    gc.collect()
