"""The course's experimental method: a claim rests on several seeds, a median and a spread.

A comparison made on one seed teaches what one run did. Every comparison in the notebooks
runs each setting on :data:`N_SEEDS` seeds derived from the notebook's ``SEED``
(:func:`seeds_from`), summarises them with :func:`spread` (median and quartiles, or the
whole range), draws the spread (:func:`course_lib.lessons.figures.plot_band`) and checks its
claim with a margin written in the code (:func:`clearly_less`), so the claim still holds for
another ``SEED`` and on another machine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: How many seeds a comparison uses (the course's minimum).
N_SEEDS = 5


def seeds_from(seed, n=N_SEEDS):
    """``n`` seeds derived from a notebook's ``SEED``: ``SEED * 1000 + (0, 1, ..., n - 1)``.

    ``seeds_from(0)`` is ``(0, 1, 2, 3, 4)``; another ``SEED`` gives a disjoint set, so a notebook
    run with ``SEED = 1`` repeats every comparison on seeds it has never seen.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}.")
    return tuple(int(seed) * 1000 + i for i in range(int(n)))


@dataclass(frozen=True)
class Spread:
    """Median and spread of values measured over seeds (axis 0 of ``values``).

    ``low``/``high`` are the quartiles (25th and 75th percentiles); ``minimum``/``maximum``
    the whole range. For curves (values of shape (seeds, steps)) each is a curve.
    """

    values: np.ndarray
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray

    @property
    def n(self):
        return self.values.shape[0]

    def __str__(self):
        if np.ndim(self.median) == 0:
            return (f"{float(self.median):.3g} (quartiles {float(self.low):.3g} to "
                    f"{float(self.high):.3g}, {self.n} seeds)")
        return f"Spread of {self.n} seeds, curves of length {np.shape(self.median)[0]}"


def spread(values):
    """The :class:`Spread` of ``values``: shape (seeds,) or (seeds, steps). NaN-aware: a
    diverged run recorded as NaN does not hide the others (and is counted by the caller)."""
    values = np.asarray(values, dtype=float)
    if values.ndim not in (1, 2) or values.shape[0] < 1:
        raise ValueError(f"values must have shape (seeds,) or (seeds, steps); got {values.shape}.")
    with np.errstate(invalid="ignore"), _quiet_nan_slices():
        low, median, high = np.nanpercentile(values, [25, 50, 75], axis=0)
        minimum, maximum = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    return Spread(values, median, low, high, minimum, maximum)


def clearly_less(a, b, margin):
    """Whether ``a`` is clearly below ``b``: by more than ``margin`` in the median, and on a
    majority of seeds (seed i of ``a`` against seed i of ``b``).

    ``a`` and ``b`` are values over seeds (or :class:`Spread`s). The margin is in the values'
    units and is written next to the claim it checks.
    """
    a = a if isinstance(a, Spread) else spread(a)
    b = b if isinstance(b, Spread) else spread(b)
    if not float(a.median) + margin < float(b.median):
        return False
    paired = min(a.n, b.n)
    wins = np.sum(a.values[:paired] < b.values[:paired])
    return bool(wins > paired / 2)


class _quiet_nan_slices:
    """Silence numpy's "All-NaN slice" warning: an all-diverged column stays NaN on purpose."""

    def __enter__(self):
        import warnings
        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.filterwarnings("ignore", message="All-NaN slice encountered")
        return self

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)
