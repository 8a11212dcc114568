"""The thread count our own programs choose: --threads, else OMP_NUM_THREADS, else one."""

from __future__ import annotations

import pytest
import torch

from warmup_ablation.threads import choose_threads, torch_threads


def test_the_choice_and_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert choose_threads(None)[0] == 1 and choose_threads(None)[1].startswith("default: one thread")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert choose_threads(None) == (3, "OMP_NUM_THREADS")
    assert choose_threads(2) == (2, "--threads")  # the option wins over the environment


@pytest.mark.parametrize(("requested", "env", "message"), [
    (0, None, "--threads must be at least 1, got 0"),
    (None, "0", "OMP_NUM_THREADS='0' is not a positive whole number"),
    (None, "many", "OMP_NUM_THREADS='many' is not a positive whole number"),
])  # fmt: skip
def test_bad_counts_are_refused(monkeypatch, requested, env, message) -> None:
    if env is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", env)
    with pytest.raises(ValueError, match=message):
        choose_threads(requested)


def test_the_previous_count_comes_back() -> None:
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
