"""Names a package imports on first use (PEP 562), so that importing it does not import torch.

``radam_integrations`` and ``radam_integrations.warmup`` each keep a table of their lazy names
and call :func:`load` from their module ``__getattr__``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

__all__ = ["load"]


def load(
    package: str,
    namespace: MutableMapping[str, Any],
    name: str,
    lazy: Mapping[str, str],
    submodules: Sequence[str],
) -> object:
    """``package``'s attribute ``name``: imported now, then kept in ``namespace`` (the package's globals).

    ``lazy`` maps a name to the module (relative to ``package``) that defines it; ``submodules`` are
    submodules reachable as attributes. Any other name raises ``AttributeError``, as a module does.
    """
    if name in lazy:
        value = getattr(importlib.import_module(lazy[name], package), name)
    elif name in submodules:
        value = importlib.import_module(f".{name}", package)
    else:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    namespace[name] = value  # later lookups find it without calling __getattr__
    return value
