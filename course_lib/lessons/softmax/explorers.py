"""Explorers of the notebook on softmax, output layers and losses.

:func:`softmax_explorer` (formulas only, < 100 ms) and :func:`decision_region_explorer`
(trains a tiny model once per setting, < 1 s, cached). Their numbers come from
:mod:`.runs`, their drawings from :mod:`.figures`.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..explorer import BlitExplorer, register
from ..figures import ROLE_COLORS
from ..seeds import seeds_from
from .figures import DecisionRegions, SoftmaxPanels, plot_loss_curve
from .runs import (CLASS_NAMES, DATASET_NAMES, MODEL_NAMES, TOY_MAX_STEPS, WORKED_SCORES,
                   train_toy_classifier)

NOTEBOOK = "01_softmax_and_losses"


class SoftmaxExplorer(BlitExplorer):
    """Four scores and a temperature in; the probabilities and the loss of a true class out."""

    def __init__(self, scores=WORKED_SCORES, temperature=1.0, true_class=CLASS_NAMES[0]):
        controls = {}
        for name, value in zip(CLASS_NAMES, scores):
            controls[f"z_{name}"] = widgets.FloatSlider(
                value=value, min=-10.0, max=10.0, step=0.1, description=f"score z ({name})", readout_format=".1f")
        controls["temperature"] = widgets.FloatLogSlider(
            value=temperature, base=10, min=-1.3, max=1.3, step=0.05, readout_format=".3g",
            description="temperature T")
        controls["true_class"] = widgets.Dropdown(options=CLASS_NAMES, value=true_class,
                                                  description="true class")
        super().__init__(controls, figsize=(8.0, 3.3), title="softmax explorer")
        ax_scores, ax_probs = self.figure.subplots(1, 2)
        self.panels = SoftmaxPanels(ax_scores, ax_probs, CLASS_NAMES)
        self.figure.tight_layout()
        self.animate(*self.panels.moving_artists())

    def draw(self, temperature, true_class, **scores):
        z = np.array([scores[f"z_{name}"] for name in CLASS_NAMES])
        target = CLASS_NAMES.index(true_class)
        probs, loss = self.panels.update(z, temperature, target)
        self.layout = self.panels.background_key()
        self.record("scores_over_temperature", z / temperature)
        self.record("probabilities", probs)
        self.record("loss", np.array([loss]))
        winner = CLASS_NAMES[int(np.argmax(probs))]
        self.set_status(f"prediction: <b>{winner}</b> (p = {probs.max():.3f}); probabilities sum "
                        f"to {probs.sum():.3f}; cross-entropy for '{true_class}' = {loss:.3f} "
                        f"(ln 4 = {np.log(4):.3f} for a uniform guess)")


@register(NOTEBOOK, SoftmaxExplorer)
def softmax_explorer(scores=WORKED_SCORES, temperature=1.0, true_class=CLASS_NAMES[0]):
    """Softmax explorer: move the scores and the temperature, watch the probabilities and
    the cross-entropy loss for the chosen true class (formulas only, < 100 ms)."""
    return SoftmaxExplorer(scores=scores, temperature=temperature, true_class=true_class)


class DecisionRegionExplorer(BlitExplorer):
    """Train softmax regression or a one-hidden-layer network on 2-D data; see the regions
    and the loss curve after any number of steps."""

    retraining = True

    def __init__(self, dataset="spirals", n_classes=3, model="softmax regression",
                 steps=TOY_MAX_STEPS, seed=0):
        self.seed = seeds_from(seed, 1)[0]   # validates the seed; seeds_from(s, 1) is (1000 s,)
        controls = {
            "dataset": widgets.Dropdown(options=DATASET_NAMES, value=dataset,
                                        description="dataset"),
            "n_classes": widgets.IntSlider(value=n_classes, min=2, max=5,
                                           description="classes K"),
            "model": widgets.ToggleButtons(options=MODEL_NAMES, value=model,
                                           description="model"),
            "steps": widgets.IntSlider(value=steps, min=0, max=TOY_MAX_STEPS, step=10,
                                       description="training steps"),
        }
        super().__init__(controls, figsize=(8.6, 3.7),
                         title="decision-region explorer")
        ax_regions, self.ax_loss = self.figure.subplots(1, 2, width_ratios=(1.0, 1.15))
        self.regions = DecisionRegions(ax_regions)
        self.loss_line = plot_loss_curve(self.ax_loss, [np.nan], 2)
        self.baseline = self.ax_loss.lines[-1]
        (self.marker,) = self.ax_loss.plot([], [], "o", color=ROLE_COLORS["val"], ms=7, zorder=4,
                                           label="current step")
        self.ax_loss.set_xlim(-0.02 * TOY_MAX_STEPS, 1.02 * TOY_MAX_STEPS)
        self.ax_loss.legend(loc="lower left")
        self.ax_loss.set_title("loss after 300 steps: 0.000")   # placeholders for the layout
        ax_regions.set_title("one hidden layer: accuracy 100%")
        self.figure.tight_layout()
        self.animate(*self.regions.moving_artists(), self.loss_line, self.marker,
                     self.ax_loss.title, ax_regions.title)

    def draw(self, dataset, n_classes, model, steps):
        run = train_toy_classifier(dataset, n_classes, model, TOY_MAX_STEPS, seed=self.seed)
        probs = run.grid_probabilities(self.regions.grid, steps)
        image = self.regions.update(probs, run.x, run.y, n_classes)
        shown = run.losses[: steps + 1]
        self.loss_line.set_data(np.arange(len(shown)), shown)
        self.marker.set_data([steps], [run.losses[steps]])
        # The static background (axes, ln K line, legend) depends on K and the y range only;
        # the y range is rounded up to a quarter so that few backgrounds are ever rendered.
        top = np.ceil(4.0 * 1.1 * max(float(np.max(run.losses)), np.log(n_classes))) / 4.0
        key = (n_classes, top)
        if key != self.layout:
            self.baseline.set_ydata([np.log(n_classes)] * 2)
            self.baseline.set_label(f"ln K = ln {n_classes} (uniform guess)")
            self.ax_loss.legend(loc="lower left")
            self.ax_loss.set_ylim(0.0, top)
            self.layout = key
        self.ax_loss.set_title(f"loss after {steps} steps: {run.losses[steps]:.3f}")
        self.regions.ax.set_title(f"{model}: accuracy {run.accuracies[steps]:.0%}")
        self.record("regions", image)
        self.record("loss_curve", shown)
        self.record("points", run.x)
        self.set_status(f"{model} on {dataset} (K = {n_classes}), {steps} full-batch Adam steps: "
                        f"training loss {run.losses[steps]:.3f} (ln K = {np.log(n_classes):.3f}), "
                        f"training accuracy {run.accuracies[steps]:.1%}")


@register(NOTEBOOK, DecisionRegionExplorer)
def decision_region_explorer(dataset="spirals", n_classes=3, model="softmax regression",
                             steps=TOY_MAX_STEPS, seed=0):
    """Decision-region explorer: 2-D data, K classes, softmax regression or one hidden layer,
    number of training steps (trains once per setting, cached; < 1 s). The data and weights
    come from the first seed of ``seeds_from(seed)``."""
    return DecisionRegionExplorer(dataset=dataset, n_classes=n_classes, model=model, steps=steps,
                                  seed=seed)
