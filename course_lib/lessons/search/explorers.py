"""Explorers of the notebook on hyperparameter search.

:func:`projection_explorer`, :func:`scale_explorer` and :func:`bo_explorer` compute formulas
only (< 100 ms a redraw); :func:`babysitting_explorer` retrains the digits network (< 1 s).
Their numbers come from ``runs.py``, their drawing from ``figures.py``.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..explorer import BlitExplorer, Explorer, register
from .figures import (BabysittingPanels, BOPanels, plot_decade_shares, plot_projection,
                      show_decade_shares)
from .runs import (IMPORTANCE, PROJECTION_TRIALS, SCALE_RANGES, babysit, bo_steps,
                   projection_points, projection_summary, scale_dimension, toy_loss_map)

NOTEBOOK = "08_hyperparameter_search"
#: The hidden-layer sizes the babysitting explorer offers (powers of two, as usually tried).
HIDDEN_OPTIONS = (16, 32, 64, 128, 256)


class ProjectionExplorer(BlitExplorer):
    """Grid vs random search with the same number of trials, when one parameter matters."""

    def __init__(self, n_trials=9, important="only x1 matters", seed=0):
        controls = {
            "n_trials": widgets.SelectionSlider(options=PROJECTION_TRIALS, value=n_trials,
                                                description="trials (k x k grid)"),
            "important": widgets.ToggleButtons(options=IMPORTANCE, value=important,
                                               description="which parameter matters"),
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
                image.set_data(toy_loss_map(key))

        self.prerender(IMPORTANCE, show_background)   # the three backgrounds, once

    def draw(self, n_trials, important):
        grid, rand = projection_points(n_trials, self.seed)
        best = {}
        for ax, (image, dots, rug1, rug2), pts, name in zip(self.axes, self.artists,
                                                            (grid, rand), ("grid", "random")):
            image.set_data(toy_loss_map(important))
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


class ScaleExplorer(BlitExplorer):
    """Sample a range uniformly on a linear or a log scale; see where the samples land."""

    def __init__(self, range_name="learning rate 1e-4 .. 1", scale="linear", n_samples=1000,
                 seed=0):
        controls = {
            "range_name": widgets.Dropdown(options=tuple(SCALE_RANGES), value=range_name,
                                           description="range"),
            "scale": widgets.ToggleButtons(options=("linear", "log"), value=scale,
                                           description="sample uniformly on a"),
            "n_samples": widgets.IntSlider(value=n_samples, min=50, max=5000, step=50,
                                           description="samples"),
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


class BOExplorer(BlitExplorer):
    """Step through Bayesian optimisation of a 1-D function; change the kernel's length
    scale and the exploration margin xi."""

    def __init__(self, iteration=0, length_scale=0.15, xi=0.0, n_steps=12):
        controls = {
            "iteration": widgets.IntSlider(value=iteration, min=0, max=n_steps,
                                           description="iteration"),
            "length_scale": widgets.FloatLogSlider(value=length_scale, base=10, min=-2, max=0,
                                                   step=0.05, readout_format=".3f",
                                                   description="kernel length scale"),
            "xi": widgets.FloatSlider(value=xi, min=0.0, max=3.0, step=0.1,
                                      description="exploration xi"),
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


class BabysittingExplorer(Explorer):
    """Tune the digits network by hand: every change of a control retrains it (< 1 s)."""

    retraining = True

    def __init__(self, learning_rate=1e-3, hidden_units=64, l2=1e-4, dropout=0.2, batch_size=64,
                 epochs=12):
        controls = {
            "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-4, max=0,
                                                    step=0.25, readout_format=".2g",
                                                    description="learning rate (Adam)"),
            "hidden_units": widgets.SelectionSlider(options=HIDDEN_OPTIONS, value=hidden_units,
                                                    description="hidden units"),
            "l2": widgets.FloatLogSlider(value=l2, base=10, min=-6, max=-1, step=0.5,
                                         readout_format=".0e", description="L2 factor"),
            "dropout": widgets.FloatSlider(value=dropout, min=0.0, max=0.6, step=0.1,
                                           description="dropout rate"),
            "batch_size": widgets.ToggleButtons(options=(32, 64, 128), value=batch_size,
                                                description="batch size"),
            "epochs": widgets.IntSlider(value=epochs, min=4, max=20, step=2,
                                        description="epochs"),
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
