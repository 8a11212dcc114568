"""HF Trainer runs killed with SIGKILL at random moments, saves included, resume without hand edits.

The Trainer writes ``checkpoint-N`` in place; a kill during a save leaves a folder without
``trainer_state.json``. With the pack registered, ``resume_from_checkpoint=True`` takes the newest
complete checkpoint (and says which it skipped), and the run ends exactly where an uninterrupted
one does: the same weights and the same detector history.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from radam_integrations.integrations.transformers_checkpoints import is_complete_checkpoint

pytestmark = [pytest.mark.slow, pytest.mark.process]

SCRIPT = Path(__file__).parent / "scripts" / "hf_kill_resume.py"
STEPS = 200  # 40 saves
#: Files of a checkpoint in the order the Trainer writes them; a kill right after one appears
#: lands inside the save.
SAVE_FILES = ("model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth")


def _launch(out: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(out), str(STEPS)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )  # fmt: skip


def _kill_somewhere(proc: subprocess.Popen, out: Path, rng: random.Random, said: list[str]) -> str | None:
    """SIGKILL ``proc`` at a random moment: inside a save, or at a random point of a step.

    ``None`` when the run ended first. What the process printed goes into ``said``.
    """
    target_step = None
    in_save = rng.random() < 0.7
    for line in proc.stdout:  # type: ignore[union-attr]
        said.append(line)
        if not line.startswith("step "):
            continue
        step = int(line.split()[1])
        if target_step is None:
            target_step = step + rng.randint(1, 12)
            if in_save:
                target_step = 5 * -(-target_step // 5)  # the next save step
        if step < target_step:
            continue
        if in_save:
            wanted = out / f"checkpoint-{step}" / rng.choice(SAVE_FILES)
            deadline = time.monotonic() + 5
            while not wanted.exists() and time.monotonic() < deadline and proc.poll() is None:
                pass  # a busy wait: a save takes milliseconds
            moment = f"in the save of step {step}, after {wanted.name} appeared"
        else:
            time.sleep(rng.uniform(0, 0.02))
            moment = f"at step {step} + a random delay"
        if proc.poll() is not None:
            return None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return moment
    proc.wait()
    return None


def test_sigkilled_runs_resume_to_the_uninterrupted_result(tmp_path: Path, subprocess_env) -> None:
    env = {**subprocess_env, "HF_HOME": str(tmp_path / "hf")}
    straight = tmp_path / "straight"
    subprocess.run([sys.executable, str(SCRIPT), str(straight), str(STEPS)], env=env, check=True,
                   capture_output=True, timeout=600)  # fmt: skip

    rng = random.Random(int(os.environ.get("RADAM_KILL_SEED", "0")))
    for attempt in range(3):  # a run that ends before enough kills starts over, from scratch
        killed = tmp_path / f"killed-{attempt}"
        kills, incomplete_seen, said = [], set(), []
        while len(kills) < 10 or len(incomplete_seen) < 3:
            moment = _kill_somewhere(_launch(killed, env), killed, rng, said)
            if moment is None:
                break
            kills.append(moment)
            incomplete_seen |= {p.name for p in killed.glob("checkpoint-*") if not is_complete_checkpoint(p)}
        else:
            break
    command = [sys.executable, str(SCRIPT), str(killed), str(STEPS)]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    said.append(proc.stdout + proc.stderr)

    print(f"{len(kills)} kills; left incomplete: {sorted(incomplete_seen)}; moments: {kills}")
    assert len(kills) >= 10 and len(incomplete_seen) >= 3, kills
    # a relaunch after a killed save said what it skipped, and resumed from the newest complete one
    assert any("is incomplete (no readable trainer_state.json" in line for line in said)
    assert any("resuming from checkpoint-" in line for line in said)
    for name in ("final.json", "warmup_history.json"):
        assert json.loads((killed / name).read_text()) == json.loads((straight / name).read_text()), name
    # nothing was deleted: every folder a kill left incomplete is still there (since overwritten whole)
    assert all((killed / name).is_dir() for name in incomplete_seen)
