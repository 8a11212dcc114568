"""Post-import hooks: re-entrant imports of the package's own modules wait for them to finish."""

from __future__ import annotations

import importlib
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from radam_integrations import _import_hooks


@pytest.fixture
def packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``fakefw`` (a framework) and ``ownpkg`` (standing for our package), on a fresh sys.path entry."""
    (tmp_path / "fakefw.py").write_text("VALUE = 1\n")
    own = tmp_path / "ownpkg"
    own.mkdir()
    # As integrations/transformers.py: imports the watched framework first, defines register() after.
    (own / "__init__.py").write_text(
        textwrap.dedent(
            """
            import fakefw
            from . import helper
            CALLS = []

            def register(module):
                CALLS.append(module.__name__)
            """
        )
    )
    (own / "helper.py").write_text("import fakefw\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(_import_hooks, "_OWN_PACKAGE", "ownpkg")
    yield
    for name in ("fakefw", "ownpkg", "ownpkg.helper"):
        sys.modules.pop(name, None)
    _import_hooks._pending.clear()
    _import_hooks._deferred.clear()
    _import_hooks._update_finder()


def test_a_callback_waits_until_our_half_imported_module_is_done(packages) -> None:
    _import_hooks.when_imported("fakefw", lambda m: importlib.import_module("ownpkg").register(m))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the old behaviour: "partially initialized module" warning
        import ownpkg  # type: ignore[import-not-found]
    assert ownpkg.CALLS == ["fakefw"]
    assert not any(isinstance(f, _import_hooks._PostImportFinder) for f in sys.meta_path)


def test_a_callback_runs_right_after_a_direct_import(packages) -> None:
    seen = []
    _import_hooks.when_imported("fakefw", lambda m: seen.append(m.VALUE))
    import fakefw  # type: ignore[import-not-found]  # noqa: F401

    assert seen == [1]


def test_a_failing_import_keeps_the_callback_pending(packages, tmp_path: Path) -> None:
    (tmp_path / "fakefw.py").write_text("raise ImportError('not today')\n")
    seen = []
    _import_hooks.when_imported("fakefw", lambda m: seen.append(m.__name__))
    with pytest.raises(ImportError, match="not today"):
        import fakefw  # type: ignore[import-not-found]
    assert seen == [] and "fakefw" in _import_hooks._pending
    (tmp_path / "fakefw.py").write_text("VALUE = 2\n")
    importlib.invalidate_caches()
    sys.modules.pop("fakefw", None)
    import fakefw  # type: ignore[import-not-found]  # noqa: F401

    assert seen == ["fakefw"]


def test_a_failing_callback_warns_and_the_import_succeeds(packages) -> None:
    def broken(module):
        raise ValueError("boom")

    _import_hooks.when_imported("fakefw", broken)
    expected = "registering after the import of fakefw failed: ValueError: boom"
    with pytest.warns(RuntimeWarning, match=expected):
        import fakefw  # type: ignore[import-not-found]  # noqa: F401
