"""What the study runs: the tasks with their settings, the warmup grid, the arms and the seeds.

Every task is trained with the same arms:

==================  ========================================================================
``radam``           radam_integrations.RAdam, no warmup
``torch_radam``     torch.optim.RAdam, no warmup: the same numbers, for the optimizer step's cost
``adamw``           AdamW, no warmup (the grid's 0)
``adamw-w<W>``      AdamW, linear warmup over W steps, W in the fixed grid (chosen without
                    the detector) and the untuned ``2 / (1 - beta2)``
``suggested``       AdamW, linear warmup over the detector's suggestion, read from one short
                    probe run per task: RAdam without warmup at the task's learning rate with
                    the detector attached (what ``radam-integrations run --detect`` prints), seed 0
``adamw-auto``      AdamW with ``radam_integrations.AutoWarmup``: the warmup measured on the run
                    (issue 13), no length to set
``radam_measured``  radam_integrations.RAdam with ``rectify="measured"`` (issue 13), no warmup
==================  ========================================================================

Example:
    >>> plan = StudyPlan.quick()
    >>> [t.label for t in StudyPlan.default().tasks][:3]
    ['bytes_lm/gpt2@0.01', 'bytes_lm/gpt2@0.003', 'bytes_lm/bert_postln@0.03']
    >>> [t.label.split("/")[0] for t in plan.tasks], plan.tasks[-1].label
    (['bytes_lm', 'bytes_lm', 'digits', 'reversal'], 'reversal/postln@0.01')
    >>> StudyPlan.from_dict(plan.to_dict()) == plan
    True
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from functools import partial
from typing import Any

from radam_integrations import theory

from .spec import PYTORCH_WARMUP, RunSpec, with_decay

__all__ = ["GRID", "StudyPlan", "TaskPlan", "run_task", "task_plan"]

#: Linear warmup lengths swept for AdamW, fixed in advance (the issue's grid).
GRID = (0, 25, 50, 100, 200, 400, 800)


@dataclass(frozen=True)
class TaskPlan:
    """One task's settings: the model, learning rate, beta2, budget and probe length, and its arms.

    ``warmups`` replaces the plan's grid for this task; ``decay`` (the decay its framework's users
    get by default) adds the decayed regime, swept over ``decay_warmups`` (default: the same grid);
    ``alternatives`` adds schedule-free RAdam at each of ``sf_lrs`` and pytorch_warmup's three rules;
    ``experimental`` keeps the issue-13 arms and torch's RAdam. ``measure``: ``"relative"`` compares
    held-out losses by ratio, ``"absolute"`` (a task whose losses end near 0) by difference.
    """

    task: str
    lr: float
    beta2: float
    steps: int
    eval_every: int
    probe_steps: int
    target: float  # held-out loss a run must reach to count for "steps to target"
    warmups: tuple[int, ...] | None = None
    decay: str | None = None
    decay_warmups: tuple[int, ...] | None = None
    alternatives: bool = False
    sf_lrs: tuple[float, ...] = ()
    experimental: bool = True
    measure: str = "relative"

    def __post_init__(self) -> None:
        if self.decay not in (None, "linear", "cosine"):
            raise ValueError(f"decay must be None, 'linear' or 'cosine', got {self.decay!r}")
        if self.measure not in ("relative", "absolute"):
            raise ValueError(f"measure must be 'relative' or 'absolute', got {self.measure!r}")
        if self.alternatives and not self.sf_lrs:
            raise ValueError(f"{self.label}: alternatives need sf_lrs, schedule-free RAdam's lr sweep")

    @property
    def label(self) -> str:
        """``task@lr`` (``/beta2=...`` unless 0.99): what tables, figures and the results file call it."""
        return label_of(self.task, self.lr, self.beta2)

    def regimes(self) -> tuple[str, ...]:
        """``("constant",)``, or with the decayed regime ``("constant", decay)``."""
        return ("constant",) if self.decay is None else ("constant", self.decay)

    def spec(
        self, optimizer: str, warmup: int, seed: int, *, detect: bool = False, steps: int | None = None,
        schedule: str = "linear", decay: str = "constant", lr: float | None = None,
    ) -> RunSpec:  # fmt: skip
        return RunSpec(
            self.task, optimizer, warmup, lr=lr or self.lr, beta2=self.beta2, steps=steps or self.steps,  # type: ignore[arg-type]
            seed=seed, detect=detect, eval_every=self.eval_every, schedule=schedule, decay=decay,
        )  # fmt: skip

    def probe(self) -> RunSpec:
        """The run the suggestion comes from: RAdam, no warmup, detector attached, seed 0."""
        return self.spec("radam", 0, 0, detect=True, steps=self.probe_steps)

    def grid(self, grid: tuple[int, ...], regime: str = "constant") -> tuple[int, ...]:
        """The regime's lengths below the budget, plus the untuned ``2 / (1 - beta2)``, sorted."""
        lengths = self.warmups or grid
        if regime != "constant" and self.decay_warmups is not None:
            lengths = self.decay_warmups
        untuned = theory.untuned_linear_warmup(self.beta2)
        return tuple(sorted({w for w in lengths if w < self.steps} | {untuned}))


@dataclass(frozen=True)
class StudyPlan:
    """The whole study: tasks, seeds, grid. ``default()`` is ``make study``; ``quick()`` the tests'."""

    tasks: tuple[TaskPlan, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    grid: tuple[int, ...] = GRID

    @classmethod
    def default(cls) -> StudyPlan:
        """``make study``: per model, a learning rate where warmup matters and one where it may not;
        the alternatives and the decayed regime on one task per model (not BERT: cut for time, its
        model is GPT-2's with post-LN); two tasks at beta2 0.999.

        Learning rates from the sweeps in docs/evidence.md ("Evidence on real data"). At beta2 =
        0.99 RAdam's horizon (``2 / (1 - beta2)`` = 200 steps) is a third of the 600-step budget;
        at the frameworks' default 0.999 it is 2,000 steps, the budget of the last two tasks.
        """
        lm: dict[str, Any] = {"beta2": 0.99, "steps": 600, "eval_every": 100, "probe_steps": 300}
        # The alternatives and the decayed regime, whose grid at 0.99 has fewer lengths than the
        # constant one (TaskPlan.grid adds the untuned 200), to fit make study's budget.
        also: dict[str, Any] = {"decay_warmups": (0, 50, 400), "alternatives": True}
        long: dict[str, Any] = {
            "beta2": 0.999, "steps": 2000, "probe_steps": 1000, "warmups": (0, 100, 400),
            "alternatives": True, "experimental": False, "sf_lrs": (3e-3, 1e-2, 3e-2),
        }  # fmt: skip
        gpt2, bert, vit = "bytes_lm/gpt2", "bytes_lm/bert_postln", "digits/vit_tiny_patch16_224"
        reversal: dict[str, Any] = {"steps": 400, "eval_every": 10, "probe_steps": 200, "measure": "absolute"}
        return cls(
            tasks=(
                TaskPlan(gpt2, lr=1e-2, target=2.2, decay="linear", sf_lrs=(1e-2, 3e-2), **also, **lm),
                TaskPlan(gpt2, lr=3e-3, target=2.2, **lm),
                TaskPlan(bert, lr=3e-2, target=2.2, **lm),
                # Added after the first study: 3e-2 is past this model's usable lr (its best arm is
                # worse than every arm at 1e-2 and 3e-3); 1e-2 is where post-LN needs warmup and
                # the lr is one a user would keep. 3e-2 stays, with its miss.
                TaskPlan(bert, lr=1e-2, target=2.2, **lm),
                TaskPlan(bert, lr=3e-3, target=2.2, **lm),
                TaskPlan(vit, lr=3e-3, target=0.3, decay="cosine", sf_lrs=(3e-3, 1e-2), **also, **lm),
                # The control: losses end near 0, so arms compare by absolute difference, evaluated
                # every 10 steps so that steps to target separates them.
                TaskPlan(
                    "reversal/postln",
                    1e-2,
                    beta2=0.99,
                    target=0.1,
                    decay="cosine",
                    sf_lrs=(1e-2, 3e-2),
                    **reversal,
                    **also,
                ),
                # The frameworks' default beta2, with a budget as long as RAdam's horizon.
                TaskPlan(gpt2, lr=3e-3, target=2.2, eval_every=200, decay="linear", **long),
                TaskPlan(vit, lr=3e-3, target=0.3, eval_every=100, decay="cosine", **long),
            )
        )

    @classmethod
    def quick(cls) -> StudyPlan:
        """Every model and arm for a few steps, one seed, a two-point grid: for the tests."""
        seen: dict[str, TaskPlan] = {}
        for t in cls.default().tasks:  # the first task of each model, with every arm
            short = replace(t, steps=30, eval_every=15, probe_steps=20, warmups=None, decay_warmups=None)
            arms = {"decay": t.decay or "linear", "alternatives": True, "sf_lrs": t.sf_lrs[:1] or (t.lr,)}
            seen.setdefault(t.task, replace(short, **arms))
        return cls(tasks=tuple(seen.values()), seeds=(0,), grid=(0, 10))

    def only(self, names: list[str]) -> StudyPlan:
        """The plan restricted to tasks whose name (or label) starts with one of ``names``."""
        tasks = tuple(t for t in self.tasks if any(t.label.startswith(n) for n in names))
        if not tasks:
            known = ", ".join(t.label for t in self.tasks)
            raise ValueError(f"no task matches {names}; the tasks are {known}")
        return replace(self, tasks=tasks)

    def arm_specs(self, task: TaskPlan, suggested: int) -> list[tuple[str, RunSpec]]:
        """``(arm label, spec)`` of every run of ``task`` once the suggestion is known.

        Decayed arms carry the decay in their label (``radam-linear``, ``adamw-w100-cosine``);
        schedule-free RAdam runs once per lr of its sweep (``sf_radam@0.01``), in no regime's decay.
        """
        specs: list[tuple[str, RunSpec]] = []
        for seed in self.seeds:
            for decay in task.regimes():
                spec = partial(task.spec, seed=seed, decay=decay)
                specs.append((spec("radam", 0).arm, spec("radam", 0)))
                if task.experimental and decay == "constant" and seed == self.seeds[0]:
                    specs.append(("torch_radam", spec("torch_radam", 0)))  # the step's cost: one seed
                for warmup in task.grid(self.grid, decay):
                    specs.append((spec("adamw", warmup).arm, spec("adamw", warmup)))
                specs.append((with_decay("suggested", decay), spec("adamw", suggested)))
                if task.experimental and decay == "constant":
                    specs.append(("adamw-auto", spec("adamw", 0, schedule="auto")))
                    specs.append(("radam_measured", spec("radam_measured", 0)))
                if task.alternatives:
                    for rule in PYTORCH_WARMUP:
                        specs.append((spec("adamw", 0, schedule=rule).arm, spec("adamw", 0, schedule=rule)))
            for lr in task.sf_lrs if task.alternatives else ():
                specs.append((f"sf_radam@{lr:g}", task.spec("sf_radam", 0, seed, lr=lr)))
        return specs

    def to_dict(self) -> dict[str, Any]:
        """JSON's view (lists for tuples): what the results file stores and a resume compares."""
        plan = {"tasks": [asdict(t) for t in self.tasks], "seeds": list(self.seeds), "grid": list(self.grid)}
        return json.loads(json.dumps(plan))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyPlan:
        return cls(
            tasks=tuple(task_plan(t) for t in data["tasks"]),
            seeds=tuple(data["seeds"]),
            grid=tuple(data["grid"]),
        )


def task_plan(data: dict[str, Any]) -> TaskPlan:
    """A :class:`TaskPlan` from its JSON form (lists back to tuples; fields added later defaulted)."""
    known = {f.name for f in fields(TaskPlan)}
    return TaskPlan(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known})


def run_task(run: dict[str, Any]) -> str:
    """The label of the plan's task a run belongs to (runs saved before it was recorded: task@lr)."""
    if "task" in run:
        return str(run["task"])
    spec = run["spec"]
    return label_of(spec["task"], spec["lr"], spec.get("beta2", 0.99))


def label_of(task: str, lr: float, beta2: float) -> str:
    """``task@lr``, with ``/beta2=...`` unless beta2 is 0.99: :attr:`TaskPlan.label`."""
    return f"{task}@{lr:g}" + ("" if beta2 == 0.99 else f"/beta2={beta2:g}")
