"""The summary rows as text: the terminal table, the markdown table of ``summary.md``, and its intro."""

from __future__ import annotations

from typing import Any

from radam_integrations.tables import text_table

from .settings import DemoSettings

__all__ = ["describe_setup", "markdown_table", "terminal_table"]


def _join(values: list[Any], missing: str, sep: str) -> str:
    return sep.join(missing if v is None else str(v) for v in values)


def _loss(row: dict[str, Any], pm: str) -> str:
    """``mean pm std`` over the seeds that did not diverge, and how many did."""
    diverged, seeds = row.get("diverged", 0), row["seeds"]
    if diverged == seeds:
        return f"diverged ({seeds}/{seeds})"
    text = f"{row['final_loss_mean']:.3f}{pm}{row['final_loss_std']:.3f}"
    return f"{text} ({diverged}/{seeds} diverged)" if diverged else text


def terminal_table(rows: list[dict[str, Any]], settings: DemoSettings) -> str:
    """The rows for the console, columns left-aligned; per-seed values joined by commas."""
    headers = ["configuration", "warmup", "final loss", "val acc", f"steps to <{settings.target_loss:g}", "T"]
    body = [
        [
            r["label"],
            str(r["warmup"]),
            _loss(r, "±"),
            f"{r['val_accuracy_mean']:.3f}±{r['val_accuracy_std']:.3f}",
            _join(r["steps_to_target"], "never", ","),
            _join(r["settled_step"], "-", ","),
        ]
        for r in rows
    ]
    return text_table(headers, body, align="left")


def markdown_table(rows: list[dict[str, Any]], settings: DemoSettings) -> str:
    """The rows as a markdown table (``summary.md``, and the table in docs/evidence.md)."""
    target = f"steps to loss < {settings.target_loss:g}"
    header = (
        f"| configuration | warmup steps | final train loss | val accuracy | {target} | detector T "
        "| suggested warmup |"
    )
    lines = [header, "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['warmup']} | {_loss(r, ' ± ')} "
            f"| {r['val_accuracy_mean']:.3f} ± {r['val_accuracy_std']:.3f} "
            f"| {_join(r['steps_to_target'], 'never', ', ')} | {_join(r['settled_step'], 'never', ', ')} "
            f"| {_join(r['suggested_warmup'], 'never', ', ')} |"
        )
    return "\n".join(lines)


def describe_setup(results: dict[str, Any]) -> str:
    """One paragraph: what was trained, the detector-suggested warmup, and the wall time."""
    settings = DemoSettings.from_dict(results["settings"])
    model = settings.model
    return (
        f"Post-LN Transformer ({model.n_layers} layers, d_model={model.d_model}), sequence reversal "
        f"(length {settings.length}, vocabulary {model.vocab_size - 2}), lr={settings.lr:g}, "
        f"betas=({settings.beta1}, {settings.beta2}), batch {settings.batch_size}, {settings.steps} steps, "
        f"seeds {list(settings.seeds)}. Detector-suggested warmup: "
        f"{results.get('detector_suggested_warmup')} steps "
        f"({results.get('detector_suggestion_source') or 'median over the RAdam runs'}). "
        f"Wall time {results.get('seconds', 0):.0f} s."
    )
