"""capturable=True: step count on the device, no host sync, one compiled graph across the switch."""

from __future__ import annotations

import pytest
import torch
import torch._dynamo

from radam_integrations import RAdam

from .helpers.problems import flat_params, tiny_model, train


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"weight_decay": 0.1, "decoupled_weight_decay": True, "degenerated_to_sgd": False},
        {"threshold": 4.0},
    ],
)
def test_capturable_matches_host_path(foreach: bool, dtype: torch.dtype, options: dict) -> None:
    a, b = tiny_model(dtype), tiny_model(dtype)
    opt_a = RAdam(a.parameters(), lr=1e-2, foreach=foreach, capturable=True, **options)
    opt_b = RAdam(b.parameters(), lr=1e-2, foreach=foreach, capturable=False, **options)
    train(a, opt_a, 30)
    train(b, opt_b, 30)
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    torch.testing.assert_close(flat_params(a), flat_params(b), rtol=tol, atol=tol)
    step = opt_a.state[a[0].weight]["step"]
    assert step.device == a[0].weight.device and step.item() == 30


def _compiled_steps(foreach: bool, backend: str, steps: int = 10) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch._dynamo.reset()
    compiled_model, eager_model = tiny_model(torch.float32), tiny_model(torch.float32)
    opt = RAdam(compiled_model.parameters(), lr=1e-2, capturable=True, foreach=foreach, weight_decay=0.01)
    eager_opt = RAdam(eager_model.parameters(), lr=1e-2, foreach=foreach, weight_decay=0.01)
    unwrapped_step = type(opt).step.__wrapped__  # without Optimizer's profiling/hook wrapper

    @torch.compile(fullgraph=True, backend=backend)
    def compiled_step() -> None:
        unwrapped_step(opt)

    x = torch.randn(8, 5, generator=torch.Generator().manual_seed(0))
    # Steps 1..10 cross the rectification switch (first rectified step: 6). A recompile
    # (a guard on the step count, a data-dependent branch) would raise here.
    with torch._dynamo.config.patch(error_on_recompile=True):
        for _ in range(steps):
            for model in (compiled_model, eager_model):
                model.zero_grad()
                model(x).pow(2).mean().backward()
            with torch.no_grad():
                compiled_step()
            eager_opt.step()
    return compiled_model, eager_model


@pytest.mark.parametrize("foreach", [False, True])
def test_compiles_fullgraph_without_recompiling_across_the_switch(foreach: bool) -> None:
    compiled, eager = _compiled_steps(foreach, backend="eager")
    torch.testing.assert_close(flat_params(compiled), flat_params(eager), rtol=1e-6, atol=1e-6)


@pytest.mark.slow
def test_inductor_compiles_once() -> None:
    compiled, eager = _compiled_steps(True, backend="inductor")
    torch.testing.assert_close(flat_params(compiled), flat_params(eager), rtol=1e-5, atol=1e-6)
