"""Experiments of notebook 05 on the digits: training-set size, augmentation, batch size.

* :func:`learning_curve_run` trains the small digits classifier (:func:`digits_layers`) on
  the first ``n_train`` training digits (pixels in [0, 1]) with
  :func:`course_lib.lessons.digits.train_on_digits`; :func:`augmented_run` trains it on
  those digits plus their one-pixel shifts (:func:`.runs.shift_digits`) for the same number
  of updates.
* :func:`batch_run` trains it with one batch size for a fixed number of updates, the
  learning rate scaled linearly with the batch size or not; :func:`gradient_noise` measures
  how far minibatch gradients fall from the full gradient; :func:`epoch_times` times an
  epoch for each batch size.
"""
from __future__ import annotations

import functools
import math
import time

import numpy as np

from ..._validation import check_choice, check_number, check_positive
from ...layers import Dense
from ...model import Sequential
from ...optimizers import SGD, Adam
from ..digits import digits, train_on_digits
from .runs import check_seed, read_only, shift_digits

#: Training-set sizes of the learning curves (the whole training part holds 1257).
TRAIN_SIZES = (100, 200, 400, 800)
#: Size of the small training set that augmentation enlarges.
SMALL_TRAIN = 200
#: Updates every data-size run makes (32 examples each), whatever the training-set size.
DATA_UPDATES = 400
DATA_LEARNING_RATE = 1e-2
#: Batch sizes compared (Keras's default, 32, and its powers of two up to 512).
BATCH_SIZES = (32, 64, 128, 256, 512)
#: Updates every batch-size run makes, and the learning rate of batch 32 (SGD).
BATCH_UPDATES = 200
BASE_LEARNING_RATE = 0.02
LR_SCALINGS = ("linear", "none")


def digits_layers(hidden=32):
    """The small digits classifier: Dense(hidden, relu) -> Dense(10, softmax)."""
    hidden = check_positive("hidden", hidden, integer=True)
    return [Dense(hidden, activation="relu"), Dense(10, activation="softmax")]


def _epochs_for(updates, n_examples, batch_size):
    return max(1, round(updates / math.ceil(n_examples / batch_size)))


@functools.lru_cache(maxsize=None)
def learning_curve_run(n_train, seed=0):
    """Train the classifier on the first ``n_train`` digits (pixels in [0, 1]) with
    Adam(1e-3), batch 32, for about :data:`DATA_UPDATES` updates; returns the history's
    ``{"loss", "val_loss"}`` per epoch as read-only arrays (cached)."""
    n_train = int(check_number("n_train", n_train, low=1, high=1257, integer=True))
    epochs = _epochs_for(DATA_UPDATES, n_train, 32)
    _, history = train_on_digits(digits_layers(), Adam(DATA_LEARNING_RATE), epochs=epochs,
                                 seed=check_seed(seed), n_train=n_train, standardize=False)
    return {key: read_only(np.array(history.history[key]))[0] for key in ("loss", "val_loss")}


@functools.lru_cache(maxsize=None)
def augmented_run(n_train=SMALL_TRAIN, seed=0):
    """As :func:`learning_curve_run`, on the first ``n_train`` digits and their four
    one-pixel shifts (5 n_train examples), for the same number of updates."""
    n_train = int(check_number("n_train", n_train, low=1, high=1257, integer=True))
    epochs = _epochs_for(DATA_UPDATES, 5 * n_train, 32)        # the same updates on 5x the data
    _, history = train_on_digits(digits_layers(), Adam(DATA_LEARNING_RATE), epochs=epochs,
                                 seed=check_seed(seed), n_train=n_train, standardize=False,
                                 augment=shift_digits)
    return {key: read_only(np.array(history.history[key]))[0] for key in ("loss", "val_loss")}

def batch_learning_rate(batch_size, scaling="linear"):
    """The learning rate of a batch size: :data:`BASE_LEARNING_RATE` at 32, times
    ``batch_size / 32`` with linear scaling, unchanged with ``"none"``."""
    check_choice("scaling", scaling, LR_SCALINGS)
    batch_size = check_positive("batch_size", batch_size, integer=True)
    factor = batch_size / 32 if scaling == "linear" else 1.0
    return BASE_LEARNING_RATE * factor


def updates_per_epoch(batch_size, n_examples=None):
    """ceil(n / batch_size): the optimizer steps of one epoch (the last batch may be short)."""
    n_examples = len(digits().x_train) if n_examples is None else n_examples
    return math.ceil(n_examples / check_positive("batch_size", batch_size, integer=True))


@functools.lru_cache(maxsize=None)
def batch_run(batch_size, scaling="linear", seed=0):
    """Train the classifier (standardized digits, SGD) with ``batch_size`` for about
    :data:`BATCH_UPDATES` updates at :func:`batch_learning_rate`. Returns a dict of
    read-only arrays per epoch: ``loss``, ``val_loss``, ``val_accuracy`` and ``updates``
    (updates made by the end of each epoch). Cached per (batch size, scaling, seed)."""
    batch_size = int(check_positive("batch_size", batch_size, integer=True))
    per_epoch = updates_per_epoch(batch_size)
    epochs = _epochs_for(BATCH_UPDATES, len(digits().x_train), batch_size)
    _, history = train_on_digits(digits_layers(), SGD(batch_learning_rate(batch_size, scaling)),
                                 epochs=epochs, batch_size=batch_size, seed=check_seed(seed))
    h = {key: np.array(history.history[key]) for key in ("loss", "val_loss", "val_accuracy")}
    h["updates"] = per_epoch * np.arange(1, len(h["loss"]) + 1)
    return {key: read_only(value)[0] for key, value in h.items()}


def gradient_noise(batch_sizes=BATCH_SIZES, n_draws=40, seed=0):
    """How far minibatch gradients fall from the full gradient, per batch size.

    At the classifier's initial weights (seeded), the full-batch gradient g of the training
    loss is computed once; then, for each batch size B, ``n_draws`` minibatches of B
    distinct examples are drawn and the root-mean-square of ||g_B - g|| is returned (one
    float per batch size). Sampling theory predicts it proportional to
    sqrt((n - B) / (n - 1)) / sqrt(B) for n training examples.
    """
    split = digits()
    model = Sequential(digits_layers(), seed=check_seed(seed))
    model.compile(SGD(BASE_LEARNING_RATE), "sparse_categorical_crossentropy")
    model.build(split.x_train.shape[1])
    full = _gradient(model, split.x_train, split.y_train)
    rng = np.random.default_rng(seed + 7)
    noise = []
    for batch_size in batch_sizes:
        batch_size = int(check_positive("batch_size", batch_size, integer=True))
        distances = []
        for _ in range(check_positive("n_draws", n_draws, integer=True)):
            chosen = rng.choice(len(split.x_train), size=batch_size, replace=False)
            g = _gradient(model, split.x_train[chosen], split.y_train[chosen])
            distances.append(np.sum((g - full) ** 2))
        noise.append(math.sqrt(np.mean(distances)))
    return np.array(noise)


def _gradient(model, x, y):
    """d loss / d theta of ``model`` on ``(x, y)`` in float64 (a copy)."""
    y_pred = model.forward(x, training=True)
    _, grad = model.loss_and_gradient(y, y_pred)
    model.backward(grad)
    return np.array(model.grad_theta, dtype=np.float64)


def epoch_times(batch_sizes=BATCH_SIZES, epochs=3, seed=0):
    """Seconds per epoch of the classifier's training for each batch size (the best of
    ``epochs`` timed epochs, after one warm-up epoch); machine-dependent."""
    split = digits()
    times = []
    for batch_size in batch_sizes:
        model = Sequential(digits_layers(), seed=check_seed(seed))
        model.compile(SGD(BASE_LEARNING_RATE), "sparse_categorical_crossentropy")
        model.fit(split.x_train, split.y_train, epochs=1, batch_size=batch_size, verbose=0)
        best = math.inf
        for _ in range(check_positive("epochs", epochs, integer=True)):
            start = time.perf_counter()
            model.fit(split.x_train, split.y_train, epochs=1, batch_size=batch_size, verbose=0)
            best = min(best, time.perf_counter() - start)
        times.append(best)
    return np.array(times)
