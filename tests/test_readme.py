"""The README's first screen: its one-liners run as written (given a model and an Accelerator), and
the README stays short enough to be read (issue 21: at most 300 lines, the one-liners first)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: What the one-liners take from the reader's own code (a model, an Accelerator), and what they give.
PRELUDE = "import torch\nmodel = torch.nn.Linear(4, 2)\n"
CHECKS = {
    'optim="radamw"': ("", 'assert args.optim.value == "radamw", args.optim'),
    "create_optimizer_v2": ("", 'assert type(opt).__module__ == "radam_integrations.optim.radam", type(opt)'),
    "def configure_optimizers": ("", 'assert type(configure_optimizers(model)).__name__ == "RAdam"'),
    "accelerator.prepare": (
        "from accelerate import Accelerator\naccelerator = Accelerator(cpu=True)\n",
        'assert type(opt.optimizer).__module__ == "radam_integrations.optim.radam", type(opt.optimizer)',
    ),
}


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_the_readme_is_short_and_opens_with_the_one_liners() -> None:
    lines = README.splitlines()
    assert len(lines) <= 300
    first_python = next(i for i, line in enumerate(lines) if line.startswith("```python"))
    assert first_python < 20  # on the first screen
    blocks = _blocks()
    assert [next(k for k in CHECKS if k in b) for b in blocks[:4]] == list(CHECKS)  # the four, first


@pytest.mark.process
@pytest.mark.parametrize("key", list(CHECKS), ids=["hf", "timm", "lightning", "accelerate"])
def test_each_readme_one_liner_runs(key: str, tmp_path, subprocess_env) -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("timm")
    (block,) = [b for b in _blocks()[:4] if key in b]
    setup, check = CHECKS[key]
    script = tmp_path / "one_liner.py"
    script.write_text(PRELUDE + setup + block + check + "\nprint('ran')\n")
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=subprocess_env, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ran")
