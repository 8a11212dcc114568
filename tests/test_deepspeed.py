"""DeepSpeed ZeRO 1/2/3 on CPU (``make test-deepspeed``: DeepSpeed lives in its own venv).

Skipped where DeepSpeed is not installed, as in ``make test``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tests.helpers.launch import torchrun_two_processes

deepspeed = pytest.importorskip("deepspeed", reason="DeepSpeed is tested by `make test-deepspeed` (own venv)")

SCRIPTS = "tests.scripts.distributed."

pytestmark = [pytest.mark.deepspeed, pytest.mark.distributed, pytest.mark.slow]


def two_ranks(script: str, result: str, *args: str, repo_root, tmp_path, env) -> list[dict]:
    """Run ``tests/scripts/distributed/<script>`` on 2 gloo ranks; each rank's JSON (``result`` with
    ``{rank}``), after checking that there were two ranks on gloo."""
    torchrun_two_processes(SCRIPTS + script, *args, str(tmp_path), env=env, cwd=repo_root)
    ranks = [json.loads((tmp_path / result.format(rank=r)).read_text()) for r in (0, 1)]
    for data in ranks:
        assert data["world_size"] == 2 and data["backend"] == "gloo"
    return ranks


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_zero_trains_client_radam_and_detector_counts_padding_out(repo_root, tmp_path, subprocess_env, stage):
    ranks = two_ranks(
        "deepspeed_script", f"zero{stage}_rank{{rank}}.json", str(stage),
        repo_root=repo_root, tmp_path=tmp_path, env=subprocess_env,
    )  # fmt: skip
    for data in ranks:
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


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_autowarmup_from_zero_shards_equals_the_unsharded_run(repo_root, tmp_path, subprocess_env, stage):
    ranks = two_ranks(
        "deepspeed_autowarmup_script", f"autowarmup_zero{stage}_rank{{rank}}.json", str(stage),
        repo_root=repo_root, tmp_path=tmp_path, env=subprocess_env,
    )  # fmt: skip
    for data in ranks:
        results = {**data["routes"], **{k: v for k, v in data.items() if k.startswith("radam_measured")}}
        # DeepSpeed steps its basic optimizer one group (ZeRO-3: one sub-group) at a time. ZeRO-3
        # leaves the groups empty after the step: only the ZeRO optimizer itself can be read, and
        # AutoWarmup on the basic optimizer refuses at the first step. RAdam's in-step measurement
        # sees one part per call: refused.
        refused = {"radam_measured_2groups": "needs all 2 parameter groups"}
        if stage == 3:
            basic_routes = ("callable", "object", "object_2groups")
            refused.update(dict.fromkeys(basic_routes, "AutoWarmup(engine.optimizer)"))
            refused["radam_measured_subgroups"] = "needs all 1 parameter groups"
            assert {"built_subgroups", "radam_measured_subgroups"} <= results.keys()
        for name, result in results.items():
            if name in refused:
                assert refused[name] in result["error"], (name, result)
                continue
            assert "error" not in result, (name, result)
            assert result["sharded"], name  # announced by the wrapper, or found by comparing the ranks
            assert result["param_max_abs_diff"] < 1e-5, name
            first, last = result["reference"][0], result["reference"][-1]
            assert first[0] < 0.5 and set(last) == {1.0}  # a warmup within the run, in every group
            flat = [m for step in result["multipliers"] for m in step]
            assert flat == pytest.approx([m for step in result["reference"] for m in step], rel=1e-5), name
        assert "object_2groups" in results and "built" in results


@pytest.mark.parametrize("stage", [2, 3])
def test_hf_trainer_auto_warmup_under_zero_gives_one_schedule(repo_root, tmp_path, subprocess_env, stage):
    ranks = two_ranks(
        "hf_deepspeed_autowarmup_script", f"hf_ds{stage}_rank{{rank}}.json", str(stage),
        repo_root=repo_root, tmp_path=tmp_path, env=subprocess_env,
    )  # fmt: skip
    for data in ranks:
        assert data["zero"] == ("DeepSpeedZeroOptimizer_Stage3" if stage == 3 else "DeepSpeedZeroOptimizer")
        assert data["sharded"] and data["measured"] == [True, True]  # both of the Trainer's groups
    lrs = ranks[0]["lrs"]
    assert lrs == ranks[1]["lrs"] and len(lrs) == 30
    # After step 1: the prior (c^2 = 2, RAdam's Gaussian case) at t = 2, times the cosine at step 1.
    from radam_integrations import theory

    cosine = [0.5 * (1 + math.cos(math.pi * step / 30)) for step in range(1, 31)]
    assert lrs[0] == pytest.approx(3e-3 * theory.measured_rectification(2.0, 2, 0.999) * cosine[0], rel=1e-6)
    peak = lrs.index(max(lrs))
    assert 3 < peak < 25 and lrs[-1] == 0.0  # a measured rise, then the cosine wins and ends at 0
