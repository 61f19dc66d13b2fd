"""Test functions with known minima, for checking and benchmarking search strategies.

Each is an objective ``f(params) -> float`` with a matching space and its minimum value:

* ``forrester`` (1-D, on [0, 1]): a wiggly curve with a local and a global minimum, used
  to show Bayesian optimisation step by step;
* ``branin`` (2-D): three global minima of value 0.397887;
* ``hartmann6`` (6-D, on the unit cube): one global minimum of value -3.32237.
"""
from __future__ import annotations

import math

import numpy as np

from .space import Real

__all__ = ["forrester", "branin", "hartmann6", "FORRESTER_SPACE", "BRANIN_SPACE",
           "HARTMANN6_SPACE", "FORRESTER_MIN", "BRANIN_MIN", "HARTMANN6_MIN", "TEST_FUNCTIONS"]


def forrester_curve(x):
    """f(x) = (6x - 2)^2 sin(12x - 4), vectorised over an array ``x``."""
    x = np.asarray(x, dtype=float)
    return (6.0 * x - 2.0) ** 2 * np.sin(12.0 * x - 4.0)


def forrester(params):
    """Forrester et al. (2008) 1-D function of ``params["x"]`` in [0, 1]."""
    return float(forrester_curve(params["x"]))


FORRESTER_SPACE = {"x": Real(0.0, 1.0)}
FORRESTER_MIN = -6.020740055766075       # at x = 0.757249


def branin(params):
    """Branin-Hoo function of ``x1`` in [-5, 10] and ``x2`` in [0, 15]."""
    x1, x2 = params["x1"], params["x2"]
    b, c = 5.1 / (4 * math.pi ** 2), 5 / math.pi
    t = 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


BRANIN_SPACE = {"x1": Real(-5.0, 10.0), "x2": Real(0.0, 15.0)}
BRANIN_MIN = 0.39788735772973816         # at (-pi, 12.275), (pi, 2.275), (9.42478, 2.475)

_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8],
                  [0.05, 10, 17, 0.1, 8, 14],
                  [3, 3.5, 1.7, 10, 17, 8],
                  [17, 8, 0.05, 10, 0.1, 14]], dtype=float)
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886],
                         [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650],
                         [4047, 8828, 8732, 5743, 1091, 381]], dtype=float)


def hartmann6(params):
    """Hartmann 6-D function of ``x1`` ... ``x6`` in [0, 1]."""
    x = np.array([params[f"x{i}"] for i in range(1, 7)], dtype=float)
    inner = np.sum(_H6_A * (x - _H6_P) ** 2, axis=1)
    return float(-np.sum(_H6_ALPHA * np.exp(-inner)))


HARTMANN6_SPACE = {f"x{i}": Real(0.0, 1.0) for i in range(1, 7)}
HARTMANN6_MIN = -3.322368011391339       # at (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)

#: name -> (objective, space, minimum value)
TEST_FUNCTIONS = {
    "forrester": (forrester, FORRESTER_SPACE, FORRESTER_MIN),
    "branin": (branin, BRANIN_SPACE, BRANIN_MIN),
    "hartmann6": (hartmann6, HARTMANN6_SPACE, HARTMANN6_MIN),
}
