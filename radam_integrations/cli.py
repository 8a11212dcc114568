"""The ``radam-integrations`` command.

Sub-commands:

* ``run [--detect] SCRIPT [ARGS...]``: run a training script with RAdam registered in every
  installed framework (see :mod:`radam_integrations.runner`).
* ``schedule``: print RAdam's warmup horizons for one or more ``beta2`` values.
* ``report RUN_DIR``: the warmup detector's summary table and plot, from a saved history
  (``warmup_history.json``/``.csv``), a Lightning ``metrics.csv`` or a Hugging Face
  ``trainer_state.json``.
* ``info``: versions of torch and of the frameworks this package integrates with.

Exit codes: 0 on success, 2 on bad input (with a one-line reason on stderr).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import theory
from ._measured import measured_alternative
from ._version import __version__
from .files import dumps
from .tables import text_table


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _fmt(value: object) -> str:
    if value is None:
        return "never"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def schedule_table(betas2: Sequence[float], threshold: float = 5.0) -> str:
    """A plain-text table of :func:`radam_integrations.theory.schedule_horizons` rows."""
    header = (
        "beta2",
        "rho_inf",
        f"first rectified (rho>{theory.effective_threshold(threshold):g})",
        "r_t>=0.5",
        "r_t>=0.9",
        "r_t>=0.99",
        "ESS limit",
        "untuned linear 2/(1-b2)",
        "untuned exp tau",
    )
    rows = []
    for beta2 in betas2:
        h = theory.schedule_horizons(beta2, threshold)
        rows.append(
            (
                f"{beta2:g}",
                _fmt(h.rho_inf),
                _fmt(h.first_rectified_step),
                _fmt(h.r_half),
                _fmt(h.r_90),
                _fmt(h.r_99),
                _fmt(h.ess_limit),
                _fmt(h.untuned_linear_warmup),
                _fmt(h.untuned_exponential_warmup),
            )
        )
    return text_table(header, rows)


def decay_table(runs: Sequence[theory.DecayedRectification]) -> str:
    """A plain-text table of :func:`radam_integrations.theory.decayed_rectification` rows."""
    header = (
        "beta2",
        "steps",
        "decay",
        "peak r_t x decay (step)",
        ">= half its peak (steps)",
        "below half the lr: RAdam",
        "the decay alone",
    )
    rows = [
        (
            f"{d.beta2:g}",
            str(d.steps),
            d.decay,
            "never rectified" if d.peak_step is None else f"{d.peak:.2f} ({d.peak_step})",
            "-" if d.half_from is None else f"{d.half_from}-{d.half_until}",
            f"{100 * d.below_half_lr:.0f}%",
            f"{100 * d.decay_below_half_lr:.0f}%",
        )
        for d in runs
    ]
    return text_table(header, rows)


def _cmd_schedule(args: argparse.Namespace) -> int:
    for beta2 in args.beta2:
        if not 0.0 <= beta2 < 1.0:
            raise CLIError(f"--beta2 must be in [0, 1), got {beta2}")
    if not (math.isfinite(args.threshold) and args.threshold >= 0):
        raise CLIError(f"--threshold must be a finite number >= 0, got {args.threshold}")
    for steps in args.steps or ():
        if not 1 <= steps <= 10**6:
            raise CLIError(f"--steps must be between 1 and 1,000,000, got {steps}")
    decayed = [
        theory.decayed_rectification(b, n, args.decay, args.threshold)
        for b in args.beta2
        for n in args.steps or ()
    ]
    if args.json:
        horizons = [theory.schedule_horizons(b, args.threshold).as_dict() for b in args.beta2]
        runs = [d.as_dict() for d in decayed]
        print(dumps({"horizons": horizons, "decayed": runs} if decayed else horizons, indent=2))
        return 0
    print(schedule_table(args.beta2, args.threshold))
    if args.threshold < theory.MIN_RECTIFY_RHO:
        print(
            f"threshold {args.threshold:g} acts as 4, as in the optimizer: r_t only exists for rho_t > 4.",
        )
    if decayed:
        print()
        print(decay_table(decayed))
        for d in decayed:
            if (note := d.note()) is not None:
                print(note)
                if (measured := measured_alternative(d.beta2, d.decay)) is not None:
                    print(measured)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .warmup.report import (
        HistoryError,
        find_history,
        load_history,
        plot_history,
        summarize_history,
        summary_table,
    )

    run = Path(args.run_dir)
    for results, lab in (("demo_results.json", "warmup_ablation"), ("study_results.json", "warmup_study")):
        if run.is_dir() and (run / results).is_file():
            raise CLIError(
                f"{run} holds {results}, not a detector history: the lab re-renders it from a checkout, "
                f"`PYTHONPATH=examples:benchmarks python -m {lab} report {run}`"
            )
    try:
        source = find_history(args.run_dir)
        rows = load_history(source)
    except HistoryError as err:
        raise CLIError(str(err)) from err
    out = None if args.no_plot else _png_target(args.out, run, "warmup_report.png")
    print(f"warmup report from {source} ({len({r['step'] for r in rows})} evaluations)")
    print(summary_table(summarize_history(rows)))
    if out is not None:
        print(f"plot: {_plot(plot_history, rows, out, title=f'Warmup detector: {source}')}")
    return 0


def _png_target(out: str | None, run: Path, default_name: str) -> Path:
    """Where ``--out`` says the PNG goes: a file, or ``default_name`` inside an existing folder."""
    if out is None:
        return (run if run.is_dir() else run.parent) / default_name
    target = Path(out)
    if target.is_dir() or out.endswith(("/", "\\")):
        return target / default_name
    if target.suffix.lower() != ".png":
        raise CLIError(f"--out {out}: the plot is a PNG; give a .png file name or an existing folder")
    if target.parent.exists() and not target.parent.is_dir():
        raise CLIError(f"--out {out}: {target.parent} is not a folder")
    return target


def _plot(plot: Any, data: Any, out: Path, **kwargs: Any) -> str:
    """Run a plot function, turning a missing matplotlib or an unwritable target into a CLIError."""
    from .warmup.report import MissingDependencyError

    try:
        return plot(data, out, **kwargs)
    except MissingDependencyError as err:
        raise CLIError(str(err)) from err
    except OSError as err:
        raise CLIError(f"cannot write the plot to {out}: {err.strerror or err}") from err


#: The lab's commands, once part of this CLI: the demo and the study live beside the package now.
LAB_COMMANDS = ("demo", "study")


def _moved(command: str) -> str:
    return (
        f"radam-integrations {command}: error: '{command}' is no longer part of the installed package: "
        f"from a checkout run `make {command}` (see docs/evidence.md)"
    )


def _cmd_info(args: argparse.Namespace) -> int:
    print(f"radam-integrations {__version__}")
    for dist in (
        "torch",
        "transformers",
        "timm",
        "lightning",
        "pytorch-lightning",
        "accelerate",
        "deepspeed",
    ):
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        print(f"  {dist:<18} {version}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (argparse prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="radam-integrations",
        description="Rectified Adam for PyTorch training stacks: run scripts with RAdam registered, "
        "horizons and reports of the warmup detector.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "run",
        help="run a training script with RAdam registered (and --detect: the warmup detector attached)",
        add_help=False,
    )
    p.add_argument("script_and_args", nargs=argparse.REMAINDER, help="[--detect] SCRIPT [ARGS...]")

    p = sub.add_parser("schedule", help="print RAdam's warmup horizons for beta2")
    p.add_argument("--beta2", type=float, nargs="+", default=[0.99, 0.999], help="one or more beta2 values")
    p.add_argument("--threshold", type=float, default=5.0, help="rectify when rho_t > threshold (default 5)")
    p.add_argument(
        "--steps", type=int, nargs="+", help="run lengths: also show r_t times the decay over each run"
    )
    p.add_argument(
        "--decay", choices=theory.DECAYS, default="linear",
        help="the schedule after warmup, as the frameworks define it (default: linear, the HF Trainer's)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_schedule)

    p = sub.add_parser("report", help="summary table and plot of a run's warmup detector history")
    p.add_argument("run_dir", help="run directory (or a history / metrics.csv / trainer_state.json file)")
    p.add_argument("--out", help="where to write the PNG (default: RUN_DIR/warmup_report.png)")
    p.add_argument("--no-plot", action="store_true", help="print the table only")
    p.set_defaults(func=_cmd_report)

    for moved in LAB_COMMANDS:  # listed in --help; main() answers them
        sub.add_parser(moved, help=f"moved out of the package: `make {moved}` in a checkout", add_help=False)

    p = sub.add_parser("info", help="versions of torch and the integrated frameworks")
    p.set_defaults(func=_cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``radam-integrations`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:  # everything after "run" belongs to the runner and the script
        from .runner import main as run_main

        return run_main(argv[1:], prog="radam-integrations run")
    if argv[:1] and argv[0] in LAB_COMMANDS:
        print(_moved(argv[0]), file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CLIError as err:
        print(f"radam-integrations {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
