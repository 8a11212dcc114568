"""The detector's report: a text table, a PNG plot, and history files in and out.

History files written by :meth:`WarmupDetector.save_history` (JSON or CSV) can be read
back, and so can the logs the framework callbacks produce: a Lightning ``CSVLogger``
``metrics.csv`` or a Hugging Face ``trainer_state.json``. ``radam-integrations report
RUN_DIR`` finds whichever of these a run directory holds.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeGuard

from .. import theory
from ..files import atomic_write, invalid_json_message, write_json
from ..tables import text_table

__all__ = [
    "HistoryError",
    "MissingDependencyError",
    "find_history",
    "load_history",
    "plot_history",
    "save_history",
    "summarize_history",
    "summary_row",
    "summary_table",
]

FORMAT = "radam-integrations/warmup-history"
_METRIC_KEY = re.compile(r"^warmup/(?P<opt>[^/]+)/(?P<group>[^/]+)/(?P<metric>[A-Za-z0-9_]+)$")
_RUN_KEYS = ("settled_step", "relapses", "suggested_warmup_steps", "noise", "staleness")


class HistoryError(ValueError):
    """A history file or run directory that cannot be read; the message names the file."""


class MissingDependencyError(ImportError):
    """An optional dependency (matplotlib) is needed for this feature."""


# ---------------------------------------------------------------------- writing
def save_history(
    records: list[dict[str, Any]], path: str | Path, summary: list[dict[str, Any]] | None = None
) -> str:
    """Write flat history rows to ``path``: ``.json`` (with the summary) or ``.csv`` (a row per group).

    Both are written atomically; JSON is strict (undefined values as ``null``), CSV leaves them
    empty.
    """
    path = Path(path)
    if path.suffix == ".csv":
        columns: list[str] = []
        for row in records:
            columns += [k for k in row if k not in columns]

        def cell(value: Any) -> Any:
            return "" if value is None or (isinstance(value, float) and not math.isfinite(value)) else value

        with atomic_write(path, "w") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            for row in records:
                writer.writerow({k: cell(v) for k, v in row.items()})
        return str(path)
    payload = {"format": FORMAT, "version": 1, "records": records, "summary": summary or []}
    return write_json(path, payload)


# ---------------------------------------------------------------------- reading
def find_history(run_dir: str | Path) -> Path:
    """The history file inside ``run_dir`` (or ``run_dir`` itself if it is a file).

    Looks for, in order: ``warmup_history.json``, ``warmup_history.csv``, a Lightning
    ``metrics.csv``, a Hugging Face ``trainer_state.json``. A file directly in ``run_dir`` wins
    over one in a subfolder; among subfolders the newest file (the highest ``checkpoint-N`` for
    ``trainer_state.json``) wins.
    """
    run = Path(run_dir)
    if run.is_file():
        return run
    if not run.exists():
        raise HistoryError(f"{run}: no such file or directory")
    if not run.is_dir():
        raise HistoryError(f"{run}: not a file or directory")
    for name in ("warmup_history.json", "warmup_history.csv", "metrics.csv", "trainer_state.json"):
        if (run / name).is_file():
            return run / name
        try:
            matches = [p for p in run.rglob(name) if p.is_file()]
        except OSError as err:
            raise HistoryError(f"{run}: cannot list ({err.strerror or err})") from err
        if matches:
            if name == "trainer_state.json":
                return max(matches, key=lambda p: (_checkpoint_number(p.parent.name), p.stat().st_mtime))
            return max(matches, key=lambda p: p.stat().st_mtime)
    raise HistoryError(
        f"{run}: no warmup history found (looked for warmup_history.json/.csv, a Lightning metrics.csv "
        "and a Hugging Face trainer_state.json)"
    )


def _checkpoint_number(name: str) -> int:
    match = re.search(r"(\d+)$", name)
    return int(match.group(1)) if match else -1


def load_history(path: str | Path) -> list[dict[str, Any]]:
    """Flat rows ``{"step", "optimizer", "group", <metric>...}`` from any supported file.

    Raises:
        HistoryError: the file cannot be read, is not text, is malformed, or holds no evaluation.
    """
    path = Path(path)
    if path.suffix not in (".json", ".csv"):
        raise HistoryError(
            f"{path}: unsupported file type (expected a warmup_history.json/.csv, a metrics.csv or a "
            "trainer_state.json)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise HistoryError(f"{path}: not a text file (binary data at byte {err.start})") from err
    except OSError as err:
        raise HistoryError(f"{path}: cannot read ({err.strerror or err})") from err
    rows = _parse_json(text, path) if path.suffix == ".json" else _parse_csv(text, path)
    if not rows:
        raise HistoryError(f"{path}: holds no evaluations of the warmup detector")
    return rows


def _parse_json(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise HistoryError(invalid_json_message(path, err)) from err
    except RecursionError as err:
        raise HistoryError(f"{path}: JSON nested too deeply") from err
    if isinstance(data, dict) and data.get("format") == FORMAT:
        records = data.get("records")
        if not isinstance(records, list):
            raise HistoryError(f"{path}: 'records' is missing or not a list")
        return [_checked_row(r, path, i) for i, r in enumerate(records)]
    if isinstance(data, dict) and isinstance(data.get("log_history"), list):
        return _rows_from_logged_dicts(data["log_history"], path)
    raise HistoryError(f"{path}: JSON is neither a warmup history nor a trainer_state.json")


def _parse_csv(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        rows = list(csv.DictReader(text.splitlines()))
    except csv.Error as err:
        raise HistoryError(f"{path}: malformed CSV ({err})") from err
    if not rows:
        raise HistoryError(f"{path}: empty CSV")
    if "group" in rows[0] and "step" in rows[0]:
        parsed = [
            {k: _number(v) if k not in ("optimizer", "group") else v for k, v in r.items() if k is not None}
            for r in rows
        ]
        return [_checked_row(r, path, i) for i, r in enumerate(parsed)]
    return _rows_from_logged_dicts([{k: _number(v) for k, v in r.items() if k} for r in rows], path)


def _checked_row(row: Any, path: Path, index: int) -> dict[str, Any]:
    """A history row with an integer step and a group name, or a HistoryError naming the row."""
    if not isinstance(row, dict):
        raise HistoryError(f"{path}: record {index} is not an object")
    step, group = row.get("step"), row.get("group")
    if not _finite(step) or not isinstance(group, str):
        raise HistoryError(f"{path}: record {index} has no numeric 'step' and 'group' name")
    out = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
    out["step"] = int(step)
    return out


def _number(value: Any) -> Any:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _rows_from_logged_dicts(entries: Iterable[Any], path: Path) -> list[dict[str, Any]]:
    """Rows from logger output where entries map ``warmup/<opt>/[<group>/]<metric>`` to values.

    Per-group keys give a row per group; a log of the compact set (run-level keys only, the
    adapters' default) gives one row per optimizer with group ``"all"`` (noise and staleness
    are then the worst group's).
    """
    by_key: dict[tuple[int, str, str], dict[str, Any]] = {}
    run_level: dict[tuple[int, str], dict[str, Any]] = {}
    for entry in entries:
        step = entry.get("step") if isinstance(entry, dict) else None
        if not _finite(step):
            continue
        step = int(step)
        for key, value in entry.items():
            if not isinstance(key, str) or not key.startswith("warmup/") or not _finite(value):
                continue
            match = _METRIC_KEY.match(key)
            if match:
                row = by_key.setdefault(
                    (step, match["opt"], match["group"]),
                    {"step": step, "optimizer": match["opt"], "group": match["group"]},
                )
                row[match["metric"]] = value
                continue
            parts = key.split("/")
            if len(parts) == 3 and parts[2] in _RUN_KEYS:
                run_level.setdefault((step, parts[1]), {})[parts[2]] = value
    with_groups = {opt for _, opt, _ in by_key}
    for (step, opt), values in run_level.items():
        if opt not in with_groups:
            by_key[(step, opt, "all")] = {"step": step, "optimizer": opt, "group": "all", **values}
    if not by_key:
        raise HistoryError(f"{path}: holds no warmup/... metrics (was the warmup detector attached?)")
    rows = [by_key[k] for k in sorted(by_key)]
    for row in rows:
        run = run_level.get((row["step"], row["optimizer"]), {})
        for key in ("settled_step", "relapses", "suggested_warmup_steps"):
            row.setdefault(key, run.get(key))
    return rows


# ---------------------------------------------------------------------- summary
def _finite(value: Any) -> TypeGuard[float]:  # int or float, finite
    return isinstance(value, (int, float)) and math.isfinite(value)


def summary_row(
    optimizer: str,
    group: str,
    beta2: float | None,
    settled_step: int | None,
    relapses: int | None,
    suggested: int | None = None,
) -> dict[str, Any]:
    """One summary row: T, the suggested warmup, and the theory horizons for ``beta2``.

    ``suggested`` is used only when ``beta2`` is unknown (a log of the compact metrics carries the
    suggestion but not ``beta2``).
    """
    if settled_step is not None and beta2 is not None:
        suggested = theory.suggested_warmup_steps(settled_step, beta2)
    return {
        "optimizer": optimizer,
        "group": group,
        "beta2": beta2,
        "settled_step": settled_step,
        "relapses": relapses,
        "suggested_warmup_steps": suggested if settled_step is not None else None,
        "r_t>=0.5": None if beta2 is None else theory.steps_until_rectification(0.5, beta2),
        "r_t>=0.9": None if beta2 is None else theory.steps_until_rectification(0.9, beta2),
        "untuned 2/(1-b2)": None if beta2 is None else theory.untuned_linear_warmup(beta2),
    }


def summarize_history(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (optimizer, group): T, the suggestion, and the theory horizons, from history rows."""
    out = []
    keys = sorted({(r.get("optimizer", "?"), r["group"]) for r in rows})
    for opt, group in keys:
        mine = [r for r in rows if r.get("optimizer", "?") == opt and r["group"] == group]

        def last(key: str, mine: list[dict[str, Any]] = mine) -> Any:
            values = [r[key] for r in mine if _finite(r.get(key))]
            return values[-1] if values else None

        settled, relapses, suggested = last("settled_step"), last("relapses"), last("suggested_warmup_steps")
        row = summary_row(
            opt,
            group,
            last("beta2"),
            None if settled is None else int(settled),
            None if relapses is None else int(relapses),
            None if suggested is None else int(suggested),
        )
        out.append({**row, "last_step": max(r["step"] for r in mine)})
    return out


def summary_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of summary rows."""
    columns = [
        ("optimizer", "optimizer"),
        ("group", "group"),
        ("beta2", "beta2"),
        ("settled_step", "settled T"),
        ("suggested_warmup_steps", "suggested warmup"),
        ("relapses", "relapses"),
        ("r_t>=0.5", "r_t>=0.5"),
        ("r_t>=0.9", "r_t>=0.9"),
        ("untuned 2/(1-b2)", "untuned 2/(1-b2)"),
    ]

    def fmt(key: str, value: Any) -> str:
        if value is None:
            return "not yet" if key in ("settled_step", "suggested_warmup_steps") else "-"
        if isinstance(value, float) and not value.is_integer():
            return f"{value:g}"
        return str(int(value)) if isinstance(value, (int, float)) else str(value)

    header = [title for _, title in columns]
    return text_table(header, [[fmt(key, row.get(key)) for key, _ in columns] for row in rows])


# ---------------------------------------------------------------------- plot
def _pyplot() -> ModuleType:  # matplotlib.pyplot
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise MissingDependencyError(
            "plotting the warmup report needs matplotlib: pip install 'radam-integrations[plot]'"
        ) from err
    return plt


def plot_history(rows: list[dict[str, Any]], path: str | Path, title: str | None = None) -> str:
    """PNG of noise vs noise floor, staleness, r_t and update/param over steps, T marked per group.

    Returns the path written (``.png`` is appended when ``path`` has another suffix).
    """
    plt = _pyplot()
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_name(path.name + ".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5), sharex=True)
    (ax_noise, ax_stale), (ax_rect, ax_upd) = axes
    keys = sorted({(r.get("optimizer", "?"), r["group"]) for r in rows})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, key in enumerate(keys):
        color = colors[i % len(colors)]
        mine = sorted(
            (r for r in rows if (r.get("optimizer", "?"), r["group"]) == key), key=lambda r: r["step"]
        )
        label = "/".join(key)

        def series(metric: str, mine: list[dict[str, Any]] = mine) -> tuple[list[int], list[float]]:
            pts = [(r["step"], r[metric]) for r in mine if _finite(r.get(metric))]
            return [p[0] for p in pts], [p[1] for p in pts]

        ax_noise.plot(*series("noise"), color=color, label=f"{label} noise")
        ax_noise.plot(*series("noise_floor"), color=color, linestyle=":", label=f"{label} noise floor")
        ax_stale.plot(*series("staleness"), color=color, label=label)
        ax_rect.plot(*series("r_t"), color=color, label=label)
        ax_upd.plot(*series("update_to_param"), color=color, label=label)
        settled = [r["settled_step"] for r in mine if _finite(r.get("settled_step"))]
        if settled:
            for ax in (ax_noise, ax_stale, ax_rect, ax_upd):
                ax.axvline(settled[-1], color=color, linestyle="--", alpha=0.7)
            ax_noise.annotate(
                f"T={int(settled[-1])}", (settled[-1], 1.0), xycoords=("data", "axes fraction"),
                xytext=(3, -12), textcoords="offset points", color=color,
            )  # fmt: skip
    tol_rows = [r for r in rows if _finite(r.get("noise"))]
    if tol_rows:
        ax_noise.set_yscale("log")
    ax_noise.set_title("sampling noise of log psi (solid) vs its floor (dotted)")
    ax_stale.axhline(0.0, color="grey", linewidth=0.8)
    ax_stale.set_title("staleness (> 0: psi over-estimated, gradients growing)")
    ax_rect.set_title("rectification r_t")
    ax_rect.set_ylim(-0.02, 1.02)
    ax_upd.set_title("update / parameter norm")
    ax_upd.set_yscale("log") if any(
        _finite(r.get("update_to_param")) and r["update_to_param"] > 0 for r in rows
    ) else None
    for ax in (ax_rect, ax_upd):
        ax.set_xlabel("optimizer step")
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    ax_noise.legend(fontsize=7, loc="upper right")
    fig.suptitle(title or "Warmup detector (dashed: settled step T)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)
