"""The HF guide's (docs/transformers.md) and the recipes' snippets run through the runner, with and
without ``--detect``.

Each script here imports our own modules itself (``import radam_integrations.hf``, ``from
radam_integrations.integrations.transformers import ...``), which the runner's post-import hooks
must not trip over; the detector's metrics must reach the framework's logs, the script's own
``warmup_history.json`` must be written, and ``--detect`` must report what stepped.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.process, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
CLI = str(Path(sys.executable).parent / "radam-integrations")

#: The HF guide's Trainer block gets a model and data of its own (tiny, random init).
GUIDE_PRELUDE = textwrap.dedent(
    """
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=32, n_positions=16, n_embd=32, n_layer=1, n_head=2,
                                       bos_token_id=None, eos_token_id=None))
    ids = torch.randint(0, 32, (80, 16))
    train_data = [{"input_ids": row, "labels": row} for row in ids]
    """
)
GUIDE_CHECK = textwrap.dedent(
    """
    import json
    logged = [k for entry in trainer.state.log_history for k in entry if k.startswith("warmup/")]
    print("result:", json.dumps({"warmup_keys_logged": len(logged)}))
    """
)


HF_GUIDE = ROOT / "docs" / "transformers.md"


def guide_block(containing: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", HF_GUIDE.read_text(), flags=re.S)
    found = [b for b in blocks if containing in b]
    assert found, f"no python block in {HF_GUIDE.name} contains {containing!r}"
    return found[0]


def _result(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("result: ")]
    assert lines, stdout[-2000:]
    return json.loads(lines[-1][len("result: ") :])


def _metrics_header(folder: Path) -> list[str]:
    (csv,) = folder.rglob("metrics.csv")
    return csv.read_text().splitlines()[0].split(",")


# name -> (script arguments, where the script writes its history, how its logs show the metrics)
CASES = {
    "guide_hf": (
        [],
        "out",
        lambda out, stdout: _result(stdout)["warmup_keys_logged"] > 0,
    ),
    "hf_trainer.py": (
        ["--max_steps", "20", "--train_sequences", "256", "--output_dir", "{out}"],
        "{out}",
        lambda out, stdout: _result(stdout)["warmup_keys_logged"] > 0,
    ),
    "lightning_configure_optimizers.py": (
        ["--steps", "20", "--every", "5", "--output-dir", "{out}"],
        "{out}/radam/version_0",
        lambda out, stdout: "warmup/RAdam/noise" in _metrics_header(out),
    ),
    "lightning_cli.py": (
        ["fit", "--config", str(RECIPES / "lightning_cli.yaml"), "--trainer.max_steps", "5",
         "--trainer.default_root_dir", "{out}", "--trainer.logger.init_args.save_dir", "{out}"],
        "{out}/version_0",
        lambda out, stdout: "settled T" in stdout,  # its logger's csv is written per epoch
    ),
    "fabric_loop.py": (
        ["--steps", "20", "--every", "5", "--batch-size", "16", "--output-dir", "{out}"],
        "{out}/logs/version_0",
        lambda out, stdout: "warmup/RAdam/noise" in _metrics_header(out),
    ),
    "timm_train.py": (
        ["--steps", "20", "--output-dir", "{out}"],
        "{out}",
        lambda out, stdout: json.loads((out / "result.json").read_text())["evaluations"] > 0,
    ),
    "accelerate_loop.py": (
        ["--steps", "20", "--samples", "512", "--batch-size", "64", "--width", "32", "--every", "5",
         "--output-dir", "{out}"],
        "{out}",
        lambda out, stdout: "settled T" in stdout,  # no tracker by default: the summary it prints
    ),
}  # fmt: skip


@pytest.mark.parametrize("detect", [False, True], ids=["plain", "detect"])
@pytest.mark.parametrize("case", list(CASES))
def test_snippet_through_the_runner(case: str, detect: bool, tmp_path: Path, subprocess_env) -> None:
    args, history_at, logged = CASES[case]
    if case == "guide_hf":
        script = tmp_path / "guide_hf.py"
        block = guide_block("import radam_integrations.hf")
        script.write_text(GUIDE_PRELUDE + block + GUIDE_CHECK)
    else:
        script = RECIPES / case
    out = tmp_path / "out"
    argv = [a.replace("{out}", str(out)) for a in args]
    options = ["--detect", "--detector-dir", str(tmp_path / "det")] if detect else []
    cmd = [CLI, "run", *options, str(script)]
    env = {**subprocess_env, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run([*cmd, *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "RuntimeWarning: radam_integrations" not in output, output[-4000:]
    assert "circular import" not in output
    assert logged(out, proc.stdout + proc.stderr), output[-4000:]
    own = tmp_path / Path(history_at.replace("{out}", str(out)))  # "out": the guide's, in the cwd
    assert (own / "warmup_history.json").is_file(), sorted(str(p) for p in tmp_path.rglob("*.json"))
    if detect:
        assert "nothing to report" not in output
        history = json.loads((tmp_path / "det" / "warmup_history.json").read_text())
        assert history["records"], history
