"""The runner: scripts nobody here wrote, run unmodified with RAdam registered (and --detect)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.process  # every test here launches the runner

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "scripts"
BIN = Path(sys.executable).parent
CLI = str(BIN / "radam-integrations")

ENTRY_POINTS = {
    "console": [CLI, "run"],
    "-m radam_integrations": [sys.executable, "-m", "radam_integrations"],
    "-m radam_integrations.hf": [sys.executable, "-m", "radam_integrations.hf"],
    "-m radam_integrations.integrations.timm": [sys.executable, "-m", "radam_integrations.integrations.timm"],
}
#: Older spellings: they still work for a release, with a DeprecationWarning.
DEPRECATED = {"-m radam_integrations.hf", "-m radam_integrations.integrations.timm"}


def own_lines(entry: str, stderr: str) -> list[str]:
    """stderr's lines, less a deprecated spelling's warning (which must be there)."""
    lines = stderr.strip().splitlines()
    if entry not in DEPRECATED:
        return lines
    said = "DeprecationWarning: `python -m radam_integrations."
    warned = [i for i, line in enumerate(lines) if said in line]
    assert len(warned) == 1 and "use `python -m radam_integrations SCRIPT`" in lines[warned[0]], stderr
    source = warned[0] + 1  # the line of code the warning points at
    return [line for i, line in enumerate(lines) if i not in (warned[0], source)]


PROBE = textwrap.dedent(
    """
    import json, sys
    import sibling
    print(json.dumps({"argv": sys.argv, "path0": sys.path[0], "name": __name__,
                      "file": __file__, "sibling": sibling.VALUE}))
    sys.exit(int(sys.argv[-1]))
    """
)


def run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "sibling.py").write_text("VALUE = 42\n")
    (folder / "probe.py").write_text(PROBE)
    return folder / "probe.py"


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_runs_the_script_exactly_as_python_would(
    entry: str, probe: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    args = ["--flag", "value", "7"]
    direct = run([sys.executable, str(probe), *args], subprocess_env, tmp_path)
    ours = run([*ENTRY_POINTS[entry], str(probe), *args], subprocess_env, tmp_path)
    assert direct.returncode == ours.returncode == 7, ours.stderr
    assert json.loads(ours.stdout.splitlines()[-1]) == json.loads(direct.stdout.splitlines()[-1])
    own_lines(entry, ours.stderr)  # a deprecated spelling says so


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.py"], "missing.py: no such file"),
        (["."], ".: a folder, not a script"),
        ([], "no script given"),
        (["--bogus", "x.py"], "unknown option '--bogus' before the script"),
        (["--detector-dir"], "--detector-dir needs a folder"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(
    entry: str, argv: list[str], message: str, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    result = run([*ENTRY_POINTS[entry], *argv], subprocess_env, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = own_lines(entry, result.stderr)
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_help_exits_0(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    result = run([CLI, "run", "--help"], subprocess_env, tmp_path)
    assert result.returncode == 0 and "--detect" in result.stdout and "--detector-dir" in result.stdout


def test_frameworks_are_registered_only_when_the_script_imports_them(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    script = tmp_path / "lazy.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, sys
            before = sorted(m for m in ("transformers", "timm") if m in sys.modules)
            import torch
            from timm.optim import create_optimizer_v2
            opt = create_optimizer_v2(torch.nn.Linear(2, 2), opt="radam", lr=1e-3)
            print(json.dumps({"before": before, "class": type(opt).__module__,
                              "transformers": "transformers" in sys.modules}))
            """
        )
    )
    result = run([CLI, "run", str(script)], subprocess_env, tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen == {"before": [], "class": "radam_integrations.optim.radam", "transformers": False}


@pytest.mark.slow
def test_hf_argparser_script_takes_optim_radam_unmodified(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    script = SCRIPTS / "hf_argparser_train.py"
    common = [
        "--output_dir", str(tmp_path / "out"), "--max_steps", "3", "--per_device_train_batch_size", "4",
        "--report_to", "none", "--use_cpu", "--save_strategy", "no", "--disable_tqdm", "true",
    ]  # fmt: skip
    env = {**subprocess_env, "HF_HUB_OFFLINE": "1"}
    # Without the runner the script's own parser refuses the name: what users hit today.
    direct = run([sys.executable, str(script), *common, "--optim", "radam"], env, tmp_path)
    assert direct.returncode == 2 and "invalid choice: 'radam'" in direct.stderr
    result_file = tmp_path / "result.json"
    ours = run(
        [CLI, "run", str(script), *common, "--optim", "radam", "--optim_args", "threshold=4",
         "--result_file", str(result_file)],
        env, tmp_path,
    )  # fmt: skip
    assert ours.returncode == 0, ours.stderr[-3000:]
    seen = json.loads(result_file.read_text())
    assert seen["class"] == "radam_integrations.optim.radam.RAdam"
    assert seen["threshold"] == 4.0 and seen["decoupled_weight_decay"] is False
    # transformers' defaults (adam_beta2 0.999, linear decay, no warmup): before the first step the
    # runner says once what the decay does to RAdam's rectification, with no detector attached
    said = [line for line in ours.stdout.splitlines() if "RAdam's steps run below half" in line]
    assert len(said) == 1 and said[0].startswith("radam-integrations: beta2=0.999, 3 steps, linear decay:")
    assert said[0].endswith("See `radam-integrations schedule --beta2 0.999 --steps 3 --decay linear`.")


@pytest.mark.slow
def test_timm_style_script_with_a_sibling_import(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    result_file = tmp_path / "result.json"
    script = SCRIPTS / "timm_style" / "train.py"
    ours = run(
        [CLI, "run", str(script), "--opt", "radamw", "--steps", "3", "--result", str(result_file),
         "--exit-code", "5"],
        subprocess_env, tmp_path,
    )  # fmt: skip
    assert ours.returncode == 5, ours.stderr[-3000:]
    seen = json.loads(result_file.read_text())
    assert seen["class"] == "radam_integrations.optim.radam.RAdam"
    assert seen["world_size"] == 1 and seen["argv0"] == str(script) and seen["path0"] == str(script.parent)


def _strict(text: str):
    def refuse(token: str):
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.slow
@pytest.mark.distributed
def test_torchrun_with_detect_registers_on_every_rank_and_reports_once(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    result_file = tmp_path / "result.json"
    cmd = [
        str(BIN / "torchrun"), "--standalone", "--nproc_per_node", "2", "-m", "radam_integrations",
        "--detect", "--detector-dir", str(tmp_path / "warmup"), str(SCRIPTS / "timm_style" / "train.py"),
        "--opt", "radam", "--steps", "60", "--result", str(result_file),
    ]  # fmt: skip
    result = run(cmd, subprocess_env, tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result_file.read_text())
    assert seen["world_size"] == 2 and seen["backend"] == "gloo"
    assert seen["class"] == "radam_integrations.optim.radam.RAdam"
    assert result.stdout.count("settled T") == 1  # the summary table, from rank 0 only
    history = _strict((tmp_path / "warmup" / "warmup_history.json").read_text())
    assert {r["optimizer"] for r in history["records"]} == {"RAdam"}
    assert [r["step"] for r in history["records"] if r["group"] == "pg0"][:5] == [1, 2, 4, 8, 10]
    assert {r["group"] for r in history["records"]} == {"pg0", "pg1"}  # timm's decay / no-decay groups
    assert (tmp_path / "warmup" / "warmup_history.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.distributed
def test_accelerate_launch_runs_the_runner_module(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    result_file = tmp_path / "result.json"
    env = {**subprocess_env, "ACCELERATE_USE_CPU": "1"}
    cmd = [
        str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "radam_integrations",
        str(SCRIPTS / "timm_style" / "train.py"), "--opt", "radam", "--steps", "3",
        "--result", str(result_file),
    ]  # fmt: skip
    result = run(cmd, env, tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result_file.read_text())
    assert seen["world_size"] == 2 and seen["backend"] == "gloo"
    assert seen["class"] == "radam_integrations.optim.radam.RAdam"


@pytest.mark.slow
@pytest.mark.parametrize("how", ["--detect", "RADAM_WARMUP_DETECTOR=1"])
def test_detect_on_a_hand_written_loop(how: str, tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    script = tmp_path / "loop.py"
    script.write_text(
        textwrap.dedent(
            """
            import torch
            torch.manual_seed(0)
            model = torch.nn.Linear(32, 8)
            adam = torch.optim.AdamW(model.parameters(), lr=1e-2)
            sgd = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)  # not Adam: left alone
            for _ in range(40):
                adam.zero_grad()
                model(torch.randn(64, 32)).pow(2).mean().backward()
                adam.step()
                sgd.step()
            """
        )
    )
    env = dict(subprocess_env)
    flags = ["--detect"] if how == "--detect" else []
    if how != "--detect":
        env["RADAM_WARMUP_DETECTOR"] = "1"
    result = run([CLI, "run", *flags, str(script)], env, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "settled T" in result.stdout and "AdamW" in result.stdout and "SGD" not in result.stdout
    assert result.stdout.count("warmup detector: AdamW settled at step") == 1
    history = _strict((tmp_path / "warmup" / "warmup_history.json").read_text())
    assert [r["step"] for r in history["records"]] == [1, 2, 4, 8, 10, 20, 30, 40]
    assert history["summary"][0]["optimizer"] == "AdamW"


@pytest.mark.slow
def test_detect_on_an_unmodified_hf_script(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    """--detect adds the Trainer's own callback: compact metrics in the logs, files at the end."""
    env = {**subprocess_env, "HF_HUB_OFFLINE": "1"}
    cmd = [
        CLI, "run", "--detect", "--detector-dir", str(tmp_path / "warmup"),
        str(SCRIPTS / "hf_argparser_train.py"), "--output_dir", str(tmp_path / "out"), "--optim", "radamw",
        "--max_steps", "20", "--logging_steps", "10",
        "--per_device_train_batch_size", "4", "--report_to", "none", "--use_cpu", "--save_steps", "10",
    ]  # fmt: skip
    result = run(cmd, env, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    state = _strict((tmp_path / "out" / "checkpoint-20" / "trainer_state.json").read_text())
    logged = [e for e in state["log_history"] if "loss" in e]
    keys = {k for e in logged for k in e if k.startswith("warmup/")}
    compact = {f"warmup/RAdam/{m}" for m in ("noise", "staleness", "settled_step", "suggested_warmup_steps")}
    assert {"warmup/RAdam/noise", "warmup/RAdam/staleness"} <= keys <= compact
    assert "AttachedWarmupDetectorCallback" in state["stateful_callbacks"]
    assert "settled T" in result.stdout
    assert (tmp_path / "warmup" / "warmup_history.json").exists()
    assert not (tmp_path / "out" / "warmup_history.json").exists()  # the runner writes, once


def test_a_failing_script_shows_its_own_traceback_and_exits_1(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    script = tmp_path / "boom.py"
    script.write_text("def main():\n    raise ValueError('bad data')\n\nmain()\n")
    direct = run([sys.executable, str(script)], subprocess_env, tmp_path)
    ours = run([CLI, "run", "--detect", str(script)], subprocess_env, tmp_path)
    assert direct.returncode == ours.returncode == 1
    assert "ValueError: bad data" in ours.stderr
    assert "runpy" not in ours.stderr and "runner.py" not in ours.stderr
    assert ours.stderr.count('File "') == direct.stderr.count('File "')  # the same frames as Python's
    assert "nothing to report" not in ours.stdout  # the traceback is what matters


def test_the_runner_says_what_it_registered_once(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    script = tmp_path / "noop.py"
    script.write_text("print('ran')\n")
    result = run([CLI, "run", str(script)], subprocess_env, tmp_path)
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("radam-integrations:")]
    assert "transformers (--optim radam/radamw), timm (--opt radam/radamw) when the script imports it" in line
    assert "experimental" not in line  # those names only under python -m radam_integrations.experimental
    quiet = run([CLI, "run", str(script)], {**subprocess_env, "RADAM_INTEGRATIONS_QUIET": "1"}, tmp_path)
    assert quiet.stderr == "" and quiet.stdout == "ran\n"
