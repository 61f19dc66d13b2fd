"""Figures of the notebook on softmax, output layers and losses.

Each figure kind is drawn by one helper, used by the static figures and the explorers alike
(and :class:`DecisionRegions` by the dropout notebook too):

* :class:`SoftmaxPanels` -- the scores (divided by the temperature) and the softmax
  probabilities as bars, with the cross-entropy loss of a chosen true class;
* :func:`plot_curves` -- a few labelled curves against one variable (probabilities as a
  score grows, losses against a margin, gradients against a score);
* :class:`DecisionRegions` -- the class probabilities of a 2-D classifier painted over the
  plane (each class its colour, paler where the model is unsure), with the data on top;
* :func:`plot_loss_curve` -- a training loss against the optimizer step, with ln(K), the
  loss of a model that spreads its probability evenly over K classes.
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb

from ..._validation import check_number, check_positive
from ..figures import CYCLE, PALETTE, ROLE_COLORS
from .runs import CLASS_NAMES, loss_for_class, softmax_with_temperature


def class_colors(n_classes):
    """The course colours of classes 0..n_classes-1 (at most 8), as an (n, 3) RGB array."""
    n_classes = check_number("n_classes", n_classes, low=1, high=len(CYCLE), integer=True)
    return np.array([to_rgb(c) for c in CYCLE[:n_classes]])


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
