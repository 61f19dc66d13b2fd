"""Weight initializers with Keras 3's semantics.

Each initializer is a function ``f(shape, rng, dtype=np.float64) -> array`` of that shape.
A Dense kernel has shape ``(inputs, units)``, so ``fan_in = inputs`` and ``fan_out = units``.

The variance-scaling family draws weights with variance ``scale / n``:

==================  =====  =================  ===================
initializer         scale  n                  distribution
==================  =====  =================  ===================
``glorot_uniform``  1      (fan_in+fan_out)/2 uniform
``glorot_normal``   1      (fan_in+fan_out)/2 truncated normal
``he_uniform``      2      fan_in             uniform
``he_normal``       2      fan_in             truncated normal
``lecun_uniform``   1      fan_in             uniform
``lecun_normal``    1      fan_in             truncated normal
==================  =====  =================  ===================

A uniform draw on [-limit, limit] has variance limit**2 / 3, so ``limit = sqrt(3 * scale / n)``.
The truncated normal redraws every value farther than two standard deviations from 0;
cutting the tails shrinks the standard deviation by the factor 0.8796..., so the stddev
is divided by that factor beforehand and the weights end up with variance ``scale / n``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from course_lib._validation import check_choice, check_seed

# Standard deviation of a standard normal truncated to [-2, 2] (Keras's constant).
TRUNCATED_NORMAL_STDDEV_FACTOR = 0.87962566103423978


def _check_shape(shape):
    """Return ``shape`` as a tuple of positive ints (an int means a 1-D shape)."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple of positive integers; got {shape!r}.") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d <= 0:
            raise ValueError(f"shape must be a tuple of positive integers; got {shape!r}.")
    return tuple(int(d) for d in dims)


def compute_fans(shape):
    """Return ``(fan_in, fan_out)`` for a weight shape, as Keras computes them.

    ``(inputs, units)`` -> ``(inputs, units)``; a 1-D shape ``(n,)`` -> ``(n, n)``;
    a convolution kernel ``(*window, in_channels, out_channels)`` multiplies both
    channel counts by the window size.
    """
    shape = _check_shape(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _truncated_normal(shape, stddev, rng):
    """Normal(0, stddev) samples, redrawing any value beyond two standard deviations."""
    z = rng.standard_normal(shape)
    outside = np.abs(z) > 2
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > 2
    return stddev * z


def variance_scaling(shape, rng, scale, mode, distribution, dtype=np.float64):
    """Draw weights with variance ``scale / n`` (the family behind Glorot, He and LeCun).

    Args:
        shape: weight shape, e.g. ``(inputs, units)``.
        rng: a ``numpy.random.Generator`` (or a seed).
        scale: positive number (1 for Glorot and LeCun, 2 for He).
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``: which n to divide by.
        distribution: ``"uniform"`` or ``"truncated_normal"``.
        dtype: floating dtype of the result.

    Returns:
        array of ``shape`` and ``dtype``.
    """
    shape = _check_shape(shape)
    rng = check_seed("rng", rng)
    check_choice("mode", mode, ("fan_in", "fan_out", "fan_avg"))
    check_choice("distribution", distribution, ("uniform", "truncated_normal"))
    fan_in, fan_out = compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    variance = scale / max(1.0, n)
    if distribution == "uniform":
        limit = math.sqrt(3.0 * variance)
        w = rng.uniform(-limit, limit, size=shape)
    else:
        w = _truncated_normal(shape, math.sqrt(variance) / TRUNCATED_NORMAL_STDDEV_FACTOR, rng)
    return w.astype(dtype, copy=False)


def zeros(shape, rng=None, dtype=np.float64):
    """All zeros (every unit computes the same thing: the symmetry is never broken)."""
    return np.zeros(_check_shape(shape), dtype=dtype)


def uniform(shape, rng, dtype=np.float64):
    """Keras ``RandomUniform``: uniform on [-0.05, 0.05], whatever the layer size."""
    rng = check_seed("rng", rng)
    return rng.uniform(-0.05, 0.05, size=_check_shape(shape)).astype(dtype, copy=False)


def normal(shape, rng, dtype=np.float64):
    """Keras ``RandomNormal``: normal with mean 0 and stddev 0.05, whatever the layer size."""
    rng = check_seed("rng", rng)
    return (0.05 * rng.standard_normal(_check_shape(shape))).astype(dtype, copy=False)


def glorot_uniform(shape, rng, dtype=np.float64):
    """Glorot (Xavier) uniform: limit ``sqrt(6 / (fan_in + fan_out))``, variance ``2 / (fan_in + fan_out)``."""
    return variance_scaling(shape, rng, 1.0, "fan_avg", "uniform", dtype)


def glorot_normal(shape, rng, dtype=np.float64):
    """Glorot (Xavier) truncated normal with variance ``2 / (fan_in + fan_out)``."""
    return variance_scaling(shape, rng, 1.0, "fan_avg", "truncated_normal", dtype)


def he_uniform(shape, rng, dtype=np.float64):
    """He uniform (for ReLU): limit ``sqrt(6 / fan_in)``, variance ``2 / fan_in``."""
    return variance_scaling(shape, rng, 2.0, "fan_in", "uniform", dtype)


def he_normal(shape, rng, dtype=np.float64):
    """He truncated normal (for ReLU) with variance ``2 / fan_in``."""
    return variance_scaling(shape, rng, 2.0, "fan_in", "truncated_normal", dtype)


def lecun_uniform(shape, rng, dtype=np.float64):
    """LeCun uniform: limit ``sqrt(3 / fan_in)``, variance ``1 / fan_in``."""
    return variance_scaling(shape, rng, 1.0, "fan_in", "uniform", dtype)


def lecun_normal(shape, rng, dtype=np.float64):
    """LeCun truncated normal (for SELU) with variance ``1 / fan_in``."""
    return variance_scaling(shape, rng, 1.0, "fan_in", "truncated_normal", dtype)


_INITIALIZERS = {
    "zeros": zeros,
    "uniform": uniform,
    "normal": normal,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_uniform": lecun_uniform,
    "lecun_normal": lecun_normal,
}

NAMES = tuple(_INITIALIZERS)
"""The nine initializer names accepted by :func:`get` and by ``Dense(kernel_initializer=...)``."""


def get(name, param_name="initializer"):
    """Return the initializer function for ``name`` (one of :data:`NAMES`).

    Raises ValueError for an unknown name, naming ``param_name`` and listing the allowed names.
    """
    check_choice(param_name, name, NAMES)
    return _INITIALIZERS[name]
