"""Explorers of the first notebook: a first network on the digits."""
from __future__ import annotations

import functools

import ipywidgets as widgets
import numpy as np

from ...callbacks import Callback
from ...data import digits_splits
from ...layers import Dense
from ...model import Sequential
from ...optimizers import Adam
from ..figures import ROLE_COLORS, label
from ..explorer import Explorer, register

MAX_EPOCHS = 20


class _TestAccuracy(Callback):
    """Records the test accuracy after every epoch (for display only, never for choices)."""

    def __init__(self, x_test, y_test):
        self.x_test, self.y_test = x_test, y_test
        self.values = []

    def on_epoch_end(self, epoch, logs=None):
        self.values.append(self.model.evaluate(self.x_test, self.y_test)["accuracy"])


@functools.lru_cache(maxsize=64)
def train_first_network(hidden_units, learning_rate, epochs=MAX_EPOCHS, seed=0):
    """Train 64 -> hidden (ReLU) -> 10 (softmax) on the course's digits split with Adam
    (mini-batches of 64, so that a retrain takes a fraction of a second).

    Returns a dict of per-epoch lists: loss, accuracy, val_loss, val_accuracy, test_accuracy.
    With a fixed seed, the first ``k`` epochs of a longer run are exactly a ``k``-epoch run,
    so an explorer can show any number of epochs from one cached run.
    """
    data = digits_splits()
    model = Sequential([Dense(hidden_units, activation="relu"), Dense(10, activation="softmax")],
                       seed=seed)
    model.compile(Adam(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    test = _TestAccuracy(data.x_test, data.y_test)
    history = model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=64,
                        validation_data=(data.x_val, data.y_val), callbacks=[test], verbose=0,
                        on_divergence="stop")
    result = {k: list(v) for k, v in history.history.items()}
    result["test_accuracy"] = test.values
    result["diverged_at"] = history.diverged_at
    return result


class FirstNetworkExplorer(Explorer):
    """Hidden units, learning rate and epochs of a first digits network; its learning curves."""

    retraining = True

    def __init__(self):
        style = {"description_width": "initial"}
        controls = {
            "hidden_units": widgets.IntSlider(value=64, min=4, max=128, step=4,
                                              description="hidden units", style=style),
            "learning_rate": widgets.FloatLogSlider(value=1e-3, base=10, min=-4, max=0,
                                                    step=0.25, description="learning rate",
                                                    readout_format=".1e", style=style),
            "epochs": widgets.IntSlider(value=10, min=1, max=MAX_EPOCHS,
                                        description="epochs", style=style),
        }
        super().__init__(controls, figsize=(8.0, 3.4), title="First network on the digits")
        self.ax_loss, self.ax_acc = self.figure.subplots(1, 2)
        self.figure.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.86, wspace=0.28)
        colors = {"loss": ROLE_COLORS["train"], "val_loss": ROLE_COLORS["val"]}
        self.lines = {
            "loss": self.ax_loss.plot([], [], color=colors["loss"], label="training")[0],
            "val_loss": self.ax_loss.plot([], [], color=colors["val_loss"], label="validation")[0],
            "accuracy": self.ax_acc.plot([], [], color=colors["loss"], label="training")[0],
            "val_accuracy": self.ax_acc.plot([], [], color=colors["val_loss"], label="validation")[0],
        }
        label(self.ax_loss, "epoch", "loss (cross-entropy)", "Loss")
        label(self.ax_acc, "epoch", "accuracy", "Accuracy")
        self.ax_acc.set_ylim(0, 1.02)
        self.ax_loss.legend(loc="upper right")
        self.suptitle = self.figure.suptitle("")

    def draw(self, hidden_units, learning_rate, epochs):
        run = train_first_network(int(hidden_units), float(learning_rate))
        shown = min(epochs, len(run["loss"]))
        x = np.arange(1, shown + 1)
        for key, line in self.lines.items():
            y = self.record(key, np.asarray(run[key][:shown], dtype=float))
            line.set_data(x, y)
        self.ax_loss.set_xlim(0.5, MAX_EPOCHS + 0.5)
        self.ax_acc.set_xlim(0.5, MAX_EPOCHS + 0.5)
        top = max(np.max(run["loss"][:shown]), np.max(run["val_loss"][:shown])) if shown else 1.0
        self.ax_loss.set_ylim(0, 1.05 * top)
        if shown:
            test = run["test_accuracy"][shown - 1]
            text = (f"{hidden_units} hidden units, learning rate {learning_rate:.1e}: after "
                    f"{shown} epochs, validation accuracy {run['val_accuracy'][shown - 1]:.3f}, "
                    f"test accuracy {test:.3f}")
        else:
            text = "the very first epoch diverged"
        if run["diverged_at"] is not None and epochs > shown:
            text += f" -- training diverged in epoch {run['diverged_at'][0] + 1} (learning rate too large)"
        self.suptitle.set_text(f"{hidden_units} hidden units, learning rate {learning_rate:.1e}")
        self.set_status(text)


@register("00_start_here", FirstNetworkExplorer)
def first_network_explorer():
    """Explorer: train a first digits network with your choice of width, rate and epochs."""
    return FirstNetworkExplorer()
