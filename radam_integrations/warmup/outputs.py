"""What a finished detection leaves behind: the summary table, the history file and the plot.

One writer for every adapter (Lightning, Fabric, Hugging Face, Accelerate, the runner's
``--detect``), so every run directory has the same two files:

* :data:`HISTORY_FILE` (``warmup_history.json``): every kept evaluation of every detector and
  their summary rows, strict JSON; ``radam-integrations report`` reads it back;
* :data:`PLOT_FILE` (``warmup_history.png``): noise against its floor, staleness, ``r_t`` and
  update size over the steps, with T marked (needs matplotlib; skipped with a warning without).

Detectors are told apart by their ``name`` (``Adam``, ``Adam-1``, ... as the adapters name
them); two with the same name get ``#2``, ``#3``, ... appended here.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .report import MissingDependencyError, plot_history, save_history, summary_table

__all__ = ["HISTORY_FILE", "PLOT_FILE", "summary_text", "write_outputs"]

HISTORY_FILE = "warmup_history.json"
PLOT_FILE = "warmup_history.png"


def _labelled(detectors: Sequence[Any]) -> list[tuple[str, Any]]:
    """``(unique name, detector)`` pairs."""
    seen: dict[str, int] = {}
    out = []
    for detector in detectors:
        seen[detector.name] = seen.get(detector.name, 0) + 1
        count = seen[detector.name]
        out.append((detector.name if count == 1 else f"{detector.name}#{count}", detector))
    return out


def _rows(detectors: Sequence[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    records, summary = [], []
    for name, detector in _labelled(detectors):
        records += [{**row, "optimizer": name} for row in detector.history_records()]
        summary += [{**row, "optimizer": name} for row in detector.summary_rows()]
    return records, summary


def summary_text(detectors: Sequence[Any]) -> str:
    """The summary table of every detector (T per group, the suggested warmup, the horizons), then
    a line per detector whose RAdam the run's decaying learning rate held back
    (``detector.schedule_advice()``)."""
    if not detectors:
        return "warmup detector: no optimizer step seen yet"
    lines = [summary_table(_rows(detectors)[1])]
    for name, detector in _labelled(detectors):
        if (advice := detector.schedule_advice()) is not None:
            lines.append(f"{name}: {advice}")
    return "\n".join(lines)


def write_outputs(
    detectors: Sequence[Any],
    directory: str | os.PathLike[str],
    *,
    history: bool = True,
    plot: bool | None = None,
) -> list[str]:
    """Write :data:`HISTORY_FILE` and :data:`PLOT_FILE` for ``detectors`` into ``directory``.

    ``plot=None`` writes the plot when matplotlib is installed and skips it quietly otherwise;
    ``plot=True`` warns (``RuntimeWarning``) when it cannot. Returns the paths written.
    """
    records, summary = _rows(detectors)
    directory = Path(directory)
    written = []
    if history:
        written.append(save_history(records, directory / HISTORY_FILE, summary=summary))
    if plot is not False and records:
        try:
            written.append(plot_history(records, directory / PLOT_FILE))
        except MissingDependencyError as err:
            if plot:
                warnings.warn(f"warmup detector: no plot written: {err}", RuntimeWarning, stacklevel=2)
    return written
