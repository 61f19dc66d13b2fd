"""The explorers of the notebook on optimizers, from gradient descent to Nadam.

* :func:`trajectory_explorer` -- one optimizer on one surface, every hyperparameter on a
  slider (formula explorer, < 100 ms);
* :func:`race_explorer` -- the eight optimizers from one start with one learning rate
  (formula explorer);
* :func:`training_explorer` -- retrains the small digits network on five seeds (< 1 s, cached).

The runs are in :mod:`.runs` and :mod:`.digits_runs`, the figures they draw in :mod:`.figures`.
"""
from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np

from ... import optimizers as opt
from ..explorer import BlitExplorer, Explorer, register
from ..seeds import seeds_from
from .digits_runs import best_runs, digits_runs, digits_sweep, final_val_losses
from .figures import CurveFigure, PathFigure, step_axis_lengths_up_to
from .runs import (SLIDER_KEYWORDS, SURFACE_NAMES, clip_start, default_hyperparameters,
                   describe_run, path, race, surface_of)

NOTEBOOK = "03_optimizers"


def _blit_path_figure(explorer, max_steps):
    """Let a :class:`~course_lib.lessons.explorer.BlitExplorer` drawing a :class:`PathFigure`
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
                       lambda layout: paths.set_background(surface_of(layout["map"])))
    explorer.prerender([{"loss": length} for length in step_axis_lengths_up_to(max_steps)],
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
        for slider in ("beta_1", "beta_2"):
            self.controls[slider].disabled = name not in SLIDER_KEYWORDS[slider]

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
        tr = path(surface, optimizer, learning_rate, steps=steps, start=start, beta_1=beta_1,
                  beta_2=beta_2)
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


# ------------------------------------------------------------------ the digits network

class TrainingExplorer(Explorer):
    """Train the digits network with a chosen optimizer and learning rate on the seeds of
    ``seed`` (median and quartile band); the other seven are drawn thin, each at its best rate
    of :data:`.digits_runs.DIGITS_RATES` for comparison."""

    retraining = True

    def __init__(self, optimizer="Adam", learning_rate=0.01, seed=0):
        controls = {
            "optimizer": widgets.Dropdown(options=opt.OPTIMIZER_NAMES, value=optimizer,
                                          description="optimizer", style=_STYLE),
            "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-4, max=0.5,
                                                    step=0.25, readout_format=".3g",
                                                    description="learning rate", style=_STYLE,
                                                    continuous_update=False),
        }
        self.seeds = seeds_from(seed)
        super().__init__(controls, figsize=(9.5, 3.4),
                         title=f"Training the digits network ({len(self.seeds)} seeds)")
        self.curves = CurveFigure(self.figure)
        self.runs = None

    def draw(self, optimizer, learning_rate):
        best = best_runs(digits_sweep(self.seeds))
        labels = {name: f"{name} (best lr {runs[0].learning_rate:g})" for name, runs in best.items()}
        chosen = digits_runs(optimizer, float(learning_rate), self.seeds)
        best[optimizer] = chosen
        labels[optimizer] = f"{optimizer}, lr {learning_rate:.3g}"
        self.runs = chosen
        for key, value in self.curves.show(best, highlight=optimizer, labels=labels).items():
            self.record(key, value)
        diverged = [run.diverged_at for run in chosen if run.diverged_at is not None]
        if diverged:
            text = (f"{optimizer} diverged on {len(diverged)} of {len(chosen)} seeds at lr "
                    f"{learning_rate:.3g}: the median stops where most runs stop")
            self.curves.note.set_text(text)
            self.set_status(text)
        else:
            self.curves.note.set_text("")
            losses = final_val_losses(chosen)
            accuracy = np.median([run.val_accuracy[-1] for run in chosen])
            self.set_status(f"{optimizer}, lr {learning_rate:.3g}: final validation loss, median "
                            f"of {len(chosen)} seeds {np.median(losses):.3f} (from "
                            f"{losses.min():.3f} to {losses.max():.3f}), accuracy {accuracy:.1%}")


@register(NOTEBOOK, TrainingExplorer)
def training_explorer(optimizer="Adam", learning_rate=0.01, seed=0):
    """Retrain the digits network with a chosen optimizer and learning rate on the seeds of
    ``seed`` (< 1 s, cached)."""
    return TrainingExplorer(optimizer, learning_rate, seed)
