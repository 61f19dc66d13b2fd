"""Expected improvement: how much a point may beat the best score so far, on average.

For a Gaussian prediction with mean mu and standard deviation sigma at a point, and the best
(lowest) score so far f*, the improvement is max(f* - xi - f, 0) and its expectation is

    EI = (f* - mu - xi) Phi(z) + sigma phi(z),   z = (f* - mu - xi) / sigma,

with phi and Phi the standard normal density and distribution function. The first term
rewards a low predicted score (exploitation), the second a large uncertainty (exploration);
``xi >= 0`` asks for an improvement of at least xi and so tilts the balance to exploring.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["normal_pdf", "normal_cdf", "expected_improvement"]

_ERFC = np.frompyfunc(math.erfc, 1, 1)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def normal_pdf(z):
    """Standard normal density phi(z), elementwise."""
    z = np.asarray(z, dtype=float)
    return _INV_SQRT_2PI * np.exp(-0.5 * z * z)


def normal_cdf(z):
    """Standard normal distribution function Phi(z) = erfc(-z / sqrt 2) / 2, elementwise."""
    z = np.asarray(z, dtype=float)
    return 0.5 * _ERFC(-z / math.sqrt(2.0)).astype(float)


def _tau(z):
    """z Phi(z) + phi(z), accurate also far in the left tail (where both terms cancel)."""
    z = np.asarray(z, dtype=float)
    out = z * normal_cdf(z) + normal_pdf(z)
    tail = z < -10.0
    if np.any(tail):
        zt = z[tail]
        inv = 1.0 / (zt * zt)
        out[tail] = normal_pdf(zt) * inv * (1 - 3 * inv + 15 * inv ** 2 - 105 * inv ** 3
                                            + 945 * inv ** 4)
    return np.maximum(out, 0.0)


def expected_improvement(mean, std, best, xi=0.0):
    """Expected improvement (for minimisation) of predictions ``mean``, ``std`` (arrays of
    the same shape) over the best score ``best``; ``xi >= 0`` is the required margin.

    Where ``std`` is 0 the outcome is certain and EI = max(best - xi - mean, 0).
    """
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    improvement = best - xi - mean
    safe = np.where(std > 0, std, 1.0)
    z = improvement / safe
    return np.where(std > 0, safe * _tau(z), np.maximum(improvement, 0.0))


def expected_improvement_grad(mean, std, d_mean, d_std, best, xi=0.0):
    """EI (m,) and its gradient (m, d) from the predictions and their gradients (m, d):
    dEI = phi(z) dsigma - Phi(z) dmu."""
    std = np.maximum(np.asarray(std, dtype=float), 1e-300)
    z = (best - xi - np.asarray(mean, dtype=float)) / std
    ei = std * _tau(z)
    grad = normal_pdf(z)[:, None] * d_std - normal_cdf(z)[:, None] * d_mean
    return ei, grad
