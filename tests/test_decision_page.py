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
