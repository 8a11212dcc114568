"""The measured rectification under DeepSpeed ZeRO 1/2/3 on 2 CPU ranks (gloo): the multipliers from
the shards equal those of an unsharded run on the global batch.

AutoWarmup with AdamW, through three routes:

* ``built``: ``AutoWarmup(zero_optimizer)`` on the ZeRO optimizer ``deepspeed.initialize``
  returned, stepped by the loop after ``engine.step()`` (the wrapper announces the sharding);
* ``callable``: ``deepspeed.initialize(lr_scheduler=AutoWarmup)``: DeepSpeed calls it with its
  basic optimizer (the HF Trainer's route when the DeepSpeed config names the optimizer);
* ``object``: ``AutoWarmup(client_optimizer)`` built before ``deepspeed.initialize(lr_scheduler=
  scheduler)`` (Accelerate's ``prepare(model, optimizer, scheduler)`` and the HF Trainer's route
  with its own optimizer). In the last two the ZeRO partitions are per-rank state that nothing
  announces: the ranks are compared once. DeepSpeed steps the scheduler inside ``engine.step()``.
  ZeRO-3 leaves the basic optimizer's ``param_groups`` empty after its step: these two routes must
  refuse there, with an error naming ``AutoWarmup(engine.optimizer)``.
* ``built_subgroups`` (ZeRO-3): ``built`` with sub-groups of 30 elements (DeepSpeed steps its
  basic optimizer once per sub-group; the ZeRO optimizer's layout maps them to the groups).
* ``object_2groups``: ``object`` with two parameter groups (weights, biases); ZeRO-1/2 narrow the
  basic optimizer's ``param_groups`` to one group during its step and restore them after.

And ``MeasuredRAdam`` as the client optimizer: its measurement runs inside its step,
on its ZeRO partition, so the ranks are compared and the partitions summed the same way. With two
parameter groups, or ZeRO-3 sub-groups, DeepSpeed hands it one part per call, which it must refuse.

    python -m torch.distributed.run --standalone --nproc_per_node 2 \\
        -m tests.scripts.distributed.deepspeed_autowarmup_script STAGE OUT
"""

from __future__ import annotations

import sys
from functools import partial

import deepspeed
import torch
import torch.distributed as dist

from radam_integrations.experimental import AutoWarmup, MeasuredRAdam
from tests.scripts.distributed.common import run_then_shut_down, write_json
from tests.scripts.distributed.deepspeed_script import batches, build

STEPS = 24
OPTIONS = {"every": 4, "sample_size": None}  # every element: the statistics are exact sums


def client(form: str, groups: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = build()
    if groups == 2:
        weights = [p for p in model.parameters() if p.dim() > 1]
        biases = [p for p in model.parameters() if p.dim() == 1]
        params = [{"params": weights}, {"params": biases, "weight_decay": 0.0}]
    else:
        params = list(model.parameters())
    if form == "radam_measured":
        return model, MeasuredRAdam(params, lr=1e-2, config=OPTIONS)
    return model, torch.optim.AdamW(params, lr=1e-2, weight_decay=0.01)


def run(
    form: str,
    route: str | None,
    stage: int | None,
    rank: int,
    groups: int = 1,
    sub_group_size: int | None = None,
) -> dict:
    """One run: ``stage=None`` is the unsharded reference on the global batch."""
    model, optimizer = client(form, groups)
    scheduler = None
    if form == "autowarmup":
        if route == "object" or stage is None:
            scheduler = AutoWarmup(optimizer, **OPTIONS)
        elif route == "callable":
            scheduler = lambda opt: AutoWarmup(opt, **OPTIONS)  # noqa: E731
    engine = None
    if stage is not None:
        config = {"train_micro_batch_size_per_gpu": 4, "zero_optimization": {"stage": stage},
                  "zero_allow_untested_optimizer": True}  # fmt: skip
        if sub_group_size is not None:  # ZeRO-3 steps the basic optimizer once per sub-group
            config["zero_optimization"]["sub_group_size"] = sub_group_size
        engine, zero_optimizer, _, given = deepspeed.initialize(
            model=model, optimizer=optimizer, config=config, lr_scheduler=scheduler
        )
        scheduler = AutoWarmup(zero_optimizer, **OPTIONS) if route == "built" else given
    if form == "radam_measured":
        read = lambda: [optimizer.measured_rectification.multiplier(g) for g in range(groups)]  # noqa: E731
    else:
        assert isinstance(scheduler, AutoWarmup)
        read = scheduler.multipliers
    data, multipliers = batches(), []
    for step in range(STEPS):
        x, y = data[step % len(data)]
        if engine is None:
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        else:
            x, y = x[rank * 4 : (rank + 1) * 4], y[rank * 4 : (rank + 1) * 4]
            engine.backward(torch.nn.functional.mse_loss(engine(x), y))
            engine.step()  # steps the scheduler DeepSpeed was given
        if scheduler is not None and (engine is None or route == "built"):
            scheduler.step()
        multipliers.append(read())
    module = model if engine is None else engine.module
    with deepspeed.zero.GatheredParameters(list(module.parameters()), enabled=stage == 3):
        params = torch.cat([p.detach().reshape(-1).clone() for p in module.parameters()])
    detector = (scheduler.rectifier if form == "autowarmup" else optimizer.measured_rectification).detector
    return {"multipliers": multipliers, "params": params, "sharded": detector.sharded}


def compared(make_result, reference: dict) -> dict:
    """The run's multipliers beside the reference's, or the error it stopped with."""
    try:
        result = make_result()
    except RuntimeError as err:
        return {"error": str(err)}
    return {
        "multipliers": result["multipliers"],
        "reference": reference["multipliers"],
        "sharded": result["sharded"],
        "param_max_abs_diff": (result["params"] - reference["params"]).abs().max().item(),
    }


def main(stage: str, out: str) -> None:
    deepspeed.init_distributed(dist_backend="gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert world == 2 and dist.get_backend() == "gloo", (world, dist.get_backend())
    zero = int(stage)
    references = {g: run("autowarmup", None, None, rank, groups=g) for g in (1, 2)}
    result = {"world_size": world, "backend": dist.get_backend(), "routes": {}}
    for route in ("built", "callable", "object"):
        result["routes"][route] = compared(partial(run, "autowarmup", route, zero, rank), references[1])
    two = partial(run, "autowarmup", "object", zero, rank, groups=2)
    result["routes"]["object_2groups"] = compared(two, references[2])
    if zero == 3:  # 66 elements in sub-groups of 30: three optimizer calls per step
        small = partial(run, "autowarmup", "built", zero, rank, sub_group_size=30)
        result["routes"]["built_subgroups"] = compared(small, references[1])
    cases = [(1, None, "radam_measured"), (2, None, "radam_measured_2groups")]
    if zero == 3:
        cases.append((1, 30, "radam_measured_subgroups"))
    for groups, size, key in cases:
        reference = run("radam_measured", None, None, rank, groups=groups)
        sharded = partial(run, "radam_measured", None, zero, rank, groups=groups, sub_group_size=size)
        result[key] = compared(sharded, reference)
    write_json(out, f"autowarmup_zero{stage}_rank{rank}.json", result)


if __name__ == "__main__":
    run_then_shut_down(main, *sys.argv[1:])
