"""Plain-text tables for the console: the ``schedule`` and detector-summary tables (and the lab's).

Columns are two spaces apart, each as wide as its widest cell, with a line of dashes under the
header. Cells are strings: each caller formats its own numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

__all__ = ["text_table"]


def text_table(
    header: Sequence[str], rows: Iterable[Sequence[str]], align: Literal["right", "left"] = "right"
) -> str:
    """The table as one string (no trailing newline); every cell padded to its column's width.

    >>> print(text_table(["optimizer", "settled T"], [["RAdam", "40"], ["Adam", "not yet"]]))
    optimizer  settled T
    ---------  ---------
        RAdam         40
         Adam    not yet
    >>> text_table(["optimizer", "T"], [["Adam", "40"]], align="left").splitlines()
    ['optimizer  T ', '---------  --', 'Adam       40']
    """
    if align not in ("right", "left"):
        raise ValueError(f"align must be 'right' or 'left', got {align!r}")
    pad = str.rjust if align == "right" else str.ljust
    table = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(pad(cell, width) for cell, width in zip(row, widths)) for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
