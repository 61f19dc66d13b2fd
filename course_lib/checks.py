"""Gradient checking: compare backprop's gradients with finite differences.

The central difference ``(f(x + h) - f(x - h)) / (2h)`` has an error of order h**2, so
with h = 1e-5 in float64 a correct backward pass agrees with it to about 1e-8 or better
in relative error, while a wrong one is off by a factor of order 1. Checks run in float64:
in float32 the rounding error of f, divided by 2h, would swamp the comparison.

The exercise checkers of the notebooks live at the end of this module.
"""
from __future__ import annotations

import numpy as np

from course_lib._validation import check_positive


def rel_error(a, b):
    """Largest elementwise relative error ``|a - b| / max(1e-8, |a| + |b|)`` (a float).

    ``a`` and ``b`` are arrays of the same shape (or scalars). About 1e-7 or less means the
    two agree; 1e-2 or more means a bug.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}.")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function by central differences.

    Args:
        f: callable ``f(x) -> float``; it must read ``x``, which is changed in place.
        x: float array of any shape (modified during the call, restored afterwards).
        h: step size.

    Returns:
        array of x's shape: ``(f(x + h e_i) - f(x - h e_i)) / (2h)`` for every entry i.
    """
    h = check_positive("h", h)
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + h
        f_plus = float(f(x))
        x[i] = original - h
        f_minus = float(f(x))
        x[i] = original
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(f, x, grad_out, h=1e-5):
    """Vector-Jacobian product of an array-valued function by central differences.

    Args:
        f: callable ``f(x) -> array`` (reads ``x``, which is changed in place).
        x: float array of any shape (restored afterwards).
        grad_out: array shaped like ``f(x)``: the upstream gradient d loss / d f.
        h: step size.

    Returns:
        array of x's shape: the derivative of ``sum(f(x) * grad_out)`` with respect to x,
        i.e. what ``backward(grad_out)`` should return. The two outputs are subtracted
        entry by entry before the sum, which keeps rounding errors small.
    """
    h = check_positive("h", h)
    grad_out = np.asarray(grad_out, dtype=np.float64)
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + h
        f_plus = np.array(f(x), dtype=np.float64)  # a copy: f may reuse its output buffer
        x[i] = original - h
        f_minus = np.array(f(x), dtype=np.float64)
        x[i] = original
        grad[i] = np.sum((f_plus - f_minus) * grad_out) / (2 * h)
    return grad


def _reseed(layer, seed):
    """Give a layer that draws random masks a fresh generator with the same seed."""
    if getattr(layer, "rng", None) is not None:
        layer.rng = np.random.default_rng(seed)


def gradient_check_layer(layer, x, training=False, seed=0, h=1e-5):
    """Compare a layer's ``backward`` with numerical gradients, in float64.

    The scalar checked is ``sum(forward(x) * grad_out) + regularization_loss()``, with a
    random ``grad_out`` (the two terms are differentiated numerically one by one); its exact gradients are ``backward(grad_out)`` for x and the
    ``grads`` list for the parameters. Layers with random masks (Dropout, AlphaDropout) get
    their generator reseeded before every forward pass, so every evaluation uses the same
    mask and the training-mode check is meaningful. BatchNormalization's moving statistics
    are restored afterwards.

    Args:
        layer: a Layer, unbuilt (it is built in float64 with ``seed``) or built in float64.
        x: input, shape (batch, features).
        training: check the training-mode or the inference-mode computation.
        seed: seed of the parameters (if unbuilt), of ``grad_out`` and of the masks.

    Returns:
        dict mapping ``"input"`` and each name in ``layer.param_names`` to the largest
        relative error (floats).
    """
    x = np.array(x, dtype=np.float64)  # a private copy, perturbed in place
    if not layer.built:
        layer.build(x.shape[1], np.random.default_rng(seed), dtype=np.float64)
    if layer.dtype != np.float64:
        raise ValueError(f"gradient checks need a float64 layer; {layer.name} was built with "
                         f"dtype {layer.dtype}.")
    saved_state = layer.get_state()

    def forward():
        _reseed(layer, seed)
        return layer.forward(x, training=training)

    # A stream of its own: grad_out must not equal an x drawn with the same seed.
    grad_out = np.random.default_rng([seed, 1]).standard_normal(forward().shape)

    forward()
    grad_x = layer.backward(grad_out)
    analytic = [g.copy() for g in layer.grads]

    def numeric(array):
        data_term = numerical_gradient_array(lambda _: forward(), array, grad_out, h)
        penalty_term = numerical_gradient(lambda _: layer.regularization_loss(), array, h)
        return data_term + penalty_term

    errors = {"input": rel_error(grad_x, numeric(x))}
    for name, param, grad in zip(layer.param_names, layer.params, analytic):
        errors[name] = rel_error(grad, numeric(param))
    layer.set_state(saved_state)
    return errors


def gradient_check_loss(loss, y_true, y_pred, h=1e-5):
    """Largest relative error between ``loss.gradient(y_true, y_pred)`` and central differences.

    ``y_pred`` (batch, outputs) is copied to float64; keep probabilities away from the
    clipping range [1e-7, 1 - 1e-7] edges, where the loss has a kink.
    """
    y_pred = np.array(y_pred, dtype=np.float64)
    analytic = loss.gradient(y_true, y_pred)
    numeric = numerical_gradient(lambda p: loss(y_true, p), y_pred, h)
    return rel_error(analytic, numeric)
