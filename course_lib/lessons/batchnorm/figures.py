"""Figures of the notebook on batch normalization: one helper per kind of picture, shared by
the static figures and the explorers.

:class:`LandscapePanel` (loss contours and a descent path), :class:`RidgePlot` (one
histogram per layer) and :func:`plot_covariate_shift` built on it with
:func:`plot_percentiles` (a distribution over training), :func:`plot_feature_scatter` and
:func:`plot_sigmoid_regime` (the equations), :class:`RunningStatisticsPanels` and
:func:`plot_momentum_comparison` (running vs true statistics and the accuracy they give),
:func:`plot_sweep` (best accuracy against a swept value, over seeds), :func:`plot_drift` and
values over seeds are drawn with :func:`course_lib.lessons.figures.plot_seed_strip`.
"""
from __future__ import annotations

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import LinearSegmentedColormap

from ... import activations
from ..figures import PALETTE, plot_band
from ..seeds import spread
from .runs import best_accuracies, diverged, sigmoid_linearity

#: Colours of the two settings compared throughout the notebook.
SETTING_COLORS = {"without batch norm": PALETTE["vermillion"], "with batch norm": PALETTE["blue"]}


def setting_name(batch_norm):
    """``"with batch norm"`` or ``"without batch norm"``."""
    return "with batch norm" if batch_norm else "without batch norm"


# =========================================================================== 1. input scaling

_CONTOUR_CMAP = LinearSegmentedColormap.from_list(
    "course_contours", ["#1b3a5c", "#56B4E9", "#f7f7f7"])


class LandscapePanel:
    """Loss landscape of a :class:`QuadraticProblem` as banded contours, with a descent path.

    The landscape is an image of ``log10(L - L*)`` quantised into bands of half a decade
    (filled contours at the cost of an ``imshow``); the path, start and minimum are lines.
    The view is fixed, equal in both directions, and holds the start (0, 0) and the minima
    of every problem of :func:`input_scaling_problem` (w1* near 1, w2* between 0 and 1), so
    an elongated bowl looks elongated, with a colour bar of the bands. A note gives the
    condition number (kappa) and the number of steps to converge. ``artists`` lists what
    ``update`` changes.
    """

    VIEW = (-0.6, 2.0, -0.8, 1.8)

    def __init__(self, ax, title, resolution=121):
        self.ax = ax
        x0, x1, y0, y1 = self.VIEW
        xs = np.linspace(x0, x1, int(resolution))
        ys = np.linspace(y0, y1, int(resolution))
        self.grid = np.stack(np.meshgrid(xs, ys), axis=-1)
        self.image = ax.imshow(np.zeros(self.grid.shape[:2]), origin="lower", extent=self.VIEW,
                               cmap=_CONTOUR_CMAP, vmin=-4, vmax=1, aspect="equal",
                               interpolation="nearest")
        (self.path_line,) = ax.plot([], [], "-o", color=PALETTE["orange"], ms=3, lw=1.4)
        (self.start_dot,) = ax.plot([0.0], [0.0], "s", color=PALETTE["black"], ms=6)
        (self.min_star,) = ax.plot([], [], "*", color="white", ms=13, mec=PALETTE["black"])
        self.note = ax.text(0.03, 0.04, "", transform=ax.transAxes, fontsize=8.5,
                            color=PALETTE["black"],
                            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
        ax.set_title(title, fontsize=10)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel("w1 (weight of feature 1)")
        ax.set_ylabel("w2 (weight of feature 2)")
        ax.grid(False)
        # The bands are fixed (vmin, vmax above), so one colour bar per panel stays right.
        self.colorbar = ax.figure.colorbar(self.image, ax=ax, fraction=0.046, pad=0.03,
                                           label="excess loss, log10(L - L*)")
        self.artists = (self.image, self.path_line, self.start_dot, self.min_star, self.note)

    def update(self, problem, rate_factor=1.0, max_path_points=60, max_steps=20000):
        """Draw ``problem``'s landscape and gradient descent from (0, 0) with
        ``lr = rate_factor / lambda_max``. Returns a dict: condition_number, steps (None if
        not converged), diverged, path (the points drawn), excess (L - L* per drawn step)."""
        level = np.log10(problem.excess_loss(self.grid) + 1e-12)
        self.image.set_data(np.floor(level * 2.0) / 2.0)
        steps = problem.steps_to_converge(rate_factor, max_steps=max_steps)
        shown = max(1, min(max_path_points, steps if steps is not None else max_path_points))
        path, excess = problem.descent(rate_factor, shown)
        x0, x1, y0, y1 = self.VIEW
        margin = 2.0 * (x1 - x0)
        inside = np.all(np.isfinite(path), axis=1) & np.all(
            np.abs(path - problem.w_star) < margin, axis=1)
        last = len(path) if inside.all() else int(np.argmin(inside))
        drawn = path[:last]
        self.path_line.set_data(drawn[:, 0], drawn[:, 1])
        self.min_star.set_data([problem.w_star[0]], [problem.w_star[1]])
        diverged = rate_factor > 2.0 + 1e-9       # at exactly 2 the steep direction oscillates
        if diverged:
            status = "diverges (lr > 2 / \u03bb_max)"
        elif steps is None:
            status = f"no convergence in {max_steps:,} steps"
        else:
            status = f"{steps:,} steps to converge"
        kappa = problem.condition_number
        self.note.set_text(f"\u03ba = {kappa:.3g}: {status}")
        return {"condition_number": kappa, "steps": steps, "diverged": diverged,
                "path": drawn, "excess": excess[:last]}


# =========================================================================== 2. distributions

class RidgePlot:
    """One histogram per layer, stacked vertically (layer 1 at the bottom).

    Each row is a filled step curve scaled to the row height; values outside ``value_range``
    are not drawn and their share is written at the row's right end. The axes always hold
    ``max_rows`` rows; rows beyond the number of arrays given stay empty. A row may also have
    an outline (``reference``), e.g. the distribution before training.
    """

    def __init__(self, ax, max_rows, value_range, bins=40, color=PALETTE["blue"],
                 reference_color=PALETTE["black"], row_height=0.85):
        self.ax = ax
        self.max_rows = int(max_rows)
        self.bins = int(bins)
        self.row_height = float(row_height)
        self.fills, self.outlines, self.texts = [], [], []
        for i in range(self.max_rows):
            fill = PolyCollection([np.zeros((3, 2))], facecolors=color, alpha=0.75, linewidths=0)
            ax.add_collection(fill)
            (outline,) = ax.plot([], [], color=reference_color, lw=1.0)
            text = ax.text(1.0, i + 0.1, "", transform=ax.get_yaxis_transform(), ha="right",
                           fontsize=7, color=PALETTE["black"])
            self.fills.append(fill)
            self.outlines.append(outline)
            self.texts.append(text)
        self.artists = tuple(self.fills + self.outlines + self.texts)
        self.set_range(value_range)
        ax.set_ylim(-0.1, self.max_rows + 0.1)
        ax.set_yticks(np.arange(self.max_rows) + 0.35, [str(i + 1) for i in range(self.max_rows)])
        ax.set_ylabel("layer")
        ax.grid(axis="y", alpha=0.0)

    def set_range(self, value_range):
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.edges = np.linspace(*self.value_range, self.bins + 1)
        self.ax.set_xlim(*self.value_range)

    def _heights(self, values):
        values = np.asarray(values, dtype=np.float64).ravel()
        finite = values[np.isfinite(values)]
        counts, _ = np.histogram(finite, bins=self.edges)
        outside = 1.0 - counts.sum() / max(values.size, 1)
        # Scale each row by its largest bin, ignoring the first bin when it holds a spike
        # (ReLU's exact zeros), so the shape of the rest stays visible.
        peak = max(counts.max(initial=0), 1)
        rest = counts[1:].max(initial=0)
        if rest > 0 and counts[0] > 3 * rest:
            peak = rest
        return np.minimum(counts / peak, 1.15) * self.row_height, outside

    def _step_curve(self, heights, base):
        """x and y of a histogram drawn as steps on the baseline ``base``."""
        return np.repeat(self.edges, 2)[1:-1], base + np.repeat(heights, 2)

    def update(self, arrays, reference=None):
        """Draw one histogram per array (row i = arrays[i]); returns the drawn heights."""
        n = min(len(arrays), self.max_rows)
        drawn = []
        for i in range(self.max_rows):
            fill, outline, text = self.fills[i], self.outlines[i], self.texts[i]
            visible = i < n
            fill.set_visible(visible)
            outline.set_visible(visible and reference is not None and i < len(reference))
            if not visible:
                text.set_text("")
                continue
            heights, outside = self._heights(arrays[i])
            xs, ys = self._step_curve(heights, i)
            fill.set_verts([np.concatenate([[[xs[0], i]], np.column_stack([xs, ys]),
                                            [[xs[-1], i]]])])
            drawn.append(heights)
            text.set_text(f"{100 * outside:.0f}% outside" if outside > 0.005 else "")
            if outline.get_visible():
                ref, _ = self._heights(reference[i])
                outline.set_data(*self._step_curve(ref, i))
        return drawn


def plot_percentiles(ax, steps, percentiles, *, color, label=None):
    """The 15th-85th percentile band and the median of a distribution over training steps.

    percentiles: (T, 3) array of the 15th, 50th and 85th percentiles at ``steps`` (T,).
    """
    percentiles = np.asarray(percentiles, dtype=float)
    ax.fill_between(steps, percentiles[:, 0], percentiles[:, 2], color=color, alpha=0.25, lw=0)
    ax.plot(steps, percentiles[:, 1], color=color, label=label)
    for column in (0, 2):
        ax.plot(steps, percentiles[:, column], color=color, lw=0.8, alpha=0.7)
    ax.set_xlabel("step")
    return ax


def plot_covariate_shift(axes, records, layer=-1, value_range=(-6.0, 6.0)):
    """The internal-covariate-shift figure: for each :class:`DistributionRecord` (one row of
    ``axes``, shape (rows, 2)), left the histogram of every layer's activation input before
    (outline) and after (filled) training; right the 15th-85th percentiles and the median of
    one layer's activation input over the training steps."""
    for (ax_hist, ax_pct), record in zip(axes, records):
        name = setting_name(record.batch_norm)
        color = SETTING_COLORS[name]
        ridge = RidgePlot(ax_hist, len(record.last), value_range, color=color)
        ridge.update(record.last, reference=record.first)
        ax_hist.set_xlabel("activation input (pre-activation value)")
        ax_hist.set_title(f"{name}: each layer before (outline) and after training", fontsize=10)
        n = len(record.last)
        index = layer % n
        plot_percentiles(ax_pct, record.steps, record.percentiles[:, index, :], color=color)
        ax_pct.set_ylabel(f"layer {index + 1} activation input")
        ax_pct.set_title(f"{name}: 15th, 50th, 85th percentiles", fontsize=10)
    return axes


# =========================================================================== 3. the equations

def plot_feature_scatter(ax, before, after, features=(0, 1)):
    """Two features of a batch before and after normalisation, as two point clouds.

    before, after: (batch, features) arrays; ``features`` picks the two columns drawn.
    """
    i, j = features
    ax.scatter(before[:, i], before[:, j], s=14, color=PALETTE["vermillion"], alpha=0.7,
               label="z (Dense output)")
    ax.scatter(after[:, i], after[:, j], s=14, color=PALETTE["blue"], alpha=0.7,
               label="z_norm (normalised)")
    ax.axhline(0.0, color=PALETTE["grey"], lw=0.8)
    ax.axvline(0.0, color=PALETTE["grey"], lw=0.8)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(f"feature {i + 1}")
    ax.set_ylabel(f"feature {j + 1}")
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_sigmoid_regime(ax, settings):
    """The sigmoid with the input distributions N(beta, gamma^2) of ``settings`` (a list of
    (gamma, beta) pairs) shaded under it, each labelled with how linear the sigmoid is there."""
    z = np.linspace(-8.0, 8.0, 400)
    ax.plot(z, activations.sigmoid(z), color=PALETTE["black"], label="sigmoid(z)")
    ax.plot(z, 0.5 + z / 4.0, ":", color=PALETTE["grey"], label="its tangent at 0")
    colors = (PALETTE["blue"], PALETTE["orange"], PALETTE["green"])
    for (gamma, beta), color in zip(settings, colors):
        density = np.exp(-0.5 * ((z - beta) / gamma) ** 2)
        r2 = sigmoid_linearity(beta, gamma)
        ax.fill_between(z, 0.0, 0.45 * density, color=color, alpha=0.3,
                        label=f"gamma={gamma:g}, beta={beta:g}: R^2 of a line {r2:.3f}")
    ax.set_ylim(-0.05, 1.6)
    ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
    ax.set_xlim(z[0], z[-1])
    ax.set_xlabel("input of the sigmoid, gamma * z_norm + beta")
    ax.set_ylabel("sigmoid output (density shaded)")
    ax.legend(loc="upper left", fontsize=7.5, ncol=2)
    return ax


# =========================================================================== 4. test time

def plot_momentum_comparison(ax_error, ax_acc, runs, momenta):
    """For several momenta, over the recorded runs of several seeds: the error of the running
    means (left, log scale) and the test accuracy with the running statistics (right),
    against the training step, as the median over seeds with its quartile band; the
    accuracy given by the true statistics (median, dashed) for reference."""
    colors = (PALETTE["green"], PALETTE["blue"], PALETTE["orange"], PALETTE["purple"])
    steps = runs[0].snapshot_steps
    for momentum, color in zip(momenta, colors):
        label = f"momentum {momentum:g}"
        plot_band(ax_error, steps, spread([run.running_error(momentum) for run in runs]),
                  color=color, label=label)
        plot_band(ax_acc, steps, spread([run.accuracy_running(momentum) for run in runs]),
                  color=color, label=label)
    true = spread([run.accuracy_population() for run in runs])
    ax_acc.plot(steps, true.median, "--", color=PALETTE["black"], lw=1.4, label="true statistics")
    ax_error.set_yscale("log")
    ax_error.set_xlabel("training step")
    ax_error.set_ylabel("error of running means (in true std)")
    ax_acc.set_xlabel("training step")
    ax_acc.set_ylabel("test accuracy")
    ax_acc.set_ylim(0.0, 1.0)
    ax_error.legend(fontsize=8)
    ax_acc.legend(loc="lower right", fontsize=8)
    return ax_error, ax_acc


class RunningStatisticsPanels:
    """Running vs true statistics and the test accuracy they give, over training steps.

    Three axes: ``ax_unit`` (one unit's batch means, its running mean and its true mean),
    ``ax_error`` (mean normalised error of the running means, log scale) and ``ax_acc``
    (test accuracy with running, true and batch statistics). The x range is the whole run;
    ``update`` draws everything up to ``steps``. ``artists`` lists what ``update`` changes.
    """

    def __init__(self, ax_unit, ax_error, ax_acc, run, layer=0, unit=None):
        self.run = run
        self.layer = int(layer)
        means = run.population_means[self.layer]
        # The unit whose true mean moves most during training shows the lag best.
        self.unit = int(np.argmax(np.ptp(means, axis=0))) if unit is None else int(unit)
        self.axes = (ax_unit, ax_error, ax_acc)
        batch = run.batch_means[self.layer][:, self.unit]
        steps = np.arange(1, run.steps + 1)
        (self.batch_dots,) = ax_unit.plot([], [], ".", ms=2.5, color=PALETTE["grey"],
                                          label="batch mean (each step)")
        (self.running_line,) = ax_unit.plot([], [], color=PALETTE["blue"], label="running mean")
        (self.true_line,) = ax_unit.plot([], [], "--", color=PALETTE["black"], lw=1.4,
                                         label="true mean (whole training set)")
        low, high = min(batch.min(), 0.0), max(batch.max(), 0.0)
        pad = 0.08 * (high - low + 1e-9)
        ax_unit.set_ylim(low - pad, high + pad)
        ax_unit.set_ylabel(f"mean, unit {self.unit} of BN layer {self.layer + 1}")
        ax_unit.legend(loc="lower right", fontsize=7.5)
        (self.error_line,) = ax_error.plot([], [], color=PALETTE["blue"])
        ax_error.set_yscale("log")
        ax_error.set_ylim(3e-3, 3.0)
        ax_error.set_ylabel("error of running means\n(in true std, all units)")
        ax_error.set_xlabel("step")
        (self.acc_running,) = ax_acc.plot([], [], color=PALETTE["blue"],
                                          label="running statistics")
        (self.acc_true,) = ax_acc.plot([], [], "--", color=PALETTE["black"], lw=1.4,
                                       label="true statistics")
        (self.acc_batch,) = ax_acc.plot([], [], color=PALETTE["vermillion"],
                                        label="statistics of each test batch")
        ax_acc.set_ylim(0.0, 1.0)
        ax_acc.set_xlabel("step")
        ax_acc.set_ylabel("test accuracy")
        ax_acc.legend(loc="lower right", fontsize=7.5)
        self.cursors = [ax.axvline(0.0, color=PALETTE["grey"], lw=0.8, ls=":") for ax in self.axes]
        self.acc_text = ax_acc.text(0.97, 0.3, "", transform=ax_acc.transAxes, va="bottom",
                                    ha="right", fontsize=8.5,
                                    bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
        self.unit_title = ax_unit.text(0.0, 1.03, "", transform=ax_unit.transAxes, fontsize=9.5)
        for ax in self.axes:
            ax.set_xlim(0, run.steps)
        ax_unit.tick_params(labelbottom=False)
        self._steps = steps
        self.artists = (self.batch_dots, self.running_line, self.true_line, self.error_line,
                        self.acc_running, self.acc_true, self.acc_batch, *self.cursors,
                        self.acc_text, self.unit_title)

    def update(self, momentum, steps, batch_size):
        """Draw the run up to ``steps`` for ``momentum`` and test batches of ``batch_size``.
        Returns a dict of the arrays drawn and the three accuracies at ``steps``."""
        run = self.run
        steps = int(np.clip(steps, 1, run.steps))
        shown = run.snapshot_steps <= steps
        snap_steps = run.snapshot_steps[shown]
        running_mean = run.running(momentum)[self.layer][0][:steps, self.unit]
        batch = run.batch_means[self.layer][:steps, self.unit]
        true = run.population_means[self.layer][shown, self.unit]
        self.batch_dots.set_data(self._steps[:steps], batch)
        self.running_line.set_data(self._steps[:steps], running_mean)
        self.true_line.set_data(snap_steps, true)
        error = run.running_error(momentum)[shown]
        self.error_line.set_data(snap_steps, np.clip(error, 3e-3, 3.0))
        acc_running = run.accuracy_running(momentum)[shown]
        acc_true = run.accuracy_population()[shown]
        acc_batch = run.accuracy_batch(batch_size)[shown]
        self.acc_running.set_data(snap_steps, acc_running)
        self.acc_true.set_data(snap_steps, acc_true)
        self.acc_batch.set_data(snap_steps, acc_batch)
        for cursor in self.cursors:
            cursor.set_xdata([steps, steps])
        at = {"running": float(acc_running[-1]) if len(acc_running) else float("nan"),
              "true": float(acc_true[-1]) if len(acc_true) else float("nan"),
              "batch": float(acc_batch[-1]) if len(acc_batch) else float("nan")}
        if len(snap_steps):
            self.acc_text.set_text(f"after {snap_steps[-1]} steps:\n"
                                   f"running {at['running']:.3f}, true {at['true']:.3f}\n"
                                   f"test batches of {batch_size}: {at['batch']:.3f}")
        else:
            self.acc_text.set_text(f"no weights saved before step {run.snapshot_steps[0]}")
        self.unit_title.set_text(f"momentum {momentum:g}: the running mean lags by about "
                                 f"{1 / max(1 - momentum, 1e-9):.0f} steps"
                                 if momentum > 0 else "momentum 0: the running mean is the last "
                                 "batch's mean")
        return {"batch means": batch, "running mean": running_mean, "true mean": true,
                "running error": error, "accuracy running": acc_running,
                "accuracy true": acc_true, "accuracy batch": acc_batch, "at": at}


# =========================================================================== 5. effects

def _jitter(n, width=0.06):
    """Offsets in (-width, width) spreading ``n`` points of a strip plot side by side."""
    return np.linspace(-width, width, n) if n > 1 else np.zeros(1)


def plot_sweep(ax, values, sweeps, *, xlabel, ylabel="best validation accuracy (10 epochs)",
               threshold=None):
    """Best validation accuracy against a swept value (log x) over several seeds, one colour
    per setting: the median (line), the quartiles (error bars) and every seed (small dots,
    side by side); a seed that diverged is a cross at chance level (0.1).

    sweeps: dict setting name -> a sweep of :func:`.runs.learning_rate_sweep` or
    :func:`.runs.init_scale_sweep` (a list per seed of runs aligned with ``values``).
    ``threshold``, if given, is drawn as a dashed line: the accuracy that counts as trained.
    Returns the dict name -> :class:`Spread` of the accuracies.
    """
    values = np.asarray(values, dtype=float)
    shifts = {name: offset for name, offset in zip(sweeps, _jitter(len(sweeps), 0.04))}
    spreads = {}
    for name, sweep in sweeps.items():
        color = SETTING_COLORS[name]
        accuracy = best_accuracies(sweep)
        gone = diverged(sweep)
        summary = spreads[name] = spread(accuracy)
        x = values * 10 ** shifts[name]
        ax.errorbar(x, summary.median, yerr=[summary.median - summary.low,
                                             summary.high - summary.median],
                    fmt="-o", ms=4, color=color, capsize=3, label=f"{name} (median, quartiles)")
        for i, offset in enumerate(_jitter(len(accuracy))):
            xs = x * 10 ** offset
            ax.plot(xs[~gone[i]], accuracy[i][~gone[i]], ".", ms=3, color=color, alpha=0.45)
            ax.plot(xs[gone[i]], accuracy[i][gone[i]], "x", ms=6, mew=1.5, color=color)
    ax.axhline(0.1, color=PALETTE["grey"], lw=0.8, ls=":")
    if threshold is not None:
        ax.axhline(threshold, color=PALETTE["grey"], lw=0.8, ls="--")
        ax.text(0.99, threshold - 0.01, f"trained: {threshold:.0%}", ha="right", va="top",
                transform=ax.get_yaxis_transform(), fontsize=7.5, color=PALETTE["grey"])
    ax.set_xscale("log")
    ax.set_ylim(0.0, 1.18)
    ax.set_yticks(np.linspace(0.0, 1.0, 6))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper center", fontsize=8, ncol=2)
    return spreads


def plot_drift(ax, drifts):
    """Drift of each layer's input during training (:meth:`.runs.DistributionRecord.drift`)
    against the layer, over seeds: median and quartile band per setting.

    drifts: dict setting name -> array (seeds, layers)."""
    for name, values in drifts.items():
        values = np.asarray(values, dtype=float)
        plot_band(ax, np.arange(1, values.shape[1] + 1), spread(values), color=SETTING_COLORS[name],
                  label=name)
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("drift of the layer's input (0 = none)")
    ax.legend(loc="upper left", fontsize=8)
    return ax
