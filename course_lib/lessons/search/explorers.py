"""Explorers and figures of the notebook on hyperparameter search.

Figures (one helper per kind, used by the static figures and the explorers alike):

* :func:`plot_projection` -- grid or random trials in a 2-D space over the objective, with
  their projections on each axis;
* :func:`plot_decade_shares` -- samples of a range on a log axis and the share per decade;
* :class:`BOPanels` -- one step of Bayesian optimisation: posterior mean and band, the
  trials, the expected improvement and the next point;
* :func:`plot_importance` -- score against each hyperparameter over many random trials;
* :func:`plot_coarse_to_fine` -- the rounds of a coarse-to-fine search on a 2-D function;
* :func:`plot_halving` -- the rungs of successive halving / Hyperband, score against budget;
* :func:`plot_best_so_far` -- best score against trainings or wall time, per strategy;
* :class:`BabysittingPanels` -- loss curves of one training and the log book of attempts.

Explorers: :func:`projection_explorer`, :func:`scale_explorer`, :func:`bo_explorer` (formulas
only, < 100 ms) and :func:`babysitting_explorer` (retrains the digits network, < 1 s).
"""
from __future__ import annotations

import functools
import math
import time

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import NullFormatter, ScalarFormatter

from ..._validation import check_choice, check_number, check_positive
from ..figures import PALETTE, ROLE_COLORS
from ...search import GaussianProcess, Integer, Real, expected_improvement
from ...search.digits import DIGITS_DEFAULTS, DigitsObjective
from ...search.functions import forrester_curve
from ..explorer import BlitExplorer, Explorer, register

NOTEBOOK = "08_hyperparameter_search"
_STYLE = {"description_width": "initial"}

#: One colour per strategy, the same in every figure of the notebook.
STRATEGY_COLORS = {
    "grid_search": PALETTE["grey"],
    "random_search": PALETTE["orange"],
    "coarse_to_fine": PALETTE["green"],
    "bayesian_optimization": PALETTE["blue"],
    "successive_halving": PALETTE["purple"],
    "hyperband": PALETTE["vermillion"],
    "optuna_tpe": PALETTE["sky_blue"],
    "optuna_gp": PALETTE["black"],
}
STRATEGY_LABELS = {
    "grid_search": "grid", "random_search": "random", "coarse_to_fine": "coarse-to-fine",
    "bayesian_optimization": "Bayesian (GP + EI)", "successive_halving": "successive halving",
    "hyperband": "Hyperband", "optuna_tpe": "Optuna TPE", "optuna_gp": "Optuna GP",
}

# ------------------------------------------------------------------ grid vs random projection

#: The optimum of the toy objective of the projection figure, in the unit square.
TOY_OPTIMUM = (0.63, 0.37)
IMPORTANCE = ("only x1 matters", "only x2 matters", "both matter")
#: Budgets of the projection explorer: square numbers, so that a full k x k grid fits.
PROJECTION_TRIALS = (4, 9, 16, 25, 36, 49)


def toy_objective(x1, x2, important="only x1 matters"):
    """A 2-D loss on the unit square whose dependence on each parameter is chosen.

    Each parameter adds a narrow dip around its optimum; an unimportant parameter's dip
    is scaled by 0.02, so it barely changes the loss. Vectorised over arrays.
    """
    check_choice("important", important, IMPORTANCE)
    w1 = 0.02 if important == "only x2 matters" else 1.0
    w2 = 0.02 if important == "only x1 matters" else 1.0
    dip1 = np.exp(-0.5 * ((np.asarray(x1) - TOY_OPTIMUM[0]) / 0.07) ** 2)
    dip2 = np.exp(-0.5 * ((np.asarray(x2) - TOY_OPTIMUM[1]) / 0.07) ** 2)
    return 1.0 - (w1 * dip1 + w2 * dip2) / (w1 + w2)


def projection_points(n_trials, seed=0):
    """The trials of both strategies for a budget of ``n_trials``: ``(grid, random)``,
    arrays (k*k, 2) in the unit square, with k = floor(sqrt(n_trials)) so that both use the
    same number of trials; the grid sits at the centres of k x k equal cells."""
    n_trials = check_positive("n_trials", n_trials, integer=True)
    k = max(1, int(math.isqrt(n_trials)))
    centres = (np.arange(k) + 0.5) / k
    grid = np.array([(a, b) for a in centres for b in centres])
    rng = np.random.default_rng(seed)
    return grid, rng.random((k * k, 2))


def distinct_values(points, axis):
    """How many different values the trials give to parameter ``axis`` (0 or 1)."""
    return len(np.unique(np.round(np.asarray(points)[:, axis], 12)))


@functools.lru_cache(maxsize=None)
def _toy_background(important, n=120):
    u = (np.arange(n) + 0.5) / n
    return toy_objective(u[None, :], u[:, None], important)


def plot_projection(ax, points, important, title):
    """Trials over the toy objective, with ticks showing their projection on each axis.

    Returns the artists ``(image, points, rug_x1, rug_x2)`` so that an explorer can update them.
    """
    image = ax.imshow(_toy_background(important), origin="lower", extent=(0, 1, 0, 1),
                      cmap="viridis_r", vmin=0, vmax=1, aspect="auto")
    (dots,) = ax.plot(points[:, 0], points[:, 1], "o", color="white", markeredgecolor="black",
                      markersize=6)
    (rug1,) = ax.plot(points[:, 0], np.full(len(points), -0.04), "|", color=PALETTE["vermillion"],
                      markersize=10, clip_on=False)
    (rug2,) = ax.plot(np.full(len(points), -0.04), points[:, 1], "_", color=PALETTE["vermillion"],
                      markersize=10, clip_on=False)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("x1 (unit scale)")
    ax.set_ylabel("x2 (unit scale)")
    ax.set_title(title)
    ax.grid(False)
    return image, dots, rug1, rug2


def projection_summary(points, important):
    """``(distinct x1, distinct x2, best loss)`` of a set of trials on the toy objective."""
    values = toy_objective(points[:, 0], points[:, 1], important)
    return distinct_values(points, 0), distinct_values(points, 1), float(np.min(values))


class ProjectionExplorer(BlitExplorer):
    """Grid vs random search with the same number of trials, when one parameter matters."""

    def __init__(self, n_trials=9, important="only x1 matters", seed=0):
        controls = {
            "n_trials": widgets.SelectionSlider(options=PROJECTION_TRIALS, value=n_trials,
                                                description="trials (k x k grid)",
                                                style=_STYLE),
            "important": widgets.ToggleButtons(options=IMPORTANCE, value=important,
                                               description="which parameter matters",
                                               style=_STYLE),
        }
        super().__init__(controls, figsize=(8.0, 4.0), title="Grid vs random explorer")
        self.seed = seed
        self.axes = self.figure.subplots(1, 2)
        grid, rand = projection_points(n_trials, seed)
        self.artists = [plot_projection(ax, pts, important, name)
                        for ax, pts, name in zip(self.axes, (grid, rand), ("grid", "random"))]
        self.axes[1].set_ylabel("")
        self.figure.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.86, wspace=0.15)
        self.animate(*[a for group in self.artists for a in group[1:]],
                     *[ax.title for ax in self.axes])

        def show_background(key):
            for image, *_ in self.artists:
                image.set_data(_toy_background(key))

        self.prerender(IMPORTANCE, show_background)   # the three backgrounds, once

    def draw(self, n_trials, important):
        grid, rand = projection_points(n_trials, self.seed)
        best = {}
        for ax, (image, dots, rug1, rug2), pts, name in zip(self.axes, self.artists,
                                                            (grid, rand), ("grid", "random")):
            image.set_data(_toy_background(important))
            dots.set_data(pts[:, 0], pts[:, 1])
            rug1.set_data(pts[:, 0], np.full(len(pts), -0.04))
            rug2.set_data(np.full(len(pts), -0.04), pts[:, 1])
            d1, d2, best[name] = projection_summary(pts, important)
            ax.set_title(f"{name}: {len(pts)} trials, {d1} values of x1, {d2} of x2\n"
                         f"best loss {best[name]:.3f}", fontsize=10)
            self.record(f"{name}_points", pts)
        self.layout = important
        self.set_status(f"Best loss found: grid {best['grid']:.3f}, random {best['random']:.3f} "
                        f"(the minimum is 0).")


@register(NOTEBOOK, ProjectionExplorer)
def projection_explorer(**kwargs):
    """Explorer: grid vs random trials, their projections, which parameter matters."""
    return ProjectionExplorer(**kwargs)


# ------------------------------------------------------------------------------ the scale

#: The ranges of the scale explorer: name -> (dimension factory, decade edges, axis label).
SCALE_RANGES = {
    "learning rate 1e-4 .. 1": ((1e-4, 1.0, False), (1e-4, 1e-3, 1e-2, 1e-1, 1.0), "learning rate"),
    "beta 0.9 .. 0.999": ((0.9, 0.999, True), (0.9, 0.99, 0.999), "beta"),
}


def scale_dimension(range_name, scale):
    """The ``Real`` dimension for a range of :data:`SCALE_RANGES` sampled on ``scale``
    ("linear" or "log"; for beta, "log" means 1 - beta on a log scale)."""
    check_choice("range_name", range_name, tuple(SCALE_RANGES))
    check_choice("scale", scale, ("linear", "log"))
    (low, high, near_one), _, _ = SCALE_RANGES[range_name]
    log = scale == "log"
    return Real(low, high, log=log, one_minus=log and near_one)


def decade_shares(samples, edges):
    """Fraction of ``samples`` in each interval ``[edges[i], edges[i+1])`` (last one closed)."""
    samples = np.asarray(samples, dtype=float)
    counts, _ = np.histogram(samples, bins=np.asarray(edges, dtype=float))
    return counts / max(len(samples), 1)


def plot_decade_shares(ax_strip, ax_bars, samples, edges, quantity, title):
    """Left: the samples on a log axis (jittered). Right: the share of samples per decade.

    For betas the axis shows 1 - beta, where the decades are. Returns ``(dots, bars)``.
    """
    near_one = edges[-1] < 1.0
    (dots,) = ax_strip.plot([], [], ".", color=PALETTE["blue"], alpha=0.35, markersize=3)
    ax_strip.set_xscale("log")
    lim = (1.0 - edges[-1], 1.0 - edges[0]) if near_one else (edges[0], edges[-1])
    ax_strip.set_xlim(*lim)
    ax_strip.set_ylim(-0.05, 1.05)
    ax_strip.set_yticks([])
    ax_strip.set_xlabel(f"1 - {quantity} (log axis)" if near_one else f"{quantity} (log axis)")
    n_bins = len(edges) - 1
    bars = ax_bars.bar(np.arange(n_bins), np.zeros(n_bins), color=PALETTE["orange"])
    ax_bars.axhline(1.0 / n_bins, color=ROLE_COLORS["baseline"], linestyle="--",
                    linewidth=1.2, label="equal share per decade")
    ax_bars.set_xticks(np.arange(n_bins))
    ax_bars.set_xticklabels([f"{a:g}..{b:g}" for a, b in zip(edges[:-1], edges[1:])], fontsize=8)
    ax_bars.set_ylim(0, 1)
    ax_bars.set_xlabel(f"{quantity} interval (decade)")
    ax_bars.set_ylabel("share of samples")
    ax_bars.legend(loc="upper left")
    show_decade_shares(dots, bars, samples, edges)
    ax_strip.set_title(title)
    return dots, bars


def show_decade_shares(dots, bars, samples, edges):
    """Update the artists of :func:`plot_decade_shares` with new samples; returns the shares."""
    samples = np.asarray(samples, dtype=float)
    near_one = edges[-1] < 1.0
    shown = 1.0 - samples if near_one else samples
    # Vertical spread from the golden-ratio sequence: independent of any random generator
    # (a jitter drawn from the sampling seed would line the points up along a curve).
    jitter = np.mod(np.arange(len(shown)) * 0.6180339887498949, 1.0)
    dots.set_data(shown, jitter)
    shares = decade_shares(samples, edges)
    for bar, share in zip(bars, shares):
        bar.set_height(share)
    return shares


class ScaleExplorer(BlitExplorer):
    """Sample a range uniformly on a linear or a log scale; see where the samples land."""

    def __init__(self, range_name="learning rate 1e-4 .. 1", scale="linear", n_samples=1000,
                 seed=0):
        controls = {
            "range_name": widgets.Dropdown(options=tuple(SCALE_RANGES), value=range_name,
                                           description="range", style=_STYLE),
            "scale": widgets.ToggleButtons(options=("linear", "log"), value=scale,
                                           description="sample uniformly on a", style=_STYLE),
            "n_samples": widgets.IntSlider(value=n_samples, min=50, max=5000, step=50,
                                           description="samples", style=_STYLE),
        }
        super().__init__(controls, figsize=(8.0, 3.6), title="Scale explorer")
        self.seed = seed
        self.figure.subplots_adjust(left=0.05, right=0.98, bottom=0.2, top=0.88, wspace=0.25)
        self.panels = {}
        for name, (_, edges, quantity) in SCALE_RANGES.items():
            ax_strip, ax_bars = self.figure.subplots(1, 2)
            dots, bars = plot_decade_shares(ax_strip, ax_bars, [], edges, quantity, "")
            self.panels[name] = (ax_strip, ax_bars, dots, bars)
        for ax_strip, ax_bars, dots, bars in self.panels.values():
            self.animate(dots, *bars, ax_strip.title)

    def draw(self, range_name, scale, n_samples):
        dim = scale_dimension(range_name, scale)
        samples = np.array(dim.sample(np.random.default_rng(self.seed), n_samples))
        _, edges, _ = SCALE_RANGES[range_name]
        for name, (ax_strip, ax_bars, dots, bars) in self.panels.items():
            shown = name == range_name
            for artist in (ax_strip, ax_bars, dots, *bars, ax_strip.title):
                artist.set_visible(shown)
        ax_strip, _, dots, bars = self.panels[range_name]
        shares = show_decade_shares(dots, bars, samples, edges)
        ax_strip.set_title(f"{n_samples} samples, uniform on a {scale} scale")
        self.layout = range_name
        self.record("samples", samples)
        self.record("shares", shares)
        text = ", ".join(f"{s:.0%}" for s in shares)
        self.set_status(f"Share per decade: {text}.")


@register(NOTEBOOK, ScaleExplorer)
def scale_explorer(**kwargs):
    """Explorer: linear vs log sampling of a learning rate or a beta, share per decade."""
    return ScaleExplorer(**kwargs)


# ------------------------------------------------------------------ Bayesian optimisation 1-D

#: The grid on which the 1-D Bayesian optimisation is computed and drawn.
BO_GRID = np.linspace(0.0, 1.0, 241)
#: The first three trials of the 1-D demonstration (fixed, so every learner sees the same start).
BO_START = (0.15, 0.5, 0.9)


def bo_steps(length_scale=0.15, xi=0.0, n_steps=12):
    """Bayesian optimisation of the Forrester curve on [0, 1], with fixed GP hyperparameters.

    Starts from :data:`BO_START`; at every step fits a Matern 5/2 GP (signal variance 1,
    noise 1e-6, scores standardised), computes the expected improvement on
    :data:`BO_GRID`, and evaluates its maximiser. Returns a list of ``n_steps + 1`` dicts
    with ``x``, ``y`` (the trials so far), ``mean``, ``std``, ``ei`` (on the grid) and
    ``next`` (the point chosen next).
    """
    length_scale = check_number("length_scale", length_scale, low=0, low_inclusive=False)
    xi = check_number("xi", xi, low=0)
    return _bo_steps(round(length_scale, 6), round(xi, 6), int(n_steps))


@functools.lru_cache(maxsize=64)
def _bo_steps(length_scale, xi, n_steps):
    xs = list(BO_START)
    states = []
    for _ in range(n_steps + 1):
        x = np.array(xs)
        y = forrester_curve(x)
        gp = GaussianProcess(length_scales=length_scale, signal_variance=1.0, noise_variance=1e-6)
        gp.fit(x[:, None], y, optimize=False)
        mean, std = gp.predict(BO_GRID[:, None])
        ei = expected_improvement(mean, std, float(np.min(y)), xi)
        nxt = float(BO_GRID[int(np.argmax(ei))])
        states.append({"x": x, "y": y, "mean": mean, "std": std, "ei": ei, "next": nxt})
        xs.append(nxt)
    return states


class BOPanels:
    """One step of Bayesian optimisation on two axes: the GP and the expected improvement.

    With ``scaled_ei`` the EI curve is divided by its maximum (fixed axis, for explorers).
    """

    def __init__(self, ax_gp, ax_ei, scaled_ei=False):
        self.ax_gp, self.ax_ei, self.scaled_ei = ax_gp, ax_ei, scaled_ei
        truth = forrester_curve(BO_GRID)
        ax_gp.plot(BO_GRID, truth, "--", color=ROLE_COLORS["baseline"], linewidth=1.2,
                   label="true loss (unknown)")
        (self.mean_line,) = ax_gp.plot([], [], color=PALETTE["blue"], label="posterior mean")
        self.band = None
        ax_gp.fill_between([], [], [], color=PALETTE["sky_blue"], alpha=0.3, linewidth=0,
                           label="mean +- 2 std")
        (self.trials,) = ax_gp.plot([], [], "o", color="black", markersize=5, label="trials")
        self.next_gp = ax_gp.axvline(0.5, color=PALETTE["vermillion"], linewidth=1.2)
        (self.ei_line,) = ax_ei.plot([], [], color=PALETTE["green"])
        self.next_ei = ax_ei.axvline(0.5, color=PALETTE["vermillion"], linewidth=1.2,
                                     label="next trial (max EI)")
        ax_gp.set_xlim(0, 1)
        ax_gp.set_ylim(-12, 20)
        ax_gp.set_ylabel("loss")
        ax_gp.legend(loc="upper left", ncol=2, fontsize=8)
        ax_ei.set_xlim(0, 1)
        ax_ei.set_xlabel("x (hyperparameter, unit scale)")
        ax_ei.set_ylabel("EI / max EI" if scaled_ei else "expected\nimprovement")
        if scaled_ei:
            ax_ei.set_ylim(0, 1.15)
        ax_ei.legend(loc="upper left", fontsize=8)

    def show(self, state, title=None):
        """Draw one state of :func:`bo_steps`; returns the band's lower and upper curves."""
        mean, std = state["mean"], state["std"]
        lower, upper = np.clip(mean - 2 * std, -60, 60), np.clip(mean + 2 * std, -60, 60)
        self.mean_line.set_data(BO_GRID, mean)
        if self.band is not None:
            self.band.remove()
        self.band = self.ax_gp.fill_between(BO_GRID, lower, upper, color=PALETTE["sky_blue"],
                                            alpha=0.3, linewidth=0)
        self.trials.set_data(state["x"], state["y"])
        self.next_gp.set_xdata([state["next"]] * 2)
        self.next_ei.set_xdata([state["next"]] * 2)
        ei = state["ei"]
        top = float(np.max(ei))
        if self.scaled_ei:
            self.ei_line.set_data(BO_GRID, ei / top if top > 0 else np.zeros_like(ei))
        else:
            self.ei_line.set_data(BO_GRID, ei)
            self.ax_ei.set_ylim(0, top * 1.15 if top > 0 else 1e-12)
        if title:
            self.ax_gp.set_title(title)
        return lower, upper

    @property
    def moving_artists(self):
        return [self.mean_line, self.trials, self.next_gp, self.next_ei, self.ei_line,
                self.ax_gp.title]


def plot_bo_step(ax_gp, ax_ei, state, title=None):
    """Static figure of one Bayesian-optimisation step (see :class:`BOPanels`)."""
    panels = BOPanels(ax_gp, ax_ei)
    panels.show(state, title)
    return panels


class BOExplorer(BlitExplorer):
    """Step through Bayesian optimisation of a 1-D function; change the kernel's length
    scale and the exploration margin xi."""

    def __init__(self, iteration=0, length_scale=0.15, xi=0.0, n_steps=12):
        controls = {
            "iteration": widgets.IntSlider(value=iteration, min=0, max=n_steps,
                                           description="iteration", style=_STYLE),
            "length_scale": widgets.FloatLogSlider(value=length_scale, base=10, min=-2, max=0,
                                                   step=0.05, readout_format=".3f",
                                                   description="kernel length scale",
                                                   style=_STYLE),
            "xi": widgets.FloatSlider(value=xi, min=0.0, max=3.0, step=0.1,
                                      description="exploration xi", style=_STYLE),
        }
        super().__init__(controls, figsize=(7.5, 4.6), title="Bayesian optimisation explorer")
        self.n_steps = n_steps
        ax_gp, ax_ei = self.figure.subplots(2, 1, sharex=True,
                                            gridspec_kw={"height_ratios": [2, 1]})
        self.panels = BOPanels(ax_gp, ax_ei, scaled_ei=True)
        self.figure.subplots_adjust(left=0.13, right=0.98, top=0.92, bottom=0.11, hspace=0.1)
        self.animate(*self.panels.moving_artists)

    def draw(self, iteration, length_scale, xi):
        state = bo_steps(length_scale, xi, self.n_steps)[iteration]
        best = float(np.min(state["y"]))
        lower, upper = self.panels.show(
            state, f"after {len(state['x'])} trials: best loss {best:.3f}; next x = {state['next']:.3f}")
        # the band is a new artist at every redraw (fill_between cannot be updated in place)
        self.panels.band.set_animated(True)
        self.dynamic = [self.panels.band] + self.panels.moving_artists
        for name in ("mean", "std", "ei", "x", "y"):
            self.record(name, state[name])
        self.record("band", np.concatenate([lower, upper]))
        self.set_status(f"Best so far {best:.3f} (true minimum -6.021 at x = 0.757); "
                        f"largest EI {np.max(state['ei']):.3g}.")


@register(NOTEBOOK, BOExplorer)
def bo_explorer(**kwargs):
    """Explorer: Bayesian optimisation step by step (posterior band, EI, next point)."""
    return BOExplorer(**kwargs)


# --------------------------------------------------------------- figures of search results

def plot_importance(axes, trials, space, names=None):
    """Score against each hyperparameter (log axes for log dimensions) over many trials."""
    names = list(names or space)
    scores = np.array([t["score"] if isinstance(t, dict) else t.score for t in trials])
    params = [t["params"] if isinstance(t, dict) else t.params for t in trials]
    for ax, name in zip(axes, names):
        values = np.array([p[name] for p in params], dtype=float)
        ax.plot(values, scores, ".", color=PALETTE["blue"], alpha=0.4, markersize=4)
        if getattr(space[name], "log", False):
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
            if isinstance(space[name], Integer):
                low, high = space[name].low, space[name].high
                ticks = [2 ** k for k in range(math.ceil(math.log2(low)), int(math.log2(high)) + 1)]
                ax.set_xticks(ticks)
                ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_xlabel(name.replace("_", " "))
        ax.set_yscale("log")
    axes[0].set_ylabel("validation loss (cross-entropy)")
    return axes


def plot_coarse_to_fine(ax, result, objective_grid, extent):
    """The trials of a coarse-to-fine search over a background map, one colour per round,
    with the box of each round (read from ``trial.info``)."""
    ax.imshow(objective_grid, origin="lower", extent=extent, cmap="viridis", aspect="auto",
              alpha=0.85)
    colors = [PALETTE["orange"], PALETTE["sky_blue"], PALETTE["vermillion"], PALETTE["purple"]]
    rounds = sorted({t.info["round"] for t in result.trials})
    names = list(result.trials[0].params)
    for r in rounds:
        trials = [t for t in result.trials if t.info["round"] == r]
        xy = np.array([[t.params[names[0]], t.params[names[1]]] for t in trials])
        color = colors[(r - 1) % len(colors)]
        ax.plot(xy[:, 0], xy[:, 1], "o", color=color, markeredgecolor="black", markersize=5,
                label=f"round {r}")
        bounds = trials[0].info.get("bounds", {})
        if names[0] in bounds and names[1] in bounds:
            (x0, x1), (y0, y1) = bounds[names[0]], bounds[names[1]]
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=color,
                                   linewidth=1.5))
    best = result.best_params
    ax.plot(best[names[0]], best[names[1]], "*", color="white", markeredgecolor="black",
            markersize=14, label="best")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.grid(False)
    ax.legend(loc="upper right", fontsize=8, frameon=True)
    return ax


def plot_halving(ax, trials, max_budget=None):
    """Score against budget for every configuration of a halving run: a line joins the
    rungs of a configuration that was promoted."""
    by_config = {}
    for t in trials:
        key = (t["info"]["bracket"] if isinstance(t, dict) else t.info["bracket"],
               tuple(sorted((t["params"] if isinstance(t, dict) else t.params).items())))
        by_config.setdefault(key, []).append(t)
    brackets = sorted({k[0] for k in by_config}, reverse=True)
    colors = dict(zip(brackets, [PALETTE[c] for c in ("vermillion", "blue", "green", "orange",
                                                      "purple")]))
    for (bracket, _), runs in by_config.items():
        budgets = [r["budget"] if isinstance(r, dict) else r.budget for r in runs]
        scores = [r["score"] if isinstance(r, dict) else r.score for r in runs]
        ax.plot(budgets, scores, "o-", color=colors[bracket], alpha=0.6, markersize=4,
                linewidth=1.0)
    for bracket in brackets:
        ax.plot([], [], "o-", color=colors[bracket], label=f"bracket s = {bracket}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    budgets = sorted({r["budget"] if isinstance(r, dict) else r.budget for r in trials})
    ax.set_xticks(budgets)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("budget (epochs)")
    ax.set_ylabel("validation loss (cross-entropy)")
    ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_best_so_far(ax, curves, x_label, y_label="best validation loss so far"):
    """Median (line) and interquartile range (band) of best-so-far curves per strategy.

    ``curves`` maps a strategy name to ``(x_grid, best)`` with ``best`` of shape
    (n_seeds, len(x_grid)).
    """
    for name, (xs, best) in curves.items():
        best = np.asarray(best, dtype=float)
        running = np.all(np.isfinite(best), axis=0)      # every run has a value there
        xs, best = np.asarray(xs)[running], best[:, running]
        median = np.median(best, axis=0)
        q25, q75 = np.quantile(best, [0.25, 0.75], axis=0)
        color = STRATEGY_COLORS.get(name)
        ax.plot(xs, median, color=color, label=STRATEGY_LABELS.get(name, name))
        ax.fill_between(xs, q25, q75, color=color, alpha=0.15, linewidth=0)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.legend(loc="upper right", fontsize=8)
    return ax


def step_curve(xs, best, grid):
    """Resample a best-so-far step curve (values ``best`` reached at ``xs``) on ``grid``:
    NaN before the first result and after the last one (where the run had ended)."""
    xs, best = np.asarray(xs, dtype=float), np.asarray(best, dtype=float)
    idx = np.searchsorted(xs, grid, side="right") - 1
    inside = (idx >= 0) & (np.asarray(grid) <= xs[-1] + 1e-9)
    return np.where(inside, best[np.clip(idx, 0, None)], np.nan)


def best_within(run, budget, x="trainings"):
    """The best score a stored run (``SearchResult.to_dict()``) had found when ``x``
    (trainings or seconds) reached ``budget``; inf if nothing had finished yet."""
    from ...search import SearchResult
    xs, best = SearchResult.from_dict(run).best_so_far(x)
    done = xs <= budget + 1e-9
    return float(best[done][-1]) if done.any() else float("inf")


# ------------------------------------------------------------------------------ babysitting

BABYSITTING_OBJECTIVE = DigitsObjective(epochs=12, n_train=600)
HIDDEN_OPTIONS = (16, 32, 64, 128, 256)


@functools.lru_cache(maxsize=256)
def _babysit(learning_rate, hidden_units, l2, dropout, batch_size, epochs):
    params = {"learning_rate": learning_rate, "hidden_units": hidden_units, "l2": l2,
              "dropout": dropout}
    objective = DigitsObjective(epochs=epochs, n_train=BABYSITTING_OBJECTIVE.n_train,
                                batch_size=batch_size)
    start = time.perf_counter()
    model, history = objective.train(params)
    seconds = time.perf_counter() - start
    h = history.history
    return {"loss": np.array(h.get("loss", [])), "val_loss": np.array(h.get("val_loss", [])),
            "val_accuracy": np.array(h.get("val_accuracy", [])),
            "score": objective.validation_loss(model),
            "diverged_at": getattr(history, "diverged_at", None), "seconds": seconds}


def babysit(learning_rate=1e-3, hidden_units=64, l2=1e-4, dropout=0.2, batch_size=64, epochs=12):
    """Train the digits network once (cached per setting): a dict with the per-epoch
    ``loss``, ``val_loss``, ``val_accuracy``, the final ``score`` (validation loss),
    ``diverged_at`` and ``seconds``."""
    return _babysit(float(f"{learning_rate:.3g}"), int(hidden_units), float(f"{l2:.3g}"),
                    round(float(dropout), 2), int(batch_size), int(epochs))


class BabysittingPanels:
    """Left: training and validation loss of the current run. Right: the log book, the
    validation loss of every attempt so far and the best one."""

    def __init__(self, ax_curves, ax_log, max_epochs):
        self.ax_curves, self.ax_log = ax_curves, ax_log
        (self.train_line,) = ax_curves.plot([], [], color=ROLE_COLORS["train"], label="training")
        (self.val_line,) = ax_curves.plot([], [], color=ROLE_COLORS["val"], label="validation")
        ax_curves.set_xlim(0.5, max_epochs + 0.5)
        ax_curves.set_yscale("log")
        ax_curves.set_ylim(0.01, 10)
        ax_curves.set_xlabel("epoch")
        ax_curves.set_ylabel("loss (cross-entropy)")
        ax_curves.legend(loc="upper right")
        self.diverged = ax_curves.text(0.5, 0.5, "", transform=ax_curves.transAxes, ha="center",
                                       color=PALETTE["vermillion"], fontsize=11)
        (self.attempts,) = ax_log.plot([], [], "o", color=PALETTE["blue"], label="attempt")
        (self.best_line,) = ax_log.plot([], [], "-", drawstyle="steps-post",
                                        color=PALETTE["black"], label="best so far")
        ax_log.set_yscale("log")
        ax_log.set_ylim(0.01, 10)
        ax_log.set_xlabel("attempt")
        ax_log.set_ylabel("validation loss")
        ax_log.legend(loc="upper right")

    def show(self, run, log):
        epochs = np.arange(1, len(run["loss"]) + 1)
        self.train_line.set_data(epochs, np.clip(run["loss"], 1e-3, 1e3))
        self.val_line.set_data(epochs, np.clip(run["val_loss"], 1e-3, 1e3))
        if run["diverged_at"] is not None:
            epoch, batch = run["diverged_at"]
            self.diverged.set_text(f"diverged in epoch {epoch + 1}: learning rate too high")
        else:
            self.diverged.set_text("")
        scores = np.clip(np.array(log, dtype=float), 1e-3, 1e3)
        n = np.arange(1, len(scores) + 1)
        self.attempts.set_data(n, scores)
        self.best_line.set_data(n, np.minimum.accumulate(scores))
        self.ax_log.set_xlim(0.5, max(len(scores), 5) + 0.5)
        return scores


class BabysittingExplorer(Explorer):
    """Tune the digits network by hand: every change of a control retrains it (< 1 s)."""

    retraining = True

    def __init__(self, learning_rate=1e-3, hidden_units=64, l2=1e-4, dropout=0.2, batch_size=64,
                 epochs=12):
        controls = {
            "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-4, max=0,
                                                    step=0.25, readout_format=".2g",
                                                    description="learning rate (Adam)",
                                                    style=_STYLE),
            "hidden_units": widgets.SelectionSlider(options=HIDDEN_OPTIONS, value=hidden_units,
                                                    description="hidden units", style=_STYLE),
            "l2": widgets.FloatLogSlider(value=l2, base=10, min=-6, max=-1, step=0.5,
                                         readout_format=".0e", description="L2 factor",
                                         style=_STYLE),
            "dropout": widgets.FloatSlider(value=dropout, min=0.0, max=0.6, step=0.1,
                                           description="dropout rate", style=_STYLE),
            "batch_size": widgets.ToggleButtons(options=(32, 64, 128), value=batch_size,
                                                description="batch size", style=_STYLE),
            "epochs": widgets.IntSlider(value=epochs, min=4, max=20, step=2,
                                        description="epochs", style=_STYLE),
        }
        super().__init__(controls, figsize=(8.0, 3.6), title="Babysitting explorer")
        ax_curves, ax_log = self.figure.subplots(1, 2)
        self.panels = BabysittingPanels(ax_curves, ax_log, controls["epochs"].max)
        self.log = []
        self.figure.subplots_adjust(left=0.09, right=0.98, bottom=0.15, top=0.88, wspace=0.3)

    def draw(self, learning_rate, hidden_units, l2, dropout, batch_size, epochs):
        run = babysit(learning_rate, hidden_units, l2, dropout, batch_size, epochs)
        self.log.append(run["score"])
        scores = self.panels.show(run, self.log)
        self.record("loss", run["loss"])
        self.record("val_loss", run["val_loss"])
        self.record("log", scores)
        accuracy = (f"{run['val_accuracy'][-1]:.1%}" if len(run["val_accuracy"]) else "n/a")
        self.panels.ax_curves.set_title(f"validation loss {run['score']:.3f}, "
                                        f"accuracy {accuracy}", fontsize=10)
        self.panels.ax_log.set_title(f"best of {len(self.log)} attempts: {min(self.log):.3f}",
                                     fontsize=10)
        status = f"Attempt {len(self.log)}: validation loss {run['score']:.3f}."
        if run["diverged_at"] is not None:
            status += " Training diverged: lower the learning rate."
        self.set_status(status)


@register(NOTEBOOK, BabysittingExplorer)
def babysitting_explorer(**kwargs):
    """Explorer: hand-tune the digits network (retrains on every change, cached)."""
    return BabysittingExplorer(**kwargs)


# ------------------------------------------------------------------ benchmark results

#: Where ``bench/search.py`` writes its results (a checkout of the course repository).
BENCH_RESULTS = "bench/results/search_comparison.json"
_BENCH_URL = ("https://raw.githubusercontent.com/course-lib/training-deep-networks/main/"
              + BENCH_RESULTS)


def load_bench_results(path=None):
    """The committed results of ``bench/search.py`` (a dict).

    Looked for at ``path``, else in the repository that holds this package, else (e.g. on
    Colab, where only the package is installed) downloaded from the course repository.
    """
    import json
    import os
    candidates = [path] if path else []
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "..", BENCH_RESULTS))
    candidates.append(os.path.join(os.getcwd(), "..", BENCH_RESULTS))
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            with open(candidate) as handle:
                return json.load(handle)
    from urllib.request import urlopen
    with urlopen(_BENCH_URL, timeout=30) as response:  # pragma: no cover - needs network
        return json.loads(response.read().decode("utf-8"))


def comparison_curves(runs, x="trainings", grid=None):
    """Best-so-far curves of stored runs (``SearchResult.to_dict()`` dicts) resampled on
    a common ``grid``: returns ``(grid, array (n_runs, len(grid)))``."""
    from ...search import SearchResult
    results = [SearchResult.from_dict(run) for run in runs]
    curves = [r.best_so_far(x) for r in results]
    if grid is None:
        top = max(c[0][-1] for c in curves)
        grid = np.linspace(0, top, 200)
    return grid, np.array([step_curve(xs, best, grid) for xs, best in curves])


def variance_explained(values, scores, bins=5):
    """Share of the variance of ``scores`` explained by binning ``values`` into ``bins``
    equal-count groups (the correlation ratio eta^2, between 0 and 1): how much knowing one
    hyperparameter tells about the score."""
    values = np.asarray(values, dtype=float)
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(values, kind="stable")
    groups = np.array_split(scores[order], bins)
    total = np.sum((scores - scores.mean()) ** 2)
    between = sum(len(g) * (g.mean() - scores.mean()) ** 2 for g in groups if len(g))
    return float(between / total) if total > 0 else 0.0
