from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: ``make test-fast`` sets this: the inner-loop tier, unit and property tests only.
FAST_TIER = os.environ.get("RADAM_TEST_TIER") == "fast"

#: Framework entry points that run a training loop, by module: what the ``fit`` marker is for.
_FITS = {
    "lightning.pytorch": ("Trainer", ("fit", "validate", "test", "predict")),
    "pytorch_lightning": ("Trainer", ("fit", "validate", "test", "predict")),
    "transformers": ("Trainer", ("train", "evaluate")),
}


#: Doctests that run a framework's training loop (doctests cannot carry markers themselves).
_FIT_DOCTESTS = {"radam_integrations.integrations.lightning.WarmupDetectorCallback"}

_current_test = ["(collection)"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.name in _FIT_DOCTESTS:
            item.add_marker(pytest.mark.fit)


def _refuse(what: str, marker: str):
    def refused(*args: object, **kwargs: object) -> None:
        message = f"{_current_test[0]} {what}: mark it @pytest.mark.{marker} (not in make test-fast)"
        pytest.fail(message, pytrace=False)

    return refused


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """In ``make test-fast``, fail a test that launches a process or runs a framework's training loop.

    The tier selects by marker (``-m "not slow and not distributed and not process and not
    fit"``); this guard keeps the markers honest, so the tier stays the inner loop it claims to
    be. It runs before each test's fixtures (any scope) and stays installed from the first test
    on; collection, which imports libraries that may probe the system, is left alone.
    """
    _current_test[0] = item.nodeid
    if not FAST_TIER:
        return
    if not getattr(subprocess.Popen.__init__, "_fast_tier_refusal", False):
        refusal = _refuse("launches a process", "process")
        refusal._fast_tier_refusal = True  # type: ignore[attr-defined]
        subprocess.Popen.__init__ = refusal  # type: ignore[method-assign]
    for module_name, (cls_name, methods) in _FITS.items():
        module = sys.modules.get(module_name)
        cls = getattr(module, cls_name, None) if module is not None else None
        for method in methods if cls is not None else ():
            if not getattr(getattr(cls, method), "_fast_tier_refusal", False):
                refusal = _refuse(f"runs {module_name}.{cls_name}.{method}", "fit")
                refusal._fast_tier_refusal = True  # type: ignore[attr-defined]
                setattr(cls, method, refusal)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """Environment for child processes: the repo importable, single-threaded, quiet."""
    env = dict(os.environ)
    lab = [str(ROOT / "examples"), str(ROOT / "benchmarks")]  # the lab's packages, beside the library
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *lab, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHON"] = sys.executable
    return env
