"""Run a :class:`~.plan.StudyPlan`: probes first, then every arm and seed, results saved as they come.

Runs are independent processes' work: ``workers`` processes (spawned, one torch thread each)
take runs from one queue, so two workers keep a 2-core machine busy. The results file
(``study_results.json``, strict JSON, written atomically after every finished run) doubles as
the resume point: run the same plan into the same folder again and only the missing runs run
(a folder holding another plan's results is refused rather than overwritten).

Example:
    >>> from warmup_study.plan import StudyPlan
    >>> results = run_study(StudyPlan.quick().only(["reversal"]), Path("runs/q"))  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import platform
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import torch

from radam_integrations import theory
from radam_integrations.files import write_json
from warmup_ablation.console import progress_bar

from .plan import StudyPlan, TaskPlan, run_task, task_plan
from .spec import RunSpec
from .timing import detector_time

__all__ = [
    "RESULTS_FILE", "load_results", "merge_plans", "run_many", "run_one", "run_study", "suggestion",
]  # fmt: skip

RESULTS_FILE = "study_results.json"
_TASK_MODULES = {"bytes_lm": "bytes_lm", "digits": "digits", "reversal": "reversal"}


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Train ``spec`` in this process, through its task module's ``run``."""
    family = spec.task.split("/", 1)[0]
    if family not in _TASK_MODULES:
        raise ValueError(f"unknown study task {spec.task!r}; the families are {sorted(_TASK_MODULES)}")
    module = importlib.import_module(f"{__package__}.{_TASK_MODULES[family]}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two torch threads per run on a busy 2-core machine are 2-50x slower
    try:
        if not spec.measures:  # otherwise the measurement's time is recorded too
            return module.run(spec)
        with detector_time() as spent:
            record = module.run(spec)
        return {**record, "detector_seconds": spent[0]}
    finally:
        torch.set_num_threads(threads)


def run_many(specs: list[RunSpec], *, workers: int = 2, progress: bool = True) -> list[dict[str, Any]]:
    """Train every spec (in ``workers`` spawned processes, one torch thread each); records in order.

    For runs outside a study's plan, e.g. a side experiment on one task::

        records = run_many([RunSpec("bytes_lm/bert_postln", "radam", 400, lr=3e-2, beta2=0.99,
                                    steps=600, seed=s) for s in (0, 1, 2)])
    """
    items = [(str(i), spec) for i, spec in enumerate(specs)]
    records: dict[int, dict[str, Any]] = {}
    with _Pool(workers) as pool:
        for label, record in pool.map_labelled(items, "runs", progress):
            records[int(label)] = record
    return [records[i] for i in range(len(specs))]


def _worker_init() -> None:
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"


def _labelled(label: str, spec: RunSpec) -> tuple[str, dict[str, Any]]:
    return label, run_one(spec)


def suggestion(task: TaskPlan, probe: dict[str, Any]) -> tuple[int, str]:
    """The suggested warmup from a probe record, and where it came from.

    ``("detector")``: the detector settled within the probe. Otherwise the untuned ``2 / (1 -
    beta2)``, which is what the detector's own summary falls back to, labelled as such so the
    report can say the probe was too short.
    """
    found = (probe.get("detector") or {}).get("suggested_warmup_steps")
    if found:
        return int(found), "detector"
    return theory.untuned_linear_warmup(task.beta2), "untuned (the probe did not settle)"


def _environment() -> dict[str, Any]:
    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for name in ("transformers", "timm", "lightning", "sklearn"):
        try:
            versions[name] = importlib.import_module(name).__version__
        except ImportError:
            versions[name] = None
    return {"versions": versions, "machine": platform.machine(), "cpus": os.cpu_count()}


def load_results(run_dir: Path) -> dict[str, Any]:
    """The results file of ``run_dir`` (``ValueError`` with the reason when it is not one)."""
    path = Path(run_dir) / RESULTS_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a study results file ({err})") from err
    if not isinstance(data, dict) or not {"plan", "probes", "runs"} <= data.keys():
        raise ValueError(f"{path}: not a study results file (no plan/probes/runs)")
    return data


def run_study(
    plan: StudyPlan,
    out: Path,
    *,
    workers: int = 2,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``plan`` into ``out``; return the results (also in ``out / RESULTS_FILE``)."""
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "plan": plan.to_dict(), "environment": _environment(), "probes": {}, "suggested": {}, "runs": [],
    }  # fmt: skip
    previous = out / RESULTS_FILE
    if previous.is_file():
        old = load_results(out)  # a damaged file is an error, not something to overwrite
        results.update(
            plan=merge_plans(old["plan"], results["plan"], previous),
            probes=old["probes"],
            suggested=old["suggested"],
            runs=old["runs"],
            seconds=old.get("seconds", 0.0),
        )
        log(f"resuming {previous}: {len(old['runs'])} runs done")

    def save() -> None:
        write_json(previous, results)

    done = {(run_task(r), r["label"], _key(r["spec"])) for r in results["runs"]}
    started = time.perf_counter()
    with _Pool(workers) as pool:
        # 1. One probe per task: where the suggestion comes from.
        probes = {t.label: t.probe() for t in plan.tasks if t.label not in results["probes"]}
        for label, record in pool.map_labelled(
            [(task, spec) for task, spec in probes.items()], "probes", progress
        ):
            results["probes"][label] = record
            save()
        for task in plan.tasks:
            value, source = suggestion(task, results["probes"][task.label])
            results["suggested"][task.label] = {"steps": value, "source": source}
        # 2. Every arm and seed; a spec two arms share (the suggestion on a grid length) runs once.
        by_spec: dict[tuple[Any, ...], dict[str, Any]] = {_key(r["spec"]): r for r in results["runs"]}
        wanted: dict[tuple[Any, ...], list[tuple[str, str]]] = {}
        todo = []
        for task in plan.tasks:
            for label, spec in plan.arm_specs(task, results["suggested"][task.label]["steps"]):
                key = _key(spec.to_dict())
                if (task.label, label, key) in done:
                    continue
                if key in by_spec:
                    results["runs"].append({**by_spec[key], "label": label, "task": task.label})
                    done.add((task.label, label, key))
                    continue
                if key not in wanted:
                    todo.append((spec.arm, spec))
                wanted.setdefault(key, []).append((task.label, label))
        save()
        for _, record in pool.map_labelled(todo, "runs", progress):
            for task_label, label in wanted[_key(record["spec"])]:
                results["runs"].append({**record, "label": label, "task": task_label})
            save()
    results["seconds"] = results.get("seconds", 0.0) + time.perf_counter() - started
    save()
    return results


def merge_plans(old: dict[str, Any], new: dict[str, Any], where: Path) -> dict[str, Any]:
    """The plan of a results file run by parts: ``new``'s tasks, then ``old``'s others.

    Seeds and grid must agree, and a task in both must have the same settings: otherwise its runs
    would mix two plans (a ``ValueError`` says so rather than overwrite anything).
    """
    known = {task_plan(t).label: task_plan(t) for t in old["tasks"]}
    clash = [t.label for t in map(task_plan, new["tasks"]) if known.get(t.label, t) != t]
    if old["seeds"] != new["seeds"] or old["grid"] != new["grid"] or clash:
        what = f"tasks {', '.join(clash)} with other settings" if clash else "another seed list or grid"
        raise ValueError(
            f"{where} holds a study of another plan ({what}): choose another output folder, or move that "
            "file away to start over"
        )
    labels = {task_plan(t).label for t in new["tasks"]}
    extra = [t for t in old["tasks"] if task_plan(t).label not in labels]
    return {**new, "tasks": [*new["tasks"], *extra]}


def _key(spec: dict[str, Any]) -> tuple[Any, ...]:
    """A run's identity; normalised through RunSpec, so a field added later (with its default)
    still matches the runs of an older results file."""
    return tuple(sorted(RunSpec.from_dict(spec).to_dict().items()))


class _Pool:
    """``workers`` spawned processes, or this process when ``workers == 1``."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Pool:
        if self.workers > 1:
            self.executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)

    def map_labelled(
        self, items: list[tuple[str, RunSpec]], what: str, progress: bool
    ) -> Iterable[tuple[str, dict[str, Any]]]:
        """``(label, record)`` of every item, in completion order, with a progress bar."""
        bar = progress_bar(len(items), enabled=progress, desc=what, unit="run")
        try:
            if self.executor is None:
                for label, spec in items:
                    bar.set_postfix_str(f"{spec.task}@{spec.lr:g} {label} seed {spec.seed}")
                    yield _labelled(label, spec)
                    bar.update(1)
                return
            pending: set[Future[tuple[str, dict[str, Any]]]] = {
                self.executor.submit(_labelled, label, spec) for label, spec in items
            }
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    label, record = future.result()
                    spec = record["spec"]
                    bar.set_postfix_str(f"{spec['task']}@{spec['lr']:g} {label} seed {spec['seed']}")
                    bar.update(1)
                    yield label, record
        finally:
            bar.close()
