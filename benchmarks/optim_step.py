"""Optimizer-step time of radam_integrations.RAdam against torch, at the memory-bandwidth limit.

A RAdam step is pure memory traffic: per float32 parameter it reads param, grad, exp_avg,
exp_avg_sq and writes param, exp_avg, exp_avg_sq (28 bytes). This script times, in one
process and interleaved round by round (so machine noise hits every method alike):

* our RAdam on each step path (fused, foreach, single_tensor),
* torch.optim.RAdam with foreach=True and foreach=False,
* torch.optim.Adam(fused=True) (the kernel our fused path reuses),
* the in-place bandwidth ceiling: ``a += s * c`` over the same 28 bytes per parameter,

on parameter sets shaped like a ViT-B (152 tensors) scaled to 1M, 16M and 64M elements.
It prints medians (ms), effective GB/s, % of the ceiling and the speed-up over
torch.optim.RAdam(foreach=True), and writes the table as JSON.

    python benchmarks/optim_step.py                       # CPU, 1M / 16M / 64M
    python benchmarks/optim_step.py --sizes 1 16 --rounds 20
    python benchmarks/optim_step.py --device cuda         # CUDA events; ceiling also vs D2D copy
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from radam_integrations import RAdam
from radam_integrations.files import write_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))  # the lab, from a checkout
from warmup_ablation.threads import set_program_threads

BYTES_PER_PARAM = 28  # float32: 4 reads + 3 writes of 4 bytes


def vit_like_shapes(target_numel: int) -> list[tuple[int, ...]]:
    """152 tensor shapes of a ViT-B/16 (12 blocks) with the width scaled to ``target_numel``."""

    def shapes(d: int) -> list[tuple[int, ...]]:
        out: list[tuple[int, ...]] = [(d, 3, 16, 16), (d,), (1, 1, d), (1, 197, d)]
        for _ in range(12):
            out += [
                (d,),
                (d,),
                (3 * d, d),
                (3 * d,),
                (d, d),
                (d,),
                (d,),
                (d,),
                (4 * d, d),
                (4 * d,),
                (d, 4 * d),
                (d,),
            ]
        out += [(d,), (d,), (1000, d), (1000,)]
        return out

    numel = lambda d: sum(math.prod(s) for s in shapes(d))  # noqa: E731
    lo, hi = 1, 4096
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if numel(mid) <= target_numel else (lo, mid)
    return shapes(lo)


class Timer:
    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def __call__(self, fn: Callable[[], None]) -> float:
        """Milliseconds of one call."""
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end)
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3


def build_methods(shapes: list[tuple[int, ...]], device: torch.device) -> dict[str, Callable[[], None]]:
    gen = torch.Generator(device="cpu").manual_seed(0)
    grads = [torch.randn(s, generator=gen).to(device) for s in shapes]

    def params() -> list[torch.nn.Parameter]:
        ps = [torch.nn.Parameter(torch.randn(s, generator=gen).to(device)) for s in shapes]
        for p, g in zip(ps, grads):
            p.grad = g  # shared, read-only
        return ps

    optimizers = {
        "ours fused": RAdam(params(), fused=True),
        "ours foreach": RAdam(params(), foreach=True, fused=False),
        "ours single_tensor": RAdam(params(), foreach=False, fused=False),
        "torch RAdam foreach": torch.optim.RAdam(params(), foreach=True),
        "torch RAdam for-loop": torch.optim.RAdam(params(), foreach=False),
        "torch Adam fused": torch.optim.Adam(params(), fused=True),
    }
    for opt in optimizers.values():  # past the unrectified steps: time the steady state
        for _ in range(7):
            opt.step()
    methods: dict[str, Callable[[], None]] = {name: opt.step for name, opt in optimizers.items()}

    # The ceiling: a += s * c moves 12 bytes per element; size it to move the same bytes.
    total = sum(math.prod(s) for s in shapes)
    n = math.ceil(total * BYTES_PER_PARAM / 12)
    a, c = torch.randn(n, generator=gen).to(device), torch.randn(n, generator=gen).to(device)
    methods["ceiling a+=s*c"] = lambda: a.add_(c, alpha=1e-6)
    if device.type == "cuda":  # device-to-device copy of the same bytes (8 per element moved)
        src = torch.empty(math.ceil(total * BYTES_PER_PARAM / 8), device=device)
        dst = torch.empty_like(src)
        methods["cuda d2d copy"] = lambda: dst.copy_(src)
    return methods


def measure(size_m: float, device: torch.device, rounds: int, warmup: int) -> dict:
    shapes = vit_like_shapes(int(size_m * 1e6))
    numel = sum(math.prod(s) for s in shapes)
    methods = build_methods(shapes, device)
    timer = Timer(device)
    names = list(methods)
    for _ in range(warmup):
        for name in names:
            methods[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    rng = random.Random(0)
    progress = _progress(rounds, f"{numel / 1e6:.1f}M params")
    for _ in range(rounds):
        rng.shuffle(names)  # interleaved, in a different order every round
        for name in names:
            times[name].append(timer(methods[name]))
        progress()
    print(file=sys.stderr)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    gbytes = numel * BYTES_PER_PARAM / 1e9
    ceiling_gbs = gbytes / (medians["ceiling a+=s*c"] / 1e3)
    reference = medians["torch RAdam foreach"]
    rows = []
    for name in methods:  # insertion order for the table
        ms = medians[name]
        gbs = gbytes / (ms / 1e3)
        rows.append(
            {
                "method": name,
                "median_ms": ms,
                "iqr_ms": _iqr(times[name]),
                "gb_per_s": gbs,
                "pct_of_ceiling": 100 * gbs / ceiling_gbs,
                "speedup_vs_torch_radam_foreach": reference / ms,
            }
        )
    result = {"numel": numel, "tensors": len(shapes), "rounds": rounds, "rows": rows}
    if "cuda d2d copy" in medians:
        result["d2d_copy_gb_per_s"] = gbytes / (medians["cuda d2d copy"] / 1e3)
        for row in rows:
            row["pct_of_d2d_copy"] = 100 * row["gb_per_s"] / result["d2d_copy_gb_per_s"]
    return result


def _iqr(values: list[float]) -> float:
    q = statistics.quantiles(values, n=4) if len(values) >= 4 else [min(values), 0, max(values)]
    return q[2] - q[0]


def _progress(total: int, label: str) -> Callable[[], None]:
    done = [0]

    def tick() -> None:
        done[0] += 1
        width = 30
        filled = width * done[0] // total
        print(
            f"\r{label:>14} [{'#' * filled}{'.' * (width - filled)}] {done[0]}/{total}",
            end="",
            file=sys.stderr,
        )

    return tick


def print_table(result: dict) -> None:
    print(
        f"\n{result['numel'] / 1e6:.1f}M parameters in {result['tensors']} tensors, {result['rounds']} rounds"
    )
    extra = "pct_of_d2d_copy" in result["rows"][0]
    header = (
        f"{'method':<22}{'median ms':>11}{'IQR ms':>9}{'GB/s':>8}{'% ceiling':>11}{'vs torch foreach':>18}"
    )
    print(header + (f"{'% d2d copy':>12}" if extra else ""))
    for row in result["rows"]:
        line = (
            f"{row['method']:<22}{row['median_ms']:>11.2f}{row['iqr_ms']:>9.2f}{row['gb_per_s']:>8.1f}"
            f"{row['pct_of_ceiling']:>10.1f}%{row['speedup_vs_torch_radam_foreach']:>17.2f}x"
        )
        print(line + (f"{row['pct_of_d2d_copy']:>11.1f}%" if extra else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 16, 64], help="millions of parameters")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default: by size)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, help="torch threads (default: OMP_NUM_THREADS if set, else 1)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/optim_step.json"))
    args = parser.parse_args(argv)
    set_program_threads(args.threads, parser.error)  # this program's own choice

    device = torch.device(args.device)
    results = []
    for size in args.sizes:
        rounds = args.rounds or (200 if size <= 2 else 40 if size <= 20 else 15)
        result = measure(size, device, rounds, args.warmup)
        print_table(result)
        results.append(result)
    meta = {
        "torch": torch.__version__,
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, {"meta": meta, "results": results}, indent=2)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
