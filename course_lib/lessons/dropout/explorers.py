"""Explorers, figures and experiments of the notebook on overfitting and dropout.

Experiments (each a small function the notebook calls and shows, so the code read is the
code run):

* :func:`fit_moons` trains the overfitting network (two hidden layers of 128 ReLU units on
  100 noisy "moons" points) with an optional dropout rate, regularizer or constraint, and
  records the training loss re-measured with dropout off after every epoch
  (:class:`TrainingSetLoss`). :func:`train_moons` is its cached version.
* :func:`selu_statistics` sends standard-normal inputs through a deep self-normalizing
  (SELU, LeCun-normal) network in training mode, with no dropout, plain ``Dropout`` or
  ``AlphaDropout``, and returns each layer's activation mean and variance.
* :func:`mc_dropout_passes` is Monte Carlo dropout: many stochastic forward passes with only
  the dropout layers in training mode. :func:`train_mc_regression` fits the 1-D regression
  network of the MC dropout section; :func:`refusal_curve` measures the accuracy that is left
  when the most uncertain predictions are refused.

Figures (one helper per kind, shared by the static figures and the explorers):
:class:`DropoutCurves` (losses and generalization gap against the epoch),
:func:`plot_complexity`, :class:`MaskPanels`, :func:`plot_layer_statistics`,
:class:`MCBand`, :func:`plot_refusal_curve`, :func:`plot_digit_gallery`; decision regions
reuse :class:`course_lib.widgets.softmax.DecisionRegions`.

Explorers: :func:`dropout_explorer` (retrains, < 1 s, cached per rate), :func:`mask_explorer`
(formula only, < 100 ms) and :func:`mc_dropout_explorer` (trains once per rate, then
redraws from cached passes).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import Patch, Polygon

from ... import data
from ..._validation import check_array, check_choice, check_fraction, check_number, check_positive
from ...callbacks import Callback
from ...layers import AlphaDropout, Dense, Dropout
from ..._threads import single_blas_thread
from ...model import Sequential
from ...optimizers import Adam
from ..figures import PALETTE, ROLE_COLORS
from ..explorer import BlitExplorer, register
from ..softmax.explorers import DecisionRegions

NOTEBOOK = "06_dropout"

_STYLE = {"description_width": "initial"}

# ------------------------------------------------------------------ the overfitting problem

#: Training points, validation points and noise of the two-moons problem.
MOONS_TRAIN, MOONS_VAL, MOONS_NOISE = 100, 300, 0.3
#: Region of the plane drawn in decision-region figures (x1 min, x1 max, x2 min, x2 max).
MOONS_EXTENT = (-2.0, 3.0, -1.7, 2.2)
HIDDEN_UNITS = 128
MOONS_EPOCHS = 120
MOONS_LEARNING_RATE = 3e-3
BATCH_SIZE = 32
#: Rates offered by the dropout explorer (each trained once, then cached).
DROPOUT_RATES = tuple(round(0.1 * k, 1) for k in range(9))
#: Hidden-layer widths of the model-complexity sweep.
WIDTHS = (2, 8, 32, 128)


def _read_only(*arrays):
    for a in arrays:
        a.setflags(write=False)
    return arrays


@functools.lru_cache(maxsize=None)
def moons_data():
    """The overfitting problem: ``(x_train, y_train, x_val, y_val)``.

    100 training and 300 validation points of two noisy interleaving half circles
    (noise 0.3, so the classes overlap and no boundary is perfect). x float64 (n, 2),
    y int64 (n,). The arrays are read-only (they are shared by every caller).
    """
    x_train, y_train = data.make_moons(MOONS_TRAIN, noise=MOONS_NOISE, seed=0)
    x_val, y_val = data.make_moons(MOONS_VAL, noise=MOONS_NOISE, seed=1)
    return _read_only(x_train, y_train, x_val, y_val)


def moons_network(rate=0.0, hidden=HIDDEN_UNITS, seed=0, kernel_regularizer=None,
                  kernel_constraint=None):
    """Two hidden ReLU layers of ``hidden`` units, each followed by ``Dropout(rate)`` when
    ``rate > 0``, and a 2-class softmax output. Regularizer and constraint apply to the
    hidden kernels. Returns an uncompiled :class:`Sequential` (seeded)."""
    rate = check_fraction("rate", rate)
    hidden = check_positive("hidden", hidden, integer=True)
    layers = []
    for _ in range(2):
        layers.append(Dense(hidden, activation="relu", kernel_regularizer=kernel_regularizer,
                            kernel_constraint=kernel_constraint))
        if rate > 0:
            layers.append(Dropout(rate))
    layers.append(Dense(2, activation="softmax"))
    return Sequential(layers, seed=seed)


class TrainingSetLoss(Callback):
    """Re-measures the loss on a data set with dropout off (``model.evaluate``) after every
    epoch, into ``losses`` (one float per epoch).

    ``fit`` logs the training loss as Keras does: the mean of the batch losses, measured in
    training mode (dropout on) while the weights were still changing. That number cannot be
    compared with the validation loss; this one can.
    """

    def __init__(self, x, y):
        self.x, self.y = x, y
        self.losses = []

    def on_train_begin(self, logs=None):
        self.losses = []

    def on_epoch_end(self, epoch, logs=None):
        self.losses.append(self.model.evaluate(self.x, self.y)["loss"])


@dataclass
class MoonsRun:
    """One training run on the moons: its history and the model it left.

    ``logged_loss`` is the training loss ``fit`` logged (dropout on), ``train_loss`` the one
    re-measured with dropout off, ``val_loss`` the validation loss; all per epoch.
    """

    rate: float
    hidden: int
    model: Sequential
    logged_loss: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    _probs: dict = field(default_factory=dict, repr=False)

    @property
    def epochs(self):
        return len(self.val_loss)

    @property
    def gap(self):
        """Generalization gap per epoch: validation loss minus training loss (dropout off)."""
        return self.val_loss - self.train_loss

    @property
    def best_epoch(self):
        """1-based epoch of the lowest validation loss."""
        return int(np.argmin(self.val_loss)) + 1

    def probabilities(self, points):
        """Class probabilities of the final model at ``points`` (m, 2) -> (m, 2), cached."""
        key = (points.shape, hash(np.ascontiguousarray(points).tobytes()))
        if key not in self._probs:
            with single_blas_thread():
                self._probs[key] = self.model.predict(points).astype(np.float64)
        return self._probs[key]


def fit_moons(rate=0.0, hidden=HIDDEN_UNITS, seed=0, epochs=MOONS_EPOCHS,
              kernel_regularizer=None, kernel_constraint=None, callbacks=(), verbose=0):
    """Train :func:`moons_network` with Adam(3e-3), batch 32, and return a :class:`MoonsRun`.

    Extra ``callbacks`` (e.g. ``EarlyStopping``) run after the training-set re-measurement.
    """
    x_train, y_train, x_val, y_val = moons_data()
    model = moons_network(rate, hidden, seed, kernel_regularizer, kernel_constraint)
    model.compile(Adam(MOONS_LEARNING_RATE), "sparse_categorical_crossentropy", ["accuracy"])
    remeasure = TrainingSetLoss(x_train, y_train)
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=BATCH_SIZE,
                        validation_data=(x_val, y_val), callbacks=[remeasure, *callbacks],
                        verbose=verbose)
    h = history.history
    return MoonsRun(rate=float(rate), hidden=int(hidden), model=model,
                    logged_loss=np.array(h["loss"]), train_loss=np.array(remeasure.losses),
                    val_loss=np.array(h["val_loss"]))


@functools.lru_cache(maxsize=None)
def _train_moons_cached(rate, hidden, seed):
    return fit_moons(rate, hidden, seed)


def train_moons(rate=0.0, hidden=HIDDEN_UNITS, seed=0):
    """:func:`fit_moons` with the default epochs, cached per (rate, hidden, seed).

    The rate is rounded to 2 decimals, so slider values such as 0.30000000000000004 share
    the run of 0.3.
    """
    rate = round(float(check_fraction("rate", rate)), 2)
    return _train_moons_cached(rate, int(check_positive("hidden", hidden, integer=True)),
                               int(seed))


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


def plot_complexity(ax, widths, runs):
    """Final training loss (dropout off) and final validation loss against the number of
    hidden units per layer (log scale). Returns ``(train, val)`` arrays."""
    train = np.array([run.train_loss[-1] for run in runs])
    val = np.array([run.val_loss[-1] for run in runs])
    ax.plot(widths, train, "o-", color=ROLE_COLORS["train"], label="training loss")
    ax.plot(widths, val, "o-", color=ROLE_COLORS["val"], label="validation loss")
    ax.fill_between(widths, train, val, color=PALETTE["grey"], alpha=0.15,
                    label="generalization gap")
    ax.set_xscale("log", base=2)
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.set_xlabel("hidden units per layer (log scale)")
    ax.set_ylabel(f"loss after {runs[0].epochs} epochs (cross-entropy)")
    ax.legend(loc="upper center")
    return train, val


# ------------------------------------------------------------------ the dropout explorer

class DropoutExplorer(BlitExplorer):
    """Retrain the moons network with a chosen dropout rate; the run without dropout is
    drawn in grey. Panels: losses, gap, decision regions of the final model. The axes are
    fixed, so a redraw only draws the curves and the regions over a cached background."""

    retraining = True

    def __init__(self, rate=0.5):
        controls = {
            "rate": widgets.SelectionSlider(options=[(f"{r:.1f}", r) for r in DROPOUT_RATES],
                                            value=_nearest(rate, DROPOUT_RATES),
                                            description="dropout rate", style=_STYLE,
                                            continuous_update=False),
        }
        super().__init__(controls, figsize=(12.0, 3.6),
                         title="Dropout on the overfitting network")
        axes = self.figure.subplots(1, 3, gridspec_kw={"width_ratios": [1.25, 1.0, 0.9]})
        self.curves = DropoutCurves(axes[0], axes[1], run_label="rate",
                                    limits=(MOONS_EPOCHS, 1.2, 0.5))
        self.regions = moons_regions(axes[2])
        axes[0].set_title("losses (grey: no dropout)")
        axes[1].set_title("generalization gap")
        axes[2].set_title("decision regions, chosen rate")
        self.note = axes[1].text(0.98, 0.04, "", transform=axes[1].transAxes, ha="right",
                                 fontsize=9)
        self.axes = axes
        self.figure.subplots_adjust(left=0.06, right=0.98, bottom=0.15, top=0.9, wspace=0.3)
        self.animate(*self.curves.artists(), *self.regions.moving_artists(), self.note)

    def draw(self, rate):
        baseline = train_moons(0.0)
        run = train_moons(rate)
        for name, values in self.curves.update(run, baseline if rate > 0 else None).items():
            self.record(name, values)
        x_train, y_train, _, _ = moons_data()
        probs = run.probabilities(self.regions.grid)
        self.record("region_probabilities", probs)
        self.regions.update(probs, x_train, y_train, 2)
        final_gap, base_gap = run.gap[-1], baseline.gap[-1]
        self.note.set_text(f"rate {rate:.1f}: final gap {final_gap:.3f} "
                           f"(no dropout {base_gap:.3f})")
        self.set_status(f"rate {rate:.1f}: best validation epoch {run.best_epoch}; after "
                        f"{run.epochs} epochs training loss {run.train_loss[-1]:.3f}, "
                        f"validation loss {run.val_loss[-1]:.3f}, gap {final_gap:.3f} "
                        f"(without dropout: {baseline.train_loss[-1]:.3f}, "
                        f"{baseline.val_loss[-1]:.3f}, {base_gap:.3f})")


def _nearest(value, options):
    return min(options, key=lambda o: abs(o - value))


@register(NOTEBOOK, DropoutExplorer)
def dropout_explorer(rate=0.5):
    """Retrain the overfitting network with a dropout rate (< 1 s per new rate, cached)."""
    return DropoutExplorer(rate)


# ------------------------------------------------------------------ masks

@functools.lru_cache(maxsize=None)
def layer_activations(n_examples=8, units=20, seed=0):
    """A hidden layer's activations on real inputs: ``Dense(units, sigmoid)`` applied to the
    first ``n_examples`` standardized test digits. Sigmoid units are all positive, so every
    unit shows a bar. float64 (n_examples, units), read-only."""
    split = data.digits_splits()
    layer = Dense(units, activation="sigmoid", seed=seed)
    h = layer.forward(split.x_test[:n_examples].astype(np.float64))
    return _read_only(h)[0]


def dropout_forward(h, rate, seed):
    """The library's ``Dropout(rate, seed)`` in training mode: ``(output, mask)``, where the
    mask holds 0 for dropped units and ``1 / (1 - rate)`` for kept ones (all ones at rate 0)."""
    layer = Dropout(rate, seed=seed)
    out = layer.forward(h, training=True)
    mask = np.ones_like(h) if layer.mask is None else layer.mask
    return out, mask


def average_over_masks(h_row, rate, n_masks=2000, seed=0):
    """Mean of ``Dropout(rate)`` applied to one activation vector over ``n_masks`` masks:
    the Monte Carlo estimate of the expected output, (units,)."""
    batch = np.repeat(np.asarray(h_row, dtype=np.float64)[None, :], n_masks, axis=0)
    out, _ = dropout_forward(batch, rate, seed + 10_000)
    return out.mean(axis=0)


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
    batch after dropout, dropped units in light grey.

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
                                     interpolation="nearest", vmin=0.0, vmax=1.0)
        ax_batch.set_xticks(positions[::5])
        ax_batch.set_yticks(np.arange(0, n, 2))
        ax_batch.set_xlabel("unit")
        ax_batch.set_ylabel("example")
        ax_batch.set_title("the batch after dropout (grey: dropped)")
        ax_batch.grid(False)
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
        self.image.set_data(np.ma.masked_array(out, mask=mask == 0))
        self.image.set_clim(0.0, max(float(np.max(out)), 1e-3))
        return {"before": h[0], "after": out[0], "average": average, "batch_after": out,
                "mask": mask}


def _masked_cmap():
    import matplotlib as mpl
    return mpl.colormaps["viridis"].with_extremes(bad="#DDDDDD")


class MaskExplorer(BlitExplorer):
    """Inverted dropout on a real layer's activations, for a chosen rate and mask seed."""

    def __init__(self, rate=0.3, seed=0):
        controls = {
            "rate": widgets.FloatSlider(value=rate, min=0.0, max=0.9, step=0.05,
                                        readout_format=".2f", description="dropout rate",
                                        style=_STYLE),
            "seed": widgets.IntSlider(value=seed, min=0, max=50, description="mask seed",
                                      style=_STYLE),
        }
        super().__init__(controls, figsize=(10.0, 3.2), title="Dropout masks")
        ax_bars, ax_batch = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.7, 1.0]})
        self.h = layer_activations()
        self.panels = MaskPanels(ax_bars, ax_batch, self.h)
        self.figure.subplots_adjust(left=0.06, right=0.99, bottom=0.15, top=0.9, wspace=0.15)
        self.animate(*self.panels.artists())
        self.prerender(MASK_SCALE_LEVELS, self.panels.set_level)

    def draw(self, rate, seed):
        rate = float(rate)
        out, mask = dropout_forward(self.h, rate, int(seed))
        average = average_over_masks(self.h[0], rate, seed=int(seed))
        for name, values in self.panels.update(out, mask, average, rate).items():
            self.record(name, values)
        self.layout = mask_scale_level(rate)
        dropped = int(np.sum(mask[0] == 0))
        self.set_status(
            f"rate {rate:.2f}: {dropped} of {self.h.shape[1]} units of the example dropped, "
            f"the kept ones multiplied by 1/(1 - {rate:.2f}) = {1 / (1 - rate):.2f}; mean "
            f"activation {self.h[0].mean():.3f} before dropout, {out[0].mean():.3f} after this "
            f"mask, {average.mean():.3f} averaged over 2000 masks; "
            f"{np.mean(mask == 0):.0%} of the batch dropped")


@register(NOTEBOOK, MaskExplorer)
def mask_explorer(rate=0.3, seed=0):
    """Dropout masks and the inverted-dropout scaling on a hidden layer (< 100 ms)."""
    return MaskExplorer(rate, seed)


# ------------------------------------------------------------------ alpha dropout

DROPOUT_KINDS = ("no dropout", "Dropout", "AlphaDropout")
KIND_COLORS = {"no dropout": ROLE_COLORS["baseline"], "Dropout": PALETTE["vermillion"],
               "AlphaDropout": PALETTE["blue"]}


def selu_statistics(kind="AlphaDropout", depth=30, width=100, rate=0.2, n_samples=300, seed=0):
    """Mean and variance of every layer's activations in a deep self-normalizing network.

    Standard-normal inputs (n_samples, width) pass through ``depth`` blocks of
    [dropout layer in training mode, ``Dense(width, selu, lecun_normal)``], where the dropout
    layer is nothing, ``Dropout(rate)`` or ``AlphaDropout(rate)`` (``kind``). Weights and
    masks are seeded, so every kind sees the same weights.

    Returns ``(means, variances)``, each (depth,): statistics over all examples and units of
    the SELU outputs of each block.
    """
    kind = check_choice("kind", kind, DROPOUT_KINDS)
    depth = check_positive("depth", depth, integer=True)
    width = check_positive("width", width, integer=True)
    rate = check_fraction("rate", rate)
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((n_samples, width))
    means, variances = np.empty(depth), np.empty(depth)
    with single_blas_thread():
        for i in range(depth):
            if kind == "Dropout":
                h = Dropout(rate, seed=seed + 1000 + i).forward(h, training=True)
            elif kind == "AlphaDropout":
                h = AlphaDropout(rate, seed=seed + 1000 + i).forward(h, training=True)
            h = Dense(width, activation="selu", kernel_initializer="lecun_normal",
                      seed=seed + i).forward(h)
            means[i], variances[i] = h.mean(), h.var()
    return means, variances


def plot_layer_statistics(ax_mean, ax_var, stats):
    """Activation mean and variance against the layer, one line per entry of
    ``stats`` (name -> (means, variances)); the self-normalizing targets 0 and 1 dotted."""
    for name, (means, variances) in stats.items():
        layers = np.arange(1, len(means) + 1)
        color = KIND_COLORS.get(name, PALETTE["black"])
        ax_mean.plot(layers, means, color=color, label=name)
        ax_var.plot(layers, variances, color=color, label=name)
    ax_mean.axhline(0.0, color=PALETTE["black"], ls=":", lw=1)
    ax_var.axhline(1.0, color=PALETTE["black"], ls=":", lw=1)
    ax_mean.set_xlabel("layer")
    ax_var.set_xlabel("layer")
    ax_mean.set_ylabel("mean of the activations")
    ax_var.set_ylabel("variance of the activations")
    ax_var.legend(loc="best")


# ------------------------------------------------------------------ Monte Carlo dropout

def mc_dropout_passes(model, x, n_samples=100):
    """Monte Carlo dropout: ``n_samples`` stochastic forward passes of a trained model.

    Only the dropout layers (``Dropout``, ``AlphaDropout``) run in training mode, so each
    pass draws new masks; every other layer (``BatchNormalization`` in particular) stays in
    inference mode, as Keras's ``MCDropout`` layer does. For a model without such layers
    this equals ``model.predict(x, training=True)`` called ``n_samples`` times.

    Args:
        model: a built :class:`Sequential`.
        x: inputs, shape (n, features).
        n_samples: number of passes (>= 1).

    Returns:
        array (n_samples, n, outputs); ``.mean(axis=0)`` is the MC prediction and
        ``.std(axis=0)`` its uncertainty.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a course_lib Sequential; got {type(model).__name__}.")
    if not model.built:
        raise ValueError("model must be built (trained) before Monte Carlo dropout.")
    n_samples = check_positive("n_samples", n_samples, integer=True)
    x = check_array("x", x, ndim=2).astype(model.dtype, copy=False)
    if x.shape[1] != model.input_dim:
        raise ValueError(f"x must have {model.input_dim} features; got shape {x.shape}.")
    passes = []
    with single_blas_thread():
        for _ in range(n_samples):
            out = x
            for layer in model.layers:
                out = layer.forward(out, training=isinstance(layer, (Dropout, AlphaDropout)))
            passes.append(out)
    return np.stack(passes)


#: Dropout rates of the MC dropout explorer (one trained network each).
MC_RATES = (0.05, 0.1, 0.2, 0.3, 0.5)
MC_MAX_SAMPLES = 200
MC_EPOCHS = 150
#: Where the MC regression is evaluated: the data cover [-3, 3] only.
MC_GRID = np.linspace(-6.0, 6.0, 241)
MC_DATA_RANGE = (-3.0, 3.0)


@functools.lru_cache(maxsize=None)
def regression_data():
    """60 noisy samples of :func:`course_lib.data.true_function` on [-3, 3] (noise 0.1):
    ``(x (60, 1), y (60, 1))``, float64, read-only."""
    x, y = data.make_regression_1d(60, noise=0.1, x_range=MC_DATA_RANGE, seed=0)
    return _read_only(x, y)


def regression_network(rate=0.1, seed=0):
    """1 -> 64 ELU -> Dropout -> 64 ELU -> Dropout -> 1 (linear output), seeded."""
    rate = check_fraction("rate", rate)
    return Sequential([Dense(64, activation="elu"), Dropout(rate),
                       Dense(64, activation="elu"), Dropout(rate), Dense(1)], seed=seed)


def fit_mc_regression(rate=0.1, seed=0, epochs=MC_EPOCHS):
    """Train :func:`regression_network` on :func:`regression_data` (Adam 0.01, MSE,
    batch 32) and return the model."""
    x, y = regression_data()
    model = regression_network(rate, seed)
    model.compile(Adam(0.01), "mse")
    model.fit(x, y, epochs=epochs, batch_size=BATCH_SIZE, verbose=0)
    return model


@functools.lru_cache(maxsize=None)
def train_mc_regression(rate=0.1, seed=0):
    """:func:`fit_mc_regression`, cached per (rate, seed)."""
    return fit_mc_regression(rate, seed)


@functools.lru_cache(maxsize=None)
def mc_grid_passes(rate=0.1, seed=0):
    """:data:`MC_MAX_SAMPLES` MC dropout passes of the cached regression network on
    :data:`MC_GRID`: float64 (200, 241), read-only."""
    model = train_mc_regression(rate, seed)
    # One pass over 200 stacked copies of the grid draws an independent mask for every row,
    # which is exactly 200 separate passes, in one matrix product per layer instead of 200.
    stacked = np.tile(MC_GRID[:, None], (MC_MAX_SAMPLES, 1))
    passes = mc_dropout_passes(model, stacked, 1)[0, :, 0].reshape(MC_MAX_SAMPLES, len(MC_GRID))
    return _read_only(passes.astype(np.float64))[0]


def near_and_far(grid=MC_GRID, data_range=MC_DATA_RANGE, far=5.0):
    """Boolean masks over ``grid``: inside the data range, and farther than ``far`` from 0."""
    low, high = data_range
    return (grid >= low) & (grid <= high), np.abs(grid) >= far


class MCBand:
    """The MC dropout prediction on the 1-D regression: top, the data, the true curve, a
    few single passes, the mean of the passes and a band of +-2 standard deviations; bottom,
    the standard deviation against x. The data range is shaded.

    ``update(passes)`` redraws from ``passes`` (n_samples, len(grid)) and returns the arrays
    drawn; :meth:`artists` are the artists it changes.
    """

    def __init__(self, ax, ax_std, grid=MC_GRID, data_range=MC_DATA_RANGE, n_show=3):
        self.ax, self.ax_std, self.grid = ax, ax_std, np.asarray(grid)
        x, y = regression_data()
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


class MCDropoutExplorer(BlitExplorer):
    """Monte Carlo dropout on the 1-D regression: number of passes and dropout rate."""

    retraining = True

    def __init__(self, rate=0.1, n_samples=100):
        controls = {
            "rate": widgets.SelectionSlider(options=[(f"{r:g}", r) for r in MC_RATES],
                                            value=_nearest(rate, MC_RATES),
                                            description="dropout rate", style=_STYLE,
                                            continuous_update=False),
            "n_samples": widgets.IntSlider(value=n_samples, min=1, max=MC_MAX_SAMPLES,
                                           description="passes averaged", style=_STYLE,
                                           continuous_update=False),
        }
        super().__init__(controls, figsize=(9.0, 5.0),
                         title="Monte Carlo dropout")
        ax, ax_std = self.figure.subplots(2, 1, sharex=True,
                                          gridspec_kw={"height_ratios": [2.2, 1.0]})
        self.band = MCBand(ax, ax_std)
        self.figure.subplots_adjust(left=0.09, right=0.98, bottom=0.1, top=0.93, hspace=0.08)
        self.animate(*self.band.artists())

    def draw(self, rate, n_samples):
        all_passes = mc_grid_passes(rate)
        passes = all_passes[:int(n_samples)]
        # The std axis is fixed per rate (the layout), so changing the number of passes only
        # redraws the curves.
        std_top = 1.4 * float(all_passes.std(axis=0).max())
        for name, values in self.band.update(passes, std_top=std_top).items():
            self.record(name, values)
        self.band.ax.set_title(f"Monte Carlo dropout, rate {rate:g}")
        self.layout = rate
        std = passes.std(axis=0)
        near, far = near_and_far()
        self.set_status(f"rate {rate:g}, {int(n_samples)} passes: mean std {std[near].mean():.3f} "
                        f"where the data are, {std[far].mean():.3f} far from them (|x| >= 5)")


@register(NOTEBOOK, MCDropoutExplorer)
def mc_dropout_explorer(rate=0.1, n_samples=100):
    """MC dropout band on the 1-D regression (a new rate trains once, < 1 s; a new number
    of passes redraws from cached passes, < 100 ms)."""
    return MCDropoutExplorer(rate, n_samples)


# ------------------------------------------------------------------ MC dropout on digits

def digits_network(rate=0.2, seed=0):
    """The digits classifier of the source material's Keras example: Dropout(rate) before
    each Dense layer (Dense 256 and 128 ELU with He initialization, softmax output). No
    dropout layers when ``rate == 0``."""
    rate = check_fraction("rate", rate)
    layers = []
    for units in (256, 128):
        if rate > 0:
            layers.append(Dropout(rate))
        layers.append(Dense(units, activation="elu", kernel_initializer="he_normal"))
    if rate > 0:
        layers.append(Dropout(rate))
    layers.append(Dense(10, activation="softmax"))
    return Sequential(layers, seed=seed)


def refusal_curve(probs, uncertainty, y_true, coverages):
    """Accuracy on the predictions that are kept when the most uncertain ones are refused.

    For each coverage c in (0, 1], keep the ceil(c * n) examples with the lowest
    ``uncertainty`` (ties keep the earlier example) and measure the accuracy of
    ``argmax(probs)`` on them.

    Args:
        probs: predicted class probabilities, (n, classes).
        uncertainty: one number per example, (n,); larger means less sure.
        y_true: integer labels, (n,).
        coverages: fractions of examples kept, each in (0, 1].

    Returns:
        float array, one accuracy per coverage.
    """
    probs = check_array("probs", probs, ndim=2)
    uncertainty = check_array("uncertainty", uncertainty, ndim=1)
    y_true = np.asarray(y_true)
    if not len(probs) == len(uncertainty) == len(y_true):
        raise ValueError(f"probs, uncertainty and y_true must have the same length; got "
                         f"{len(probs)}, {len(uncertainty)} and {len(y_true)}.")
    correct = np.argmax(probs, axis=1) == y_true
    order = np.argsort(uncertainty, kind="stable")
    accuracies = []
    for c in np.atleast_1d(coverages):
        c = check_number("coverage", c, low=0.0, high=1.0, low_inclusive=False)
        keep = max(1, int(np.ceil(c * len(order) - 1e-9)))
        accuracies.append(float(np.mean(correct[order[:keep]])))
    return np.array(accuracies)


def plot_refusal_curve(ax, coverages, accuracies):
    """Accuracy of the kept predictions against the fraction kept; ``accuracies`` maps a
    label to an array (one value per coverage)."""
    colors = [ROLE_COLORS["train"], ROLE_COLORS["baseline"], PALETTE["green"]]
    for (name, values), color in zip(accuracies.items(), colors):
        ax.plot(100 * np.asarray(coverages), 100 * np.asarray(values), color=color, label=name)
    ax.invert_xaxis()
    ax.set_xlabel("test digits kept (%), the most uncertain refused")
    ax.set_ylabel("accuracy on the kept digits (%)")
    ax.legend(loc="lower left")


def plot_digit_gallery(axes, images, titles):
    """8x8 digit images (n, 64) or (n, 8, 8) on the given axes, with titles."""
    for ax, image, title in zip(np.ravel(axes), images, titles):
        ax.imshow(np.asarray(image).reshape(8, 8), cmap="gray_r", vmin=0.0, vmax=1.0)
        ax.set_title(title, fontsize=7.5)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
