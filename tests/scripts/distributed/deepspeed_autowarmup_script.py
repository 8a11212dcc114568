"""AutoWarmup under DeepSpeed ZeRO 1/2/3 on 2 CPU ranks (gloo): the multipliers from the shards
equal those of an unsharded run on the global batch, through three routes.

* ``built``: ``AutoWarmup(zero_optimizer)`` on the ZeRO optimizer ``deepspeed.initialize``
  returned, stepped by the loop after ``engine.step()`` (the wrapper announces the sharding);
* ``callable``: ``deepspeed.initialize(lr_scheduler=AutoWarmup)``: DeepSpeed calls it with its
  basic optimizer (the HF Trainer's route when the DeepSpeed config names the optimizer);
* ``object``: ``AutoWarmup(client_optimizer)`` built before ``deepspeed.initialize(lr_scheduler=
  scheduler)`` (Accelerate's ``prepare(model, optimizer, scheduler)`` and the HF Trainer's route
  with its own optimizer). In the last two the ZeRO partitions are per-rank state that nothing
  announces: the ranks are compared once. DeepSpeed steps the scheduler inside ``engine.step()``.
  ZeRO-3 empties the basic optimizer's param_groups between steps, so those two routes cannot
  see its state: the scheduler must refuse at the first step rather than hold the prior.

And ``RAdam(rectify="measured")`` as the client optimizer: its measurement runs inside its step,
on its ZeRO partition, so the ranks are compared and the partitions summed the same way.

    python -m torch.distributed.run --standalone --nproc_per_node 2 \\
        -m tests.scripts.distributed.deepspeed_autowarmup_script STAGE OUT
"""

from __future__ import annotations

import sys

import deepspeed
import torch
import torch.distributed as dist

from radam_integrations import AutoWarmup, RAdam
from tests.scripts.distributed.common import write_json
from tests.scripts.distributed.deepspeed_script import batches, build

STEPS = 24
OPTIONS = {"every": 4, "sample_size": None}  # every element: the statistics are exact sums


def client() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = build()
    return model, torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)


def sharded_run(stage: int, route: str, rank: int) -> tuple[list[list[float]], torch.Tensor, bool]:
    model, optimizer = client()
    scheduler = AutoWarmup(optimizer, **OPTIONS) if route == "object" else None
    config = {
        "train_micro_batch_size_per_gpu": 4,
        "zero_optimization": {"stage": stage},
        "zero_allow_untested_optimizer": True,
    }
    if route == "callable":
        scheduler = lambda opt: AutoWarmup(opt, **OPTIONS)  # noqa: E731
    engine, zero_optimizer, _, scheduler = deepspeed.initialize(
        model=model, optimizer=optimizer, config=config, lr_scheduler=scheduler
    )
    if route == "built":
        scheduler = AutoWarmup(zero_optimizer, **OPTIONS)
    assert isinstance(scheduler, AutoWarmup)
    data, multipliers = batches(), []
    for step in range(STEPS):
        x, y = data[step % len(data)]
        x, y = x[rank * 4 : (rank + 1) * 4], y[rank * 4 : (rank + 1) * 4]
        engine.backward(torch.nn.functional.mse_loss(engine(x), y))
        engine.step()  # steps the scheduler it was given
        if route == "built":
            scheduler.step()
        multipliers.append(scheduler.multipliers())
    with deepspeed.zero.GatheredParameters(list(engine.module.parameters()), enabled=stage == 3):
        params = torch.cat([p.detach().reshape(-1).clone() for p in engine.module.parameters()])
    return multipliers, params, scheduler.rectifier.detector.sharded


def reference_run() -> tuple[list[list[float]], torch.Tensor]:
    model, optimizer = client()
    scheduler = AutoWarmup(optimizer, **OPTIONS)
    data, multipliers = batches(), []
    for step in range(STEPS):
        x, y = data[step % len(data)]
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        scheduler.step()
        multipliers.append(scheduler.multipliers())
    return multipliers, torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def radam_measured_run(stage: int | None, rank: int) -> tuple[list[float], torch.Tensor]:
    """RAdam(rectify="measured") under ZeRO ``stage`` (``None``: unsharded, the global batch)."""
    model = build()
    optimizer = RAdam(model.parameters(), lr=1e-2, rectify="measured", rectify_options=OPTIONS)
    if stage is not None:
        config = {"train_micro_batch_size_per_gpu": 4, "zero_optimization": {"stage": stage},
                  "zero_allow_untested_optimizer": True}  # fmt: skip
        engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=config)
    data, multipliers = batches(), []
    for step in range(STEPS):
        x, y = data[step % len(data)]
        if stage is None:
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        else:
            x, y = x[rank * 4 : (rank + 1) * 4], y[rank * 4 : (rank + 1) * 4]
            engine.backward(torch.nn.functional.mse_loss(engine(x), y))
            engine.step()
        multipliers.append(optimizer.measured_rectification.multiplier(0))
    module = model if stage is None else engine.module
    with deepspeed.zero.GatheredParameters(list(module.parameters()), enabled=stage == 3):
        params = torch.cat([p.detach().reshape(-1).clone() for p in module.parameters()])
    return multipliers, params


def main(stage: str, out: str) -> None:
    deepspeed.init_distributed(dist_backend="gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert world == 2 and dist.get_backend() == "gloo", (world, dist.get_backend())
    ref_multipliers, ref_params = reference_run()
    result = {"world_size": world, "backend": dist.get_backend(), "reference": ref_multipliers, "routes": {}}
    for route in ("built", "callable", "object"):
        try:
            multipliers, params, sharded = sharded_run(int(stage), route, rank)
        except RuntimeError as err:
            result["routes"][route] = {"error": str(err)}
            continue
        result["routes"][route] = {
            "multipliers": multipliers,
            "sharded": sharded,
            "param_max_abs_diff": (params - ref_params).abs().max().item(),
        }
    (multipliers, params), (ref_multipliers, ref_params) = [
        radam_measured_run(zero, rank) for zero in (int(stage), None)
    ]
    result["radam_measured"] = {
        "multipliers": multipliers,
        "reference": ref_multipliers,
        "param_max_abs_diff": (params - ref_params).abs().max().item(),
    }
    write_json(out, f"autowarmup_zero{stage}_rank{rank}.json", result)
    dist.barrier()


if __name__ == "__main__":
    main(*sys.argv[1:])
