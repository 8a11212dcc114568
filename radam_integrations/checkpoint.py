"""Plain-PyTorch checkpoints of a model, its optimizer and the warmup detector.

The frameworks have their own checkpointing (Lightning, the HF Trainer, Accelerate's
``save_state``); this is for hand-written loops. Writes are atomic (a locked temporary file
renamed into place; the temporaries of saves that were killed are removed by the next save of
the same file, see :mod:`radam_integrations.files`), loads use ``torch.load(weights_only=True)``
(no arbitrary pickle), and a damaged file raises :class:`CheckpointError` naming it, never a
silent reset.

Example:
    >>> import tempfile, torch
    >>> from radam_integrations import RAdam, WarmupDetector
    >>> from radam_integrations.checkpoint import load_checkpoint, save_checkpoint
    >>> model = torch.nn.Linear(3, 1)
    >>> opt = RAdam(model.parameters())
    >>> detector = WarmupDetector(opt)
    >>> path = tempfile.mkdtemp() + "/ckpt.pt"
    >>> save_checkpoint(path, model=model, optimizer=opt, detector=detector, extra={"step": 0})
    >>> load_checkpoint(path, model=model, optimizer=opt, detector=detector)["step"]
    0
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from .files import atomic_write, remove_stale_temporaries

__all__ = ["CheckpointError", "load_checkpoint", "remove_stale_temporaries", "save_checkpoint"]

_FORMAT = "radam-integrations/checkpoint"


class CheckpointError(ValueError):
    """A checkpoint file that is missing, truncated, corrupted or of the wrong kind."""


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: torch.nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    detector: Any = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Atomically write the state dicts (and JSON-safe ``extra``) to ``path``.

    Stale temporaries ``.NAME.<random>.tmp`` of earlier saves that were killed are removed first.
    """
    path = Path(path)
    payload: dict[str, Any] = {"format": _FORMAT, "version": 1, "extra": dict(extra or {})}
    if model is not None:
        payload["model"] = model.state_dict()
    if optimizer is not None:
        payload["optimizer"] = optimizer.state_dict()
    if detector is not None:
        payload["detector"] = detector.state_dict()
    with atomic_write(path) as fh:
        torch.save(payload, fh)


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: torch.nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    detector: Any = None,
    map_location: str | torch.device | None = "cpu",
) -> dict[str, Any]:
    """Restore what :func:`save_checkpoint` wrote into the given objects; return ``extra``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError, ValueError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"{path}: cannot read checkpoint (truncated or corrupted?): {first_line}"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise CheckpointError(f"{path}: not a radam-integrations checkpoint (no '{_FORMAT}' marker)")
    for name, target in (("model", model), ("optimizer", optimizer), ("detector", detector)):
        if target is None:
            continue
        if name not in payload:
            raise CheckpointError(f"{path}: holds no {name} state")
        try:
            target.load_state_dict(payload[name])
        except (KeyError, ValueError, RuntimeError, TypeError) as err:
            raise CheckpointError(f"{path}: {name} state does not fit: {err}") from err
    return payload.get("extra", {})
