"""The lower bounds in pyproject.toml, as exact pins: ``make test-floors`` installs and checks them.

pyproject.toml is the one source of truth: every ``name>=X`` in ``[project] dependencies`` and in
every extra becomes ``name==X`` (except the tools in UNPINNED), so raising a floor there changes
what ``make test-floors`` installs, and ``check`` fails if the venv holds anything else.

    python tools/floors.py constraints   # pip constraints, one ``name==X`` a line
    python tools/floors.py python        # the oldest Python requires-python allows, e.g. 3.10
    python tools/floors.py check         # installed versions == floors, and the Python version

Runs on Python 3.10 (no tomllib there: tomli, else the copy that pip vendors).
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import metadata
from pathlib import Path

# pip's vendored copies only as a last resort: importing pip breaks a later `import distutils` under
# setuptools' distutils hack (torch._dynamo does that import), and tests/test_floors.py imports this.
try:
    import tomllib
except ImportError:  # Python 3.10: pytest requires tomli there
    try:
        import tomli as tomllib
    except ImportError:  # a fresh venv, before anything is installed
        from pip._vendor import tomli as tomllib

try:
    from packaging.version import Version
except ImportError:
    from pip._vendor.packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

#: Declared with a floor but not pinned: lint and type checks only (ruff, mypy), and `make test-floors`
#: does not run them; the docs extra (Sphinx), which `make test-floors` does not install: Sphinx 9
#: needs Python 3.11, and the fast tier it runs does not build the docs.
UNPINNED = {"ruff", "mypy", "sphinx", "myst-parser", "furo"}

_REQ = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(?P<spec>[^;]*)(?:;.*)?$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def floors(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """``{distribution: lower bound}`` for every requirement of the project and its extras."""
    project = tomllib.loads(pyproject.read_text())["project"]
    own = _canonical(project["name"])
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    found: dict[str, str] = {}
    for requirement in requirements:
        match = _REQ.match(requirement.strip())
        if not match:
            raise SystemExit(f"pyproject.toml: cannot read the requirement {requirement!r}")
        name = _canonical(match["name"])
        if name == own:
            continue  # radam-integrations[lightning,...]: the extras themselves are read above
        lower = [s.strip()[2:].strip() for s in match["spec"].split(",") if s.strip().startswith(">=")]
        if len(lower) != 1:
            raise SystemExit(f"pyproject.toml: {requirement!r} needs exactly one '>=' lower bound")
        if name in found and Version(found[name]) != Version(lower[0]):
            raise SystemExit(
                f"pyproject.toml: {name} has two lower bounds, {found[name]} and {lower[0]}; "
                "give it one, the one make test-floors installs"
            )
        found.setdefault(name, lower[0])
    return found


def requires_python(pyproject: Path = PYPROJECT) -> str:
    spec = tomllib.loads(pyproject.read_text())["project"]["requires-python"]
    match = re.fullmatch(r"\s*>=\s*(\d+)\.(\d+)\s*", spec)
    if not match:
        raise SystemExit(f"pyproject.toml: requires-python {spec!r} is not of the form '>=X.Y'")
    return f"{match[1]}.{match[2]}"


def pins() -> dict[str, str]:
    return {name: version for name, version in floors().items() if name not in UNPINNED}


def check() -> int:
    problems = []
    for name, floor in sorted(pins().items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name}: not installed (floor {floor})")
            continue
        if Version(Version(installed).public) != Version(floor):
            problems.append(f"{name}: {installed} installed, floor {floor}")
        else:
            print(f"  {name:<18} {installed:<12} = floor {floor}")
    python, want = f"{sys.version_info[0]}.{sys.version_info[1]}", requires_python()
    print(f"  {'python':<18} {sys.version.split()[0]:<12} (requires-python >= {want})")
    if python != want:
        print(
            f"NOTE: Python {want} not found; the floors ran on Python {python}, so the Python floor "
            "itself is untested here.",
            file=sys.stderr,
        )
    for problem in problems:
        print(f"FLOOR MISMATCH: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["constraints", "python", "check"])
    args = parser.parse_args(argv)
    if args.command == "constraints":
        print("# Generated by tools/floors.py from pyproject.toml's lower bounds. Do not edit.")
        for name, version in sorted(pins().items()):
            print(f"{name}=={version}")
        return 0
    if args.command == "python":
        print(requires_python())
        return 0
    return check()


if __name__ == "__main__":
    sys.exit(main())
