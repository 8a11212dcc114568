"""The package as a user gets it: the wheel, installed in a fresh venv that holds only torch.

The wheel is built from a copy of the checkout (the build writes build/ and *.egg-info beside the
sources; a copy keeps those out of the working tree). The venv is made with ``python -m venv``; torch
comes from the dev venv without a second download: a ``.pth`` file points at a folder of symlinks to
exactly torch's distributions and those they require, recursively (markers and extras evaluated),
so nothing else of the dev venv (transformers, timm, Lightning, Accelerate, the checkout) is
visible there. Every check runs that venv's interpreter from a folder outside the checkout, with
no PYTHONPATH.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = [pytest.mark.slow, pytest.mark.process]

FRAMEWORKS = ["transformers", "timm", "lightning", "pytorch_lightning", "lightning_fabric", "accelerate"]

#: What a build needs from the checkout is everything but these (venvs, caches, outputs).
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv*", ".*cache", ".hypothesis", "__pycache__", "*.egg-info", "build", "dist", "runs", "_build"
)

TIMEOUT = 300  # seconds, for every process: generous, on a loaded 2-core machine

SMOKE = r"""
import importlib.metadata, importlib.util, json, sys, sysconfig
from pathlib import Path

import torch

import radam_integrations

FRAMEWORKS = json.loads(sys.argv[1])


def loaded():
    return sorted(
        m for m in sys.modules
        if m.split(".")[0] in FRAMEWORKS or m.startswith("radam_integrations.experimental")
    )


after_import = loaded()
try:
    import transformers  # noqa: F401
    transformers_error = None
except ImportError as err:
    transformers_error = type(err).__name__
registered = radam_integrations.register_all()


def train(optimizer_class):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    optimizer = optimizer_class(model.parameters(), lr=1e-2, weight_decay=0.01)
    data = torch.randn(16, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    target = data.sum(dim=1, keepdim=True)
    start = torch.cat([p.detach().flatten() for p in model.parameters()])
    for _ in range(10):  # both branches: unrectified steps 1-5, rectified from step 6 (beta2=0.999)
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(data), target).backward()
        optimizer.step()
    return start, torch.cat([p.detach().flatten() for p in model.parameters()])


(start, ours), (_, theirs) = train(radam_integrations.RAdam), train(torch.optim.RAdam)
dist = importlib.metadata.distribution("radam-integrations")
files = [str(f) for f in dist.files]
license_files = [f for f in dist.files if f.name == "LICENSE" and ".dist-info" in f.parts[0]]
print(json.dumps({
    "file": radam_integrations.__file__,
    "torch_file": torch.__file__,
    "purelib": sysconfig.get_paths()["purelib"],
    "sys_path": sys.path,
    "after_import": after_import,
    "after_register": loaded(),
    "findable": [name for name in FRAMEWORKS if importlib.util.find_spec(name) is not None],
    "transformers_error": transformers_error,
    "registered": registered,
    "max_diff": (ours - theirs).abs().max().item(),
    "moved": (ours - start).abs().max().item(),
    "py_typed": (Path(radam_integrations.__file__).parent / "py.typed").is_file(),
    "py_typed_recorded": "radam_integrations/py.typed" in files,
    "license": [str(f) for f in license_files],
    "license_text": license_files[0].read_text() if license_files else "",
    "license_metadata": [dist.metadata["License-Expression"], dist.metadata.get_all("License-File")],
}))
"""

TINY = """
import sys

import torch

print("tiny ran", sys.argv[1:], torch.ones(2).sum().item())
sys.exit(3)
"""


def _run(cmd: list[str | Path], *, env: dict[str, str] | None = None, cwd: Path | None = None, code: int = 0):
    result = subprocess.run(
        [str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT
    )
    output = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == code, f"{cmd} exited {result.returncode}, not {code}\n{output}"
    return result


def _our_stderr(stderr: str) -> list[str]:
    """stderr's lines, less torch's warning at import where numpy is not installed (torch does not
    require numpy, so a venv with only torch has none): its line and the source line under it."""
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        if "UserWarning: Failed to initialize NumPy" in line:
            del lines[i : i + 1 + (i + 1 < len(lines) and lines[i + 1].startswith(" "))]
            break
    return lines


def _requirements_closure(name: str) -> set[str]:
    """``name`` and, recursively, the distributions it requires here (markers and extras evaluated)."""
    extras_of: dict[str, frozenset[str]] = {}
    todo = [(name, frozenset[str]())]
    while todo:
        requirement, extras = todo.pop()
        key = canonicalize_name(requirement)
        if key in extras_of and extras <= extras_of[key]:
            continue
        extras_of[key] = extras = extras | extras_of.get(key, frozenset())
        for line in importlib.metadata.distribution(requirement).requires or ():
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
                todo.append((req.name, frozenset(req.extras)))
    return set(extras_of)


def _link_distributions(names: set[str], into: Path) -> None:
    """Symlink the files of the distributions ``names`` into ``into``, and nothing else's.

    A folder is linked whole where no other distribution has files in it (``torch/``), else made
    here and filled one level down (a namespace folder shared with a distribution left out).
    """
    roots: dict[Path, set[tuple[str, ...]]] = {}
    for name in names:
        dist = importlib.metadata.distribution(name)
        files = roots.setdefault(Path(dist.locate_file("")), set())
        # Not "..": scripts in bin/; not __pycache__: Python rebuilds it.
        files |= {f.parts for f in dist.files or () if ".." not in f.parts and "__pycache__" not in f.parts}
    for root, files in roots.items():
        others = {
            f.parts
            for dist in importlib.metadata.distributions(path=[str(root)])
            if canonicalize_name(dist.metadata["Name"]) not in names
            for f in dist.files or ()
        }
        _link_level(root, into, files, others, ())


def _link_level(
    root: Path, into: Path, files: Iterable[tuple[str, ...]], others: set[tuple[str, ...]], prefix: tuple
) -> None:
    depth = len(prefix)
    below = [f for f in files if f[:depth] == prefix and len(f) > depth]
    shared = {o[: depth + 1] for o in others if o[:depth] == prefix and len(o) > depth + 1}
    for entry in sorted({f[depth] for f in below}):
        path = (*prefix, entry)
        if path in shared:
            into.joinpath(*path).mkdir(parents=True, exist_ok=True)
            _link_level(root, into, below, others, path)
        elif not into.joinpath(*path).exists():
            into.joinpath(*path).parent.mkdir(parents=True, exist_ok=True)
            into.joinpath(*path).symlink_to(root.joinpath(*path))


@pytest.fixture(scope="module")
def wheel(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built (pip wheel, no build isolation: offline) from a copy of the checkout."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(repo_root, source, ignore=NOT_SOURCES, symlinks=True)
    out = tmp / "wheelhouse"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", out, source])
    (built,) = out.glob("radam_integrations-*.whl")
    return built


def test_wheel_holds_only_the_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = wheel.name.split("-py3")[0] + ".dist-info/"
    assert {n.split("/")[0] + "/" for n in names} == {"radam_integrations/", dist_info}
    assert "radam_integrations/py.typed" in names
    assert f"{dist_info}licenses/LICENSE" in names


def test_installed_wheel_with_only_torch(
    wheel: Path, repo_root: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    # The environment of a user's shell with the fresh venv activated: nothing of the checkout.
    env = {k: v for k, v in subprocess_env.items() if not k.startswith("PYTHON")}
    venv = tmp_path / "venv"
    env.update(PYTHONUNBUFFERED="1", PYTHONNOUSERSITE="1", VIRTUAL_ENV=str(venv))
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])

    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = Path(_run([python, "-c", where]).stdout.strip())
    torch_only = tmp_path / "torch-only"
    closure = _requirements_closure("torch")
    assert "transformers" not in closure
    _link_distributions(closure, torch_only)
    (purelib / "_torch_only.pth").write_text(f"{torch_only}\n")
    # The dev venv's pip, run by the fresh interpreter (--python): the venv needs no pip of its own.
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python]
    _run([*pip, "install", "--no-deps", "--no-index", wheel], env=env)
    _run([*pip, "check"], env=env)  # torch's requirements are all there, and ours (torch) too

    work = tmp_path / "work"
    work.mkdir()
    smoke = json.loads(_run([python, "-c", SMOKE, json.dumps(FRAMEWORKS)], env=env, cwd=work).stdout)
    assert Path(smoke["file"]).is_relative_to(purelib / "radam_integrations"), smoke["file"]
    assert Path(smoke["torch_file"]).is_relative_to(torch_only), smoke["torch_file"]
    assert [p for p in smoke["sys_path"] if p and Path(p).resolve().is_relative_to(repo_root)] == []
    assert not any("site-packages" in p and not Path(p).is_relative_to(venv) for p in smoke["sys_path"])
    assert smoke["after_import"] == smoke["after_register"] == []
    assert smoke["findable"] == []
    assert smoke["transformers_error"] == "ModuleNotFoundError"
    assert smoke["registered"] == []
    assert smoke["max_diff"] <= 1e-12 and smoke["moved"] > 1e-3  # the same numbers, and they moved
    assert smoke["py_typed"] and smoke["py_typed_recorded"]
    assert smoke["license"] == [f"{wheel.name.split('-py3')[0]}.dist-info/licenses/LICENSE"]
    assert "Apache License" in smoke["license_text"] and "Version 2.0, January 2004" in smoke["license_text"]
    assert smoke["license_metadata"] == ["Apache-2.0", ["LICENSE"]]

    cli = venv / "bin" / "radam-integrations"
    assert "schedule" in _run([cli, "--help"], env=env, cwd=work).stdout
    assert "0.999" in _run([cli, "schedule"], env=env, cwd=work).stdout
    (work / "tiny.py").write_text(textwrap.dedent(TINY))
    ran = _run([cli, "run", "tiny.py", "a", "b"], env=env, cwd=work, code=3)
    assert "tiny ran ['a', 'b'] 2.0" in ran.stdout
    for mistake in (["schedule", "--beta2", "1.5"], ["no-such-command"]):
        error = _our_stderr(_run([cli, *mistake], env=env, cwd=work, code=2).stderr)
        assert len(error) == 1 and error[0].startswith("radam-integrations"), error
