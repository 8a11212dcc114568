"""radam_integrations.theory against hand-computed values, direct sums and seeded Monte Carlo."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from radam_integrations import theory
from radam_integrations.cli import main as cli_main


@pytest.mark.parametrize("beta2", [0.9, 0.99, 0.999, 0.9999])
def test_rho_boundary_values(beta2: float) -> None:
    assert theory.rho_inf(beta2) == pytest.approx(2 / (1 - beta2) - 1, rel=1e-15)
    assert theory.rho_t(1, beta2) == pytest.approx(1.0, abs=1e-9)
    # Hand derivation: rho_2 = (1 + 3 b2) / (1 + b2). torch's formula subtracts two numbers
    # of size rho_inf, so float64 leaves an absolute error of order eps * rho_inf^2.
    cancellation = 2.2e-16 * theory.rho_inf(beta2) ** 2
    assert theory.rho_t(2, beta2) == pytest.approx((1 + 3 * beta2) / (1 + beta2), abs=cancellation)
    assert theory.rho_t(10**7, beta2) == pytest.approx(theory.rho_inf(beta2), rel=1e-12)


def test_rho_t_increases_towards_rho_inf() -> None:
    values = [theory.rho_t(t, 0.999) for t in range(1, 3000, 7)]
    assert all(a < b for a, b in itertools.pairwise(values))
    assert values[-1] < theory.rho_inf(0.999)


def test_rectification_hand_values() -> None:
    # r_t is 0 where undefined (rho_t <= 4), in (0, 1) after, and 1 in the limit.
    assert theory.r_t(4, 0.999) == 0.0
    assert 0.0 < theory.r_t(5, 0.999) < theory.r_t(6, 0.999) < 1.0
    assert theory.rect_from_rho(1999.0, 1999.0) == pytest.approx(1.0, rel=1e-15)
    # rho = 5, rho_inf = 1999 by hand: sqrt(1 * 3 * 1999 / (1995 * 1997 * 5)).
    assert theory.rect_from_rho(5.0, 1999.0) == pytest.approx(
        math.sqrt(3 * 1999 / (1995 * 1997 * 5)), rel=1e-14
    )


@pytest.mark.parametrize("t", [5, 6, 10, 100, 1000, 10000])
def test_r_t_squared_is_ratio_of_first_order_variances(t: int) -> None:
    beta2 = 0.999
    ratio = theory.psi_variance_first_order(theory.rho_inf(beta2)) / theory.psi_variance_first_order(
        theory.rho_t(t, beta2)
    )
    assert theory.r_t(t, beta2) ** 2 == pytest.approx(ratio, rel=1e-10)
    assert theory.variance_ratio(t, beta2) == pytest.approx(1 / ratio, rel=1e-10)


@pytest.mark.parametrize("rho", [3.0, 5.0, 8.0, 20.0, 100.0, 1000.0])
def test_psi_variance_matches_paper_beta_form(rho: float) -> None:
    log_beta = 2 * math.lgamma((rho - 1) / 2) - math.lgamma(rho - 1)  # log B((rho-1)/2, (rho-1)/2)
    log_second = math.log(rho) + (2 * rho - 5) * math.log(2) - math.log(math.pi) + 2 * log_beta
    paper = rho / (rho - 2) - math.exp(log_second)
    # Both forms subtract two numbers near 1 whose difference is about 1 / (2 rho), and
    # lgamma of large arguments carries absolute errors near 1e-13: agree to 1e-7 relative.
    assert theory.psi_variance(rho) == pytest.approx(paper, rel=1e-7)
    assert theory.psi_variance(rho, sigma=2.0) == pytest.approx(paper / 4, rel=1e-7)


def test_psi_variance_divergence_and_first_order_bias() -> None:
    assert theory.psi_variance(2.0) == math.inf
    assert theory.psi_variance_first_order(4.0) == math.inf
    # The design notes' figures: the first-order form overestimates 3.3x, 1.14x, 1.02x.
    for rho, factor in [(5.0, 3.3), (20.0, 1.14), (100.0, 1.02)]:
        ratio = theory.psi_variance_first_order(rho) / theory.psi_variance(rho)
        assert ratio == pytest.approx(factor, abs=0.01)
    rhos = [2.5, 3, 5, 10, 50, 500]
    values = [theory.psi_variance(r) for r in rhos]
    assert all(a > b for a, b in itertools.pairwise(values))


@pytest.mark.parametrize("rho", [8, 20, 100])
def test_psi_variance_monte_carlo(rho: int) -> None:
    # psi^2 = rho / chi^2_rho (sigma = 1), i.e. psi^2 = 1 / mean of rho squared N(0,1) samples.
    rng = np.random.default_rng(1234 + rho)
    chi2 = rng.chisquare(rho, size=400_000)
    psi = np.sqrt(rho / chi2)
    assert psi.var() == pytest.approx(theory.psi_variance(rho), rel=0.03)


def _weights(t: int, beta2: float) -> np.ndarray:
    s = np.arange(1, t + 1)
    return (1 - beta2) * beta2 ** (t - s) / (1 - beta2**t)


@pytest.mark.parametrize("beta2", [0.9, 0.99, 0.999])
@pytest.mark.parametrize("t", [1, 2, 7, 150, 4000])
def test_ess_closed_form_matches_direct_sum(beta2: float, t: int) -> None:
    w = _weights(t, beta2)
    assert w.sum() == pytest.approx(1.0, rel=1e-9)
    assert theory.ema_weight_sq_sum(t, beta2) == pytest.approx((w**2).sum(), rel=1e-9)
    assert theory.effective_sample_size(t, beta2) == pytest.approx(1 / (w**2).sum(), rel=1e-9)


def test_ess_limits() -> None:
    assert theory.effective_sample_size(1, 0.999) == pytest.approx(1.0, rel=1e-12)
    assert theory.effective_sample_size(10**6, 0.999) == pytest.approx(1.999 / 0.001, rel=1e-9)
    assert theory.effective_sample_size(5, 0.0) == 1.0


@pytest.mark.parametrize(("t", "k"), [(1, 1), (5, 5), (20, 4), (200, 10), (3000, 40)])
@pytest.mark.parametrize("beta2", [0.0, 0.9, 0.999])
def test_lagged_weight_diff_matches_direct_sum(t: int, k: int, beta2: float) -> None:
    if beta2 == 0.0:
        direct = 2.0 if k < t else 1.0
    else:
        w_now = _weights(t, beta2)
        w_then = np.zeros(t)
        if t - k > 0:
            w_then[: t - k] = _weights(t - k, beta2)
        direct = ((w_now - w_then) ** 2).sum()
    assert theory.lagged_weight_diff_sq(t, k, beta2) == pytest.approx(direct, rel=1e-9)


def test_noise_model_monte_carlo() -> None:
    """Var[log psi_t] ~ c^2 / (4 ESS_t) and Var[log v_t - log v_(t-k)] ~ c^2 H(t, k) for iid g."""
    rng = np.random.default_rng(7)
    beta2, t, k, runs = 0.99, 200, 20, 4000
    g2 = rng.standard_normal((runs, t)) ** 2  # c^2 = Var[g^2] / E[g^2]^2 = 2 for N(0, 1)
    v = np.zeros(runs)
    log_v_hat = {}
    for s in range(1, t + 1):
        v = beta2 * v + (1 - beta2) * g2[:, s - 1]
        if s in (t - k, t):
            log_v_hat[s] = np.log(v / (1 - beta2**s))
    logpsi_std = np.std(-0.5 * log_v_hat[t])
    assert logpsi_std == pytest.approx(theory.logpsi_noise(2.0, t, beta2), rel=0.1)
    drift_var = np.var(log_v_hat[t] - log_v_hat[t - k])
    assert drift_var == pytest.approx(2.0 * theory.lagged_weight_diff_sq(t, k, beta2), rel=0.1)
    assert theory.logpsi_noise(2.0, 10**7, beta2) == pytest.approx(
        theory.logpsi_noise_floor(2.0, beta2), rel=1e-6
    )


def test_horizons_from_design_notes() -> None:
    assert [theory.steps_until_rectification(x, 0.999) for x in (0.5, 0.9, 0.99)] == [556, 2737, 5654]
    assert [theory.steps_until_rectification(x, 0.99) for x in (0.5, 0.9, 0.99)] == [61, 277, 567]
    # Each horizon is the first step where r_t reaches x.
    n = theory.steps_until_rectification(0.9, 0.999)
    assert theory.r_t(n, 0.999) >= 0.9 > theory.r_t(n - 1, 0.999)
    assert theory.steps_until_rectification(1.0, 0.999) is None
    assert theory.steps_until_rectification(0.5, 0.5) is None


def test_first_rectified_step_thresholds() -> None:
    assert theory.first_rectified_step(0.999) == 6  # torch: rho_t > 5
    assert theory.first_rectified_step(0.999, threshold=4) == 5  # the paper
    assert theory.first_rectified_step(0.99) == 6
    assert theory.first_rectified_step(0.6) is None  # rho_inf = 4
    assert theory.first_rectified_step(0.5, threshold=4) is None
    assert theory.first_rectified_step(0.9, threshold=18.9) is not None  # rho_inf = 19
    with pytest.raises(ValueError, match="threshold"):
        theory.first_rectified_step(0.999, threshold=math.inf)


def test_untuned_warmup_uses_round() -> None:
    assert 2 / (1 - 0.999) < 2000  # the floating-point trap int() falls into
    assert theory.untuned_linear_warmup(0.999) == 2000
    assert theory.untuned_linear_warmup(0.99) == 200
    assert theory.untuned_exponential_warmup(0.999) == 1000
    assert theory.untuned_warmup_factor(1000, 0.999) == pytest.approx(0.5)
    assert theory.untuned_warmup_factor(5000, 0.999) == 1.0
    assert theory.untuned_warmup_factor(1000, 0.999, "exponential") == pytest.approx(
        1 - math.exp(-1), rel=1e-12
    )
    with pytest.raises(ValueError, match="kind"):
        theory.untuned_warmup_factor(1, 0.999, "cosine")


def test_suggested_warmup_steps_clips() -> None:
    assert theory.suggested_warmup_steps(60, 0.999) == 120
    assert theory.suggested_warmup_steps(2, 0.999) == 10
    assert theory.suggested_warmup_steps(5000, 0.999) == 2000
    assert theory.suggested_warmup_steps(5000, 0.99) == 200
    with pytest.raises(ValueError, match="settled_step"):
        theory.suggested_warmup_steps(-1, 0.999)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: theory.rho_inf(1.0), "beta2"),
        (lambda: theory.rho_t(3, -0.1), "beta2"),
        (lambda: theory.rho_t(0, 0.999), "step"),
        (lambda: theory.lagged_weight_diff_sq(5, 6, 0.999), "lag"),
        (lambda: theory.psi_variance(5, sigma=0), "sigma"),
        (lambda: theory.steps_until_rectification(0.0, 0.999), "x"),
    ],
)
def test_bad_arguments_raise(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_schedule_horizons_record() -> None:
    h = theory.schedule_horizons(0.999)
    assert (h.first_rectified_step, h.r_half, h.r_90, h.r_99) == (6, 556, 2737, 5654)
    assert h.untuned_linear_warmup == 2000
    assert h.as_dict()["beta2"] == 0.999


def test_cli_schedule_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["schedule", "--beta2", "0.999"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.strip().startswith("0.999")).split()
    assert row == ["0.999", "1999.0", "6", "556", "2737", "5654", "1999.0", "2000", "1000"]


def test_cli_schedule_json_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["schedule", "--beta2", "0.99", "0.5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["r_90"] == 277 and data[1]["first_rectified_step"] is None
    assert cli_main(["schedule", "--beta2", "1.2"]) == 2
    assert "beta2" in capsys.readouterr().err


# ---------------------------------------------------------------------- r_t times a decay schedule
@pytest.mark.parametrize("decay", ["linear", "cosine"])
def test_decay_factor_is_the_frameworks_own_schedule(decay) -> None:
    """HF's linear/cosine schedules with no warmup and timm's cosine (warmup off, min lr 0), step for step."""
    import torch
    from timm.scheduler import CosineLRScheduler
    from transformers import get_scheduler

    total = 50
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
    hf = get_scheduler(decay, opt, num_warmup_steps=0, num_training_steps=total)
    used = []
    for _ in range(total):
        used.append(opt.param_groups[0]["lr"])  # the lr optimizer step t runs at
        opt.step()
        hf.step()
    assert used == pytest.approx([theory.decay_factor(t - 1, total, decay) for t in range(1, total + 1)])
    if decay == "cosine":
        opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
        timm_cos = CosineLRScheduler(opt, t_initial=total, lr_min=0.0, warmup_t=0, t_in_epochs=False)
        for update in range(total):
            timm_cos.step_update(update)
            assert opt.param_groups[0]["lr"] == pytest.approx(theory.decay_factor(update, total, decay))


def test_decayed_rectification_is_r_t_times_the_decay_step_by_step() -> None:
    steps = 300
    for beta2, decay in itertools.product((0.99, 0.999), theory.DECAYS):
        d = theory.decayed_rectification(beta2, steps, decay)
        factors = [
            theory.applied_rectification(t, beta2) * theory.decay_factor(t - 1, steps, decay)
            for t in range(1, steps + 1)
        ]
        assert d.peak == max(factors) and factors[d.peak_step - 1] == d.peak
        above = [t for t, f in enumerate(factors, 1) if f >= d.peak / 2]
        assert (d.half_from, d.half_until) == (above[0], above[-1])
        assert d.below_half_lr == sum(f < 0.5 for f in factors) / steps
        decays = [theory.decay_factor(t - 1, steps, decay) for t in range(1, steps + 1)]
        assert d.decay_below_half_lr == sum(f < 0.5 for f in decays) / steps
    # At beta2 = 0.999 r_t first reaches 0.5 at step 556: with a decay to 0 over 2,000 steps RAdam's
    # steps never reach half the base learning rate; at constant lr they do from step 556 on.
    assert theory.decayed_rectification(0.999, 2000, "linear").below_half_lr == 1.0
    constant = theory.decayed_rectification(0.999, 2000, "constant")
    assert constant.below_half_lr == (theory.schedule_horizons(0.999).r_half - 1) / 2000
    with pytest.raises(ValueError, match="decay must be one of"):
        theory.decay_factor(0, 10, "step")
    with pytest.raises(ValueError, match="steps must be a whole number >= 1"):
        theory.decayed_rectification(0.999, 0, "linear")


def test_schedule_cli_shows_r_t_times_the_decay(capsys) -> None:
    assert cli_main(["schedule", "--beta2", "0.99", "0.999", "--steps", "800", "2000"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.split()[:3] == ["0.999", "800", "linear"])
    d = theory.decayed_rectification(0.999, 800, "linear")
    assert f"{d.peak:.2f} ({d.peak_step})" in row and row.split()[-2:] == ["100%", "50%"]
    assert (
        "beta2=0.999, 2000 steps, linear decay: RAdam's steps run below half the base learning rate for 100%"
        in out
    )
    assert "beta2=0.99, 800 steps" not in out  # 61% against the decay's 50%: not flagged
    assert cli_main(["schedule", "--beta2", "0.999", "--steps", "800", "--decay", "cosine", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["decayed"] == [theory.decayed_rectification(0.999, 800, "cosine").as_dict()]
    assert data["horizons"][0]["r_half"] == 556
    assert cli_main(["schedule", "--steps", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--steps must be between 1 and 1,000,000, got 0" in err


def test_a_named_decay_read_as_a_schedule_gives_the_same_numbers() -> None:
    for beta2, decay, steps in itertools.product((0.99, 0.999), theory.DECAYS, (40, 777)):
        schedule = [theory.decay_factor(t - 1, steps, decay) for t in range(1, steps + 1)]
        assert theory.rectified_schedule(beta2, schedule, decay) == theory.decayed_rectification(
            beta2, steps, decay
        )
    for bad in ([], [1.0, math.nan], [1.0, -0.1]):
        with pytest.raises(ValueError, match="schedule must be a non-empty sequence"):
            theory.rectified_schedule(0.999, bad, "linear")


def test_decay_shape_names_the_frameworks_own_schedules() -> None:
    """HF's linear and cosine schedules and timm's cosine, as their schedulers step them, are
    what theory.DECAYS calls them; a warmup of 10% of the run is none of them."""
    import torch

    transformers = pytest.importorskip("transformers")
    CosineLRScheduler = pytest.importorskip("timm.scheduler").CosineLRScheduler

    def stepped(make, steps: int, timm: bool = False) -> list[float]:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
        scheduler, factors = make(opt), []
        for update in range(steps):
            if timm:
                scheduler.step_update(update)
            factors.append(opt.param_groups[0]["lr"])
            opt.step()
            if not timm:
                scheduler.step()
        return factors

    steps = 500
    shapes = {
        "hf linear": stepped(lambda o: transformers.get_linear_schedule_with_warmup(o, 0, steps), steps),
        "hf cosine": stepped(lambda o: transformers.get_cosine_schedule_with_warmup(o, 0, steps), steps),
        "hf constant": stepped(lambda o: transformers.get_constant_schedule(o), steps),
        "timm cosine": stepped(
            lambda o: CosineLRScheduler(o, t_initial=steps, t_in_epochs=False), steps, True
        ),
        "hf linear, 10% warmup": stepped(
            lambda o: transformers.get_linear_schedule_with_warmup(o, 50, steps), steps
        ),
    }
    assert {name: theory.decay_shape(f) for name, f in shapes.items()} == {
        "hf linear": "linear",
        "hf cosine": "cosine",
        "hf constant": "constant",
        "timm cosine": "cosine",
        "hf linear, 10% warmup": None,
    }
    # the warmup and the decay read as one schedule: RAdam below half of its peak for the whole run
    d = theory.rectified_schedule(0.999, shapes["hf linear, 10% warmup"], "the run's learning-rate schedule")
    assert d.below_half_lr == 1.0 and d.note().startswith(
        "beta2=0.999, 500 steps, the run's learning-rate schedule: RAdam's steps run below half the peak"
    )
