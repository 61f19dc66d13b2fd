"""Experiments of the notebook on generalization and regularization.

Each experiment is a small function the notebook calls and shows, so the code read is the
code run; :mod:`.figures` draws the results and :mod:`.explorers` lets a learner vary them.

* The overfitting problem (shared with the dropout notebook): :func:`fit_moons` trains
  :func:`moons_network` (hidden ReLU layers on noisy "moons" points) with an optional
  dropout rate, regularizer, constraint or optimizer, and records the training loss
  re-measured after every epoch (:class:`TrainingSetLoss`). :func:`train_moons` is its
  cached version. A seed draws the data set (:func:`moons_data`) as well as the weights.
* Regularizers: :func:`train_regularized` (cached) trains the overfitting network with one
  kind of regularization (:data:`REGULARIZER_KINDS`) at one strength.
* Data: :func:`shift_digits`, the one-pixel shifts that augment the digits; the digits
  experiments themselves (learning curves, augmentation, batch size) are in :mod:`.digit_runs`.
* :func:`summary` prints a result measured over seeds as its median and quartiles.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from ... import data
from ..._validation import check_choice, check_fraction, check_number, check_positive
from ...callbacks import Callback
from ...constraints import max_norm
from ...layers import Dense, Dropout
from ...model import Sequential
from ...optimizers import Adam
from ...regularizers import l1, l2
from ..seeds import spread

BATCH_SIZE = 32


def summary(values, decimals=2):
    """``"median [lower quartile, upper quartile]"`` of values measured over seeds, with
    ``decimals`` decimals: the way the notebooks print a result that rests on several seeds."""
    s = spread(values)
    return f"{s.median:.{decimals}f} [{s.low:.{decimals}f}, {s.high:.{decimals}f}]"


def check_seed(seed):
    """``seed`` as an int, or a ValueError naming it: a non-negative integer is allowed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}.")
    return int(seed)


def read_only(*arrays):
    """The arrays, made read-only: cached results are shared by every caller."""
    for a in arrays:
        a.setflags(write=False)
    return arrays


# ------------------------------------------------------------------ the overfitting problem

#: Training points, validation points and noise of the two-moons problem.
MOONS_TRAIN, MOONS_VAL, MOONS_NOISE = 100, 300, 0.3
#: Region of the plane drawn in decision-region figures (x1 min, x1 max, x2 min, x2 max).
MOONS_EXTENT = (-2.0, 3.0, -1.7, 2.2)
HIDDEN_UNITS = 128
DEPTH = 2
MOONS_EPOCHS = 120
MOONS_LEARNING_RATE = 3e-3
#: Hidden-layer widths of the width sweep (two hidden layers).
WIDTHS = (2, 8, 32, 128)
#: Numbers of hidden layers of the depth sweep.
DEPTHS = (1, 2, 3)
#: Training-set sizes offered by the capacity explorer.
TRAIN_SIZES = (50, 100, 150)


def moons_data(seed=0, n_train=MOONS_TRAIN):
    """The overfitting problem drawn with ``seed``: ``(x_train, y_train, x_val, y_val)``.

    ``n_train`` (100 by default) training and 300 validation points of two noisy
    interleaving half circles (noise 0.3, so the classes overlap and no boundary is
    perfect). x float64 (n, 2), y int64 (n,); read-only (shared by every caller).
    """
    n_train = check_number("n_train", n_train, low=2, high=10_000, integer=True)
    return _moons_data(check_seed(seed), int(n_train))


@functools.lru_cache(maxsize=None)
def _moons_data(seed, n_train):
    # Two streams per seed (2 * seed, 2 * seed + 1): no seed's validation set is another's
    # training set.
    x_train, y_train = data.make_moons(n_train, noise=MOONS_NOISE, seed=2 * seed)
    x_val, y_val = data.make_moons(MOONS_VAL, noise=MOONS_NOISE, seed=2 * seed + 1)
    return read_only(x_train, y_train, x_val, y_val)


def moons_network(rate=0.0, hidden=HIDDEN_UNITS, seed=0, kernel_regularizer=None,
                  kernel_constraint=None, depth=DEPTH):
    """``depth`` hidden ReLU layers of ``hidden`` units, each followed by ``Dropout(rate)``
    when ``rate > 0``, and a 2-class softmax output. Regularizer and constraint apply to the
    hidden kernels. Returns an uncompiled :class:`Sequential` (seeded)."""
    rate = check_fraction("rate", rate)
    hidden = check_positive("hidden", hidden, integer=True)
    depth = check_positive("depth", depth, integer=True)
    layers = []
    for _ in range(depth):
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
    re-measured with dropout off, ``val_loss`` the validation loss; all per epoch, all with
    the penalty included when there is one (as Keras reports them).
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
        """Class probabilities of the final model at ``points`` (m, 2) -> (m, 2), cached
        (an explorer asks again for the same grid every time a setting comes back)."""
        key = (points.shape, hash(np.ascontiguousarray(points).tobytes()))
        if key not in self._probs:
            self._probs[key] = self.model.predict(points).astype(np.float64)
        return self._probs[key]


def fit_moons(rate=0.0, hidden=HIDDEN_UNITS, seed=0, epochs=MOONS_EPOCHS,
              kernel_regularizer=None, kernel_constraint=None, callbacks=(), verbose=0,
              depth=DEPTH, n_train=MOONS_TRAIN, optimizer=None):
    """Train :func:`moons_network` on :func:`moons_data` with ``optimizer`` (default
    Adam(3e-3)), batch 32, and return a :class:`MoonsRun`. ``seed`` draws the data, the
    weights and the shuffling.

    Extra ``callbacks`` (e.g. ``EarlyStopping``) run after the training-set re-measurement.
    """
    x_train, y_train, x_val, y_val = moons_data(seed, n_train)
    model = moons_network(rate, hidden, seed, kernel_regularizer, kernel_constraint, depth)
    model.compile(optimizer or Adam(MOONS_LEARNING_RATE), "sparse_categorical_crossentropy")
    remeasure = TrainingSetLoss(x_train, y_train)
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=BATCH_SIZE,
                        validation_data=(x_val, y_val), callbacks=[remeasure, *callbacks],
                        verbose=verbose)
    h = history.history
    return MoonsRun(rate=float(rate), hidden=int(hidden), model=model,
                    logged_loss=np.array(h["loss"]), train_loss=np.array(remeasure.losses),
                    val_loss=np.array(h["val_loss"]))


@functools.lru_cache(maxsize=None)
def _train_moons_cached(rate, hidden, seed, depth, n_train):
    return fit_moons(rate, hidden, seed, depth=depth, n_train=n_train)


def train_moons(rate=0.0, hidden=HIDDEN_UNITS, seed=0, depth=DEPTH, n_train=MOONS_TRAIN):
    """:func:`fit_moons` with the default epochs, cached per (rate, hidden, seed, depth,
    n_train).

    The rate is rounded to 2 decimals, so slider values such as 0.30000000000000004 share
    the run of 0.3.
    """
    rate = round(float(check_fraction("rate", rate)), 2)
    return _train_moons_cached(rate, int(check_positive("hidden", hidden, integer=True)),
                               check_seed(seed), int(check_positive("depth", depth, integer=True)),
                               int(check_number("n_train", n_train, low=2, high=10_000,
                                                integer=True)))


# ------------------------------------------------------------------ regularizers

#: The kinds of regularization the notebook compares on the overfitting network.
REGULARIZER_KINDS = ("none", "l2", "l1", "weight_decay", "max_norm")
#: Strengths of each kind, from the weakest to the strongest (the l1/l2 factor, the
#: decoupled weight decay of Adam, the max-norm radius r: a smaller radius restrains more).
STRENGTHS = {
    "none": (0.0,),
    "l2": (1e-4, 1e-3, 1e-2, 3e-2),
    "l1": (1e-5, 1e-4, 1e-3, 1e-2),
    "weight_decay": (0.004, 0.1, 1.0, 10.0),
    "max_norm": (4.0, 2.0, 1.0, 0.5),
}


def regularized_fit_arguments(kind, strength):
    """The keyword arguments of :func:`fit_moons` for one kind of regularization:
    ``kernel_regularizer=l2(s)`` or ``l1(s)``, ``optimizer=Adam(3e-3, weight_decay=s)``
    (decoupled, AdamW), ``kernel_constraint=max_norm(s)``, or nothing for ``"none"``."""
    kind = check_choice("kind", kind, REGULARIZER_KINDS)
    if kind == "none":
        return {}
    strength = check_number("strength", strength, low=0.0, low_inclusive=False)
    return {"l2": {"kernel_regularizer": l2(strength)},
            "l1": {"kernel_regularizer": l1(strength)},
            "weight_decay": {"optimizer": Adam(MOONS_LEARNING_RATE, weight_decay=strength)},
            "max_norm": {"kernel_constraint": max_norm(strength)}}[kind]


def train_regularized(kind, strength=0.0, seed=0):
    """The overfitting network (two layers of 128, 120 epochs) trained with one kind of
    regularization at one strength (see :func:`regularized_fit_arguments`); cached per
    (kind, strength, seed). ``"none"`` is :func:`train_moons`'s baseline run itself."""
    kind = check_choice("kind", kind, REGULARIZER_KINDS)
    if kind == "none":
        return train_moons(0.0, seed=seed)
    return _train_regularized(kind, float(check_number("strength", strength, low=0.0,
                                                        low_inclusive=False)), check_seed(seed))


@functools.lru_cache(maxsize=None)
def _train_regularized(kind, strength, seed):
    return fit_moons(0.0, seed=seed, **regularized_fit_arguments(kind, strength))


def hidden_kernel(run):
    """The 128 x 128 kernel between the two hidden layers of a moons run (a copy)."""
    dense = [layer for layer in run.model.layers if isinstance(layer, Dense)]
    return np.array(dense[1].kernel, dtype=np.float64)


def weight_norm(run):
    """Euclidean norm of all the kernels of a moons run, taken together."""
    return float(np.sqrt(sum(np.sum(np.asarray(layer.kernel, dtype=np.float64) ** 2)
                             for layer in run.model.layers if isinstance(layer, Dense))))


def fraction_near_zero(run, tolerance=1e-3):
    """Fraction of the hidden kernel's weights whose size is below ``tolerance``."""
    return float(np.mean(np.abs(hidden_kernel(run)) < tolerance))


def longest_column(run):
    """Length of the longest incoming weight vector of a hidden unit (the hidden kernels'
    longest column)."""
    dense = [layer for layer in run.model.layers if isinstance(layer, Dense)][:-1]
    return float(max(np.linalg.norm(layer.kernel, axis=0).max() for layer in dense))


def best_validation(runs):
    """Each run's lowest validation loss: the best that early stopping reaches."""
    return np.array([run.val_loss.min() for run in runs])


# ------------------------------------------------------------------ data: augmentation

def shift_digits(images, labels, side=8):
    """One-pixel shifts of flattened square images: the data augmentation of the digits.

    Each image (a row of ``side * side`` pixels, background 0) is returned as it is and
    moved by one pixel up, down, left and right; the pixels that enter are background (0)
    and those that leave are dropped. The labels are repeated to match.

    Args:
        images: (n, side * side) pixels, background 0 (the digits with ``standardize=False``).
        labels: (n,) class labels.

    Returns:
        ``(images, labels)`` with 5 n rows: the originals first, then each shift in turn.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 2 or images.shape[1] != side * side:
        raise ValueError(f"images must have shape (n, {side * side}); got {images.shape}.")
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},); got {labels.shape}.")
    square = images.reshape(-1, side, side)
    shifted = [square]
    for axis, step in ((1, -1), (1, 1), (2, -1), (2, 1)):      # up, down, left, right
        moved = np.roll(square, step, axis=axis)
        edge = 0 if step == 1 else -1                          # the row or column that wrapped
        if axis == 1:
            moved[:, edge, :] = 0
        else:
            moved[:, :, edge] = 0
        shifted.append(moved)
    return (np.concatenate(shifted).reshape(-1, side * side),
            np.tile(labels, len(shifted)))
