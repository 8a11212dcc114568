"""The console: printing without landing on a progress bar's line.

Training loops draw tqdm bars (the Hugging Face Trainer, Lightning, timm's scripts); a plain
``print`` while one is active writes onto the bar's line. :func:`say` goes through
``tqdm.write`` when tqdm is loaded (it clears the bars, prints, and redraws them) and falls back
to ``print`` otherwise. It never imports tqdm itself.
"""

from __future__ import annotations

import sys

__all__ = ["say"]


def say(text: str) -> None:
    """Print ``text`` (a line or several) above any active tqdm progress bar."""
    tqdm_module = sys.modules.get("tqdm")
    write = getattr(getattr(tqdm_module, "tqdm", None), "write", None)
    if write is not None:
        write(text, file=sys.stdout)
        sys.stdout.flush()
    else:
        print(text, flush=True)
