"""radam_integrations._compat: every private or undocumented thing of another library we rely on.

One test (or more) per entry, against the real library, so that an upgrade that changes one of
them fails here, loudly, and names the entry; and the fused kernel's fallback, with a simulated
signature change. Entries checked elsewhere with a real run: FSDP1's shard padding
(tests/test_distributed_torch.py, two processes) and DeepSpeed ZeRO's layout
(tests/test_deepspeed.py, ``make test-deepspeed``).
"""

from __future__ import annotations

import copy
import enum
import importlib
import inspect
import pickle
import sys
import warnings
from types import SimpleNamespace

import pytest
import torch

from radam_integrations import RAdam
from radam_integrations._compat import deepspeed as deepspeed_compat
from radam_integrations._compat import enums as enums_compat
from radam_integrations._compat import lightning as lightning_compat
from radam_integrations._compat import torch as torch_compat
from radam_integrations._compat import torch_distributed as dist_compat
from radam_integrations._compat import wrappers as wrappers_compat
from radam_integrations.warmup import unwrap_optimizer
from radam_integrations.warmup.unwrap import WRAPPER_ATTRIBUTES

from .helpers.problems import flat_params, tiny_model, train


def installed(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------- torch: the fused kernels
@pytest.fixture
def fresh_fused_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fused kernels not checked yet in this process, and no warning given yet."""
    monkeypatch.setattr(torch_compat, "_fused_state", torch_compat._FusedState())


def adam_state(p: torch.Tensor, m: torch.Tensor, v: torch.Tensor, step: float) -> dict:
    return {"step": torch.tensor(step), "exp_avg": m.clone(), "exp_avg_sq": v.clone()}


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("maximize", [False, True])
def test_fused_kernel_takes_our_call_and_gives_torchs_adam(decoupled: bool, maximize: bool) -> None:
    """The keywords we pass are still accepted and mean what torch.optim.Adam(W) means by them."""
    assert torch_compat.fused_adam_present(), "torch lost its fused Adam kernels: update _compat/torch.py"
    gen = torch.Generator().manual_seed(0)
    p, g, m = (torch.randn(7, generator=gen, dtype=torch.float64) for _ in range(3))
    v = torch.rand(7, generator=gen, dtype=torch.float64)
    hyper = {"lr": 0.01, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1, "maximize": maximize}
    ref = torch.nn.Parameter(p.clone())
    ref.grad = g.clone()
    adam = (torch.optim.AdamW if decoupled else torch.optim.Adam)([ref], foreach=False, **hyper)
    adam.state[ref] = adam_state(ref, m, v, 4.0)  # the step about to be taken is the 5th
    adam.step()

    params, exp_avgs, exp_avg_sqs = [p.clone()], [m.clone()], [v.clone()]
    done = torch_compat.fused_adam_step(
        params, [g.clone()], exp_avgs, exp_avg_sqs, torch.full((), 5.0),
        lr=0.01, beta1=0.8, beta2=0.95, weight_decay=0.1, eps=1e-6, maximize=maximize, decoupled=decoupled,
    )  # fmt: skip
    assert done
    torch.testing.assert_close(params[0], ref.detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(exp_avgs[0], adam.state[ref]["exp_avg"], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(exp_avg_sqs[0], adam.state[ref]["exp_avg_sq"], rtol=1e-12, atol=1e-14)


def test_fused_kernel_passes_the_one_time_check(fresh_fused_state) -> None:
    assert torch_compat._probe() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch_compat.fused_adam_usable()


class ChangedSignature:
    """Stands in for a fused kernel whose signature changed: torch's argument parser refuses the call."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args, new_required_option, **kwargs) -> None:
        self.calls += 1


def _fused_fallback_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "one-pass step is off" in str(w.message)]


@pytest.mark.parametrize("decoupled", [False, True])
def test_kernel_refusing_the_call_mid_training_falls_back_once(
    monkeypatch: pytest.MonkeyPatch, fresh_fused_state, decoupled: bool
) -> None:
    """The check passed, then the kernel refuses the call: one warning, every step applied exactly once."""
    assert torch_compat.fused_adam_usable()  # the one-time check passes: the failure comes at a step
    changed = ChangedSignature()
    monkeypatch.setattr(torch, torch_compat.FUSED_KERNELS[decoupled], changed)
    kwargs = {"lr": 1e-2, "weight_decay": 0.05, "decoupled_weight_decay": decoupled}
    model, reference = tiny_model(torch.float32), tiny_model(torch.float32)
    opt = RAdam(model.parameters(), **kwargs)  # fused=None: the one-pass step is chosen
    ref_opt = RAdam(reference.parameters(), foreach=True, **kwargs)
    assert opt.step_path() == "fused"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(1, 11):  # steps 1-5 are unrectified (foreach path); 6 is the first kernel call
            train(model, opt, 1, data_seed=step)
            train(reference, ref_opt, 1, data_seed=step)
            assert torch.equal(flat_params(model), flat_params(reference)), f"step {step}"
            for p in model.parameters():
                assert opt.state[p]["step"].item() == step
    assert changed.calls == 0  # torch's parser refuses before the kernel runs: the stand-in never ran
    assert len(_fused_fallback_warnings(caught)) == 1, [str(w.message) for w in caught]
    assert "refused the call" in _fused_fallback_warnings(caught)[0]
    assert opt.step_path() == "foreach"
    assert not torch_compat.fused_adam_usable()


def test_kernel_call_counts_show_one_refused_call_then_none(monkeypatch, fresh_fused_state) -> None:
    """After the refused call no step tries the kernel again (the process is on the foreach step)."""
    assert torch_compat.fused_adam_usable()
    attempts = []

    def refusing(*args, **kwargs):
        attempts.append(1)
        raise TypeError("_fused_adam_() received an invalid combination of arguments")

    monkeypatch.setattr(torch, torch_compat.FUSED_KERNELS[False], refusing)
    model = tiny_model(torch.float32)
    opt = RAdam(model.parameters(), lr=1e-2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(model, opt, 12)
    assert len(attempts) == 1
    assert len(_fused_fallback_warnings(caught)) == 1


@pytest.mark.parametrize("fused", [None, True])
def test_kernel_failing_the_one_time_check_is_never_called_in_a_step(
    monkeypatch: pytest.MonkeyPatch, fresh_fused_state, fused
) -> None:
    """A changed kernel caught up front: one warning at the first step, the foreach numbers throughout."""
    monkeypatch.setitem(torch_compat._PROBE_KERNELS, False, ChangedSignature())
    step_calls = []
    real = torch._fused_adam_
    monkeypatch.setattr(torch, "_fused_adam_", lambda *a, **k: step_calls.append(1) or real(*a, **k))
    model, reference = tiny_model(torch.float32), tiny_model(torch.float32)
    opt = RAdam(model.parameters(), lr=1e-2, fused=fused)  # fused=True is still accepted: torch has it
    ref_opt = RAdam(reference.parameters(), lr=1e-2, foreach=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(model, opt, 10)
        train(reference, ref_opt, 10)
    assert torch.equal(flat_params(model), flat_params(reference))
    assert step_calls == []
    assert len(_fused_fallback_warnings(caught)) == 1
    assert opt.step_path() == "foreach"


def test_kernel_computing_something_else_fails_the_one_time_check(monkeypatch, fresh_fused_state) -> None:
    """Same signature, other meaning (here: eps ignored) is caught by the numbers."""
    real = torch_compat._PROBE_KERNELS[True]
    monkeypatch.setitem(torch_compat._PROBE_KERNELS, True, lambda *a, eps, **k: real(*a, eps=0.0, **k))
    with pytest.warns(RuntimeWarning, match="no longer computes Adam's step"):
        assert not torch_compat.fused_adam_usable()


# ---------------------------------------------------------------------- torch: multi-tensor helpers
def _grouping_input() -> list[list[torch.Tensor]]:
    dtypes = (torch.float32, torch.float64, torch.float32, torch.float64)
    params = [torch.zeros(n, dtype=d) for n, d in zip((2, 3, 4, 1), dtypes)]
    grads = [torch.ones_like(p) for p in params]
    steps = [torch.tensor(0.0) for _ in params]  # CPU float32 scalars, as in the state: not the key
    return [params, grads, steps]


def _check_grouping(grouped, lists, *, with_indices: bool) -> None:
    """``{(device, dtype): (lists restricted to the group, indices)}``; we index the lists only."""
    assert isinstance(grouped, dict)
    cpu = torch.device("cpu")
    assert set(grouped) == {(cpu, torch.float32), (cpu, torch.float64)}
    for dtype, expected in ((torch.float32, [0, 2]), (torch.float64, [1, 3])):
        group_lists, indices = grouped[(cpu, dtype)]
        assert list(indices) == (expected if with_indices else [])
        assert len(group_lists) == len(lists)
        for got, source in zip(group_lists, lists):
            assert len(got) == len(expected) and all(g is source[i] for g, i in zip(got, expected))


def test_torchs_grouping_returns_the_structure_we_index() -> None:
    assert hasattr(torch.optim.Optimizer, "_group_tensors_by_device_and_dtype")
    lists = _grouping_input()
    _check_grouping(torch_compat.group_by_device_and_dtype(lists), lists, with_indices=False)


def test_python_grouping_matches_torchs() -> None:
    lists = _grouping_input()
    _check_grouping(torch_compat._group_in_python(lists), lists, with_indices=True)


def test_device_lists_and_tensor_types() -> None:
    foreach = torch_compat.foreach_supported_devices()
    assert isinstance(foreach, list) and "cuda" in foreach and "cpu" not in foreach
    assert {"cpu", "cuda"} <= torch_compat.fused_supported_devices()
    types = torch_compat.foreach_tensor_types()
    assert torch.Tensor in types and torch.nn.Parameter in types


# ---------------------------------------------------------------------- torch.distributed
@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without torch.distributed")
def test_dtensor_is_recognised_on_a_one_rank_gloo_mesh() -> None:
    import torch.distributed as dist

    from radam_integrations.warmup.reduce import local_flat, state_is_sharded

    try:  # torch >= 2.5: public
        from torch.distributed.tensor import DTensor, Shard, distribute_tensor
    except ImportError:  # torch 2.4
        from torch.distributed._tensor import DTensor, Shard, distribute_tensor
    from torch.distributed.device_mesh import DeviceMesh

    assert dist_compat.dtensor_class() is DTensor
    assert DTensor in torch_compat.foreach_tensor_types()  # registered by importing it
    assert not dist.is_initialized()
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        mesh = DeviceMesh("cpu", [0])
        dt = distribute_tensor(torch.arange(6.0), mesh, [Shard(0)])
        assert dist_compat.is_dtensor(dt) and not dist_compat.is_dtensor(dt.to_local())
        assert torch.equal(local_flat(dt), torch.arange(6.0))
        param = torch.nn.Parameter(dt)
        assert dist_compat.is_dtensor(param)
        assert state_is_sharded(torch.optim.Adam([param]))
    finally:
        dist.destroy_process_group()


def test_plain_tensors_are_neither_dtensor_nor_flat_param() -> None:
    t = torch.nn.Parameter(torch.zeros(3))
    assert not dist_compat.is_dtensor(t) and not dist_compat.is_flat_param(t)
    assert dist_compat.flat_param_padding(t) == 0


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without torch.distributed")
def test_fsdp1_flat_parameter_is_recognised_and_padding_read_where_torch_keeps_it() -> None:
    from torch.distributed.fsdp import FlatParameter

    # FSDP1 marks its flat parameters with this flag; FlatParameter's metaclass turns it into isinstance.
    flagged = torch.nn.Parameter(torch.zeros(5))
    flagged._is_flat_param = True
    flagged._shard_numel_padded = 2
    assert isinstance(flagged, FlatParameter)
    assert dist_compat.is_flat_param(flagged) and dist_compat.flat_param_padding(flagged) == 2
    # Where FSDP1 keeps the shard padding (the two-process run in test_distributed_torch reads it).
    assert "_shard_numel_padded" in FlatParameter.__annotations__


# ---------------------------------------------------------------------- DeepSpeed ZeRO (stand-ins)
def test_zero_layout_stage_1_2() -> None:
    flat = torch.zeros(8)
    zero = SimpleNamespace(groups_padding=[3], optimizer=None)
    assert deepspeed_compat.is_zero_optimizer(zero) and not deepspeed_compat.is_zero_optimizer(object())
    layout = deepspeed_compat.ZeroLayout(zero)
    assert not layout.stage3
    assert layout.group_tensors(0, {"params": [flat]}) == [flat]
    assert layout.padding(0, flat) == 3 and layout.padding(1, flat) == 0


def test_zero_layout_stage_3() -> None:
    flats = [torch.zeros(7), torch.zeros(4)]
    zero = SimpleNamespace(
        groups_padding=[[1, 0], [2]],
        fp32_partitioned_groups_flat=flats,
        fp16_partitioned_groups=[[torch.zeros(4), torch.zeros(3)], [torch.zeros(4)]],
        sub_group_to_group_id={0: 0, "1": 1},
    )
    layout = deepspeed_compat.ZeroLayout(zero)
    assert layout.stage3
    assert layout.group_tensors(0, {"params": []}) == [flats[0]]
    assert layout.group_tensors(1, {"params": []}) == [flats[1]]
    assert layout.padding(0, flats[0]) == [(0, 3), (4, 3)]
    assert layout.padding(1, flats[1]) == [(0, 2)]


def test_zero_layout_refuses_a_stage_3_optimizer_it_does_not_know() -> None:
    zero = SimpleNamespace(groups_padding=[[0]], fp32_partitioned_groups_flat=[torch.zeros(1)])
    with pytest.raises(RuntimeError, match="fp16_partitioned_groups"):
        deepspeed_compat.ZeroLayout(zero)


# ---------------------------------------------------------------------- Accelerate
@pytest.fixture
def fresh_accelerate():
    pytest.importorskip("accelerate")
    from accelerate.state import AcceleratorState, GradientState

    def reset() -> None:  # Accelerate keeps process-wide singletons (as in test_integration_accelerate)
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()

    reset()
    yield
    reset()


def test_accelerate_keeps_prepared_optimizers_where_we_read_them(fresh_accelerate) -> None:
    from accelerate import Accelerator

    from radam_integrations._compat import accelerate as accelerate_compat

    accelerator = Accelerator()
    assert accelerate_compat.prepared_optimizers(accelerator) == []
    model = torch.nn.Linear(4, 2)
    raw = RAdam(model.parameters(), lr=1e-3)
    model, prepared = accelerator.prepare(model, raw)
    assert [id(o) for o in accelerate_compat.prepared_optimizers(accelerator)] == [id(prepared)]
    assert prepared.optimizer is raw  # the Accelerate row of the wrapper table
    assert unwrap_optimizer(prepared) == (raw, None)


def test_accelerate_and_fabric_lists_missing_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """An Accelerate or Fabric that moved its list: nothing found (one warning for Accelerate), no error."""
    from radam_integrations._compat import accelerate as accelerate_compat

    monkeypatch.setattr(accelerate_compat, "_warned_no_list", False)
    with pytest.warns(RuntimeWarning, match="Accelerator._optimizers") as caught:
        assert accelerate_compat.prepared_optimizers(SimpleNamespace()) == []
        assert accelerate_compat.prepared_optimizers(SimpleNamespace()) == []
    assert len(caught) == 1
    assert lightning_compat.fabric_callbacks(SimpleNamespace()) == []


def test_accelerate_swaps_offloaded_optimizers_by_the_rule_we_mirror() -> None:
    """Accelerate's own code still has the condition (and the function) _compat/accelerate.py mirrors."""
    pytest.importorskip("accelerate")
    from accelerate import Accelerator
    from accelerate.utils import deepspeed as accelerate_deepspeed

    from radam_integrations._compat import accelerate as accelerate_compat

    source = inspect.getsource(Accelerator._prepare_deepspeed)
    assert "map_pytorch_optim_to_deepspeed(optimizer)" in source
    assert '"offload_optimizer", {}' in source and '"device", "none"' in source
    assert '"zero_force_ds_cpu_optimizer", True' in source
    mapping = inspect.getsource(accelerate_deepspeed.map_pytorch_optim_to_deepspeed)
    assert all(name in mapping for name in accelerate_compat.DEEPSPEED_CPU_OPTIMIZERS)
    offload = {"zero_optimization": {"offload_optimizer": {"device": "cpu"}}}
    assert accelerate_compat.swaps_client_optimizer(offload)
    assert not accelerate_compat.swaps_client_optimizer({**offload, "zero_force_ds_cpu_optimizer": False})
    assert not accelerate_compat.swaps_client_optimizer({"zero_optimization": {"stage": 2}})
    assert accelerate_compat.offload_device({"zero_optimization": {"stage": 3}}) == "none"


# ---------------------------------------------------------------------- Lightning
TRAINER_PACKAGES = [m for m in lightning_compat.TRAINER_PACKAGES if installed(m)]
FABRIC_PACKAGES = [m for m in ("lightning.fabric", "lightning_fabric") if installed(m)]


@pytest.mark.skipif(not TRAINER_PACKAGES, reason="no Lightning package installed")
def test_one_callback_is_a_callback_of_every_installed_lightning() -> None:
    from radam_integrations.integrations.lightning import WarmupDetectorCallback

    bases = lightning_compat.trainer_callback_bases()
    assert [b.__module__.split(".callbacks")[0] for b in bases] == TRAINER_PACKAGES
    callback = WarmupDetectorCallback()
    for package in TRAINER_PACKAGES:
        assert isinstance(callback, importlib.import_module(package).Callback), package
        assert callback.state_key == "WarmupDetectorCallback"


class RecordingCallback:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def on_after_setup(self, **kwargs) -> None:
        self.calls.append(("on_after_setup", kwargs))

    def on_after_optimizer_step(self, **kwargs) -> None:
        self.calls.append(("on_after_optimizer_step", kwargs))


@pytest.mark.parametrize("package", FABRIC_PACKAGES)
def test_fabric_keeps_its_callbacks_and_calls_the_hooks_we_implement(package: str) -> None:
    fabric_pkg = importlib.import_module(package)
    recorder = RecordingCallback()
    fabric = fabric_pkg.Fabric(accelerator="cpu", devices=1, callbacks=[recorder])
    assert any(cb is recorder for cb in lightning_compat.fabric_callbacks(fabric))
    model = torch.nn.Linear(3, 1)
    raw = RAdam(model.parameters(), lr=1e-2)
    model, optimizer = fabric.setup(model, raw)
    fabric.backward(model(torch.randn(4, 3)).sum())
    optimizer.step()
    assert [name for name, _ in recorder.calls] == list(lightning_compat.FABRIC_HOOKS)
    (_, setup), (_, stepped) = recorder.calls
    assert setup["fabric"] is fabric and "module" in setup
    assert stepped["optimizer"] is raw and "strategy" in stepped
    assert optimizer.optimizer is raw and optimizer._optimizer is raw  # the Lightning rows of the table
    assert unwrap_optimizer(optimizer)[0] is raw


@pytest.mark.skipif(not installed("lightning.pytorch"), reason="lightning not installed")
def test_lightning_cli_configure_optimizers_is_recognised(tmp_path, monkeypatch) -> None:
    pytest.importorskip("jsonargparse")
    import lightning.pytorch as pl
    from lightning.pytorch.cli import LightningCLI
    from lightning.pytorch.core.optimizer import LightningOptimizer

    class Regression(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(3, 1)

    args = ["--optimizer", "radam_integrations.RAdam", "--trainer.logger", "false",
            "--trainer.enable_checkpointing", "false", f"--trainer.default_root_dir={tmp_path}"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["cli"])  # pytest's own arguments are not the CLI's
    cli = LightningCLI(Regression, args=args, run=False, save_config_callback=None)
    assert lightning_compat.configure_optimizers_from_cli(cli.model)
    assert not lightning_compat.configure_optimizers_from_cli(Regression())
    raw = torch.optim.Adam(cli.model.parameters())
    assert LightningOptimizer(raw).optimizer is raw and LightningOptimizer(raw)._optimizer is raw


# ---------------------------------------------------------------------- timm
def test_timm_registry_and_lookahead() -> None:
    pytest.importorskip("timm")
    from timm.optim import Lookahead, OptimInfo

    from radam_integrations._compat import timm as timm_compat

    registry = timm_compat.optimizer_registry()
    assert timm_compat.get_row(registry, "adamw").opt_class is torch.optim.AdamW
    assert timm_compat.optim_info_class() is OptimInfo
    assert importlib.import_module(timm_compat.REGISTRY_MODULE).default_registry is registry
    base = RAdam(torch.nn.Linear(2, 2).parameters())
    lookahead = Lookahead(base)
    assert getattr(lookahead, timm_compat.LOOKAHEAD_BASE_ATTRIBUTE) is base
    assert unwrap_optimizer(lookahead)[0] is base


def test_timm_scheduler_factory_is_where_we_wrap_it() -> None:
    pytest.importorskip("timm")
    import timm.scheduler

    from radam_integrations._compat import timm as timm_compat
    from radam_integrations.experimental import timm_schedules

    timm_schedules.register()  # through wrap_scheduler_factory
    factory = importlib.import_module(timm_compat.SCHEDULER_FACTORY_MODULE)
    wrapper = factory.create_scheduler_v2
    original = getattr(wrapper, timm_compat.MARK)
    assert original.__module__ == timm_compat.SCHEDULER_FACTORY_MODULE  # timm's function, defined there
    assert timm.scheduler.create_scheduler_v2 is wrapper  # the package's re-export follows
    # create_scheduler (v1) reaches it through the module's globals; "none" builds no scheduler
    assert factory.create_scheduler.__globals__ is vars(factory)
    optimizer = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters())
    assert original(optimizer, sched="none", num_epochs=3, warmup_epochs=0)[0] is None


# ---------------------------------------------------------------------- the wrapper table
def test_wrapper_table_is_what_the_detector_follows() -> None:
    assert WRAPPER_ATTRIBUTES == ("optimizer", "_optimizer", "base_optimizer", "_base_optimizer")
    assert {w.attribute for w in wrappers_compat.WRAPPERS} == set(WRAPPER_ATTRIBUTES)
    assert all(w.checked for w in wrappers_compat.WRAPPERS)


# ---------------------------------------------------------------------- CPython enum, transformers
class Names(str, enum.Enum):  # module level, so that its members pickle
    ADAM = "adam"


def test_str_enum_member_added_as_if_in_the_class_body() -> None:
    member = enums_compat.add_str_enum_member(Names, "RADAM", "radam")
    assert Names("radam") is member and Names["RADAM"] is member and Names.RADAM is member
    assert list(Names) == [Names.ADAM, member] and member == "radam" and member.name == "RADAM"
    assert "radam" in [m.value for m in Names] and member in Names
    assert pickle.loads(pickle.dumps(member)) is member
    assert enums_compat.add_str_enum_member(Names, "RADAM", "radam") is member  # idempotent
    with pytest.raises(RuntimeError, match="already exists"):
        enums_compat.add_str_enum_member(Names, "ADAM", "other")


def test_transformers_internals_we_patch_are_still_there() -> None:
    pytest.importorskip("transformers")
    from transformers import Trainer, TrainerState, TrainingArguments
    from transformers import trainer as trainer_module
    from transformers.training_args import OptimizerNames

    from radam_integrations._compat import transformers as transformers_compat

    assert all(hasattr(OptimizerNames, name) for name in enums_compat.REQUIRED)
    assert issubclass(OptimizerNames, str)
    assert "__post_init__" in TrainingArguments.__dict__
    assert isinstance(inspect.getattr_static(Trainer, "get_optimizer_cls_and_kwargs"), staticmethod)
    assert callable(Trainer.__dict__["log"])
    assert isinstance(trainer_module.DEFAULT_CALLBACKS, list)
    assert isinstance(TrainerState().stateful_callbacks, dict)
    assert trainer_module.__name__ == transformers_compat.TRAINER_MODULE
    # patch 11: the run's length is create_scheduler's first argument
    assert list(inspect.signature(Trainer.create_scheduler).parameters)[:3] == [
        "self",
        "num_training_steps",
        "optimizer",
    ]
    # patch 7: SchedulerType is a closed str Enum, get_scheduler looks factories up in a module dict
    import importlib

    from transformers.trainer_utils import SchedulerType

    optimization = importlib.import_module(transformers_compat.OPTIMIZATION_MODULE)
    assert issubclass(SchedulerType, str) and all(hasattr(SchedulerType, n) for n in enums_compat.REQUIRED)
    assert isinstance(optimization.TYPE_TO_SCHEDULER_FUNCTION, dict)
    assert "TYPE_TO_SCHEDULER_FUNCTION[name]" in inspect.getsource(optimization.get_scheduler)


def test_no_lookup_changes_numbers_of_the_default_path() -> None:
    """The fused path through _compat still gives torch's RAdam within the one-pass step's tolerance."""
    model = tiny_model(torch.float32)
    theirs = copy.deepcopy(model)
    train(model, RAdam(model.parameters(), lr=1e-2), 12)
    train(theirs, torch.optim.RAdam(theirs.parameters(), lr=1e-2, foreach=True), 12)
    rel = ((flat_params(model) - flat_params(theirs)).norm() / flat_params(theirs).norm()).item()
    assert rel < 1e-6


def _created_with_checks(after_first: bool) -> list[tuple]:
    """A Trainer-like class with patch 9's and patch 11's checks on ``create_scheduler``, each
    installed twice in the given order; the calls one ``create_scheduler(12, optimizer="opt")`` makes."""
    from radam_integrations._compat import transformers as transformers_compat

    calls: list[tuple] = []

    class Trainer:
        def create_scheduler(self, num_training_steps: int, optimizer: object = None) -> str:
            calls.append(("create", num_training_steps))
            return "scheduler"

    def before(trainer: object) -> None:
        calls.append(("before",))

    def after(trainer: object, num_training_steps: int, optimizer: object = None) -> None:
        calls.append(("after", num_training_steps, optimizer))

    installs = [
        lambda: transformers_compat.after_create_scheduler(Trainer, after),
        lambda: transformers_compat.check_before_create(Trainer, "create_scheduler", before),
    ]
    for install in (installs if after_first else installs[::-1]) * 2:  # twice: idempotent
        install()
    assert Trainer().create_scheduler(12, optimizer="opt") == "scheduler"
    return calls


@pytest.mark.parametrize("after_first", [True, False])
def test_checks_before_and_after_one_method_compose_and_stay_single(after_first: bool) -> None:
    """Patch 9's checks run before the call with the Trainer only, patch 11's after it with the
    call's own arguments; in either order of installation, each check runs once per call."""
    assert _created_with_checks(after_first) == [("before",), ("create", 12), ("after", 12, "opt")]
