"""The experimental names are registered only when asked for, and then work (each case in a fresh process:
a registration lasts for the life of the process)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("transformers")
pytest.importorskip("timm")

PROBE = textwrap.dedent(
    """
    import json, sys, warnings
    import torch
    import radam_integrations
    from radam_integrations._compat import timm as timm_compat

    def outcome(make):
        try:
            value = make()
        except Exception as err:
            return f"{type(err).__name__}: {err}"
        return type(value).__name__ if not isinstance(value, tuple) else type(value[0]).__name__

    if sys.argv[1] == "experimental":
        from radam_integrations.experimental import register_all
    else:
        from radam_integrations import register_all
    frameworks = register_all()
    from transformers import Trainer, TrainingArguments
    import timm.scheduler
    from timm.optim import create_optimizer_v2

    model = torch.nn.Linear(4, 2)
    args = lambda **kw: TrainingArguments("out", report_to="none", use_cpu=True, **kw)
    print(json.dumps({
        "frameworks": sorted(frameworks),
        "hf_scheduler": outcome(lambda: args(lr_scheduler_type="auto_warmup_cosine").lr_scheduler_type),
        "hf_rectify": outcome(lambda: Trainer(model, args(optim="radamw", optim_args="rectify=measured"))
                              .create_optimizer()),
        "timm_wrapped": getattr(timm.scheduler.create_scheduler_v2, timm_compat.MARK, None) is not None,
        "timm_opt": outcome(lambda: create_optimizer_v2(model, opt="measuredradamw", lr=1e-3)),
        "timm_radam": outcome(lambda: create_optimizer_v2(model, opt="radamw", lr=1e-3)),
    }))
    """
)


def _probe(which: str, env: dict[str, str], tmp_path) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, which], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.process
def test_register_all_leaves_the_experimental_names_out(tmp_path, subprocess_env) -> None:
    seen = _probe("core", subprocess_env, tmp_path)
    assert seen["frameworks"] == ["timm", "transformers"]
    assert re.match(r"ValueError: '?auto_warmup_cosine'? is not a valid SchedulerType", seen["hf_scheduler"])
    assert seen["hf_rectify"] == (
        "ValueError: optim_args: 'rectify' (rectify=measured) is experimental: call "
        "radam_integrations.experimental.register_all() before building the arguments, or run the script "
        "with python -m radam_integrations.experimental"
    )
    assert seen["timm_wrapped"] is False
    assert seen["timm_opt"].startswith("ValueError") and "measuredradamw" in seen["timm_opt"]
    assert seen["timm_radam"] == "RAdam"


@pytest.mark.process
def test_experimental_register_all_adds_them(tmp_path, subprocess_env) -> None:
    seen = _probe("experimental", subprocess_env, tmp_path)
    assert seen["frameworks"] == ["timm", "transformers"]
    assert seen["hf_scheduler"] == "SchedulerType"
    assert seen["hf_rectify"] == "MeasuredRAdam"
    assert seen["timm_wrapped"] is True
    assert seen["timm_opt"] == "MeasuredRAdam" and seen["timm_radam"] == "RAdam"


@pytest.mark.process
def test_the_runners_say_what_they_registered(tmp_path, subprocess_env) -> None:
    """``python -m radam_integrations`` registers RAdam's names; ``-m radam_integrations.experimental``
    the experimental ones too, and its first line says so."""
    script = tmp_path / "names.py"
    script.write_text(
        "from transformers.training_args import OptimizerNames\n"
        "from transformers.trainer_utils import SchedulerType\n"
        "print(sorted(n for n in (m.value for m in OptimizerNames) if n in ('radam', 'radamw')),"
        " [m.value for m in SchedulerType if m.value.startswith('auto_warmup')])\n"
    )
    seen = {}
    for runner in ("radam_integrations", "radam_integrations.experimental"):
        out = subprocess.run([sys.executable, "-m", runner, str(script)], capture_output=True, text=True,
                             env=subprocess_env, cwd=tmp_path, timeout=300)  # fmt: skip
        assert out.returncode == 0, out.stderr[-3000:]
        seen[runner] = (out.stdout.strip(), out.stderr.splitlines()[0])
    plain, experimental = seen["radam_integrations"], seen["radam_integrations.experimental"]
    assert plain[0] == "['radam', 'radamw'] []" and "auto_warmup" not in plain[1]
    assert (
        experimental[0] == "['radam', 'radamw'] ['auto_warmup', 'auto_warmup_linear', 'auto_warmup_cosine']"
    )
    assert "experimental: --lr_scheduler_type auto_warmup*, --optim_args rectify=measured" in experimental[1]
