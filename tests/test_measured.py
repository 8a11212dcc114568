"""The numbers the schedule advice quotes are the study's: each checked against its results file.

``radam_integrations._measured`` holds what ``make study`` measured at the frameworks' default beta2
(``benchmarks/results/study_decision.json``, the tables of docs/decision.md); the advice printed by
``radam-integrations schedule`` and the HF detector callback quotes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radam_integrations import theory
from radam_integrations._measured import MEASURED, measured_alternative
from radam_integrations.cli import main as cli_main

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "study_decision.json"


def _study() -> dict[tuple[str, str], dict[str, dict]]:
    data = json.loads(RESULTS.read_text(), parse_constant=lambda token: pytest.fail(token))
    return {(e["task"], e["regime"]): {c["choice"]: c for c in e["choices"]} for e in data}


@pytest.mark.parametrize("measured", MEASURED, ids=lambda m: f"{m.task}-{m.decay}")
def test_every_quoted_number_is_the_studys(measured) -> None:
    choices = _study()[(measured.task, measured.decay)]
    assert f"{choices['RAdam, no warmup']['mean']:.3f}" == f"{measured.radam:.3f}"
    for _, choice, loss in measured.alternatives:
        assert f"{choices[choice]['mean']:.3f}" == f"{loss:.3f}", choice
        assert choices[choice]["betas"] == [0.9, measured.beta2] and choices[choice]["seeds"] == 3
    assert measured.task.endswith(f"/beta2={measured.beta2:g}") and measured.steps == 2000


def test_every_study_task_at_the_default_beta2_under_its_decay_is_quoted() -> None:
    """A study task added at beta2 0.999 must reach the advice too (or this test says which)."""
    decayed = {(task, regime) for task, regime in _study() if "beta2=0.999" in task and regime != "constant"}
    assert decayed == {(m.task, m.decay) for m in MEASURED}


def test_the_advice_adds_the_measured_alternative_where_the_arithmetic_warns(capsys) -> None:
    assert cli_main(["schedule", "--beta2", "0.999", "--steps", "2000", "--decay", "linear"]) == 0
    out = capsys.readouterr().out.splitlines()
    note = theory.decayed_rectification(0.999, 2000, "linear").note()
    assert out[-2:] == [note, measured_alternative(0.999, "linear")]
    assert "AdamW with a 400-step warmup 1.655" in out[-1] and "RAdam without warmup reached 1.749" in out[-1]
    # at beta2 0.99 the arithmetic does not warn over 2,000 steps: no note, no measured sentence
    assert cli_main(["schedule", "--beta2", "0.99", "--steps", "2000", "--decay", "linear"]) == 0
    assert "Measured" not in capsys.readouterr().out
    assert measured_alternative(0.99, "linear") is None and measured_alternative(0.999, "constant") is None
