"""The runner's older spellings, ``python -m radam_integrations.hf`` and ``-m ...integrations.timm``.

They keep working for a release, with a DeprecationWarning: they run ``python -m radam_integrations``
by name (``runpy``), so the adapters import nothing of the runner and no import runs back up.
"""

from __future__ import annotations

import runpy
import warnings

__all__ = ["run_as_the_runner"]


def run_as_the_runner(old: str) -> None:
    """Warn that ``python -m <old>`` is deprecated, then run ``python -m radam_integrations``."""
    warnings.warn(
        f"`python -m {old} SCRIPT` is deprecated and will be removed in the next release; "
        "use `python -m radam_integrations SCRIPT` or `radam-integrations run SCRIPT`",
        DeprecationWarning,
        stacklevel=2,
    )
    runpy.run_module("radam_integrations", run_name="__main__", alter_sys=True)
