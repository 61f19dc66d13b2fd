"""Figures of the notebook on hyperparameter search: one helper per kind, used by the static
figures of the notebook and by its explorers alike.

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
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import NullFormatter, ScalarFormatter

from ...search import Integer, Trial
from ...search.functions import forrester_curve
from ..figures import PALETTE, ROLE_COLORS, readable_log_axis
from .runs import BO_GRID, decade_shares, toy_loss_map

#: One colour per strategy, the same in every figure of the notebook.
STRATEGY_COLORS = {
    "grid_search": PALETTE["grey"],
    "random_search": PALETTE["orange"],
    "coarse_to_fine": PALETTE["green"],
    "bayesian_optimization": PALETTE["blue"],
    "successive_halving": PALETTE["purple"],
    "hyperband": PALETTE["wine"],          # not vermillion: it sat next to random's orange
    "optuna_tpe": PALETTE["sky_blue"],
    "optuna_gp": PALETTE["black"],
}
STRATEGY_LABELS = {
    "grid_search": "grid", "random_search": "random", "coarse_to_fine": "coarse-to-fine",
    "bayesian_optimization": "Bayesian (GP + EI)", "successive_halving": "successive halving",
    "hyperband": "Hyperband", "optuna_tpe": "Optuna TPE", "optuna_gp": "Optuna GP",
}


def as_trial(trial):
    """A :class:`~course_lib.search.Trial`, from a trial or from its stored dict (the
    benchmark's results hold ``SearchResult.to_dict()`` trials, with ``"inf"`` as a string)."""
    if isinstance(trial, Trial):
        return trial
    return Trial(**{**trial, "score": float(trial["score"])})


def plot_projection(ax, points, important, title):
    """Trials over the toy objective, with ticks showing their projection on each axis.

    Returns the artists ``(image, points, rug_x1, rug_x2)`` so that an explorer can update them.
    """
    image = ax.imshow(toy_loss_map(important), origin="lower", extent=(0, 1, 0, 1),
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


def plot_importance(axes, trials, space, names=None):
    """Score against each hyperparameter (log axes for log dimensions) over many trials."""
    names = list(names or space)
    trials = [as_trial(t) for t in trials]
    scores = np.array([t.score for t in trials])
    params = [t.params for t in trials]
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
    colors = [PALETTE["orange"], PALETTE["sky_blue"], PALETTE["wine"], PALETTE["black"]]
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


def plot_halving(ax, trials):
    """Score against budget for every configuration of a halving run (trials or their
    stored dicts): a line joins the rungs of a configuration that was promoted."""
    trials = [as_trial(t) for t in trials]
    by_config = {}
    for t in trials:
        key = (t.info["bracket"], tuple(sorted(t.params.items())))
        by_config.setdefault(key, []).append(t)
    brackets = sorted({bracket for bracket, _ in by_config}, reverse=True)
    colors = dict(zip(brackets, [PALETTE[c] for c in ("vermillion", "blue", "green", "orange",
                                                      "purple")]))
    for (bracket, _), runs in by_config.items():
        ax.plot([r.budget for r in runs], [r.score for r in runs], "o-", color=colors[bracket],
                alpha=0.6, markersize=4, linewidth=1.0)
    for bracket in brackets:
        ax.plot([], [], "o-", color=colors[bracket], label=f"bracket s = {bracket}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sorted({t.budget for t in trials}))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    readable_log_axis(ax, "y")          # the scores span about one decade: ticks at 1, 2, 5
    ax.set_xlabel("budget (epochs)")
    ax.set_ylabel("validation loss (cross-entropy)")
    ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_best_so_far(ax, curves, x_label, y_label="best validation loss so far", log_y=False):
    """Median (line) and interquartile range (band) of best-so-far curves per strategy.

    ``curves`` maps a strategy name to ``(x_grid, best)`` with ``best`` of shape
    (n_seeds, len(x_grid)). ``log_y`` draws the loss on a log axis ticked at 1, 2, 5 x 10^k.
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
    if log_y:
        ax.set_yscale("log")
        readable_log_axis(ax, "y")
    ax.legend(loc="upper right", fontsize=8)
    return ax


def label_in_order(ax, xs, ys, *, log_x=False, fontsize=8):
    """Number points 1, 2, ... in the order given, stacking the labels of points that lie
    close together along x (within 4% of the axis width) so that no two overprint."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    position = np.log10(xs) if log_x else xs
    width = max(np.ptp(position), 1e-12)
    placed = []
    texts = []
    for i, (x, y, p) in enumerate(zip(xs, ys, position), start=1):
        level = sum(abs(p - q) < 0.04 * width for q in placed)
        placed.append(p)
        texts.append(ax.annotate(str(i), (x, y), textcoords="offset points",
                                 xytext=(3, 4 + 9 * level), fontsize=fontsize))
    return texts


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

