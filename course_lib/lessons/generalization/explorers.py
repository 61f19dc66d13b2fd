"""Explorers of notebook 05 (the experiments are in :mod:`.runs` and :mod:`.digit_runs`).

* :func:`capacity_explorer`: width, depth, epochs and training-set size of the moons network
  -> its training and validation curves (a new setting trains once, < 1 s, then cached);
* :func:`regularization_explorer`: kind and strength of regularization -> curves and the
  histogram of the hidden weights (cached per setting);
* :func:`batch_size_explorer`: batch size and learning-rate scaling -> validation loss
  against epochs and against updates (cached per setting).
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..explorer import Explorer, register
from ..figures import PALETTE, ROLE_COLORS
from .digit_runs import BATCH_SIZES, LR_SCALINGS, batch_learning_rate, batch_run
from .figures import plot_weight_histograms
from .runs import (DEPTHS, MOONS_EPOCHS, REGULARIZER_KINDS, STRENGTHS, TRAIN_SIZES, WIDTHS,
                   hidden_kernel, train_moons, train_regularized)

NOTEBOOK = "05_generalization_and_regularization"


class CapacityExplorer(Explorer):
    """Train the moons network with a chosen width, depth and training-set size and show
    the first ``epochs`` epochs of its training and validation losses. ``seed`` draws the
    data and the weights (the notebook passes its first seed, so its runs are reused)."""

    retraining = True

    def __init__(self, width=128, depth=2, epochs=MOONS_EPOCHS, n_train=100, seed=0):
        self.seed = seed
        controls = {
            "width": widgets.SelectionSlider(options=list(WIDTHS), value=width,
                                             description="units per layer"),
            "depth": widgets.SelectionSlider(options=list(DEPTHS), value=depth,
                                             description="hidden layers"),
            "epochs": widgets.IntSlider(value=epochs, min=10, max=MOONS_EPOCHS, step=10,
                                        description="epochs shown"),
            "n_train": widgets.SelectionSlider(options=list(TRAIN_SIZES), value=n_train,
                                               description="training points"),
        }
        super().__init__(controls, figsize=(8.0, 3.6), title="Capacity and data")
        self.ax = self.figure.subplots()
        self.figure.subplots_adjust(left=0.09, right=0.98, bottom=0.15, top=0.9)

    def draw(self, width, depth, epochs, n_train):
        run = train_moons(0.0, hidden=width, seed=self.seed, depth=depth, n_train=n_train)
        shown = np.arange(1, int(epochs) + 1)
        train, val = self.record("train_loss", run.train_loss[:epochs]), \
            self.record("val_loss", run.val_loss[:epochs])
        ax = self.ax
        ax.clear()
        ax.plot(shown, train, color=ROLE_COLORS["train"], label="training loss")
        ax.plot(shown, val, color=ROLE_COLORS["val"], label="validation loss")
        best = int(np.argmin(val)) + 1
        ax.axvline(best, color=ROLE_COLORS["val"], ls=":", lw=1, label=f"best validation epoch ({best})")
        ax.set(xlim=(1, MOONS_EPOCHS), ylim=(0, 0.9), xlabel="epoch", ylabel="loss (cross-entropy)",
               title=f"{depth} hidden layer(s) of {width} units, {n_train} training points")
        ax.legend(loc="upper right", fontsize=8)
        self.set_status(f"after {epochs} epochs: training loss {train[-1]:.3f}, validation loss "
                        f"{val[-1]:.3f} (lowest {val.min():.3f} at epoch {best})")


@register(NOTEBOOK, CapacityExplorer)
def capacity_explorer(width=128, depth=2, epochs=MOONS_EPOCHS, n_train=100, seed=0):
    """Capacity and data size of the moons network (< 1 s per new setting, cached)."""
    return CapacityExplorer(width, depth, epochs, n_train, seed)


_KIND_LABELS = {"none": "none", "l2": "l2 penalty", "l1": "l1 penalty",
                "weight_decay": "weight decay (AdamW)", "max_norm": "max-norm"}


def strength_of(kind, step):
    """The strength of ``kind`` at ``step`` (1 = weakest, 4 = strongest; 0.0 for none)."""
    grid = STRENGTHS[kind]
    return grid[min(int(step), len(grid)) - 1]


class RegularizationExplorer(Explorer):
    """The overfitting network with one kind of regularization at one of four strengths:
    training and validation curves (grey: none) and the hidden weights' histogram."""

    retraining = True

    def __init__(self, kind="l2", step=2, seed=0):
        self.seed = seed
        controls = {
            "kind": widgets.Dropdown(options=[(_KIND_LABELS[k], k) for k in REGULARIZER_KINDS],
                                     value=kind, description="regularization"),
            "step": widgets.IntSlider(value=step, min=1, max=4, description="strength (1 weak, 4 strong)"),
        }
        super().__init__(controls, figsize=(11.0, 3.6), title="Regularization")
        self.ax_curves, self.ax_hist = self.figure.subplots(1, 2)
        self.figure.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.9, wspace=0.28)

    def draw(self, kind, step):
        strength = strength_of(kind, step)
        run, none = train_regularized(kind, strength, self.seed), train_regularized("none", 0.0, self.seed)
        name = "none" if kind == "none" else f"{_KIND_LABELS[kind]} {strength:g}"
        ax = self.ax_curves
        ax.clear()
        epochs = np.arange(1, run.epochs + 1)
        grey = ROLE_COLORS["baseline"]
        ax.plot(epochs, none.train_loss, color=grey, lw=1, label="none: training")
        ax.plot(epochs, none.val_loss, color=grey, lw=1, ls="--", label="none: validation")
        ax.plot(epochs, self.record("train_loss", run.train_loss), color=ROLE_COLORS["train"],
                label=f"{name}: training")
        ax.plot(epochs, self.record("val_loss", run.val_loss), color=ROLE_COLORS["val"],
                label=f"{name}: validation")
        ax.set(ylim=(0, 0.9), xlabel="epoch", ylabel="loss (cross-entropy, penalty included)",
               title="losses per epoch (grey: no regularization)")
        ax.legend(loc="upper right", fontsize=7, ncol=2)
        self.ax_hist.clear()
        counts = plot_weight_histograms(self.ax_hist, {"none": hidden_kernel(none), name: hidden_kernel(run)},
                                        {"none": grey, name: PALETTE["blue"]})
        self.record("histogram", counts[name])
        self.ax_hist.set_title("hidden weights after 120 epochs")
        self.ax_hist.legend(loc="upper right", fontsize=8)
        self.set_status(f"{name}: lowest validation loss {run.val_loss.min():.3f} at epoch "
                        f"{run.best_epoch} (none: {none.val_loss.min():.3f}); after 120 epochs "
                        f"{run.val_loss[-1]:.3f} (none: {none.val_loss[-1]:.3f})")


@register(NOTEBOOK, RegularizationExplorer)
def regularization_explorer(kind="l2", step=2, seed=0):
    """Kind and strength of regularization on the overfitting network (< 1 s, cached)."""
    return RegularizationExplorer(kind, step, seed)


class BatchSizeExplorer(Explorer):
    """The digits classifier trained with a chosen batch size for the same number of
    updates, the learning rate scaled linearly with the batch size or not; batch 32 in
    grey. Left: validation loss against epochs; right: against updates."""

    retraining = True

    def __init__(self, batch_size=128, scaling="linear", seed=0):
        self.seed = seed
        controls = {
            "batch_size": widgets.SelectionSlider(options=list(BATCH_SIZES), value=batch_size,
                                                  description="batch size"),
            "scaling": widgets.ToggleButtons(options=list(LR_SCALINGS), value=scaling,
                                             description="learning-rate scaling"),
        }
        super().__init__(controls, figsize=(11.0, 3.6), title="Batch size")
        self.ax_epochs, self.ax_updates = self.figure.subplots(1, 2, sharey=True)
        self.figure.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.9, wspace=0.08)

    def draw(self, batch_size, scaling):
        run, reference = batch_run(batch_size, scaling, self.seed), batch_run(32, "linear", self.seed)
        lr = batch_learning_rate(batch_size, scaling)
        self.record("val_loss", run["val_loss"])
        for ax, key in ((self.ax_epochs, None), (self.ax_updates, "updates")):
            ax.clear()
            for r, color, label in ((reference, ROLE_COLORS["baseline"], "batch 32, lr 0.02"),
                                    (run, PALETTE["blue"], f"batch {batch_size}, lr {lr:g}")):
                x = np.arange(1, len(r["val_loss"]) + 1) if key is None else r[key]
                ax.plot(x, r["val_loss"], color=color, label=label, marker="." if len(x) < 30 else None)
            ax.set_xscale("log")
        self.ax_epochs.set(xlabel="epoch (log scale)", ylabel="validation loss (cross-entropy)",
                           ylim=(0, 2.5), title="against epochs")
        self.ax_updates.set(xlabel="updates (log scale)", title="against updates")
        self.ax_epochs.legend(loc="upper right", fontsize=8)
        self.set_status(f"batch {batch_size}, lr {lr:g}: {run['updates'][0]} updates per epoch; "
                        f"after {run['updates'][-1]} updates ({len(run['val_loss'])} epochs) validation "
                        f"loss {run['val_loss'][-1]:.3f} (batch 32: {reference['val_loss'][-1]:.3f})")


@register(NOTEBOOK, BatchSizeExplorer)
def batch_size_explorer(batch_size=128, scaling="linear", seed=0):
    """Batch size and learning-rate scaling on the digits (< 1 s per new setting, cached)."""
    return BatchSizeExplorer(batch_size, scaling, seed)
