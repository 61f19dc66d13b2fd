"""Activation functions and their derivatives.

Every activation ``f`` maps an array ``x`` of any shape to an array ``y = f(x)`` of the
same shape and dtype (float32 stays float32). Its derivative ``f_grad(x)`` is the
elementwise dy/dx, so backprop through the activation is ``grad_in = grad_out * f_grad(x)``.
Softmax mixes the entries of a row, so it has no elementwise derivative; its backward pass
is given as a vector-Jacobian product, ``softmax_backward(y, grad_out)``.

``backward(name, x, y, grad_out)`` is the single entry point the layers use: it picks the
cheapest exact formula (sigmoid and tanh reuse the output ``y``).

The names and defaults are Keras 3's: ``leaky_relu`` has ``negative_slope=0.2``, ``gelu`` is
the exact, erf-based one unless ``approximate=True``, and ``silu`` and ``swish`` are one
function, ``x * sigmoid(x)``.
"""
from __future__ import annotations

import math

import numpy as np

from course_lib._validation import check_choice

# Constants of the scaled ELU (Klambauer et al., 2017), as used by Keras.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

ELU_ALPHA = 1.0

# Keras 3's default slope of leaky_relu for negative inputs.
LEAKY_RELU_NEGATIVE_SLOPE = 0.2

# erfc for arrays, exact to double precision (math.erfc applied entry by entry). It costs
# about 4 ms per 16,000 entries on this course's machines, some 250 times an np.exp: fine for
# the course's small networks, and NumPy has no erf of its own. Phi(x) = erfc(-x / sqrt 2) / 2
# rather than (1 + erf(x / sqrt 2)) / 2, which loses every digit to cancellation for x << 0.
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _as_float_array(x):
    """Return ``x`` as a floating NumPy array (integers become float64; no copy otherwise)."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    return x


# --------------------------------------------------------------------------- functions

def linear(x):
    """Identity: ``y = x``. Shape (...,) -> (...,)."""
    return _as_float_array(x)


def relu(x):
    """Rectified linear unit: ``y = max(x, 0)``. Shape (...,) -> (...,)."""
    x = _as_float_array(x)
    return np.maximum(x, 0)


def elu(x):
    """Exponential linear unit (alpha = 1): ``y = x`` if x > 0 else ``alpha * (exp(x) - 1)``.

    Shape (...,) -> (...,). ``expm1`` of ``min(x, 0)`` keeps large positive inputs from
    overflowing in the branch that is not selected.
    """
    x = _as_float_array(x)
    return np.where(x > 0, x, ELU_ALPHA * np.expm1(np.minimum(x, 0)))


def selu(x):
    """Scaled ELU: ``y = scale * (x if x > 0 else alpha * (exp(x) - 1))``.

    With ``alpha = 1.6733`` and ``scale = 1.0507`` (Keras's constants), inputs with mean 0
    and variance 1 give outputs with mean 0 and variance 1: the fixed point that makes a
    deep SELU network self-normalizing. Shape (...,) -> (...,).
    """
    x = _as_float_array(x)
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


def sigmoid(x):
    """Logistic function ``y = 1 / (1 + exp(-x))``, stable for any x. Shape (...,) -> (...,).

    Only ``exp(-|x|)`` is ever computed (a number in (0, 1]), so huge inputs neither
    overflow nor warn: for x >= 0 we use 1 / (1 + e), for x < 0 the equal form e / (1 + e),
    with e = exp(-|x|).
    """
    x = _as_float_array(x)
    e = np.exp(-np.abs(x))
    r = 1 / (1 + e)
    return np.where(x >= 0, r, e * r)


def tanh(x):
    """Hyperbolic tangent. Shape (...,) -> (...,)."""
    x = _as_float_array(x)
    return np.tanh(x)


def leaky_relu(x, negative_slope=LEAKY_RELU_NEGATIVE_SLOPE):
    """Leaky ReLU: ``y = x`` if x > 0 else ``negative_slope * x`` (Keras default 0.2).

    A negative input still passes a small gradient, so a unit cannot die. Shape (...,) -> (...,).
    """
    x = _as_float_array(x)
    return np.where(x > 0, x, negative_slope * x)


def gelu(x, approximate=False):
    """Gaussian error linear unit: ``y = x * Phi(x)``, Phi the standard normal CDF.

    Exact (Keras's default): ``Phi(x) = (1 + erf(x / sqrt(2))) / 2``, computed as
    ``erfc(-x / sqrt(2)) / 2``, the same number without cancellation for negative x. With ``approximate=True``
    the tanh form ``Phi(x) ~ (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x**3))) / 2``.
    Shape (...,) -> (...,).
    """
    x = _as_float_array(x)
    if approximate:
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
        return (0.5 * x * (1 + np.tanh(inner))).astype(x.dtype, copy=False)
    cdf = 0.5 * _erfc(-x / math.sqrt(2))
    return (x * cdf).astype(x.dtype, copy=False)


def silu(x):
    """Sigmoid linear unit (also called swish): ``y = x * sigmoid(x)``. Shape (...,) -> (...,)."""
    x = _as_float_array(x)
    return x * sigmoid(x)


swish = silu


def softmax(x, axis=-1):
    """Softmax along ``axis``: ``y_i = exp(x_i) / sum_j exp(x_j)``.

    Shape (batch, classes) -> (batch, classes), each row summing to 1. The row maximum is
    subtracted first (softmax is unchanged by a shift), so the largest exponent is exp(0).
    """
    x = _as_float_array(x)
    e = x - x.max(axis=axis, keepdims=True)
    np.exp(e, out=e)  # in place: e is a fresh array
    e /= e.sum(axis=axis, keepdims=True)
    return e


# --------------------------------------------------------------------------- derivatives

def linear_grad(x):
    """d linear / dx = 1, elementwise. Shape (...,) -> (...,)."""
    return np.ones_like(_as_float_array(x))


def relu_grad(x):
    """d relu / dx = 1 where x > 0, else 0 (0 at x = 0, as in Keras). Shape (...,) -> (...,)."""
    x = _as_float_array(x)
    return (x > 0).astype(x.dtype)


def leaky_relu_grad(x, negative_slope=LEAKY_RELU_NEGATIVE_SLOPE):
    """d leaky_relu / dx = 1 where x > 0, else ``negative_slope``. Shape (...,) -> (...,)."""
    x = _as_float_array(x)
    return np.where(x > 0, 1, negative_slope).astype(x.dtype, copy=False)


def gelu_grad(x, approximate=False):
    """d gelu / dx. Exact: ``Phi(x) + x * phi(x)``, phi the standard normal density.

    With ``approximate=True``, the derivative of the tanh form. Shape (...,) -> (...,).
    """
    x = _as_float_array(x)
    if approximate:
        c = math.sqrt(2 / math.pi)
        t = np.tanh(c * (x + 0.044715 * x ** 3))
        grad = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x ** 2)
        return grad.astype(x.dtype, copy=False)
    cdf = 0.5 * _erfc(-x / math.sqrt(2))
    density = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return (cdf + x * density).astype(x.dtype, copy=False)


def silu_grad(x):
    """d silu / dx = ``s + x * s * (1 - s)`` with s = sigmoid(x). Shape (...,) -> (...,)."""
    x = _as_float_array(x)
    s = sigmoid(x)
    return s + x * s * (1 - s)


swish_grad = silu_grad


def elu_grad(x):
    """d elu / dx = 1 where x > 0, else ``alpha * exp(x)``. Shape (...,) -> (...,)."""
    x = _as_float_array(x)
    return np.where(x > 0, 1, ELU_ALPHA * np.exp(np.minimum(x, 0))).astype(x.dtype, copy=False)


def selu_grad(x):
    """d selu / dx = ``scale`` where x > 0, else ``scale * alpha * exp(x)``. Shape (...,) -> (...,)."""
    x = _as_float_array(x)
    inner = np.where(x > 0, 1, SELU_ALPHA * np.exp(np.minimum(x, 0)))
    return (SELU_SCALE * inner).astype(x.dtype, copy=False)


def sigmoid_grad(x):
    """d sigmoid / dx = ``s * (1 - s)`` with s = sigmoid(x). Shape (...,) -> (...,)."""
    s = sigmoid(x)
    return s * (1 - s)


def tanh_grad(x):
    """d tanh / dx = ``1 - tanh(x)**2``. Shape (...,) -> (...,)."""
    t = tanh(x)
    return 1 - t * t


def softmax_backward(y, grad_out, axis=-1):
    """Vector-Jacobian product of softmax: the gradient with respect to its input.

    Args:
        y: softmax output, shape (batch, classes).
        grad_out: gradient of the loss with respect to ``y``, shape (batch, classes).

    Returns:
        grad_in, shape (batch, classes): ``y * (grad_out - sum_j grad_out_j * y_j)``,
        which is ``J^T grad_out`` with the Jacobian ``J = diag(y) - y y^T`` of each row.
    """
    y = _as_float_array(y)
    grad_out = np.asarray(grad_out)
    return y * (grad_out - np.sum(grad_out * y, axis=axis, keepdims=True))


# --------------------------------------------------------------------------- lookup

_PAIRS = {
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "selu": (selu, selu_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "gelu": (gelu, gelu_grad),
    "silu": (silu, silu_grad),
    "swish": (swish, swish_grad),
    "softmax": (softmax, softmax_backward),
    "linear": (linear, linear_grad),
}

NAMES = tuple(_PAIRS)
"""Names accepted by :func:`get`, :class:`~course_lib.layers.Dense` and
:class:`~course_lib.layers.Activation`."""


def get(name):
    """Return the pair ``(function, derivative)`` for an activation name.

    For every name but ``"softmax"`` the derivative is elementwise, ``derivative(x)``;
    for ``"softmax"`` it is the vector-Jacobian product ``softmax_backward(y, grad_out)``.
    Raises ValueError for an unknown name, listing the allowed ones.
    """
    check_choice("activation", name, NAMES)
    return _PAIRS[name]


def backward(name, x, y, grad_out):
    """Backprop through activation ``name``: return d loss / dx from d loss / dy.

    Args:
        name: one of :data:`NAMES`.
        x: the activation's input, shape (batch, units).
        y: its output ``f(x)``, same shape (reused by sigmoid, tanh and softmax).
        grad_out: d loss / dy, same shape.

    Returns:
        grad_in = d loss / dx, same shape and dtype as ``grad_out``.
    """
    if name == "linear":
        return grad_out
    if name == "relu":
        return grad_out * (x > 0)
    if name == "sigmoid":
        return grad_out * (y * (1 - y))
    if name == "tanh":
        return grad_out * (1 - y * y)
    if name == "softmax":
        return softmax_backward(y, grad_out)
    return grad_out * get(name)[1](x)
