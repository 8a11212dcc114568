"""A Lightning Fabric training loop with RAdam and the warmup detector as a Fabric callback.

Fabric calls ``on_after_optimizer_step`` on its callbacks after every ``optimizer.step()``, so
``FabricWarmupDetectorCallback`` sees every step without a line in the loop; it logs through
``fabric.log_dict`` (a CSVLogger here). The loop saves a checkpoint with the callback in it, so a
resumed run (``--resume``) continues the same detection:

    python recipes/fabric_loop.py                              # 600 steps, ~1 min on CPU
    python recipes/fabric_loop.py --max-steps 300              # writes runs/fabric_loop/checkpoint.ckpt
    python recipes/fabric_loop.py --max-steps 600 --resume runs/fabric_loop/checkpoint.ckpt

The last line printed is ``result: {...}`` (JSON). The model and data come from
``lightning_configure_optimizers.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling recipe, however this is run

try:
    from lightning.fabric import Fabric
    from lightning.fabric.loggers import CSVLogger
except ImportError:  # only pytorch-lightning (which brings lightning-fabric) installed
    from lightning_fabric import Fabric
    from lightning_fabric.loggers import CSVLogger

from lightning_configure_optimizers import TinyLM, entropy_rate, markov_chain, markov_tokens

from radam_integrations import RAdam
from radam_integrations.integrations.lightning import FabricWarmupDetectorCallback


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--max-steps", type=int, default=600, help="total optimizer steps (resumed ones included)"
    )
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--beta2", type=float, default=0.99)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--every", type=int, default=10, help="detector evaluation period (steps)")
    parser.add_argument("--plot", action="store_true", help="also write warmup_history.png (matplotlib)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", default=None, help="a checkpoint written by an earlier run")
    parser.add_argument("--output-dir", default="runs/fabric_loop")
    args = parser.parse_args(argv)

    warmup = FabricWarmupDetectorCallback(every=args.every, plot=args.plot)
    fabric = Fabric(
        accelerator="cpu",
        devices=1,
        callbacks=[warmup],
        loggers=CSVLogger(args.output_dir, name="logs"),
    )
    fabric.seed_everything(args.seed)
    torch.set_num_threads(min(torch.get_num_threads(), 4))
    transitions = markov_chain(32, args.seed)
    tokens = markov_tokens(4096, 33, transitions, args.seed)

    model = TinyLM()
    optimizer = RAdam(
        model.parameters(),
        lr=args.lr,
        betas=(0.9, args.beta2),
        weight_decay=0.01,
        decoupled_weight_decay=True,
    )
    # fabric.setup(...) calls the callback's on_after_setup, which is how it finds fabric.log_dict
    model, optimizer = fabric.setup(model, optimizer)
    state = {"model": model, "optimizer": optimizer, "warmup": warmup, "step": 0}
    if args.resume:
        fabric.load(args.resume, state)  # restores the detector too: same T, counters, history
        fabric.print(f"resumed at step {state['step']}")

    order = torch.Generator().manual_seed(args.seed)
    losses: list[float] = []
    for step in range(state["step"], args.max_steps):
        # the batch depends only on the step, so a resumed run sees what an uninterrupted one would
        order.manual_seed(args.seed * 100_003 + step)
        batch = tokens[torch.randint(len(tokens), (args.batch_size,), generator=order)]
        loss = model.loss(fabric.to_device(batch))
        optimizer.zero_grad()
        fabric.backward(loss)
        optimizer.step()  # -> warmup.on_after_optimizer_step(...)
        losses.append(float(loss.detach()))
        if (step + 1) % 100 == 0:
            fabric.print(f"step {step + 1}: loss {sum(losses[-50:]) / len(losses[-50:]):.4f}")
        fabric.log("train_loss", losses[-1], step=step + 1)
    state["step"] = args.max_steps

    checkpoint = Path(args.output_dir) / "checkpoint.ckpt"
    fabric.save(checkpoint, state)
    fabric.call("on_train_end")  # prints the summary, writes warmup_history.json next to metrics.csv
    fabric.logger.finalize("success")

    (detector,) = warmup.detectors
    recent = losses[-50:]
    result = {
        "optimizer": type(detector.optimizer).__module__ + "." + type(detector.optimizer).__qualname__,
        "steps": args.max_steps,
        "final_loss": round(sum(recent) / len(recent), 4) if recent else None,  # this run's steps only
        "last_loss": losses[-1] if losses else None,
        "loss_floor": round(entropy_rate(transitions, tokens), 4),
        "evaluations": detector.evaluations,
        "history_steps": [record["step"] for record in detector.history],
        "settled_step": detector.settled_step,
        "suggested_warmup_steps": detector.suggested_warmup_steps,
        "checkpoint": str(checkpoint),
        "log_dir": fabric.logger.log_dir,
    }
    print(f"result: {json.dumps(result)}")
    return result


if __name__ == "__main__":
    main()
