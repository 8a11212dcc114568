"""WarmupDetector: how Adam's adaptive learning rate settles, read from the optimizer's state.

Framework-free: the Lightning, Fabric, Hugging Face and Accelerate callbacks in
:mod:`radam_integrations.integrations` only call :meth:`WarmupDetector.update` and log
what it returns. The definitions are in the README ("The warmup detector").
"""

from __future__ import annotations

import math
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from .. import theory
from . import claims
from .codec import decode_floats, decode_history, encode_floats, encode_history
from .reduce import (
    PaddingFn,
    ZeroLayout,
    all_reduce_sum,
    fsdp1_padding,
    local_flat,
    state_is_sharded,
    world_rank,
)
from .stats import FIELD, SUM_FIELDS, TensorSample, allocate_sample, draw_sample, group_sums

__all__ = [
    "GROUP_METRICS",
    "RUN_METRICS",
    "RUN_WORST",
    "WRAPPER_ATTRIBUTES",
    "UnsupportedOptimizerError",
    "WarmupDetector",
    "unwrap_optimizer",
    "wrapper_chain",
]

#: Metrics logged per parameter group, as ``warmup/<Optimizer>/<group>/<metric>``.
GROUP_METRICS = (
    "rho_t",
    "r_t",
    "var_ratio",
    "ess",
    "logpsi_std",
    "drift_mean",
    "drift_std",
    "noise",
    "noise_floor",
    "staleness",
    "update_rms",
    "update_to_param",
    "frac_zero_v",
    "nonfinite_frac",
    "settled",
    "settled_step",
    "beta2",
)
#: Run-level metrics (``warmup/<Optimizer>/<metric>``): T, relapses and the suggested warmup.
RUN_METRICS = ("settled_step", "relapses", "suggested_warmup_steps")
#: Run-level metrics that are the maximum over groups (logged as ``warmup/<Optimizer>/<metric>``).
RUN_WORST = ("noise", "staleness")
_STATE_VERSION = 2  # 2: float32 sample memory, column-wise bounded history
_EXTRA = ("step_sum", "step_count")  # appended to the sums so the step survives the reduce


class UnsupportedOptimizerError(TypeError):
    """The optimizer keeps no Adam-style state (``exp_avg``, ``exp_avg_sq``, ``step``)."""


#: Attributes through which optimizer wrappers expose what they wrap (Accelerate, Lightning,
#: DeepSpeed ZeRO, timm's Lookahead), in the order they are tried.
WRAPPER_ATTRIBUTES = ("optimizer", "_optimizer", "base_optimizer", "_base_optimizer")


def wrapper_chain(optimizer: Any) -> list[Any]:
    """``optimizer`` and everything it wraps, outermost first, following :data:`WRAPPER_ATTRIBUTES`."""
    chain, seen = [optimizer], {id(optimizer)}
    while True:
        inner = None
        for attr in WRAPPER_ATTRIBUTES:
            candidate = getattr(chain[-1], attr, None)
            if candidate is not None and id(candidate) not in seen and hasattr(candidate, "param_groups"):
                inner = candidate
                break
        if inner is None:
            return chain
        chain.append(inner)
        seen.add(id(inner))


def unwrap_optimizer(optimizer: Any) -> tuple[torch.optim.Optimizer, Any]:
    """The innermost optimizer holding the state, and the DeepSpeed ZeRO wrapper if any.

    Unwraps Accelerate's ``AcceleratedOptimizer`` / ``DeepSpeedOptimizerWrapper``,
    Lightning's ``LightningOptimizer``, DeepSpeed's ZeRO optimizers and timm's
    ``Lookahead`` (see :func:`wrapper_chain`).
    """
    chain = wrapper_chain(optimizer)
    zero = next((o for o in chain if hasattr(o, "groups_padding")), None)
    current = chain[-1]
    if not (hasattr(current, "param_groups") and hasattr(current, "state")):
        raise UnsupportedOptimizerError(
            "WarmupDetector needs a torch optimizer (with param_groups and state), "
            f"got {type(optimizer).__name__}"
        )
    return current, zero


def _is_radam(optimizer: torch.optim.Optimizer) -> bool:
    from ..optim import RAdam

    return isinstance(optimizer, (RAdam, torch.optim.RAdam))


@dataclass
class _GroupTracker:
    """Detection state of one parameter group."""

    settled_step: int | None = None
    candidate: int | None = None  # first step of the current settled streak
    streak: int = 0
    unsettled: int = 0
    relapses: int = 0
    prev_t: float | None = None
    samples: dict[int, TensorSample] = field(default_factory=dict)  # param position -> sample
    allocation: list[int | None] | None = None  # sample size per tensor position (None: all)
    pending: dict[int, dict[str, Any]] = field(default_factory=dict)  # restored sample memory


class WarmupDetector:
    """Logs how the variance of Adam's adaptive learning rate evolves, and says when it has settled.

    Call :meth:`update` after every ``optimizer.step()``. It returns ``None`` on most steps
    and, when an evaluation is due (steps 1, 2, 4, 8, then every ``every`` steps), a dict of
    floats named ``warmup/<Optimizer>/<group>/<metric>`` (``<group>`` is ``pg<i>`` or the
    group's ``"name"``) plus run-level ``warmup/<Optimizer>/settled_step``, ``relapses`` and
    ``suggested_warmup_steps``. It only reads the optimizer's state.

    A group is *settled* at an evaluation when ``rho_t > 4``, the sampling noise of
    ``log psi`` is at most ``max(tol, floor_factor * noise_floor)`` and the staleness (how
    much psi lags a drifting gradient scale) is at most ``tol``. The settled step ``T`` is
    the first of ``hold`` consecutive settled evaluations; ``hold`` consecutive unsettled
    evaluations after ``T`` count as a relapse. The suggested linear warmup is
    ``clip(2 T, 10, 2 / (1 - beta2))`` steps.

    Args:
        optimizer: any Adam-family optimizer (Adam, AdamW, RAdam, NAdam, timm's, ours), or a
            wrapper of one (Accelerate, Lightning, DeepSpeed ZeRO, timm Lookahead).
        every: evaluation period in optimizer steps after the early steps 1, 2, 4, 8.
        sample_size: elements sampled per parameter group (and rank), spread over the group's
            tensors in proportion to their size, at least one each (``None``: all elements).
            It bounds both the cost of an evaluation and the checkpointed sample memory.
        tol: tolerance on noise and staleness.
        hold: consecutive evaluations needed to settle (and to relapse).
        floor_factor: the noise criterion accepts ``floor_factor`` times the stationary noise floor.
        seed: seed of the element sample (drawn once, reused at every evaluation).
        name: the ``<Optimizer>`` part of metric names (default: the optimizer's class name).
        process_group: process group of sharded state (default: the world).
        padding: ``padding(group_index, tensor)``: the padding in a tensor's local shard, as a
            number of trailing elements or a list of valid ``(start, length)`` ranges; detected
            automatically for FSDP1 and DeepSpeed ZeRO 1/2/3.
        sharded: whether ranks hold different parts of the state (default: detected). Sharded
            statistics are summed over ranks with one all_reduce per evaluation.
        keep_history: keep evaluations in :attr:`history` (for the report and plot).
        history_limit: at most this many evaluations are kept in :attr:`history` (and in
            checkpoints): when it is full, every other record is dropped and from then on only
            every other evaluation is recorded, so the kept ones stay evenly spaced over the run.
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
        *,
        every: int = 10,
        sample_size: int | None = 4096,
        tol: float = 0.1,
        hold: int = 3,
        floor_factor: float = 1.5,
        seed: int = 0,
        name: str | None = None,
        process_group: Any = None,
        padding: PaddingFn | None = None,
        sharded: bool | None = None,
        keep_history: bool = True,
        history_limit: int = 128,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if sample_size is not None and (isinstance(sample_size, bool) or sample_size < 1):
            raise ValueError(f"sample_size must be >= 1 or None (all elements), got {sample_size}")
        if not tol > 0:
            raise ValueError(f"tol must be > 0, got {tol}")
        if hold < 1:
            raise ValueError(f"hold must be >= 1, got {hold}")
        if history_limit < 2:
            raise ValueError(f"history_limit must be >= 2, got {history_limit}")
        self.optimizer, self._zero = unwrap_optimizer(optimizer)
        _check_adam_family(self.optimizer)
        #: How this detector was attached (see :mod:`.claims`): ``EXPLICIT`` unless built by an
        #: automatic attachment, which steps aside for a detector of a higher level.
        self.attach_level = claims.claim(self.optimizer, self)
        self.every = int(every)
        self.sample_size = None if sample_size is None else int(sample_size)
        self.tol = float(tol)
        self.hold = int(hold)
        self.floor_factor = float(floor_factor)
        self.seed = int(seed)
        self.name = name or type(self.optimizer).__name__
        self.process_group = process_group
        self._layout = ZeroLayout(self._zero) if self._zero is not None else None
        self._padding = padding or (self._layout.padding if self._layout else fsdp1_padding)
        self._sharded = sharded
        self.keep_history = keep_history
        self.history_limit = int(history_limit)
        self.history: list[dict[str, Any]] = []
        self._history_stride = 1
        self._groups: list[_GroupTracker] = []
        self._last_sums: list[list[float]] = []
        self._last_step = 0.0
        self._next_eval = 1.0
        self.evaluations = 0
        self._warned_nonfinite = False

    # ------------------------------------------------------------------ schedule
    def _schedule_after(self, step: float) -> float:
        for early in (1, 2, 4, 8):
            if step < early:
                return float(early)
        return float((math.floor(step / self.every) + 1) * self.every)

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

    # ------------------------------------------------------------------ evaluation
    @property
    def is_logging_rank(self) -> bool:
        """Only rank 0 logs (every rank computes, so collectives stay matched)."""
        return world_rank(self.process_group) == 0

    @property
    def sharded(self) -> bool:
        if self._sharded is None:
            self._sharded = state_is_sharded(self.optimizer, self._zero)
        return self._sharded

    def _tracker(self, index: int) -> _GroupTracker:
        while len(self._groups) <= index:
            self._groups.append(_GroupTracker())
        return self._groups[index]

    def _entries(self, gi: int, group: dict[str, Any]) -> list[tuple[Tensor, dict, TensorSample]]:
        tracker = self._tracker(gi)
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
            sample = tracker.samples.get(pi)
            if sample is None:
                if tracker.allocation is None:
                    tracker.allocation = allocate_sample(
                        [_valid_count(self._padding(gi, t), t) for t in tensors], self.sample_size
                    )
                k = tracker.allocation[pi] if pi < len(tracker.allocation) else None
                sample = self._draw(gi, pi, p, state, k)
                saved = tracker.pending.pop(pi, None)  # memory from a checkpoint, restored lazily
                if saved is not None:
                    prev = decode_floats(saved)
                    if prev.numel() == sample.count:
                        sample.prev_logpsi = prev.to(local_flat(state["exp_avg_sq"]).device)
                tracker.samples[pi] = sample
            entries.append((p, state, sample))
        return entries

    def _group_tensors(self, gi: int, group: dict[str, Any]) -> list[Tensor]:
        """The tensors whose state belongs to group ``gi`` (ZeRO-3 keeps them outside ``params``)."""
        return self._layout.group_tensors(gi, group) if self._layout else group["params"]

    def _draw(self, gi: int, pi: int, param: Tensor, state: dict, k: int | None) -> TensorSample:
        """The fixed sample of ``k`` valid elements (``None``: all) of one tensor's local state."""
        local = local_flat(state["exp_avg_sq"])
        spec = self._padding(gi, param)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + gi * 10_007 + pi)
        if isinstance(spec, int):
            return draw_sample(local.numel() - spec, k, generator, local.device)
        ranges = [(int(start), int(length)) for start, length in spec]
        valid = sum(length for _, length in ranges if length > 0)
        return draw_sample(valid, k, generator, local.device, ranges=ranges)

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
        for gi, (group, row) in enumerate(zip(groups, self._last_sums)):
            if row[len(SUM_FIELDS) + 1] == 0:  # no tensor of this group has state yet
                continue
            t = row[len(SUM_FIELDS)] / row[len(SUM_FIELDS) + 1]
            values = self._group_metrics(gi, group, row, t)
            label = str(group.get("name", f"pg{gi}"))
            record["groups"][label] = values
            for key, value in values.items():
                metrics[f"warmup/{self.name}/{label}/{key}"] = value
        # Run level: the worst group's noise and staleness (what keeps the run from settling),
        # then T, relapses and the suggested warmup.
        for key in RUN_WORST:
            values = [v[key] for v in record["groups"].values() if math.isfinite(v[key])]
            if values:
                metrics[f"warmup/{self.name}/{key}"] = max(values)
        run = self.run_summary()
        record.update(run)
        for key, value in run.items():
            if value is not None:
                metrics[f"warmup/{self.name}/{key}"] = float(value)
        if self.keep_history:
            self._remember(record)
        self.evaluations += 1
        return metrics

    def _remember(self, record: dict[str, Any]) -> None:
        """Keep every ``_history_stride``-th evaluation, at most ``history_limit`` of them, in float32."""
        if self.evaluations % self._history_stride:
            return
        for values in record["groups"].values():
            for key, value in values.items():
                values[key] = _float32(value)
        self.history.append(record)
        if len(self.history) > self.history_limit:
            self.history = self.history[::2]
            self._history_stride *= 2

    def _group_metrics(self, gi: int, group: dict[str, Any], row: list[float], t: float) -> dict[str, float]:
        tracker = self._tracker(gi)
        f = {name: row[i] for name, i in FIELD.items()}
        beta2 = float(group["betas"][1])
        rho = theory.rho_t(t, beta2)
        r = theory.r_t(t, beta2)
        ess = theory.effective_sample_size(t, beta2)

        def ratio(num: float, den: float) -> float:
            return num / den if den > 0 else math.nan

        mean_l = ratio(f["sum_logpsi"], f["weight_v"])
        logpsi_std = math.sqrt(max(ratio(f["sum_logpsi_sq"], f["weight_v"]) - mean_l**2, 0.0))
        drift_mean = ratio(f["sum_drift"], f["weight_drift"])
        drift_var = max(ratio(f["sum_drift_sq"], f["weight_drift"]) - drift_mean**2, 0.0)
        drift_std = math.sqrt(drift_var) if math.isfinite(drift_mean) else math.nan

        noise = noise_floor = staleness = math.nan
        lag = t - tracker.prev_t if tracker.prev_t is not None else 0.0
        if 0 < lag <= t and math.isfinite(drift_mean):
            # drift of log psi = -drift of log v_hat / 2
            c2 = theory.c2_from_drift(4.0 * drift_var, t, lag, beta2)
            noise = theory.logpsi_noise(c2, t, beta2)
            noise_floor = theory.logpsi_noise_floor(c2, beta2)
            staleness = -drift_mean / lag * (rho - 1.0) / 2.0
        tracker.prev_t = t

        update_rms = math.sqrt(ratio(f["sum_update_sq"], f["weight"]))
        param_norm = math.sqrt(f["sum_param_sq"])
        lr = float(group.get("lr", 0.0))
        if _is_radam(self.optimizer):
            rectified = rho > max(float(group.get("threshold", 5.0)), 4.0)
            if rectified:
                update_norm = lr * r * math.sqrt(f["sum_update_sq"])
            elif group.get("degenerated_to_sgd", True):
                update_norm = lr * math.sqrt(f["sum_mhat_sq"])
            else:
                update_norm = 0.0
        else:
            update_norm = lr * math.sqrt(f["sum_update_sq"])
        total = f["weight"] + f["weight_nonfinite"]
        nonfinite_frac = ratio(f["weight_nonfinite"], total)
        if nonfinite_frac > 0 and not self._warned_nonfinite:
            self._warned_nonfinite = True
            warnings.warn(
                f"WarmupDetector: {nonfinite_frac:.1%} of the sampled optimizer state of group {gi} "
                "is NaN/Inf "
                f"at step {int(t)}; those elements are excluded and reported as nonfinite_frac.",
                RuntimeWarning,
                stacklevel=3,
            )

        settled_now = (
            rho > 4.0
            and math.isfinite(noise)
            and noise <= max(self.tol, self.floor_factor * noise_floor)
            and staleness <= self.tol
        )
        self._advance_rule(tracker, settled_now, int(t))
        return {
            "rho_t": rho,
            "r_t": r,
            "var_ratio": 1.0 / (r * r) if r > 0 else math.inf,
            "ess": ess,
            "logpsi_std": logpsi_std,
            "drift_mean": drift_mean,
            "drift_std": drift_std,
            "noise": noise,
            "noise_floor": noise_floor,
            "staleness": staleness,
            "update_rms": update_rms,
            "update_to_param": ratio(update_norm, param_norm),
            "frac_zero_v": ratio(f["weight_zero_v"], f["weight"]),
            "nonfinite_frac": nonfinite_frac,
            "settled": 1.0 if tracker.settled_step is not None else 0.0,
            "settled_step": math.nan if tracker.settled_step is None else float(tracker.settled_step),
            "beta2": beta2,
        }

    def _advance_rule(self, tracker: _GroupTracker, settled_now: bool, step: int) -> None:
        if tracker.settled_step is None:
            if settled_now:
                tracker.streak += 1
                if tracker.streak == 1:
                    tracker.candidate = step
                if tracker.streak >= self.hold:
                    tracker.settled_step = tracker.candidate
            else:
                tracker.streak = 0
                tracker.candidate = None
            return
        if settled_now:
            tracker.unsettled = 0
            return
        tracker.unsettled += 1
        if tracker.unsettled == self.hold:
            tracker.relapses += 1

    # ------------------------------------------------------------------ results
    def group_settled_steps(self) -> list[int | None]:
        return [g.settled_step for g in self._groups]

    @property
    def settled_step(self) -> int | None:
        """The run's settled step T: the max over groups, ``None`` until every group settled."""
        steps = [g.settled_step for g in self._groups if g.samples or g.settled_step is not None]
        if not steps or any(s is None for s in steps):
            return None
        return max(steps)  # type: ignore[type-var]

    @property
    def relapses(self) -> int:
        return sum(g.relapses for g in self._groups)

    def _beta2_of_settling_group(self) -> float:
        groups = self.optimizer.param_groups
        steps = [(g.settled_step or 0, i) for i, g in enumerate(self._groups) if i < len(groups)]
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
        return {
            "settled_step": self.settled_step,
            "relapses": self.relapses,
            "suggested_warmup_steps": self.suggested_warmup_steps,
        }

    def group_labels(self) -> list[str]:
        return [str(g.get("name", f"pg{i}")) for i, g in enumerate(self.optimizer.param_groups)]

    def summary(self) -> str:
        """A text table: T per group, the suggestion, theory horizons and the untuned warmup."""
        from .report import summary_table

        return summary_table(self.summary_rows())

    def summary_rows(self) -> list[dict[str, Any]]:
        rows = []
        for gi, (group, label) in enumerate(zip(self.optimizer.param_groups, self.group_labels())):
            tracker = self._groups[gi] if gi < len(self._groups) else _GroupTracker()
            beta2 = float(group["betas"][1])
            settled = tracker.settled_step
            rows.append(
                {
                    "optimizer": self.name,
                    "group": label,
                    "beta2": beta2,
                    "settled_step": settled,
                    "relapses": tracker.relapses,
                    "suggested_warmup_steps": None
                    if settled is None
                    else theory.suggested_warmup_steps(settled, beta2),
                    "r_t>=0.5": theory.steps_until_rectification(0.5, beta2),
                    "r_t>=0.9": theory.steps_until_rectification(0.9, beta2),
                    "untuned 2/(1-b2)": theory.untuned_linear_warmup(beta2),
                }
            )
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
        per_rank = None
        if all_ranks and self.sharded:
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                per_rank = [None] * dist.get_world_size(self.process_group)
                dist.all_gather_object(per_rank, memory, group=self.process_group)
        return {
            "version": _STATE_VERSION,
            "config": {
                "every": self.every,
                "sample_size": self.sample_size,
                "tol": self.tol,
                "hold": self.hold,
                "floor_factor": self.floor_factor,
                "seed": self.seed,
            },
            "last_step": self._last_step,
            "next_eval": self._next_eval,
            "evaluations": self.evaluations,
            "groups": [
                {
                    "settled_step": g.settled_step,
                    "candidate": g.candidate,
                    "streak": g.streak,
                    "unsettled": g.unsettled,
                    "relapses": g.relapses,
                    "prev_t": g.prev_t,
                    "prev_logpsi": mem,
                }
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
        config = state.get("config", {})
        keep_samples = (
            config.get("seed", self.seed) == self.seed and config.get("sample_size") == self.sample_size
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
            trackers = []
            for saved in groups:
                tracker = _GroupTracker(
                    settled_step=saved["settled_step"],
                    candidate=saved["candidate"],
                    streak=int(saved["streak"]),
                    unsettled=int(saved["unsettled"]),
                    relapses=int(saved["relapses"]),
                    prev_t=saved["prev_t"],
                )
                if keep_samples:
                    tracker.pending = {int(k): v for k, v in saved.get("prev_logpsi", {}).items()}
                trackers.append(tracker)
            last_step, next_eval = float(state["last_step"]), float(state["next_eval"])
            stride = int(state.get("history_stride", 1))
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise ValueError(f"corrupted WarmupDetector state: {err}") from err
        self._last_step, self._next_eval = last_step, next_eval
        self.evaluations = int(state.get("evaluations", 0))
        self.history, self._history_stride = history, max(stride, 1)
        self._groups = trackers


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


def _check_adam_family(optimizer: torch.optim.Optimizer) -> None:
    groups = optimizer.param_groups
    if groups and not all("betas" in g for g in groups):
        raise UnsupportedOptimizerError(
            f"WarmupDetector reads Adam-family state (step, exp_avg, exp_avg_sq); {type(optimizer).__name__} "
            "has no 'betas' in its param groups, so it keeps none. Use Adam, AdamW, RAdam, NAdam or "
            "radam_integrations.RAdam."
        )
    state = next((st for st in optimizer.state.values() if st), None)
    if state is not None and "exp_avg_sq" not in state:
        raise UnsupportedOptimizerError(
            f"{type(optimizer).__name__}'s state has {sorted(state)} but no 'exp_avg_sq': "
            "WarmupDetector reads Adam-family state (step, exp_avg, exp_avg_sq)"
        )
