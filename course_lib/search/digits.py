"""The course's digits network as a search objective.

``DigitsObjective()(params)`` trains a 64-h-10 network (ReLU, dropout, L2 on the kernels,
Adam) on the shipped digits and returns its validation loss (cross-entropy, without the
weight penalty): the number every strategy of the notebook tries to make small.
``DigitsObjective()(params, budget)`` trains for ``budget`` epochs (successive halving and
Hyperband). The object is small and picklable, so it runs in "caviar" worker processes too.
"""
from __future__ import annotations

import functools
import os
import time

import numpy as np

from .._validation import check_number, check_positive
from ..data import digits_splits
from ..layers import Dense, Dropout
from ..losses import SparseCategoricalCrossentropy
from ..model import Sequential
from ..optimizers import Adam
from ..regularizers import l2
from .space import Integer, Real

__all__ = ["DIGITS_SPACE", "DIGITS_DEFAULTS", "DigitsObjective", "build_digits_network",
           "digits_split"]

#: The four hyperparameters the notebook tunes, each on its natural scale.
DIGITS_SPACE = {
    "learning_rate": Real(1e-4, 1.0, log=True),
    "hidden_units": Integer(16, 256, log=True),
    "l2": Real(1e-6, 1e-1, log=True),
    "dropout": Real(0.0, 0.6),
}

#: A reasonable hand-tuned starting point (Keras's default learning rate for Adam).
DIGITS_DEFAULTS = {"learning_rate": 1e-3, "hidden_units": 64, "l2": 1e-4, "dropout": 0.2}


@functools.lru_cache(maxsize=4)
def digits_split(n_train=None):
    """The course's digits split (``course_lib.data.digits_splits``, standardized), its
    training part cut to ``n_train`` examples; the arrays are read-only.

    Cached because a search trains the same split dozens of times, and each worker process
    of a parallel search loads it once; four entries cover the sizes the notebook uses.
    (The notebooks' own cache, ``course_lib.lessons.digits``, sits above the core, which
    cannot import it.)
    """
    split = digits_splits(n_train=n_train)
    for array in split:
        array.setflags(write=False)
    return split


def build_digits_network(params, seed=0):
    """An uncompiled ``Sequential``: Dense(h, relu, L2) -> Dropout -> Dense(10, softmax)."""
    hidden = check_positive("hidden_units", params["hidden_units"], integer=True)
    layers = [Dense(hidden, activation="relu", kernel_initializer="he_uniform",
                    kernel_regularizer=l2(params["l2"]))]
    if params.get("dropout", 0.0) > 0:
        layers.append(Dropout(params["dropout"]))
    layers.append(Dense(10, activation="softmax", kernel_regularizer=l2(params["l2"])))
    return Sequential(layers, seed=seed)


class DigitsObjective:
    """Validation loss of the digits network trained with the given hyperparameters.

    Parameters
    ----------
    epochs : int
        Epochs of a full training (the budget-based strategies pass their own).
    n_train : int or None
        Training examples used (a prefix of the course's training split; None: all 1,257).
    batch_size : int
    seed : int
        Seed of the weights, dropout masks and shuffling: the same params give the same score.
    """

    def __init__(self, epochs=12, n_train=600, batch_size=64, seed=0):
        self.epochs = check_positive("epochs", epochs, integer=True)
        self.n_train = None if n_train is None else check_positive("n_train", n_train, integer=True)
        self.batch_size = check_positive("batch_size", batch_size, integer=True)
        self.seed = seed

    def train(self, params, epochs=None, verbose=0):
        """Train one network; returns ``(model, history)``. A diverging run stops and keeps
        the weights of its last finite epoch (``history.diverged_at`` says where)."""
        learning_rate = check_number("learning_rate", params["learning_rate"],
                                     low=0, low_inclusive=False)
        split = digits_split(self.n_train)
        model = build_digits_network(params, seed=self.seed)
        model.compile(Adam(learning_rate=learning_rate), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(split.x_train, split.y_train, epochs=epochs or self.epochs,
                            batch_size=self.batch_size, validation_data=(split.x_val, split.y_val),
                            verbose=verbose, on_divergence="stop")
        return model, history

    def validation_loss(self, model):
        """Mean cross-entropy of the validation split (no weight penalty)."""
        split = digits_split(self.n_train)
        with np.errstate(over="ignore", invalid="ignore"):
            loss = SparseCategoricalCrossentropy()(split.y_val, model.predict(split.x_val))
        return float(loss) if np.isfinite(loss) else float("inf")

    def warm_up(self, seconds=0.2):
        """Load the data in this process, then wait
        ``seconds`` (so that one warm-up call per worker of a pool lands on each worker).
        Returns the process id."""
        digits_split(self.n_train)
        time.sleep(seconds)
        return os.getpid()

    def __call__(self, params, budget=None):
        epochs = self.epochs if budget is None else max(1, int(round(budget)))
        model, _ = self.train(params, epochs=epochs)
        return self.validation_loss(model)

    def __repr__(self):
        return (f"DigitsObjective(epochs={self.epochs}, n_train={self.n_train}, "
                f"batch_size={self.batch_size}, seed={self.seed})")
