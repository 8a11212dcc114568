from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
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


@pytest.fixture(autouse=True)
def _fast_tier_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In ``make test-fast``, fail a test that launches a process or fits a framework.

    The fast tier selects by marker (``-m "not slow and not distributed and not process and not
    fit"``); this guard keeps the markers honest, so the tier stays the inner loop it claims to be.
    """
    if not FAST_TIER:
        yield
        return
    nodeid = request.node.nodeid

    def refuse(what: str, marker: str):
        def refused(*args: object, **kwargs: object) -> None:
            message = f"{nodeid} {what}: mark it @pytest.mark.{marker} (not in make test-fast)"
            pytest.fail(message, pytrace=False)

        return refused

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse("launches a process", "process"))
    for module_name, (cls_name, methods) in _FITS.items():
        module = sys.modules.get(module_name)
        cls = getattr(module, cls_name, None) if module is not None else None
        for method in methods if cls is not None else ():
            monkeypatch.setattr(cls, method, refuse(f"runs {module_name}.{cls_name}.{method}", "fit"))
    yield


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """Environment for child processes: the repo importable, single-threaded, quiet."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHON"] = sys.executable
    return env
