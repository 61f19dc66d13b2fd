"""Explorers and figures of the notebook on softmax, output layers and losses.

Figures (each drawn by one helper, used by the static figures and the explorers alike):

* :class:`SoftmaxPanels` -- the scores (divided by the temperature) and the softmax
  probabilities as bars, with the cross-entropy loss of a chosen true class;
* :func:`plot_curves` -- a few labelled curves against one variable (probabilities as a
  score grows, losses against a margin, gradients against a score);
* :class:`DecisionRegions` -- the class probabilities of a 2-D classifier painted over the
  plane (each class its colour, paler where the model is unsure), with the data on top;
* :func:`plot_loss_curve` -- a training loss against the optimizer step, with ln(K), the
  loss of a model that spreads its probability evenly over K classes.

Training helper (shown in the notebook, so the code read is the code run):
:func:`fit_toy_classifier` (cached as :func:`train_toy_classifier`) fits softmax regression
or a one-hidden-layer network on a 2-D dataset with the course's ``Sequential`` and keeps
the weights after every step.

Explorers: :func:`softmax_explorer` (formulas only, < 100 ms) and
:func:`decision_region_explorer` (trains a tiny model once per setting, < 1 s, cached).
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
from matplotlib.colors import to_rgb

from ... import activations, data, losses
from ..._validation import check_choice, check_number, check_positive
from ...callbacks import Callback
from ...layers import Dense
from ...model import Sequential
from ...optimizers import Adam
from ..figures import CYCLE, PALETTE, ROLE_COLORS
from ..explorer import BlitExplorer, register

NOTEBOOK = "01_softmax_and_losses"

#: The four classes of the worked example (the source material's cat / dog / chick / other).
CLASS_NAMES = ("cat", "dog", "chick", "other")

#: The scores of the worked example, one per class of :data:`CLASS_NAMES`.
WORKED_SCORES = (5.0, 2.0, -1.0, 3.0)

#: Models of the decision-region explorer.
MODEL_NAMES = ("softmax regression", "one hidden layer")

#: 2-D datasets of the decision-region explorer.
DATASET_NAMES = ("blobs", "spirals")

HIDDEN_UNITS = 32
TOY_SAMPLES = 240
TOY_MAX_STEPS = 300
TOY_LEARNING_RATE = 0.05


def class_colors(n_classes):
    """The course colours of classes 0..n_classes-1 (at most 8), as an (n, 3) RGB array."""
    n_classes = check_number("n_classes", n_classes, low=1, high=len(CYCLE), integer=True)
    return np.array([to_rgb(c) for c in CYCLE[:n_classes]])


def softmax_with_temperature(scores, temperature=1.0):
    """``softmax(z / T)`` of a score vector or batch; shape (..., classes) -> same shape.

    T = 1 is the plain softmax; T < 1 sharpens the distribution toward the largest score,
    T > 1 flattens it toward uniform.
    """
    temperature = check_positive("temperature", temperature)
    return activations.softmax(np.asarray(scores, dtype=np.float64) / temperature)


def loss_for_class(scores, true_class, temperature=1.0):
    """Cross-entropy ``-log softmax(z / T)[true_class]`` of one score vector, computed from
    the logits with log-sum-exp (exact even when the probability underflows)."""
    temperature = check_positive("temperature", temperature)
    z = np.asarray(scores, dtype=np.float64).reshape(1, -1) / temperature
    true_class = check_number("true_class", true_class, low=0, high=z.shape[1] - 1, integer=True)
    return losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([true_class]), z)


# ------------------------------------------------------------------- softmax figure

#: Half-heights of the score axis: the smallest that fits is used, so that the explorer
#: renders its static background once per height instead of once per slider position.
SCORE_AXIS_LIMITS = (1.5, 3.0, 6.0, 12.5, 25.0, 50.0, 100.0, 250.0, 500.0)


class SoftmaxPanels:
    """Two bar charts: scores z / T (left) and probabilities softmax(z / T) (right).

    ``update(scores, temperature, true_class)`` moves the bars and labels (the artists are
    created once) and returns ``(probabilities, loss)``. The true class's bar is outlined and
    hatched, and the right title gives its loss, -ln p.

    :meth:`moving_artists` lists what changes between updates and :meth:`background_key`
    what the rest depends on, so that an explorer can redraw only the former.
    """

    def __init__(self, ax_scores, ax_probs, class_names=CLASS_NAMES):
        self.ax_scores, self.ax_probs = ax_scores, ax_probs
        self.class_names = tuple(class_names)
        k = len(self.class_names)
        colors = class_colors(k)
        positions = np.arange(k)
        self.score_bars = list(ax_scores.bar(positions, np.zeros(k), color=colors, width=0.65))
        self.prob_bars = list(ax_probs.bar(positions, np.zeros(k), color=colors, width=0.65))
        for ax in (ax_scores, ax_probs):
            ax.set_xticks(positions, self.class_names)
            ax.set_xlabel("class")
        ax_scores.axhline(0.0, color=PALETTE["black"], lw=0.8)
        ax_scores.set_ylabel("score z / T (logit)")
        ax_probs.set_ylabel("probability softmax(z / T)")
        ax_probs.set_ylim(0.0, 1.12)
        self.score_texts = [ax_scores.text(i, 0.0, "", ha="center", fontsize=8) for i in positions]
        self.prob_texts = [ax_probs.text(i, 0.0, "", ha="center", va="bottom", fontsize=8)
                           for i in positions]
        # Placeholder titles of typical length, so that layouts leave room for the real ones.
        ax_scores.set_title("scores z / T with T = 1")
        ax_probs.set_title("loss for 'other' = -ln p = 1.386")
        self.limit = SCORE_AXIS_LIMITS[0]

    def moving_artists(self):
        """The artists that an update changes (bars, their labels, the two titles)."""
        return (self.score_bars + self.prob_bars + self.score_texts + self.prob_texts
                + [self.ax_scores.title, self.ax_probs.title])

    def background_key(self):
        """What the static part of the figure depends on: the height of the score axis."""
        return self.limit

    def update(self, scores, temperature=1.0, true_class=0):
        z = np.asarray(scores, dtype=np.float64) / check_positive("temperature", temperature)
        probs = softmax_with_temperature(scores, temperature)
        loss = loss_for_class(scores, true_class, temperature)
        needed = 1.2 * float(np.max(np.abs(z)))
        self.limit = next((v for v in SCORE_AXIS_LIMITS if v >= needed), needed)
        self.ax_scores.set_ylim(-self.limit, self.limit)
        for i, (bar, text, value) in enumerate(zip(self.score_bars, self.score_texts, z)):
            bar.set_height(value)
            text.set_position((i, value + (0.03 if value >= 0 else -0.03) * self.limit))
            text.set_va("bottom" if value >= 0 else "top")
            text.set_text(f"{value:.3g}")
        for i, (bar, text, p) in enumerate(zip(self.prob_bars, self.prob_texts, probs)):
            bar.set_height(p)
            true = i == true_class
            bar.set_edgecolor(PALETTE["black"] if true else "none")
            bar.set_linewidth(2.5 if true else 0.0)
            bar.set_hatch("//" if true else "")
            text.set_position((i, p + 0.01))
            text.set_text(f"{p:.3f}")
        self.ax_scores.set_title(f"scores z / T with T = {temperature:.3g}")
        self.ax_probs.set_title(f"loss for '{self.class_names[true_class]}' = -ln p = {loss:.3f}")
        return probs, loss


def plot_curves(ax, x, curves, *, xlabel, ylabel, title=None, log_x=False, log_y=False):
    """Curves against one variable: ``curves`` maps a label to ``y`` or to ``(y, style)``.

    ``style`` is a dict of Line2D properties (colour, linestyle...). Returns the lines.
    """
    lines = []
    for i, (name, curve) in enumerate(curves.items()):
        y, style = curve if isinstance(curve, tuple) else (curve, {})
        style = {"color": CYCLE[i % len(CYCLE)], **style}
        (line,) = ax.plot(x, y, label=name, **style)
        lines.append(line)
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="best")
    return lines


# --------------------------------------------------------------- decision regions

def region_image(probs, n_classes):
    """RGB image of class probabilities: each pixel mixes the class colours by probability,
    then fades toward white by how unsure the model is (max probability 1/K -> pale).

    probs: (rows, cols, K) -> image (rows, cols, 3) with values in [0, 1].
    """
    colors = class_colors(n_classes)
    mix = probs @ colors
    confidence = (np.max(probs, axis=-1, keepdims=True) - 1.0 / n_classes) / (1.0 - 1.0 / n_classes)
    strength = 0.25 + 0.45 * np.clip(confidence, 0.0, 1.0)
    return np.clip(1.0 - strength * (1.0 - mix), 0.0, 1.0)


class DecisionRegions:
    """A classifier's probabilities over a square of the plane, with the data points on top.

    ``update(probs, x, y, n_classes)`` replaces the image and the points; ``probs`` has shape
    (resolution, resolution, K), evaluated on :attr:`grid` (points of shape (resolution**2, 2)).
    """

    def __init__(self, ax, extent=(-2.6, 2.6, -2.6, 2.6), resolution=120):
        self.ax = ax
        self.extent = tuple(float(v) for v in extent)
        self.resolution = int(resolution)
        xs = np.linspace(self.extent[0], self.extent[1], self.resolution)
        ys = np.linspace(self.extent[2], self.extent[3], self.resolution)
        gx, gy = np.meshgrid(xs, ys)
        self.grid = np.column_stack([gx.ravel(), gy.ravel()])
        self.image = ax.imshow(np.ones((self.resolution, self.resolution, 3)), origin="lower",
                               extent=self.extent, interpolation="bilinear", aspect="auto",
                               zorder=1)
        self.points = ax.scatter([], [], s=12, edgecolors="white", linewidths=0.4, zorder=3)
        ax.set_xlim(self.extent[:2])
        ax.set_ylim(self.extent[2:])
        ax.set_xlabel("feature 1 (standardized)")
        ax.set_ylabel("feature 2 (standardized)")
        ax.grid(False)

    def moving_artists(self):
        """The artists that an update changes: the painted regions and the points."""
        return [self.image, self.points]

    def update(self, probs, x, y, n_classes):
        probs = np.asarray(probs).reshape(self.resolution, self.resolution, n_classes)
        image = region_image(probs, n_classes)
        self.image.set_data(image)
        self.points.set_offsets(np.asarray(x)[:, :2])
        self.points.set_facecolors(class_colors(n_classes)[np.asarray(y)])
        return image


def plot_loss_curve(ax, losses_by_step, n_classes, *, label="training loss", color=None,
                    baseline=True):
    """Loss against the optimizer step (step 0 = before training), with ln(K) dashed."""
    steps = np.arange(len(losses_by_step))
    (line,) = ax.plot(steps, losses_by_step, color=color or ROLE_COLORS["train"], label=label)
    if baseline:
        ax.axhline(np.log(n_classes), color=ROLE_COLORS["baseline"], ls="--",
                   label=f"ln K = ln {n_classes} (uniform guess)")
    ax.set_xlabel("optimizer step (full batch)")
    ax.set_ylabel("loss (cross-entropy)")
    ax.legend(loc="best")
    return line


# ------------------------------------------------------------------- toy training

class WeightSnapshots(Callback):
    """Keeps a copy of the model's weights after every epoch (one step on a full batch)."""

    def __init__(self):
        self.snapshots = []

    def on_epoch_end(self, epoch, logs=None):
        self.snapshots.append(self.model.get_weights())


def toy_dataset(dataset, n_classes, seed=0):
    """Standardized 2-D data: ``(x float32 (240, 2), y int64 (240,))``.

    "blobs": round clusters that straight lines separate well; "spirals": interleaved arms
    that no straight line separates. Standardizing keeps both features on the same scale,
    which lets one learning rate suit every weight.
    """
    check_choice("dataset", dataset, DATASET_NAMES)
    n_classes = check_number("n_classes", n_classes, low=2, high=5, integer=True)
    if dataset == "blobs":
        x, y = data.make_blobs(TOY_SAMPLES, n_classes, spread=1.5, seed=seed)
    else:
        x, y = data.make_spirals(TOY_SAMPLES, n_classes, noise=0.15, seed=seed)
    x = data.Standardizer().fit_transform(x).astype(np.float32)
    return x, y


def toy_model(model, n_classes, seed=0):
    """A ``Sequential`` classifier for 2-D inputs.

    "softmax regression": one Dense layer with K softmax outputs; "one hidden layer": 32 ReLU
    units (He initialisation) first. In both the output layer starts with zero weights, so
    every class starts at probability 1/K and the loss at ln K. (Zeros are safe in the output
    layer: the hidden layer's random weights already make its units differ.)
    """
    check_choice("model", model, MODEL_NAMES)
    if model == "softmax regression":
        layers = [Dense(n_classes, activation="softmax", kernel_initializer="zeros")]
    else:
        layers = [Dense(HIDDEN_UNITS, activation="relu", kernel_initializer="he_uniform"),
                  Dense(n_classes, activation="softmax", kernel_initializer="zeros")]
    net = Sequential(layers, seed=seed)
    net.compile(Adam(TOY_LEARNING_RATE), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return net


@dataclass
class ToyRun:
    """A trained toy classifier: data, losses and weights after every step (0..steps)."""

    dataset: str
    n_classes: int
    model_name: str
    x: np.ndarray
    y: np.ndarray
    losses: np.ndarray        # (steps + 1,): losses[s] is the loss after s steps
    accuracies: np.ndarray    # (steps + 1,)
    snapshots: list           # steps + 1 weight lists
    model: Sequential
    _probs: dict = field(default_factory=dict, repr=False)

    MAX_CACHED_GRIDS = 8

    @property
    def steps(self):
        return len(self.losses) - 1

    def predict(self, points, step=None):
        """Class probabilities (n, K) of ``points`` (n, 2) after ``step`` steps (default: all)."""
        step = self.steps if step is None else int(np.clip(step, 0, self.steps))
        self.model.set_weights(self.snapshots[step])
        return self.model.predict(np.asarray(points, dtype=np.float32))

    def grid_probabilities(self, grid, step=None):
        """``predict`` on a grid of points; the last few (grid, step) pairs are cached."""
        step = self.steps if step is None else int(np.clip(step, 0, self.steps))
        grid = np.ascontiguousarray(grid, dtype=np.float32)
        key = (step, grid.shape, hashlib.blake2b(grid.tobytes(), digest_size=8).digest())
        if key not in self._probs:
            if len(self._probs) >= self.MAX_CACHED_GRIDS:   # bounded: a few MB per run
                self._probs.pop(next(iter(self._probs)))
            self._probs[key] = self.predict(grid, step)
        return self._probs[key]


def fit_toy_classifier(dataset="blobs", n_classes=3, model="softmax regression",
                       steps=TOY_MAX_STEPS, seed=0):
    """Train a toy classifier with full-batch Adam, keeping the weights after every step.

    Returns a :class:`ToyRun`: ``losses[s]`` and ``accuracies[s]`` are measured on the
    training data after ``s`` steps (``losses[0]``: before training).
    """
    x, y = toy_dataset(dataset, n_classes, seed=seed)
    net = toy_model(model, n_classes, seed=seed)
    net.build(x.shape[1])
    start = net.evaluate(x, y)
    snapshots = WeightSnapshots()
    snapshots.snapshots.append(net.get_weights())
    # One epoch over the full batch is one optimizer step; the loss and accuracy it logs
    # are measured before that step's update, i.e. for the weights after the previous step.
    history = net.fit(x, y, epochs=steps, batch_size=len(x), shuffle=False,
                      callbacks=[snapshots], verbose=0)
    end = net.evaluate(x, y)
    run_losses = np.array([start["loss"]] + history.history["loss"][1:] + [end["loss"]])
    run_acc = np.array([start["accuracy"]] + history.history["accuracy"][1:] + [end["accuracy"]])
    return ToyRun(dataset, n_classes, model, x, y, run_losses, run_acc, snapshots.snapshots, net)


def train_toy_classifier(dataset="blobs", n_classes=3, model="softmax regression",
                         steps=TOY_MAX_STEPS, seed=0):
    """:func:`fit_toy_classifier`, cached: the same arguments return the same :class:`ToyRun`."""
    check_choice("dataset", dataset, DATASET_NAMES)
    n_classes = check_number("n_classes", n_classes, low=2, high=5, integer=True)
    check_choice("model", model, MODEL_NAMES)
    steps = check_positive("steps", steps, integer=True)
    seed = check_number("seed", seed, low=0, integer=True)
    return _cached_toy_run(dataset, n_classes, model, steps, seed)


@functools.lru_cache(maxsize=32)
def _cached_toy_run(dataset, n_classes, model, steps, seed):
    return fit_toy_classifier(dataset, n_classes, model, steps, seed)


# ------------------------------------------------------------------------ explorers

class SoftmaxExplorer(BlitExplorer):
    """Four scores and a temperature in; the probabilities and the loss of a true class out."""

    def __init__(self, scores=WORKED_SCORES, temperature=1.0, true_class=CLASS_NAMES[0]):
        style = {"description_width": "initial"}
        controls = {}
        for name, value in zip(CLASS_NAMES, scores):
            controls[f"z_{name}"] = widgets.FloatSlider(
                value=value, min=-10.0, max=10.0, step=0.1, description=f"score z ({name})",
                style=style, readout_format=".1f")
        controls["temperature"] = widgets.FloatLogSlider(
            value=temperature, base=10, min=-1.3, max=1.3, step=0.05, readout_format=".3g",
            description="temperature T", style=style)
        controls["true_class"] = widgets.Dropdown(options=CLASS_NAMES, value=true_class,
                                                  description="true class", style=style)
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
                 steps=TOY_MAX_STEPS):
        style = {"description_width": "initial"}
        controls = {
            "dataset": widgets.Dropdown(options=DATASET_NAMES, value=dataset,
                                        description="dataset", style=style),
            "n_classes": widgets.IntSlider(value=n_classes, min=2, max=5,
                                           description="classes K", style=style),
            "model": widgets.ToggleButtons(options=MODEL_NAMES, value=model,
                                           description="model", style=style),
            "steps": widgets.IntSlider(value=steps, min=0, max=TOY_MAX_STEPS, step=10,
                                       description="training steps", style=style),
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
        run = train_toy_classifier(dataset, n_classes, model, TOY_MAX_STEPS)
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
                             steps=TOY_MAX_STEPS):
    """Decision-region explorer: 2-D data, K classes, softmax regression or one hidden layer,
    number of training steps (trains once per setting, cached; < 1 s)."""
    return DecisionRegionExplorer(dataset=dataset, n_classes=n_classes, model=model, steps=steps)
