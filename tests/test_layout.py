"""The three layers: the library (what the wheel installs) never imports the lab beside it."""

from __future__ import annotations

import ast
from pathlib import Path

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
