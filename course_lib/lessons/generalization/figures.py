"""Figures of notebook 05: curves over seeds, sweeps, weight histograms, batch sizes."""
from __future__ import annotations

import numpy as np

from ..figures import PALETTE, ROLE_COLORS, plot_band
from ..seeds import spread


def plot_curve_band(ax, curves, *, color, label=None, linestyle="-", x=None):
    """Median and quartile band over seeds of per-epoch ``curves`` (seeds, epochs) against
    the epoch (1-based), or against ``x``; returns the
    :class:`~course_lib.lessons.seeds.Spread`."""
    curves = spread(np.asarray(curves, dtype=float))
    x = np.arange(1, curves.median.shape[0] + 1) if x is None else np.asarray(x)
    plot_band(ax, x, curves, color=color, label=label, linestyle=linestyle)
    return curves


def plot_final_losses(ax, sizes, runs, *, xlabel):
    """Final training loss and final validation loss against a model size (log-2 axis):
    median over seeds, error bars from the lowest to the highest seed, the gap shaded.
    ``runs[i]`` holds the runs (one per seed) of ``sizes[i]``. Returns ``(train, val)``,
    each a Spread over seeds of shape (seeds, sizes)."""
    train = spread([[run.train_loss[-1] for run in column] for column in zip(*runs)])
    val = spread([[run.val_loss[-1] for run in column] for column in zip(*runs)])
    sizes = np.asarray(sizes, dtype=float)
    for s, color, name, shift in [(train, ROLE_COLORS["train"], "training loss", 0.97),
                                  (val, ROLE_COLORS["val"], "validation loss", 1.03)]:
        ax.errorbar(sizes * shift, s.median, yerr=[s.median - s.minimum, s.maximum - s.median],
                    fmt="o-", color=color, capsize=3, label=f"{name} (median, range)")
    ax.fill_between(sizes, train.median, val.median, color=PALETTE["grey"], alpha=0.15,
                    label="generalization gap (medians)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(int(w)) for w in sizes])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"loss after {runs[0][0].epochs} epochs (cross-entropy)")
    ax.set_ylim(0, None)
    ax.legend(loc="lower left", fontsize=8)
    return train, val


def plot_sweep(ax, strengths, values, *, color, label, baseline=None, log_x=True):
    """One value per (strength, seed) (``values`` of shape (strengths, seeds)) against the
    strength: the median with error bars from the lowest to the highest seed; ``baseline``
    (values over seeds without regularization) as a grey band. Returns the medians."""
    s = spread(np.asarray(values, dtype=float).T)
    strengths = np.asarray(strengths, dtype=float)
    if baseline is not None:
        b = spread(baseline)
        ax.axhspan(float(b.minimum), float(b.maximum), color=ROLE_COLORS["baseline"], alpha=0.15,
                   label="no regularization (range of seeds)")
        ax.axhline(float(b.median), color=ROLE_COLORS["baseline"], lw=1)
    ax.errorbar(strengths, s.median, yerr=[s.median - s.minimum, s.maximum - s.median],
                fmt="o-", color=color, capsize=3, label=label)
    if log_x:
        ax.set_xscale("log")
    return s.median


def plot_weight_histograms(ax, kernels, colors, bins=np.linspace(-0.6, 0.6, 61)):
    """Histograms (step lines) of weight arrays, ``kernels`` a dict name -> array; the
    y axis counts weights per bin on a log scale so the tails and the spike at 0 both show.
    Returns the counts (name -> array)."""
    counts = {}
    for name, kernel in kernels.items():
        clipped = np.clip(np.ravel(kernel), bins[0], bins[-1])
        counts[name], _ = np.histogram(clipped, bins=bins)
        ax.stairs(counts[name] + 1, bins, color=colors[name], label=name, lw=1.5)
    ax.set_yscale("log")
    ax.set_xlabel("weight value (hidden 128 x 128 kernel; ends hold the clipped tails)")
    ax.set_ylabel("number of weights + 1 (log scale)")
    return counts
