"""The mathematics of RAdam's rectification, as plain functions on floats.

Everything here is closed-form and dependency-free (only :mod:`math`), so it can be
used in configuration code, in tests, and in the warmup detector alike. Each formula
lives here once; the optimizer and the detector call these functions rather than
re-deriving them.

Notation follows Liu et al. (ICLR 2020), "On the Variance of the Adaptive Learning
Rate and Beyond":

* ``beta2`` is Adam's second-moment decay, ``t`` the (1-based) step count.
* ``rho_inf = 2 / (1 - beta2) - 1`` is the maximum length of the approximated simple
  moving average (SMA) that the exponential moving average of ``g^2`` corresponds to.
* ``rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)`` is that length after ``t`` steps.
* ``psi_t = sqrt((1 - beta2^t) / v_t)`` is the adaptive learning rate. Under the
  paper's model (``g ~ N(0, sigma^2)``) ``psi_t^2`` is scaled-inverse-chi-square with
  ``rho_t`` degrees of freedom; its variance is infinite for ``rho_t <= 2`` and the
  first-order approximation of ``Var[psi_t]`` only exists for ``rho_t > 4``.
* ``r_t = sqrt(((rho_t - 4)(rho_t - 2) rho_inf) / ((rho_inf - 4)(rho_inf - 2) rho_t))``
  is the rectification term: it rescales ``Var[psi_t]`` to its limit ``Var[psi_inf]``.

Example:
    >>> from radam_integrations import theory
    >>> round(theory.rho_inf(0.999), 9)
    1999.0
    >>> theory.first_rectified_step(0.999)              # torch / official code: rho_t > 5
    6
    >>> theory.first_rectified_step(0.999, threshold=4)  # the paper: rho_t > 4
    5
    >>> theory.untuned_linear_warmup(0.999)              # Ma & Yarats: 2 / (1 - beta2), rounded
    2000
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

__all__ = [
    "DECAYS",
    "DecayedRectification",
    "ScheduleHorizons",
    "c2_from_drift",
    "decay_factor",
    "decay_shape",
    "decayed_rectification",
    "effective_sample_size",
    "ema_weight_sq_sum",
    "first_rectified_step",
    "gradient_c2",
    "lagged_weight_diff_sq",
    "logpsi_noise",
    "logpsi_noise_floor",
    "measured_rectification",
    "psi_variance",
    "psi_variance_first_order",
    "r_t",
    "rect_from_rho",
    "rectified_schedule",
    "required_sample_size",
    "rho_inf",
    "rho_t",
    "schedule_horizons",
    "settling_step",
    "steps_until_rectification",
    "suggested_warmup_steps",
    "untuned_exponential_warmup",
    "untuned_linear_warmup",
    "untuned_warmup_factor",
    "variance_ratio",
]


def _check_beta2(beta2: float) -> None:
    if not (0.0 <= beta2 < 1.0) or not math.isfinite(beta2):
        raise ValueError(f"beta2 must be in [0, 1), got {beta2!r}")


def _check_step(t: float) -> None:
    if not t >= 1:
        raise ValueError(f"the step count t must be >= 1 (steps are 1-based), got {t!r}")


def rho_inf(beta2: float) -> float:
    """Maximum SMA length: ``rho_inf = 2 / (1 - beta2) - 1``.

    >>> round(rho_inf(0.99), 9)
    199.0
    """
    _check_beta2(beta2)
    return 2.0 / (1.0 - beta2) - 1.0


def rho_t(t: float, beta2: float) -> float:
    """SMA length after ``t`` steps: ``rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)``.

    ``rho_1 = 1`` for every ``beta2`` and ``rho_t`` increases to ``rho_inf``.
    ``beta2 = 0`` (no averaging) gives ``rho_t = 1`` for all ``t``.

    The arithmetic is evaluated in exactly the order ``torch.optim.RAdam`` uses, so that
    :class:`radam_integrations.RAdam` (which calls this function) reproduces torch's
    numbers bit for bit.

    >>> round(rho_t(1, 0.999), 6)
    1.0
    >>> round(rho_t(5, 0.999), 4)   # just under 5: torch's threshold is first passed at t = 6
    4.996
    """
    _check_beta2(beta2)
    _check_step(t)
    bt = beta2**t
    return rho_inf(beta2) - 2 * t * bt / (1 - bt)


def rect_from_rho(rho: float, rho_max: float) -> float:
    """``r_t`` from the SMA lengths: ``sqrt((rho-4)(rho-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho))``.

    Only meaningful for ``rho > 4`` (the caller checks); evaluated in torch's order.
    """
    return ((rho - 4) * (rho - 2) * rho_max / ((rho_max - 4) * (rho_max - 2) * rho)) ** 0.5


def r_t(t: float, beta2: float) -> float:
    """Rectification term ``r_t`` (0.0 where it is undefined, i.e. ``rho_t <= 4``).

    ``r_t`` is in ``[0, 1)``, increases with ``t`` and tends to 1. It is the factor RAdam
    multiplies Adam's step by once the variance of the adaptive learning rate is
    tractable. Where ``rho_t <= 4`` the variance is divergent and no rectified step
    exists: this returns 0.0 there (RAdam takes an SGD-with-momentum step or no step).

    >>> r_t(5, 0.999) > 0        # defined (rho_5 > 4) ...
    True
    >>> round(r_t(556, 0.999), 3)   # ... and about 0.5 after 0.55 / (1 - beta2) steps
    0.5
    """
    rho = rho_t(t, beta2)
    rho_max = rho_inf(beta2)
    if rho <= 4.0 or rho_max <= 4.0:
        return 0.0
    return rect_from_rho(rho, rho_max)


def variance_ratio(t: float, beta2: float) -> float:
    """``Var[psi_t] / Var[psi_inf]`` in the first-order approximation, ``1 / r_t^2``.

    Infinite where ``rho_t <= 4``.
    """
    r = r_t(t, beta2)
    return math.inf if r == 0.0 else 1.0 / (r * r)


def psi_variance(rho: float, sigma: float = 1.0) -> float:
    """Exact ``Var[psi]`` when ``psi^2`` is scaled-inv-chi^2 with ``rho`` degrees of freedom.

    With ``psi^2 = rho / (sigma^2 chi^2_rho)``::

        Var[psi] = sigma^-2 (rho / (rho - 2) - (rho / 2) (Gamma((rho - 1)/2) / Gamma(rho/2))^2)

    which equals the paper's form ``sigma^-2 (rho/(rho-2) - rho 2^(2 rho - 5) / pi
    B((rho-1)/2, (rho-1)/2)^2)`` by Legendre's duplication formula. Infinite for
    ``rho <= 2``; decreasing in ``rho``.

    >>> round(psi_variance(5.0), 4)
    0.252
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    if rho <= 2.0:
        return math.inf
    log_ratio = math.lgamma((rho - 1.0) / 2.0) - math.lgamma(rho / 2.0)
    mean_sq = 0.5 * rho * math.exp(2.0 * log_ratio)
    return (rho / (rho - 2.0) - mean_sq) / sigma**2


def psi_variance_first_order(rho: float, sigma: float = 1.0) -> float:
    """First-order (delta-method) ``Var[psi] ~ rho / (2 (rho - 2)(rho - 4) sigma^2)``.

    This is the approximation RAdam's ``r_t`` is built from:
    ``r_t^2 = first_order(rho_inf) / first_order(rho_t)`` exactly. It overestimates the
    exact variance (3.3x at ``rho = 5``, 1.14x at 20, 1.02x at 100). Infinite for
    ``rho <= 4``.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    if rho <= 4.0:
        return math.inf
    return rho / (2.0 * (rho - 2.0) * (rho - 4.0) * sigma**2)


def ema_weight_sq_sum(t: float, beta2: float) -> float:
    """``sum_s w_s^2`` for the bias-corrected EMA weights ``w_s = (1-b2) b2^(t-s) / (1-b2^t)``.

    Closed form ``((1 - b2) / (1 - b2^t))^2 (1 - b2^(2t)) / (1 - b2^2)``.
    """
    _check_beta2(beta2)
    _check_step(t)
    if beta2 == 0.0:
        return 1.0
    a = (1.0 - beta2) / -math.expm1(t * math.log(beta2))
    return a * a * _geom_sq(t, beta2)


def _geom_sq(n: float, beta2: float) -> float:
    """``sum_{j=0}^{n-1} b2^(2j) = (1 - b2^(2n)) / (1 - b2^2)`` (0 for ``n <= 0``)."""
    if n <= 0:
        return 0.0
    if beta2 == 0.0:
        return 1.0
    return -math.expm1(2.0 * n * math.log(beta2)) / (1.0 - beta2 * beta2)


def effective_sample_size(t: float, beta2: float) -> float:
    """Effective sample size ``1 / sum_s w_s^2`` of the bias-corrected EMA of ``g^2``.

    ``ESS_1 = 1``; ``ESS_t -> (1 + b2) / (1 - b2)`` (1999 for ``b2 = 0.999``). The spread of
    ``log psi`` from sampling noise is about ``sqrt(c^2 / (4 ESS_t))`` with
    ``c^2 = Var[g^2] / E[g^2]^2`` (see :func:`logpsi_noise`).

    >>> round(effective_sample_size(1, 0.999), 9)
    1.0
    """
    return 1.0 / ema_weight_sq_sum(t, beta2)


def lagged_weight_diff_sq(t: float, k: float, beta2: float) -> float:
    """``H(t, k) = sum_s (w_s^(t) - w_s^(t-k))^2`` for bias-corrected EMA weights.

    ``w^(t)`` are the weights of the average after ``t`` steps and ``w^(t-k)`` those
    ``k`` steps earlier (zero for samples ``s > t - k``). For iid ``g^2`` with relative
    variance ``c^2``, ``Var[log v_hat_t - log v_hat_(t-k)] ~ c^2 H(t, k)``: the warmup
    detector inverts this to estimate ``c^2`` from the observed drift of ``log psi``.

    Closed form: with ``a_n = (1 - b2) / (1 - b2^n)`` and ``G(n) = (1 - b2^(2n)) / (1 - b2^2)``,
    ``H = (a_t b2^k - a_(t-k))^2 G(t - k) + a_t^2 G(k)``.
    """
    _check_beta2(beta2)
    _check_step(t)
    if not 0 < k <= t:
        raise ValueError(f"the lag k must satisfy 0 < k <= t, got k={k!r}, t={t!r}")
    if beta2 == 0.0:
        return 2.0 if k < t else 1.0
    a_t = (1.0 - beta2) / -math.expm1(t * math.log(beta2))
    head = 0.0
    if t - k > 0:
        a_prev = (1.0 - beta2) / -math.expm1((t - k) * math.log(beta2))
        head = (a_t * beta2**k - a_prev) ** 2 * _geom_sq(t - k, beta2)
    return head + a_t * a_t * _geom_sq(k, beta2)


def c2_from_drift(drift_var: float, t: float, k: float, beta2: float) -> float:
    """Estimate ``c^2`` from ``Var[log v_hat_t - log v_hat_(t-k)]`` across elements.

    Write ``v_t = b2^k v_(t-k) + I`` with the innovation ``I`` (the last ``k`` squared
    gradients) independent of ``v_(t-k)``; with relative errors ``iota`` of ``I`` and ``beta``
    of ``v_(t-k)`` (variances ``a = c^2 S_I`` and ``b = c^2 S_B``, ``S`` the sums of squared
    normalised weights) and ``L = (1 - b2^k) / (1 - b2^t)``::

        drift = log(1 + L x),   x = (1 + iota) / (1 + beta) - 1
        Var[x] = a E[(1 + beta)^-2] + Var[(1 + beta)^-1] ~ a + b + 3ab - b^2

    The linear part ``L^2 (a + b)`` is ``c^2 H(t, k)`` (:func:`lagged_weight_diff_sq`). The
    second-order part matters when ``v_(t-k)`` is itself noisy, as for sparse gradients
    early on (``c^2 = 29`` at ``t = 200``: the linear estimate is 23% high, this one 11%
    low; for Gaussian gradients both are within 3%). Solves
    ``L^2 (p c^2 + q c^4) = drift_var`` with ``p = S_I + S_B``, ``q = 3 S_I S_B - S_B^2``, and
    falls back to the linear estimate where ``q <= 0`` (lags much longer than ``t - k``).
    """
    if not drift_var >= 0:
        return math.nan
    linear = drift_var / lagged_weight_diff_sq(t, k, beta2)
    if t - k <= 0 or beta2 == 0.0:
        return linear
    big_l = -math.expm1(k * math.log(beta2)) / -math.expm1(t * math.log(beta2))
    s_b = ema_weight_sq_sum(t - k, beta2)
    s_i = _geom_sq(k, beta2) * ((1.0 - beta2) / -math.expm1(k * math.log(beta2))) ** 2
    p, q = s_i + s_b, 3.0 * s_i * s_b - s_b * s_b
    if q <= 0:
        return linear
    target = drift_var / (big_l * big_l)
    return 2.0 * target / (p + math.sqrt(p * p + 4.0 * q * target))


def logpsi_noise(c2: float, t: float, beta2: float) -> float:
    """Sampling std of ``log psi_t`` (about the relative std of ``psi_t``): ``sqrt(c^2 / (4 ESS_t))``."""
    return math.sqrt(max(c2, 0.0) / (4.0 * effective_sample_size(t, beta2)))


def logpsi_noise_floor(c2: float, beta2: float) -> float:
    """Stationary limit of :func:`logpsi_noise`: ``sqrt(c^2 (1 - b2) / (4 (1 + b2)))``."""
    _check_beta2(beta2)
    return math.sqrt(max(c2, 0.0) * (1.0 - beta2) / (4.0 * (1.0 + beta2)))


def gradient_c2(mean: float = 0.0, std: float = 1.0, density: float = 1.0) -> float:
    """``c^2 = Var[g^2] / E[g^2]^2`` for ``g ~ N(mean, std^2)`` kept with probability ``density``.

    >>> gradient_c2()                 # N(0, 1): E[g^4] / E[g^2]^2 - 1 = 3 - 1
    2.0
    >>> round(gradient_c2(density=0.1), 6)   # sparse: 3 / 0.1 - 1
    29.0
    """
    if std < 0 or not 0 < density <= 1:
        raise ValueError(f"need std >= 0 and 0 < density <= 1, got std={std!r}, density={density!r}")
    m2 = mean**2 + std**2
    m4 = mean**4 + 6 * mean**2 * std**2 + 3 * std**4
    if m2 == 0:
        raise ValueError("the gradient distribution is identically zero: c^2 is undefined")
    return m4 / (density * m2 * m2) - 1.0


def is_settled(
    rho: float,
    noise: float,
    noise_floor: float,
    staleness: float,
    tol: float = 0.1,
    floor_factor: float = 1.5,
) -> bool:
    """The warmup detector's criterion for one evaluation of one parameter group.

    Settled when ``r_t`` exists (``rho_t > 4``), the sampling noise of ``log psi`` is at most
    ``max(tol, floor_factor * noise_floor)`` and the staleness (how far ``psi`` lags a drifting
    gradient scale) is at most ``tol``. An undefined (NaN) noise or staleness is not settled.

    >>> is_settled(rho=30.0, noise=0.05, noise_floor=0.01, staleness=0.0)
    True
    >>> is_settled(rho=30.0, noise=0.2, noise_floor=0.01, staleness=0.0)
    False
    """
    return (
        rho > MIN_RECTIFY_RHO
        and noise <= max(tol, floor_factor * noise_floor)  # False for NaN
        and staleness <= tol
    )


def settling_step(c2: float, beta2: float, tol: float = 0.1, floor_factor: float = 1.5) -> int | None:
    """First step at which iid gradients with relative variance ``c2`` count as settled.

    :func:`is_settled` with the noise of iid gradients, ``sqrt(c2 / (4 ESS_t))``, and no drift
    (staleness 0).

    >>> settling_step(2.0, 0.999)    # N(0, 1) gradients
    51
    """
    if rho_inf(beta2) <= MIN_RECTIFY_RHO:
        return None
    floor = logpsi_noise_floor(c2, beta2)
    return _first_step_where(
        lambda t: is_settled(rho_t(t, beta2), logpsi_noise(c2, t, beta2), floor, 0.0, tol, floor_factor)
    )


def required_sample_size(c2: float, beta2: float, tol: float = 0.1, floor_factor: float = 1.5) -> float:
    """``ESS*``: the effective sample size at which the noise of ``log psi`` meets the criterion.

    The detector's noise criterion is ``sqrt(c^2 / (4 ESS_t)) <= max(tol, floor_factor * floor)``
    (:func:`is_settled`); solved for the sample size, ``ESS* = c^2 / (4 tau^2)`` with ``tau`` that
    threshold. Gaussian gradients (``c^2 = 2``) need 50 samples at ``tol = 0.1``; sparse ones with
    density 0.1 (``c^2 = 29``) need 725.

    >>> round(required_sample_size(2.0, 0.999), 6), round(required_sample_size(29.0, 0.999), 6)
    (50.0, 725.0)
    """
    tau = max(tol, floor_factor * logpsi_noise_floor(c2, beta2))
    if not tau > 0:
        raise ValueError(f"need tol > 0 or floor_factor > 0 with c2 > 0, got tol={tol!r}, c2={c2!r}")
    return max(c2, 0.0) / (4.0 * tau * tau)


def measured_rectification(
    c2: float,
    t: float,
    beta2: float,
    *,
    staleness: float = 0.0,
    tol: float = 0.1,
    floor_factor: float = 1.5,
) -> float:
    """The step multiplier that keeps the noise of the adaptive learning rate within tolerance.

    ``min(1, sqrt(ESS_t / ESS*)) * min(1, exp(-staleness))``, with ``ESS*`` from
    :func:`required_sample_size`: the ratio of the tolerated to the current sampling std of
    ``log psi_t``, capped at 1, so the multiplier reaches 1 exactly when the detector's noise
    criterion is met; and, while ``psi`` lags a growing gradient scale (``staleness > 0``, ``psi``
    too large by ``exp(staleness)``), that excess removed. A falling gradient scale (``psi`` too
    small) is never compensated by a multiplier above 1.

    RAdam's ``r_t`` is about ``sqrt(rho_t / rho_inf)`` ~ ``sqrt(ESS_t / ESS_inf)``: the same form with
    the reference sample size ``ESS_inf = (1 + b2) / (1 - b2)`` (the noise reaches its own floor, a
    relative target in which ``c^2`` cancels) where this one has ``ESS*`` (the noise reaches an
    absolute tolerance, which depends on the measured ``c^2``). See ``docs/measured_rectification.md``.

    >>> round(measured_rectification(2.0, 1, 0.999), 4)     # Gaussian, first step: sqrt(1 / 50)
    0.1414
    >>> measured_rectification(2.0, 60, 0.999), round(measured_rectification(29.0, 60, 0.999), 3)
    (1.0, 0.288)
    >>> measured_rectification(0.0, 1, 0.999)   # no spread in g^2: nothing to wait for
    1.0
    """
    _check_step(t)
    if not math.isfinite(c2) or c2 < 0:
        raise ValueError(f"c2 must be a finite number >= 0, got {c2!r}")
    # c^2 = 0 (squared gradients without spread, e.g. a constant gradient) needs no sample at all.
    ess, required = effective_sample_size(t, beta2), required_sample_size(c2, beta2, tol, floor_factor)
    noise_part = 1.0 if ess >= required else math.sqrt(ess / required)
    lag_part = math.exp(-staleness) if staleness > 0 else 1.0
    return noise_part * lag_part


def _first_step_where(
    predicate: Callable[[int], bool], upper_hint: int = 8, limit: int = 10**12
) -> int | None:
    """Smallest integer ``t >= 1`` with ``predicate(t)`` for a monotone predicate."""
    hi = max(1, upper_hint)
    while not predicate(hi):
        if hi >= limit:
            return None
        hi *= 2
    lo = 0  # predicate(lo) is treated as False
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if predicate(mid):
            hi = mid
        else:
            lo = mid
    return hi


#: ``r_t`` is only defined where ``rho_t > 4`` (the variance of the adaptive lr is infinite below).
MIN_RECTIFY_RHO = 4.0


def effective_threshold(threshold: float) -> float:
    """The threshold RAdam applies: a step is rectified when ``rho_t > max(threshold, 4)``.

    >>> effective_threshold(5.0), effective_threshold(2.0)
    (5.0, 4.0)
    """
    return max(float(threshold), MIN_RECTIFY_RHO)


def applied_rectification(t: float, beta2: float, threshold: float = 5.0) -> float:
    """The rectification RAdam applies at step ``t``: ``r_t`` if ``rho_t > max(threshold, 4)``, else 0.

    The optimizer's rule, in one place (its step paths and the warmup detector use it).

    >>> applied_rectification(5, 0.999), round(applied_rectification(6, 0.999), 6)
    (0.0, 0.025821)
    """
    rho = rho_t(t, beta2)
    if rho > effective_threshold(threshold):
        return rect_from_rho(rho, rho_inf(beta2))
    return 0.0


def first_rectified_step(beta2: float, threshold: float = 5.0) -> int | None:
    """First step ``t`` at which RAdam rectifies, i.e. ``rho_t > max(threshold, 4)``.

    ``threshold=5`` is torch's rule (and, in practice, the official code's ``>= 5``),
    ``threshold=4`` the paper's; lower values act as 4, as in the optimizer. Returns ``None``
    when ``rho_inf`` does not exceed that (for example ``beta2 <= 0.6`` with the default
    threshold, or a threshold above ``rho_inf``): RAdam then never rectifies.

    >>> first_rectified_step(0.999), first_rectified_step(0.999, 4.0), first_rectified_step(0.999, 1.0)
    (6, 5, 5)
    >>> first_rectified_step(0.999, 5000.0) is None
    True
    """
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    threshold = effective_threshold(threshold)
    if rho_inf(beta2) <= threshold:
        return None
    return _first_step_where(lambda t: rho_t(t, beta2) > threshold)


def steps_until_rectification(x: float, beta2: float) -> int | None:
    """First step at which ``r_t >= x`` (``x`` in ``(0, 1)``); ``None`` if never.

    ``r_t < 1`` for every finite ``t``, so ``x >= 1`` is never reached.

    >>> [steps_until_rectification(x, 0.999) for x in (0.5, 0.9, 0.99)]
    [556, 2737, 5654]
    """
    if not x > 0.0:
        raise ValueError(f"x must be > 0, got {x!r}")
    if x >= 1.0 or rho_inf(beta2) <= 4.0:
        return None
    return _first_step_where(lambda t: r_t(t, beta2) >= x)


def untuned_linear_warmup(beta2: float) -> int:
    """Ma & Yarats' (2021) untuned linear warmup length ``2 / (1 - beta2)``, rounded.

    ``round`` rather than ``int``: ``2 / (1 - 0.999)`` is 1999.9999999999982 in floating point.
    """
    _check_beta2(beta2)
    return round(2.0 / (1.0 - beta2))


def untuned_exponential_warmup(beta2: float) -> int:
    """Time constant ``1 / (1 - beta2)`` (rounded) of Ma & Yarats' untuned exponential warmup."""
    _check_beta2(beta2)
    return round(1.0 / (1.0 - beta2))


def untuned_warmup_factor(t: float, beta2: float, kind: str = "linear") -> float:
    """Learning-rate multiplier of the untuned warmup at (1-based) step ``t``.

    ``"linear"``: ``min(1, t / (2 / (1 - b2)))``; ``"exponential"``: ``1 - exp(-(1 - b2) t)``.
    """
    _check_step(t)
    if kind == "linear":
        return min(1.0, t / untuned_linear_warmup(beta2))
    if kind == "exponential":
        _check_beta2(beta2)
        return -math.expm1(-(1.0 - beta2) * t)
    raise ValueError(f"kind must be 'linear' or 'exponential', got {kind!r}")


def suggested_warmup_steps(settled_step: int, beta2: float, minimum: int = 10) -> int:
    """Linear warmup length for a measured settled step ``T``: ``clip(2 T, minimum, 2/(1-b2))``.

    A linear ramp over ``2 T`` steps withholds the same total learning rate
    (``sum_t (1 - omega_t)``) as a hard switch at ``T``; the untuned rule caps it.
    """
    if settled_step < 0:
        raise ValueError(f"settled_step must be >= 0, got {settled_step!r}")
    cap = untuned_linear_warmup(beta2)
    return int(min(max(2 * settled_step, minimum), max(cap, minimum)))


@dataclass(frozen=True)
class ScheduleHorizons:
    """Characteristic step counts of RAdam / Adam warmup for one ``beta2``."""

    beta2: float
    threshold: float
    rho_inf: float
    first_rectified_step: int | None
    r_half: int | None
    r_90: int | None
    r_99: int | None
    ess_limit: float
    untuned_linear_warmup: int
    untuned_exponential_warmup: int

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def schedule_horizons(beta2: float, threshold: float = 5.0) -> ScheduleHorizons:
    """All the horizons for ``beta2`` in one record (used by ``radam-integrations schedule``).

    The ``r_t`` horizons are those of the optimizer's applied rectification: never (``None``)
    when it never rectifies, and not before its first rectified step.

    >>> h = schedule_horizons(0.999, threshold=1000.0)
    >>> h.first_rectified_step, h.r_half, h.r_90
    (1257, 1257, 2737)
    """
    first = first_rectified_step(beta2, threshold)

    def applied(x: float) -> int | None:
        step = steps_until_rectification(x, beta2)
        return None if first is None or step is None else max(first, step)

    return ScheduleHorizons(
        beta2=beta2,
        threshold=threshold,
        rho_inf=rho_inf(beta2),
        first_rectified_step=first,
        r_half=applied(0.5),
        r_90=applied(0.9),
        r_99=applied(0.99),
        ess_limit=(1.0 + beta2) / (1.0 - beta2),
        untuned_linear_warmup=untuned_linear_warmup(beta2),
        untuned_exponential_warmup=untuned_exponential_warmup(beta2),
    )


#: Decay schedules as the frameworks define them with no warmup: ``"linear"`` to 0 (the HF Trainer's
#: default ``lr_scheduler_type``), ``"cosine"`` to 0 (HF's ``cosine``, timm's ``train.py`` default
#: with its warmup off and ``min_lr`` 0), ``"constant"``.
DECAYS = ("constant", "linear", "cosine")


def decay_factor(step: int, total: int, decay: str) -> float:
    """The learning-rate factor of a ``total``-step run at scheduler step ``step`` (0-based).

    As a torch ``LambdaLR`` does, optimizer step ``t`` (1-based) runs at ``decay_factor(t - 1, ...)``:
    HF's ``get_linear_schedule_with_warmup`` and ``get_cosine_schedule_with_warmup`` with no warmup.

    >>> decay_factor(0, 100, "linear"), decay_factor(50, 100, "linear"), decay_factor(50, 100, "cosine")
    (1.0, 0.5, 0.5)
    """
    if decay not in DECAYS:
        raise ValueError(f"decay must be one of {DECAYS}, got {decay!r}")
    if total < 1:
        raise ValueError(f"total must be >= 1 step, got {total!r}")
    progress = min(max(step, 0), total) / total
    if decay == "linear":
        return 1.0 - progress
    if decay == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0


@dataclass(frozen=True)
class DecayedRectification:
    """What RAdam's rectification and a decay schedule do together over a run.

    RAdam's adaptive step at step ``t`` is scaled by ``r_t * decay`` (``r_t`` the applied
    rectification, 0 before the first rectified step, whose updates are momentum-SGD steps).
    ``peak`` is the largest such factor and ``peak_step`` where it occurs; ``half_from`` and
    ``half_until`` the first and last step at which the factor is at least half of its peak;
    ``below_half_lr`` the share of the run's steps whose factor is below 0.5 (half the base
    learning rate), and ``decay_below_half_lr`` the same for the decay alone (Adam with that
    schedule and no warmup). ``decay`` names one of :data:`DECAYS`, or, for a schedule read
    from a run (:func:`rectified_schedule`), says it in words; its base is then the run's peak.
    """

    beta2: float
    steps: int
    decay: str
    threshold: float
    peak: float
    peak_step: int | None
    half_from: int | None
    half_until: int | None
    below_half_lr: float
    decay_below_half_lr: float

    def as_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)

    def note(self) -> str | None:
        """One sentence when RAdam's steps stay below half the base learning rate clearly longer
        (15 points of the run or more) than the decay alone would keep them; else ``None``.

        >>> print(decayed_rectification(0.999, 2000, "linear").note()[:99])
        beta2=0.999, 2000 steps, linear decay: RAdam's steps run below half the base learning rate for 100%
        >>> decayed_rectification(0.99, 2000, "linear").note() is None
        True
        """
        if self.below_half_lr < max(0.5, self.decay_below_half_lr + 0.15):
            return None
        named = self.decay in DECAYS
        what = "decay" if named and self.decay != "constant" else "schedule"
        half = schedule_horizons(self.beta2, self.threshold).r_half
        why = (
            "RAdam never rectifies at this beta2 (its steps are momentum-SGD steps)"
            if half is None
            else f"r_t reaches 0.5 only at step {half}: its rectification is a warmup of its own, which this "
            f"{'run' if self.decay == 'constant' else what} cuts short"
        )
        schedule = {"constant": "constant learning rate"}.get(
            self.decay, f"{self.decay} decay" if named else self.decay
        )
        return (
            f"beta2={self.beta2:g}, {self.steps} steps, {schedule}: RAdam's steps run below half the "
            f"{'base' if named else 'peak'} learning rate for {100 * self.below_half_lr:.0f}% of the run "
            f"(the {what} alone: {100 * self.decay_below_half_lr:.0f}%), since {why}."
        )


def decayed_rectification(
    beta2: float, steps: int, decay: str, threshold: float = 5.0
) -> DecayedRectification:
    """:class:`DecayedRectification` of a ``steps``-step run (one pass over the steps).

    At beta2 = 0.999, ``r_t`` first reaches 0.5 at step 556: on an 800-step run with a linear
    decay, RAdam's effective factor peaks at 0.24 (step 263) and never reaches half the base
    learning rate, where the decay alone is below half for the second half of the run.

    >>> d = decayed_rectification(0.999, 800, "linear")
    >>> round(d.peak, 3), d.peak_step, d.below_half_lr, d.decay_below_half_lr
    (0.236, 263, 1.0, 0.49875)
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}")
    return rectified_schedule(
        beta2, [decay_factor(t - 1, steps, decay) for t in range(1, steps + 1)], decay, threshold
    )


def rectified_schedule(
    beta2: float, schedule: Sequence[float], decay: str, threshold: float = 5.0
) -> DecayedRectification:
    """:class:`DecayedRectification` of a run whose learning-rate factor at optimizer step ``t``
    (1-based) is ``schedule[t - 1]`` (1.0: the base, or the run's peak learning rate).

    ``decay`` names the schedule: one of :data:`DECAYS` (:func:`decay_shape` says which one a
    schedule follows) or words for the note (``"the run's learning-rate schedule"``).

    >>> warmup_then_linear = [min(t / 100, (1000 - t) / 900) for t in range(1000)]
    >>> d = rectified_schedule(0.999, warmup_then_linear, "its schedule")
    >>> d.steps, round(d.peak, 3), d.below_half_lr
    (1000, 0.292, 1.0)
    """
    decays = [float(f) for f in schedule]
    if not decays or not all(math.isfinite(f) and f >= 0 for f in decays):
        raise ValueError("schedule must be a non-empty sequence of finite factors >= 0")
    steps = len(decays)
    factors = [applied_rectification(t, beta2, threshold) * d for t, d in enumerate(decays, start=1)]
    peak = max(factors)
    above = [t for t, f in enumerate(factors, start=1) if peak > 0 and f >= 0.5 * peak]
    return DecayedRectification(
        beta2=beta2,
        steps=steps,
        decay=decay,
        threshold=threshold,
        peak=peak,
        peak_step=factors.index(peak) + 1 if peak > 0 else None,
        half_from=above[0] if above else None,
        half_until=above[-1] if above else None,
        below_half_lr=sum(f < 0.5 for f in factors) / steps,
        decay_below_half_lr=sum(d < 0.5 for d in decays) / steps,
    )


def decay_shape(schedule: Sequence[float], tolerance: float = 0.05) -> str | None:
    """Which of :data:`DECAYS` the factors ``schedule[t - 1]`` of a run follow, or ``None``.

    A schedule follows a decay when no step's factor is more than ``tolerance`` from
    ``decay_factor(t - 1, len(schedule), decay)``: so a schedule with a warmup of more than a few
    percent of the run follows none.

    >>> decay_shape([1 - t / 200 for t in range(200)]), decay_shape([min(1.0, t / 50) for t in range(200)])
    ('linear', None)
    """
    steps = len(schedule)
    if steps == 0:
        return None
    for decay in DECAYS:
        if all(abs(f - decay_factor(t, steps, decay)) <= tolerance for t, f in enumerate(schedule)):
            return decay
    return None
