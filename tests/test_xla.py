"""XLA (``make test-xla``: torch_xla in its own venv, single process, ``PJRT_DEVICE=CPU``).

capturable RAdam compiles once and is reused across the rectification switch, and the warmup
detector runs without per-step recompiles. Skipped where torch_xla is not installed.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PJRT_DEVICE", "CPU")
torch_xla = pytest.importorskip("torch_xla", reason="XLA is tested by `make test-xla` (own venv)")

import torch  # noqa: E402
import torch_xla.debug.metrics as met  # noqa: E402

from radam_integrations import RAdam, WarmupDetector  # noqa: E402

pytestmark = [pytest.mark.xla, pytest.mark.slow]
STEPS = 20  # the first rectified step is 6


def _compiles() -> int:
    data = met.metric_data("CompileTime")
    return int(data[0]) if data else 0


def _train(device, *, capturable: bool, detector: bool):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4)).to(device)
    opt = RAdam(model.parameters(), lr=1e-2, weight_decay=0.01, decoupled_weight_decay=True,
                capturable=capturable, foreach=False)  # fmt: skip
    det = WarmupDetector(opt, every=5) if detector else None
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, 8, generator=gen).to(device), torch.randn(32, 4, generator=gen).to(device)
    counts = []
    for _ in range(STEPS):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        if device.type == "xla":
            torch_xla.sync()
        if det is not None:
            det.update()
            if device.type == "xla":
                torch_xla.sync()
        counts.append(_compiles())
    return model, det, counts


@pytest.fixture(autouse=True)
def _clear_metrics():
    met.clear_all()


def test_capturable_compiles_once_and_is_reused():
    model, _, counts = _train(torch_xla.device(), capturable=True, detector=False)
    # Step 1 compiles with the state's lazy initialisation, step 2 the steady-state step; the
    # same executable then serves every later step, unrectified and rectified alike.
    assert counts[1] == counts[-1], counts
    reference, _, _ = _train(torch.device("cpu"), capturable=True, detector=False)
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p.cpu(), q, rtol=1e-5, atol=1e-6)


def test_non_capturable_recompiles_at_the_switch():
    """Documented behaviour: host-side scalars change the graph once, when rectification starts."""
    _, _, counts = _train(torch_xla.device(), capturable=False, detector=False)
    assert counts[5] > counts[4], counts  # step 6: the first rectified step
    assert counts[5] == counts[-1], counts


def test_detector_runs_without_per_step_recompiles():
    _, detector, counts = _train(torch_xla.device(), capturable=True, detector=True)
    assert detector.evaluations == 7  # steps 1, 2, 4, 8, 10, 15, 20
    assert counts[1] == counts[-1], counts
    assert detector.history[-1]["groups"]["pg0"]["rho_t"] > 5
