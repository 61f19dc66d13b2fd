"""Figures of the notebook on dropout: one drawing helper per kind of figure.

The static figures of the notebook and its explorers draw with the same helpers, so a
picture in the text and the one an explorer redraws cannot disagree:

* :class:`DropoutCurves`: one run's losses and generalization gap against the epoch;
  :func:`plot_curve_band`: a curve's median and quartiles over seeded runs;
* :func:`moons_regions` (the decision regions of :class:`DecisionRegions` over the moons),
  :func:`plot_complexity` (losses against the network's width, over seeds),
  :func:`course_lib.lessons.figures.plot_seed_strip` draws one value per seed and setting;
* :class:`MaskPanels`: one example's activations before and after a dropout mask, and the
  whole batch;
* :func:`plot_layer_statistics`: activation mean and variance through SELU networks;
* :class:`MCBand`: the Monte Carlo dropout band on the 1-D regression;
* :func:`plot_refusal_curve`, :func:`plot_digit_gallery`: the digits section.

The helpers that an explorer redraws create their artists once and move them in
``update``, which returns the arrays it drew.
"""
from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.patches import Patch, Polygon

from ... import data
from ..figures import PALETTE, ROLE_COLORS, plot_band
from ..seeds import spread
from ..generalization.figures import plot_curve_band  # noqa: F401 (the notebook imports it from here)
from ..softmax.figures import DecisionRegions
from .runs import MC_DATA_RANGE, MC_GRID, MOONS_EXTENT, regression_data

#: The colour of each kind of dropout in the alpha-dropout figure.
KIND_COLORS = {"no dropout": ROLE_COLORS["baseline"], "Dropout": PALETTE["vermillion"],
               "AlphaDropout": PALETTE["blue"]}


# ------------------------------------------------------------------ loss curves and gap

class DropoutCurves:
    """Left: losses against the epoch; right: the generalization gap.

    ``update(run, baseline=None)`` draws ``run`` in colour (training loss re-measured with
    dropout off, solid blue; validation loss, vermillion; the training loss ``fit`` logged
    with dropout on, dotted blue, only when the run has dropout) and ``baseline`` (usually
    the run without dropout) in grey. The best validation epoch of ``run`` is marked.
    Artists are created once; an update only moves them. Returns the arrays drawn.

    With ``limits=(epochs, loss_top, gap_top)`` the axes and the legends are fixed once and
    for all (an explorer can then keep them in a cached background); without, every update
    fits the axes to the curves and relabels the legend.
    """

    def __init__(self, ax_loss, ax_gap=None, *, run_label="dropout", baseline_label="no dropout",
                 limits=None):
        self.ax_loss, self.ax_gap = ax_loss, ax_gap
        self.run_label, self.baseline_label = run_label, baseline_label
        self.limits = limits
        grey = ROLE_COLORS["baseline"]
        self.base_train, = ax_loss.plot([], [], color=grey, lw=1.3,
                                        label=f"{baseline_label}: training")
        self.base_val, = ax_loss.plot([], [], color=grey, lw=1.3, ls="--",
                                      label=f"{baseline_label}: validation")
        self.train, = ax_loss.plot([], [], color=ROLE_COLORS["train"],
                                   label=f"{run_label}: training (dropout off)")
        self.logged, = ax_loss.plot([], [], color=ROLE_COLORS["train"], ls=":", lw=1.4,
                                    label=f"{run_label}: training as fit logs it (dropout on)")
        self.val, = ax_loss.plot([], [], color=ROLE_COLORS["val"],
                                 label=f"{run_label}: validation")
        self.best_line = ax_loss.axvline(1, color=ROLE_COLORS["val"], ls=":", lw=1.0)
        self.best_point, = ax_loss.plot([], [], "o", color=ROLE_COLORS["val"], ms=5,
                                        label="best validation epoch")
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("loss (cross-entropy)")
        if ax_gap is not None:
            self.base_gap, = ax_gap.plot([], [], color=grey, lw=1.3, label=baseline_label)
            self.gap, = ax_gap.plot([], [], color=PALETTE["black"], label=run_label)
            ax_gap.axhline(0.0, color=grey, lw=0.8)
            ax_gap.set_xlabel("epoch")
            ax_gap.set_ylabel("validation loss - training loss")
        if limits is not None:
            epochs, loss_top, gap_top = limits
            for ax in (ax_loss, ax_gap):
                if ax is not None:
                    ax.set_xlim(0, epochs + 1)
            ax_loss.set_ylim(0.0, loss_top)
            ax_loss.legend(loc="upper right", fontsize=7, ncol=2, columnspacing=0.8,
                           handlelength=1.5)
            if ax_gap is not None:
                ax_gap.set_ylim(-0.02, gap_top)
                ax_gap.legend(loc="upper left", fontsize=8)

    def artists(self):
        """The artists an update changes (the legends and axes stay when ``limits`` is set)."""
        lines = [self.base_train, self.base_val, self.train, self.logged, self.val,
                 self.best_line, self.best_point]
        if self.ax_gap is not None:
            lines += [self.base_gap, self.gap]
        return lines

    def update(self, run, baseline=None):
        drawn = {}
        epochs = np.arange(1, run.epochs + 1)
        self.train.set_data(epochs, run.train_loss)
        self.val.set_data(epochs, run.val_loss)
        drawn.update(train_loss=run.train_loss, val_loss=run.val_loss)
        if run.rate > 0:
            self.logged.set_data(epochs, run.logged_loss)
            drawn["logged_loss"] = run.logged_loss
        else:
            self.logged.set_data([], [])
        best = run.best_epoch
        self.best_line.set_xdata([best, best])
        self.best_point.set_data([best], [run.val_loss[best - 1]])
        curves = [run.train_loss, run.val_loss, run.logged_loss if run.rate > 0 else run.val_loss]
        if baseline is not None:
            b_epochs = np.arange(1, baseline.epochs + 1)
            self.base_train.set_data(b_epochs, baseline.train_loss)
            self.base_val.set_data(b_epochs, baseline.val_loss)
            drawn.update(baseline_train_loss=baseline.train_loss,
                         baseline_val_loss=baseline.val_loss)
            curves += [baseline.train_loss, baseline.val_loss]
        else:
            for line in (self.base_train, self.base_val):
                line.set_data([], [])
        if self.ax_gap is not None:
            self.gap.set_data(epochs, run.gap)
            drawn["gap"] = run.gap
            gaps = [run.gap]
            if baseline is not None:
                self.base_gap.set_data(np.arange(1, baseline.epochs + 1), baseline.gap)
                drawn["baseline_gap"] = baseline.gap
                gaps.append(baseline.gap)
            else:
                self.base_gap.set_data([], [])
        if self.limits is None:
            self._fit_axes(run, baseline, curves, gaps if self.ax_gap is not None else None)
        return drawn

    def _fit_axes(self, run, baseline, curves, gaps):
        """Axis limits from the curves, and legends listing only what is drawn."""
        self.best_point.set_label(f"best validation epoch: {run.best_epoch}")
        self.logged.set_label(self.logged.get_label().lstrip("_") if run.rate > 0
                              else "_" + self.logged.get_label().lstrip("_"))
        for line in (self.base_train, self.base_val) + ((self.base_gap,) if gaps else ()):
            label = line.get_label().lstrip("_")
            line.set_label(label if baseline is not None else "_" + label)
        top = max(float(np.max(c)) for c in curves)
        self.ax_loss.set_xlim(0, max(run.epochs, baseline.epochs if baseline else 0) + 1)
        self.ax_loss.set_ylim(0.0, min(1.5 * top, 4.0))
        self.ax_loss.legend(loc="upper right", fontsize=7.5, ncol=2)
        if gaps:
            low = min(0.0, min(float(np.min(g)) for g in gaps))
            high = max(float(np.max(g)) for g in gaps)
            self.ax_gap.set_xlim(self.ax_loss.get_xlim())
            self.ax_gap.set_ylim(low - 0.02, min(1.1 * high + 0.02, 3.0))
            self.ax_gap.legend(loc="upper left", fontsize=8)


def moons_regions(ax, title=None):
    """A :class:`DecisionRegions` over :data:`MOONS_EXTENT`, with the axes labelled."""
    regions = DecisionRegions(ax, extent=MOONS_EXTENT, resolution=100)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if title:
        ax.set_title(title)
    return regions


# ------------------------------------------------------------------ masks

#: The y range of the mask figure is (1.35 * max activation) times one of these factors, the
#: smallest at least 1 / (1 - rate): three layouts cover every rate up to 0.9.
MASK_SCALE_LEVELS = (2.0, 4.0, 10.0)


def mask_scale_level(rate):
    """The y-range factor of :data:`MASK_SCALE_LEVELS` used for ``rate``."""
    scale = 1.0 / (1.0 - rate)
    return next(level for level in MASK_SCALE_LEVELS if scale <= level + 1e-9)


class MaskPanels:
    """Left: one example's activations before dropout (grey) and after (blue; dropped units
    marked with a red x), with the average over 2000 masks (black dots). Right: the whole
    batch's kept units coloured by their activation, dropped units in light grey.

    ``update(out, mask, average, rate)`` moves the artists and returns the arrays drawn;
    :meth:`set_level` sets the y range (see :data:`MASK_SCALE_LEVELS`).
    """

    def __init__(self, ax_bars, ax_batch, h):
        self.ax_bars, self.ax_batch, self.h = ax_bars, ax_batch, h
        n, units = h.shape
        positions = np.arange(units)
        self.before = ax_bars.bar(positions, h[0], width=0.8, color=PALETTE["grey"], alpha=0.35,
                                  label="before dropout")
        self.after = ax_bars.bar(positions, h[0], width=0.45, color=ROLE_COLORS["train"],
                                 label="after dropout (training)")
        self.dropped, = ax_bars.plot([], [], "x", color=PALETTE["vermillion"], ms=7, mew=2,
                                     label="dropped")
        self.average, = ax_bars.plot([], [], ".", color=PALETTE["black"], ms=6,
                                     label="mean over 2000 masks")
        self.note = ax_bars.text(0.01, 0.8, "", transform=ax_bars.transAxes, fontsize=9)
        ax_bars.set_xticks(positions[::5])
        ax_bars.set_xlabel("unit of the hidden layer")
        ax_bars.set_ylabel("activation (sigmoid)")
        ax_bars.set_title("one example: the layer's 20 units")
        ax_bars.legend(loc="upper center", ncol=4, fontsize=8, handlelength=1.2,
                       columnspacing=1.0)
        self.image = ax_batch.imshow(np.ma.masked_array(h, mask=np.zeros_like(h, dtype=bool)),
                                     cmap=_masked_cmap(), aspect="auto",
                                     interpolation="nearest", vmin=0.0,
                                     vmax=float(np.max(h)))
        ax_batch.set_xticks(positions[::5])
        ax_batch.set_yticks(np.arange(0, n, 2))
        ax_batch.set_xlabel("unit")
        ax_batch.set_ylabel("example")
        ax_batch.set_title("the batch: kept units (grey: dropped)")
        ax_batch.grid(False)
        ax_batch.figure.colorbar(self.image, ax=ax_batch, label="activation of a kept unit")
        self.units = units
        self.set_level(MASK_SCALE_LEVELS[0])

    def artists(self):
        """The artists an update changes."""
        return [*self.after, self.dropped, self.average, self.note, self.image]

    def set_level(self, level):
        self.ax_bars.set_ylim(0.0, 1.35 * float(np.max(self.h[0])) * level)

    def update(self, out, mask, average, rate):
        h = self.h
        dropped = mask[0] == 0
        for bar, value in zip(self.after, out[0]):
            bar.set_height(value)
        positions = np.arange(self.units)
        self.dropped.set_data(positions[dropped], np.zeros(int(dropped.sum())))
        self.average.set_data(positions, average)
        self.set_level(mask_scale_level(rate))
        self.note.set_text(f"kept units x {1 / (1 - rate):.2f}")
        # The colour shows each kept unit's activation before the 1 / (1 - rate) scaling (the
        # bars show the scaling), so one colour scale serves every rate.
        self.image.set_data(np.ma.masked_array(h, mask=mask == 0))
        return {"before": h[0], "after": out[0], "average": average, "batch_after": out,
                "mask": mask}


def _masked_cmap():
    """Viridis, with masked (dropped) cells in light grey."""
    return mpl.colormaps["viridis"].with_extremes(bad="#DDDDDD")


# ------------------------------------------------------------------ alpha dropout

def plot_layer_statistics(ax_mean, ax_var, stats):
    """Activation mean and variance against the layer: for each entry of ``stats``
    (name -> (means, variances), each (seeds, depth): one network per seed) the median over
    the networks and its quartile band; the self-normalizing targets 0 and 1 dotted.
    Returns name -> (Spread of the means, Spread of the variances)."""
    spreads = {}
    for name, (means, variances) in stats.items():
        means, variances = spread(np.atleast_2d(means)), spread(np.atleast_2d(variances))
        layers = np.arange(1, means.median.shape[0] + 1)
        color = KIND_COLORS.get(name, PALETTE["black"])
        plot_band(ax_mean, layers, means, color=color, label=name)
        plot_band(ax_var, layers, variances, color=color, label=name)
        spreads[name] = means, variances
    ax_mean.axhline(0.0, color=PALETTE["black"], ls=":", lw=1)
    ax_var.axhline(1.0, color=PALETTE["black"], ls=":", lw=1)
    ax_mean.set_xlabel("layer")
    ax_var.set_xlabel("layer")
    ax_mean.set_ylabel("mean of the activations")
    ax_var.set_ylabel("variance of the activations")
    ax_var.legend(loc="best")
    return spreads


# ------------------------------------------------------------------ Monte Carlo dropout

class MCBand:
    """The MC dropout prediction on the 1-D regression: top, the data, the true curve, a
    few single passes, the mean of the passes and a band of +-2 standard deviations; bottom,
    the standard deviation against x. The data range is shaded; ``seed`` picks the training
    data drawn (that of the network's seed).

    ``update(passes)`` redraws from ``passes`` (n_samples, len(grid)) and returns the arrays
    drawn; :meth:`artists` are the artists it changes.
    """

    def __init__(self, ax, ax_std, grid=MC_GRID, data_range=MC_DATA_RANGE, n_show=3, seed=0):
        self.ax, self.ax_std, self.grid = ax, ax_std, np.asarray(grid)
        x, y = regression_data(seed)
        for a in (ax, ax_std):
            a.axvspan(*data_range, color=PALETTE["sky_blue"], alpha=0.12, lw=0)
        ax.plot(self.grid, data.true_function(self.grid), "--", color=PALETTE["black"], lw=1.2,
                label="true function")
        ax.plot(x[:, 0], y[:, 0], ".", color=PALETTE["orange"], ms=6, label="training data")
        self.singles = [ax.plot([], [], color=PALETTE["grey"], lw=0.8, alpha=0.8,
                                label="single passes" if i == 0 else "_hidden")[0]
                        for i in range(n_show)]
        self.mean, = ax.plot([], [], color=ROLE_COLORS["train"], lw=2, label="MC mean")
        self.band = Polygon(np.zeros((2, 2)), closed=True, color=ROLE_COLORS["train"],
                            alpha=0.2, lw=0)
        ax.add_patch(self.band)
        self.std, = ax_std.plot([], [], color=PALETTE["purple"])
        ax.set_xlim(self.grid[0], self.grid[-1])
        ax.set_ylim(-4.0, 4.0)
        ax.set_ylabel("prediction y")
        ax_std.set_xlim(self.grid[0], self.grid[-1])
        ax_std.set_xlabel("input x (data only in the shaded range)")
        ax_std.set_ylabel("std of the passes")
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Patch(color=ROLE_COLORS["train"], alpha=0.2, lw=0))
        labels.append("mean ± 2 std")
        ax.legend(handles, labels, loc="lower center", fontsize=8, ncol=3)

    def artists(self):
        return [*self.singles, self.band, self.mean, self.std]

    def set_std_limit(self, top):
        self.ax_std.set_ylim(0.0, max(0.05, float(top)))

    def update(self, passes, std_top=None):
        passes = np.asarray(passes, dtype=np.float64)
        mean, std = passes.mean(axis=0), passes.std(axis=0)
        for i, line in enumerate(self.singles):
            if i < len(passes):
                line.set_data(self.grid, passes[i])
            else:
                line.set_data([], [])
        self.mean.set_data(self.grid, mean)
        lower = np.column_stack([self.grid, mean - 2 * std])
        upper = np.column_stack([self.grid[::-1], (mean + 2 * std)[::-1]])
        self.band.set_xy(np.concatenate([lower, upper]))
        self.std.set_data(self.grid, std)
        self.set_std_limit(1.15 * float(std.max()) if std_top is None else std_top)
        return {"mean": mean, "std": std, "singles": passes[:len(self.singles)]}


# ------------------------------------------------------------------ MC dropout on digits

def plot_refusal_curve(ax, coverages, accuracies):
    """Accuracy of the kept predictions against the fraction kept; ``accuracies`` maps a
    label to an array (seeds, coverages): the median over seeds and its quartile band.
    Returns label -> Spread (in fractions, not percent)."""
    colors = [ROLE_COLORS["train"], ROLE_COLORS["baseline"], PALETTE["green"]]
    spreads = {}
    for (name, values), color in zip(accuracies.items(), colors):
        spreads[name] = spread(np.atleast_2d(values))
        percent = spread(100 * np.atleast_2d(values))
        plot_band(ax, 100 * np.asarray(coverages), percent, color=color, label=name)
    ax.invert_xaxis()
    ax.set_xlabel("test digits kept (%), the most uncertain refused")
    ax.set_ylabel("accuracy on the kept digits (%)")
    ax.legend(loc="lower right")
    return spreads


def plot_digit_gallery(axes, images, titles):
    """8x8 digit images (n, 64) or (n, 8, 8) on the given axes, with titles."""
    for ax, image, title in zip(np.ravel(axes), images, titles):
        ax.imshow(np.asarray(image).reshape(8, 8), cmap="gray_r", vmin=0.0, vmax=1.0)
        ax.set_title(title, fontsize=7.5)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
