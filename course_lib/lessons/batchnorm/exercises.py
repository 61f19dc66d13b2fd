"""Exercises of the notebook on batch normalization.

1. ``batchnorm_forward(x, gamma, beta, moving_mean, moving_variance, training, momentum,
   epsilon)``: the layer's forward pass in training mode (batch statistics, moving averages
   updated) and in inference mode (moving averages used, nothing updated).
2. ``batchnorm_backward(grad_out, x, gamma, epsilon)``: the gradients ``(dx, dgamma, dbeta)``
   of the training-mode forward pass.
3. Layer normalization's forward pass (and, as a stretch, its backward pass): in
   :mod:`.layernorm_exercises`, and importable from here with the others.
4. An experiment: choose batch norm's momentum by validation (the runs are in
   :mod:`.momentum_choice`).

Each checker compares the learner's function with the reference on a few cases (one with a
feature of tiny variance, where epsilon matters; one square batch, where the wrong axis
still gives the right shape) and recognises the typical wrong versions listed below.
"""
from __future__ import annotations

import warnings

import numpy as np

from ...checks import numerical_gradient_array, rel_error
from ..exercise import Case, Exercise, Mistake
from .layernorm_exercises import (LAYERNORM_BACKWARD, LAYERNORM_FORWARD,  # noqa: F401
                                  check_layernorm_backward, check_layernorm_forward,
                                  layernorm_backward_solution, layernorm_forward_solution,
                                  layernorm_numerical_dx)
from .momentum_choice import (BN_MOMENTUM_CHOICE, bn_momentum_val_loss,  # noqa: F401
                              choose_bn_momentum_solution)

MOMENTUM = 0.99
EPSILON = 1e-3


# --------------------------------------------------------------------------- exercise 1

def batchnorm_forward_solution(x, gamma, beta, moving_mean, moving_variance, training,
                               momentum=MOMENTUM, epsilon=EPSILON):
    """Batch normalization of ``x`` (batch, features) -> ``(y, moving_mean, moving_variance)``.

    Training: normalise each feature with the batch mean and biased variance, then scale and
    shift; update the moving averages as Keras does. Inference: normalise with the moving
    averages and return them unchanged.
    """
    x = np.asarray(x, dtype=float)
    if training:
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        moving_mean = momentum * moving_mean + (1 - momentum) * mean
        moving_variance = momentum * moving_variance + (1 - momentum) * var
    else:
        mean, var = moving_mean, moving_variance
    x_hat = (x - mean) / np.sqrt(var + epsilon)
    return gamma * x_hat + beta, np.array(moving_mean, dtype=float), np.array(moving_variance,
                                                                             dtype=float)


def _forward_variant(stats, scale, *, update="keras", use_training=True, affine="gamma_beta",
                     update_in_inference=False):
    """Build a wrong forward pass from its parts (each argument replaces one correct part).

    stats: the batch statistics; scale: how x - mean is divided; update: how the moving
    averages are updated ("keras" is right); use_training=False normalises with the batch
    statistics even at inference; affine: how gamma and beta are applied; and
    update_in_inference=True also updates the moving averages at inference.
    """

    def forward(x, gamma, beta, moving_mean, moving_variance, training, momentum=MOMENTUM,
                epsilon=EPSILON):
        x = np.asarray(x, dtype=float)
        batch_mode = training or not use_training
        mean, var = stats(x) if batch_mode else (moving_mean, moving_variance)
        new_mean, new_var = moving_mean, moving_variance
        if training or update_in_inference:
            batch_mean, batch_var = stats(x)
            keep, take = (momentum, 1 - momentum)
            if update == "swapped":
                keep, take = take, keep
            if update == "unbiased":
                batch_var = x.var(axis=0, ddof=1)
            elif update == "std":
                batch_var = np.sqrt(batch_var)
            new_mean = keep * moving_mean + take * batch_mean
            new_var = keep * moving_variance + take * batch_var
        x_hat = scale(x - mean, var, epsilon)
        if affine == "gamma_beta":
            y = gamma * x_hat + beta
        elif affine == "swapped":
            y = beta * x_hat + gamma
        elif affine == "none":
            y = x_hat
        else:  # "before": scale and shift first, then normalise
            shifted = gamma * x + beta
            if batch_mode:
                mean, var = stats(shifted)
            y = scale(shifted - mean, var, epsilon)
        return y, np.array(new_mean, dtype=float), np.array(new_var, dtype=float)

    return forward


def _batch_stats(x):
    return x.mean(axis=0), x.var(axis=0)


def _unbiased_stats(x):
    return x.mean(axis=0), x.var(axis=0, ddof=1)


def _example_stats(x):   # over the features of each example (the wrong axis), keeping dims
    return x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)


def _sqrt_inside(d, var, eps):
    return d / np.sqrt(var + eps)


def _eps_outside(d, var, eps):
    return d / (np.sqrt(var) + eps)


def _no_eps(d, var, eps):
    with np.errstate(divide="ignore", invalid="ignore"):
        return d / np.sqrt(var)


def _divide_by_variance(d, var, eps):
    return d / (var + eps)


def _wrong_axis_forward(x, gamma, beta, moving_mean, moving_variance, training,
                        momentum=MOMENTUM, epsilon=EPSILON):
    x = np.asarray(x, dtype=float)
    mean, var = _example_stats(x)
    y = gamma * (x - mean) / np.sqrt(var + epsilon) + beta
    if training:
        moving_mean = momentum * moving_mean + (1 - momentum) * x.mean(axis=0)
        moving_variance = momentum * moving_variance + (1 - momentum) * x.var(axis=0)
    return y, np.array(moving_mean, dtype=float), np.array(moving_variance, dtype=float)


def _features_with_a_tiny_one(seed, n, d):
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, size=(n, d))
    x[:, 0] = 0.5 + 0.02 * rng.standard_normal(n)     # variance 4e-4 < epsilon: epsilon matters
    return x


def _forward_case(name, seed, n, d, training, momentum=MOMENTUM):
    rng = np.random.default_rng(seed + 100)
    x = _features_with_a_tiny_one(seed, n, d)
    gamma = rng.uniform(0.5, 2.0, d)
    beta = rng.normal(0.0, 1.0, d)
    moving_mean = rng.normal(0.0, 1.0, d)
    moving_variance = rng.uniform(0.5, 3.0, d)
    return Case(name, (x, gamma, beta, moving_mean, moving_variance, training),
                {"momentum": momentum})


BATCHNORM_FORWARD = Exercise(
    "batch-norm forward pass",
    batchnorm_forward_solution,
    cases=[
        _forward_case("training, batch of 6 with 3 features", 0, 6, 3, True),
        _forward_case("training, square batch 4 x 4", 1, 4, 4, True),
        _forward_case("training with momentum 0.9", 2, 8, 5, True, momentum=0.9),
        _forward_case("inference (training=False)", 3, 5, 3, False),
        _forward_case("inference, batch of one example", 4, 1, 3, False),
    ],
    mistakes=[
        Mistake("you used the unbiased variance (ddof=1, as x.var(axis=0, ddof=1) or "
                "x.std(axis=0, ddof=1) give, dividing by m - 1). Batch norm normalises with the "
                "biased (population) variance of the batch, np.var(x, axis=0), which divides "
                "by m, and Keras averages that same variance into moving_variance.",
                _forward_variant(_unbiased_stats, _sqrt_inside)),
        Mistake("two slips: x.std(axis=0, ddof=1) is the unbiased standard deviation (batch "
                "norm uses the biased one, dividing by m: np.var(x, axis=0), ddof=0), and "
                "epsilon belongs inside the square root: (x - mean) / sqrt(var + epsilon).",
                _forward_variant(_unbiased_stats, _eps_outside)),
        Mistake("the normalisation is right, but moving_variance was updated with the unbiased "
                "variance (ddof=1), as PyTorch does. The convention here is Keras's: the same "
                "biased variance, np.var(x, axis=0), in both places.",
                _forward_variant(_batch_stats, _sqrt_inside, update="unbiased")),
        Mistake("epsilon belongs inside the square root: (x - mean) / sqrt(var + epsilon). "
                "You wrote (x - mean) / (sqrt(var) + epsilon), which differs most for features "
                "of small variance.",
                _forward_variant(_batch_stats, _eps_outside)),
        Mistake("you forgot epsilon: divide by sqrt(var + epsilon), not sqrt(var). Epsilon "
                "keeps the division safe when a feature barely varies in the batch (the first "
                "feature of these cases).",
                _forward_variant(_batch_stats, _no_eps)),
        Mistake("you divided by the variance; divide by the standard deviation, "
                "sqrt(var + epsilon), so that x_hat has variance 1.",
                _forward_variant(_batch_stats, _divide_by_variance)),
        Mistake("you normalised each example over its features (axis=1); batch norm "
                "normalises each feature over the examples of the batch: "
                "x.mean(axis=0) and x.var(axis=0), one value per feature. (Normalising each "
                "example over its features is layer normalization, a different layer.)",
                _wrong_axis_forward),
        Mistake("momentum and 1 - momentum are swapped in the moving averages: the old value "
                "keeps the weight momentum, moving = momentum * moving + (1 - momentum) * "
                "batch_statistic, so with momentum 0.99 each batch moves it by 1% only.",
                _forward_variant(_batch_stats, _sqrt_inside, update="swapped")),
        Mistake("with training=False the layer must use moving_mean and moving_variance, not "
                "the statistics of the batch: at test time an example's output may not depend "
                "on the other examples (and a batch of one example has variance 0).",
                _forward_variant(_batch_stats, _sqrt_inside, use_training=False)),
        Mistake("with training=False the moving averages must stay unchanged: only training "
                "updates them. Return moving_mean and moving_variance as they came in.",
                _forward_variant(_batch_stats, _sqrt_inside, update_in_inference=True)),
        Mistake("gamma and beta are swapped: the output is gamma * x_hat + beta (gamma scales, "
                "beta shifts).",
                _forward_variant(_batch_stats, _sqrt_inside, affine="swapped")),
        Mistake("you returned x_hat: finish with gamma * x_hat + beta, the learned scale and "
                "shift that let the layer undo the normalisation when that helps.",
                _forward_variant(_batch_stats, _sqrt_inside, affine="none")),
        Mistake("scale and shift come after the normalisation, y = gamma * x_hat + beta; "
                "applied before it, they are cancelled by it.",
                _forward_variant(_batch_stats, _sqrt_inside, affine="before")),
        Mistake("moving_variance averages the batch variance, not the standard deviation.",
                _forward_variant(_batch_stats, _sqrt_inside, update="std")),
    ],
    # The moving averages are the layer's state: updating them in place is right.
    inputs_unchanged=False,
)

_FORWARD_AXIS_HINT = (" Hint: the batch statistics are one number per feature, computed over "
                      "the examples: x.mean(axis=0) and x.var(axis=0) have shape (features,) "
                      "and broadcast against x of shape (batch, features).")
_FORWARD_TRIPLE = ("return three arrays, (y, moving_mean, moving_variance): the output and the "
                   "moving averages after this call (updated in training, unchanged at inference).")


def check_batchnorm_forward(fn):
    """Check a learner's ``batchnorm_forward``; returns a :class:`CheckResult`."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)    # e.g. ddof=1 on one example
        result = BATCHNORM_FORWARD.check(fn)
    if not result.passed:
        if "broadcast" in result.message:
            result.message += _FORWARD_AXIS_HINT
        elif "expected 3 results" in result.message:
            result.message = _FORWARD_TRIPLE + " (" + result.message + ")"
    return result


# --------------------------------------------------------------------------- exercise 2

def batchnorm_backward_solution(grad_out, x, gamma, epsilon=EPSILON):
    """Gradients of the training-mode forward pass ``y = gamma * x_hat + beta``.

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
    mean, var = x.mean(axis=0), x.var(axis=0)
    inv_std = 1.0 / np.sqrt(var + epsilon)
    x_hat = (x - mean) * inv_std
    dgamma = np.sum(grad_out * x_hat, axis=0)
    dbeta = np.sum(grad_out, axis=0)
    dx_hat = grad_out * gamma
    dx = inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * np.mean(dx_hat * x_hat, axis=0))
    return dx, dgamma, dbeta


def _backward_variant(*, mean_term=True, variance_term=True, sums=True, use_gamma=True,
                      dgamma_from="x_hat", reduce="mean", ddof=0, order="dx_dgamma_dbeta",
                      param_reduce="sum"):
    """Build a wrong backward pass from its parts (each argument replaces one correct part)."""

    def backward(grad_out, x, gamma, epsilon=EPSILON):
        x = np.asarray(x, dtype=float)
        grad_out = np.asarray(grad_out, dtype=float)
        m = len(x)
        mean, var = x.mean(axis=0), x.var(axis=0, ddof=ddof)
        inv_std = 1.0 / np.sqrt(var + epsilon)
        x_hat = (x - mean) * inv_std
        source = x_hat if dgamma_from == "x_hat" else x
        per_example_gamma, per_example_beta = grad_out * source, grad_out
        if not sums:
            dgamma, dbeta = per_example_gamma, per_example_beta
        elif param_reduce == "mean":
            dgamma, dbeta = per_example_gamma.mean(axis=0), per_example_beta.mean(axis=0)
        else:
            dgamma, dbeta = per_example_gamma.sum(axis=0), per_example_beta.sum(axis=0)
        dx_hat = grad_out * gamma if use_gamma else grad_out
        scale = 1.0 / m if reduce == "mean" else 1.0
        dx = dx_hat.copy()
        if mean_term:
            dx -= scale * dx_hat.sum(axis=0)
        if variance_term:
            dx -= x_hat * scale * np.sum(dx_hat * x_hat, axis=0)
        dx *= inv_std
        if order == "dx_dbeta_dgamma":
            return dx, dbeta, dgamma
        return dx, dgamma, dbeta

    return backward


def _backward_case(name, seed, n, d):
    rng = np.random.default_rng(seed + 200)
    x = _features_with_a_tiny_one(seed + 10, n, d)
    gamma = rng.uniform(0.5, 2.0, d)
    grad_out = rng.standard_normal((n, d))
    return Case(name, (grad_out, x, gamma))


BATCHNORM_BACKWARD = Exercise(
    "batch-norm backward pass",
    batchnorm_backward_solution,
    cases=[
        _backward_case("batch of 6 with 3 features", 0, 6, 3),
        _backward_case("square batch 4 x 4", 1, 4, 4),
        _backward_case("batch of 16 with 5 features", 2, 16, 5),
    ],
    mistakes=[
        Mistake("dgamma and dbeta must be summed over the batch: gamma and beta are shared by "
                "every example, so their gradients add up, np.sum(grad_out * x_hat, axis=0) "
                "and np.sum(grad_out, axis=0), shape (features,).",
                _backward_variant(sums=False)),
        Mistake("you treated the batch mean and variance as constants (dx = gamma * grad_out / "
                "sqrt(var + eps)). In training they depend on every x, which adds two terms: "
                "dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)), means "
                "over the batch.",
                _backward_variant(mean_term=False, variance_term=False)),
        Mistake("the term from the batch variance is missing: subtract "
                "x_hat * mean(dx_hat * x_hat, axis=0) as well as mean(dx_hat, axis=0).",
                _backward_variant(variance_term=False)),
        Mistake("the term from the batch mean is missing: subtract mean(dx_hat, axis=0) as "
                "well as x_hat * mean(dx_hat * x_hat, axis=0).",
                _backward_variant(mean_term=False)),
        Mistake("the correction terms are means over the batch, not sums: divide them by the "
                "batch size m (or write dx_hat.mean(axis=0)).",
                _backward_variant(reduce="sum")),
        Mistake("dx_hat is grad_out * gamma: the output is gamma * x_hat + beta, so the "
                "gradient reaching x_hat is scaled by gamma.",
                _backward_variant(use_gamma=False)),
        Mistake("dgamma multiplies grad_out by x_hat, the normalised input, not by x: "
                "dgamma = np.sum(grad_out * x_hat, axis=0).",
                _backward_variant(dgamma_from="x")),
        Mistake("the forward pass uses the biased variance (ddof=0); its backward pass must "
                "use the same.",
                _backward_variant(ddof=1)),
        Mistake("the order of the results is (dx, dgamma, dbeta); you returned dbeta before "
                "dgamma.",
                _backward_variant(order="dx_dbeta_dgamma")),
        Mistake("dgamma and dbeta are sums over the batch, not means: the loss is already "
                "averaged over the batch inside grad_out.",
                _backward_variant(param_reduce="mean")),
    ],
)


def numerical_dx(grad_out, x, gamma, epsilon=EPSILON):
    """d/dx of ``sum(forward(x) * grad_out)`` by central differences (the training-mode
    forward pass of :func:`batchnorm_forward_solution`), shape of x."""
    x = np.array(x, dtype=float)
    d = x.shape[1]

    def forward(values):
        return batchnorm_forward_solution(values, gamma, np.zeros(d), np.zeros(d), np.ones(d),
                                          True, epsilon=epsilon)[0]

    return numerical_gradient_array(forward, x, grad_out)


def check_batchnorm_backward(fn):
    """Check a learner's ``batchnorm_backward``; returns a :class:`CheckResult`.

    When dx is wrong in a way not listed, the message adds its relative error against the
    numerical gradient, so the learner sees how far off it is.
    """
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = BATCHNORM_BACKWARD.check(fn)
    if result.passed or not callable(fn) or not result.message.startswith(("case", "result 0")):
        return result
    case = BATCHNORM_BACKWARD.cases[0]
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            dx = np.asarray(fn(*[np.array(a, copy=True) for a in case.args])[0], dtype=float)
        error = rel_error(dx, numerical_dx(*case.args))
    except Exception:  # the learner's code may fail in any way; the first message stands
        return result
    if np.isfinite(error) and error > 1e-6:
        result.message += (f" Your dx differs from the numerical gradient by a relative error of "
                           f"{error:.1e} (a correct backward pass gives about 1e-8).")
    return result


def check_bn_momentum_choice(momentum, seed=0):
    """Score a learner's batch-norm momentum on the checker's own runs (the seeds
    ``seeds_from(seed)``, lowest validation loss of the 100-step training of section 7)."""
    return BN_MOMENTUM_CHOICE.check(momentum, seed)


__all__ = ["BN_MOMENTUM_CHOICE", "check_bn_momentum_choice", "choose_bn_momentum_solution",
           "bn_momentum_val_loss", "BATCHNORM_FORWARD", "BATCHNORM_BACKWARD", "batchnorm_forward_solution",
           "batchnorm_backward_solution", "check_batchnorm_forward", "check_batchnorm_backward",
           "numerical_dx", "LAYERNORM_FORWARD", "LAYERNORM_BACKWARD", "layernorm_forward_solution",
           "layernorm_backward_solution", "check_layernorm_forward", "check_layernorm_backward",
           "layernorm_numerical_dx"]
