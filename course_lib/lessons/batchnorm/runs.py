"""Experiments of the notebook on batch normalization: input scaling, deep networks, training.

Each function returns plain numbers or arrays; the expensive ones are cached, so a notebook
cell and an explorer that ask for the same run share it.

* :func:`input_scaling_problem` -- a two-parameter least-squares problem whose second
  feature is ``scale`` times larger than the first, raw or standardised, with gradient
  descent on it in closed form (:class:`QuadraticProblem`);
* :func:`deep_network` -- a stack of ``Dense -> [BatchNormalization] -> Activation`` blocks on
  the digits, its weights drawn with a chosen scale; :func:`layer_activations` reads what
  enters and leaves each activation, through :func:`forward_with_batch_statistics`, the one
  place where a measurement runs batch normalization on a batch's own statistics;
* :func:`record_distributions` -- trains a deep network and records the distribution of each
  layer's activation input during training (internal covariate shift), for several seeds
  with :func:`distribution_records`;
* :func:`train_digits` -- a short digits training with or without batch norm;
  :func:`learning_rate_sweep` and :func:`init_scale_sweep` repeat it over rates or weight
  scales and seeds, :func:`best_accuracies`, :func:`best_val_losses` and :func:`diverged`
  read the results as arrays (seeds, values).

The running averages and batch statistics at test time are in :mod:`.inference`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from ... import activations
from ..._threads import single_blas_thread
from ..._validation import check_choice, check_number, check_positive
from ...callbacks import Callback
from ...layers import Activation, BatchNormalization, Dense
from ...model import Sequential
from ...optimizers import SGD
from ...surfaces import settling_step
from ..digits import digits, train_on_digits


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
        """Steps until ``L - L*`` falls below ``tolerance`` times its initial value and stays
        there, or None if that does not happen within ``max_steps`` (or the run diverges)."""
        _, excess = self.descent(rate_factor, max_steps, start)
        return settling_step(excess <= tolerance * excess[0])


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


# =========================================================================== 2. deep networks

def deep_layers(depth=6, activation="relu", batch_norm=False, units=64, bn_momentum=0.99):
    """``depth`` blocks ``Dense -> [BatchNormalization] -> Activation``, then
    ``Dense(10, softmax)``, as a new list of layers.

    The hidden kernels are drawn LeCun-normal (standard deviation ``1 / sqrt(fan_in)``); with
    batch norm the Dense layers have no bias (the normalisation would cancel it).
    """
    depth = check_number("depth", depth, low=1, high=50, integer=True)
    check_choice("activation", activation, activations.NAMES)
    layers = []
    for _ in range(depth):
        layers.append(Dense(units, kernel_initializer="lecun_normal", use_bias=not batch_norm))
        if batch_norm:
            layers.append(BatchNormalization(momentum=bn_momentum))
        layers.append(Activation(activation))
    layers.append(Dense(10, activation="softmax"))
    return layers


def scale_hidden_kernels(model, init_scale):
    """Multiply every hidden Dense kernel of a built ``model`` by ``init_scale`` (in place),
    so LeCun-normal draws get the standard deviation ``init_scale / sqrt(fan_in)``."""
    init_scale = check_positive("init_scale", init_scale)
    for layer in model.layers[:-1]:
        if isinstance(layer, Dense):
            layer.kernel *= init_scale


class ScaleHiddenKernels(Callback):
    """Applies :func:`scale_hidden_kernels` when training begins, once the weights are drawn."""

    def __init__(self, init_scale):
        self.init_scale = check_positive("init_scale", init_scale)

    def on_train_begin(self, logs=None):
        scale_hidden_kernels(self.model, self.init_scale)


def deep_network(depth=6, activation="relu", batch_norm=False, init_scale=1.0, units=64,
                 bn_momentum=0.99, seed=0, dtype="float32"):
    """The network of :func:`deep_layers`, built for 64 inputs (the digits) in ``dtype``, its
    hidden kernels scaled by ``init_scale`` (1 is LeCun's choice, sqrt(2) He's)."""
    init_scale = check_positive("init_scale", init_scale)
    model = Sequential(deep_layers(depth, activation, batch_norm, units, bn_momentum),
                       seed=seed, dtype=dtype)
    model.build(64)
    scale_hidden_kernels(model, init_scale)
    return model


def forward_with_batch_statistics(model, x):
    """Every layer's output for the batch ``x`` (batch, features), each batch-norm layer
    normalising with the statistics of this batch, as in training; dropout is off.

    A measurement must not change the model, so each BatchNormalization layer's moving
    averages are saved before its training-mode pass and put back after it. Returns a list
    with one array (batch, units) per layer.
    """
    outputs = []
    for layer in model.layers:
        if isinstance(layer, BatchNormalization):
            moving_statistics = layer.get_state()
            x = layer.forward(x, training=True)
            layer.set_state(moving_statistics)
        else:
            x = layer.forward(x, training=False)
        outputs.append(x)
    return outputs


def layer_activations(model, x):
    """What enters and leaves every ``Activation`` layer of ``model`` for the batch ``x``.

    Batch normalization uses the statistics of ``x`` (as in training) without updating its
    moving averages; dropout is off. Returns ``(inputs, outputs)``: two lists with one array
    of shape (batch, units) per activation layer.
    """
    with single_blas_thread():
        outputs = forward_with_batch_statistics(model, x)
    inputs = [x] + outputs[:-1]                       # what enters each layer
    chosen = [i for i, layer in enumerate(model.layers) if isinstance(layer, Activation)]
    return ([np.asarray(inputs[i], dtype=np.float64) for i in chosen],
            [np.asarray(outputs[i], dtype=np.float64) for i in chosen])


def probe_batch(size=256):
    """The fixed batch of training digits on which distributions are measured, (size, 64)."""
    return digits().x_train[:size]


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
        self.every = every if every is not None else np.inf      # None: first and last only
        self.probe = probe
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


@functools.lru_cache(maxsize=32)
def record_distributions(batch_norm, depth=6, activation="relu", init_scale=1.41,
                         learning_rate=0.1, epochs=5, batch_size=64, every=5, seed=0):
    """Train :func:`deep_network` with SGD on the digits and record its activation inputs
    on :func:`probe_batch` every ``every`` steps, or only before and after training if
    ``every`` is None (cached). Returns a :class:`DistributionRecord`."""
    log = _DistributionLog(every, probe_batch())
    _, history = train_on_digits(
        deep_layers(depth, activation, batch_norm, bn_momentum=0.9), SGD(learning_rate),
        epochs=epochs, batch_size=batch_size, seed=seed,
        callbacks=[ScaleHiddenKernels(init_scale), log])      # scaled before the first record
    val = history.history.get("val_accuracy", [float("nan")])
    return DistributionRecord(batch_norm, np.array(log.steps), np.array(log.percentiles),
                              log.first, log.last, float(val[-1]))


def distribution_records(batch_norm, seeds, every=5):
    """:func:`record_distributions` for each seed, as a list. The first seed's run is measured
    every ``every`` steps (the one drawn); the others only before and after training, which
    is all :meth:`DistributionRecord.drift` needs (measuring does not change the training)."""
    return [record_distributions(batch_norm, every=every if i == 0 else None, seed=seed)
            for i, seed in enumerate(seeds)]


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

    @property
    def best_accuracy(self):
        """The highest validation accuracy of any epoch (what early stopping would keep);
        0.1 (chance) if the run diverged."""
        if self.diverged_at is not None or not self.val_accuracy:
            return 0.1
        return max(self.val_accuracy)

    def trained(self, threshold=0.85):
        """Whether the run reached ``threshold`` validation accuracy without diverging.

        Judged by the best epoch, not the last: at a large learning rate the last epoch's
        accuracy swings by several points from one epoch (and one seed) to the next."""
        return self.best_accuracy >= threshold


#: Every training of :func:`train_digits` so far, by its arguments (a cache without limit:
#: each entry is a few dozen numbers).
TRAINING_RUNS = {}


def train_digits(learning_rate, batch_norm, init_scale=1.41, depth=4, epochs=10, n_train=600,
                 batch_size=64, seed=0, bn_momentum=0.9):
    """Train the network of :func:`deep_network` (ReLU, 64 units per layer, hidden kernels
    scaled by ``init_scale``) with plain SGD on ``n_train`` digits; cached, so asking again
    is free. Batch norm uses momentum ``bn_momentum``, 0.9 unless given (100 steps are too
    few for Keras's 0.99, see the section on test time). Returns a :class:`TrainingRun`."""
    learning_rate = check_positive("learning_rate", learning_rate)
    init_scale = check_positive("init_scale", init_scale)
    bn_momentum = check_number("bn_momentum", bn_momentum, low=0.0, high=1.0)
    key = (learning_rate, bool(batch_norm), init_scale, depth, epochs, n_train, batch_size, seed,
           bn_momentum)
    if key in TRAINING_RUNS:
        return TRAINING_RUNS[key]
    # A diverging run overflows before fit notices and stops it.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        _, history = train_on_digits(
            deep_layers(depth, "relu", batch_norm, bn_momentum=bn_momentum), SGD(learning_rate),
            epochs=epochs, batch_size=batch_size, seed=seed, n_train=n_train,
            callbacks=[ScaleHiddenKernels(init_scale)])
    h = history.history
    diverged = history.diverged_at
    run = TrainingRun(learning_rate, bool(batch_norm), init_scale,
                      tuple(h.get("loss", ())), tuple(h.get("val_loss", ())),
                      tuple(h.get("val_accuracy", ())),
                      None if diverged is None else int(diverged[0]) + 1)
    TRAINING_RUNS[key] = run
    return run


def trained_rates(batch_norm, init_scale, seed=0):
    """Learning rates already trained by :func:`train_digits` (default settings otherwise)
    for this batch-norm setting, weight scale and seed, sorted."""
    return sorted(key[0] for key in TRAINING_RUNS
                  if key[1] == bool(batch_norm) and key[2] == float(init_scale)
                  and key[3:] == (4, 10, 600, 64, seed, 0.9))


def learning_rate_sweep(batch_norm, seeds, rates=LEARNING_RATES, init_scale=1.41):
    """:func:`train_digits` for every seed and learning rate: a list (one per seed) of
    lists (one per rate) of :class:`TrainingRun`."""
    return [[train_digits(rate, batch_norm, init_scale, seed=seed) for rate in rates]
            for seed in seeds]


def init_scale_sweep(batch_norm, seeds, scales=INIT_SCALES, learning_rate=0.1):
    """:func:`train_digits` for every seed and weight scale: a list (one per seed) of lists
    (one per scale) of :class:`TrainingRun`."""
    return [[train_digits(learning_rate, batch_norm, scale, seed=seed) for scale in scales]
            for seed in seeds]


def best_accuracies(sweep):
    """The best validation accuracy of every run of a sweep, shape (seeds, values); a
    diverged run counts as chance (0.1)."""
    return np.array([[run.best_accuracy for run in row] for row in sweep])


def best_val_losses(sweep):
    """The lowest validation loss of every run of a sweep, shape (seeds, values); NaN for
    a run that diverged."""
    return np.array([[min(run.val_loss) if run.diverged_at is None and run.val_loss
                      else np.nan for run in row] for row in sweep])


def diverged(sweep):
    """Whether each run of a sweep diverged, shape (seeds, values)."""
    return np.array([[run.diverged_at is not None for run in row] for row in sweep])
