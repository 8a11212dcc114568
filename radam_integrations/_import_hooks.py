"""Run a function right after a module is first imported (a post-import hook).

The runner registers RAdam with a framework only when the script imports that framework, so a
timm script does not pay for importing transformers and the reverse. :func:`when_imported`
calls ``callback(module)`` at once if the module is already imported, else right after the
module's code has run for the first time, before the ``import`` statement that triggered it
returns. A failing callback is reported as a warning and never breaks the user's import.

How: a finder placed first on ``sys.meta_path`` asks the other finders for the module's spec
and wraps its loader so that ``exec_module`` runs the callback afterwards (the documented
``importlib`` protocol: ``find_spec``, ``create_module``, ``exec_module``).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

__all__ = ["when_imported"]

Callback = Callable[[ModuleType], None]

_lock = threading.RLock()
_pending: dict[str, list[Callback]] = {}


def when_imported(name: str, callback: Callback) -> None:
    """Call ``callback(module)`` once module ``name`` is imported (now if it already is)."""
    with _lock:
        module = sys.modules.get(name)
        if module is None:
            _pending.setdefault(name, []).append(callback)
            if not any(isinstance(f, _PostImportFinder) for f in sys.meta_path):
                sys.meta_path.insert(0, _PostImportFinder())
            return
    _run(name, module, [callback])


def _run(name: str, module: ModuleType, callbacks: list[Callback]) -> None:
    for callback in callbacks:
        try:
            callback(module)
        except Exception as err:  # never break the import that triggered us
            warnings.warn(
                f"radam_integrations: registering after the import of {name} failed: "
                f"{type(err).__name__}: {err}",
                RuntimeWarning,
                stacklevel=2,
            )


class _PostImportFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the loader of a watched module found by the other finders."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        with _lock:
            if fullname not in _pending:
                return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _CallbackLoader(spec.loader, fullname)
        return spec


class _CallbackLoader(importlib.abc.Loader):
    """The original loader, plus the pending callbacks after ``exec_module``."""

    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        # The module's own __loader__ stays the original one (get_source, resources, ...).
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        with _lock:
            callbacks = _pending.pop(self._name, [])
            if not _pending:
                sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PostImportFinder)]
        _run(self._name, sys.modules.get(self._name, module), callbacks)

    def __getattr__(self, attr: str) -> Any:  # get_source, is_package, get_resource_reader, ...
        return getattr(self._loader, attr)
