"""The console: printing without landing on a progress bar's line, and our own progress bars.

Training loops draw tqdm bars (the Hugging Face Trainer, Lightning, timm's scripts); a plain
``print`` while one is active writes onto the bar's line. :func:`say` goes through
``tqdm.write`` when tqdm is loaded (it clears the bars, prints, and redraws them) and falls back
to ``print`` otherwise. It never imports tqdm itself. :func:`progress_bar` is the bar of the
demo and the study: tqdm's, or one that draws nothing when disabled or without tqdm.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["progress_bar", "say"]


def say(text: str) -> None:
    """Print ``text`` (a line or several) above any active tqdm progress bar."""
    tqdm_module = sys.modules.get("tqdm")
    write = getattr(getattr(tqdm_module, "tqdm", None), "write", None)
    if write is not None:
        write(text, file=sys.stdout)
        sys.stdout.flush()
    else:
        print(text, flush=True)


def progress_bar(total: int, *, enabled: bool = True, **options: Any) -> Any:
    """A tqdm bar over ``total`` items (``options`` go to tqdm), or a silent one.

    Silent when ``enabled`` is false, when ``total`` is 0, or without tqdm; either has
    ``update``, ``set_description``, ``set_postfix_str`` and ``close``.
    """
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with transformers and lightning
        enabled = False
    if not enabled or total == 0:
        return _SilentBar()
    return tqdm(total=total, dynamic_ncols=True, **options)


class _SilentBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_description(self, text: str) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass
