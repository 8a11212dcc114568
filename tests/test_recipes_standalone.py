"""Every recipe stands alone: copied by itself into an empty folder, it runs.

A recipe may import the standard library, torch, radam_integrations and the framework it demonstrates,
nothing else: no other recipe, no ``sys.path`` tricks. The static checks read the sources; the runs copy
each recipe (with the config it needs) into an empty folder, where nothing but ``radam_integrations``
is importable from this checkout, and run it there with tiny settings.

The recipes also share their flag names (``--steps``, ``--lr``, ``--output-dir``, ...), checked here
for the ones built on ``argparse``; ``hf_trainer.py`` keeps Hugging Face's and ``lightning_cli.py``
LightningCLI's.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"

# The framework each recipe demonstrates: the only third-party imports it may have besides torch.
FRAMEWORKS = {
    "accelerate_loop.py": {"accelerate"},
    "fabric_loop.py": {"lightning", "lightning_fabric"},
    "hf_trainer.py": {"transformers"},
    "lightning_cli.py": {"lightning", "pytorch_lightning"},
    "lightning_configure_optimizers.py": {"lightning", "pytorch_lightning"},
    "timm_train.py": {"timm"},
}
ALWAYS = {"__future__", "torch", "radam_integrations"}
# What a recipe needs next to it to run (its config files).
COMPANIONS = {"lightning_cli.py": ["lightning_cli.yaml"]}

# The argparse recipes all spell these the same way ...
SHARED_FLAGS = {
    "--steps", "--lr", "--beta2", "--batch-size", "--weight-decay", "--every", "--seed", "--output-dir",
    "--no-plot",
}  # fmt: skip
RESUMING = {"accelerate_loop.py", "fabric_loop.py"}  # ... and these take --resume-from
# ... and none of these older or other spellings.
RETIRED_FLAGS = {"--max-steps", "--out", "--output", "--resume", "--plot", "--wd", "--bs", "--eval-every"}
ARGPARSE_RECIPES = [
    "accelerate_loop.py", "fabric_loop.py", "lightning_configure_optimizers.py", "timm_train.py"
]  # fmt: skip


def _source(name: str) -> ast.Module:
    return ast.parse((RECIPES / name).read_text(), filename=name)


def _imported_modules(tree: ast.Module) -> list[tuple[str, int]]:
    """(module, level) of every import statement (level > 0: relative)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


def _flags(tree: ast.Module) -> set[str]:
    """The option strings of every ``parser.add_argument("--...")`` call."""
    flags = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            strings = [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
            flags |= {value for value in strings if str(value).startswith("--")}
    return flags


def test_every_recipe_is_covered() -> None:
    assert sorted(p.name for p in RECIPES.glob("*.py")) == sorted(FRAMEWORKS)
    for companions in COMPANIONS.values():
        assert all((RECIPES / name).is_file() for name in companions)


@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
def test_recipe_imports_only_the_stdlib_torch_radam_and_its_framework(name: str) -> None:
    tree = _source(name)
    recipe_modules = {Path(other).stem for other in FRAMEWORKS}
    allowed = ALWAYS | FRAMEWORKS[name] | set(sys.stdlib_module_names)
    for module, level in _imported_modules(tree):
        top = module.split(".")[0]
        assert level == 0, f"{name}: relative import of {module!r}"
        assert top not in recipe_modules, f"{name} imports the recipe {module!r}"
        assert top in allowed, f"{name} imports {module!r}: not stdlib, torch, radam_integrations, framework"
        assert top not in {"importlib", "runpy"}, f"{name} imports {module!r}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "path" and ast.unparse(node.value) == "sys":
            raise AssertionError(f"{name}:{node.lineno} touches sys.path")
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "sys"
            and "path" in {a.name for a in node.names}
        ):
            raise AssertionError(f"{name}:{node.lineno} imports sys.path")
        if isinstance(node, ast.Name) and node.id == "__import__":
            raise AssertionError(f"{name}:{node.lineno} calls __import__")
    assert "PYTHONPATH" not in (RECIPES / name).read_text()


def test_lightning_cli_config_names_no_recipe_module() -> None:
    """The yaml's class paths are importable anywhere: no ``__main__.X``, no recipe module."""
    text = (RECIPES / "lightning_cli.yaml").read_text()
    class_paths = re.findall(r"class_path:\s*([\w.]+)", text)
    assert "radam_integrations.RAdam" in class_paths
    recipe_modules = {Path(other).stem for other in FRAMEWORKS}
    for path in class_paths:
        top = path.split(".")[0]
        assert top != "__main__" and top not in recipe_modules, path
    # The model and data classes come from LightningCLI(LanguageModel, MarkovTokens): init args only.
    for block in ("model", "data"):
        assert re.search(rf"^{block}:\n(  \w+: \S+\n)+", text, re.M), f"{block}: init args only"


# Standing alone means repeating code: these definitions are copied between recipes and must stay equal.
SHARED_CODE = {
    "markov_chain": ["lightning_configure_optimizers.py", "lightning_cli.py", "fabric_loop.py"],
    "markov_tokens": ["lightning_configure_optimizers.py", "lightning_cli.py", "fabric_loop.py"],
    "entropy_rate": ["lightning_configure_optimizers.py", "lightning_cli.py", "fabric_loop.py"],
    "TinyLM": ["lightning_configure_optimizers.py", "lightning_cli.py", "fabric_loop.py"],
    "MarkovTokens": ["lightning_configure_optimizers.py", "lightning_cli.py"],
    "LanguageModel": ["lightning_configure_optimizers.py", "lightning_cli.py"],
}


@pytest.mark.parametrize("definition", sorted(SHARED_CODE))
def test_copied_definitions_stay_identical(definition: str) -> None:
    def body(name: str) -> str:
        tree = _source(name)
        (node,) = [n for n in tree.body if getattr(n, "name", None) == definition]
        return ast.dump(node, include_attributes=False)

    first, *others = SHARED_CODE[definition]
    for other in others:
        assert body(other) == body(first), f"{definition} in {other} differs from the one in {first}"


@pytest.mark.parametrize("name", ARGPARSE_RECIPES)
def test_argparse_recipes_share_flag_names(name: str) -> None:
    flags = _flags(_source(name))
    assert flags >= SHARED_FLAGS, f"{name} lacks {sorted(SHARED_FLAGS - flags)}"
    assert ("--resume-from" in flags) == (name in RESUMING), name
    assert not flags & RETIRED_FLAGS, f"{name} still has {sorted(flags & RETIRED_FLAGS)}"
    # Every flag the docstring's usage lines show exists.
    doc = ast.get_docstring(_source(name)) or ""
    usage = [line for line in doc.splitlines() if f"recipes/{name}" in line and "python" in line]
    assert usage, f"{name}: no usage line"
    after_script = [line.split(name, 1)[1] for line in usage]
    shown = {flag for rest in after_script for flag in re.findall(r"(?<![\w-])--[a-z][\w-]*", rest)}
    assert shown <= flags, f"{name}: usage shows {sorted(shown - flags)}"


@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
def test_recipe_docstring_states_its_run_time(name: str) -> None:
    doc = ast.get_docstring(_source(name)) or ""
    assert re.search(r"Run time.*2-core", doc, re.S), f"{name}: no measured run time in the docstring"


# ---------------------------------------------------------------------- run from an empty folder
# Tiny settings; every run writes into out/ under the folder it runs in.
RUNS = {
    "accelerate_loop.py": ["--steps", "10", "--samples", "256", "--width", "16", "--every", "5"],
    "fabric_loop.py": ["--steps", "10", "--batch-size", "8", "--every", "5"],
    "hf_trainer.py": [
        "--max_steps", "5", "--train_sequences", "64", "--logging_steps", "5", "--output_dir", "out",
    ],
    "lightning_cli.py": [
        "fit", "--config", "lightning_cli.yaml", "--trainer.max_steps", "5",
        "--trainer.default_root_dir", "out", "--trainer.logger.init_args.save_dir", "out",
        "--trainer.enable_progress_bar", "false",
    ],
    "lightning_configure_optimizers.py": ["--steps", "10", "--batch-size", "8", "--every", "5"],
    "timm_train.py": ["--steps", "10", "--batch-size", "8", "--every", "5"],
}  # fmt: skip
# Where each run leaves the detector's history (relative to the folder it ran in).
HISTORY = {
    "accelerate_loop.py": "out/warmup_history.json",
    "fabric_loop.py": "out/logs/version_0/warmup_history.json",
    "hf_trainer.py": "out/warmup_history.json",
    "lightning_cli.py": "out/version_0/warmup_history.json",
    "lightning_configure_optimizers.py": "out/radam/version_0/warmup_history.json",
    "timm_train.py": "out/warmup_history.json",
}


@pytest.fixture(scope="module")
def only_radam_integrations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PYTHONPATH folder that makes radam_integrations importable from this checkout, and nothing else."""
    site = tmp_path_factory.mktemp("site")
    target = site / "radam_integrations"
    try:
        target.symlink_to(ROOT / "radam_integrations", target_is_directory=True)
    except OSError:  # no symlinks (Windows without the privilege)
        shutil.copytree(ROOT / "radam_integrations", target, ignore=shutil.ignore_patterns("__pycache__"))
    return site


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_recipe_runs_alone_in_an_empty_folder(
    name: str, tmp_path: Path, only_radam_integrations: Path
) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    for file in [name, *COMPANIONS.get(name, [])]:
        shutil.copy(RECIPES / file, folder / file)
    argv = RUNS[name]
    if name in ARGPARSE_RECIPES:
        argv = [*argv, "--output-dir", "out", "--no-plot"]
    elif name == "hf_trainer.py":
        argv = [*argv, "--no-plot"]  # HfArgumentParser's complement of the task's `plot: bool = True`
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "PYTHONSTARTUP"}}
    env.update(
        PYTHONPATH=str(only_radam_integrations),
        PYTHONUNBUFFERED="1",
        OMP_NUM_THREADS="1",
        HF_HOME=str(tmp_path / "hf"),  # no user-level Hugging Face or Accelerate config
        MPLBACKEND="Agg",
    )
    proc = subprocess.run(
        [sys.executable, name, *argv], cwd=folder, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{name} failed alone:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    history = json.loads((folder / HISTORY[name]).read_text())
    assert history["records"], name
    assert history["records"][0]["optimizer"] == "RAdam", name
    if name != "lightning_cli.py":  # its yaml decides (plot: null)
        assert not list(folder.rglob("warmup_history.png")), f"{name} ignored --no-plot"
    assert "has no tracker" not in proc.stderr  # accelerate_loop.py: log=False without --log-with
