"""Run by tests/test_resume_torch.py in fresh processes: train, checkpoint, resume with torch.save.

    python -m tests.scripts.resume_torch MODE PATH_KIND OUT_DIR
MODE: full (N+M steps) | first (N steps, save) | second (load, M steps)
PATH_KIND: fused | foreach | single | torch-foreach (torch.optim.RAdam) | ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from radam_integrations import RAdam, WarmupDetector
from radam_integrations.checkpoint import load_checkpoint, save_checkpoint

N, M = 7, 25
KINDS = {
    "fused": lambda ps: RAdam(ps, lr=1e-2, weight_decay=0.05, decoupled_weight_decay=True, fused=True),
    "foreach": lambda ps: RAdam(ps, lr=1e-2, weight_decay=0.05, decoupled_weight_decay=True, foreach=True),
    "single": lambda ps: RAdam(ps, lr=1e-2, weight_decay=0.05, decoupled_weight_decay=True, foreach=False),
    "capturable": lambda ps: RAdam(
        ps, lr=1e-2, weight_decay=0.05, decoupled_weight_decay=True, capturable=True
    ),
    "torch-foreach": lambda ps: torch.optim.RAdam(
        ps, lr=1e-2, weight_decay=0.05, decoupled_weight_decay=True, foreach=True
    ),
}


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.GELU(), torch.nn.Linear(12, 2))


def data(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1000 + step)  # batch depends on the global step only
    return torch.randn(16, 6, generator=gen), torch.randn(16, 2, generator=gen)


def train(net, opt, detector, start: int, stop: int) -> None:
    for step in range(start, stop):
        x, y = data(step)
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        opt.step()
        detector.update()


def main(mode: str, kind: str, out: str, load_kind: str | None = None) -> None:
    out_dir = Path(out)
    net = model()
    opt = KINDS[load_kind or kind](net.parameters())
    detector = WarmupDetector(opt, every=5)
    if mode == "full":
        train(net, opt, detector, 0, N + M)
    elif mode == "first":
        train(net, opt, detector, 0, N)
        save_checkpoint(out_dir / "ckpt.pt", model=net, optimizer=opt, detector=detector, extra={"step": N})
        return
    elif mode == "second":
        extra = load_checkpoint(out_dir / "ckpt.pt", model=net, optimizer=opt, detector=detector)
        train(net, opt, detector, extra["step"], N + M)
    params = [p.detach().tolist() for p in net.parameters()]
    (out_dir / f"{mode}.json").write_text(
        json.dumps(
            {
                "params": params,
                "optimizer": type(opt).__module__ + "." + type(opt).__name__,
                "settled": detector.settled_step,
                "evaluations": detector.evaluations,
                "history": detector.history,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
