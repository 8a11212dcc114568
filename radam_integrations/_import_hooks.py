"""Run a function right after a module is first imported (a post-import hook).

The runner registers RAdam with a framework only when the script imports that framework, so a
timm script does not pay for importing transformers and the reverse. :func:`when_imported`
calls ``callback(module)`` at once if the module is already imported, else right after the
module's code has run for the first time, before the ``import`` statement that triggered it
returns. A failing callback is reported as a warning and never breaks the user's import.

How: a finder placed first on ``sys.meta_path`` asks the other finders for the module's spec
and wraps its loader so that ``exec_module`` runs the callback afterwards (the documented
``importlib`` protocol: ``find_spec``, ``create_module``, ``exec_module``).

Re-entrant imports: the callbacks import modules of this package (the adapters), and a module
of this package may itself be what imports the watched framework (``from radam_integrations.
integrations.transformers import ...`` imports ``transformers.trainer``). Running the callbacks
then would meet our module half-initialized. So while hooks are pending, the loaders of this
package's modules are wrapped too, and callbacks that come due while one of them is still
executing wait until the outermost one has finished: still before the user's ``import``
statement returns.
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

#: Modules whose import is tracked so that callbacks never run while one is half-initialized.
_OWN_PACKAGE = __name__.split(".", 1)[0]

_lock = threading.RLock()
_pending: dict[str, list[Callback]] = {}
#: Callbacks whose module has been imported while one of our modules was still executing.
_deferred: list[tuple[str, ModuleType, list[Callback]]] = []
#: How many modules of this package are executing right now (nested imports count each).
_own_depth = 0


def when_imported(name: str, callback: Callback) -> None:
    """Call ``callback(module)`` once module ``name`` is imported (now if it already is)."""
    with _lock:
        module = sys.modules.get(name)
        if module is None:
            _pending.setdefault(name, []).append(callback)
            _update_finder()
            return
    _run(name, module, [callback])


def _is_own(name: str) -> bool:
    return name == _OWN_PACKAGE or name.startswith(_OWN_PACKAGE + ".")


def _update_finder() -> None:
    """The finder is on ``sys.meta_path`` exactly while something is pending or deferred."""
    installed = any(isinstance(f, _PostImportFinder) for f in sys.meta_path)
    needed = bool(_pending or _deferred or _own_depth)
    if needed and not installed:
        sys.meta_path.insert(0, _PostImportFinder())
    elif installed and not needed:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PostImportFinder)]


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
    """Finds nothing itself; wraps the loader of a watched module (or of ours) found by the others."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        with _lock:
            if fullname not in _pending and not _is_own(fullname):
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
        global _own_depth
        own = _is_own(self._name)
        if own:
            with _lock:
                _own_depth += 1
        try:
            self._loader.exec_module(module)
        except BaseException:
            self._finish(module, own, executed=False)
            raise
        self._finish(module, own, executed=True)

    def _finish(self, module: ModuleType, own: bool, *, executed: bool) -> None:
        global _own_depth
        # The module's own __loader__ stays the original one (get_source, resources, ...).
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        with _lock:
            if own:
                _own_depth -= 1
            # A failed import leaves its callbacks pending: a later import may succeed.
            callbacks = _pending.pop(self._name, []) if executed else []
            if callbacks:
                _deferred.append((self._name, module, callbacks))
            due = [] if _own_depth else _deferred[:]
            if due:
                _deferred.clear()
            _update_finder()
        for name, done, waiting in due:
            _run(name, sys.modules.get(name, done), waiting)

    def __getattr__(self, attr: str) -> Any:  # get_source, is_package, get_resource_reader, ...
        return getattr(self._loader, attr)
