"""The worker of test_integration_accelerate's two-process test, one per rank.

    ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 \
        tests/scripts/accelerate_worker.py OUT_DIR

Each rank writes ``result_rank<r>.json`` (what it computed) and rank 0 ``log_rank0.jsonl`` (what
``accelerator.log`` received); the test compares them with one process.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.tracking import GeneralTracker

from radam_integrations import RAdam
from radam_integrations.integrations.accelerate import AccelerateWarmupDetector
from tests.helpers import accelerate_loop as loop
from tests.scripts.distributed.common import run_then_shut_down


class FileTracker(GeneralTracker):
    """Appends each ``accelerator.log`` call to a JSON-lines file (for the two-process worker)."""

    name = "file"
    requires_logging_directory = False

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    @property
    def tracker(self) -> Path:
        return self.path

    def log(self, values: dict, step: int | None = None, **kwargs: Any) -> None:
        with self.path.open("a") as fh:
            fh.write(json.dumps({"step": step, "values": values}) + "\n")


def main(out_dir: Path) -> None:
    """Runs in each of the two processes."""
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    accelerator = Accelerator(log_with=[FileTracker(out_dir / f"log_rank{rank}.jsonl")])
    accelerator.init_trackers("worker")
    result: dict[str, Any] = {
        "rank": accelerator.process_index,
        "world_size": accelerator.num_processes,
        "backend": dist.get_backend() if dist.is_initialized() else None,
        "distributed_type": accelerator.distributed_type.value,
    }

    # DDP: each rank gets its half of the global batch; the helper is given the raw optimizer before prepare.
    model = loop.model()
    raw = RAdam(model.parameters(), lr=1e-2, betas=loop.BETAS)
    helper = AccelerateWarmupDetector(accelerator, raw, every=2, metrics="all")
    model, optimizer = accelerator.prepare(model, raw)
    half = slice(16 * rank, 16 * (rank + 1))
    returned = loop.train(
        model, optimizer, helper.update, range(1, 21), backward=accelerator.backward, rows=half
    )
    result["returned"] = returned

    # Sharded: each rank owns a different tensor (as with ZeRO or FSDP), summed over ranks by the detector.
    def steps(param: torch.nn.Parameter, opt: RAdam, det: AccelerateWarmupDetector, span: range) -> dict:
        got = {}
        for step in span:
            gen = torch.Generator().manual_seed(10_000 * rank + step)
            param.grad = (1.0 + rank) * torch.randn(param.shape, generator=gen)
            opt.step()
            metrics = det.update()
            if metrics is not None:
                got[step] = metrics
        return got

    saver = Accelerator()  # a second Accelerator object: its own registered objects, the same processes
    torch.manual_seed(100 + rank)
    param = torch.nn.Parameter(torch.randn(600))
    opt = RAdam([param], lr=1e-2, betas=loop.BETAS)
    det = AccelerateWarmupDetector(saver, opt, every=2, sharded=True, sample_size=256)
    steps(param, opt, det, range(1, 11))
    ckpt = out_dir / "sharded_ckpt"
    saver.save_state(str(ckpt))  # every rank's state_dict() (a gather); rank 0 writes it
    result["memory_at_save"] = det.detector.state_dict()["groups"]
    snapshot = (param.detach().clone(), copy.deepcopy(opt.state_dict()))
    result["uninterrupted"] = steps(param, opt, det, range(11, 21))
    saver.wait_for_everyone()

    loader = Accelerator()
    param2 = torch.nn.Parameter(snapshot[0].clone())
    opt2 = RAdam([param2], lr=1e-2, betas=loop.BETAS)
    opt2.load_state_dict(snapshot[1])
    det2 = AccelerateWarmupDetector(loader, opt2, every=2, sharded=True, sample_size=256)
    loader.load_state(str(ckpt))  # every rank reads rank 0's file and takes its own part
    result["memory_after_load"] = det2.detector.state_dict()["groups"]
    result["resumed"] = steps(param2, opt2, det2, range(11, 21))

    (out_dir / f"result_rank{rank}.json").write_text(json.dumps(result))
    accelerator.wait_for_everyone()  # no rank tears the process group down while another still uses it
    accelerator.end_training()


if __name__ == "__main__":
    warnings.simplefilter("ignore", UserWarning)
    run_then_shut_down(main, Path(sys.argv[1]))
