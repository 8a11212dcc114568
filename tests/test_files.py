"""Files the pack writes: atomic, strict JSON, and no temporaries left behind by killed writers."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from radam_integrations.checkpoint import load_checkpoint, save_checkpoint
from radam_integrations.files import atomic_write, remove_stale_temporaries, strict_json, write_json


def strict_loads(text: str):
    """json.loads that rejects NaN/Infinity, as JSON.parse and strict parsers do."""

    def refuse(token: str):
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


def test_write_json_is_strict_and_reads_back_null(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    write_json(path, {"a": math.nan, "b": [math.inf, -math.inf, 1.5], "c": (1, "x")})
    data = strict_loads(path.read_text())
    assert data == {"a": None, "b": [None, None, 1.5], "c": [1, "x"]}
    assert strict_json({"x": {"y": [math.nan]}}) == {"x": {"y": [None]}}


def test_atomic_write_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(path) as fh:
        fh.write(b"new, half")
        raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]


WRITER = textwrap.dedent(
    """
    import sys, torch
    from radam_integrations.checkpoint import save_checkpoint
    model = torch.nn.Linear(1024, 1024)  # 4 MB of weights: each save takes a while
    print("ready", flush=True)
    i = 0
    while True:
        save_checkpoint(sys.argv[1], model=model, extra={"i": i})
        i += 1
    """
)


def _temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(".ckpt.pt."))


@pytest.mark.slow
def test_killed_writers_leave_no_temporaries_behind(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    """kill -9 during continuous saves: the file always loads, and the next save cleans up."""
    target = tmp_path / "ckpt.pt"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    left_behind = 0
    for kill in range(6):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(target)], env=subprocess_env, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3 + 0.13 * kill)  # land somewhere inside a save
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if target.exists():
            load_checkpoint(target, model=torch.nn.Linear(1024, 1024))  # never half-written
        left_behind += len(_temporaries(tmp_path))
    assert left_behind > 0, "no kill landed inside a save: the test did not exercise anything"
    stale = _temporaries(tmp_path)
    for path in stale:  # what a later session sees: old temporaries, their writers long gone
        os.utime(path, (time.time() - 60, time.time() - 60))
    save_checkpoint(target, model=torch.nn.Linear(1024, 1024))
    assert _temporaries(tmp_path) == []
    load_checkpoint(target, model=torch.nn.Linear(1024, 1024))


def test_a_live_writers_temporary_is_never_removed(tmp_path: Path) -> None:
    target = tmp_path / "ckpt.pt"
    with atomic_write(target) as fh:
        fh.write(b"in progress")
        (tmp,) = [p for p in tmp_path.iterdir() if p.name.startswith(".ckpt.pt.")]
        os.utime(tmp, (time.time() - 3600, time.time() - 3600))  # old, but locked by this writer
        assert remove_stale_temporaries(target) == []
        assert tmp.exists()
    assert target.read_bytes() == b"in progress"


def test_only_this_targets_temporaries_are_touched(tmp_path: Path) -> None:
    target = tmp_path / "ckpt.pt"
    others = [tmp_path / ".ckpt.pt.notours", tmp_path / ".other.pt.abcd1234.tmp", tmp_path / "ckpt.pt.bak"]
    mine = tmp_path / ".ckpt.pt.abcd_123.tmp"
    for path in [*others, mine]:
        path.write_bytes(b"x")
        os.utime(path, (time.time() - 60, time.time() - 60))
    assert remove_stale_temporaries(target) == [mine]
    assert all(p.exists() for p in others)


def test_a_fresh_unlocked_temporary_is_kept(tmp_path: Path) -> None:
    """A writer that has just created its file but not yet locked it must not lose it."""
    fresh = tmp_path / ".ckpt.pt.abcdefgh.tmp"
    fresh.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path / "ckpt.pt") == []
    assert fresh.exists()


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    """mkstemp makes 0600 files; what we write must look like any file the user writes (umask)."""
    old = os.umask(0o022)
    try:
        fresh = Path(write_json(tmp_path / "new.json", {"a": 1}))
        assert fresh.stat().st_mode & 0o777 == 0o644
        kept = tmp_path / "kept.json"
        kept.write_text("{}")
        kept.chmod(0o640)
        write_json(kept, {"b": 2})
        assert kept.stat().st_mode & 0o777 == 0o640  # an existing file keeps its mode
    finally:
        os.umask(old)
