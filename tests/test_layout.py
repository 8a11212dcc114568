"""The three layers: the library (what the wheel installs) never imports the lab beside it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "radam_integrations"
LAB_PACKAGES = {"warmup_ablation": ROOT / "examples", "warmup_study": ROOT / "benchmarks"}


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_library_never_imports_the_lab() -> None:
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        lab = sorted(m for m in _imported_modules(path) if m.split(".")[0] in LAB_PACKAGES)
        if lab:
            offenders[str(path.relative_to(ROOT))] = lab
    assert offenders == {}


def test_the_lab_lives_beside_the_package() -> None:
    for name, folder in LAB_PACKAGES.items():
        assert (folder / name / "__main__.py").is_file(), name  # python -m <name>, from a checkout
        assert not (PACKAGE / name).exists()
    assert not (PACKAGE / "demo").exists() and not (PACKAGE / "study").exists()


def test_the_lab_imports_only_public_library_modules() -> None:
    """The lab uses the library like any user: no module whose name starts with an underscore."""
    private = {}
    for folder in LAB_PACKAGES.values():
        for path in folder.rglob("*.py"):
            used = [m for m in _imported_modules(path) if m.startswith("radam_integrations")
                    and any(part.startswith("_") for part in m.split(".")[1:])]  # fmt: skip
            if used:
                private[str(path.relative_to(ROOT))] = used
    assert private == {}


# ---------------------------------------------------------------- the library's own import graph
OPTIM, WARMUP, EXPERIMENTAL = (
    "radam_integrations.optim",
    "radam_integrations.warmup",
    "radam_integrations.experimental",
)
#: The one place the core names the experimental package: ``radam_integrations.AutoWarmup``,
#: deprecated (a module ``__getattr__`` that warns), removed in the next release.
DEPRECATED_ALIASES = {("radam_integrations", EXPERIMENTAL)}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports anywhere (top level, in functions, ``import_module``).

    Importing ``a.b`` imports the package ``a`` first; that edge to an ancestor is implied, not drawn.
    """
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                subs = {f"{base}.{alias.name}" for alias in node.names} & modules.keys()
                targets |= subs | ({base} if len(subs) < len(node.names) else set())
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                targets.add(node.args[0].value)
        resolved = set()
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                resolved.add(target)
        graph[name] = resolved
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_optim_and_warmup_never_import_each_other() -> None:
    """Not directly, not through another module, not lazily: optimizer and detector are independent."""
    graph = _package_graph()
    crossing = {
        name: sorted(m for m in _reachable(graph, name) if _inside(m, other))
        for name in graph
        for own, other in ((OPTIM, WARMUP), (WARMUP, OPTIM))
        if _inside(name, own)
    }
    assert {k: v for k, v in crossing.items() if v} == {}


def test_the_core_never_imports_the_experimental_package() -> None:
    graph = _package_graph()
    arrows = {
        (name, target)
        for name, targets in graph.items()
        if not _inside(name, EXPERIMENTAL)
        for target in targets
        if _inside(target, EXPERIMENTAL)
    }
    assert arrows == DEPRECATED_ALIASES


def test_the_package_has_no_import_circle() -> None:
    graph = _package_graph()
    circles = [name for name in graph if name in _reachable(graph, name)]
    assert circles == []


@pytest.mark.process
def test_importing_every_core_module_leaves_experimental_unimported(subprocess_env) -> None:
    """At run time too: the core modules (frameworks installed here) import, and experimental stays out."""
    import subprocess
    import sys

    core = sorted(n for n in _package_graph() if not _inside(n, EXPERIMENTAL) and not n.endswith("__main__"))
    code = (
        "import importlib, sys\n"
        f"for name in {core!r}: importlib.import_module(name)\n"
        "import radam_integrations; radam_integrations.register_all()\n"
        "print(sorted(m for m in sys.modules if m.startswith('radam_integrations.experimental')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env,
                         timeout=300, check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"
