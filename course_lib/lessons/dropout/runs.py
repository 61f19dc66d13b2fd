"""Experiments of the notebook on dropout: the runs and the numbers they return.

Each experiment is a small function the notebook calls and shows, so the code read is the
code run; :mod:`.figures` draws the results and :mod:`.explorers` lets a learner vary them.

* The overfitting problem is notebook 05's (:mod:`course_lib.lessons.generalization.runs`):
  :func:`fit_moons` trains :func:`moons_network` (two hidden layers of 128 ReLU units on 100
  noisy "moons" points) with an optional dropout rate and records the training loss
  re-measured with dropout off after every epoch (:class:`TrainingSetLoss`);
  :func:`train_moons` is its cached version. A seed draws the data as well as the weights.
* Masks: :func:`layer_activations` (a real hidden layer's activations),
  :func:`apply_dropout` (the library's layer in training mode, with its mask) and
  :func:`average_over_masks`.
* Alpha dropout: :func:`selu_statistics` sends standard-normal inputs through a deep
  self-normalizing (SELU, LeCun-normal) network in training mode, with no dropout, plain
  ``Dropout`` or ``AlphaDropout``, and returns each layer's activation mean and variance.
* Monte Carlo dropout: :func:`mc_dropout_passes` makes many stochastic forward passes with
  only the dropout layers in training mode; :func:`fit_mc_regression` fits the 1-D
  regression network (its data drawn from the same seed as its weights);
  :func:`digits_layers` is the digits classifier (trained with
  :func:`course_lib.lessons.digits.train_on_digits`); :func:`mc_predictions` turns the
  passes into a prediction and its uncertainty; :func:`refusal_curve` measures the
  accuracy that is left when the most uncertain predictions are refused.
* :func:`summary` (notebook 05's) prints a result over seeds as its median and quartiles.
"""
from __future__ import annotations

import functools

import numpy as np

from ... import data
from ..._threads import single_blas_thread
from ..._validation import check_array, check_choice, check_fraction, check_number, check_positive
from ...layers import AlphaDropout, Dense, Dropout
from ...model import Sequential
from ...optimizers import Adam
from ..digits import digits
from ..generalization.runs import (BATCH_SIZE, HIDDEN_UNITS, MOONS_EPOCHS, MOONS_EXTENT,  # noqa: F401
                                   MOONS_LEARNING_RATE, MOONS_NOISE, MOONS_TRAIN, MOONS_VAL,
                                   MoonsRun, TrainingSetLoss, check_seed, fit_moons, moons_data,
                                   moons_network, read_only, summary, train_moons)

# The overfitting problem (the moons, the network, its runs) is notebook 05's; this notebook
# trains the same network with dropout.
_check_seed, _read_only = check_seed, read_only


# ------------------------------------------------------------------ masks

@functools.lru_cache(maxsize=None)
def layer_activations(n_examples=8, units=20, seed=0):
    """A hidden layer's activations on real inputs: ``Dense(units, sigmoid)`` applied to the
    first ``n_examples`` standardized test digits. Sigmoid units are all positive, so every
    unit shows a bar. float64 (n_examples, units), read-only."""
    x_test = digits().x_test
    n_examples = check_number("n_examples", n_examples, low=1, high=len(x_test), integer=True)
    layer = Dense(units, activation="sigmoid", seed=seed)
    h = layer.forward(x_test[:n_examples].astype(np.float64))
    return _read_only(h)[0]


def apply_dropout(h, rate, seed):
    """The library's ``Dropout(rate, seed)`` in training mode: ``(output, mask)``, where the
    mask holds 0 for dropped units and ``1 / (1 - rate)`` for kept ones (all ones at rate 0)."""
    layer = Dropout(rate, seed=seed)
    out = layer.forward(h, training=True)
    mask = np.ones_like(h) if layer.mask is None else layer.mask
    return out, mask


def average_over_masks(h_row, rate, n_masks=2000, seed=0):
    """Mean of ``Dropout(rate)`` applied to one activation vector over ``n_masks`` masks:
    the Monte Carlo estimate of the expected output, (units,)."""
    n_masks = check_positive("n_masks", n_masks, integer=True)
    batch = np.repeat(np.asarray(h_row, dtype=np.float64)[None, :], n_masks, axis=0)
    out, _ = apply_dropout(batch, rate, seed + 10_000)
    return out.mean(axis=0)


# ------------------------------------------------------------------ alpha dropout

DROPOUT_KINDS = ("no dropout", "Dropout", "AlphaDropout")
_DROPOUT_LAYERS = {"Dropout": Dropout, "AlphaDropout": AlphaDropout}


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
            if kind in _DROPOUT_LAYERS:
                h = _DROPOUT_LAYERS[kind](rate, seed=seed + 1000 + i).forward(h, training=True)
            h = Dense(width, activation="selu", kernel_initializer="lecun_normal",
                      seed=seed + i).forward(h)
            means[i], variances[i] = h.mean(), h.var()
    return means, variances


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
    with single_blas_thread():        # as in fit and predict: these matrices are too small to share
        for _ in range(n_samples):
            out = x
            for layer in model.layers:
                out = layer.forward(out, training=isinstance(layer, (Dropout, AlphaDropout)))
            passes.append(out)
    return np.stack(passes)


MC_MAX_SAMPLES = 200
MC_EPOCHS = 150
#: Where the MC regression is evaluated: the data cover [-3, 3] only.
MC_GRID = np.linspace(-6.0, 6.0, 121)
MC_DATA_RANGE = (-3.0, 3.0)


def regression_data(seed=0):
    """60 noisy samples of :func:`course_lib.data.true_function` on [-3, 3] (noise 0.1),
    drawn with ``seed``: ``(x (60, 1), y (60, 1))``, float64, read-only."""
    return _regression_data(_check_seed(seed))


@functools.lru_cache(maxsize=None)
def _regression_data(seed):
    x, y = data.make_regression_1d(60, noise=0.1, x_range=MC_DATA_RANGE, seed=seed)
    return _read_only(x, y)


def regression_network(rate=0.1, seed=0):
    """1 -> 64 ELU -> Dropout -> 64 ELU -> Dropout -> 1 (linear output), seeded."""
    rate = check_fraction("rate", rate)
    return Sequential([Dense(64, activation="elu"), Dropout(rate),
                       Dense(64, activation="elu"), Dropout(rate), Dense(1)], seed=seed)


def fit_mc_regression(rate=0.1, seed=0, epochs=MC_EPOCHS):
    """Train :func:`regression_network` on :func:`regression_data` (Adam 0.01, MSE,
    batch 32; ``seed`` draws the data and the weights) and return the model."""
    x, y = regression_data(seed)
    model = regression_network(rate, seed)
    model.compile(Adam(0.01), "mse")
    model.fit(x, y, epochs=epochs, batch_size=BATCH_SIZE, verbose=0)
    return model


def train_mc_regression(rate=0.1, seed=0):
    """:func:`fit_mc_regression`, cached per (rate, seed)."""
    return _train_mc_regression(float(check_fraction("rate", rate)), _check_seed(seed))


@functools.lru_cache(maxsize=None)
def _train_mc_regression(rate, seed):
    return fit_mc_regression(rate, seed)


def mc_grid_passes(rate=0.1, seed=0):
    """:data:`MC_MAX_SAMPLES` MC dropout passes of the cached regression network on
    :data:`MC_GRID`: float64 (200, 121), read-only, cached per (rate, seed)."""
    return _mc_grid_passes(float(check_fraction("rate", rate)), _check_seed(seed))


@functools.lru_cache(maxsize=None)
def _mc_grid_passes(rate, seed):
    model = train_mc_regression(rate, seed)
    # One pass over 200 stacked copies of the grid draws an independent mask for every row,
    # which is exactly 200 separate passes, in one matrix product per layer instead of 200.
    stacked = np.tile(MC_GRID[:, None], (MC_MAX_SAMPLES, 1))
    with single_blas_thread():
        passes = mc_dropout_passes(model, stacked, 1)[0, :, 0]
    return _read_only(passes.reshape(MC_MAX_SAMPLES, len(MC_GRID)).astype(np.float64))[0]


def near_and_far(grid=MC_GRID, data_range=MC_DATA_RANGE, far=5.0):
    """Boolean masks over ``grid``: inside the data range, and farther than ``far`` from 0."""
    low, high = data_range
    return (grid >= low) & (grid <= high), np.abs(grid) >= far


# ------------------------------------------------------------------ MC dropout on digits

def digits_layers(rate=0.2):
    """The digits classifier of the source material's Keras example, as a list of layers:
    Dropout(rate) before each Dense layer (Dense 256 and 128 ELU with He initialization,
    softmax output). No dropout layers when ``rate == 0``."""
    rate = check_fraction("rate", rate)
    layers = []
    for units in (256, 128):
        if rate > 0:
            layers.append(Dropout(rate))
        layers.append(Dense(units, activation="elu", kernel_initializer="he_normal"))
    if rate > 0:
        layers.append(Dropout(rate))
    layers.append(Dense(10, activation="softmax"))
    return layers


def mc_predictions(model, x, n_samples=100):
    """The Monte Carlo dropout prediction of a classifier from ``n_samples`` passes.

    Returns ``(y_proba, predicted, uncertainty)``: the mean class probabilities over the
    passes (n, classes), the class with the highest mean (n,), and the standard deviation
    over the passes of that class's probability (n,), larger when the passes disagree.
    """
    y_probas = mc_dropout_passes(model, x, n_samples)
    y_proba, y_std = y_probas.mean(axis=0), y_probas.std(axis=0)
    predicted = y_proba.argmax(axis=1)
    return y_proba, predicted, y_std[np.arange(len(predicted)), predicted]


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
