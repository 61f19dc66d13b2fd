"""Parameter checks shared by every public constructor and function.

Each helper raises ``ValueError`` or ``TypeError`` with a message that names the
parameter, the value received and what is allowed, in the style of scikit-learn:

    learning_rate must be a positive finite number; got -0.1.
"""
from __future__ import annotations

import numbers

import numpy as np


def _fmt(value):
    return repr(value) if not isinstance(value, np.ndarray) else f"array of shape {value.shape}"


def check_number(name, value, *, low=None, high=None, low_inclusive=True,
                 high_inclusive=True, integer=False):
    """Return ``value`` as a Python number after checking its type and range.

    ``low``/``high`` bound the allowed interval; ``None`` means unbounded.
    """
    kind = "an integer" if integer else "a finite number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {kind}; got {_fmt(value)} of type {type(value).__name__}.")
    if integer and not isinstance(value, numbers.Integral):
        if float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be {kind}; got {value!r}.")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be {kind}; got {value!r}.")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        lo = "-inf" if low is None else repr(low)
        hi = "inf" if high is None else repr(high)
        if low is None:
            left = "("
        if high is None:
            right = ")"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}; got {value!r}.")
    return int(value) if integer else float(value)


def check_positive(name, value, *, integer=False):
    """A number strictly greater than zero."""
    return check_number(name, value, low=0, low_inclusive=False, integer=integer)


def check_non_negative(name, value, *, integer=False):
    """A number greater than or equal to zero."""
    return check_number(name, value, low=0, integer=integer)


def check_fraction(name, value, *, include_zero=True, include_one=False):
    """A number in [0, 1) by default (dropout rates, momentum, betas)."""
    return check_number(name, value, low=0.0, high=1.0, low_inclusive=include_zero,
                        high_inclusive=include_one)


def check_choice(name, value, options):
    """One of a fixed set of options (names of activations, initializers, modes)."""
    if value not in options:
        allowed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}.")
    return value


def check_array(name, value, *, ndim=None, dtype=float, finite=True):
    """Convert to a NumPy array, checking the number of dimensions and finiteness."""
    try:
        arr = np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like of numbers; got {type(value).__name__} ({err}).") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimension(s); got shape {arr.shape}.")
    if finite and arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values; got NaN or inf.")
    return arr


def check_same_length(name_a, a, name_b, b):
    """Two arrays with the same number of rows (examples)."""
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} must have the same number of examples; "
                         f"got {len(a)} and {len(b)}.")


def check_seed(name, seed):
    """None, an int >= 0, or a numpy Generator; returns a Generator."""
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"{name} must be None, a non-negative integer or a numpy.random.Generator; got {seed!r}.")
    return np.random.default_rng(int(seed))
