"""FSDP2 (fully_shard), 2 ranks: RAdam on DTensor shards matches an unsharded run; the detector's
global statistics from the shards equal the unsharded run's, and so do the measured multipliers
(AutoWarmup with AdamW, and MeasuredRAdam)."""

from __future__ import annotations

import sys

import torch
from torch.distributed.fsdp import fully_shard

from radam_integrations import RAdam, WarmupDetector
from radam_integrations.experimental import AutoWarmup, MeasuredRAdam
from tests.scripts.distributed.common import env_summary, init_gloo, run_then_shut_down, write_json

PATHS = {"fused": {"fused": True}, "foreach": {"foreach": True}, "single": {"foreach": False}, "auto": {}}


def build():
    torch.manual_seed(0)
    # 7 output rows: uneven shards (4 + 3); the last layer's single row leaves rank 1 an empty shard.
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 1)).double()


def batches():
    gen = torch.Generator().manual_seed(1)
    return [
        (
            torch.randn(8, 5, generator=gen, dtype=torch.float64),
            torch.randn(8, 1, generator=gen, dtype=torch.float64),
        )
        for _ in range(3)
    ]


def train(model, opt, detector, data, steps, rank=None):
    for step in range(steps):
        x, y = data[step % len(data)]
        if rank is not None:
            x, y = x[rank * 4 : (rank + 1) * 4], y[rank * 4 : (rank + 1) * 4]
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        detector.update()


def main(out_dir: str) -> None:
    rank, _ = init_gloo()
    data = batches()
    result = {"env": env_summary(), "paths": {}}
    for name, kwargs in PATHS.items():
        sharded = build()
        for layer in (sharded[0], sharded[2]):
            fully_shard(layer)
        fully_shard(sharded)
        opt = RAdam(sharded.parameters(), lr=1e-2, weight_decay=0.01, decoupled_weight_decay=True, **kwargs)
        detector = WarmupDetector(opt, every=5, sample_size=None)
        train(sharded, opt, detector, data, 20, rank)
        assert detector.sharded, "DTensor state must be detected as sharded"
        state_type = type(opt.state[next(iter(sharded.parameters()))]["exp_avg_sq"]).__name__
        full = torch.cat([p.full_tensor().reshape(-1) for p in sharded.parameters()])

        reference = build()
        ref_opt = RAdam(
            reference.parameters(), lr=1e-2, weight_decay=0.01, decoupled_weight_decay=True, **kwargs
        )
        ref_detector = WarmupDetector(ref_opt, every=5, sample_size=None)
        train(reference, ref_opt, ref_detector, data, 20)
        ref_full = torch.cat([p.detach().reshape(-1) for p in reference.parameters()])
        result["paths"][name] = {
            "state_type": state_type,
            "param_max_rel_diff": ((full - ref_full).abs().max() / ref_full.abs().max()).item(),
            "sums": detector.raw_sums(),
            "ref_sums": ref_detector.raw_sums(),
            "settled": [detector.settled_step, ref_detector.settled_step],
            "evaluations": [detector.evaluations, ref_detector.evaluations],
        }
    result["measured"] = measured_runs(data, rank)
    write_json(out_dir, f"fsdp2_rank{rank}.json", result)


def measured_runs(data, rank):
    """Per form, the multipliers (or the parameters' gap) of the sharded and the unsharded run."""
    out = {}
    for form in ("autowarmup", "radam_measured"):
        runs = []
        for shard in (True, False):
            model = build()
            if shard:
                for layer in (model[0], model[2]):
                    fully_shard(layer)
                fully_shard(model)
            options = {"every": 5, "sample_size": None}
            if form == "autowarmup":
                opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
                sched = AutoWarmup(opt, **options)
                read = sched.multipliers
            else:
                opt = MeasuredRAdam(model.parameters(), lr=1e-2, config=options)
                sched, read = None, lambda opt=opt: [opt.measured_rectification.multiplier(0)]
            multipliers = []
            for step in range(20):
                x, y = data[step % len(data)]
                if shard:
                    x, y = x[rank * 4 : (rank + 1) * 4], y[rank * 4 : (rank + 1) * 4]
                opt.zero_grad()
                torch.nn.functional.mse_loss(model(x), y).backward()
                opt.step()
                if sched is not None:
                    sched.step()
                multipliers.append(read()[0])
            params = [p.full_tensor() if shard else p.detach() for p in model.parameters()]
            runs.append((multipliers, torch.cat([p.reshape(-1) for p in params])))
        (mult, params), (ref_mult, ref_params) = runs
        out[form] = {
            "multipliers": mult,
            "reference": ref_mult,
            "param_max_rel_diff": ((params - ref_params).abs().max() / ref_params.abs().max()).item(),
        }
    return out


if __name__ == "__main__":
    run_then_shut_down(main, sys.argv[1])
