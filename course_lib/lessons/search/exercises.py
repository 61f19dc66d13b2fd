"""Exercises of the notebook on hyperparameter search.

1. ``log_uniform(u, low, high)``: turn uniform numbers into learning rates spread evenly
   over the decades between ``low`` and ``high``.
2. ``beta_from_unit(u, low, high)``: the same for a beta near 1, sampling 1 - beta on a log
   scale.
3. ``expected_improvement(mean, std, best, xi)``: the acquisition function of Bayesian
   optimisation, from the Gaussian process's prediction.
"""
from __future__ import annotations

import numpy as np

from ...search.acquisition import normal_cdf, normal_pdf
from ..exercise import Case, Exercise, Mistake

__all__ = ["LOG_UNIFORM", "BETA_FROM_UNIT", "EXPECTED_IMPROVEMENT", "check_log_uniform",
           "check_beta_from_unit", "check_expected_improvement", "log_uniform_reference",
           "beta_from_unit_reference", "expected_improvement_reference"]

_U = np.array([0.0, 0.05, 0.25, 0.5, 0.6, 0.75, 0.99])

# ------------------------------------------------------------------------ log-uniform


def log_uniform_reference(u, low, high):
    """u (n,) in [0, 1) -> (n,) values whose log10 is uniform in [log10 low, log10 high]."""
    r = np.log10(low) + np.asarray(u) * (np.log10(high) - np.log10(low))
    return 10.0 ** r


LOG_UNIFORM = Exercise(
    "log-uniform learning rates",
    log_uniform_reference,
    [Case("1e-4 .. 1", (_U, 1e-4, 1.0)),
     Case("1e-6 .. 1e-2", (_U, 1e-6, 1e-2)),
     Case("0.5 .. 8", (_U, 0.5, 8.0))],
    mistakes=[
        Mistake("you sampled on a linear scale (low + u * (high - low)): then 90% of the "
                "values between 1e-4 and 1 fall between 0.1 and 1. Draw the exponent "
                "uniformly instead: r = log10(low) + u * (log10(high) - log10(low)).",
                lambda u, low, high: low + np.asarray(u) * (high - low)),
        Mistake("you returned the exponent r itself; the learning rate is 10 ** r.",
                lambda u, low, high: np.log10(low) + np.asarray(u) * (np.log10(high) - np.log10(low))),
        Mistake("you took logarithms in base 10 but exponentiated with np.exp: use the same "
                "base both ways (10 ** r with log10, or np.exp with np.log).",
                lambda u, low, high: np.exp(np.log10(low) + np.asarray(u) * (np.log10(high) - np.log10(low)))),
        Mistake("you used low and high as exponents (10 ** (low + u * (high - low))); take "
                "their logarithms first: the exponent runs from log10(low) to log10(high).",
                lambda u, low, high: 10.0 ** (low + np.asarray(u) * (high - low))),
        Mistake("the direction is reversed: u = 0 must give low and u close to 1 must give "
                "values close to high.",
                lambda u, low, high: 10.0 ** (np.log10(high) + np.asarray(u) * (np.log10(low) - np.log10(high)))),
    ],
    rtol=1e-7,
)


def check_log_uniform(fn):
    """Check ``fn(u, low, high)`` against the log-uniform mapping."""
    return LOG_UNIFORM.check(fn)


# ------------------------------------------------------------------------ beta near 1


def beta_from_unit_reference(u, low=0.9, high=0.999):
    """u (n,) in [0, 1) -> betas in [low, high] with log10(1 - beta) uniform."""
    r = np.log10(1.0 - low) + np.asarray(u) * (np.log10(1.0 - high) - np.log10(1.0 - low))
    return 1.0 - 10.0 ** r


BETA_FROM_UNIT = Exercise(
    "beta on the 1 - beta log scale",
    beta_from_unit_reference,
    [Case("0.9 .. 0.999", (_U, 0.9, 0.999)),
     Case("0.99 .. 0.9999", (_U, 0.99, 0.9999)),
     Case("0.5 .. 0.95", (_U, 0.5, 0.95))],
    mistakes=[
        Mistake("you sampled beta on a linear scale: 90% of the betas then fall between 0.9 "
                "and 0.99, and almost none where beta matters most, near 0.999. Sample "
                "1 - beta on a log scale: r uniform between log10(1 - low) and log10(1 - high).",
                lambda u, low, high: low + np.asarray(u) * (high - low)),
        Mistake("you spread beta itself over a log scale; between 0.9 and 0.999 log(beta) is "
                "almost linear, so this is nearly uniform sampling. Work with 1 - beta: "
                "r between log10(1 - low) and log10(1 - high), then beta = 1 - 10 ** r.",
                lambda u, low, high: 10.0 ** (np.log10(low) + np.asarray(u) * (np.log10(high) - np.log10(low)))),
        Mistake("you returned 1 - beta (10 ** r); return beta = 1 - 10 ** r.",
                lambda u, low, high: 10.0 ** (np.log10(1 - low) + np.asarray(u) * (np.log10(1 - high) - np.log10(1 - low)))),
        Mistake("the direction is reversed: u = 0 must give beta = low (for example 0.9) and "
                "u close to 1 a beta close to high.",
                lambda u, low, high: 1.0 - 10.0 ** (np.log10(1 - high) + np.asarray(u) * (np.log10(1 - low) - np.log10(1 - high)))),
    ],
    rtol=1e-7,
)


def check_beta_from_unit(fn):
    """Check ``fn(u, low, high)`` against sampling 1 - beta on a log scale."""
    return BETA_FROM_UNIT.check(fn)


# ------------------------------------------------------------------ expected improvement


def expected_improvement_reference(mean, std, best, xi=0.0):
    """EI for minimisation; mean, std arrays (m,) with std > 0; returns (m,)."""
    improvement = best - np.asarray(mean) - xi
    z = improvement / np.asarray(std)
    return improvement * normal_cdf(z) + np.asarray(std) * normal_pdf(z)


def _ei_variant(sign=1.0, xi_sign=-1.0, swap=False, second_std=True, second_term=True,
                scale_z=True):
    def variant(mean, std, best, xi=0.0):
        mean, std = np.asarray(mean), np.asarray(std)
        improvement = sign * (best - mean) + xi_sign * xi
        z = improvement / std if scale_z else improvement
        first, second = (normal_pdf(z), normal_cdf(z)) if swap else (normal_cdf(z), normal_pdf(z))
        out = improvement * first
        if second_term:
            out = out + (std if second_std else 1.0) * second
        return out
    return variant


_MEAN = np.array([0.10, 0.28, 0.30, 0.35, 0.60, 1.20])
_STD = np.array([0.05, 0.02, 0.10, 0.30, 0.25, 0.90])

EXPECTED_IMPROVEMENT = Exercise(
    "expected improvement",
    expected_improvement_reference,
    [Case("xi = 0", (_MEAN, _STD, 0.3, 0.0)),
     Case("xi = 0.05", (_MEAN, _STD, 0.3, 0.05)),
     Case("other best", (_MEAN, _STD * 2, 0.8, 0.01))],
    mistakes=[
        Mistake("your improvement has the sign of a maximisation (mean - best): here lower "
                "scores are better, so the improvement is best - mean - xi.",
                _ei_variant(sign=-1.0)),
        Mistake("xi is missing: the improvement is best - mean - xi (xi > 0 asks for a margin "
                "and so favours exploration).",
                _ei_variant(xi_sign=0.0)),
        Mistake("xi has the wrong sign: subtract it (best - mean - xi), so that a larger xi "
                "demands a larger improvement.",
                _ei_variant(xi_sign=1.0)),
        Mistake("Phi and phi are swapped: the improvement multiplies the distribution "
                "function Phi(z), the standard deviation multiplies the density phi(z).",
                _ei_variant(swap=True)),
        Mistake("the second term needs the standard deviation: sigma * phi(z), so that "
                "uncertain points (exploration) get credit.",
                _ei_variant(second_std=False)),
        Mistake("you kept only the exploitation term (best - mean - xi) * Phi(z); add the "
                "exploration term sigma * phi(z).",
                _ei_variant(second_term=False)),
        Mistake("z must be divided by the standard deviation: z = (best - mean - xi) / sigma.",
                _ei_variant(scale_z=False)),
    ],
    rtol=1e-6,
)


def check_expected_improvement(fn):
    """Check ``fn(mean, std, best, xi)`` against the expected-improvement formula."""
    return EXPECTED_IMPROVEMENT.check(fn)
