"""Figures of the notebook's section on layer normalization.

:func:`plot_normalization_axes` (one batch as a heatmap, raw and normalized each way, with
the column batch norm averages over and the row layer norm averages over outlined) and
:func:`plot_small_batch_comparison` (best validation accuracy and loss against the batch
size, median and quartiles over seeds, each seed a dot).
"""
from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from ..figures import PALETTE, plot_band
from ..seeds import spread

#: Colours of the two layers compared (batch norm keeps its colour of the rest of the notebook).
NORMALIZATION_COLORS = {"batch norm": PALETTE["blue"], "layer norm": PALETTE["green"]}


def _heatmap(ax, values, title, limit):
    image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto",
                      interpolation="nearest")
    n_examples, n_features = values.shape
    ax.set_xticks(range(n_features), [str(j + 1) for j in range(n_features)])
    ax.set_yticks(range(n_examples), [str(i + 1) for i in range(n_examples)])
    ax.set_xlabel("feature (unit)")
    ax.set_ylabel("example in the batch")
    ax.set_title(title, fontsize=10)
    ax.grid(False)
    return image


def _outline(ax, x, y, width, height, color):
    ax.add_patch(Rectangle((x - 0.5, y - 0.5), width, height, fill=False, lw=2.5,
                           edgecolor=color, zorder=3))


def plot_normalization_axes(axes, batch, row=0, column=0):
    """Three heatmaps of one batch (rows: examples, columns: features): the raw ``z`` and its
    two normalizations (a dict from :func:`.layernorm_runs.normalized_batch`), each with its
    colour bar. Batch norm's panel outlines ``column`` (one feature over the batch: what
    its mean and variance are taken over), layer norm's outlines ``row`` (one example over
    its features)."""
    ax_raw, ax_bn, ax_ln = axes
    z = batch["z"]
    n_examples, n_features = z.shape
    raw_limit = float(np.abs(z).max())
    normalized_limit = float(max(np.abs(batch["batch_norm"]).max(), np.abs(batch["layer_norm"]).max()))
    panels = [(ax_raw, z, "z = Dense output (raw)", raw_limit, "z"),
              (ax_bn, batch["batch_norm"], "batch norm: each feature (column)\nover the batch: mean 0, variance 1",
               normalized_limit, "normalized value"),
              (ax_ln, batch["layer_norm"], "layer norm: each example (row)\nover its features: mean 0, variance 1",
               normalized_limit, "normalized value")]
    for ax, values, title, limit, label in panels:
        image = _heatmap(ax, values, title, limit)
        ax.figure.colorbar(image, ax=ax, label=label, fraction=0.08, pad=0.03)
    _outline(ax_bn, column, 0, 1, n_examples, NORMALIZATION_COLORS["batch norm"])
    _outline(ax_ln, 0, row, n_features, 1, NORMALIZATION_COLORS["layer norm"])


def plot_small_batch_comparison(ax_acc, ax_loss, results, batch_sizes):
    """Best validation accuracy (``ax_acc``) and loss (``ax_loss``) against the batch size
    (log scale): for each layer the median with its quartile band and every seed as a dot.

    results: the dict of :func:`.layernorm_runs.small_batch_comparison`. Returns the dict
    name -> :class:`Spread` of the accuracies.
    """
    sizes = np.asarray(batch_sizes, dtype=float)
    spreads = {}
    for k, (name, values) in enumerate(results.items()):
        color = NORMALIZATION_COLORS[name]
        shift = 1.0 + 0.04 * (k - 0.5)                 # the two layers' dots side by side
        for ax, key in ((ax_acc, "accuracy"), (ax_loss, "loss")):
            summary = spread(values[key])
            if key == "accuracy":
                spreads[name] = summary
            plot_band(ax, sizes * shift, summary, color=color, label=f"{name} (median, quartiles)")
            ax.plot(np.broadcast_to(sizes * shift, values[key].shape).ravel(), values[key].ravel(),
                    "o", ms=3, color=color, alpha=0.5)
    for ax, ylabel in ((ax_acc, "best validation accuracy (3 epochs)"),
                       (ax_loss, "best validation loss (cross-entropy)")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(int(b)) for b in sizes])
        ax.minorticks_off()
        ax.set_xlabel("batch size (examples per step, log scale)")
        ax.set_ylabel(ylabel)
    ax_acc.legend(loc="lower right", fontsize=8)
    return spreads
