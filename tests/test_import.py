"""``import radam_integrations`` needs only torch, imports no framework, and is fast."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FRAMEWORKS = [
    "transformers",
    "timm",
    "lightning",
    "pytorch_lightning",
    "lightning_fabric",
    "accelerate",
    "deepspeed",
    "torchvision",
    "matplotlib",
    "numpy",
    "scipy",
    "jsonargparse",
    "tqdm",
]

PROBE = r"""
import importlib.machinery, importlib.util, json, sys, time
BLOCKED = set(json.loads(sys.argv[1]))


class WithoutFrameworks(importlib.machinery.PathFinder):
    # The path finder, except that the blocked packages are not there (as if uninstalled).

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            return None
        return super().find_spec(name, path, target)


sys.meta_path = [WithoutFrameworks if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
for name in BLOCKED:
    assert importlib.util.find_spec(name) is None, name
import torch  # noqa: E402
t0 = time.perf_counter()
import radam_integrations  # noqa: E402
from radam_integrations import RAdam, theory  # noqa: E402
elapsed = time.perf_counter() - t0
p = torch.nn.Parameter(torch.ones(2))
p.grad = torch.ones(2)
RAdam([p]).step()
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
print(json.dumps({"elapsed": elapsed, "loaded": loaded, "first": theory.first_rectified_step(0.999)}))
"""


@pytest.mark.process
def test_import_with_only_torch(subprocess_env: dict[str, str]) -> None:
    # numpy is blocked too: torch works without it, and so must we.
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(FRAMEWORKS)],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    assert result["first"] == 6
    # Generous bound against a noisy shared machine; typically a few tens of milliseconds.
    assert result["elapsed"] < 0.5, (
        f"import radam_integrations took {result['elapsed']:.3f}s beyond import torch"
    )
