"""The study's command line: ``python -m warmup_study`` (see ``__main__``)."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
from collections.abc import Sequence
from pathlib import Path

from warmup_ablation.cli import LabError, LabParser, run_cli
from warmup_ablation.threads import describe

__all__ = ["main"]


def _run(args: argparse.Namespace) -> int:
    missing = [
        m for m in ("transformers", "timm", "lightning", "sklearn") if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise LabError(f"the study needs {', '.join(missing)}: pip install 'radam-integrations[study]'")
    from .harness import run_study
    from .plan import StudyPlan
    from .report import terminal_report, write_report

    plan = StudyPlan.quick() if args.quick else StudyPlan.default()
    try:
        if args.tasks:
            plan = plan.only([name.strip() for name in args.tasks.split(",") if name.strip()])
        if args.seeds is not None:
            if args.seeds < 1:
                raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
            plan = dataclasses.replace(plan, seeds=tuple(range(args.seeds)))
        if args.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {args.workers}")
    except ValueError as err:
        raise LabError(str(err)) from err
    out = Path(args.out)
    runs = sum(len(plan.arm_specs(t, 1)) for t in plan.tasks) + len(plan.tasks)
    print(f"warmup study -> {out} ({len(plan.tasks)} tasks, {runs} runs, {args.workers} worker(s))")
    why = "the study's choice: one per worker, reproducible and never oversubscribing"
    print(describe(1, why, workers=args.workers))
    try:
        results = run_study(plan, out, workers=args.workers, progress=not args.no_progress)
    except ValueError as err:  # the output folder holds another plan's (or a damaged) results file
        raise LabError(str(err)) from err
    print(terminal_report(results))
    written = write_report(results, out, plot=not args.no_plot)
    print("wrote " + ", ".join(str(p) for p in [out / "study_results.json", *written]))
    return 0


def _report(args: argparse.Namespace) -> int:
    """Re-render a study folder's tables and figures from its ``study_results.json``."""
    from .harness import load_results
    from .report import terminal_report, write_report

    run = Path(args.run_dir)
    try:
        results = load_results(run)
        text = terminal_report(results)
    except (ValueError, KeyError, TypeError, StopIteration, IndexError) as err:
        raise LabError(f"{run / 'study_results.json'}: malformed study results ({err})") from err
    print(f"study report from {run / 'study_results.json'}")
    print(text)
    try:
        written = write_report(results, run, plot=not args.no_plot)
    except ImportError as err:
        raise LabError(str(err)) from err
    except OSError as err:
        raise LabError(f"cannot write the report into {run}: {err.strerror or err}") from err
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    prog = "python -m warmup_study"
    run = LabParser(prog=prog, description="The warmup detector's advice on real data, against a sweep.")
    run.add_argument("--quick", action="store_true", help="every task and arm for a few steps, one seed")
    run.add_argument("--out", default="runs/study", help="output directory (default: runs/study)")
    run.add_argument("--tasks", help="comma-separated task prefixes (bytes_lm, digits, reversal, ...)")
    run.add_argument("--seeds", type=int, help="number of seeds (default: 3, quick: 1)")
    run.add_argument("--workers", type=int, default=2, help="parallel worker processes (default: 2)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--no-plot", action="store_true", help="tables only")
    report = LabParser(prog=f"{prog} report", description="Re-render a study folder's tables and figures.")
    report.add_argument("run_dir", help="a study output folder (holding study_results.json)")
    report.add_argument("--no-plot", action="store_true", help="tables only")
    return run_cli(prog, argv, run, report, {"run": _run, "report": _report})
