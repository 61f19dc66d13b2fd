"""The experimental method's helpers: seeds, spreads, a claim with a margin."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib.lessons.seeds import clearly_less, seeds_from, spread


def test_seeds_differ_between_notebook_seeds():
    assert seeds_from(0) == (0, 1, 2, 3, 4)
    assert not set(seeds_from(0)) & set(seeds_from(1))
    assert len(seeds_from(2, n=7)) == 7
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        seeds_from(-1)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        seeds_from(0, n=0)


def test_spread_of_values_and_curves():
    s = spread([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s.median == 3.0 and s.low == 2.0 and s.high == 4.0
    assert s.minimum == 1.0 and s.maximum == 100.0 and s.n == 5
    curves = spread(np.arange(10.0).reshape(5, 2))
    assert curves.median.tolist() == [4.0, 5.0]
    with_nan = spread([1.0, np.nan, 3.0])
    assert with_nan.median == 2.0
    with pytest.raises(ValueError, match="values must have shape"):
        spread(np.zeros((2, 2, 2)))


def test_clearly_less_needs_the_margin_and_most_seeds():
    a = [0.10, 0.11, 0.12, 0.13, 0.30]
    b = [0.20, 0.21, 0.22, 0.23, 0.10]
    assert clearly_less(a, b, margin=0.05)
    assert not clearly_less(a, b, margin=0.15)          # medians 0.12 vs 0.21
    assert not clearly_less(b, a, margin=0.0)
    # medians 0.15 < 0.2, but seed by seed a wins only 2 of 5
    assert not clearly_less([0.5, 0.5, 0.15, 0.1, 0.1], [0.6, 0.2, 0.2, 0.05, 0.05], margin=0.0)
