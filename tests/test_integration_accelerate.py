"""radam_integrations.integrations.accelerate with real Accelerate objects on the CPU.

DeepSpeed is not installed here. What the DeepSpeed checks are tested on:

* :func:`predict_optimizer_swap` reads real ``accelerate.utils.DeepSpeedPlugin`` configs (they build
  without DeepSpeed) and the recipe's JSON;
* :func:`check_optimizer_kept` unwraps real ``AcceleratedOptimizer`` chains. For a "swap" it is given a
  real optimizer of another class (``torch.optim.Adam``), and, for the DeepSpeed-specific message, a
  torch Adam subclass *named* ``DeepSpeedCPUAdam`` standing in for DeepSpeed's (the check goes by class
  name). That covers our detection and messages, not DeepSpeed's or Accelerate's swap itself: a run
  with DeepSpeed installed is a separate target.

The two-process test launches tests/scripts/accelerate_worker.py.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

pytest.importorskip("accelerate")

from accelerate import Accelerator
from accelerate.optimizer import AcceleratedOptimizer
from accelerate.state import AcceleratorState, GradientState
from accelerate.tracking import GeneralTracker
from accelerate.utils import DeepSpeedPlugin, DistributedType

from radam_integrations import RAdam, WarmupDetector
from radam_integrations.integrations.accelerate import (
    AccelerateWarmupDetector,
    OptimizerSwappedError,
    OptimizerSwappedWarning,
    check_optimizer_kept,
    predict_optimizer_swap,
    radam_kwargs_for,
)
from radam_integrations.optim._fused import fused_kernels_available

from .helpers.accelerate_loop import BETAS
from .helpers.accelerate_loop import batch as _batch
from .helpers.accelerate_loop import model as _model
from .helpers.accelerate_loop import train as _train
from .helpers.compare import same
from .helpers.launch import accelerate_two_processes

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "scripts" / "accelerate_worker.py"


# ---------------------------------------------------------------------- shared pieces
def _reset_accelerate() -> None:
    # Accelerate keeps process-wide singletons; each test starts and ends without them.
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    _reset_accelerate()
    yield
    _reset_accelerate()


class ListTracker(GeneralTracker):
    """A real Accelerate tracker that keeps what ``accelerator.log`` sends it."""

    name = "list"
    requires_logging_directory = False

    def __init__(self) -> None:
        super().__init__()
        self.logged: list[tuple[dict[str, Any], int | None]] = []

    @property
    def tracker(self) -> list:
        return self.logged

    def log(self, values: dict, step: int | None = None, **kwargs: Any) -> None:
        self.logged.append((dict(values), step))


def _close(a: dict[str, float], b: dict[str, float], rel: float) -> list[str]:
    """Keys whose values differ by more than ``rel`` (relative; NaN equals NaN, inf equals inf)."""
    assert a.keys() == b.keys()
    bad = []
    for key, x in a.items():
        y = b[key]
        if x == y or (math.isnan(x) and math.isnan(y)):
            continue
        if not abs(x - y) <= rel * max(abs(x), abs(y), 1e-12):
            bad.append(f"{key}: {x} vs {y}")
    return bad


# ---------------------------------------------------------------------- logging
def test_update_logs_each_evaluation_through_accelerator_log() -> None:
    tracker = ListTracker()
    accelerator = Accelerator(log_with=[tracker])
    accelerator.init_trackers("radam-test")
    model = _model()
    model, optimizer = accelerator.prepare(model, RAdam(model.parameters(), lr=1e-2, betas=BETAS))
    helper = AccelerateWarmupDetector(accelerator, optimizer, every=5, metrics="all")
    got = _train(model, optimizer, helper.update, range(1, 31), backward=accelerator.backward)

    # The same run without Accelerate: the helper changes nothing in the numbers.
    twin = _model()
    twin_opt = RAdam(twin.parameters(), lr=1e-2, betas=BETAS)
    plain = WarmupDetector(twin_opt, every=5)
    expected = _train(twin, twin_opt, plain.update, range(1, 31))

    assert sorted(got) == [1, 2, 4, 8, 10, 15, 20, 25, 30]
    assert same(got, expected)
    assert [step for _, step in tracker.logged] == sorted(got)  # at the optimizer's step count
    # metrics="all": every defined value (NaN/inf, undefined so far, are not sent to trackers)
    finite = {s: {k: v for k, v in m.items() if math.isfinite(v)} for s, m in got.items()}
    assert all(same(values, finite[step]) for values, step in tracker.logged)
    assert "warmup/RAdam/pg0/r_t" in tracker.logged[-1][0]
    assert helper.evaluations == 9 and helper.optimizer_step == 30
    assert helper.history == plain.history


def test_compact_metrics_by_default_and_one_warning_without_a_tracker() -> None:
    tracker = ListTracker()
    accelerator = Accelerator(log_with=[tracker])
    accelerator.init_trackers("radam-test")
    model = _model()
    model, optimizer = accelerator.prepare(model, RAdam(model.parameters(), lr=1e-2, betas=BETAS))
    helper = AccelerateWarmupDetector(accelerator, optimizer, every=5, register=False)
    _train(model, optimizer, helper.update, range(1, 11), backward=accelerator.backward)
    keys = set().union(*(values for values, _ in tracker.logged))
    assert {"warmup/RAdam/noise", "warmup/RAdam/staleness"} <= keys
    compact = ("noise", "staleness", "settled_step", "suggested_warmup_steps")
    assert keys <= {f"warmup/RAdam/{m}" for m in compact}

    _reset_accelerate()
    bare = Accelerator()  # no log_with: accelerator.log would drop everything silently
    model = _model()
    model, optimizer = bare.prepare(model, RAdam(model.parameters(), lr=1e-2, betas=BETAS))
    helper = AccelerateWarmupDetector(bare, optimizer, every=2, register=False)
    with pytest.warns(RuntimeWarning, match="no tracker") as caught:
        _train(model, optimizer, helper.update, range(1, 11), backward=bare.backward)
    assert len([w for w in caught if "no tracker" in str(w.message)]) == 1  # once, not per evaluation
    assert helper.evaluations == 5  # steps 1, 2, 4, 8, 10


def test_update_step_argument_and_log_false() -> None:
    tracker = ListTracker()
    accelerator = Accelerator(log_with=[tracker])
    accelerator.init_trackers("radam-test")
    model = _model()
    optimizer = accelerator.prepare(RAdam(model.parameters(), lr=1e-2, betas=BETAS))
    helper = AccelerateWarmupDetector(accelerator, optimizer, every=5, register=False)
    quiet = AccelerateWarmupDetector(accelerator, optimizer, every=5, log=False, register=False)
    for step in range(1, 3):
        x, y = _batch(step)
        accelerator.backward(((model(x) - y) ** 2).mean())
        optimizer.step()
        optimizer.zero_grad()
        helper.update(step=100 + step)  # e.g. a micro-batch counter
        assert quiet.update() is not None
    assert [step for _, step in tracker.logged] == [101, 102]
    assert accelerator._custom_objects == []  # register=False


def test_raw_optimizer_given_before_prepare_is_followed_after_prepare() -> None:
    accelerator = Accelerator()
    model = _model()
    raw = RAdam(model.parameters(), lr=1e-2, betas=BETAS)
    early = AccelerateWarmupDetector(accelerator, raw, every=5, register=False)
    model, prepared = accelerator.prepare(model, raw)
    assert isinstance(prepared, AcceleratedOptimizer) and prepared.optimizer is raw
    late = AccelerateWarmupDetector(accelerator, prepared, every=5, register=False)

    def both() -> dict[str, float] | None:
        a, b = early.update(), late.update()
        assert same(a, b)
        return a

    got = _train(model, prepared, both, range(1, 21), backward=accelerator.backward)
    assert sorted(got) == [1, 2, 4, 8, 10, 15, 20]
    assert early.detector.optimizer is raw and late.detector.optimizer is raw


# ---------------------------------------------------------------------- checkpointing
def _checkpointed_run(ckpt: Path, *, save_at: int, total: int, resume: bool) -> dict[str, Any]:
    """One process: train to ``total`` (saving at ``save_at``), or resume from ``ckpt`` and train on."""
    _reset_accelerate()
    accelerator = Accelerator()
    # A resumed run starts from other weights: load_state must bring back the saved ones.
    model = _model(seed=123 if resume else 0)
    model, optimizer = accelerator.prepare(model, RAdam(model.parameters(), lr=1e-2, betas=BETAS))
    helper = AccelerateWarmupDetector(accelerator, optimizer, every=2)
    run: dict[str, Any] = {}
    if resume:
        accelerator.load_state(str(ckpt))
        run["loaded"] = (helper.settled_step, helper.evaluations, copy.deepcopy(helper.history))
        run["after"] = _train(
            model, optimizer, helper.update, range(save_at + 1, total + 1), backward=accelerator.backward
        )
    else:
        _train(model, optimizer, helper.update, range(1, save_at + 1), backward=accelerator.backward)
        accelerator.save_state(str(ckpt))
        run["saved"] = (helper.settled_step, helper.evaluations, copy.deepcopy(helper.history))
        run["after"] = _train(
            model, optimizer, helper.update, range(save_at + 1, total + 1), backward=accelerator.backward
        )
    run["final"] = (helper.settled_step, helper.relapses, helper.evaluations, copy.deepcopy(helper.history))
    run["params"] = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return run


def test_save_state_load_state_continue_the_detection_exactly(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    # Saved at 48, in the middle of the settled streak that starts at 46 and is confirmed at 50.
    straight = _checkpointed_run(ckpt, save_at=48, total=70, resume=False)
    assert (ckpt / "custom_checkpoint_0.pkl").is_file()
    resumed = _checkpointed_run(ckpt, save_at=48, total=70, resume=True)

    settled_at_save, evaluations_at_save, _ = straight["saved"]
    assert settled_at_save is None and evaluations_at_save == 24  # steps 1, 2, 4, 8, 10, 12, ..., 48
    assert same(resumed["loaded"], straight["saved"])  # settled step, evaluations, history
    assert same(resumed["after"], straight["after"])  # the continuation, metric by metric
    assert "warmup/RAdam/pg0/drift_mean" in resumed["after"][50]
    assert not math.isnan(resumed["after"][50]["warmup/RAdam/pg0/drift_mean"])  # sample memory came back
    assert same(resumed["final"], straight["final"])
    assert straight["final"][0] == 46  # the streak begun before the checkpoint completed after it
    assert torch.equal(resumed["params"], straight["params"])


def test_checkpoint_file_is_plain_json_safe_data(tmp_path: Path) -> None:
    accelerator = Accelerator()
    model = _model()
    model, optimizer = accelerator.prepare(model, RAdam(model.parameters(), lr=1e-2, betas=BETAS))
    helper = AccelerateWarmupDetector(accelerator, optimizer, every=2)
    _train(model, optimizer, helper.update, range(1, 11), backward=accelerator.backward)
    accelerator.save_state(str(tmp_path))
    saved = torch.load(tmp_path / "custom_checkpoint_0.pkl", weights_only=True)  # builtins only
    assert same(json.loads(json.dumps(saved)), saved)
    assert saved["evaluations"] == helper.evaluations == 5  # steps 1, 2, 4, 8, 10
    assert saved["per_rank_prev_logpsi"] is None  # one process: nothing to gather


# ---------------------------------------------------------------------- report
def test_finish_writes_history_and_plot_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    from radam_integrations.warmup import load_history

    accelerator = Accelerator()
    model = _model()
    model, optimizer = accelerator.prepare(model, RAdam(model.parameters(), lr=1e-2, betas=BETAS))
    helper = AccelerateWarmupDetector(accelerator, optimizer, every=2, log=False)
    _train(model, optimizer, helper.update, range(1, 61), backward=accelerator.backward)
    written = helper.finish(tmp_path / "run")
    assert written == {
        "history": str(tmp_path / "run/warmup_history.json"),
        "plot": str(tmp_path / "run/warmup_history.png"),
    }
    assert (tmp_path / "run/warmup_history.png").stat().st_size > 1000
    assert "settled T" in capsys.readouterr().out  # finish() prints the summary, like the other adapters
    rows = load_history(written["history"])
    assert [r["step"] for r in rows] == [r["step"] for r in helper.history]
    assert helper.settled_step == 46 and helper.suggested_warmup_steps == 92 and helper.relapses == 0
    assert "RAdam" in helper.summary() and "46" in helper.summary()


def test_class_docstring_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The example in AccelerateWarmupDetector's docstring, verbatim (a doctest would leave Accelerate's
    # process-wide state behind for the rest of the suite).
    monkeypatch.chdir(tmp_path)
    accelerator = Accelerator()
    model = torch.nn.Linear(8, 1)
    model, optimizer = accelerator.prepare(model, RAdam(model.parameters(), lr=1e-2))
    detector = AccelerateWarmupDetector(accelerator, optimizer, every=5, log=False)  # no tracker here
    for _ in range(20):
        accelerator.backward(model(torch.randn(16, 8)).pow(2).mean())
        optimizer.step()
        optimizer.zero_grad()
        detector.update()
    assert detector.evaluations == 7
    pytest.importorskip("matplotlib")
    assert sorted(detector.finish("runs/example")) == ["history", "plot"]


# ---------------------------------------------------------------------- DeepSpeed: was RAdam kept?
class DeepSpeedCPUAdam(torch.optim.Adam):
    """Stand-in for ``deepspeed.ops.adam.DeepSpeedCPUAdam`` (not installed here): a torch Adam with that
    class name, which is all the check looks at. It is NOT DeepSpeed's optimizer."""


def test_check_optimizer_kept_passes_for_radam_and_returns_the_stepping_optimizer() -> None:
    accelerator = Accelerator()
    model = _model()
    raw = RAdam(model.parameters(), lr=1e-3)
    model, prepared = accelerator.prepare(model, raw)
    assert check_optimizer_kept(accelerator, prepared) is raw
    assert check_optimizer_kept(accelerator, raw) is raw
    torch_radam = accelerator.prepare(torch.optim.RAdam(_model().parameters()))
    assert isinstance(check_optimizer_kept(accelerator, torch_radam), torch.optim.RAdam)
    adam = accelerator.prepare(torch.optim.Adam(_model().parameters()))
    assert isinstance(check_optimizer_kept(accelerator, adam, expected=torch.optim.Adam), torch.optim.Adam)


def test_check_optimizer_kept_names_another_optimizer_class() -> None:
    # A real AcceleratedOptimizer around a real optimizer of another class, where RAdam was expected.
    accelerator = Accelerator()
    prepared = accelerator.prepare(torch.optim.Adam(_model().parameters()))
    with pytest.raises(OptimizerSwappedError) as info:
        check_optimizer_kept(accelerator, prepared)
    message = str(info.value)
    assert "is Adam (AcceleratedOptimizer -> Adam)" in message
    assert "radam_integrations.optim.radam.RAdam or torch.optim.radam.RAdam" in message
    assert "expected=" in message


def test_check_optimizer_kept_explains_the_deepspeed_cpu_adam_swap() -> None:
    accelerator = Accelerator()
    prepared = accelerator.prepare(DeepSpeedCPUAdam(_model().parameters(), lr=1e-3))
    with pytest.raises(OptimizerSwappedError) as info:
        check_optimizer_kept(accelerator, prepared)
    message = str(info.value)
    for part in (
        "is DeepSpeedCPUAdam (AcceleratedOptimizer -> DeepSpeedCPUAdam)",
        "offloads the optimizer",
        "map_pytorch_optim_to_deepspeed",
        "drops betas, eps, RAdam's rectification",
        '"zero_force_ds_cpu_optimizer": false',
        "slower",
    ):
        assert part in message, part
    with pytest.warns(OptimizerSwappedWarning, match="zero_force_ds_cpu_optimizer"):
        inner = check_optimizer_kept(accelerator, prepared, on_swap="warn")
    assert isinstance(inner, DeepSpeedCPUAdam)


def test_check_optimizer_kept_rejects_bad_arguments() -> None:
    accelerator = Accelerator()
    optimizer = RAdam(_model().parameters())
    with pytest.raises(ValueError, match="on_swap must be"):
        check_optimizer_kept(accelerator, optimizer, on_swap="ignore")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected must be an optimizer class"):
        check_optimizer_kept(accelerator, optimizer, expected="RAdam")  # type: ignore[arg-type]


def test_detector_given_the_replaced_raw_optimizer_says_so() -> None:
    # After a swap, what prepare() returned wraps DeepSpeedCPUAdam and the user's RAdam steps nothing.
    # Simulated with the stand-in: prepared in place of the RAdam handed to the detector.
    accelerator = Accelerator()
    model = _model()
    radam = RAdam(model.parameters(), lr=1e-3)
    helper = AccelerateWarmupDetector(accelerator, radam, register=False)
    accelerator.prepare(DeepSpeedCPUAdam(model.parameters(), lr=1e-3))
    with pytest.raises(
        OptimizerSwappedError, match=r"was given an optimizer that accelerator\.prepare replaced"
    ):
        helper.update()


def test_predict_optimizer_swap_reads_real_deepspeed_plugins() -> None:
    offload = DeepSpeedPlugin(zero_stage=2, offload_optimizer_device="cpu")
    message = predict_optimizer_swap(offload)
    assert message is not None
    assert message.startswith("DeepSpeed will step DeepSpeedCPUAdam instead of your optimizer")
    assert "offload_optimizer.device='cpu'" in message and '"zero_force_ds_cpu_optimizer": false' in message
    assert predict_optimizer_swap(DeepSpeedPlugin(zero_stage=2)) is None  # no offload
    kept = DeepSpeedPlugin(
        hf_ds_config={
            "zero_optimization": {"stage": 2, "offload_optimizer": {"device": "cpu"}},
            "zero_force_ds_cpu_optimizer": False,
        }
    )
    assert kept.offload_optimizer_device == "cpu" and predict_optimizer_swap(kept) is None
    nvme = {"zero_optimization": {"stage": 3, "offload_optimizer": {"device": "nvme"}}}
    assert "device='nvme'" in predict_optimizer_swap(nvme)
    own = DeepSpeedPlugin(hf_ds_config={"zero_optimization": {"stage": 2}, "optimizer": {"type": "AdamW"}})
    assert "DummyOptim" in predict_optimizer_swap(own) and "'AdamW'" in predict_optimizer_swap(own)
    assert predict_optimizer_swap(Accelerator()) is None  # not DeepSpeed
    assert predict_optimizer_swap(AcceleratorState()) is None


def test_predict_optimizer_swap_on_the_recipe_config(tmp_path: Path) -> None:
    recipe = ROOT / "recipes" / "deepspeed_zero2.json"
    config = json.loads(recipe.read_text())
    assert config["zero_optimization"]["stage"] == 2
    assert config["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
    assert predict_optimizer_swap(recipe) is None  # the recipe keeps RAdam ...
    del config["zero_force_ds_cpu_optimizer"]
    assert predict_optimizer_swap(config) is not None  # ... thanks to that one flag
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match="cannot read the DeepSpeed config"):
        predict_optimizer_swap(broken)
    with pytest.raises(TypeError, match="a DeepSpeedPlugin"):
        predict_optimizer_swap(3)


# ---------------------------------------------------------------------- RAdam options per device
DEFAULTS = {"foreach": None, "fused": None, "capturable": False}
XLA = {"foreach": False, "fused": None, "capturable": True}


def test_radam_kwargs_for_a_cpu_accelerator_picks_the_one_pass_step() -> None:
    accelerator = Accelerator()
    assert accelerator.device.type == "cpu"
    kwargs = radam_kwargs_for(accelerator)
    assert kwargs == DEFAULTS
    assert radam_kwargs_for(accelerator.state) == DEFAULTS
    optimizer = RAdam(_model().parameters(), **kwargs)
    assert optimizer.step_path() == ("fused" if fused_kernels_available() else "foreach")


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:1", "mps", "xpu", torch.device("cuda", 0)])
def test_radam_kwargs_for_other_devices_are_the_defaults(device: Any) -> None:
    assert radam_kwargs_for(device) == DEFAULTS


@pytest.mark.parametrize(
    "target",
    [
        "xla",
        "xla:0",
        torch.device("xla"),
        # What an Accelerator reports under torch_xla (not installed here): fed as attributes.
        SimpleNamespace(device=torch.device("cpu"), distributed_type=DistributedType.XLA),
    ],
    ids=["str", "str-index", "torch.device", "DistributedType.XLA"],
)
def test_radam_kwargs_for_xla_is_capturable_without_foreach(target: Any) -> None:
    kwargs = radam_kwargs_for(target)
    assert kwargs == XLA
    # A valid RAdam configuration (checked on CPU tensors): the capturable per-tensor loop, same numbers.
    model, twin = _model(), _model()
    xla_style = RAdam(model.parameters(), lr=1e-2, **kwargs)
    default = RAdam(twin.parameters(), lr=1e-2)
    assert xla_style.step_path() == "single_tensor"
    _train(model, xla_style, lambda: None, range(1, 9))
    _train(twin, default, lambda: None, range(1, 9))
    for a, b in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_radam_kwargs_for_rejects_what_has_no_device() -> None:
    with pytest.raises(TypeError, match=r"has no \.device"):
        radam_kwargs_for(object())


@pytest.mark.process
def test_importing_the_module_does_not_import_accelerate(subprocess_env: dict[str, str]) -> None:
    probe = (
        "import sys, radam_integrations.integrations.accelerate as m; "
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('accelerate', 'deepspeed')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------- two processes
@pytest.mark.slow
@pytest.mark.distributed
def test_two_processes_log_once_match_one_process_and_restore_each_ranks_memory(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    accelerate_two_processes(WORKER, str(tmp_path), env=subprocess_env, home=tmp_path / "hf")
    ranks = [json.loads((tmp_path / f"result_rank{r}.json").read_text()) for r in (0, 1)]
    for rank, result in enumerate(ranks):
        assert (result["rank"], result["world_size"], result["backend"]) == (rank, 2, "gloo")
        assert result["distributed_type"] == "MULTI_CPU"

    # DDP: both ranks compute the same metrics, equal to one process on the whole global batch.
    returned = [{int(k): v for k, v in r["returned"].items()} for r in ranks]
    assert same(returned[0], returned[1])
    model = _model()
    optimizer = RAdam(model.parameters(), lr=1e-2, betas=BETAS)
    single = _train(model, optimizer, WarmupDetector(optimizer, every=2).update, range(1, 21))
    assert sorted(single) == sorted(returned[0]) == [1, 2, 4, 8, 10, 12, 14, 16, 18, 20]
    for step, metrics in single.items():
        assert not _close(metrics, returned[0][step], rel=1e-4), step

    # Logged once, by the main process, at the optimizer's steps.
    lines = [json.loads(x) for x in (tmp_path / "log_rank0.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == sorted(returned[0])
    for x in lines:  # metrics="all": every defined value (undefined ones are not sent to trackers)
        assert same(x["values"], {k: v for k, v in returned[0][x["step"]].items() if math.isfinite(v)})
    assert not (tmp_path / "log_rank1.jsonl").exists()

    # Sharded state through save_state/load_state: rank 0's file carried rank 1's own sample memory.
    assert ranks[0]["memory_at_save"] != ranks[1]["memory_at_save"]
    for result in ranks:
        assert result["memory_after_load"] == result["memory_at_save"]
        assert same(result["resumed"], result["uninterrupted"])
        assert len(result["resumed"]) == 5
        assert all(not math.isnan(m["warmup/RAdam/pg0/drift_mean"]) for m in result["resumed"].values())
