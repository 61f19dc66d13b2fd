"""Experiments, figures and explorers of the notebook on batch normalization.

Experiments (each returns plain arrays; the expensive ones are cached, so a notebook cell and
an explorer that ask for the same run share it):

* :func:`input_scaling_problem` -- a two-parameter least-squares problem whose second
  feature is ``scale`` times larger than the first, raw or standardised, with gradient
  descent on it in closed form (:class:`QuadraticProblem`);
* :func:`deep_network` -- a stack of ``Dense -> [BatchNormalization] -> Activation`` blocks on
  the digits, its weights drawn with a chosen scale; :func:`layer_activations` reads what
  enters and leaves each activation;
* :func:`record_distributions` -- trains a deep network and records the distribution of each
  layer's activation input during training (internal covariate shift);
* :func:`grouped_forward` -- inference where every batch is normalised with its own
  statistics (what goes wrong at test time with small or one-class batches);
* :func:`record_running_statistics` -- one training run that keeps every step's batch
  statistics and regular weight snapshots, from which the running averages of any momentum
  and the test accuracy they give are computed afterwards (:class:`RunningStatisticsRun`);
* :func:`train_digits` -- a short digits training with or without batch norm, for sweeps
  over learning rates and weight scales.

Figures (one helper per kind, shared by the static figures and the explorers):
:class:`LandscapePanel` (loss contours and a descent path), :class:`RidgePlot` (one
histogram per layer) and :func:`plot_covariate_shift` built on it with
:func:`plot_percentiles` (a distribution over training), :func:`plot_feature_scatter` and
:func:`plot_sigmoid_regime` (the equations), :class:`RunningStatisticsPanels` and
:func:`plot_momentum_comparison` (running vs true statistics and the accuracy they give),
:func:`plot_sweep` (final accuracy against a swept value).

Explorers: :func:`input_scaling_explorer`, :func:`distribution_explorer` and
:func:`running_average_explorer` (formulas or cached runs, < 100 ms), and
:func:`training_explorer` (retrains, < 1 s, cached). The first three redraw only what
changes over a cached background (:class:`BlitExplorer`).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.lines import Line2D

from ... import activations
from ..._threads import single_blas_thread
from ..._validation import check_choice, check_number, check_positive
from ...callbacks import Callback
from ...data import digits_splits
from ...layers import Activation, BatchNormalization, Dense, Dropout
from ...model import Sequential
from ...optimizers import SGD
from ..figures import PALETTE
from ..explorer import BlitExplorer, Explorer, register

NOTEBOOK = "07_batch_normalization"

#: Colours of the two settings compared throughout the notebook.
SETTING_COLORS = {"without batch norm": PALETTE["vermillion"], "with batch norm": PALETTE["blue"]}

#: Activations offered by the distribution explorer, with the range their histograms span.
HISTOGRAM_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "relu": (0.0, 4.0)}

_STYLE = {"description_width": "initial"}


def setting_name(batch_norm):
    """``"with batch norm"`` or ``"without batch norm"``."""
    return "with batch norm" if batch_norm else "without batch norm"


# =========================================================================== 1. input scaling

@dataclass
class QuadraticProblem:
    """Least squares ``L(w) = ||X w - y||^2 / (2n)`` with two weights, as a quadratic bowl.

    ``L(w) = L* + (w - w*)^T H (w - w*) / 2`` with the Hessian ``H = X^T X / n``; gradient
    descent with a constant rate ``lr`` contracts the error along each eigenvector of H by
    ``|1 - lr * lambda|`` per step, so the flattest direction (smallest lambda) sets the pace.

    Attributes: x (n, 2), y (n,), hessian (2, 2), w_star (2,), min_loss, eigenvalues (2,)
    ascending, eigenvectors (2, 2) as columns, name.
    """

    x: np.ndarray
    y: np.ndarray
    name: str
    hessian: np.ndarray = field(init=False)
    w_star: np.ndarray = field(init=False)
    min_loss: float = field(init=False)
    eigenvalues: np.ndarray = field(init=False)
    eigenvectors: np.ndarray = field(init=False)

    def __post_init__(self):
        n = len(self.x)
        self.hessian = self.x.T @ self.x / n
        self.w_star = np.linalg.solve(self.hessian, self.x.T @ self.y / n)
        residual = self.x @ self.w_star - self.y
        self.min_loss = float(residual @ residual / (2 * n))
        self.eigenvalues, self.eigenvectors = np.linalg.eigh(self.hessian)

    @property
    def condition_number(self):
        """``lambda_max / lambda_min``: how elongated the contours are (1 = round)."""
        return float(self.eigenvalues[-1] / self.eigenvalues[0])

    @property
    def max_stable_rate(self):
        """``2 / lambda_max``: above it gradient descent diverges along the steepest direction."""
        return float(2.0 / self.eigenvalues[-1])

    def excess_loss(self, w):
        """``L(w) - L*`` for weights of shape (..., 2) (a grid or a path)."""
        d = np.asarray(w, dtype=float) - self.w_star
        return 0.5 * np.einsum("...i,ij,...j->...", d, self.hessian, d)

    def descent(self, rate_factor, steps, start=(0.0, 0.0)):
        """Gradient descent with ``lr = rate_factor / lambda_max`` for ``steps`` steps.

        Computed in closed form in the eigenbasis of H. Returns ``(path, excess)``: the
        weights, shape (steps + 1, 2), and ``L - L*`` after each step, shape (steps + 1,).
        Entries are inf where the error has grown beyond 1e100 (a diverging run).
        """
        rate_factor = check_positive("rate_factor", rate_factor)
        steps = check_number("steps", steps, low=0, integer=True)
        lr = rate_factor / self.eigenvalues[-1]
        factors = 1.0 - lr * self.eigenvalues                      # per direction, per step
        k = np.arange(steps + 1)[:, None]
        coords = self.eigenvectors.T @ (np.asarray(start, dtype=float) - self.w_star)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            log_mag = k * np.log(np.maximum(np.abs(factors), 1e-300))
            grow = np.where(log_mag > 230.0, np.inf, np.exp(np.minimum(log_mag, 230.0)))
            signs = np.where(factors < 0, (-1.0) ** k, 1.0)
            error = grow * signs * coords                           # (steps + 1, 2)
            path = self.w_star + error @ self.eigenvectors.T
            excess = 0.5 * np.sum(self.eigenvalues * error ** 2, axis=1)
        bad = ~np.isfinite(excess) | (excess > 1e100)
        excess[bad] = np.inf
        path[bad] = np.inf
        return path, excess

    def steps_to_converge(self, rate_factor, tolerance=1e-6, max_steps=20000, start=(0.0, 0.0)):
        """Steps until ``L - L*`` falls below ``tolerance`` times its initial value, or None.

        Along eigenvector i the excess loss is ``lambda_i c_i^2 (1 - lr lambda_i)^(2k) / 2``,
        which never grows while every ``|1 - lr lambda_i| < 1``; the first step below the
        threshold is then found by bisection on k.
        """
        rate_factor = check_positive("rate_factor", rate_factor)
        factors = np.abs(1.0 - rate_factor / self.eigenvalues[-1] * self.eigenvalues)
        coords = self.eigenvectors.T @ (np.asarray(start, dtype=float) - self.w_star)
        weights = 0.5 * self.eigenvalues * coords ** 2
        target = tolerance * weights.sum()

        def excess(k):
            return float(np.sum(weights * factors ** (2 * k)))

        if excess(0) <= target:
            return 0
        if np.any((factors >= 1.0) & (weights > 0)) or excess(max_steps) > target:
            return None
        low, high = 0, max_steps                # excess(low) > target >= excess(high)
        while high - low > 1:
            middle = (low + high) // 2
            if excess(middle) > target:
                low = middle
            else:
                high = middle
        return high


def input_scaling_problem(scale=10.0, standardize=False, n=200, seed=0):
    """Two features, the second ``scale`` times larger; target ``y = x1 + x2 / scale + noise``.

    With ``standardize=True`` each feature is divided by its standard deviation (the
    features have mean zero already), which makes both weights matter equally and the
    contours of the loss nearly round.
    """
    scale = check_number("scale", scale, low=1e-3, high=1e3)
    rng = np.random.default_rng(seed)
    x1 = rng.standard_normal(n)
    x2 = scale * rng.standard_normal(n)
    x = np.column_stack([x1 - x1.mean(), x2 - x2.mean()])
    y = x[:, 0] + x[:, 1] / scale + 0.1 * rng.standard_normal(n)
    if standardize:
        x = x / x.std(axis=0)
        return QuadraticProblem(x, y, "standardised inputs")
    return QuadraticProblem(x, y, f"raw inputs (feature 2 is {scale:.3g}x larger)")


_CONTOUR_CMAP = LinearSegmentedColormap.from_list(
    "course_contours", ["#1b3a5c", "#56B4E9", "#f7f7f7"])


class LandscapePanel:
    """Loss landscape of a :class:`QuadraticProblem` as banded contours, with a descent path.

    The landscape is an image of ``log10(L - L*)`` quantised into bands of half a decade
    (filled contours at the cost of an ``imshow``); the path, start and minimum are lines.
    The view is fixed, equal in both directions, and holds the start (0, 0) and the minima
    of every problem of :func:`input_scaling_problem` (w1* near 1, w2* between 0 and 1), so
    an elongated bowl looks elongated. A note gives the condition number (kappa) and the
    number of steps to converge. ``artists`` lists what ``update`` changes.
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


class InputScalingExplorer(BlitExplorer):
    """Raw vs standardised inputs: contours and gradient descent, same rate rule for both."""

    def __init__(self, scale=10.0, rate_factor=1.0):
        controls = {
            "scale": widgets.FloatLogSlider(value=scale, base=10, min=0, max=2, step=0.05,
                                            readout_format=".3g", style=_STYLE,
                                            description="feature 2 is this much larger"),
            "rate_factor": widgets.FloatSlider(value=rate_factor, min=0.1, max=2.2, step=0.05,
                                               style=_STYLE,
                                               description="learning rate x lambda_max"),
        }
        super().__init__(controls, figsize=(8.6, 4.2), title="Input scaling explorer")
        ax_raw, ax_std = self.figure.subplots(1, 2)
        self.panels = [LandscapePanel(ax_raw, "raw inputs"),
                       LandscapePanel(ax_std, "standardised inputs")]
        for panel in self.panels:
            self.animate(*panel.artists)
        self.figure.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.9, wspace=0.25)

    def draw(self, scale, rate_factor):
        notes = []
        for panel, standardize in zip(self.panels, (False, True)):
            problem = input_scaling_problem(scale, standardize=standardize)
            info = panel.update(problem, rate_factor)
            key = "standardised" if standardize else "raw"
            self.record(f"{key} path", info["path"])
            self.record(f"{key} excess loss", info["excess"])
            if info["diverged"]:
                outcome = "diverges"
            elif info["steps"] is None:
                outcome = "no convergence"
            else:
                outcome = f"{info['steps']} steps"
            notes.append(f"{key}: condition number {info['condition_number']:.3g}, {outcome}")
        self.set_status(" | ".join(notes))


@register(NOTEBOOK, InputScalingExplorer)
def input_scaling_explorer(**kwargs):
    """Explorer: how the scale of one input stretches the loss contours and slows descent."""
    return InputScalingExplorer(**kwargs)


# =========================================================================== 2. deep networks

def deep_network(depth=6, activation="relu", batch_norm=False, init_scale=1.0, units=64,
                 bn_momentum=0.99, seed=0, dtype="float32"):
    """A digits classifier: ``depth`` blocks ``Dense -> [BatchNormalization] -> Activation``,
    then ``Dense(10, softmax)``; built for 64 inputs, in ``dtype``.

    The hidden kernels are LeCun-normal draws multiplied by ``init_scale``, so their standard
    deviation is ``init_scale / sqrt(fan_in)`` (1 is LeCun's choice, sqrt(2) He's). With batch
    norm the Dense layers have no bias (the normalisation would cancel it).
    """
    depth = check_number("depth", depth, low=1, high=50, integer=True)
    check_choice("activation", activation, activations.NAMES)
    init_scale = check_positive("init_scale", init_scale)
    layers = []
    for _ in range(depth):
        layers.append(Dense(units, kernel_initializer="lecun_normal", use_bias=not batch_norm))
        if batch_norm:
            layers.append(BatchNormalization(momentum=bn_momentum))
        layers.append(Activation(activation))
    layers.append(Dense(10, activation="softmax"))
    model = Sequential(layers, seed=seed, dtype=dtype)
    model.build(64)
    for layer in layers[:-1]:
        if isinstance(layer, Dense):
            layer.kernel *= init_scale
    return model


def _bn_forward_batch_stats(layer, x):
    """A BatchNormalization layer's training-mode output, leaving its moving statistics as
    they were (a measurement must not change the model)."""
    saved = layer.get_state()
    out = layer.forward(x, training=True)
    layer.set_state(saved)
    return out


def layer_activations(model, x):
    """What enters and leaves every ``Activation`` layer of ``model`` for the batch ``x``.

    Batch normalization uses the statistics of ``x`` (as in training) without updating its
    moving averages; dropout is off. Returns ``(inputs, outputs)``: two lists with one array
    of shape (batch, units) per activation layer.
    """
    inputs, outputs = [], []
    with single_blas_thread(), np.errstate(over="ignore", under="ignore"):
        for layer in model.layers:
            if isinstance(layer, BatchNormalization):
                x = _bn_forward_batch_stats(layer, x)
            elif isinstance(layer, Activation):
                inputs.append(np.asarray(x, dtype=np.float64))
                x = layer.forward(x)
                outputs.append(np.asarray(x, dtype=np.float64))
            else:
                x = layer.forward(x)
    return inputs, outputs


@functools.lru_cache(maxsize=4)
def _digits(standardize=True):
    return digits_splits(standardize=standardize)


def probe_batch(size=256):
    """The fixed batch of training digits on which distributions are measured, (size, 64)."""
    return _digits().x_train[:size]


PERCENTILES = (15, 50, 85)


@dataclass
class DistributionRecord:
    """Activation inputs of a deep network measured on the probe batch during training.

    steps (T,): optimizer steps at which they were measured; percentiles (T, layers, 3): the
    15th, 50th and 85th percentiles of each layer's activation input; first and last: the
    activation inputs (lists of (batch, units) arrays) before and after training;
    val_accuracy: after training.
    """

    batch_norm: bool
    steps: np.ndarray
    percentiles: np.ndarray
    first: list
    last: list
    val_accuracy: float

    def drift(self):
        """Per layer, how far each unit's input distribution moved during training: the mean
        over units of ``|mean_T - mean_0| / std_0 + |log(std_T / std_0)|`` (0 = unchanged)."""
        out = []
        for a0, a1 in zip(self.first, self.last):
            s0, s1 = a0.std(axis=0) + 1e-12, a1.std(axis=0) + 1e-12
            out.append(float(np.mean(np.abs(a1.mean(axis=0) - a0.mean(axis=0)) / s0
                                     + np.abs(np.log(s1 / s0)))))
        return np.array(out)


class _DistributionLog(Callback):
    def __init__(self, every, probe):
        self.every, self.probe = every, probe
        self.steps, self.percentiles, self.step = [], [], 0

    def _measure(self):
        inputs, _ = layer_activations(self.model, self.probe)
        self.steps.append(self.step)
        self.percentiles.append([np.percentile(a, PERCENTILES) for a in inputs])
        return inputs

    def on_train_begin(self, logs=None):
        self.first = self._measure()

    def on_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            self._measure()

    def on_train_end(self, logs=None):
        if self.steps[-1] != self.step:
            self._measure()
        self.last = layer_activations(self.model, self.probe)[0]


@functools.lru_cache(maxsize=8)
def record_distributions(batch_norm, depth=6, activation="relu", init_scale=1.41,
                         learning_rate=0.1, epochs=5, batch_size=64, every=5, seed=0):
    """Train :func:`deep_network` with SGD on the digits and record its activation inputs
    on :func:`probe_batch` every ``every`` steps (cached). Returns a :class:`DistributionRecord`."""
    model = deep_network(depth, activation, batch_norm, init_scale, bn_momentum=0.9, seed=seed)
    model.compile(SGD(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    data = _digits()
    log = _DistributionLog(every, probe_batch())
    with single_blas_thread():
        history = model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=batch_size,
                            validation_data=(data.x_val, data.y_val), callbacks=[log],
                            verbose=0, on_divergence="stop")
    val = history.history.get("val_accuracy", [float("nan")])
    return DistributionRecord(batch_norm, np.array(log.steps), np.array(log.percentiles),
                              log.first, log.last, float(val[-1]))


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


class DistributionExplorer(BlitExplorer):
    """Histograms of every layer's activations in a deep network at initialisation.

    The same fixed batch of 256 digits goes through ``depth`` blocks (64 units each) with
    weights of standard deviation ``init_scale / sqrt(fan_in)``; with batch norm each
    pre-activation is normalised over the batch first. Right: the standard deviation of
    each layer's activations with and without batch norm (log scale).
    """

    MAX_DEPTH = 12
    STD_LIMITS = (1e-8, 1e8)

    def __init__(self, depth=8, activation="tanh", init_scale=1.0, batch_norm=False):
        controls = {
            "depth": widgets.IntSlider(value=depth, min=1, max=self.MAX_DEPTH, style=_STYLE,
                                       description="depth (hidden layers)"),
            "activation": widgets.ToggleButtons(options=tuple(HISTOGRAM_RANGES),
                                                value=activation, style=_STYLE,
                                                description="activation"),
            "init_scale": widgets.FloatLogSlider(value=init_scale, base=10, min=-1, max=1,
                                                 step=0.05, readout_format=".3g", style=_STYLE,
                                                 description="weight std x sqrt(fan_in)"),
            "batch_norm": widgets.Checkbox(value=batch_norm, description="batch norm",
                                           indent=False),
        }
        super().__init__(controls, figsize=(8.6, 4.4), title="Distribution explorer")
        self.ax_hist, self.ax_std = self.figure.subplots(
            1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
        self.ridge = RidgePlot(self.ax_hist, self.MAX_DEPTH, HISTOGRAM_RANGES["tanh"])
        self.animate(*self.ridge.artists)
        self.std_lines = {}
        for batch_norm_on in (False, True):
            name = setting_name(batch_norm_on)
            (line,) = self.ax_std.plot([], [], "-o", ms=3, color=SETTING_COLORS[name], label=name)
            self.std_lines[batch_norm_on] = line
        self.animate(*self.std_lines.values())
        self.ax_std.set_yscale("log")
        self.ax_std.set_ylim(*self.STD_LIMITS)
        self.ax_std.set_xlabel("layer")
        self.ax_std.set_ylabel("std of the activations (log scale)")
        self.ax_std.legend(loc="upper left", fontsize=8)
        self.ax_std.set_title("spread per layer", fontsize=10)
        self.ax_std.set_xlim(0.5, self.MAX_DEPTH + 0.5)
        self.hist_title = self.ax_hist.text(0.5, 1.02, "", transform=self.ax_hist.transAxes,
                                            ha="center", va="bottom", fontsize=10)
        self.animate(self.hist_title)
        self.figure.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.9, wspace=0.3)
        self._x = probe_batch().astype(np.float64)
        self._cache = {}

    def activations_for(self, depth, activation, init_scale, batch_norm):
        """Each layer's activations (list of (256, 64) float64 arrays), cached per setting."""
        key = (depth, activation, round(float(init_scale), 6), bool(batch_norm))
        if key not in self._cache:
            if len(self._cache) >= 256:
                self._cache.pop(next(iter(self._cache)))
            model = deep_network(depth, activation, batch_norm, init_scale, seed=0,
                                 dtype="float64")
            self._cache[key] = layer_activations(model, self._x)[1]
        return self._cache[key]

    def draw(self, depth, activation, init_scale, batch_norm):
        outs = self.activations_for(depth, activation, init_scale, batch_norm)
        self.ridge.set_range(HISTOGRAM_RANGES[activation])
        for i, heights in enumerate(self.ridge.update(outs)):
            self.record(f"histogram layer {i + 1}", heights)
        layers = np.arange(1, depth + 1)
        for batch_norm_on, line in self.std_lines.items():
            outs_setting = self.activations_for(depth, activation, init_scale, batch_norm_on)
            stds = np.clip([o.std() for o in outs_setting], *self.STD_LIMITS)
            line.set_data(layers, stds)
            line.set_linewidth(2.4 if batch_norm_on == batch_norm else 1.0)
            line.set_alpha(1.0 if batch_norm_on == batch_norm else 0.45)
            self.record(f"std {setting_name(batch_norm_on)}", stds)
        self.ax_hist.set_xlabel(f"activation value ({activation})")
        self.hist_title.set_text(f"{activation} activations per layer, {setting_name(batch_norm)}")
        self.layout = activation            # the x range; everything else is redrawn on top
        self.set_status(describe_spread(outs[-1], activation))


def describe_spread(last, activation):
    """One line on the last layer's activations: vanishing, saturating, exploding or fine."""
    std = float(np.std(last))
    if std < 1e-3:
        verdict = "the signal vanishes with depth"
    elif activation in ("tanh", "sigmoid") and np.mean(
            np.abs(last - (0.5 if activation == "sigmoid" else 0.0))
            > 0.97 * (0.5 if activation == "sigmoid" else 1.0)) > 0.5:
        verdict = "most units saturate (gradients near 0)"
    elif std > 1e2:
        verdict = "the signal explodes with depth"
    else:
        verdict = "the spread stays in a usable range"
    return f"last layer: activation std {std:.3g}; {verdict}"


@register(NOTEBOOK, DistributionExplorer)
def distribution_explorer(**kwargs):
    """Explorer: each layer's activation histogram for a depth, activation, scale, batch norm."""
    return DistributionExplorer(**kwargs)


# =========================================================================== 3. the block order

def block_model(units=(128, 64), dropout=0.1, bn_momentum=0.99, seed=0):
    """The block order of the source material, one block per entry of ``units``:
    ``Dropout -> Dense (no bias) -> BatchNormalization -> ReLU``, then ``Dense(10, softmax)``.
    Built for 64 inputs (the digits), float32."""
    layers = []
    for n in units:
        layers += [Dropout(dropout), Dense(n, kernel_initializer="he_normal", use_bias=False),
                   BatchNormalization(momentum=bn_momentum), Activation("relu")]
    layers.append(Dense(10, activation="softmax"))
    model = Sequential(layers, seed=seed)
    model.build(64)
    return model


# =========================================================================== 4. test time

def _forward_groups(layers, x, statistics="batch"):
    """Inference through ``layers`` for a stack of batches ``x`` of shape (groups, size, features).

    Dropout is off. ``statistics="batch"`` normalises every batch with its own mean and
    (biased) variance, each batch independently: the training-mode formula of
    ``BatchNormalization.forward``, vectorised over the batches; ``"moving"`` uses the
    layers' moving averages (inference mode). Returns ``(outputs, stats)``: the outputs
    (groups, size, classes) and, per BatchNormalization layer, the pair (mean, variance) of
    shape (groups, units) that it used.
    """
    stats = []
    with single_blas_thread(), np.errstate(over="ignore", under="ignore"):
        for layer in layers:
            if isinstance(layer, Dense):
                z = x @ layer.kernel
                if layer.use_bias:
                    z = z + layer.bias
                x = activations.softmax(z, axis=-1) if layer.activation == "softmax" else \
                    activations.get(layer.activation)[0](z)
            elif isinstance(layer, BatchNormalization):
                if statistics == "batch":
                    mean, var = x.mean(axis=-2), x.var(axis=-2)
                else:
                    shape = x.shape[:-2] + layer.moving_mean.shape
                    mean = np.broadcast_to(layer.moving_mean, shape)
                    var = np.broadcast_to(layer.moving_variance, shape)
                stats.append((mean, var))
                x_hat = (x - mean[..., None, :]) / np.sqrt(var[..., None, :] + layer.epsilon)
                x = layer.gamma * x_hat + layer.beta
            elif isinstance(layer, Activation):
                x = activations.get(layer.activation)[0](x)
            # Dropout and other layers without parameters do nothing at inference.
    return x, stats


def grouped_forward(model, x, batch_size=None, groups=None):
    """The model's outputs when batch normalization uses the statistics of each test batch.

    This is what happens if a network is left in training mode at test time. ``x`` (n,
    features) is cut into consecutive batches of ``batch_size`` (the last one may be
    smaller), or into the index arrays of ``groups`` (e.g. one group per class); each batch
    is normalised with its own statistics. Dropout is off and the model is not changed.
    Returns the outputs, shape (n, classes), in the order of ``x``.
    """
    x = np.asarray(x, dtype=model.dtype)
    n = len(x)
    if groups is None:
        batch_size = n if batch_size is None else check_number("batch_size", batch_size, low=1,
                                                                   integer=True)
        full = n // batch_size * batch_size
        groups = [np.arange(full).reshape(-1, batch_size)]
        if full < n:
            groups.append(np.arange(full, n)[None, :])
    else:
        groups = [np.asarray(g)[None, :] for g in groups]
    out = None
    for index in groups:
        y, _ = _forward_groups(model.layers, x[index])
        if out is None:
            out = np.empty((n, y.shape[-1]), dtype=y.dtype)
        out[index.ravel()] = y.reshape(-1, y.shape[-1])
    return out


def accuracy(probabilities, labels):
    """Fraction of rows whose largest probability is at the label."""
    return float(np.mean(np.argmax(probabilities, axis=1) == np.asarray(labels)))


def running_average(values, momentum, initial):
    """The moving average of ``BatchNormalization`` over a sequence of batch statistics.

    ``r_t = momentum * r_(t-1) + (1 - momentum) * values[t]`` from ``r_(-1) = initial``
    (0 for the mean, 1 for the variance, as the layer starts). values: (steps, units);
    returns (steps, units): row t is the average after step t.
    """
    momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_inclusive=False)
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    r = np.broadcast_to(np.asarray(initial, dtype=np.float64), values.shape[1:]).copy()
    for t, value in enumerate(values):
        r = momentum * r + (1.0 - momentum) * value
        out[t] = r
    return out


#: Momenta offered by the running-average explorer (Keras's default is 0.99).
MOMENTA = (0.0, 0.5, 0.9, 0.95, 0.99, 0.995, 0.999)

#: Test batch sizes offered by the running-average explorer (all divide the 270 test digits).
TEST_BATCH_SIZES = (1, 2, 5, 10, 30, 270)


class _StatisticsLog(Callback):
    """Keeps each step's batch statistics (the moving averages of layers with momentum 0)
    and a copy of the weights every ``every`` steps."""

    def __init__(self, every):
        self.every = every
        self.means, self.variances, self.snapshots, self.snapshot_steps = [], [], [], []
        self.step = 0

    def on_batch_end(self, batch, logs=None):
        self.step += 1
        bns = [layer for layer in self.model.layers if isinstance(layer, BatchNormalization)]
        self.means.append([layer.moving_mean.astype(np.float64) for layer in bns])
        self.variances.append([layer.moving_variance.astype(np.float64) for layer in bns])
        if self.step % self.every == 0:
            self.snapshots.append(self.model.get_weights())
            self.snapshot_steps.append(self.step)


class RunningStatisticsRun:
    """One training run of a batch-normalised digits network, replayed for any momentum.

    The moving averages never influence training (only inference uses them), so one run
    with momentum 0 (its "moving" statistics are then each step's batch statistics) gives
    the running averages of every momentum afterwards, by :func:`running_average`.

    Attributes:
        model: the trained Sequential (weights are swapped in by the methods).
        batch_means, batch_variances: per BN layer, (steps, units) arrays of batch statistics.
        snapshot_steps: (E,) steps after which weights were copied; snapshots: the copies.
        population_means, population_variances: per BN layer, (E, units): the statistics of
            the whole training set through the network of each snapshot (the "true" values).
        x_test, y_test: the test digits.
    """

    def __init__(self, model, log, data):
        self.model = model
        self.steps = log.step
        n_layers = len(log.means[0])
        self.batch_means = [np.array([m[i] for m in log.means]) for i in range(n_layers)]
        self.batch_variances = [np.array([v[i] for v in log.variances]) for i in range(n_layers)]
        self.snapshot_steps = np.array(log.snapshot_steps)
        self.snapshots = log.snapshots
        self.x_test, self.y_test = data.x_test, data.y_test
        self._bns = [layer for layer in model.layers if isinstance(layer, BatchNormalization)]
        population = []
        for weights in self.snapshots:
            self.model.set_weights(weights)
            _, stats = _forward_groups(model.layers, data.x_train[None])
            population.append([(m[0].astype(np.float64), v[0].astype(np.float64))
                               for m, v in stats])
        self.population_means = [np.array([p[i][0] for p in population]) for i in range(n_layers)]
        self.population_variances = [np.array([p[i][1] for p in population])
                                     for i in range(n_layers)]
        self._running, self._accuracy = {}, {}

    def running(self, momentum):
        """Per BN layer, (means, variances) after every step, each (steps, units)."""
        key = float(momentum)
        if key not in self._running:
            self._running[key] = [
                (running_average(m, key, 0.0), running_average(v, key, 1.0))
                for m, v in zip(self.batch_means, self.batch_variances)]
        return self._running[key]

    def _test_accuracy(self, weights, statistics=None, batch_size=None):
        self.model.set_weights(weights)
        if batch_size is not None:
            return accuracy(grouped_forward(self.model, self.x_test, batch_size), self.y_test)
        for layer, (mean, var) in zip(self._bns, statistics):
            layer.set_state([mean, var])
        out, _ = _forward_groups(self.model.layers, self.x_test[None], statistics="moving")
        return accuracy(out[0], self.y_test)

    def accuracy_running(self, momentum):
        """Test accuracy at each snapshot, normalising with the running averages, (E,)."""
        key = ("running", float(momentum))
        if key not in self._accuracy:
            running = self.running(momentum)
            self._accuracy[key] = np.array([
                self._test_accuracy(w, [(m[s - 1], v[s - 1]) for m, v in running])
                for w, s in zip(self.snapshots, self.snapshot_steps)])
        return self._accuracy[key]

    def accuracy_population(self):
        """Test accuracy at each snapshot with the true (whole training set) statistics, (E,)."""
        key = ("population",)
        if key not in self._accuracy:
            self._accuracy[key] = np.array([
                self._test_accuracy(w, [(m[e], v[e]) for m, v in
                                        zip(self.population_means, self.population_variances)])
                for e, w in enumerate(self.snapshots)])
        return self._accuracy[key]

    def accuracy_batch(self, batch_size):
        """Test accuracy at each snapshot when each test batch uses its own statistics, (E,)."""
        key = ("batch", int(batch_size))
        if key not in self._accuracy:
            self._accuracy[key] = np.array([self._test_accuracy(w, batch_size=batch_size)
                                            for w in self.snapshots])
        return self._accuracy[key]

    def running_error(self, momentum):
        """At each snapshot, how far the running statistics are from the true ones: the mean
        over all units of ``|running mean - true mean| / true std``, shape (E,)."""
        errors = []
        for e, s in enumerate(self.snapshot_steps):
            per_layer = [np.abs(m[s - 1] - pm[e]) / np.sqrt(pv[e] + 1e-3)
                         for (m, _), pm, pv in zip(self.running(momentum), self.population_means,
                                                   self.population_variances)]
            errors.append(float(np.mean(np.concatenate(per_layer))))
        return np.array(errors)


def running_statistics_network(bn_momentum=0.0, learning_rate=0.05, seed=0):
    """The network of :func:`record_running_statistics`: ``Dense(64, no bias) -> BN -> ReLU``
    twice, then ``Dense(10, softmax)``, compiled with SGD (momentum 0.9)."""
    layers = []
    for _ in range(2):
        layers += [Dense(64, kernel_initializer="he_normal", use_bias=False),
                   BatchNormalization(momentum=bn_momentum), Activation("relu")]
    model = Sequential(layers + [Dense(10, activation="softmax")], seed=seed)
    model.compile(SGD(learning_rate, momentum=0.9), "sparse_categorical_crossentropy")
    return model


@functools.lru_cache(maxsize=4)
def record_running_statistics(epochs=6, batch_size=32, learning_rate=0.05, every=6, seed=0,
                              standardize=True):
    """Train :func:`running_statistics_network` on the digits (pixels standardised or in
    [0, 1]), keeping every step's batch statistics and the weights every ``every`` steps
    (cached). Its batch-norm layers have momentum 0, so their moving averages are the batch
    statistics of each step. Returns a :class:`RunningStatisticsRun`."""
    model = running_statistics_network(0.0, learning_rate, seed)
    data = _digits(standardize)
    log = _StatisticsLog(every)
    with single_blas_thread():
        model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=batch_size,
                  callbacks=[log], verbose=0)
    return RunningStatisticsRun(model, log, data)


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


class RunningAverageExplorer(BlitExplorer):
    """Momentum of the running statistics, length of training, size of the test batches.

    Everything comes from one recorded training run (:func:`record_running_statistics`);
    the accuracies of every momentum and batch size are computed once when the explorer
    is built, so a redraw only moves lines.
    """

    def __init__(self, momentum=0.99, steps=None, batch_size=10):
        self.run = record_running_statistics(standardize=False)
        every = int(self.run.snapshot_steps[0])
        steps = self.run.steps if steps is None else steps
        controls = {
            "momentum": widgets.SelectionSlider(options=MOMENTA, value=momentum, style=_STYLE,
                                                description="momentum of the running averages"),
            "steps": widgets.IntSlider(value=steps, min=every, max=self.run.steps, step=every,
                                       style=_STYLE, description="training steps"),
            "batch_size": widgets.Dropdown(options=TEST_BATCH_SIZES, value=batch_size,
                                           style=_STYLE, description="test batch size"),
        }
        super().__init__(controls, figsize=(9.0, 4.6), title="Running-average explorer")
        grid = self.figure.add_gridspec(2, 2, width_ratios=[1.15, 1], hspace=0.12, wspace=0.3)
        ax_unit = self.figure.add_subplot(grid[0, 0])
        ax_error = self.figure.add_subplot(grid[1, 0], sharex=ax_unit)
        ax_acc = self.figure.add_subplot(grid[:, 1])
        self.panels = RunningStatisticsPanels(ax_unit, ax_error, ax_acc, self.run)
        self.animate(*self.panels.artists)
        self.figure.subplots_adjust(left=0.09, right=0.98, bottom=0.11, top=0.93)
        for m in MOMENTA:               # precompute: a redraw must only move lines
            self.run.accuracy_running(m)
            self.run.running_error(m)
        for b in TEST_BATCH_SIZES:
            self.run.accuracy_batch(b)
        self.run.accuracy_population()
        self.layout = "fixed"

    def draw(self, momentum, steps, batch_size):
        drawn = self.panels.update(momentum, steps, batch_size)
        at = drawn.pop("at")
        for name, values in drawn.items():
            self.record(name, values)
        self.set_status(f"after {steps} steps: test accuracy {at['running']:.3f} with running "
                        f"averages (momentum {momentum:g}), {at['true']:.3f} with the true "
                        f"statistics, {at['batch']:.3f} with test batches of {batch_size}")


@register(NOTEBOOK, RunningAverageExplorer)
def running_average_explorer(**kwargs):
    """Explorer: how the momentum and the training length shape the statistics used at test time."""
    return RunningAverageExplorer(**kwargs)


# =========================================================================== 5. effects

#: Learning rates of the sweep (every one is a position of the training explorer's slider).
LEARNING_RATES = tuple(float(f"{10 ** e:.4g}") for e in np.arange(-2.0, 1.01, 0.5))

#: Weight scales of the initialisation sweep (std x sqrt(fan_in); sqrt(2) is He's choice).
INIT_SCALES = (0.1, 0.3, 1.41, 5.0, 15.0)


@dataclass(frozen=True)
class TrainingRun:
    """A short digits training: per-epoch ``loss``, ``val_loss``, ``val_accuracy`` (only the
    finite epochs), ``diverged_at`` (epoch number from 1, or None) and the settings."""

    learning_rate: float
    batch_norm: bool
    init_scale: float
    loss: tuple
    val_loss: tuple
    val_accuracy: tuple
    diverged_at: int | None

    @property
    def final_accuracy(self):
        """Validation accuracy after the last epoch; 0.1 (chance) if the run diverged."""
        if self.diverged_at is not None or not self.val_accuracy:
            return 0.1
        return self.val_accuracy[-1]

    def trained(self, threshold=0.85):
        """Whether the run reached ``threshold`` validation accuracy without diverging."""
        return self.final_accuracy >= threshold


#: Every training of :func:`train_digits` so far, by its arguments (a cache without limit:
#: each entry is a few dozen numbers).
_RUNS = {}


def train_digits(learning_rate, batch_norm, init_scale=1.41, depth=4, epochs=10, n_train=600,
                 batch_size=64, seed=0):
    """Train :func:`deep_network` (ReLU, 64 units per layer) with plain SGD on ``n_train``
    digits; cached, so asking again is free. Batch norm uses momentum 0.9 (100 steps are too
    few for Keras's 0.99, see the section on test time). Returns a :class:`TrainingRun`."""
    learning_rate = check_positive("learning_rate", learning_rate)
    init_scale = check_positive("init_scale", init_scale)
    key = (learning_rate, bool(batch_norm), init_scale, depth, epochs, n_train, batch_size, seed)
    if key in _RUNS:
        return _RUNS[key]
    model = deep_network(depth, "relu", batch_norm, init_scale, bn_momentum=0.9, seed=seed)
    model.compile(SGD(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    data = _digits()
    with single_blas_thread(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history = model.fit(data.x_train[:n_train], data.y_train[:n_train], epochs=epochs,
                            batch_size=batch_size, validation_data=(data.x_val, data.y_val),
                            verbose=0, on_divergence="stop")
    h = history.history
    diverged = history.diverged_at
    run = TrainingRun(learning_rate, bool(batch_norm), init_scale,
                      tuple(h.get("loss", ())), tuple(h.get("val_loss", ())),
                      tuple(h.get("val_accuracy", ())),
                      None if diverged is None else int(diverged[0]) + 1)
    _RUNS[key] = run
    return run


def trained_rates(batch_norm, init_scale):
    """Learning rates already trained by :func:`train_digits` (default settings otherwise)
    for this batch-norm setting and weight scale, sorted."""
    return sorted(key[0] for key in _RUNS
                  if key[1] == bool(batch_norm) and key[2] == float(init_scale)
                  and key[3:] == (4, 10, 600, 64, 0))


def plot_sweep(ax, values, runs_by_setting, *, xlabel, highlight=None):
    """Final validation accuracy against a swept value (log x), one line per setting.

    runs_by_setting: dict setting name -> list of :class:`TrainingRun` (or None where not
    computed), aligned with ``values``. Diverged runs are drawn as crosses at chance level.
    Returns the dict name -> (line, crosses).
    """
    artists = {}
    for name, runs in runs_by_setting.items():
        color = SETTING_COLORS[name]
        xs = [v for v, r in zip(values, runs) if r is not None]
        ys = [r.final_accuracy for r in runs if r is not None]
        (line,) = ax.plot(xs, ys, "-o", color=color, label=name, ms=4)
        bad = [(v, r.final_accuracy) for v, r in zip(values, runs)
               if r is not None and r.diverged_at is not None]
        (crosses,) = ax.plot([b[0] for b in bad], [b[1] for b in bad], "x", color=color, ms=9,
                             mew=2)
        artists[name] = (line, crosses)
    ax.axhline(0.1, color=PALETTE["grey"], lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_ylim(0.0, 1.18)
    ax.set_yticks(np.linspace(0.0, 1.0, 6))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("validation accuracy after training")
    if highlight is not None:
        ax.axvline(highlight, color=PALETTE["grey"], lw=0.8)
    ax.legend(loc="upper center", fontsize=8, ncol=2)
    return artists


class TrainingExplorer(Explorer):
    """Retrain the 4-layer digits network with a learning rate, batch norm on or off and a
    weight scale; the same network with the other batch-norm setting is drawn faintly.

    Right: final validation accuracy against the learning rate for both settings, for
    every rate computed so far at this weight scale (each run is cached).
    """

    retraining = True

    def __init__(self, learning_rate=1.0, batch_norm=True, init_scale=1.41):
        controls = {
            "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-2,
                                                    max=1, step=0.25, readout_format=".3g",
                                                    style=_STYLE, description="learning rate"),
            "batch_norm": widgets.ToggleButtons(options=(("off", False), ("on", True)),
                                                value=batch_norm, style=_STYLE,
                                                description="batch norm"),
            "init_scale": widgets.SelectionSlider(options=INIT_SCALES, value=init_scale,
                                                  style=_STYLE,
                                                  description="weight std x sqrt(fan_in)"),
        }
        super().__init__(controls, figsize=(9.0, 3.9),
                         title="Training explorer")
        self.ax_loss, self.ax_sweep = self.figure.subplots(
            1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
        self.lines = {}
        for batch_norm_on in (False, True):
            color = SETTING_COLORS[setting_name(batch_norm_on)]
            (train,) = self.ax_loss.plot([], [], color=color)
            (val,) = self.ax_loss.plot([], [], "--", color=color)
            (acc,) = self.ax_sweep.plot([], [], "-o", ms=4, color=color,
                                        label=setting_name(batch_norm_on))
            (crosses,) = self.ax_sweep.plot([], [], "x", ms=9, mew=2, color=color)
            self.lines[batch_norm_on] = (train, val, acc, crosses)
        (self.current,) = self.ax_sweep.plot([], [], "o", ms=11, mfc="none", mew=1.8,
                                             color=PALETTE["black"])
        self.ax_loss.set_yscale("log")
        self.ax_loss.set_xlim(0.5, 10.5)
        self.ax_loss.set_ylim(1e-3, 30.0)
        self.ax_loss.set_xlabel("epoch")
        self.ax_loss.set_ylabel("loss (cross-entropy, log scale)")
        self.ax_sweep.axhline(0.1, color=PALETTE["grey"], lw=0.8, ls=":")
        self.ax_sweep.set_xscale("log")
        self.ax_sweep.set_xlim(0.007, 14.0)
        self.ax_sweep.set_ylim(0.0, 1.18)
        self.ax_sweep.set_yticks(np.linspace(0.0, 1.0, 6))
        self.ax_sweep.set_xlabel("learning rate (log scale)")
        self.ax_sweep.set_ylabel("validation accuracy after 10 epochs")
        self.ax_sweep.legend(loc="upper center", fontsize=8, ncol=2)
        self.note = self.ax_loss.text(0.03, 0.04, "", transform=self.ax_loss.transAxes,
                                      color=PALETTE["vermillion"], fontsize=9)
        self.ax_loss.legend([Line2D([], [], color=PALETTE["black"]),
                             Line2D([], [], color=PALETTE["black"], ls="--")],
                            ["training loss", "validation loss"], loc="upper right", fontsize=8)
        self.figure.subplots_adjust(left=0.08, right=0.98, bottom=0.13, top=0.9, wspace=0.3)

    def draw(self, learning_rate, batch_norm, init_scale):
        # One cache entry per slider position, equal to the sweep's rates.
        learning_rate = float(f"{10 ** (round(np.log10(learning_rate) * 4) / 4):.4g}")
        notes = []
        for batch_norm_on, (train, val, acc, crosses) in self.lines.items():
            run = train_digits(learning_rate, batch_norm_on, init_scale)
            epochs = np.arange(1, len(run.loss) + 1)
            train.set_data(epochs, np.clip(run.loss, 1e-3, 30.0))
            val.set_data(np.arange(1, len(run.val_loss) + 1), np.clip(run.val_loss, 1e-3, 30.0))
            chosen = batch_norm_on == batch_norm
            for line in (train, val):
                line.set_linewidth(2.2 if chosen else 1.0)
                line.set_alpha(1.0 if chosen else 0.35)
            self.record(f"{setting_name(batch_norm_on)} loss", run.loss)
            self.record(f"{setting_name(batch_norm_on)} val_loss", run.val_loss)
            rates = trained_rates(batch_norm_on, init_scale)
            runs = [train_digits(r, batch_norm_on, init_scale) for r in rates]
            acc.set_data(rates, [r.final_accuracy for r in runs])
            bad = [(r.learning_rate, r.final_accuracy) for r in runs if r.diverged_at is not None]
            crosses.set_data([b[0] for b in bad], [b[1] for b in bad])
            self.record(f"{setting_name(batch_norm_on)} sweep", [r.final_accuracy for r in runs])
            if run.diverged_at is not None:
                notes.append(f"{setting_name(batch_norm_on)}: diverged in epoch {run.diverged_at}")
            if chosen:
                self.current.set_data([learning_rate], [run.final_accuracy])
                chosen_run = run
        self.ax_loss.set_title(f"learning rate {learning_rate:.3g}, weight scale {init_scale:g}: "
                               f"{setting_name(batch_norm)} (bold)", fontsize=10)
        self.note.set_text("\n".join(n + " (curve ends there)" for n in notes))
        outcome = (f"diverged in epoch {chosen_run.diverged_at}" if chosen_run.diverged_at
                   else f"validation accuracy {chosen_run.final_accuracy:.3f}")
        self.set_status(f"{setting_name(batch_norm)}, learning rate {learning_rate:.3g}: {outcome}"
                        + ("; " + "; ".join(notes) if notes else ""))


@register(NOTEBOOK, TrainingExplorer)
def training_explorer(**kwargs):
    """Explorer: retrain with a learning rate, batch norm on/off and a weight scale."""
    return TrainingExplorer(**kwargs)


def batch_noise(model, x_pool, example, batch_sizes, draws=64, seed=0):
    """How much one example's hidden representation changes with the rest of its batch.

    For each batch size b, ``draws`` batches are formed from ``x_pool[example]`` and b - 1
    other examples drawn at random from ``x_pool``; batch normalization uses each batch's
    statistics (training mode, dropout off). The representation is the input of the output
    layer. Returns an array (len(batch_sizes),): for each b, the standard deviation over the
    draws of the example's representation, divided by the spread of that unit over the pool
    (so 0.1 means noise of 10% of the signal), averaged over the units.
    """
    rng = np.random.default_rng(seed)
    x_pool = np.asarray(x_pool, dtype=model.dtype)
    hidden_layers = model.layers[:-1]
    spread, _ = _forward_groups(hidden_layers, x_pool[None])
    spread = spread[0].std(axis=0)
    live = spread > 1e-6 * max(spread.max(), 1e-30)   # units never active carry no signal
    others = np.delete(np.arange(len(x_pool)), example)
    noise = []
    for b in batch_sizes:
        b = check_number("batch_size", b, low=2, high=len(x_pool), integer=True)
        index = np.stack([np.concatenate([[example], rng.choice(others, b - 1, replace=False)])
                          for _ in range(draws)])
        out, _ = _forward_groups(hidden_layers, x_pool[index])
        noise.append(float(np.mean(out[:, 0, live].std(axis=0) / spread[live])))
    return np.array(noise)


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


# =========================================================================== static figures

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


def sigmoid_linearity(mean, std, n=2001):
    """R^2 of the best straight line through sigmoid(z) for z ~ N(mean, std^2): how linear
    the sigmoid looks to inputs with that distribution (1 = a straight line)."""
    std = check_positive("std", std)
    z = mean + std * np.linspace(-4.0, 4.0, n)
    weights = np.exp(-0.5 * np.linspace(-4.0, 4.0, n) ** 2)
    s = activations.sigmoid(z)
    design = np.column_stack([np.ones_like(z), z])
    w = np.sqrt(weights)[:, None]
    coef, *_ = np.linalg.lstsq(design * w, s * w[:, 0], rcond=None)
    residual = s - design @ coef
    centred = s - np.average(s, weights=weights)
    return float(1.0 - np.average(residual ** 2, weights=weights)
                 / np.average(centred ** 2, weights=weights))


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


def plot_momentum_comparison(ax_error, ax_acc, run, momenta):
    """For several momenta: the error of the running means (left, log scale) and the test
    accuracy with the running statistics (right), against the training step, with the
    accuracy given by the true statistics for reference."""
    colors = (PALETTE["green"], PALETTE["blue"], PALETTE["orange"], PALETTE["purple"])
    for momentum, color in zip(momenta, colors):
        ax_error.plot(run.snapshot_steps, run.running_error(momentum), color=color,
                      label=f"momentum {momentum:g}")
        ax_acc.plot(run.snapshot_steps, run.accuracy_running(momentum), color=color,
                    label=f"momentum {momentum:g}")
    ax_acc.plot(run.snapshot_steps, run.accuracy_population(), "--", color=PALETTE["black"],
                lw=1.4, label="true statistics")
    ax_error.set_yscale("log")
    ax_error.set_xlabel("step")
    ax_error.set_ylabel("error of running means (in true std)")
    ax_acc.set_xlabel("step")
    ax_acc.set_ylabel("test accuracy")
    ax_acc.set_ylim(0.0, 1.0)
    ax_error.legend(fontsize=8)
    ax_acc.legend(loc="lower right", fontsize=8)
    return ax_error, ax_acc
