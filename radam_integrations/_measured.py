"""What ``make study`` measured where RAdam meets a decay at the same beta2: the alternatives advice names.

The schedule advice (:meth:`radam_integrations.theory.DecayedRectification.note`) says what the
arithmetic does to RAdam's steps; :func:`measured_alternative` adds what the study measured on its
tasks at the same beta2 and decay, and :func:`advice` puts the two together. It is printed by
``radam-integrations schedule``, by the HF Trainer when it builds a decay for RAdam, and by the
detector's summary for the schedule a run had. Every number here is the study's
(``benchmarks/results/study_decision.json``, the tables of docs/decision.md);
``tests/test_measured.py`` checks each one against that file.

Example:
    >>> print(measured_alternative(0.999, "linear")[:59])
    Measured (make study, held-out loss, mean of 3 seeds): on a
    >>> measured_alternative(0.9, "linear") is None   # nothing measured at this beta2
    True
"""

from __future__ import annotations

from dataclasses import dataclass

from .theory import DecayedRectification

__all__ = ["MEASURED", "Measured", "advice", "measured_alternative"]


@dataclass(frozen=True)
class Measured:
    """One study task and regime: RAdam's held-out loss and the alternatives' beside it.

    ``alternatives`` pairs what the sentence calls a choice with the decision table's name of it
    (``choice``, as in study_decision.json) and its mean held-out loss.
    """

    task: str  # the study's task label, as in study_decision.json
    what: str  # the task in words
    beta2: float
    steps: int
    decay: str
    radam: float
    alternatives: tuple[tuple[str, str, float], ...]  # (words, the table's choice, mean held-out loss)
    caveat: str = ""
    places: int = 3  # decimals of the losses (4 where they end near 0)

    def sentence(self) -> str:
        others = ", ".join(f"{words} {loss:.{self.places}f}" for words, _, loss in self.alternatives)
        radam = f"{self.radam:.{self.places}f}"
        return (
            f"Measured (make study, held-out loss, mean of 3 seeds): on {self.what} at beta2 {self.beta2:g}, "
            f"{self.steps:,} steps, {self.decay} decay, RAdam without warmup reached {radam}; "
            f"{others}{'; ' + self.caveat if self.caveat else ''} (docs/decision.md)."
        )


#: The study's tasks, under their framework's default decay, where the arithmetic's note fires for
#: their beta2 and length (``tests/test_measured.py`` holds that rule against ``make study``'s plan).
MEASURED: tuple[Measured, ...] = (
    Measured(
        task="bytes_lm/gpt2@0.01",
        what="a GPT-2 byte-level LM (HF Trainer)",
        beta2=0.99,
        steps=600,
        decay="linear",
        radam=1.969,
        alternatives=(
            ("AdamW with a 200-step warmup",
             "AdamW, swept warmup chosen on training loss (adamw-w200)", 1.945),
            ("AdamW without warmup", "AdamW, no warmup", 2.412),
            ("schedule-free RAdam at lr 1e-2",
             "schedule-free RAdam, lr 0.01 (chosen on training loss)", 1.891),
        ),
    ),
    Measured(
        task="reversal/postln@0.01",
        what="a sequence-reversal control (Lightning)",
        beta2=0.99,
        steps=400,
        decay="cosine",
        radam=0.0005,
        alternatives=(
            ("AdamW with a 50-step warmup",
             "AdamW, swept warmup chosen on training loss (adamw-w50)", 0.0002),
            ("AdamW without warmup", "AdamW, no warmup", 3.0792),
        ),
        caveat="these losses end near 0, so compare them by absolute difference",
        places=4,
    ),
    Measured(
        task="bytes_lm/gpt2@0.003/beta2=0.999",
        what="a GPT-2 byte-level LM (HF Trainer)",
        beta2=0.999,
        steps=2000,
        decay="linear",
        radam=1.749,
        alternatives=(
            ("AdamW with a 400-step warmup",
             "AdamW, swept warmup chosen on training loss (adamw-w400)", 1.655),
            ("AdamW without warmup", "AdamW, no warmup", 1.675),
            ("schedule-free RAdam at lr 3e-2",
             "schedule-free RAdam, lr 0.03 (chosen on training loss)", 1.558),
        ),
    ),
    Measured(
        task="digits/vit_tiny_patch16_224@0.003/beta2=0.999",
        what="a small ViT on digits (timm)",
        beta2=0.999,
        steps=2000,
        decay="cosine",
        radam=0.104,
        alternatives=(
            ("AdamW with the detector's 480-step warmup", "AdamW, the detector's suggested warmup", 0.077),
            ("AdamW without warmup", "AdamW, no warmup", 0.111),
        ),
        caveat="the seed spread (up to 0.05) covers these gaps",
    ),
)  # fmt: skip


def measured_alternative(beta2: float, decay: str) -> str | None:
    """The measured sentences for the study's tasks at ``beta2`` with ``decay``; ``None`` if none."""
    found = [m.sentence() for m in MEASURED if m.beta2 == beta2 and m.decay == decay]
    return " ".join(found) if found else None


def advice(decayed: DecayedRectification) -> str | None:
    """The note on ``decayed`` (:meth:`~radam_integrations.theory.DecayedRectification.note`) and,
    after it, what the study measured at its beta2 and decay; ``None`` when the note says nothing.

    The one text every surface prints: the HF Trainer before the run, the detector's summary after
    it (:mod:`radam_integrations.warmup.schedule`).
    """
    note = decayed.note()
    if note is None:
        return None
    measured = measured_alternative(decayed.beta2, decayed.decay)
    return f"{note} {measured}" if measured else note
