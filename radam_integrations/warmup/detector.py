"""WarmupDetector: how Adam's adaptive learning rate settles, read from the optimizer's state.

Framework-free: the Lightning, Fabric, Hugging Face and Accelerate callbacks in
:mod:`radam_integrations.integrations` only call :meth:`WarmupDetector.update` and log what it
returns. The detector orchestrates; the pieces are one module each, in the order data flows:

* :mod:`.unwrap`: from a framework's wrapper to the optimizer that holds the state;
* :mod:`.sampling`: which elements are read; :mod:`.sums`: their weighted sums;
  :mod:`.reduce`: one all_reduce of the sums for sharded state;
* :mod:`.metrics`: the metrics from the sums; :mod:`.rule`: settled, T, relapses;
* :mod:`.codec`: the checkpointed state; :mod:`.outputs`: the summary, history file and plot.
"""

from __future__ import annotations

import math
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from .. import theory
from . import claims
from .codec import decode_floats, decode_history, encode_floats, encode_history
from .config import DetectorConfig
from .metrics import GROUP_METRICS, RUN_METRICS, RUN_WORST, group_metrics, update_rule
from .reduce import (
    PaddingFn,
    ZeroLayout,
    all_reduce_sum,
    fsdp1_padding,
    local_flat,
    state_is_sharded,
    world_rank,
)
from .rule import Settling
from .sampling import TensorSample, allocate_sample, draw_sample
from .schedule import ObservedSchedule
from .sums import FIELD, SUM_FIELDS, group_sums
from .unwrap import UnsupportedOptimizerError, check_adam_family, unwrap_optimizer

__all__ = [
    "GROUP_METRICS",
    "RUN_METRICS",
    "RUN_WORST",
    "UnsupportedOptimizerError",
    "WarmupDetector",
    "on_evaluation",
]

_STATE_VERSION = 2  # 2: float32 sample memory, column-wise bounded history
_EXTRA = ("step_sum", "step_count")  # appended to the sums so the step survives the reduce
#: Evaluations before the regular period: the adaptive learning rate moves fastest early.
_EARLY = (1, 2, 4, 8)
#: The evaluation period when the config leaves it to the adapter (``every=None``) and none chose.
DEFAULT_EVERY = 10

_evaluation_listeners: list[Callable[[WarmupDetector], None]] = []


def on_evaluation(listener: Callable[[WarmupDetector], None]) -> Callable[[], None]:
    """Call ``listener(detector)`` after every evaluation of every detector; returns the remover.

    The runner's ``--detect`` session listens, so that it reports every detector of the run,
    also one the script built itself (whose framework callback the session does not know).
    """
    _evaluation_listeners.append(listener)

    def remove() -> None:
        if listener in _evaluation_listeners:
            _evaluation_listeners.remove(listener)

    return remove


@dataclass
class _Group:
    """What the detector keeps for one parameter group between evaluations."""

    settling: Settling = field(default_factory=Settling)
    prev_t: float | None = None  # step count at the previous evaluation
    samples: dict[int, TensorSample] = field(default_factory=dict)  # tensor position -> sample
    allocation: list[int | None] | None = None  # sample size per tensor position (None: all)
    pending: dict[int, dict[str, Any]] = field(default_factory=dict)  # restored sample memory


class WarmupDetector:
    """Logs how the variance of Adam's adaptive learning rate evolves, and says when it has settled.

    Call :meth:`update` after every ``optimizer.step()``. It returns ``None`` on most steps
    and, when an evaluation is due (steps 1, 2, 4, 8, then every ``every`` steps), a dict of
    floats named ``warmup/<Optimizer>/<group>/<metric>`` (``<group>`` is ``pg<i>`` or the
    group's ``"name"``) plus run-level ``warmup/<Optimizer>/settled_step``, ``relapses`` and
    ``suggested_warmup_steps``. It only reads the optimizer's state.

    When a group is settled, and what T and the suggested warmup are: :mod:`.rule`. What the
    metrics mean: :mod:`.metrics` and docs/detector.md.

    Args:
        optimizer: any Adam-family optimizer (Adam, AdamW, RAdam, NAdam, timm's, ours), or a
            wrapper of one (Accelerate, Lightning, DeepSpeed ZeRO, timm Lookahead).
        config: a :class:`~radam_integrations.warmup.DetectorConfig` (or the dict of its fields);
            ``**options`` are its fields too (``every=5``, ``tol=0.2``, ...) and override it.
        name: the ``<Optimizer>`` part of metric names (default: the optimizer's class name).
        process_group: process group of sharded state (default: the world).
        padding: ``padding(group_index, tensor)``: the padding in a tensor's local shard, as a
            number of trailing elements or a list of valid ``(start, length)`` ranges; detected
            automatically for FSDP1 and DeepSpeed ZeRO 1/2/3.
        sharded: whether ranks hold different parts of the state (default: detected). Sharded
            statistics are summed over ranks with one all_reduce per evaluation.

    History values are rounded to float32.

    Example:
        >>> import torch
        >>> from radam_integrations import RAdam, WarmupDetector
        >>> model = torch.nn.Linear(16, 4)
        >>> opt = RAdam(model.parameters(), lr=1e-3)
        >>> detector = WarmupDetector(opt, every=10)
        >>> for step in range(1, 31):
        ...     opt.zero_grad()
        ...     model(torch.randn(32, 16)).pow(2).mean().backward()
        ...     opt.step()
        ...     metrics = detector.update()
        ...     if step == 1:
        ...         print(sorted(k for k in metrics if k.endswith(("/rho_t", "/ess"))))
        ['warmup/RAdam/pg0/ess', 'warmup/RAdam/pg0/rho_t']
        >>> detector.evaluations
        7
    """

    def __init__(
        self,
        optimizer: Any,
        config: DetectorConfig | dict[str, Any] | None = None,
        *,
        name: str | None = None,
        process_group: Any = None,
        padding: PaddingFn | None = None,
        sharded: bool | None = None,
        **options: Any,
    ) -> None:
        self.config = DetectorConfig.build(config, **options)
        self.optimizer, self._zero = unwrap_optimizer(optimizer)
        check_adam_family(self.optimizer)
        #: How this detector was attached (see :mod:`.claims`): ``EXPLICIT`` unless built by an
        #: automatic attachment, which steps aside for a detector of a higher level.
        self.attach_level = claims.claim(self.optimizer, self)
        self.name = name or type(self.optimizer).__name__
        self.process_group = process_group
        self._layout = ZeroLayout(self._zero) if self._zero is not None else None
        self._padding = padding or (self._layout.padding if self._layout else fsdp1_padding)
        self._sharded = sharded
        self.history: list[dict[str, Any]] = []
        self._history_stride = 1
        self._groups: list[_Group] = []
        self._last_sums: list[list[float]] = []
        self._last_step = 0.0
        self._next_eval = 1.0
        self.evaluations = 0
        #: Per parameter group, the metrics of the last evaluation (with ``"t"``, the group's step),
        #: ``None`` for a group without state then; empty before the first evaluation.
        self.last_group_metrics: list[dict[str, float] | None] = []
        self._warned_nonfinite = False

    # ------------------------------------------------------------------ when to evaluate
    def _schedule_after(self, step: float) -> float:
        """The next evaluation step after ``step``: 1, 2, 4, 8, then every ``config.every``."""
        for early in _EARLY:
            if step < early:
                return float(early)
        every = self.config.every or DEFAULT_EVERY
        return float((math.floor(step / every) + 1) * every)

    def _current_step(self) -> float | None:
        """The optimizer's step count (max over groups of the first stateful tensor's step)."""
        current = None
        for gi, group in enumerate(self.optimizer.param_groups):
            for p in self._group_tensors(gi, group):
                state = self.optimizer.state.get(p)
                if state and "step" in state:
                    value = float(state["step"])
                    current = value if current is None else max(current, value)
                    break
        return current

    def update(self) -> dict[str, float] | None:
        """Call after each optimizer step: the metrics dict when an evaluation is due, else ``None``.

        A step the optimizer skipped (AMP found inf/nan, so ``step`` did not advance) is
        not counted.
        """
        step = self._current_step()
        if step is None or step == self._last_step:
            return None
        self._last_step = step
        if step < self._next_eval:
            return None
        self._next_eval = self._schedule_after(step)
        return self.evaluate()

    @property
    def outranked(self) -> bool:
        """Whether a detector attached with higher precedence watches the same optimizer."""
        return claims.outranked(self, self.optimizer, self.attach_level)

    @property
    def last_step(self) -> int:
        """The optimizer step count at the last :meth:`update` that saw a new step (0 before any)."""
        return int(self._last_step)

    @property
    def is_logging_rank(self) -> bool:
        """Only rank 0 logs (every rank computes, so collectives stay matched)."""
        return world_rank(self.process_group) == 0

    @property
    def sharded(self) -> bool:
        """Whether ranks hold different parts of the state (then the sums are all-reduced)."""
        if self._sharded is None:
            self._sharded = state_is_sharded(self.optimizer, self._zero)
        return self._sharded

    @sharded.setter
    def sharded(self, value: bool) -> None:
        self._sharded = bool(value)

    # ------------------------------------------------------------------ what to read
    def _group(self, index: int) -> _Group:
        while len(self._groups) <= index:
            self._groups.append(_Group())
        return self._groups[index]

    def _group_tensors(self, gi: int, group: dict[str, Any]) -> list[Tensor]:
        """The tensors whose state belongs to group ``gi`` (ZeRO-3 keeps them outside ``params``)."""
        return self._layout.group_tensors(gi, group) if self._layout else group["params"]

    def _entries(self, gi: int, group: dict[str, Any]) -> list[tuple[Tensor, dict[str, Any], TensorSample]]:
        """``(tensor, state, sample)`` for the group's tensors that have state; samples drawn once."""
        record = self._group(gi)
        tensors = self._group_tensors(gi, group)
        entries = []
        for pi, p in enumerate(tensors):
            state = self.optimizer.state.get(p)
            if not state or "exp_avg_sq" not in state:
                continue
            if "exp_avg" not in state or "step" not in state:
                raise UnsupportedOptimizerError(
                    f"{type(self.optimizer).__name__}'s state lacks 'exp_avg' or 'step': "
                    "WarmupDetector reads Adam-family state (step, exp_avg, exp_avg_sq)"
                )
            sample = record.samples.get(pi)
            if sample is None:
                if record.allocation is None:
                    record.allocation = allocate_sample(
                        [_valid_count(self._padding(gi, t), t) for t in tensors], self.config.sample_size
                    )
                k = record.allocation[pi] if pi < len(record.allocation) else None
                sample = self._draw(gi, pi, p, state, k)
                saved = record.pending.pop(pi, None)  # memory from a checkpoint, restored lazily
                if saved is not None:
                    prev = decode_floats(saved)
                    if prev.numel() == sample.count:
                        sample.prev_logpsi = prev.to(local_flat(state["exp_avg_sq"]).device)
                record.samples[pi] = sample
            entries.append((p, state, sample))
        return entries

    def _draw(self, gi: int, pi: int, param: Tensor, state: dict[str, Any], k: int | None) -> TensorSample:
        """The fixed sample of ``k`` valid elements (``None``: all) of one tensor's local state."""
        local = local_flat(state["exp_avg_sq"])
        spec = self._padding(gi, param)
        generator = torch.Generator().manual_seed(self.config.seed * 1_000_003 + gi * 10_007 + pi)
        if isinstance(spec, int):
            return draw_sample(local.numel() - spec, k, generator, local.device)
        ranges = [(int(start), int(length)) for start, length in spec]
        valid = sum(length for _, length in ranges if length > 0)
        return draw_sample(valid, k, generator, local.device, ranges=ranges)

    # ------------------------------------------------------------------ one evaluation
    def raw_sums(self) -> list[dict[str, float]]:
        """Per-group sums of the last evaluation (after the reduce), by :data:`SUM_FIELDS` name."""
        return [dict(zip(SUM_FIELDS + _EXTRA, row)) for row in self._last_sums]

    def evaluate(self) -> dict[str, float]:
        """Evaluate now (whatever the schedule) and return the metrics."""
        groups = self.optimizer.param_groups
        rows = []
        for gi, group in enumerate(groups):
            if "betas" not in group:
                raise UnsupportedOptimizerError(f"param group {gi} has no 'betas': not an Adam-family group")
            beta1, beta2 = (float(b) for b in group["betas"])
            entries = self._entries(gi, group)
            steps = [float(state["step"]) for _, state, _ in entries]  # one host read per tensor
            sums = group_sums(
                entries, steps, beta1=beta1, beta2=beta2, eps=float(group.get("eps", 1e-8))
            ).cpu()
            extra = torch.tensor([max(steps), 1.0] if steps else [0.0, 0.0], dtype=torch.float64)
            rows.append(torch.cat([sums, extra]))
        table = torch.stack(rows) if rows else torch.zeros(0, len(SUM_FIELDS) + 2, dtype=torch.float64)
        if self.sharded:
            all_reduce_sum(table, self.process_group)
        self._last_sums = table.tolist()

        metrics: dict[str, float] = {}
        record: dict[str, Any] = {"step": int(self._last_step or 0), "groups": {}}
        self.last_group_metrics = [None] * len(groups)
        for gi, (group, row) in enumerate(zip(groups, self._last_sums)):
            if row[len(SUM_FIELDS) + 1] == 0:  # no tensor of this group has state yet
                continue
            t = row[len(SUM_FIELDS)] / row[len(SUM_FIELDS) + 1]
            values = self._group_metrics(gi, group, row, t)
            self.last_group_metrics[gi] = {**values, "t": t}
            label = str(group.get("name", f"pg{gi}"))
            record["groups"][label] = values
            for key, value in values.items():
                metrics[f"warmup/{self.name}/{label}/{key}"] = value
        # Run level: the worst group's noise and staleness (what keeps the run from settling),
        # then T, relapses and the suggested warmup.
        for key in RUN_WORST:
            finite = [v[key] for v in record["groups"].values() if math.isfinite(v[key])]
            if finite:
                metrics[f"warmup/{self.name}/{key}"] = max(finite)
        run = self.run_summary()
        record.update(run)
        for key, run_value in run.items():
            if run_value is not None:
                metrics[f"warmup/{self.name}/{key}"] = float(run_value)
        if self.config.keep_history:
            self._remember(record)
        self.evaluations += 1
        for listener in tuple(_evaluation_listeners):
            listener(self)
        return metrics

    def _group_metrics(self, gi: int, group: dict[str, Any], row: list[float], t: float) -> dict[str, float]:
        record = self._group(gi)
        beta2 = float(group["betas"][1])
        sums = {name: row[i] for name, i in FIELD.items()}
        rule = update_rule(self.optimizer, group)
        values = group_metrics(sums, t, record.prev_t, beta2, float(group.get("lr", 0.0)), rule)
        record.prev_t = t
        if values["nonfinite_frac"] > 0 and not self._warned_nonfinite:
            self._warned_nonfinite = True
            warnings.warn(
                f"WarmupDetector: {values['nonfinite_frac']:.1%} of the sampled optimizer state of group "
                f"{gi} is NaN/Inf at step {int(t)}; those elements are excluded and reported as "
                "nonfinite_frac.",
                RuntimeWarning,
                stacklevel=3,
            )
        config = self.config
        settled_now = theory.is_settled(
            values["rho_t"],
            values["noise"],
            values["noise_floor"],
            values["staleness"],
            config.tol,
            config.floor_factor,
        )
        record.settling.observe(settled_now, int(t), config.hold)
        settled = record.settling.settled_step
        return {
            **values,
            "settled": 1.0 if settled is not None else 0.0,
            "settled_step": math.nan if settled is None else float(settled),
            "beta2": beta2,
        }

    def _remember(self, record: dict[str, Any]) -> None:
        """Keep every ``_history_stride``-th evaluation, at most ``history_limit`` of them, in float32."""
        if self.evaluations % self._history_stride:
            return
        for values in record["groups"].values():
            for key, value in values.items():
                values[key] = _float32(value)
        self.history.append(record)
        if len(self.history) > self.config.history_limit:
            self.history = self.history[::2]
            self._history_stride *= 2

    # ------------------------------------------------------------------ results
    @property
    def settled_step(self) -> int | None:
        """The run's settled step T (the max over groups), ``None`` until every group settled."""
        steps = [
            g.settling.settled_step for g in self._groups if g.samples or g.settling.settled_step is not None
        ]
        settled = [s for s in steps if s is not None]
        if not steps or len(settled) < len(steps):
            return None
        return max(settled)

    @property
    def relapses(self) -> int:
        """Relapses over all groups."""
        return sum(g.settling.relapses for g in self._groups)

    def _beta2_of_settling_group(self) -> float:
        groups = self.optimizer.param_groups
        steps = [(g.settling.settled_step or 0, i) for i, g in enumerate(self._groups) if i < len(groups)]
        index = max(steps)[1] if steps else 0
        return float(groups[index]["betas"][1]) if groups else 0.999

    @property
    def suggested_warmup_steps(self) -> int | None:
        """Linear warmup length ``clip(2 T, 10, 2 / (1 - beta2))``, once T is known."""
        settled = self.settled_step
        if settled is None:
            return None
        return theory.suggested_warmup_steps(settled, self._beta2_of_settling_group())

    def run_summary(self) -> dict[str, int | None]:
        """The run-level results: T, relapses and the suggested warmup (``None`` until known)."""
        return {
            "settled_step": self.settled_step,
            "relapses": self.relapses,
            "suggested_warmup_steps": self.suggested_warmup_steps,
        }

    def group_labels(self) -> list[str]:
        """``pg0``, ``pg1``, ... (0-based: the index in ``param_groups``), or the group's ``"name"``."""
        return [str(g.get("name", f"pg{i}")) for i, g in enumerate(self.optimizer.param_groups)]

    def summary(self) -> str:
        """A text table: T per group, the suggestion, theory horizons and the untuned warmup; then,
        for RAdam under a decaying learning rate, :meth:`schedule_advice` when it has something to say."""
        from .outputs import summary_text

        return summary_text([self])

    def schedule_advice(self) -> str | None:
        """What RAdam's rectification and the run's own learning-rate schedule did together.

        For the first parameter group the optimizer rectifies (RAdam: ours or torch's), from the
        learning rates seen at the evaluations kept in :attr:`history` up to :attr:`last_step`
        (see :mod:`radam_integrations.warmup.schedule`). ``None`` for Adam-style optimizers,
        without history, at a constant learning rate, or when the rectification cost the run
        little beyond what the schedule alone does.
        """
        observed = self.observed_schedule()
        return None if observed is None else observed.advice()

    def observed_schedule(self) -> ObservedSchedule | None:
        """The inputs of :meth:`schedule_advice` (cheap: the advice itself is computed on demand)."""
        for group, label in zip(self.optimizer.param_groups, self.group_labels()):
            rule = update_rule(self.optimizer, group)
            if rule.threshold is None:
                continue
            points = tuple(
                (int(record["step"]), float(record["groups"][label]["lr"]))
                for record in self.history
                if "lr" in record["groups"].get(label, {})
            )
            return ObservedSchedule(points, self.last_step, float(group["betas"][1]), rule.threshold)
        return None

    def summary_rows(self) -> list[dict[str, Any]]:
        """One row per group for :meth:`summary` and the history file."""
        from .report import summary_row

        rows = []
        for gi, (group, label) in enumerate(zip(self.optimizer.param_groups, self.group_labels())):
            settling = self._groups[gi].settling if gi < len(self._groups) else Settling()
            beta2 = float(group["betas"][1])
            rows.append(summary_row(self.name, label, beta2, settling.settled_step, settling.relapses))
        return rows

    def plot(self, path: str, title: str | None = None) -> str:
        """Write the PNG plot of noise, staleness and r_t over steps (needs matplotlib)."""
        from .report import plot_history

        return plot_history(self.history_records(), path, title=title or f"Warmup detector: {self.name}")

    def history_records(self) -> list[dict[str, Any]]:
        """The history as flat rows: ``{"step", "group", <metric>...}`` plus run-level columns."""
        rows = []
        for record in self.history:
            for label, values in record["groups"].items():
                rows.append(
                    {
                        "step": record["step"],
                        "optimizer": self.name,
                        "group": label,
                        **values,
                        "relapses": record.get("relapses"),
                    }
                )
        return rows

    def save_history(self, path: str) -> str:
        """Write the history as JSON (``.json``) or CSV (``.csv``) for ``radam-integrations report``."""
        from .report import save_history

        return save_history(self.history_records(), path, summary=self.summary_rows())

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self, all_ranks: bool = False) -> dict[str, Any]:
        """Strict-JSON state (sample memory included) so that a resumed run continues the detection.

        Its size is bounded whatever the model and the run length: per parameter group at most
        ``sample_size`` (plus one per tensor) float32 values of sample memory and
        ``history_limit`` history records, packed as base64 (about 22 KB + 12 KB per group at the
        defaults; see :mod:`radam_integrations.warmup.codec`).

        With sharded state each rank remembers its own samples. ``all_ranks=True`` gathers
        every rank's memory into the dict (a collective: call it on every rank), for
        checkpointers that write rank 0's copy only (Accelerate's ``save_state``);
        :meth:`load_state_dict` then picks this rank's part.
        """
        memory = [
            {
                **{str(pi): v for pi, v in g.pending.items()},
                **{
                    str(pi): encode_floats(s.prev_logpsi)
                    for pi, s in g.samples.items()
                    if s.prev_logpsi is not None
                },
            }
            for g in self._groups
        ]
        per_rank: list[Any] | None = None  # every rank's ``memory``, gathered
        if all_ranks and self.sharded:
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                per_rank = [None] * dist.get_world_size(self.process_group)
                dist.all_gather_object(per_rank, memory, group=self.process_group)
        return {
            "version": _STATE_VERSION,
            "config": self.config.as_dict(),
            "last_step": self._last_step,
            "next_eval": self._next_eval,
            "evaluations": self.evaluations,
            "groups": [
                {**g.settling.as_dict(), "prev_t": g.prev_t, "prev_logpsi": mem}
                for g, mem in zip(self._groups, memory)
            ],
            "per_rank_prev_logpsi": per_rank,
            "history_stride": self._history_stride,
            "history": encode_history(self.history, GROUP_METRICS),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output. Samples are re-drawn from the same seed.

        Raises:
            ValueError: ``state`` is not a detector state, or it is corrupted.
        """
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            version = state.get("version") if isinstance(state, dict) else None
            raise ValueError(
                f"not a WarmupDetector state (expected a dict with version {_STATE_VERSION}, "
                f"got {type(state).__name__} with version {version!r})"
            )
        saved_config = state.get("config", {})
        keep_samples = (
            saved_config.get("seed", self.config.seed) == self.config.seed
            and saved_config.get("sample_size") == self.config.sample_size
        )
        if not keep_samples:
            warnings.warn(
                "WarmupDetector.load_state_dict: seed or sample_size differ from the saved run; "
                "the element sample changes, so the first evaluation after resuming has no drift.",
                stacklevel=2,
            )
        try:
            history = decode_history(state["history"])
            groups = state["groups"]
            per_rank = state.get("per_rank_prev_logpsi")
            if per_rank:
                rank = world_rank(self.process_group)
                mine = per_rank[rank] if rank < len(per_rank) else []
                groups = [{**g, "prev_logpsi": m} for g, m in zip(groups, mine)]
            restored = []
            for saved in groups:
                record = _Group(settling=Settling.from_dict(saved), prev_t=saved["prev_t"])
                if keep_samples:
                    record.pending = {int(k): v for k, v in saved.get("prev_logpsi", {}).items()}
                restored.append(record)
            last_step, next_eval = float(state["last_step"]), float(state["next_eval"])
            stride = int(state.get("history_stride", 1))
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise ValueError(f"corrupted WarmupDetector state: {err}") from err
        self._last_step, self._next_eval = last_step, next_eval
        self.evaluations = int(state.get("evaluations", 0))
        self.history, self._history_stride = history, max(stride, 1)
        self._groups = restored


def _float32(value: float) -> float:
    """``value`` rounded to the nearest float32 (as a Python float); NaN and inf unchanged."""
    if not math.isfinite(value):
        return value
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:  # beyond float32's range
        return math.copysign(math.inf, value)


def _valid_count(spec: Any, tensor: Tensor) -> int:
    """Valid (unpadded) elements of a tensor's local data, from its padding spec."""
    if isinstance(spec, int):
        return max(local_flat(tensor).numel() - spec, 0)
    return sum(max(int(length), 0) for _, length in spec)
