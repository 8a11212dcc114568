"""DeepSpeed ZeRO 1/2/3 on CPU (``make test-deepspeed``: DeepSpeed lives in its own venv).

Skipped where DeepSpeed is not installed, as in ``make test``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

deepspeed = pytest.importorskip("deepspeed", reason="DeepSpeed is tested by `make test-deepspeed` (own venv)")

pytestmark = [pytest.mark.deepspeed, pytest.mark.distributed, pytest.mark.slow]


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_zero_trains_client_radam_and_detector_counts_padding_out(repo_root, tmp_path, subprocess_env, stage):
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    proc = subprocess.run(
        [*launcher, "-m", "tests.scripts.distributed.deepspeed_script", str(stage), str(tmp_path)],
        cwd=repo_root, env=subprocess_env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    for rank in (0, 1):
        data = json.loads((tmp_path / f"zero{stage}_rank{rank}.json").read_text())
        assert data["world_size"] == 2 and data["backend"] == "gloo"
        assert data["zero"] == ("DeepSpeedZeroOptimizer_Stage3" if stage == 3 else "DeepSpeedZeroOptimizer")
        assert data["base"] == "RAdam"  # the client optimizer was kept
        assert data["param_max_abs_diff"] < 1e-5  # trains like the unsharded run on the global batch
        assert data["sharded"] and data["evaluations"] == 5  # steps 1, 2, 4, 8, 12
        sums = data["sums"][0]
        assert sums["weight"] == data["true_numel"] == 66  # padding not counted
        assert sums["weight_zero_v"] == 0  # ... nor mistaken for never-updated parameters


def test_offload_swap_is_detected(repo_root, tmp_path, subprocess_env):
    """Accelerate + DeepSpeed optimizer offload replaces RAdam by DeepSpeedCPUAdam unless told not to."""
    script = tmp_path / "swap.py"
    script.write_text(
        "import json, sys, torch\n"
        "from accelerate import Accelerator, DeepSpeedPlugin\n"
        "from radam_integrations import RAdam\n"
        "from radam_integrations.integrations.accelerate import (\n"
        "    OptimizerSwappedError, check_optimizer_kept, predict_optimizer_swap)\n"
        "force = sys.argv[1] == 'force'\n"
        "cfg = {'train_micro_batch_size_per_gpu': 2, 'zero_optimization': {'stage': 2,\n"
        "       'offload_optimizer': {'device': 'cpu'}}}\n"
        "if not force: cfg['zero_force_ds_cpu_optimizer'] = False\n"
        "acc = Accelerator(deepspeed_plugin=DeepSpeedPlugin(hf_ds_config=cfg))\n"
        "model = torch.nn.Linear(4, 2)\n"
        "predicted = predict_optimizer_swap(acc)\n"
        "model, opt = acc.prepare(model, RAdam(model.parameters(), lr=1e-3))\n"
        "try:\n"
        "    check_optimizer_kept(acc, opt); kept, msg = True, ''\n"
        "except OptimizerSwappedError as err:\n"
        "    kept, msg = False, str(err)\n"
        "print('RESULT', json.dumps({'predicted': predicted, 'kept': kept, 'message': msg}))\n"
    )
    single = {
        "WORLD_SIZE": "1",
        "RANK": "0",
        "LOCAL_RANK": "0",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29517",
    }
    env = {**subprocess_env, "ACCELERATE_USE_DEEPSPEED": "true", **single}
    results = {}
    for mode in ("force", "keep"):
        proc = subprocess.run([sys.executable, str(script), mode], cwd=repo_root, env=env,
                              capture_output=True, text=True, timeout=900)  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
        results[mode] = json.loads(proc.stdout.split("RESULT", 1)[1].strip().splitlines()[0])
    assert results["force"]["predicted"] and not results["force"]["kept"]
    assert "DeepSpeedCPUAdam" in results["force"]["message"]
    assert "zero_force_ds_cpu_optimizer" in results["force"]["message"]
    assert results["keep"]["predicted"] is None and results["keep"]["kept"]
