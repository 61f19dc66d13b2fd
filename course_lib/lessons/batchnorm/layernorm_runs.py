"""Experiments of the notebook's section on layer normalization.

* :func:`normalized_batch` -- one small batch of Dense outputs whose features have very
  different means and spreads, normalized both ways (the figure of the two axes);
* :func:`small_batch_run` -- a one-hidden-layer network ``Dense -> [Batch|Layer]Normalization
  -> ReLU -> Dense(10, softmax)`` trained on the digits with a given batch size, cached;
  :func:`small_batch_comparison` repeats it over batch sizes and seeds and returns the best
  validation accuracy and loss of every run as arrays (seeds, batch sizes).

Both layers are compared at equal epochs (each run sees every training example as often),
with Adam at one rate: it takes the fewest steps (batches of 32) about as far in 3 epochs as
the most (batches of 2), where plain SGD at one rate would leave the large batches behind
and mix that effect into the comparison.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._validation import check_choice, check_positive
from ...layers import Activation, BatchNormalization, Dense, LayerNormalization
from ...optimizers import Adam
from ..digits import digits, train_on_digits

#: The two layers compared, by the name the notebook prints.
NORMALIZATIONS = ("batch norm", "layer norm")
#: Batch sizes of the comparison: tiny ones, where a batch's statistics are noisy, and 32.
SMALL_BATCH_SIZES = (2, 4, 8, 32)
#: Settings shared by every run of the comparison (epochs over ``N_TRAIN`` digits).
N_TRAIN, EPOCHS, UNITS, LEARNING_RATE = 500, 3, 32, 0.01
#: Batch norm's momentum: the shortest runs (32 per batch: 48 steps) are too short for 0.99.
BN_MOMENTUM = 0.9


def normalization_layer(name):
    """A fresh ``BatchNormalization(momentum=0.9)`` (``"batch norm"``) or
    ``LayerNormalization()`` (``"layer norm"``)."""
    name = check_choice("name", name, NORMALIZATIONS)
    return BatchNormalization(momentum=BN_MOMENTUM) if name == "batch norm" else LayerNormalization()


def normalized_batch(n_examples=8, n_features=6, seed=0):
    """A batch of Dense outputs for ``n_examples`` digits, with features put on different
    scales and offsets (as a layer's units often are), and the two normalizations of it.

    Returns a dict: ``z`` (examples, features), ``batch_norm`` (each column normalized over
    the batch, training mode) and ``layer_norm`` (each row normalized over its features).
    """
    n_examples = check_positive("n_examples", n_examples, integer=True)
    n_features = check_positive("n_features", n_features, integer=True)
    x = digits().x_train[:n_examples].astype(np.float64)
    rng = np.random.default_rng(seed)
    dense = Dense(n_features, use_bias=False, seed=seed)
    z = dense.forward(x) * rng.uniform(0.3, 3.0, n_features) + rng.normal(0.0, 2.0, n_features)
    return {"z": z,
            "batch_norm": BatchNormalization().forward(z, training=True),
            "layer_norm": LayerNormalization().forward(z)}


@dataclass(frozen=True)
class SmallBatchRun:
    """One training run: its settings and its validation curves (one value per epoch)."""

    normalization: str
    batch_size: int
    seed: int
    val_loss: tuple
    val_accuracy: tuple

    @property
    def best_val_accuracy(self):
        """The best validation accuracy over the epochs (what early stopping keeps)."""
        return max(self.val_accuracy)

    @property
    def best_val_loss(self):
        """The lowest validation loss over the epochs."""
        return min(self.val_loss)


_RUNS = {}


def small_batch_run(normalization, batch_size, seed=0):
    """Train ``Dense(32, no bias) -> normalization -> ReLU -> Dense(10, softmax)`` with
    ``Adam(0.01)`` for 3 epochs on 500 digits, ``batch_size`` examples per step; cached,
    so asking again is free. Returns a :class:`SmallBatchRun`."""
    normalization = check_choice("normalization", normalization, NORMALIZATIONS)
    batch_size = check_positive("batch_size", batch_size, integer=True)
    key = (normalization, batch_size, seed)
    if key not in _RUNS:
        layers = [Dense(UNITS, use_bias=False), normalization_layer(normalization),
                  Activation("relu"), Dense(10, activation="softmax")]
        _, history = train_on_digits(layers, Adam(LEARNING_RATE), epochs=EPOCHS,
                                     batch_size=batch_size, seed=seed, n_train=N_TRAIN)
        h = history.history
        _RUNS[key] = SmallBatchRun(normalization, batch_size, seed,
                                   tuple(h["val_loss"]), tuple(h["val_accuracy"]))
    return _RUNS[key]


def small_batch_comparison(seeds, batch_sizes=SMALL_BATCH_SIZES):
    """:func:`small_batch_run` for both layers, every batch size and every seed.

    Returns a dict: name -> {"accuracy": array (seeds, batch sizes) of the best validation
    accuracies, "loss": the same for the best validation losses}.
    """
    results = {}
    for name in NORMALIZATIONS:
        runs = [[small_batch_run(name, b, seed) for b in batch_sizes] for seed in seeds]
        results[name] = {
            "accuracy": np.array([[r.best_val_accuracy for r in row] for row in runs]),
            "loss": np.array([[r.best_val_loss for r in row] for row in runs]),
        }
    return results
