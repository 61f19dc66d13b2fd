"""The experiments of the notebook on optimizers and their numbers (no drawing here).

On the surfaces (every run is a ``course_lib.surfaces.Descent``, the course's one loop):

* :func:`path` -- one optimizer on one surface, with the explorers' two sliders (cached);
* :func:`race` -- the eight optimizers from one start with the same learning rate, cached
  and extended on demand as the steps slider moves;
* :func:`surface_comparison` -- each optimizer from a ring of starts at a grid of learning
  rates, at its best rate: the "speed" and "quality" columns of the notebook's table;
* :func:`from_starts` -- one optimizer from the ring of starts: the claims made on the
  surfaces are checked from every start, not from the one drawn.

The digits experiments are in :mod:`.digits_runs`.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ... import optimizers as opt
from ... import surfaces
from ..._validation import check_choice, check_positive

#: The surfaces of the notebook, in the order they are taught.
SURFACE_NAMES = ("quadratic", "rosenbrock", "saddle", "multimodal")

#: The learning rates of the speed/quality table on the surfaces, half a decade apart. The grid
#: reaches past every optimizer's best rate on every surface (AdaGrad on the quadratic needs
#: its fewest steps from about 30 upwards, a plateau, see :func:`surface_comparison`).
SURFACE_RATES = tuple(float(10.0 ** e) for e in np.arange(-3.0, 2.01, 0.5))

#: Loss gaps below this are drawn at this value on the log axis (the run has converged).
GAP_FLOOR = 1e-12

#: The Keras keyword behind each of the explorers' two hyperparameter sliders, per optimizer
#: ("momentum / beta_1" and "rho / beta_2"); an optimizer not listed ignores that slider.
SLIDER_KEYWORDS = {
    "beta_1": {"Momentum": "momentum", "Nesterov": "momentum", "Adam": "beta_1",
               "AdaMax": "beta_1", "Nadam": "beta_1"},
    "beta_2": {"RMSProp": "rho", "Adam": "beta_2", "AdaMax": "beta_2", "Nadam": "beta_2"},
}


# ------------------------------------------------------------------------------ surfaces

def surface_of(surface):
    """The :class:`~course_lib.surfaces.Surface` for a name of :data:`SURFACE_NAMES` (or itself)."""
    if isinstance(surface, surfaces.Surface):
        return surface
    check_choice("surface", surface, tuple(surfaces.SURFACES))
    return surfaces.SURFACES[surface]


def lowest_loss(surface):
    """f at the surface's global minimum (the lowest of its listed minima), as a float."""
    surface = surface_of(surface)
    return min(surface.loss(np.array(m)) for m in surface.minima)


def loss_gap(surface, losses):
    """``losses - f_min`` floored at :data:`GAP_FLOOR`, for a log axis (array, same shape)."""
    gap = np.asarray(losses, dtype=np.float64) - lowest_loss(surface)
    return np.maximum(gap, GAP_FLOOR)


def slider_keywords(name, beta_1=None, beta_2=None):
    """The keyword arguments the two sliders give optimizer ``name`` (a display name).

    ``beta_1`` is the momentum of Momentum and Nesterov and ``beta_1`` of the Adam family;
    ``beta_2`` is RMSProp's ``rho`` and ``beta_2`` of the Adam family. ``None``, or an
    optimizer without that hyperparameter ("SGD", "AdaGrad"), keeps the Keras default.
    """
    check_choice("name", name, opt.OPTIMIZER_NAMES)
    kwargs = {}
    for slider, value in (("beta_1", beta_1), ("beta_2", beta_2)):
        keyword = SLIDER_KEYWORDS[slider].get(name)
        if keyword is not None and value is not None:
            kwargs[keyword] = float(value)
    return kwargs


def default_hyperparameters(name):
    """``(beta_1, beta_2)``: the Keras defaults of optimizer ``name`` behind the two sliders
    (``None`` where it has no such hyperparameter)."""
    optimizer = opt.get(name)
    return tuple(None if SLIDER_KEYWORDS[slider].get(name) is None
                 else getattr(optimizer, SLIDER_KEYWORDS[slider][name])
                 for slider in ("beta_1", "beta_2"))


def clip_start(surface, start):
    """``start`` moved inside the surface's drawn box (a tuple (x, y))."""
    surface = surface_of(surface)
    x = min(max(float(start[0]), surface.xlim[0]), surface.xlim[1])
    y = min(max(float(start[1]), surface.ylim[0]), surface.ylim[1])
    return x, y


@functools.lru_cache(maxsize=512)
def _cached_path(surface, name, learning_rate, beta_1, beta_2, steps, start):
    optimizer = opt.get(name, learning_rate=learning_rate, **slider_keywords(name, beta_1, beta_2))
    return surfaces.trajectory(optimizer, surface, start=start, steps=steps)


def path(surface, name, learning_rate, steps=100, start=None, beta_1=None, beta_2=None):
    """One optimizer's :class:`~course_lib.surfaces.Trajectory` on one surface (cached).

    Parameters
    ----------
    surface : name in :data:`SURFACE_NAMES`
    name : one of ``OPTIMIZER_NAMES``
    learning_rate : float > 0
    steps : int >= 0
    start : (x, y) or None (the surface's default start)
    beta_1, beta_2 : float or None, see :func:`slider_keywords`.

    The returned object is shared by the cache: read it, do not modify its arrays.
    """
    surface = surface_of(surface)
    start = surface.default_start if start is None else tuple(float(v) for v in start)
    # A slider the optimizer ignores stays out of the cache key.
    b1, b2 = (None if value is None or name not in SLIDER_KEYWORDS[slider] else float(value)
              for slider, value in (("beta_1", beta_1), ("beta_2", beta_2)))
    return _cached_path(surface, name, float(learning_rate), b1, b2, int(steps), start)


_RACE_CACHE_SIZE = 128
_RACES = {}   # (surface, learning rate, start, names) -> Descent, most recent last


def race(surface, learning_rate, steps=100, start=None, names=opt.OPTIMIZER_NAMES):
    """Every optimizer of ``names`` from the same start with the same learning rate: a dict
    name -> :class:`~course_lib.surfaces.Trajectory`.

    The optimizers run side by side in one :class:`~course_lib.surfaces.Descent`, kept per
    (surface, learning rate, start) and advanced on demand, so asking for more or fewer
    steps of a race already run costs only the new steps.
    """
    surface = surface_of(surface)
    check_positive("learning_rate", learning_rate)
    start = surface.default_start if start is None else tuple(float(v) for v in start)
    key = (surface.name, float(learning_rate), start, tuple(names))
    descent = _RACES.pop(key, None)
    if descent is None:
        descent = surfaces.Descent([opt.get(name, learning_rate=float(learning_rate))
                                    for name in names], surface, start)
    _RACES[key] = descent
    while len(_RACES) > _RACE_CACHE_SIZE:
        _RACES.pop(next(iter(_RACES)))
    descent.advance(steps)
    return {name: descent.trajectory(i, steps) for i, name in enumerate(names)}


def ring_starts(surface, n=8, scale=0.8):
    """``n`` start points evenly spaced on an ellipse filling ``scale`` of the surface's box,
    around the box's centre: an array of shape (n, 2)."""
    surface = surface_of(surface)
    angles = 2.0 * np.pi * (np.arange(n) + 0.5) / n
    cx, cy = np.mean(surface.xlim), np.mean(surface.ylim)
    rx = 0.5 * scale * (surface.xlim[1] - surface.xlim[0])
    ry = 0.5 * scale * (surface.ylim[1] - surface.ylim[0])
    return np.column_stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)])


def surface_comparison(surface, learning_rates, *, steps=200, threshold=1e-3, n_starts=8,
                       names=opt.OPTIMIZER_NAMES):
    """Each optimizer on ``surface`` from ``n_starts`` starts (:func:`ring_starts`), at each
    learning rate of the grid, keeping its best rate.

    A run "reaches" the surface when its loss above the minimum falls below ``threshold``
    and stays there (``surfaces.settling_step``); a diverged run never reaches it. For each
    optimizer and rate the score is the median over starts of the steps needed
    (``steps + 1`` when not reached); the best rate has the lowest median. Among rates that
    reach it in equally few steps (a plateau), the best is the smallest; among rates that
    never reach it, the one with the lowest median final loss.

    Returns a dict name -> dict with ``learning_rate`` (best), ``steps`` (median steps to the
    threshold, ``None`` if most starts never reach it), ``final`` (median final loss above
    the minimum; ``inf`` if most runs diverged), ``reached`` (fraction of starts that reached
    it), ``by_rate`` (the median steps at every rate, ``None`` where not reached),
    ``rate_index`` (the best rate's index in the grid) and ``all_steps`` (the steps needed
    from each start at the best rate, ``steps + 1`` where not reached).
    """
    surface = surface_of(surface)
    starts = ring_starts(surface, n_starts)
    f_min = lowest_loss(surface)
    table = {}
    for name in names:
        rows = []
        for lr in learning_rates:
            descent = surfaces.Descent(opt.get(name, learning_rate=float(lr)), surface, starts)
            runs = [descent.advance(steps).trajectory(j) for j in range(len(starts))]
            reach = [None if run.diverged else surfaces.settling_step(run.losses - f_min < threshold)
                     for run in runs]
            needed = [steps + 1 if r is None else r for r in reach]
            final = [math.inf if run.diverged else max(run.losses[-1] - f_min, 0.0) for run in runs]
            median_steps, median_final = float(np.median(needed)), float(np.median(final))
            # reached: fewest steps, then smallest rate; not reached: lowest final loss
            key = (median_steps, median_final if median_steps > steps else 0.0, float(lr))
            rows.append((key, median_final, float(np.mean([r is not None for r in reach])),
                         tuple(needed)))
        by_rate = [None if r[0][0] > steps else r[0][0] for r in rows]
        best = min(range(len(rows)), key=lambda i: rows[i][0])
        (median_steps, _, best_lr), median_final, reached, needed = rows[best]
        table[name] = {"learning_rate": best_lr,
                       "steps": None if median_steps > steps else median_steps,
                       "final": median_final, "reached": reached, "by_rate": by_rate,
                       "rate_index": best, "all_steps": needed}
    return table


def from_starts(optimizer, surface, steps, n_starts=8):
    """``optimizer`` from each of the :func:`ring_starts` of ``surface``, run together in one
    :class:`~course_lib.surfaces.Descent`: a list of ``n_starts`` trajectories."""
    starts = ring_starts(surface, n_starts)
    descent = surfaces.Descent(optimizer, surface_of(surface), starts).advance(steps)
    return [descent.trajectory(j) for j in range(len(starts))]


def exit_step(surface, points):
    """The index of the first point outside the surface's drawn box, or ``None``."""
    surface = surface_of(surface)
    p = np.asarray(points)
    outside = ((p[:, 0] < surface.xlim[0]) | (p[:, 0] > surface.xlim[1])
               | (p[:, 1] < surface.ylim[0]) | (p[:, 1] > surface.ylim[1]))
    idx = np.flatnonzero(outside)
    return int(idx[0]) if idx.size else None


def describe_run(surface, trajectory, name):
    """One line on how a run ended: diverged, left the plot, or its final loss gap."""
    if trajectory.diverged:
        return (f"{name} diverged: it left the plot and ran away "
                f"(stopped at step {trajectory.diverged_at}).")
    gone = exit_step(surface, trajectory.points)
    final = float(loss_gap(surface, trajectory.losses[-1:])[0])
    if gone is not None:
        return (f"{name} left the plot at step {gone} and came back; "
                f"final loss above the minimum {final:.2g}.")
    return f"{name}: final loss above the minimum {final:.2g} after {len(trajectory.points) - 1} steps."


#: The source material's summary table: convergence speed and quality, in stars
#: (* bad, ** average, *** good), with its remarks.
SOURCE_STARS = {
    "SGD": ("*", "***"),
    "Momentum": ("**", "***"),
    "Nesterov": ("**", "***"),
    "AdaGrad": ("***", "* (stops too early)"),
    "RMSProp": ("***", "** or ***"),
    "Adam": ("***", "** or ***"),
    "AdaMax": ("***", "** or ***"),
    "Nadam": ("***", "** or ***"),
}


def format_table(header, rows):
    """A plain-text table: ``header`` (list of str) and ``rows`` (lists of str), columns
    padded to their widest entry, first column left-aligned, the others right-aligned."""
    table = [list(map(str, header))] + [list(map(str, row)) for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for k, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
