"""docs/decision.md and the README quote the study's results file, row for row and number for number."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from warmup_study.report import DECISION, choice_cells

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "study_decision.json"


def _entries() -> list[dict]:
    return json.loads(RESULTS.read_text(), parse_constant=lambda token: pytest.fail(token))


def test_every_table_of_the_page_is_the_results_file() -> None:
    page = (ROOT / "docs" / "decision.md").read_text()
    header = "| " + " | ".join(DECISION) + " |"
    assert page.count(header) == len(_entries())
    for entry in _entries():
        title = entry["task"] + ("" if entry["regime"] == "constant" else f" ({entry['regime']} decay)")
        section = page.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| ") and line != header]
        assert rows[1:] == ["| " + " | ".join(choice_cells(c)) + " |" for c in entry["choices"]], title


def test_the_results_name_every_runs_optimizer_and_betas() -> None:
    for entry in _entries():
        for choice in entry["choices"]:
            assert choice["optimizer_class"].rsplit(".", 1)[-1] in {"RAdam", "AdamW", "RAdamScheduleFree"}
            assert len(choice["betas"]) == 2 and choice["seeds"] == 3 and math.isfinite(choice["mean"])
            assert "held-out" not in choice["choice"]  # chosen on training loss, never on held-out


#: (task, regime, choice, the number as the README and the decision page print it)
GPT2 = "bytes_lm/gpt2@0.003/beta2=0.999"
QUOTED = [
    (GPT2, "linear", "RAdam, no warmup", "1.749"),
    (GPT2, "linear", "AdamW, swept warmup chosen on training loss (adamw-w400)", "1.655"),
    (GPT2, "constant", "RAdam, no warmup", "1.763"),
    (GPT2, "constant", "AdamW, no warmup", "1.709"),
    (GPT2, "constant", "schedule-free RAdam, lr 0.03 (chosen on training loss)", "1.558"),
]


@pytest.mark.parametrize(("task", "regime", "choice", "printed"), QUOTED)
def test_the_readme_and_the_page_quote_the_results_file(task, regime, choice, printed) -> None:
    entry = next(e for e in _entries() if (e["task"], e["regime"]) == (task, regime))
    mean = next(c["mean"] for c in entry["choices"] if c["choice"] == choice)
    assert f"{mean:.3f}" == printed
    assert (
        printed in (ROOT / "README.md").read_text() and printed in (ROOT / "docs" / "decision.md").read_text()
    )


def test_the_decision_figure_draws_the_results_file(tmp_path: Path) -> None:
    """docs/study/decision.png is drawn from the same file: one panel per task and regime that ran
    the alternatives, each choice's seeds as gaps to the best mean (percent, or absolute loss for
    the control); the docs show it."""
    from warmup_study.report import decision_panels, plot_decision

    panels = decision_panels(_entries())
    with_alternatives = [e for e in _entries() if any(c["arm"].startswith("sf_radam") for c in e["choices"])]
    assert len(panels) == len(with_alternatives) == 10
    for panel, entry in zip(panels, with_alternatives):
        best = min(c["mean"] for c in entry["choices"])
        assert [len(r["gaps"]) + r["failed"] for r in panel["rows"]] == [c["seeds"] for c in entry["choices"]]
        for row, choice in zip(panel["rows"], entry["choices"]):
            mean_gap = sum(row["gaps"]) / len(row["gaps"])
            expected = (
                choice["mean"] - best
                if entry["measure"] == "absolute"
                else 100 * (choice["mean"] - best) / best
            )
            assert mean_gap == pytest.approx(expected, abs=1e-9)
        assert panel["rows"][0]["name"] == "RAdam" and min(
            sum(r["gaps"]) / len(r["gaps"]) for r in panel["rows"]
        ) == pytest.approx(0.0, abs=1e-12)
    pytest.importorskip("matplotlib")
    drawn = plot_decision(_entries(), tmp_path / "decision.png")
    assert drawn.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        "![" in (ROOT / "docs" / "decision.md").read_text()
        and (ROOT / "docs" / "study" / "decision.png").is_file()
    )
