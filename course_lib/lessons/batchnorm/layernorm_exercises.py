"""Exercise 3 of the notebook on batch normalization: layer normalization.

1. ``layernorm_forward(x, gamma, beta, epsilon)``: normalize each example (row) of ``x`` over
   its features, then scale and shift; the same at training and at inference.
2. (stretch) ``layernorm_backward(grad_out, x, gamma, epsilon)``: the gradients
   ``(dx, dgamma, dbeta)``.

The cases include a square batch (where the batch axis gives an output of the right shape),
an example whose features barely vary (where epsilon matters), a single example (where the
batch axis leaves nothing to normalize) and a wide batch (more features than examples).
"""
from __future__ import annotations

import warnings

import numpy as np

from ...checks import numerical_gradient_array, rel_error
from ..exercise import Case, Exercise, Mistake

EPSILON = 1e-3


# --------------------------------------------------------------------------- the forward pass

def layernorm_forward_solution(x, gamma, beta, epsilon=EPSILON):
    """Layer normalization of ``x`` (batch, features); gamma, beta: shape (features,).

    Each example is normalized with the mean and population variance of its own features.
    """
    x = np.asarray(x, dtype=float)
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    x_hat = (x - mean) / np.sqrt(var + epsilon)
    return gamma * x_hat + beta


def _forward_variant(*, axis=1, ddof=0, scale="sqrt_inside", affine="gamma_beta"):
    """A wrong forward pass built from its parts (each argument replaces one right part)."""

    def forward(x, gamma, beta, epsilon=EPSILON):
        x = np.asarray(x, dtype=float)
        if affine == "before":
            x = gamma * x + beta
        mean = x.mean(axis=axis, keepdims=True)
        var = x.var(axis=axis, ddof=ddof, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            if scale == "sqrt_inside":
                x_hat = (x - mean) / np.sqrt(var + epsilon)
            elif scale == "eps_outside":
                x_hat = (x - mean) / (np.sqrt(var) + epsilon)
            elif scale == "no_eps":
                x_hat = (x - mean) / np.sqrt(var)
            else:  # "variance"
                x_hat = (x - mean) / (var + epsilon)
        if affine == "gamma_beta":
            return gamma * x_hat + beta
        if affine == "swapped":
            return beta * x_hat + gamma
        return x_hat  # "none", or "before" (scaled and shifted first)

    return forward


def _layernorm_case(name, seed, n, d):
    rng = np.random.default_rng(seed + 300)
    x = rng.normal(0.0, 1.0, (n, d)) * rng.uniform(0.5, 4.0, (n, 1)) + rng.normal(0.0, 3.0, (n, 1))
    if n > 1:
        x[-1] = 1.5 + 0.02 * rng.standard_normal(d)   # variance 4e-4 < epsilon: epsilon matters
    return x, rng.uniform(0.5, 2.0, d), rng.normal(0.0, 1.0, d), rng


_SHAPES = [("batch of 5 with 6 features", 0, 5, 6), ("square batch 4 x 4", 1, 4, 4),
           ("one example", 2, 1, 5), ("batch of 3 with 8 features", 3, 3, 8)]

LAYERNORM_FORWARD = Exercise(
    "layer-norm forward pass",
    layernorm_forward_solution,
    cases=[Case(name, _layernorm_case(name, seed, n, d)[:3]) for name, seed, n, d in _SHAPES],
    mistakes=[
        Mistake("you normalized each feature over the batch (axis=0): that is batch "
                "normalization. Layer normalization takes the mean and variance of each "
                "example over its own features: x.mean(axis=1, keepdims=True) and "
                "x.var(axis=1, keepdims=True), one value per example.",
                _forward_variant(axis=0)),
        Mistake("you used the unbiased variance (ddof=1, e.g. x.std(axis=1, ddof=1)), which "
                "divides by the number of features minus 1. Layer normalization, like batch "
                "normalization and Keras, uses the population variance, np.var(x, axis=1, "
                "keepdims=True), which divides by the number of features.",
                _forward_variant(ddof=1)),
        Mistake("two slips: x.std(..., ddof=1) is the unbiased standard deviation (use the "
                "population one, ddof=0, np.var's default), and epsilon belongs inside the "
                "square root: (x - mean) / sqrt(var + epsilon).",
                _forward_variant(ddof=1, scale="eps_outside")),
        Mistake("epsilon belongs inside the square root: (x - mean) / sqrt(var + epsilon). "
                "You wrote (x - mean) / (sqrt(var) + epsilon), which differs most for an "
                "example whose features barely vary (the last example of these cases).",
                _forward_variant(scale="eps_outside")),
        Mistake("you forgot epsilon: divide by sqrt(var + epsilon). It keeps the division safe "
                "for an example whose features barely vary.",
                _forward_variant(scale="no_eps")),
        Mistake("you divided by the variance; divide by the standard deviation, "
                "sqrt(var + epsilon), so that each example's x_hat has variance 1.",
                _forward_variant(scale="variance")),
        Mistake("gamma and beta are swapped: the output is gamma * x_hat + beta (gamma scales, "
                "beta shifts).",
                _forward_variant(affine="swapped")),
        Mistake("you returned x_hat: finish with gamma * x_hat + beta, one learned scale and "
                "shift per feature.",
                _forward_variant(affine="none")),
        Mistake("scale and shift come after the normalization, y = gamma * x_hat + beta, not "
                "before it.",
                _forward_variant(affine="before")),
    ],
)

_KEEPDIMS_HINT = (" Hint: the statistics are one number per example, over its features: "
                  "x.mean(axis=1, keepdims=True) has shape (batch, 1) and broadcasts against x "
                  "of shape (batch, features).")


def _quietly(check, fn):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)    # e.g. ddof=1 on a single value
        return check(fn)


def check_layernorm_forward(fn):
    """Check a learner's ``layernorm_forward``; returns a :class:`CheckResult`."""
    result = _quietly(LAYERNORM_FORWARD.check, fn)
    if not result.passed and "broadcast" in result.message:
        result.message += _KEEPDIMS_HINT
    return result


# --------------------------------------------------------------------------- the backward pass

def layernorm_backward_solution(grad_out, x, gamma, epsilon=EPSILON):
    """Gradients of ``y = gamma * x_hat + beta`` with x_hat normalized over each example.

    Args:
        grad_out: d loss / dy, shape (batch, features).
        x: the input of the forward pass, shape (batch, features).
        gamma: the scale, shape (features,).
        epsilon: the constant added to the variance.

    Returns:
        (dx, dgamma, dbeta) of shapes (batch, features), (features,), (features,).
    """
    x = np.asarray(x, dtype=float)
    grad_out = np.asarray(grad_out, dtype=float)
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + epsilon)
    x_hat = (x - mean) * inv_std
    dgamma = np.sum(grad_out * x_hat, axis=0)
    dbeta = np.sum(grad_out, axis=0)
    dx_hat = grad_out * gamma
    dx = inv_std * (dx_hat - dx_hat.mean(axis=1, keepdims=True)
                    - x_hat * np.mean(dx_hat * x_hat, axis=1, keepdims=True))
    return dx, dgamma, dbeta


def _backward_variant(*, mean_term=True, variance_term=True, stats_axis=1, reduce="mean",
                      use_gamma=True, param_axis=0):
    """A wrong backward pass built from its parts (each argument replaces one right part)."""

    def backward(grad_out, x, gamma, epsilon=EPSILON):
        x = np.asarray(x, dtype=float)
        grad_out = np.asarray(grad_out, dtype=float)
        mean = x.mean(axis=1, keepdims=True)
        var = x.var(axis=1, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + epsilon)
        x_hat = (x - mean) * inv_std
        if param_axis is None:
            dgamma, dbeta = grad_out * x_hat, grad_out
        else:
            dgamma, dbeta = np.sum(grad_out * x_hat, axis=param_axis), np.sum(grad_out, axis=param_axis)
        dx_hat = grad_out * gamma if use_gamma else grad_out
        combine = np.mean if reduce == "mean" else np.sum
        dx = dx_hat.copy()
        if mean_term:
            dx -= combine(dx_hat, axis=stats_axis, keepdims=True)
        if variance_term:
            dx -= x_hat * combine(dx_hat * x_hat, axis=stats_axis, keepdims=True)
        return dx * inv_std, dgamma, dbeta

    return backward


def _backward_case(name, seed, n, d):
    x, gamma, _, rng = _layernorm_case(name, seed, n, d)
    return Case(name, (rng.standard_normal((n, d)), x, gamma))


LAYERNORM_BACKWARD = Exercise(
    "layer-norm backward pass",
    layernorm_backward_solution,
    cases=[_backward_case(name, seed, n, d) for name, seed, n, d in _SHAPES],
    mistakes=[
        Mistake("you treated each example's mean and variance as constants. They depend on "
                "all the example's features, which adds two terms: dx = inv_std * (dx_hat - "
                "mean(dx_hat) - x_hat * mean(dx_hat * x_hat)), means over the features "
                "(axis=1, keepdims=True).",
                _backward_variant(mean_term=False, variance_term=False)),
        Mistake("the term from the variance is missing: subtract "
                "x_hat * mean(dx_hat * x_hat, axis=1, keepdims=True) as well.",
                _backward_variant(variance_term=False)),
        Mistake("the term from the mean is missing: subtract mean(dx_hat, axis=1, "
                "keepdims=True) as well.",
                _backward_variant(mean_term=False)),
        Mistake("the correction terms of dx are means over the batch (axis=0): that is batch "
                "normalization's backward pass. Here the statistics are over each example's "
                "features, so the means are over axis=1.",
                _backward_variant(stats_axis=0)),
        Mistake("the correction terms are means over the features, not sums: divide them by "
                "the number of features (or write dx_hat.mean(axis=1, keepdims=True)).",
                _backward_variant(reduce="sum")),
        Mistake("dx_hat is grad_out * gamma: the output is gamma * x_hat + beta, so the "
                "gradient reaching x_hat is scaled by gamma.",
                _backward_variant(use_gamma=False)),
        Mistake("dgamma and dbeta are sums over the batch (axis=0), shape (features,): there is "
                "one gamma and one beta per feature, shared by every example.",
                _backward_variant(param_axis=1)),
        Mistake("dgamma and dbeta must be summed over the batch: gamma and beta are shared by "
                "every example, so their gradients add up, shape (features,).",
                _backward_variant(param_axis=None)),
    ],
)


def layernorm_numerical_dx(grad_out, x, gamma, epsilon=EPSILON):
    """d/dx of ``sum(layernorm_forward(x) * grad_out)`` by central differences, shape of x."""
    x = np.array(x, dtype=float)
    beta = np.zeros(x.shape[1])
    return numerical_gradient_array(
        lambda values: layernorm_forward_solution(values, gamma, beta, epsilon), x, grad_out)


def check_layernorm_backward(fn):
    """Check a learner's ``layernorm_backward``; returns a :class:`CheckResult`. When dx is
    wrong in a way not listed, the message adds its relative error against the numerical
    gradient."""
    result = _quietly(LAYERNORM_BACKWARD.check, fn)
    if result.passed or not callable(fn) or not result.message.startswith(("case", "result 0")):
        return result
    case = LAYERNORM_BACKWARD.cases[0]
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            dx = np.asarray(fn(*[np.array(a, copy=True) for a in case.args])[0], dtype=float)
        error = rel_error(dx, layernorm_numerical_dx(*case.args))
    except Exception:  # the learner's code may fail in any way; the first message stands
        return result
    if np.isfinite(error) and error > 1e-6:
        result.message += (f" Your dx differs from the numerical gradient by a relative error of "
                           f"{error:.1e} (a correct backward pass gives about 1e-8).")
    return result


__all__ = ["LAYERNORM_FORWARD", "LAYERNORM_BACKWARD", "layernorm_forward_solution",
           "layernorm_backward_solution", "check_layernorm_forward", "check_layernorm_backward",
           "layernorm_numerical_dx"]
