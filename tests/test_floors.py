"""tools/floors.py: pyproject's lower bounds are what ``make test-floors`` pins (one source of truth)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("_floors", ROOT / "tools" / "floors.py")
floors = importlib.util.module_from_spec(spec)
spec.loader.exec_module(floors)


def test_every_requirement_in_pyproject_is_pinned_at_its_floor(capsys: pytest.CaptureFixture[str]) -> None:
    pins = floors.pins()
    assert {"torch", "transformers", "accelerate", "timm", "lightning", "pytorch-lightning"} <= set(pins)
    assert set(floors.floors()) - set(pins) == floors.UNPINNED
    assert floors.main(["constraints"]) == 0  # what `make test-floors` installs with `pip -c`
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    assert lines == [f"{name}=={version}" for name, version in sorted(pins.items())]


def _pyproject(tmp_path: Path, requirements: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        f'[project]\nname = "x-y"\nrequires-python = ">=3.10"\ndependencies = {requirements}\n'
        '[project.optional-dependencies]\nall = ["x_y[a]", "torch >= 2.4.0"]\n'
    )
    return path


def test_extras_upper_bounds_and_self_references_are_read(tmp_path: Path) -> None:
    marker = "python_version >= '3.10'"
    path = _pyproject(tmp_path, f'["torch>=2.4,<3", "jsonargparse[signatures]>=4.27.7; {marker}"]')
    assert floors.floors(path) == {"torch": "2.4", "jsonargparse": "4.27.7"}
    assert floors.requires_python(path) == "3.10"


@pytest.mark.parametrize(
    ("requirements", "message"),
    [
        ('["torch"]', "'torch' needs exactly one '>=' lower bound"),
        ('["torch==2.4"]', "needs exactly one '>=' lower bound"),
        ('["torch>=2.5"]', "torch has two lower bounds, 2.5 and 2.4.0"),
    ],
)
def test_missing_or_conflicting_floors_are_refused(tmp_path: Path, requirements: str, message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        floors.floors(_pyproject(tmp_path, requirements))
