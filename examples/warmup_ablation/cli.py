"""The demo's command line (``python -m warmup_ablation``), and the lab's command-line helpers.

The study (``python -m warmup_study``) uses :class:`LabParser`, :class:`LabError` and
:func:`png_target` too.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from radam_integrations.warmup import HistoryError

from .threads import choose_threads, describe, torch_threads

__all__ = ["LabError", "LabParser", "main", "png_target", "run_cli"]


class LabError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


class LabParser(argparse.ArgumentParser):
    """argparse, with its errors on one line (argparse prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def png_target(out: str | None, run: Path, default_name: str) -> Path:
    """Where ``--out`` says the PNG goes: a ``.png`` file, or ``default_name`` inside a folder."""
    if out is None:
        return run / default_name
    target = Path(out)
    if target.is_dir() or out.endswith(("/", "\\")):
        return target / default_name
    if target.suffix.lower() != ".png":
        raise LabError(f"--out {out}: the plot is a PNG; give a .png file name or an existing folder")
    return target


def run_cli(prog: str, argv: Sequence[str] | None, run: LabParser, report: LabParser,
            commands: dict[str, Callable[[argparse.Namespace], int]]) -> int:  # fmt: skip
    """Parse ``[report] ...`` and call ``commands["run"]`` or ``commands["report"]``; errors exit 2."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    name = "report" if args_list[:1] == ["report"] else "run"
    parser = report if name == "report" else run
    args = parser.parse_args(args_list[1:] if name == "report" else args_list)
    try:
        return int(commands[name](args))
    except LabError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    try:
        from .ablation import DemoSettings, run_ablation
    except ImportError as err:  # pragma: no cover - needs lightning
        raise LabError(f"the demo needs Lightning: pip install lightning ({err})") from err
    settings = DemoSettings.quick() if args.quick else DemoSettings()
    if args.steps is not None:
        settings = dataclasses.replace(settings, steps=args.steps)
    if args.seeds is not None:
        settings = dataclasses.replace(settings, seeds=tuple(range(args.seeds)))
    try:
        threads, why = choose_threads(args.threads)
    except ValueError as err:
        raise LabError(str(err)) from err
    out = Path(args.out)
    print(f"warmup ablation -> {out} ({len(settings.seeds)} seed(s), {settings.steps} steps per run)")
    print(describe(threads, why))
    with torch_threads(threads):
        run_ablation(settings, out, progress=not args.no_progress)
    names = ("demo_results.json", "summary.md", "metrics.csv", "demo.png")
    print("wrote " + ", ".join(str(out / name) for name in names))
    return 0


def _report(args: argparse.Namespace) -> int:
    """Re-render a demo folder's table and figure from its ``demo_results.json``."""
    from .ablation import DemoSettings, load_results, markdown_table, plot_results, summarize, terminal_table

    run = Path(args.run_dir)
    try:
        results = load_results(run)
    except HistoryError as err:
        raise LabError(str(err)) from err
    try:
        settings = DemoSettings.from_dict(results["settings"])
        rows = summarize(results)
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise LabError(f"{run / 'demo_results.json'}: malformed demo results ({err!r})") from err
    out = None if args.no_plot else png_target(args.out, run, "demo.png")
    print(f"demo report from {run / 'demo_results.json'}")
    print(terminal_table(rows, settings))
    (run / "summary_table.md").write_text(markdown_table(rows, settings) + "\n")
    if out is not None:
        try:
            print(f"plot: {plot_results(results, out)}")
        except ImportError as err:
            raise LabError(str(err)) from err
        except OSError as err:
            raise LabError(f"cannot write the plot to {out}: {err.strerror or err}") from err
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    prog = "python -m warmup_ablation"
    run = LabParser(prog=prog, description="The paper's warmup ablation on a post-LN Transformer (CPU).")
    run.add_argument("--quick", action="store_true", help="one seed, fewer steps: under two minutes")
    run.add_argument("--out", default="runs/demo", help="output directory (default: runs/demo)")
    run.add_argument("--steps", type=int, help="optimizer steps per run (default: 250, quick: 150)")
    run.add_argument("--seeds", type=int, help="number of seeds (default: 3, quick: 1)")
    run.add_argument("--threads", type=int, help="torch threads (default: OMP_NUM_THREADS if set, else 1)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    report = LabParser(prog=f"{prog} report", description="Re-render a demo folder's table and figure.")
    report.add_argument("run_dir", help="a demo output folder (holding demo_results.json)")
    report.add_argument("--out", help="where to write the PNG (default: RUN_DIR/demo.png)")
    report.add_argument("--no-plot", action="store_true", help="print the table only")
    return run_cli(prog, argv, run, report, {"run": _run, "report": _report})
