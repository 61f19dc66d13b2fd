"""Explorers and figures of the notebook on optimizers, from gradient descent to Nadam.

Figures (each drawn by one helper, used by the static figures and the explorers alike):

* :class:`PathFigure` -- paths of optimizers on a 2-D surface (contour map on the left)
  and the loss above the minimum per step (right). The contour background of each surface
  is computed once and cached; a redraw only moves lines.
* :class:`CurveFigure` -- training and validation loss per epoch of the digits network,
  one colour per optimizer.

Runs (cached, so moving a slider back is instant):

* :func:`path` -- one optimizer on one surface (``course_lib.surfaces.trajectory``);
* :func:`race` -- the eight optimizers in lock-step from one start, the same learning rate;
* :func:`digits_run` -- the digits network trained with one optimizer and learning rate.

Explorers: :func:`trajectory_explorer` and :func:`race_explorer` (formula explorers,
< 100 ms) and :func:`training_explorer` (retrains the small digits network, < 1 s).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from ... import optimizers as opt
from ... import surfaces
from ..._validation import check_choice, check_number, check_positive
from ..figures import OPTIMIZER_COLORS, PALETTE, label
from ..explorer import BlitExplorer, Explorer, register

NOTEBOOK = "03_optimizers"

#: The surfaces of the notebook, in the order they are taught.
SURFACE_NAMES = ("quadratic", "rosenbrock", "saddle", "multimodal")

#: Loss gaps below this are drawn at this value on the log axis (the run has converged).
GAP_FLOOR = 1e-12

#: The range of the loss axis, the same for every surface (a diverging run leaves it at
#: the top, as its path leaves the map).
LOSS_RANGE = (GAP_FLOOR / 3.0, 1e4)

#: Optimizers whose first hyperparameter (momentum or beta_1) and second (rho or beta_2)
#: the explorers expose; the others ignore the corresponding slider.
_USES_BETA_1 = ("Momentum", "Nesterov", "Adam", "AdaMax", "Nadam")
_USES_BETA_2 = ("RMSProp", "Adam", "AdaMax", "Nadam")


# ------------------------------------------------------------------------------ runs

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


def build_optimizer(name, learning_rate, beta_1=None, beta_2=None):
    """The optimizer ``name`` (one of ``OPTIMIZER_NAMES``) with the explorers' two sliders.

    ``beta_1`` is the momentum of Momentum and Nesterov and ``beta_1`` of the Adam family;
    ``beta_2`` is RMSProp's ``rho`` and ``beta_2`` of the Adam family. ``None`` keeps the
    Keras default. "SGD" always has momentum 0 and AdaGrad has neither hyperparameter.
    """
    check_choice("name", name, opt.OPTIMIZER_NAMES)
    kwargs = {}
    if beta_1 is not None and name in _USES_BETA_1:
        kwargs["momentum" if name in ("Momentum", "Nesterov") else "beta_1"] = beta_1
    if beta_2 is not None and name in _USES_BETA_2:
        kwargs["rho" if name == "RMSProp" else "beta_2"] = beta_2
    return opt.make(name, learning_rate, **kwargs)


def default_hyperparameters(name):
    """``(beta_1, beta_2)`` defaults of optimizer ``name`` for the explorers' sliders
    (``None`` where the optimizer has no such hyperparameter)."""
    o = opt.make(name)
    if name in ("Momentum", "Nesterov"):
        beta_1 = o.momentum
    else:
        beta_1 = getattr(o, "beta_1", None)
    beta_2 = getattr(o, "rho", None) if name == "RMSProp" else getattr(o, "beta_2", None)
    return beta_1, beta_2


def clip_start(surface, start):
    """``start`` moved inside the surface's drawn box (a tuple (x, y))."""
    surface = surface_of(surface)
    x = min(max(float(start[0]), surface.xlim[0]), surface.xlim[1])
    y = min(max(float(start[1]), surface.ylim[0]), surface.ylim[1])
    return x, y


@functools.lru_cache(maxsize=512)
def _cached_path(surface, name, learning_rate, beta_1, beta_2, steps, start):
    optimizer = build_optimizer(name, learning_rate, beta_1, beta_2)
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
    beta_1, beta_2 : float or None, see :func:`build_optimizer`.

    The returned object is shared by the cache: read it, do not modify its arrays.
    """
    surface = surface_of(surface)
    start = surface.default_start if start is None else tuple(float(v) for v in start)
    b1 = None if beta_1 is None else float(beta_1)
    b2 = None if beta_2 is None else float(beta_2)
    return _cached_path(surface, name, float(learning_rate), b1, b2, int(steps), start)


def race(surface, learning_rate, steps=100, start=None, names=opt.OPTIMIZER_NAMES):
    """Every optimizer of ``names`` from the same start with the same learning rate.

    The runs advance in lock-step: one vectorised gradient evaluation per step for all
    points, then each optimizer's own ``step``. Each run stops, like
    :func:`course_lib.surfaces.trajectory`, at the first step leaving the escape box, and
    gives the same points as ``trajectory`` would. Returns a dict name -> Trajectory.

    Races are cached per (surface, learning rate, start) and extended on demand, so asking
    for more or fewer steps of a race already run costs only the new steps.
    """
    surface = surface_of(surface)
    check_positive("learning_rate", learning_rate)
    steps = int(check_number("steps", steps, low=0, integer=True))
    start = surface.default_start if start is None else tuple(float(v) for v in start)
    key = (surface.name, float(learning_rate), start, tuple(names))
    state = _RACES.pop(key, None)
    if state is None:
        state = _RaceState(surface, float(learning_rate), start, tuple(names))
    _RACES[key] = state                      # most recently used last
    while len(_RACES) > _RACE_CACHE_SIZE:
        _RACES.pop(next(iter(_RACES)))
    state.advance(steps)
    return state.trajectories(steps)


_RACE_CACHE_SIZE = 128
_RACES = {}


class _RaceState:
    """A race in progress: the optimizers, their points so far, and where each stopped."""

    def __init__(self, surface, learning_rate, start, names):
        self.surface, self.names = surface, names
        self.optimizers = [opt.make(name, learning_rate) for name in names]
        n = len(names)
        self.current = np.tile(np.asarray(start, dtype=np.float64), (n, 1))
        self.weights = [self.current[i].copy() for i in range(n)]
        self.points = [self.current.copy()]
        self.stopped_at = [None] * n
        self.box = surface.escape_box()

    def advance(self, steps):
        (xlow, xhigh), (ylow, yhigh) = self.box
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(len(self.points), steps + 1):
                running = [i for i, s in enumerate(self.stopped_at) if s is None]
                if not running:
                    self.points.append(self.current.copy())
                    continue
                grads = self.surface.gradient(self.current)
                for i in running:
                    w = self.weights[i]
                    self.optimizers[i].step([w], [grads[i]])
                    x, y = w
                    if xlow <= x <= xhigh and ylow <= y <= yhigh:   # False for NaN too
                        self.current[i] = w
                    else:
                        self.stopped_at[i] = k
                self.points.append(self.current.copy())

    def trajectories(self, steps):
        points = np.array(self.points[:steps + 1])
        result = {}
        for i, name in enumerate(self.names):
            stop = self.stopped_at[i]
            diverged = stop is not None and stop <= steps
            pts = points[:stop if diverged else steps + 1, i].copy()
            losses = self.surface.value(pts[:, 0], pts[:, 1])
            result[name] = surfaces.Trajectory(pts, losses, diverged, stop if diverged else None,
                                               self.optimizers[i].display_name)
        return result


def ring_starts(surface, n=8, scale=0.8):
    """``n`` start points evenly spaced on an ellipse filling ``scale`` of the surface's box,
    around the box's centre: an array of shape (n, 2)."""
    surface = surface_of(surface)
    angles = 2.0 * np.pi * (np.arange(n) + 0.5) / n
    cx, cy = np.mean(surface.xlim), np.mean(surface.ylim)
    rx = 0.5 * scale * (surface.xlim[1] - surface.xlim[0])
    ry = 0.5 * scale * (surface.ylim[1] - surface.ylim[0])
    return np.column_stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)])


@dataclass
class BatchRun:
    """One optimizer run from several starts at once (see :func:`run_from_starts`).

    Attributes:
        losses: (steps + 1, k) loss at each step for each start; rows after a run's
            divergence repeat its last finite loss (never NaN or inf).
        diverged_at: (k,) step at which each run left the escape box, -1 if it did not.
    """

    losses: np.ndarray
    diverged_at: np.ndarray

    @property
    def diverged(self):
        return self.diverged_at >= 0


def run_from_starts(surface, name, learning_rate, starts, steps=200):
    """Optimizer ``name`` from every point of ``starts`` (k, 2) at once: a :class:`BatchRun`.

    Every optimizer of the course updates each coordinate on its own, so one instance fed
    a (k, 2) array runs k independent paths; each gives the same numbers as
    :func:`course_lib.surfaces.trajectory` from its start (a run that leaves the escape box
    is cut there, as ``trajectory`` does; what its coordinates do afterwards cannot affect
    the other runs).
    """
    surface = surface_of(surface)
    w = np.array(starts, dtype=np.float64).reshape(-1, 2)
    optimizer = opt.make(name, learning_rate)
    points = np.empty((steps + 1, len(w), 2))
    points[0] = w
    with np.errstate(all="ignore"):
        for k in range(1, steps + 1):
            optimizer.step([w], [surface.gradient(w)])
            points[k] = w
        (xlow, xhigh), (ylow, yhigh) = surface.escape_box()
        x, y = points[..., 0], points[..., 1]
        outside = ~((x >= xlow) & (x <= xhigh) & (y >= ylow) & (y <= yhigh))  # NaN is outside
        left = outside.any(axis=0)
        diverged_at = np.where(left, outside.argmax(axis=0), -1)
        for j in np.flatnonzero(left):   # keep the last point inside from then on
            points[diverged_at[j]:, j] = points[diverged_at[j] - 1, j]
        losses = surface.value(x, y)
    return BatchRun(losses, diverged_at)


def first_below(losses, threshold):
    """Per column of ``losses`` (steps + 1, k): the first step from which the loss stays
    below ``threshold`` to the end, or -1 if the last value is not below it. Shape (k,)."""
    below = np.asarray(losses) < threshold
    result = np.full(below.shape[1], -1)
    for j in range(below.shape[1]):
        column = below[:, j]
        if not column[-1]:
            continue
        above = np.flatnonzero(~column)
        result[j] = 0 if above.size == 0 else int(above[-1]) + 1
    return result


def surface_comparison(surface, learning_rates, *, steps=200, threshold=1e-3, n_starts=8,
                       names=opt.OPTIMIZER_NAMES):
    """Each optimizer on ``surface`` from ``n_starts`` starts (:func:`ring_starts`), at each
    learning rate of the grid, keeping its best rate.

    A run "reaches" the surface when its loss above the minimum falls below ``threshold``
    and stays there; a diverged run never reaches it. For each optimizer and rate the score
    is the median over starts of the steps needed (``steps + 1`` when not reached); the
    best rate has the lowest median, then the lowest median final loss.

    Returns a dict name -> dict with ``learning_rate`` (best), ``steps`` (median steps to the
    threshold, ``None`` if most starts never reach it), ``final`` (median final loss above
    the minimum; ``inf`` if most runs diverged), ``reached`` (fraction of starts that reached
    it) and ``by_rate`` (the median steps at every rate, ``None`` where not reached).
    """
    surface = surface_of(surface)
    starts = ring_starts(surface, n_starts)
    f_min = lowest_loss(surface)
    table = {}
    for name in names:
        rows = []
        for lr in learning_rates:
            run = run_from_starts(surface, name, float(lr), starts, steps)
            gap = run.losses - f_min
            reach = first_below(gap, threshold)
            reach[run.diverged] = -1
            needed = np.where(reach >= 0, reach, steps + 1)
            final = np.where(run.diverged, np.inf, np.maximum(gap[-1], 0.0))
            rows.append((float(np.median(needed)), float(np.median(final)), float(lr),
                         float(np.mean(reach >= 0))))
        by_rate = [None if r[0] > steps else r[0] for r in rows]
        median_steps, median_final, best_lr, reached = min(rows)
        table[name] = {"learning_rate": best_lr,
                       "steps": None if median_steps > steps else median_steps,
                       "final": median_final, "reached": reached, "by_rate": by_rate}
    return table


def steps_to_threshold(surface, trajectory, threshold=1e-3):
    """The first step at which ``f - f_min`` is below ``threshold`` and stays below it to
    the end of the run, or ``None`` (never, or the run diverged)."""
    if trajectory.diverged:
        return None
    gap = np.asarray(trajectory.losses) - lowest_loss(surface)
    above = np.flatnonzero(gap >= threshold)
    if above.size == 0:
        return 0
    last = int(above[-1])
    return None if last == len(gap) - 1 else last + 1


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


# ------------------------------------------------------------------------ path figure

@functools.lru_cache(maxsize=None)
def _background(surface, n=160, levels=14):
    """(image, extent, contour levels, grid) for one surface, computed once.

    The image is log10(f - f_min + delta): even shading of both the valley floor and the
    steep walls.
    """
    xx, yy, zz = surface.grid(n)
    f_min = lowest_loss(surface)
    gap = zz - f_min
    delta = max(1e-3, 1e-3 * float(np.ptp(gap)))
    image = np.log10(gap + delta)
    lv = np.unique(np.quantile(image, np.linspace(0.02, 0.98, levels)))
    extent = (*surface.xlim, *surface.ylim)
    return image, extent, lv, (xx, yy, image)


#: Lengths of the loss axis: the axis spans the first of these >= the steps taken, so
#: that small changes of the steps slider keep the axes (and the cached background).
_STEP_AXIS = (50, 100, 150, 200, 300, 500, 1000)


def _step_lengths_up_to(max_steps):
    """Every step-axis length a steps slider going up to ``max_steps`` can ask for."""
    return sorted({step_axis_length(n) for n in [1, *[x for x in _STEP_AXIS if x <= max_steps],
                                                 max_steps]})


def step_axis_length(steps):
    """The length of the step axis for a run of ``steps`` steps (see ``_STEP_AXIS``)."""
    for length in _STEP_AXIS:
        if steps <= length:
            return length
    return int(steps)


class PathFigure:
    """Paths on a contour map (left) and the loss above the minimum per step (right).

    Parameters
    ----------
    figure : matplotlib Figure (a pyplot one for static figures, the explorer's otherwise)
    names : labels of the paths to draw, each gets one line on both axes (course colours
        for optimizer names, unless ``colors`` maps the label to another colour).

    :meth:`show` swaps the background to a surface (cached per surface) and moves the
    lines. The axes limits depend only on the surface and the length of the run, so an
    explorer can keep a bitmap of everything else (:meth:`background_keys`,
    :meth:`moving_artists`) and redraw only the lines.
    """

    def __init__(self, figure, names, *, title=None, colors=None):
        self.figure = figure
        colors = dict(colors or {})
        self.names = tuple(names)
        self.map_ax, self.loss_ax = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        self.surface_name = None
        self.step_length = None
        self._image = None
        self._contours = {}
        self.lines, self.loss_lines, self.heads = {}, {}, {}
        for i, name in enumerate(self.names):
            color = colors.get(name) or OPTIMIZER_COLORS.get(name, f"C{i}")
            (self.lines[name],) = self.map_ax.plot([], [], "-", color=color, lw=1.8,
                                                   marker="o", ms=2.2, label=name, zorder=4)
            (self.heads[name],) = self.map_ax.plot([], [], "o", color=color, ms=6,
                                                   mec="white", zorder=5)
            (self.loss_lines[name],) = self.loss_ax.plot([], [], color=color, lw=1.8, label=name,
                                                         zorder=3)
        (self.start_marker,) = self.map_ax.plot([], [], "s", color="white", mec="black", ms=7,
                                                zorder=6)
        (self.minima_marker,) = self.map_ax.plot([], [], "*", color="white", mec="black", ms=13,
                                                 zorder=6, label="minimum")
        self.note = self.map_ax.text(0.02, 0.03, "", transform=self.map_ax.transAxes, va="bottom",
                                     ha="left", fontsize=9, color=PALETTE["vermillion"], zorder=7,
                                     bbox={"facecolor": "white", "alpha": 0.85, "lw": 0})
        label(self.map_ax, "x (parameter 1)", "y (parameter 2)")
        self.loss_ax.set_yscale("log")
        # A few labelled decades and no minor ticks: readable, and quick to draw.
        self.loss_ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=6))
        self.loss_ax.yaxis.set_minor_locator(NullLocator())
        self.loss_ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        self.map_ax.xaxis.set_major_locator(MaxNLocator(5))
        self.map_ax.yaxis.set_major_locator(MaxNLocator(5))
        self.loss_ax.set_ylim(*LOSS_RANGE)
        label(self.loss_ax, "step", "loss above the minimum, f - f*")
        self.loss_ax.set_title("loss per step")
        if title:
            figure.suptitle(title, y=0.99)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.80 if title else 0.88,
                               wspace=0.28)

    def _set_background(self, surface):
        if surface.name == self.surface_name:
            return
        image, extent, levels, (xx, yy, zz) = _background(surface)
        if self._image is None:
            self._image = self.map_ax.imshow(image, extent=extent, origin="lower", aspect="auto",
                                             cmap="viridis", alpha=0.9, zorder=1,
                                             interpolation="bilinear")
        else:
            self._image.set_data(image)
            self._image.set_extent(extent)
            self._image.set_clim(image.min(), image.max())
        for contours in self._contours.values():
            contours.set_visible(False)
        if surface.name not in self._contours:
            self._contours[surface.name] = self.map_ax.contour(
                xx, yy, zz, levels=levels, colors="white", linewidths=0.5, alpha=0.55, zorder=2)
        self._contours[surface.name].set_visible(True)
        self.map_ax.set_xlim(surface.xlim)
        self.map_ax.set_ylim(surface.ylim)
        mx, my = zip(*surface.minima)
        self.minima_marker.set_data(mx, my)
        self.surface_name = surface.name

    def background_keys(self):
        """What the static part of each half of the figure depends on: the map half on the
        surface, the loss half on the length of the step axis."""
        return {"map": self.surface_name, "loss": self.step_length}

    def regions(self):
        """Bboxes (display pixels) of the two halves: the map with its labels, and the loss
        axes with theirs (and a legend on the right). The border sits just left of the loss
        axes' labels, which never change, so each half can be drawn on its own."""
        from matplotlib.transforms import Bbox
        width, height = self.figure.canvas.get_width_height()
        if getattr(self, "_split", None) is None:
            renderer = self.figure.canvas.get_renderer()
            self._split = math.floor(self.loss_ax.get_tightbbox(renderer).x0) - 1
        return {"map": Bbox([[0, 0], [self._split, height]]),
                "loss": Bbox([[self._split, 0], [width, height]])}

    def axes_of(self, region):
        """The axes drawn in a region ("map" or "loss")."""
        return self.map_ax if region == "map" else self.loss_ax

    def set_step_length(self, length):
        """Set the length of the step axis (see :func:`step_axis_length`)."""
        self.step_length = int(length)
        self.loss_ax.set_xlim(0, self.step_length)

    def moving_artists(self):
        """The artists drawn over the cached bitmaps, in drawing order: those :meth:`show`
        changes, and the minima markers, which must stay on top of the paths."""
        artists = ([self.lines[n] for n in self.names] + [self.heads[n] for n in self.names]
                   + [self.loss_lines[n] for n in self.names]
                   + [self.start_marker, self.minima_marker, self.note, self.map_ax.title])
        return sorted(artists, key=lambda a: a.get_zorder())   # drawn in this order

    def show(self, surface, trajectories, *, steps=None, note="", title=None):
        """Draw ``trajectories`` (name -> Trajectory, a subset of ``names``) on ``surface``.

        Paths of names not given are hidden. A diverged path is drawn up to the first point
        outside the box (the axes clip the last segment where it leaves). Returns a dict of
        the arrays drawn.
        """
        surface = surface_of(surface)
        self._set_background(surface)
        drawn = {}
        longest = 1
        for name in self.names:
            tr = trajectories.get(name)
            line, head, loss_line = self.lines[name], self.heads[name], self.loss_lines[name]
            if tr is None:
                for artist in (line, head, loss_line):
                    artist.set_data([], [])
                    artist.set_visible(False)
                continue
            pts = np.asarray(tr.points)
            gone = exit_step(surface, pts)
            shown = pts if gone is None or not tr.diverged else pts[:gone + 1]
            gap = loss_gap(surface, tr.losses)
            line.set_data(shown[:, 0], shown[:, 1])
            head.set_data(shown[-1:, 0], shown[-1:, 1])
            loss_line.set_data(np.arange(len(gap)), gap)
            for artist in (line, head, loss_line):
                artist.set_visible(True)
            drawn[f"{name} path"] = shown
            drawn[f"{name} loss"] = gap
            longest = max(longest, len(gap) - 1)
        first = next(iter(trajectories.values()), None)
        if first is not None:
            self.start_marker.set_data([first.points[0, 0]], [first.points[0, 1]])
        self.set_step_length(step_axis_length(max(longest, steps or 0, 1)))
        self.note.set_text(note)
        self.note.set_visible(bool(note))
        self.map_ax.set_title(title if title is not None else f"{surface.name} surface")
        return drawn

    def legend(self, **kwargs):
        """A legend of the paths on the loss axes (outside on the right by default)."""
        kwargs.setdefault("loc", "upper left")
        kwargs.setdefault("bbox_to_anchor", (1.01, 1.0))
        return self.loss_ax.legend(fontsize=8, frameon=False, **kwargs)


def plot_paths(surface, trajectories, *, title=None, figsize=(9.0, 3.6), note="", legend=True,
               colors=None, map_title=None):
    """A new pyplot figure with :class:`PathFigure`; returns (figure, drawn arrays).

    ``trajectories`` is a dict label -> Trajectory (labels that are optimizer names get
    their course colour, unless ``colors`` (label -> colour) says otherwise).
    """
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=figsize)
    pf = PathFigure(fig, list(trajectories), title=title, colors=colors)
    drawn = pf.show(surface, trajectories, note=note, title=map_title)
    if legend:
        pf.legend()
        fig.subplots_adjust(right=0.80)
    return fig, drawn


def plot_surface_gallery(names=SURFACE_NAMES, *, figsize=(10.0, 2.7)):
    """The surfaces side by side: shaded log-loss, contours, minima (stars), default start
    (square). Returns the figure."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(names), figsize=figsize)
    for ax, name in zip(np.atleast_1d(axes), names):
        surface = surface_of(name)
        image, extent, levels, (xx, yy, zz) = _background(surface)
        ax.imshow(image, extent=extent, origin="lower", aspect="auto", cmap="viridis", alpha=0.9)
        ax.contour(xx, yy, zz, levels=levels, colors="white", linewidths=0.5, alpha=0.55)
        mx, my = zip(*surface.minima)
        ax.plot(mx, my, "*", color="white", mec="black", ms=12)
        ax.plot(*surface.default_start, "s", color="white", mec="black", ms=6)
        for sx, sy in surface.saddle_points:
            ax.plot(sx, sy, "x", color="white", ms=8, mew=2)
        ax.set_xlim(surface.xlim)
        ax.set_ylim(surface.ylim)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(4))
        label(ax, "x (parameter 1)", "y (parameter 2)" if ax is np.atleast_1d(axes)[0] else "",
              name)
    fig.tight_layout()
    return fig


def plot_series(series, *, xlabel="step", ylabel, title, logy=True, figsize=(6.0, 3.2),
                colors=None, styles=None, ax=None):
    """Curves against the step (or another x): ``series`` maps a label to (x, y).

    Optimizer names get their course colour unless ``colors`` says otherwise; ``styles``
    maps labels to line styles. Returns (figure, drawn arrays).
    """
    import matplotlib.pyplot as plt
    colors, styles = dict(colors or {}), dict(styles or {})
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    drawn = {}
    for i, (name, (x, y)) in enumerate(series.items()):
        color = colors.get(name) or OPTIMIZER_COLORS.get(name, f"C{i}")
        ax.plot(x, y, styles.get(name, "-"), color=color, label=name)
        drawn[name] = np.asarray(y, dtype=float)
    if logy:
        ax.set_yscale("log")
    label(ax, xlabel, ylabel, title)
    ax.legend(loc="best")
    fig.tight_layout()
    return fig, drawn


def plot_lr_sweep(sweep, *, title, figsize=(6.5, 3.4), ylim=(0.05, 5.0)):
    """Final validation loss against the learning rate, one line per optimizer, its best
    rate circled (``sweep``: name -> list of DigitsRun). Diverged runs are drawn at the top
    edge with an x. Returns (figure, drawn arrays)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=figsize)
    drawn = {}
    for name, runs in sweep.items():
        rates = np.array([r.learning_rate for r in runs])
        losses = np.array([min(r.final_val_loss, ylim[1]) for r in runs])
        color = OPTIMIZER_COLORS[name]
        ax.plot(rates, losses, "-o", color=color, ms=4, label=name)
        bad = np.array([r.diverged_at is not None for r in runs])
        if bad.any():
            ax.plot(rates[bad], losses[bad], "x", color=color, ms=9, mew=2)
        best = best_run(runs)
        ax.plot(best.learning_rate, best.final_val_loss, "o", ms=11, mfc="none", mec=color, mew=2)
        drawn[name] = losses
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(*ylim)
    label(ax, "learning rate", "final validation loss (cross-entropy)", title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return fig, drawn


def _blit_path_figure(explorer, max_steps):
    """Let a :class:`~course_lib.widgets.base.BlitExplorer` drawing a :class:`PathFigure`
    (attribute ``paths``) redraw only its moving artists.

    The two halves of the figure are cached apart (see :meth:`PathFigure.background_keys`):
    the map per surface, the loss axes per step-axis length. Every surface and every length
    a steps slider up to ``max_steps`` allows is rendered now, so no slider move pays for
    drawing axes.
    """
    paths = explorer.paths
    explorer.animate(*paths.moving_artists())
    explorer.blit_regions = {name: (bbox, [paths.axes_of(name)])
                             for name, bbox in paths.regions().items()}
    explorer.prerender([{"map": name} for name in SURFACE_NAMES],
                       lambda layout: paths._set_background(surface_of(layout["map"])))
    explorer.prerender([{"loss": length} for length in _step_lengths_up_to(max_steps)],
                       lambda layout: paths.set_step_length(layout["loss"]))


# ------------------------------------------------------------------ surface explorers

_STYLE = {"description_width": "initial"}


def _set_range(slider, low, high, value):
    """Change a slider's range and value without passing through an invalid state."""
    if low > slider.max:
        slider.max, slider.min = high, low
    else:
        slider.min, slider.max = low, high
    slider.value = min(max(value, low), high)


class TrajectoryExplorer(BlitExplorer):
    """One optimizer on one surface: its path on the contour map and its loss per step.

    Choosing a surface moves the start sliders to that surface's box and default start;
    choosing an optimizer sets the two hyperparameter sliders to its Keras defaults and
    greys out the ones it does not use.
    """

    def __init__(self, surface="quadratic", optimizer="SGD", learning_rate=0.05, steps=100):
        surface_obj = surface_of(surface)
        b1, b2 = default_hyperparameters(optimizer)
        controls = {
            "surface": widgets.Dropdown(options=SURFACE_NAMES, value=surface,
                                        description="surface", style=_STYLE),
            "optimizer": widgets.Dropdown(options=opt.OPTIMIZER_NAMES, value=optimizer,
                                          description="optimizer", style=_STYLE),
            "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-4, max=1,
                                                    step=0.05, readout_format=".3g",
                                                    description="learning rate", style=_STYLE),
            "beta_1": widgets.FloatSlider(value=0.9 if b1 is None else b1, min=0.0, max=0.99,
                                          step=0.01, description="momentum / beta_1",
                                          style=_STYLE),
            "beta_2": widgets.FloatSlider(value=0.999 if b2 is None else b2, min=0.5, max=0.999,
                                          step=0.001, readout_format=".3f",
                                          description="rho / beta_2", style=_STYLE),
            "steps": widgets.IntSlider(value=steps, min=1, max=300, description="steps",
                                       style=_STYLE),
            "start_x": widgets.FloatSlider(value=surface_obj.default_start[0],
                                           min=surface_obj.xlim[0], max=surface_obj.xlim[1],
                                           step=0.05, description="start x", style=_STYLE),
            "start_y": widgets.FloatSlider(value=surface_obj.default_start[1],
                                           min=surface_obj.ylim[0], max=surface_obj.ylim[1],
                                           step=0.05, description="start y", style=_STYLE),
        }
        super().__init__(controls, figsize=(9.0, 3.6), title="Trajectory explorer")
        self.paths = PathFigure(self.figure, opt.OPTIMIZER_NAMES)
        _blit_path_figure(self, controls["steps"].max)
        self.trajectory = None
        self._enable_sliders(optimizer)

    def _enable_sliders(self, name):
        self.controls["beta_1"].disabled = name not in _USES_BETA_1
        self.controls["beta_2"].disabled = name not in _USES_BETA_2

    def _on_change(self, change):
        if self._holding:
            return
        owner = change["owner"]
        if owner is self.controls["surface"]:
            surface = surface_of(change["new"])
            with self._hold():
                _set_range(self.controls["start_x"], *surface.xlim, surface.default_start[0])
                _set_range(self.controls["start_y"], *surface.ylim, surface.default_start[1])
        elif owner is self.controls["optimizer"]:
            b1, b2 = default_hyperparameters(change["new"])
            with self._hold():
                if b1 is not None:
                    self.controls["beta_1"].value = b1
                if b2 is not None:
                    self.controls["beta_2"].value = b2
        self.redraw()

    def draw(self, surface, optimizer, learning_rate, beta_1, beta_2, steps, start_x, start_y):
        self._enable_sliders(optimizer)
        start = clip_start(surface, (start_x, start_y))
        b1 = beta_1 if optimizer in _USES_BETA_1 else None
        b2 = beta_2 if optimizer in _USES_BETA_2 else None
        tr = path(surface, optimizer, learning_rate, steps=steps, start=start, beta_1=b1, beta_2=b2)
        self.trajectory = tr
        note = ""
        if tr.diverged:
            note = f"diverged at step {tr.diverged_at}: the path leaves the plot"
        drawn = self.paths.show(surface, {optimizer: tr}, steps=steps, note=note,
                                title=f"{optimizer}, lr = {learning_rate:.3g}")
        self.layout = self.paths.background_keys()
        for key, value in drawn.items():
            self.record(key, value)
        self.set_status(describe_run(surface, tr, optimizer))


@register(NOTEBOOK, TrajectoryExplorer)
def trajectory_explorer(surface="quadratic", optimizer="SGD", learning_rate=0.05, steps=100):
    """Steer one optimizer on a surface: learning rate, momentum/betas, steps, start point."""
    return TrajectoryExplorer(surface, optimizer, learning_rate, steps)


class RaceExplorer(BlitExplorer):
    """The eight optimizers from one start with one learning rate, one colour each."""

    def __init__(self, surface="rosenbrock", learning_rate=0.01, steps=100):
        controls = {
            "surface": widgets.Dropdown(options=SURFACE_NAMES, value=surface,
                                        description="surface", style=_STYLE),
            "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-4, max=1,
                                                    step=0.05, readout_format=".3g",
                                                    description="learning rate (all)",
                                                    style=_STYLE),
            "steps": widgets.IntSlider(value=steps, min=1, max=150, description="steps",
                                       style=_STYLE),
        }
        super().__init__(controls, figsize=(9.0, 3.8), title="Optimizer race")
        self.paths = PathFigure(self.figure, opt.OPTIMIZER_NAMES)
        self.paths.legend()
        self.figure.subplots_adjust(right=0.83)
        _blit_path_figure(self, controls["steps"].max)
        self.trajectories = {}

    def draw(self, surface, learning_rate, steps):
        runs = race(surface, learning_rate, steps)
        self.trajectories = runs
        diverged = [name for name, tr in runs.items() if tr.diverged]
        note = ("diverged: " + ", ".join(diverged)) if diverged else ""
        drawn = self.paths.show(surface, runs, steps=steps, note=note,
                                title=f"all eight at lr = {learning_rate:.3g}")
        self.layout = self.paths.background_keys()
        for key, value in drawn.items():
            self.record(key, value)
        best = min(runs, key=lambda n: float(runs[n].losses[-1]) if not runs[n].diverged else math.inf)
        status = f"lowest final loss: {best}"
        if diverged:
            status += f"; diverged (drawn until they leave the plot): {', '.join(diverged)}"
        self.set_status(status)


@register(NOTEBOOK, RaceExplorer)
def race_explorer(surface="rosenbrock", learning_rate=0.01, steps=100):
    """All eight optimizers on one surface with a shared learning-rate slider."""
    return RaceExplorer(surface, learning_rate, steps)


# --------------------------------------------------------------------- the digits network

#: The digits experiment of the notebook: a 64-32-10 ReLU network on a 600-example slice
#: of the course's training split, 15 epochs of mini-batches of 64 (about 0.1 s a run).
DIGITS_SETUP = {"n_train": 600, "hidden": 32, "epochs": 15, "batch_size": 64, "seed": 0}

#: The learning rates every optimizer is tried with on the digits (a decade apart).
DIGITS_RATES = (0.001, 0.01, 0.1, 1.0)


@functools.lru_cache(maxsize=4)
def digits_data(scaling="standardized"):
    """``(x_train, y_train, x_val, y_val)`` of the digits experiment.

    ``scaling="standardized"``: every pixel standardised with training statistics (the
    course's split). ``scaling="mixed units"``: raw pixels in [0, 1] each multiplied by a
    fixed factor between 0.01 and 10 (log-uniform, seed 0), as if every feature had been
    measured in its own unit and never normalised.
    """
    from ...data import digits_splits
    check_choice("scaling", scaling, ("standardized", "mixed units"))
    split = digits_splits(n_train=DIGITS_SETUP["n_train"], standardize=scaling == "standardized")
    x_train, x_val = split.x_train, split.x_val
    if scaling == "mixed units":
        factors = feature_scales()
        x_train = (x_train * factors).astype(np.float32)
        x_val = (x_val * factors).astype(np.float32)
    for a in (x_train, split.y_train, x_val, split.y_val):
        a.flags.writeable = False
    return x_train, split.y_train, x_val, split.y_val


def feature_scales(n_features=64, low=0.01, high=10.0, seed=0):
    """The per-feature unit factors of the "mixed units" digits: log-uniform in [low, high]."""
    rng = np.random.default_rng(seed)
    return (10.0 ** rng.uniform(np.log10(low), np.log10(high), size=n_features)).astype(np.float32)


def digits_model(seed=DIGITS_SETUP["seed"], hidden=DIGITS_SETUP["hidden"]):
    """The network of the digits experiment: Dense(hidden, relu) -> Dense(10, softmax)."""
    from ...layers import Dense
    from ...model import Sequential
    return Sequential([Dense(hidden, activation="relu"), Dense(10, activation="softmax")],
                      seed=seed)


@dataclass(frozen=True)
class DigitsRun:
    """The history of one training run of the digits network.

    Attributes:
        loss, val_loss, val_accuracy: per-epoch values (tuples; only finite values: a run
            that diverged stops at its last finite epoch).
        diverged_at: the epoch (1-based) in which the loss became NaN/inf, else ``None``.
    """

    name: str
    learning_rate: float
    loss: tuple
    val_loss: tuple
    val_accuracy: tuple
    diverged_at: int | None = None

    def epochs_to(self, threshold, key="loss"):
        """The first epoch (1-based) whose ``key`` is below ``threshold``, or ``None``."""
        values = np.asarray(getattr(self, key))
        hit = np.flatnonzero(values < threshold)
        return int(hit[0]) + 1 if hit.size else None

    @property
    def final_val_loss(self):
        """The last epoch's validation loss; ``inf`` if the run diverged."""
        return math.inf if self.diverged_at is not None or not self.val_loss else self.val_loss[-1]


@functools.lru_cache(maxsize=512)
def digits_run(name, learning_rate, scaling="standardized", epochs=DIGITS_SETUP["epochs"],
               seed=DIGITS_SETUP["seed"]):
    """Train the digits network with optimizer ``name`` at ``learning_rate`` (cached).

    Every run starts from the same initial weights (``seed``) and sees the same batches.
    A diverging run stops at the first NaN/inf loss (``fit(on_divergence="stop")``).
    Returns a :class:`DigitsRun`.
    """
    check_choice("name", name, opt.OPTIMIZER_NAMES)
    learning_rate = check_positive("learning_rate", learning_rate)
    x_train, y_train, x_val, y_val = digits_data(scaling)
    model = digits_model(seed)
    model.compile(opt.make(name, learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    with np.errstate(all="ignore"):   # a diverging run overflows before it is stopped
        history = model.fit(x_train, y_train, epochs=epochs,
                            batch_size=DIGITS_SETUP["batch_size"],
                            validation_data=(x_val, y_val), verbose=0, on_divergence="stop")
    logs = history.history
    diverged = getattr(history, "diverged_at", None)
    return DigitsRun(name, float(learning_rate), tuple(logs.get("loss", ())),
                     tuple(logs.get("val_loss", ())), tuple(logs.get("val_accuracy", ())),
                     None if diverged is None else int(diverged[0]) + 1)


def digits_sweep(names=opt.OPTIMIZER_NAMES, rates=DIGITS_RATES, scaling="standardized"):
    """Every optimizer of ``names`` at every rate of ``rates``: dict name -> list of runs."""
    return {name: [digits_run(name, float(lr), scaling) for lr in rates] for name in names}


def best_run(runs):
    """The run with the lowest final validation loss (diverged runs count as inf)."""
    return min(runs, key=lambda r: r.final_val_loss)


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


# --------------------------------------------------------------------------- curve figure

class CurveFigure:
    """Training (left) and validation (right) loss per epoch, one line per optimizer.

    :meth:`show` takes name -> DigitsRun and a highlighted name (drawn bold; the others thin).
    """

    def __init__(self, figure, names=opt.OPTIMIZER_NAMES, *, title=None,
                 ylims=((1e-3, 5.0), (0.05, 5.0))):
        self.figure = figure
        self.names = tuple(names)
        self.axes = dict(zip(("loss", "val_loss"), figure.subplots(1, 2)))
        self.lines = {key: {} for key in self.axes}
        for (key, ax), ylim in zip(self.axes.items(), ylims):
            for name in self.names:
                (self.lines[key][name],) = ax.plot([], [], color=OPTIMIZER_COLORS[name],
                                                   label=name)
            ax.set_yscale("log")
            ax.set_ylim(*ylim)
            ax.set_xlim(1, DIGITS_SETUP["epochs"])
            ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        label(self.axes["loss"], "epoch", "loss (cross-entropy)", "training loss")
        label(self.axes["val_loss"], "epoch", "loss (cross-entropy)", "validation loss")
        self.note = self.axes["loss"].text(0.03, 0.04, "", transform=self.axes["loss"].transAxes,
                                           fontsize=9, color=PALETTE["vermillion"])
        if title:
            figure.suptitle(title)
        figure.subplots_adjust(left=0.07, right=0.76, bottom=0.14, top=0.86, wspace=0.25)

    def show(self, runs, highlight=None, labels=None):
        """Draw ``runs`` (name -> DigitsRun). Returns a dict of the arrays drawn."""
        drawn = {}
        labels = labels or {}
        for key in self.axes:
            for name, line in self.lines[key].items():
                run = runs.get(name)
                values = () if run is None else getattr(run, key)
                epochs = np.arange(1, len(values) + 1)
                line.set_data(epochs, values)
                bold = highlight is None or name == highlight
                line.set_linewidth(2.6 if bold else 1.1)
                line.set_alpha(1.0 if bold else 0.45)
                line.set_zorder(4 if bold else 2)
                line.set_label(labels.get(name, name))
                if run is not None:
                    drawn[f"{name} {key}"] = np.asarray(values, dtype=float)
        if self.axes["val_loss"].get_legend() is not None:
            self.axes["val_loss"].get_legend().remove()
        self.axes["val_loss"].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
                                     frameon=False)
        return drawn


def plot_curves(runs, *, highlight=None, labels=None, title=None, figsize=(9.5, 3.4)):
    """A new pyplot figure with :class:`CurveFigure`; returns (figure, drawn arrays)."""
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=figsize)
    cf = CurveFigure(fig, [n for n in opt.OPTIMIZER_NAMES if n in runs], title=title)
    drawn = cf.show(runs, highlight=highlight, labels=labels)
    return fig, drawn


class TrainingExplorer(Explorer):
    """Train the digits network with a chosen optimizer and learning rate; the other seven
    are drawn thin at their best rate of :data:`DIGITS_RATES` for comparison."""

    retraining = True

    def __init__(self, optimizer="Adam", learning_rate=0.01):
        controls = {
            "optimizer": widgets.Dropdown(options=opt.OPTIMIZER_NAMES, value=optimizer,
                                          description="optimizer", style=_STYLE),
            "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-4, max=0.5,
                                                    step=0.25, readout_format=".3g",
                                                    description="learning rate", style=_STYLE,
                                                    continuous_update=False),
        }
        super().__init__(controls, figsize=(9.5, 3.4),
                         title="Training the digits network")
        self.curves = CurveFigure(self.figure)
        self.run = None

    def draw(self, optimizer, learning_rate):
        sweep = digits_sweep()
        runs = {name: best_run(sweep[name]) for name in opt.OPTIMIZER_NAMES}
        labels = {name: f"{name} (best lr {run.learning_rate:g})" for name, run in runs.items()}
        chosen = digits_run(optimizer, float(learning_rate))
        runs[optimizer] = chosen
        labels[optimizer] = f"{optimizer}, lr {learning_rate:.3g}"
        self.run = chosen
        for key, value in self.curves.show(runs, highlight=optimizer, labels=labels).items():
            self.record(key, value)
        if chosen.diverged_at is not None:
            text = (f"{optimizer} diverged in epoch {chosen.diverged_at} at lr "
                    f"{learning_rate:.3g}: curves stop there")
            self.curves.note.set_text(text)
            self.set_status(text)
        else:
            self.curves.note.set_text("")
            self.set_status(f"{optimizer}, lr {learning_rate:.3g}: final validation loss "
                            f"{chosen.val_loss[-1]:.3f}, accuracy {chosen.val_accuracy[-1]:.1%}")


@register(NOTEBOOK, TrainingExplorer)
def training_explorer(optimizer="Adam", learning_rate=0.01):
    """Retrain the digits network with a chosen optimizer and learning rate (< 1 s, cached)."""
    return TrainingExplorer(optimizer, learning_rate)
