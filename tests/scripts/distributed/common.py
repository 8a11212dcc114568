"""Helpers for scripts launched with ``torchrun --standalone --nproc_per_node 2`` (gloo, CPU)."""

from __future__ import annotations

import json
import os
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
