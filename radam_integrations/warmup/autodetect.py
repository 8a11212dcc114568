"""``--detect``: a warmup detector on every Adam-family optimizer a script steps, with no code change.

:class:`DetectSession` is what the runner (``radam-integrations run --detect``) starts before
it runs a script. It registers one of torch's public global optimizer hooks
(``torch.optim.optimizer.register_optimizer_step_post_hook``), so it sees every
``optimizer.step()`` in the process: the first step of an Adam-family optimizer (Adam, AdamW,
NAdam, RAdam, timm's, ours; also behind Accelerate's, Lightning's or timm's Lookahead wrappers)
gets a :class:`~radam_integrations.WarmupDetector`, updated after every later step; other
optimizers (SGD, ...) are left alone.

Framework callbacks come first where a framework has them (the Hugging Face Trainer's, added by
the runner; Lightning's and Fabric's, through their entry points): they log to the framework's
loggers and checkpoints, and the hook's detector steps aside for them (see :mod:`.claims`), as
it does for a detector the script builds itself. The session reports those too: it hears every
detector's evaluations (:func:`~.detector.on_evaluation`), whoever built it, except the internal
ones that only feed a computation.

While the script runs, one line is printed when a detector settles. When it ends (normally,
through ``sys.exit`` or an exception), :meth:`DetectSession.finish` prints the summary table
and writes ``warmup_history.json`` and ``warmup_history.png`` (see :mod:`.outputs`) into the
session's folder, on rank 0 only.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.optim.optimizer import register_optimizer_step_post_hook

from .._console import say
from . import claims
from .config import DetectorConfig
from .detector import WarmupDetector, on_evaluation
from .outputs import HISTORY_FILE, summary_text, write_outputs
from .schedule import ObservedSchedule
from .unwrap import UnsupportedOptimizerError, unwrap_optimizer

__all__ = ["DetectSession", "current_session"]

_current: DetectSession | None = None


def current_session() -> DetectSession | None:
    """The running ``--detect`` session of this process, if any."""
    return _current


def _rank() -> int:
    """This process's global rank (also after the script destroyed its process group)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


@dataclass
class _Report:
    """What :mod:`.outputs` needs of a detector, kept after the detector itself is gone."""

    name: str
    records: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    settled_step: int | None
    schedule: ObservedSchedule | None

    def history_records(self) -> list[dict[str, Any]]:
        return self.records

    def summary_rows(self) -> list[dict[str, Any]]:
        return self.rows

    def schedule_advice(self) -> str | None:
        return None if self.schedule is None else self.schedule.advice()


def _report(detector: WarmupDetector) -> _Report:
    return _Report(
        detector.name,
        detector.history_records(),
        detector.summary_rows(),
        detector.settled_step,
        detector.observed_schedule(),
    )


@dataclass
class _Entry:
    ref: weakref.ref[WarmupDetector]  # the detector; it lives as long as its optimizer (see _ATTR)
    report: _Report | None = None  # its outputs when last seen
    yielded: bool = False  # a detector of higher precedence took over


#: The hook's detector hangs on the optimizer it watches (or ``False`` for one it cannot read),
#: so it lives exactly as long as that optimizer: a script that trains many models in turn does
#: not keep the old optimizers (and their state) alive through this session.
_ATTR = "_radam_integrations_autodetector"


class DetectSession:
    """Detectors attached without code changes, reported together when the script ends.

    Args:
        directory: where :meth:`finish` writes ``warmup_history.json`` and the plot.
        config, options: the :class:`~radam_integrations.warmup.DetectorConfig` (or its fields)
            of the detectors the hook creates.
        plot: write the plot (``None``: when matplotlib is installed).

    Example:
        >>> import tempfile, torch
        >>> from radam_integrations.warmup.autodetect import DetectSession
        >>> session = DetectSession(tempfile.mkdtemp(), plot=False)
        >>> session.start()
        >>> model = torch.nn.Linear(4, 1)
        >>> opt = torch.optim.AdamW(model.parameters())
        >>> for _ in range(3):
        ...     model(torch.randn(8, 4)).pow(2).mean().backward()
        ...     opt.step()
        >>> [d.evaluations for d in session.detectors]  # steps 1 and 2 (the next is at 4)
        [2]
        >>> session.stop()
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        config: DetectorConfig | None = None,
        *,
        plot: bool | None = None,
        **options: Any,
    ) -> None:
        self.directory = Path(directory)
        self.plot = plot
        self.config = DetectorConfig.build(config, **options)
        self._entries: list[_Entry] = []
        self._announced: set[int] = set()  # ids of the detectors whose T was printed
        self._handle: Any = None
        self._stop_listening: Any = None
        #: The class names of the optimizers that stepped, for the end message when none was watched.
        self.stepped: set[str] = set()

    # ------------------------------------------------------------------ lifetime
    def start(self) -> None:
        """Watch every optimizer step of this process; make this the current session."""
        global _current
        if self._handle is None:
            self._handle = register_optimizer_step_post_hook(self._after_step)
            self._stop_listening = on_evaluation(self._heard)
        _current = self

    def stop(self) -> None:
        """Stop watching (what was seen is still reported by :meth:`finish`)."""
        global _current
        if self._handle is not None:
            self._handle.remove()
            self._stop_listening()
            self._handle = self._stop_listening = None
        if _current is self:
            _current = None

    @property
    def detectors(self) -> list[WarmupDetector]:
        """The live detectors this session reports (the hook's and the frameworks' automatic ones)."""
        live = [entry.ref() for entry in self._entries]
        return [d for d in live if d is not None and not d.outranked]

    def add(self, detector: WarmupDetector) -> None:
        """Report ``detector`` too (a framework callback the session attached made it)."""
        if not any(entry.ref() is detector for entry in self._entries):
            self._entries.append(_Entry(weakref.ref(detector)))

    def evaluated(self, detector: WarmupDetector) -> None:
        """A detector of this session evaluated: keep its outputs; say so once when it has settled.

        The hook calls it for its own detectors, the frameworks' automatic callbacks for theirs.
        """
        self.remember(detector)
        self._announce(detector)

    def remember(self, detector: WarmupDetector) -> None:
        """Keep ``detector``'s outputs now, for the report even if it is gone by the end."""
        for entry in self._entries:
            if entry.ref() is detector:
                entry.report, entry.yielded = _report(detector), detector.outranked

    def _heard(self, detector: WarmupDetector) -> None:
        """Any detector evaluated (ours, a framework callback's, the script's own)."""
        if detector.attach_level == claims.INTERNAL or detector.outranked:
            return
        self.add(detector)
        self.evaluated(detector)

    # ------------------------------------------------------------------ the hook
    def _after_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self.stepped.add(type(optimizer).__name__)
        detector = getattr(optimizer, _ATTR, None)
        if detector is False:
            return
        if detector is None:
            detector = self._attach(optimizer)
            if detector is None:
                return
        if not detector.outranked:  # else a framework callback or the script's own detector watches it
            detector.update()  # an evaluation reaches _heard

    def _attach(self, optimizer: Any) -> WarmupDetector | None:
        try:
            inner, _ = unwrap_optimizer(optimizer)
        except UnsupportedOptimizerError:
            _mark(optimizer, False)
            return None
        existing = getattr(inner, _ATTR, None)
        if existing is not None:  # a wrapper of an optimizer seen before
            _mark(optimizer, existing)
            return existing or None
        if any(level > claims.HOOK for level, _ in claims.watchers(inner)):
            return None  # watched already; asked again at the next step (cheap)
        try:
            with claims.attaching(claims.HOOK):
                detector = WarmupDetector(inner, self.config, name=self._free_name(type(inner).__name__))
        except UnsupportedOptimizerError:
            _mark(inner, False)
            _mark(optimizer, False)
            return None
        _mark(inner, detector)
        _mark(optimizer, detector)
        self.add(detector)
        return detector

    def _free_name(self, base: str) -> str:
        taken = {
            entry.report.name if entry.report else getattr(entry.ref(), "name", None)
            for entry in self._entries
        }
        k, name = 0, base
        while name in taken:
            k += 1
            name = f"{base}-{k}"
        return name

    def _announce(self, detector: WarmupDetector) -> None:
        if id(detector) in self._announced or detector.settled_step is None or _rank() != 0:
            return
        self._announced.add(id(detector))
        say(
            f"warmup detector: {detector.name} settled at step {detector.settled_step}; "
            f"suggested linear warmup {detector.suggested_warmup_steps} steps"
        )

    # ------------------------------------------------------------------ the end
    def reports(self) -> list[_Report]:
        """Every detector's outputs: live ones now, gone ones as last remembered."""
        out = []
        for entry in self._entries:
            detector = entry.ref()
            if detector is not None:
                if not detector.outranked:
                    out.append(_report(detector))
            elif entry.report is not None and not entry.yielded:
                out.append(entry.report)
        return out

    def finish(self, *, failed: bool = False) -> list[str]:
        """On rank 0: print the summary and write the history and plot; return the paths written.

        ``failed``: the script ended with an error; report what was seen, but say nothing when
        nothing was (the traceback is what matters then).
        """
        self.stop()
        if _rank() != 0:
            return []
        reports = self.reports()
        if not reports:
            if not failed:
                say("warmup detector: " + self._nothing_to_report())
            return []
        say(summary_text(reports))
        replaced = (self.directory / HISTORY_FILE).exists()
        written = write_outputs(reports, self.directory, plot=self.plot)
        note = " (replacing an earlier run's; --detector-dir keeps runs apart)" if replaced else ""
        say("warmup detector: wrote " + ", ".join(written) + note)
        return written

    def _nothing_to_report(self) -> str:
        """Why there is no report, truthfully: what stepped."""
        if not self.stepped:
            return "no optimizer stepped in this run; nothing to report"
        return (
            f"no detector evaluated in this run (stepped: {', '.join(sorted(self.stepped))}; "
            "only Adam-family optimizers are watched); nothing to report"
        )


def _mark(optimizer: Any, value: Any) -> None:
    # __slots__ or a proxy: then the optimizer is looked at again at each step (cheap).
    with contextlib.suppress(AttributeError, TypeError):
        setattr(optimizer, _ATTR, value)
