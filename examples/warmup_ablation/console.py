"""The lab's console: progress bars and matplotlib, for the demo, the study and the benchmarks."""

from __future__ import annotations

from typing import Any

__all__ = ["progress_bar", "pyplot"]


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


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (files only); an ImportError says what to install."""
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError("the figures need matplotlib: pip install matplotlib") from err
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt
