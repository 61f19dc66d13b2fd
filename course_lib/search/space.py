"""Search spaces: what each hyperparameter may be, and on which scale to sample it.

A space is a dict ``name -> dimension``; a dimension is one of

* ``Real(low, high, log=False)``: a float; ``log=True`` samples uniformly in log(value), so
  every decade (1e-4..1e-3, 1e-3..1e-2, ...) gets the same share of samples; with
  ``one_minus=True`` as well, it is ``1 - value`` that is spread evenly over decades, which is
  the right scale for a beta between 0.9 and 0.999;
* ``Integer(low, high, log=False)``: an integer in ``low..high`` (both included);
* ``Choice(options)``: one of a list of values (an optimizer name, an activation...).

Every dimension maps its values to the unit interval and back (``to_unit`` / ``from_unit``),
on its own scale: the samplers and the Gaussian process all work in that unit cube, so
"uniform in the cube" means "uniform on each dimension's scale".
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .._validation import check_number, check_seed

__all__ = ["Real", "Integer", "Choice", "Space", "as_space"]


class Dimension:
    """Base class: one hyperparameter's allowed values and sampling scale.

    ``width`` is the number of unit-cube columns the dimension takes (1, or the number of
    options for a ``Choice``, which is one-hot encoded).
    """

    width = 1
    numeric = True

    def sample(self, rng, n):
        """``n`` values drawn on the dimension's scale (a list of Python numbers or options)."""
        return self.from_unit(rng.random((n, self.width)))

    def to_unit(self, values):
        """Values -> array (n, width) in [0, 1]."""
        raise NotImplementedError

    def from_unit(self, u):
        """Array (n, width) in [0, 1] -> list of n values (inverse of ``to_unit``)."""
        raise NotImplementedError

    def grid(self, k):
        """``k`` values at the centres of ``k`` equal cells of the scale (fewer if they repeat)."""
        u = (np.arange(k) + 0.5) / k
        values = self.from_unit(u[:, None])
        return list(dict.fromkeys(values))

    def narrowed(self, center, zoom):
        """A dimension covering the fraction ``zoom`` of this one's scale around ``center``."""
        return self


class Real(Dimension):
    """A real hyperparameter in ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Bounds, ``low < high``.
    log : bool
        Sample uniformly in ``log(value)`` (needs ``low > 0``): learning rates, L2 factors.
    one_minus : bool
        With ``log=True``: sample ``1 - value`` on a log scale (needs ``high < 1``), so that
        0.9..0.99 and 0.99..0.999 get equal shares: betas of moving averages.
    """

    def __init__(self, low, high, log=False, one_minus=False):
        low = check_number("low", low)
        high = check_number("high", high)
        if low >= high:
            raise ValueError(f"Real needs low < high; got low={low!r}, high={high!r}.")
        if not isinstance(log, (bool, np.bool_)) or not isinstance(one_minus, (bool, np.bool_)):
            raise TypeError(f"log and one_minus must be True or False; got log={log!r}, "
                            f"one_minus={one_minus!r}.")
        if one_minus and not log:
            raise ValueError("one_minus=True samples 1 - value on a log scale: pass log=True too.")
        if one_minus and high >= 1:
            raise ValueError(f"one_minus=True needs high < 1 (1 - value must stay positive); "
                             f"got high={high!r}.")
        if log and not one_minus and low <= 0:
            raise ValueError(f"log=True needs low > 0 (the log of {low!r} is undefined); "
                             f"got low={low!r}, high={high!r}. Use log=False or a positive low.")
        self.low, self.high, self.log, self.one_minus = low, high, bool(log), bool(one_minus)
        self._t_low, self._t_high = self._warp(low), self._warp(high)

    def _warp(self, x):
        """The scale on which samples are uniform: x, log(x) or log(1 - x)."""
        x = np.asarray(x, dtype=float)
        if self.one_minus:
            return np.log1p(-x)
        return np.log(x) if self.log else x

    def _unwarp(self, t):
        if self.one_minus:
            return -np.expm1(t)
        return np.exp(t) if self.log else t

    def to_unit(self, values):
        t = self._warp(np.asarray(values, dtype=float).reshape(-1))
        return ((t - self._t_low) / (self._t_high - self._t_low))[:, None]

    def from_unit(self, u):
        u = np.clip(np.asarray(u, dtype=float).reshape(-1), 0.0, 1.0)
        x = self._unwarp(self._t_low + u * (self._t_high - self._t_low))
        return [float(v) for v in np.clip(x, self.low, self.high)]

    def contains(self, value):
        return isinstance(value, numbers.Real) and self.low <= value <= self.high

    def narrowed(self, center, zoom):
        lo, hi = _zoom_interval(float(self.to_unit([center])[0, 0]), zoom)
        new_low, new_high = self.from_unit(np.array([[lo], [hi]]))
        new_low, new_high = min(new_low, center), max(new_high, center)  # rounding guard
        if not new_low < new_high:
            return self
        return Real(new_low, new_high, log=self.log, one_minus=self.one_minus)

    def __repr__(self):
        extra = ", log=True" if self.log else ""
        extra += ", one_minus=True" if self.one_minus else ""
        return f"Real({self.low:g}, {self.high:g}{extra})"

    def __eq__(self, other):
        return isinstance(other, Real) and (self.low, self.high, self.log, self.one_minus) == (
            other.low, other.high, other.log, other.one_minus)


class Integer(Dimension):
    """An integer hyperparameter in ``low..high`` (both included), e.g. hidden units.

    Each integer owns an equal cell of the scale (``log=True``: equal cells of log(value)).
    """

    def __init__(self, low, high, log=False):
        low = check_number("low", low, integer=True)
        high = check_number("high", high, integer=True)
        if low >= high:
            raise ValueError(f"Integer needs low < high; got low={low!r}, high={high!r}. "
                             f"A hyperparameter with one value is a constant: leave it out.")
        if not isinstance(log, (bool, np.bool_)):
            raise TypeError(f"log must be True or False; got {log!r}.")
        if log and low <= 0:
            raise ValueError(f"log=True needs low >= 1; got low={low!r}, high={high!r}.")
        self.low, self.high, self.log = low, high, bool(log)
        # Cell edges half a unit beyond the bounds, so low and high get full cells.
        self._t_low = math.log(low - 0.5) if log else low - 0.5
        self._t_high = math.log(high + 0.5) if log else high + 0.5

    def to_unit(self, values):
        x = np.asarray(values, dtype=float).reshape(-1)
        t = np.log(x) if self.log else x
        return ((t - self._t_low) / (self._t_high - self._t_low))[:, None]

    def from_unit(self, u):
        u = np.clip(np.asarray(u, dtype=float).reshape(-1), 0.0, 1.0)
        t = self._t_low + u * (self._t_high - self._t_low)
        x = np.exp(t) if self.log else t
        return [int(v) for v in np.clip(np.floor(x + 0.5), self.low, self.high)]

    def contains(self, value):
        return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                and self.low <= value <= self.high)

    def narrowed(self, center, zoom):
        lo, hi = _zoom_interval(float(self.to_unit([center])[0, 0]), zoom)
        new_low, new_high = self.from_unit(np.array([[lo], [hi]]))
        if new_low == new_high:  # keep at least two values to choose from
            new_low, new_high = (new_low, new_low + 1) if new_low < self.high else (new_low - 1, new_low)
        return Integer(new_low, new_high, log=self.log)

    def __repr__(self):
        return f"Integer({self.low}, {self.high}{', log=True' if self.log else ''})"

    def __eq__(self, other):
        return isinstance(other, Integer) and (self.low, self.high, self.log) == (
            other.low, other.high, other.log)


class Choice(Dimension):
    """One of a list of options (any values: names, numbers, None); one-hot encoded."""

    numeric = False

    def __init__(self, options):
        if isinstance(options, (str, bytes)) or not hasattr(options, "__iter__"):
            raise TypeError(f"Choice needs a list of options; got {options!r}.")
        options = list(options)
        if not options:
            raise ValueError("Choice needs at least one option; got an empty list.")
        for i, a in enumerate(options):
            if any(a == b for b in options[:i]):
                raise ValueError(f"Choice options must be distinct; {a!r} appears twice.")
        self.options = [o.item() if isinstance(o, np.generic) else o for o in options]
        self.width = len(options)

    def sample(self, rng, n):
        return [self.options[i] for i in rng.integers(len(self.options), size=n)]

    def index(self, value):
        for i, option in enumerate(self.options):
            if option is value or option == value:
                return i
        raise ValueError(f"{value!r} is not one of the options {self.options!r}.")

    def to_unit(self, values):
        values = list(values)
        out = np.zeros((len(values), self.width))
        for row, value in enumerate(values):
            out[row, self.index(value)] = 1.0
        return out

    def from_unit(self, u):
        u = np.asarray(u, dtype=float).reshape(-1, self.width)
        return [self.options[i] for i in np.argmax(u, axis=1)]

    def grid(self, k):
        return list(self.options)

    def contains(self, value):
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    def __repr__(self):
        return f"Choice({self.options!r})"

    def __eq__(self, other):
        return isinstance(other, Choice) and self.options == other.options


def _zoom_interval(center, zoom):
    """An interval of length ``zoom`` around ``center``, shifted to stay inside [0, 1]."""
    lo = min(max(center - zoom / 2, 0.0), 1.0 - zoom)
    return lo, lo + zoom


class Space:
    """A validated search space: an ordered mapping name -> dimension.

    ``Space({"learning_rate": Real(1e-4, 1, log=True), "hidden_units": Integer(16, 256)})``.
    Points are dicts ``name -> value``; in the unit cube they are rows of ``encode``.
    """

    def __init__(self, dimensions):
        if isinstance(dimensions, Space):
            dimensions = dimensions.dimensions
        if not isinstance(dimensions, dict):
            raise TypeError(f"space must be a dict name -> Real/Integer/Choice; "
                            f"got {type(dimensions).__name__}.")
        if not dimensions:
            raise ValueError("space must name at least one hyperparameter; got an empty dict.")
        for name, dim in dimensions.items():
            if not isinstance(name, str):
                raise TypeError(f"space names must be strings; got {name!r}.")
            if not isinstance(dim, Dimension):
                raise TypeError(f"space[{name!r}] must be Real(low, high), Integer(low, high) or "
                                f"Choice([...]); got {dim!r}.")
        self.dimensions = dict(dimensions)
        self.names = list(self.dimensions)
        widths = [d.width for d in self.dimensions.values()]
        self.n_columns = int(sum(widths))
        starts = np.cumsum([0] + widths)
        self._slices = {name: slice(int(starts[i]), int(starts[i + 1]))
                        for i, name in enumerate(self.names)}
        #: Boolean mask of the unit-cube columns that are numeric (Real or Integer).
        self.numeric_columns = np.concatenate(
            [np.full(d.width, d.numeric) for d in self.dimensions.values()])

    def __len__(self):
        return len(self.names)

    def __getitem__(self, name):
        return self.dimensions[name]

    def __iter__(self):
        return iter(self.names)

    def items(self):
        return self.dimensions.items()

    def __repr__(self):
        inner = ", ".join(f"{n}={d!r}" for n, d in self.dimensions.items())
        return f"Space({inner})"

    def sample(self, rng, n):
        """``n`` random points (list of dicts), each dimension on its own scale."""
        rng = check_seed("rng", rng)
        columns = {name: dim.sample(rng, n) for name, dim in self.dimensions.items()}
        return [{name: columns[name][i] for name in self.names} for i in range(n)]

    def encode(self, points):
        """List of n points -> array (n, n_columns) in the unit cube."""
        points = list(points)
        for p in points:
            self.check_point(p)
        out = np.empty((len(points), self.n_columns))
        for name, dim in self.dimensions.items():
            out[:, self._slices[name]] = dim.to_unit([p[name] for p in points])
        return out

    def decode(self, u):
        """Array (n, n_columns) -> list of n points (rounded to valid values)."""
        u = np.atleast_2d(np.asarray(u, dtype=float))
        if u.shape[1] != self.n_columns:
            raise ValueError(f"u must have {self.n_columns} columns; got shape {u.shape}.")
        columns = {name: dim.from_unit(u[:, self._slices[name]])
                   for name, dim in self.dimensions.items()}
        return [{name: columns[name][i] for name in self.names} for i in range(len(u))]

    def check_point(self, point):
        """Raise ValueError unless ``point`` gives a valid value to every name."""
        if not isinstance(point, dict) or set(point) != set(self.names):
            raise ValueError(f"a point must be a dict with exactly the keys {self.names}; "
                             f"got {point!r}.")
        for name, dim in self.dimensions.items():
            if not dim.contains(point[name]):
                raise ValueError(f"{name}={point[name]!r} is outside {dim!r}.")

    def grid(self, points_per_dim):
        """Every combination of ``points_per_dim`` values per numeric dimension (all options
        of each Choice): a list of points, the first name varying slowest."""
        if isinstance(points_per_dim, dict):
            unknown = set(points_per_dim) - set(self.names)
            if unknown:
                raise ValueError(f"points_per_dim names unknown hyperparameters {sorted(unknown)}.")
            counts = {n: points_per_dim.get(n, 1) for n in self.names}
        else:
            counts = dict.fromkeys(self.names, points_per_dim)
        axes = [self.dimensions[n].grid(check_number(f"points_per_dim[{n!r}]", counts[n], low=1,
                                                     integer=True)) for n in self.names]
        points = [{}]
        for name, values in zip(self.names, axes):
            points = [{**p, name: v} for p in points for v in values]
        return points

    def narrowed(self, center, zoom):
        """A smaller space around the point ``center``: each numeric dimension keeps the
        fraction ``zoom`` of its scale (coarse-to-fine search); choices are kept."""
        zoom = check_number("zoom", zoom, low=0.0, high=1.0, low_inclusive=False)
        self.check_point(center)
        return Space({n: d.narrowed(center[n], zoom) for n, d in self.dimensions.items()})


def as_space(space):
    """Validate a dict (or ``Space``) and return a ``Space``."""
    return space if isinstance(space, Space) else Space(space)
