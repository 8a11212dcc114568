"""The numbers the schedule advice quotes are the study's: each checked against its results file.

``radam_integrations._measured`` holds what ``make study`` measured at the frameworks' default beta2
(``benchmarks/results/study_decision.json``, the tables of docs/decision.md); the advice printed by
``radam-integrations schedule`` and the HF detector callback quotes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from radam_integrations import theory
from radam_integrations._measured import MEASURED, measured_alternative
from radam_integrations.cli import main as cli_main

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "study_decision.json"


def _study() -> dict[tuple[str, str], dict[str, dict]]:
    data = json.loads(RESULTS.read_text(), parse_constant=lambda token: pytest.fail(token))
    return {(e["task"], e["regime"]): {c["choice"]: c for c in e["choices"]} for e in data}


def _plan() -> dict[str, Any]:
    """``make study``'s tasks by label."""
    from warmup_study.plan import StudyPlan

    return {t.label: t for t in StudyPlan.default().tasks}


@pytest.mark.parametrize("measured", MEASURED, ids=lambda m: f"{m.task}-{m.decay}")
def test_every_quoted_number_is_the_studys(measured) -> None:
    choices = _study()[(measured.task, measured.decay)]
    places = measured.places
    assert f"{choices['RAdam, no warmup']['mean']:.{places}f}" == f"{measured.radam:.{places}f}"
    for _, choice, loss in measured.alternatives:
        assert f"{choices[choice]['mean']:.{places}f}" == f"{loss:.{places}f}", choice
        assert choices[choice]["betas"] == [0.9, measured.beta2] and choices[choice]["seeds"] == 3
    task = _plan()[measured.task]  # the run it quotes: its beta2, length and decay
    assert (task.beta2, task.steps, task.decay) == (measured.beta2, measured.steps, measured.decay)


def test_every_study_task_whose_decay_the_note_warns_about_is_quoted() -> None:
    """Wherever the arithmetic's note fires for a study task's beta2, length and decay, the advice
    quotes what the study measured there (a task added to make study must be quoted too, or this
    test says which); the digits ViT at beta2 0.99 (600 steps, cosine) draws no note."""
    warned = {
        (label, t.decay)
        for label, t in _plan().items()
        if t.decay is not None and theory.decayed_rectification(t.beta2, t.steps, t.decay).note() is not None
    }
    assert warned == {(m.task, m.decay) for m in MEASURED}
    assert ("digits/vit_tiny_patch16_224@0.003", "cosine") not in warned


def test_the_advice_adds_the_measured_alternative_where_the_arithmetic_warns(capsys) -> None:
    assert cli_main(["schedule", "--beta2", "0.999", "--steps", "2000", "--decay", "linear"]) == 0
    out = capsys.readouterr().out.splitlines()
    note = theory.decayed_rectification(0.999, 2000, "linear").note()
    assert out[-2:] == [note, measured_alternative(0.999, "linear")]
    assert "AdamW with a 400-step warmup 1.655" in out[-1] and "RAdam without warmup reached 1.749" in out[-1]
    # at beta2 0.99 the arithmetic does not warn over 2,000 steps: no note, no measured sentence
    assert cli_main(["schedule", "--beta2", "0.99", "--steps", "2000", "--decay", "linear"]) == 0
    assert "Measured" not in capsys.readouterr().out
    assert measured_alternative(0.9, "linear") is None and measured_alternative(0.999, "constant") is None
    # over the GPT-2 task's 600 steps at 0.99 it does warn, and quotes what that task measured
    assert cli_main(["schedule", "--beta2", "0.99", "--steps", "600", "--decay", "linear"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        theory.decayed_rectification(0.99, 600, "linear").note(),
        measured_alternative(0.99, "linear"),
    ]
    assert "RAdam without warmup reached 1.969; AdamW with a 200-step warmup 1.945" in out[-1]
