"""Exercises of the notebook on hyperparameter search.

1. ``log_uniform(u, low, high)``: turn uniform numbers into learning rates spread evenly
   over the decades between ``low`` and ``high``.
2. ``beta_from_unit(u, low, high)``: the same for a beta near 1, sampling 1 - beta on a log
   scale.
3. ``expected_improvement(mean, std, best, xi)``: the acquisition function of Bayesian
   optimisation, from the Gaussian process's prediction.
4. An experiment: the learning rate for the whole training set, chosen by validation within
   a budget of trainings (the checker repeats the experiment on its own runs).
"""
from __future__ import annotations

import functools

import numpy as np

from ...search.acquisition import normal_cdf, normal_pdf
from ...search.digits import DIGITS_DEFAULTS, DigitsObjective
from ..exercise import Case, Exercise, Mistake, ValidationChoice
from ..seeds import seeds_from

__all__ = ["LOG_UNIFORM", "BETA_FROM_UNIT", "EXPECTED_IMPROVEMENT", "check_log_uniform",
           "check_beta_from_unit", "check_expected_improvement", "log_uniform_reference",
           "beta_from_unit_reference", "expected_improvement_reference", "FULL_DATA_RATE_CHOICE",
           "check_full_data_rate_choice", "choose_full_data_rate_solution",
           "full_data_val_loss"]

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


# ------------------------------------------------ experiment: a rate for the whole training set

@functools.lru_cache(maxsize=256)
def full_data_val_loss(learning_rate, seed):
    """The validation loss of the digits objective (DIGITS_DEFAULTS, 12 epochs) trained on the
    whole training split (1,257 examples) with ``learning_rate``, on one seed (NaN if it
    diverged)."""
    loss = DigitsObjective(n_train=None, seed=int(seed))(
        {**DIGITS_DEFAULTS, "learning_rate": float(learning_rate)})
    return loss if np.isfinite(loss) else float("nan")


# Half-decade steps from 1e-4 to 1. Margin 0.04: the best medians (0.05 to 0.06, at 0.01) lie
# within 0.03 of those at 0.003, and the seeds of one rate spread over about 0.02 there; a
# rate a half-decade past either side of that pair costs 0.09 or more (SEED 0, 1 and 2).
FULL_DATA_RATE_CHOICE = ValidationChoice(
    "a learning rate for the whole training set, chosen by validation", "learning rate",
    full_data_val_loss, grid=tuple(float(r) for r in np.geomspace(1e-4, 1.0, 9)),
    low=1e-4, high=1.0, margin=0.04)


def choose_full_data_rate_solution(seed=0):
    """One way within 8 trainings per seed: a coarse pass a decade apart (5 rates), then the
    half-decades either side of the best (2 or 3 more), medians over the seeds of ``seed``;
    the validation split, never the test set."""
    def median(rate):
        return np.nanmedian([full_data_val_loss(rate, s) for s in seeds_from(seed)])

    coarse = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    best = min(coarse, key=median)
    fine = [r for r in (best / 10 ** 0.5, best * 10 ** 0.5) if 1e-4 <= r <= 1.0]
    return min([best, *fine], key=median)


def check_full_data_rate_choice(learning_rate, seed=0):
    """Score a learner's learning rate for the digits network on the whole training set on the
    checker's own runs (the seeds ``seeds_from(seed)``)."""
    return FULL_DATA_RATE_CHOICE.check(learning_rate, seed)
