"""Figures of the first notebook: the digits themselves, a network's learning curves, and a
comparison of settings over seeds (a strip of dots per setting)."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..._validation import check_array, check_positive, check_same_length
from ..figures import PALETTE, ROLE_COLORS, label


def plot_digit_examples(fig, images, labels, per_class=3):
    """The first ``per_class`` images of each digit, one column per digit, on ``fig``.

    images : (n, 8, 8) pixels in [0, 1] (as ``load_digits(return_images=True)`` gives them);
    labels : (n,) digits 0..9. Darker means more ink. Returns the (per_class, 10) axes.
    """
    images = check_array("images", images, ndim=3)
    labels = check_array("labels", labels, ndim=1, dtype=None)
    check_same_length("images", images, "labels", labels)
    per_class = check_positive("per_class", per_class, integer=True)
    axes = fig.subplots(per_class, 10, squeeze=False)
    for digit in range(10):
        examples = np.flatnonzero(labels == digit)[:per_class]
        for row, index in enumerate(examples):
            ax = axes[row, digit]
            ax.imshow(images[index], cmap="gray_r", vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():   # a thin frame shows each image's 8 x 8 square
                spine.set_visible(True)
                spine.set_color(PALETTE["grey"])
                spine.set_linewidth(0.6)
            if row == 0:
                ax.set_title(str(digit))
    return axes


class LearningCurves:
    """Loss (left) and accuracy (right) against the epoch, training and validation.

    ``update(history, epochs)`` shows the first ``epochs`` epochs of a history dict
    (``loss``, ``val_loss``, ``accuracy``, ``val_accuracy`` lists) on axes spanning
    ``max_epochs``, and returns the arrays drawn, by key.
    """

    def __init__(self, ax_loss, ax_acc, max_epochs):
        self.ax_loss, self.ax_acc = ax_loss, ax_acc
        self.max_epochs = check_positive("max_epochs", max_epochs, integer=True)
        train, val = ROLE_COLORS["train"], ROLE_COLORS["val"]
        self.lines = {
            "loss": ax_loss.plot([], [], color=train, label="training")[0],
            "val_loss": ax_loss.plot([], [], color=val, label="validation")[0],
            "accuracy": ax_acc.plot([], [], color=train, label="training")[0],
            "val_accuracy": ax_acc.plot([], [], color=val, label="validation")[0],
        }
        label(ax_loss, "epoch", "loss (cross-entropy)", "Loss")
        label(ax_acc, "epoch", "accuracy", "Accuracy")
        for ax in (ax_loss, ax_acc):
            ax.set_xlim(0.5, self.max_epochs + 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # epochs are whole numbers
        ax_acc.set_ylim(0, 1.02)
        ax_loss.legend(loc="upper right")

    def update(self, history, epochs):
        shown = min(int(epochs), len(history["loss"]))
        x = np.arange(1, shown + 1)
        drawn = {}
        for key, line in self.lines.items():
            drawn[key] = np.asarray(history[key][:shown], dtype=float)
            line.set_data(x, drawn[key])
        top = max(np.max(drawn["loss"]), np.max(drawn["val_loss"])) if shown else 1.0
        self.ax_loss.set_ylim(0, 1.05 * top)
        return drawn
