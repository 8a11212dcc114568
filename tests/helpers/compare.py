"""Comparisons for detector output: NaN marks an undefined metric, and two runs agree on it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN, through nested dicts, lists and tuples (lists equal tuples)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def strict_json(path: Path) -> Any:
    """Parse ``path`` as strict JSON: ``NaN``/``Infinity`` are refused, as ``JSON.parse`` does."""

    def refuse(token: str) -> None:
        raise ValueError(f"{path}: non-standard JSON constant {token}")

    return json.loads(path.read_text(), parse_constant=refuse)
