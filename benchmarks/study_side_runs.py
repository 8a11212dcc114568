"""Side runs on one study task: arms the study's plan does not have, three seeds, one table.

The study (``radam-integrations study``) answers the issue's questions with a fixed plan; a
question it raises (why does the suggestion miss on one task?) needs a few runs outside that
plan. This script trains them through the same task modules (the same frameworks, data, model
and seeds as the study) and prints mean and spread per arm. Arms are ``<optimizer>-w<W>@<lr>``
with optimizer ``radam``, ``adamw``, ``torch_radam`` or ``sf_radam`` (schedule-free RAdam, ``W``
0) and ``W`` the linear warmup in steps, or ``adamw-<rule>@<lr>`` with one of pytorch_warmup's
rules (``pw_untuned_linear``, ``pw_untuned_exp``, ``pw_radamwarmup``). ``--decay linear`` or
``cosine`` decays the learning rate to 0 after the warmup in every arm but ``sf_radam`` (which
runs without a schedule, as its authors intend). So far only the ``bytes_lm`` tasks take
``sf_radam``, the rules and a decay.

    python benchmarks/study_side_runs.py --task bytes_lm/bert_postln \\
        --arms radam-w400@0.03 adamw-w300@0.03 adamw-w0@0.01 radam-w0@0.01 adamw-w200@0.01

About 20 s per 600-step byte-LM run on one core; two workers by default.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path
from typing import NoReturn

from radam_integrations.files import write_json
from radam_integrations.tables import text_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))  # the lab, from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))
from warmup_study.analysis import arm_stats
from warmup_study.harness import run_many
from warmup_study.spec import DECAYS, OPTIMIZERS, PYTORCH_WARMUP, RunSpec

ARM = re.compile(
    r"^(?P<optimizer>[a-z_]+)-(?:w(?P<warmup>\d+)|(?P<schedule>pw_[a-z_]+))@(?P<lr>[0-9.eE+-]+)$"
)


def parse_arm(text: str) -> tuple[str, int, float, str]:
    """``"radam-w400@0.03"`` -> ``("radam", 400, 0.03, "linear")``; ``"adamw-pw_untuned_exp@3e-3"``
    -> ``("adamw", 0, 0.003, "pw_untuned_exp")``."""
    match = ARM.match(text)
    if not match or match["optimizer"] not in OPTIMIZERS or match["schedule"] not in (None, *PYTORCH_WARMUP):
        raise argparse.ArgumentTypeError(
            f"arm {text!r}: expected <optimizer>-w<warmup>@<lr> with optimizer one of {OPTIMIZERS}, "
            f"or adamw-<rule>@<lr> with rule one of {PYTORCH_WARMUP}"
        )
    try:
        lr = float(match["lr"])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"arm {text!r}: learning rate {match['lr']!r} is not a number"
        ) from None
    return match["optimizer"], int(match["warmup"] or 0), lr, match["schedule"] or "linear"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse prints the usage first)
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", required=True, help="a study task, e.g. bytes_lm/bert_postln")
    parser.add_argument("--arms", nargs="+", type=parse_arm, required=True, help="<optimizer>-w<W>@<lr> ...")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--beta2", type=float, default=0.99)
    parser.add_argument(
        "--decay", choices=DECAYS, default="constant", help="after the warmup (not for sf_radam)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/study_side_runs.json"))
    args = parser.parse_args(argv)

    try:
        specs = [
            RunSpec(
                args.task,
                optimizer,
                warmup,
                lr=lr,
                beta2=args.beta2,
                steps=args.steps,
                seed=seed,
                schedule=schedule,
                decay="constant" if optimizer == "sf_radam" else args.decay,
            )
            for optimizer, warmup, lr, schedule in args.arms
            for seed in args.seeds
        ]
        records = run_many(specs, workers=args.workers, progress=sys.stderr.isatty())
    except ValueError as err:
        parser.error(str(err))
    rows, arms = [], []
    for optimizer, warmup, lr, schedule in args.arms:
        runs = [
            r
            for r in records
            if (r["spec"]["optimizer"], r["spec"]["warmup_steps"], r["spec"]["lr"], r["spec"]["schedule"])
            == (optimizer, warmup, lr, schedule)
        ]
        stats = arm_stats(runs, target=0.0)
        arm = runs[0]["arm"]
        arms.append({"arm": arm, "optimizer": optimizer, "warmup_steps": warmup, "lr": lr, **stats})
        per_step = [r["optimizer_seconds"] / r["spec"]["steps"] for r in runs if r.get("optimizer_seconds")]
        rows.append(
            [
                arm,
                f"{lr:g}",
                f"{stats['mean']:.4f} ± {stats['std']:.4f}",
                f"{stats['diverged']}/{stats['seeds']}",
                runs[0].get("optimizer_class", "").rsplit(".", 1)[-1],
                f"{runs[0]['state_bytes_per_parameter']:g}"
                if runs[0].get("state_bytes_per_parameter")
                else "-",
                f"{1e3 * statistics.median(per_step):.2f}" if per_step else "-",
            ]
        )
    print(f"{args.task}, {args.steps} steps, beta2 {args.beta2:g}, decay {args.decay}, seeds {args.seeds}")
    header = ("arm", "lr", "held-out loss", "diverged", "optimizer", "state B/param", "opt. step ms")
    print(text_table(header, rows))
    write_json(
        args.out,
        {
            "task": args.task,
            "steps": args.steps,
            "beta2": args.beta2,
            "decay": args.decay,
            "seeds": args.seeds,
            "arms": arms,
            "runs": records,
        },
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
