"""The warmup detector's options: one frozen, validated object that every adapter takes.

:class:`DetectorConfig` is declared once here; :class:`~radam_integrations.WarmupDetector` and
every framework callback accept either ``config=DetectorConfig(...)`` or the same fields as
keyword arguments (``every=5``), validated when they are built, with one set of messages.

Example:
    >>> from radam_integrations.warmup import DetectorConfig
    >>> config = DetectorConfig(every=5, tol=0.2)
    >>> config.replace(hold=2).hold
    2
    >>> DetectorConfig(every=0)
    Traceback (most recent call last):
    ValueError: every must be >= 1, got 0
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["DetectorConfig", "lists_config_fields"]

# Any class: its ``__init__`` is read from the class and given a new ``__signature__``.
_T = TypeVar("_T", bound=type[Any])


def _integer(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class DetectorConfig:
    """How the warmup detector samples, evaluates and decides (docs/detector.md).

    Args:
        every: evaluation period in optimizer steps, after the early evaluations at 1, 2, 4, 8.
            ``None``: the adapter's choice, the Hugging Face callback's ``min(logging_steps, 10)``
            (10 everywhere else).
        sample_size: elements sampled per parameter group (and rank), spread over the group's
            tensors in proportion to their size, at least one each; ``None``: all elements. It
            bounds the cost of an evaluation and the checkpointed sample memory.
        tol: tolerance on the sampling noise and the staleness of ``log psi``.
        hold: consecutive settled evaluations needed to settle (and unsettled ones to relapse).
        floor_factor: the noise criterion accepts this multiple of the stationary noise floor.
        seed: seed of the element sample (drawn once, reused at every evaluation).
        keep_history: keep evaluations in ``detector.history`` (for the report and the plot).
        history_limit: at most this many evaluations are kept (and checkpointed): when full, every
            other record is dropped and only every other evaluation is recorded from then on, so
            the kept ones stay evenly spaced over the run.
    """

    every: int | None = 10
    sample_size: int | None = 4096
    tol: float = 0.1
    hold: int = 3
    floor_factor: float = 1.5
    seed: int = 0
    keep_history: bool = True
    history_limit: int = 128

    def __post_init__(self) -> None:
        if self.every is not None:
            _integer("every", self.every, 1)
        if self.sample_size is not None:
            try:
                _integer("sample_size", self.sample_size, 1)
            except ValueError as err:
                raise ValueError(f"{err} (or None: all elements)") from None
        for name in ("tol", "floor_factor"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (math.isfinite(value) and value > 0)
            ):
                raise ValueError(f"{name} must be > 0 and finite, got {value!r}")
        _integer("hold", self.hold, 1)
        _integer("seed", self.seed, 0)
        if not isinstance(self.keep_history, bool):
            raise ValueError(f"keep_history must be True or False, got {self.keep_history!r}")
        _integer("history_limit", self.history_limit, 2)

    def replace(self, **changes: Any) -> DetectorConfig:
        """A copy with ``changes`` (validated); an unknown name is a ``TypeError`` naming the fields."""
        unknown = sorted(set(changes) - set(self.as_dict()))
        if unknown:
            raise TypeError(
                f"unknown warmup detector option(s) {unknown}; the options are {sorted(self.as_dict())}"
            )
        return dataclasses.replace(self, **changes) if changes else self

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-safe): what checkpoints and callback arguments store."""
        return dataclasses.asdict(self)

    @classmethod
    def build(cls, config: DetectorConfig | dict[str, Any] | None = None, **changes: Any) -> DetectorConfig:
        """``config`` (a DetectorConfig, its ``as_dict()``, or ``None`` for the defaults) with ``changes``."""
        if config is None:
            base = cls()
        elif isinstance(config, cls):
            base = config
        elif isinstance(config, dict):
            base = cls().replace(**config)
        else:
            raise TypeError(
                f"config must be a DetectorConfig or a dict of its fields, got {type(config).__name__}"
            )
        return base.replace(**changes)


def lists_config_fields(**defaults: Any) -> Callable[[_T], _T]:
    """Class decorator: ``cls.__init__``'s signature lists :class:`DetectorConfig`'s fields.

    The constructors take the fields through ``**options``; config-file front ends (LightningCLI
    and jsonargparse: ``init_args: {every: 10}``), ``help()`` and IDEs read the signature, so it
    names each field with its type and default (``defaults`` where the adapter's differs) in
    place of ``**options``. ``config`` is left out of the advertised signature: those front ends
    pass every listed default explicitly, which would silently override a ``config`` given
    beside them. In Python, ``config=`` still works.
    """
    hints = typing.get_type_hints(DetectorConfig)

    def decorate(cls: _T) -> _T:
        init = cls.__init__
        signature = inspect.signature(init)
        kept = [
            p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD and p.name != "config"
        ]
        taken = {p.name for p in kept}
        fields = [
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=defaults.get(f.name, f.default),
                annotation=hints[f.name],
            )
            for f in dataclasses.fields(DetectorConfig)
            if f.name not in taken
        ]
        init.__signature__ = signature.replace(parameters=[*kept, *fields])
        return cls

    return decorate
