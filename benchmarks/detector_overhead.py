"""Training-step time with and without the warmup detector (or AutoWarmup), side by side in one process.

Two identical copies of the demo-sized model (post-LN Transformer) train with
radam_integrations.RAdam on the same random token batches. Blocks of ``every`` steps
(each holding exactly one detector evaluation, as in steady-state training) alternate
between the copy with the detector and the copy without, and the overhead is reported
two ways:

* ``block``: median block time with the detector / median without - 1;
* ``direct``: total time spent inside ``detector.update()`` / total step time of that copy
  (less noisy: it does not depend on two separate medians).

``--what autowarmup``: AdamW with ``AutoWarmup`` against AdamW with a ``LambdaLR`` (the
scheduler a fixed warmup would use); ``direct`` is then the time inside ``AutoWarmup.step()``
less the time inside ``LambdaLR.step()``, over the step time. ``--d-model``/``--layers`` scale
the model (``d_ff = 4 d_model``).

    python benchmarks/detector_overhead.py                 # defaults: every=10, sample 4096
    python benchmarks/detector_overhead.py --blocks 20 --every 20
    python benchmarks/detector_overhead.py --what autowarmup --d-model 256 --layers 6
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from radam_integrations import RAdam, WarmupDetector
from radam_integrations.experimental import AutoWarmup
from radam_integrations.files import write_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))  # the lab, from a checkout
from warmup_ablation.model import ModelConfig, PostLNTransformer
from warmup_ablation.threads import set_program_threads


def make(seed: int, config: ModelConfig, what: str) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = PostLNTransformer(config)
    if what == "autowarmup":
        return model, torch.optim.AdamW(model.parameters(), lr=1e-3)
    return model, RAdam(model.parameters(), lr=1e-3)


def observers(what: str, with_opt, without_opt, args) -> tuple:
    """What runs after each step of the copy with the measurement, and of the copy without."""
    if what == "autowarmup":
        sched = AutoWarmup(with_opt, every=args.every, sample_size=args.sample_size)
        plain = torch.optim.lr_scheduler.LambdaLR(without_opt, lambda step: 1.0)
        return sched.step, plain.step
    detector = WarmupDetector(with_opt, every=args.every, sample_size=args.sample_size)
    return detector.update, lambda: None


def train_step(model: torch.nn.Module, opt: torch.optim.Optimizer, tokens: torch.Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    logits = model(tokens[:, :-1])
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
    loss.backward()
    opt.step()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--blocks", type=int, default=30, help="timed blocks per copy")
    parser.add_argument("--every", type=int, default=10, help="detector evaluation period (its default)")
    parser.add_argument("--sample-size", type=int, default=4096, help="elements sampled per group")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=33)
    parser.add_argument("--what", choices=("detector", "autowarmup"), default="detector")
    parser.add_argument("--d-model", type=int, default=ModelConfig.d_model)
    parser.add_argument("--layers", type=int, default=ModelConfig.n_layers)
    parser.add_argument("--threads", type=int, help="torch threads (default: OMP_NUM_THREADS if set, else 1)")
    parser.add_argument("--out", type=Path, default=None, help="benchmarks/results/<what>_overhead.json")
    args = parser.parse_args(argv)
    set_program_threads(args.threads, parser.error)  # this program's own choice
    out = args.out or Path(f"benchmarks/results/{args.what}_overhead.json")

    config = ModelConfig(d_model=args.d_model, n_layers=args.layers, d_ff=4 * args.d_model)
    with_model, with_opt = make(0, config, args.what)
    without_model, without_opt = make(0, config, args.what)
    measure, baseline = observers(args.what, with_opt, without_opt, args)
    gen = torch.Generator().manual_seed(0)
    batches = [
        torch.randint(0, config.vocab_size, (args.batch_size, args.seq_len), generator=gen) for _ in range(8)
    ]
    n_params = sum(p.numel() for p in with_model.parameters())
    n_tensors = sum(1 for _ in with_model.parameters())

    # Warm up both copies past the early evaluations (steps 1, 2, 4, 8) and the unrectified phase.
    for i in range(2 * args.every):
        train_step(with_model, with_opt, batches[i % 8])
        measure()
        train_step(without_model, without_opt, batches[i % 8])
        baseline()

    blocks_with, blocks_without, in_update, step_total, in_baseline = [], [], 0.0, 0.0, 0.0
    for b in range(args.blocks):
        for copy in ("with", "without") if b % 2 == 0 else ("without", "with"):
            t0 = time.perf_counter()
            for i in range(args.every):
                tokens = batches[i % 8]
                if copy == "with":
                    s0 = time.perf_counter()
                    train_step(with_model, with_opt, tokens)
                    u0 = time.perf_counter()
                    measure()
                    u1 = time.perf_counter()
                    in_update += u1 - u0
                    step_total += u1 - s0
                else:
                    train_step(without_model, without_opt, tokens)
                    b0 = time.perf_counter()
                    baseline()
                    in_baseline += time.perf_counter() - b0
            (blocks_with if copy == "with" else blocks_without).append(time.perf_counter() - t0)
        print(f"\rblock {b + 1}/{args.blocks}", end="", file=sys.stderr)
    print(file=sys.stderr)

    med_with, med_without = statistics.median(blocks_with), statistics.median(blocks_without)
    result = {
        "what": args.what,
        "params": n_params,
        "tensors": n_tensors,
        "every": args.every,
        "sample_size": args.sample_size,
        "evaluations_timed": args.blocks,
        "median_block_ms_with": 1e3 * med_with,
        "median_block_ms_without": 1e3 * med_without,
        "median_step_ms_without": 1e3 * med_without / args.every,
        "overhead_block_pct": 100 * (med_with / med_without - 1),
        "overhead_direct_pct": 100 * (in_update - in_baseline) / (step_total - in_update),
        "mean_update_ms": 1e3 * in_update / (args.blocks * args.every),
        "mean_baseline_ms": 1e3 * in_baseline / (args.blocks * args.every),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    name = "AutoWarmup (AdamW; baseline: LambdaLR)" if args.what == "autowarmup" else "the detector"
    inside = "AutoWarmup.step() - LambdaLR.step()" if args.what == "autowarmup" else "update()"
    print(
        f"model: {n_params / 1e6:.2f}M parameters in {n_tensors} tensors; {name}, every={args.every}, "
        f"sample size {args.sample_size}"
    )
    print(
        f"median block of {args.every} steps: {result['median_block_ms_without']:.1f} ms without, "
        f"{result['median_block_ms_with']:.1f} ms with {name}"
    )
    print(
        f"overhead: {result['overhead_direct_pct']:.2f}% (time inside {inside} / step time), "
        f"{result['overhead_block_pct']:+.2f}% (ratio of block medians; noisier)"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, result, indent=2)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
