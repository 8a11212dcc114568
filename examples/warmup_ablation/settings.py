"""What the demo trains: the five configurations (arms) and the shared settings.

Five configurations, each over several seeds, all at the same aggressive learning rate:

=====================  =====================================================================
``adam``               Adam, no warmup
``adam-warmup-2k``     Adam, linear warmup over the untuned ``2 / (1 - beta2)`` steps
``adam-warmup-det``    Adam, linear warmup over the length the warmup detector suggests
                       (measured on the RAdam runs, which need no warmup to train)
``adam-eps``           Adam with a large epsilon (1e-4), the paper's "Adam-eps"
``radam``              radam_integrations.RAdam, no warmup
=====================  =====================================================================

Example:
    >>> settings = DemoSettings.quick()
    >>> DemoSettings.from_dict(settings.to_dict()) == settings   # how the results file stores them
    True
    >>> [warmup_length(arm, settings, suggested=220) for arm in ARMS]
    [0, 0, 0, 2000, 220]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from radam_integrations import theory

from .model import ModelConfig

__all__ = ["ARMS", "Arm", "DemoSettings", "warmup_length"]


@dataclass(frozen=True)
class Arm:
    """One configuration of the ablation."""

    key: str
    label: str
    optimizer: str  # "adam" or "radam"
    warmup: str = "none"  # "none", "untuned" or "detector"
    eps: float = 1e-8


ARMS = (
    Arm("radam", "RAdam (ours), no warmup", "radam"),
    Arm("adam", "Adam, no warmup", "adam"),
    Arm("adam-eps", "Adam, eps=1e-4, no warmup", "adam", eps=1e-4),
    Arm("adam-warmup-2k", "Adam + untuned warmup 2/(1-b2)", "adam", warmup="untuned"),
    Arm("adam-warmup-det", "Adam + detector-suggested warmup", "adam", warmup="detector"),
)


@dataclass(frozen=True)
class DemoSettings:
    """What the demo trains. ``quick()`` is the under-two-minutes variant used by the tests."""

    steps: int = 250
    seeds: tuple[int, ...] = (0, 1, 2)
    lr: float = 3e-3
    beta1: float = 0.9
    beta2: float = 0.999
    batch_size: int = 64
    length: int = 20
    model: ModelConfig = field(
        default_factory=lambda: ModelConfig(
            vocab_size=24, d_model=96, n_layers=6, n_heads=4, d_ff=384, max_len=20
        )
    )
    target_loss: float = 0.1
    val_every: int = 25
    val_size: int = 512
    detector_every: int = 10

    @classmethod
    def quick(cls) -> DemoSettings:
        return cls(steps=150, seeds=(0,), val_every=25, val_size=256)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seeds"] = list(self.seeds)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoSettings:
        data = dict(data)
        data["seeds"] = tuple(data["seeds"])
        data["model"] = ModelConfig(**data["model"])
        return cls(**data)


def warmup_length(arm: Arm, settings: DemoSettings, suggested: int | None) -> int:
    """The arm's linear warmup in steps; ``suggested`` is the detector's (needed by that arm only)."""
    if arm.warmup == "untuned":
        return theory.untuned_linear_warmup(settings.beta2)
    if arm.warmup == "detector":
        if suggested is None:
            raise RuntimeError("the detector-suggested warmup needs a settled RAdam run first")
        return suggested
    return 0
