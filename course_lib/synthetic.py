"""Small synthetic problems: 2-D classification sets to plot a decision boundary on, and a
1-D regression with an optional gap (``course_lib.data`` re-exports them).

* ``make_moons``, ``make_spirals``, ``make_blobs``: 2-D classification, shuffled;
* ``make_regression_1d``: noisy samples of the smooth ``true_function``.

Every random draw comes from the ``seed`` argument; nothing touches NumPy's global state.
"""
from __future__ import annotations

import numpy as np

from course_lib._validation import check_non_negative, check_number, check_seed


def _check_n_samples(n_samples, minimum):
    return check_number("n_samples", n_samples, low=minimum, integer=True)


def _check_n_classes(n_classes):
    return check_number("n_classes", n_classes, low=2, integer=True)


def _class_sizes(n_samples, n_classes):
    """Split ``n_samples`` into ``n_classes`` sizes that differ by at most one."""
    sizes = np.full(n_classes, n_samples // n_classes)
    sizes[: n_samples % n_classes] += 1
    return sizes


def _shuffled(x, y, rng):
    """Return ``x`` and ``y`` in one random order, so the classes are not in blocks."""
    order = rng.permutation(len(y))
    return x[order], y[order]


def make_moons(n_samples=200, noise=0.1, seed=None):
    """Two interleaving half circles: a problem no straight line separates.

    Class 0 lies on the upper half of the unit circle, class 1 on a lower half circle
    shifted to the right by 1 and down by 0.5. Angles are drawn uniformly; Gaussian noise
    of standard deviation ``noise`` is added to both coordinates.

    Parameters
    ----------
    n_samples : int >= 2
        Total number of points, shared between the two classes as evenly as possible.
    noise : float >= 0
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : None, int >= 0 or numpy.random.Generator

    Returns
    -------
    x : float64 array, shape (n_samples, 2)
    y : int64 array, shape (n_samples,), labels 0 and 1, in random order
    """
    n_samples = _check_n_samples(n_samples, 2)
    noise = check_non_negative("noise", noise)
    rng = check_seed("seed", seed)
    n_upper, n_lower = _class_sizes(n_samples, 2)
    angle_upper = rng.uniform(0.0, np.pi, n_upper)
    angle_lower = rng.uniform(0.0, np.pi, n_lower)
    upper = np.column_stack([np.cos(angle_upper), np.sin(angle_upper)])
    lower = np.column_stack([1.0 - np.cos(angle_lower), 0.5 - np.sin(angle_lower)])
    x = np.concatenate([upper, lower]) + noise * rng.standard_normal((n_samples, 2))
    y = np.repeat(np.arange(2, dtype=np.int64), [n_upper, n_lower])
    return _shuffled(x, y, rng)


_SPIRAL_TURN = 1.5 * np.pi  # how far (radians) each arm winds from the centre to radius 1


def make_spirals(n_samples=300, n_classes=3, noise=0.2, seed=None):
    """Interleaved spiral arms, one per class, starting at the origin.

    For arm ``k`` the radius ``r`` runs evenly from 0 to 1 and the angle is
    ``2*pi*k/n_classes + 1.5*pi*r`` plus Gaussian noise of standard deviation ``noise``
    (radians), so the points are ``r * (cos(angle), sin(angle))``: noise smears the arms
    sideways, more at the rim than at the centre.

    Parameters
    ----------
    n_samples : int >= n_classes
        Total number of points, shared between the arms as evenly as possible.
    n_classes : int >= 2
        Number of arms (classes).
    noise : float >= 0
        Standard deviation of the angular noise, in radians.
    seed : None, int >= 0 or numpy.random.Generator

    Returns
    -------
    x : float64 array, shape (n_samples, 2), inside the unit disc (the noise only turns points)
    y : int64 array, shape (n_samples,), labels 0..n_classes-1, in random order
    """
    n_classes = _check_n_classes(n_classes)
    n_samples = _check_n_samples(n_samples, n_classes)
    noise = check_non_negative("noise", noise)
    rng = check_seed("seed", seed)
    sizes = _class_sizes(n_samples, n_classes)
    radius = np.concatenate([np.linspace(0.0, 1.0, size) for size in sizes])
    y = np.repeat(np.arange(n_classes, dtype=np.int64), sizes)
    angle = (2.0 * np.pi * y / n_classes + _SPIRAL_TURN * radius
             + noise * rng.standard_normal(n_samples))
    x = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return _shuffled(x, y, rng)


_BLOB_CENTRE_GAP = 5.0  # distance between neighbouring blob centres


def make_blobs(n_samples=300, n_classes=3, spread=1.0, seed=None):
    """Round Gaussian clusters in 2-D, one per class.

    The centres sit evenly on a circle around the origin, neighbouring centres 5 units
    apart (radius ``2.5 / sin(pi / n_classes)``), so with the default ``spread`` of 1 the
    classes barely overlap and with ``spread`` near 2.5 they overlap a lot.

    Parameters
    ----------
    n_samples : int >= n_classes
        Total number of points, shared between the clusters as evenly as possible.
    n_classes : int >= 2
    spread : float >= 0
        Standard deviation of each cluster along each axis.
    seed : None, int >= 0 or numpy.random.Generator

    Returns
    -------
    x : float64 array, shape (n_samples, 2)
    y : int64 array, shape (n_samples,), labels 0..n_classes-1, in random order
    """
    n_classes = _check_n_classes(n_classes)
    n_samples = _check_n_samples(n_samples, n_classes)
    spread = check_non_negative("spread", spread)
    rng = check_seed("seed", seed)
    sizes = _class_sizes(n_samples, n_classes)
    radius = 0.5 * _BLOB_CENTRE_GAP / np.sin(np.pi / n_classes)
    angles = np.pi / 2 + 2.0 * np.pi * np.arange(n_classes) / n_classes
    centres = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    y = np.repeat(np.arange(n_classes, dtype=np.int64), sizes)
    x = centres[y] + spread * rng.standard_normal((n_samples, 2))
    return _shuffled(x, y, rng)


def true_function(x):
    """The smooth curve behind ``make_regression_1d``: ``sin(1.5 x) + 0.3 x``.

    Accepts any array shape (or a scalar) and returns float64 of the same shape.
    """
    x = np.asarray(x, dtype=np.float64)
    return np.sin(1.5 * x) + 0.3 * x


def _check_interval(name, value):
    """A pair (low, high) of finite numbers with low < high."""
    try:
        low, high = value
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair (low, high) of numbers; got {value!r}.") from None
    low = check_number(f"{name}[0]", low)
    high = check_number(f"{name}[1]", high)
    if not low < high:
        raise ValueError(f"{name} must satisfy low < high; got {value!r}.")
    return low, high


def make_regression_1d(n_samples=100, noise=0.1, x_range=(-3, 3), gap=None, seed=None):
    """Noisy samples of ``true_function`` on an interval, optionally with a gap in the data.

    ``x`` is drawn uniformly from ``x_range`` with the gap removed, and
    ``y = true_function(x) + noise * N(0, 1)``. A model fitted to these points can then be
    compared with the true curve where it saw data, inside the gap, and outside
    ``x_range`` (narrow ``x_range`` and plot wider to show data "only in a sub-range").

    Parameters
    ----------
    n_samples : int >= 1
    noise : float >= 0
        Standard deviation of the Gaussian noise added to ``y``.
    x_range : (low, high), low < high
        Interval the inputs are drawn from.
    gap : None, float or (low, high)
        Part of ``x_range`` that receives no data. A number is the width of a gap centred
        in ``x_range`` (0 < width < high - low); a pair is the gap itself and must lie
        strictly inside ``x_range``.
    seed : None, int >= 0 or numpy.random.Generator

    Returns
    -------
    x : float64 array, shape (n_samples, 1), in random (unsorted) order
    y : float64 array, shape (n_samples, 1)
    """
    n_samples = _check_n_samples(n_samples, 1)
    noise = check_non_negative("noise", noise)
    low, high = _check_interval("x_range", x_range)
    rng = check_seed("seed", seed)
    if gap is None:
        gap_low = gap_high = low  # an empty gap at the left end changes nothing
    elif isinstance(gap, (tuple, list, np.ndarray)):
        gap_low, gap_high = _check_interval("gap", gap)
        if not low < gap_low or not gap_high < high:
            raise ValueError(f"gap must lie strictly inside x_range={x_range!r}; got {gap!r}.")
    else:
        width = check_number("gap", gap, low=0.0, high=high - low,
                             low_inclusive=False, high_inclusive=False)
        middle = 0.5 * (low + high)
        gap_low, gap_high = middle - width / 2, middle + width / 2
    # Draw on the data's total length, then jump over the gap.
    left_length = gap_low - low
    u = rng.uniform(0.0, (high - low) - (gap_high - gap_low), n_samples)
    x = np.where(u < left_length, low + u, gap_high + (u - left_length))
    y = true_function(x) + noise * rng.standard_normal(n_samples)
    return x[:, None], y[:, None]
