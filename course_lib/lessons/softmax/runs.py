"""The numbers of the notebook on softmax, output layers and losses.

* :func:`softmax_with_temperature` and :func:`loss_for_class` -- the worked example's
  probabilities and loss, for any scores and temperature;
* :func:`toy_dataset`, :func:`toy_model` and :func:`fit_toy_classifier` (cached as
  :func:`train_toy_classifier`) -- softmax regression or a one-hidden-layer network fitted
  to 2-D data with the course's ``Sequential``, keeping the weights after every step, so
  that a figure can show any step without retraining.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

import numpy as np

from ... import activations, data, losses
from ..._validation import check_choice, check_number, check_positive
from ...callbacks import Callback
from ...layers import Dense
from ...model import Sequential
from ...optimizers import Adam

#: The four classes of the worked example (the source material's cat / dog / chick / other).
CLASS_NAMES = ("cat", "dog", "chick", "other")

#: The scores of the worked example, one per class of :data:`CLASS_NAMES`.
WORKED_SCORES = (5.0, 2.0, -1.0, 3.0)

#: Models of the decision-region explorer.
MODEL_NAMES = ("softmax regression", "one hidden layer")

#: 2-D datasets of the decision-region explorer.
DATASET_NAMES = ("blobs", "spirals")

HIDDEN_UNITS = 32
TOY_SAMPLES = 240
TOY_MAX_STEPS = 300
TOY_LEARNING_RATE = 0.05


def softmax_with_temperature(scores, temperature=1.0):
    """``softmax(z / T)`` of a score vector or batch; shape (..., classes) -> same shape.

    T = 1 is the plain softmax; T < 1 sharpens the distribution toward the largest score,
    T > 1 flattens it toward uniform.
    """
    temperature = check_positive("temperature", temperature)
    return activations.softmax(np.asarray(scores, dtype=np.float64) / temperature)


def loss_for_class(scores, true_class, temperature=1.0):
    """Cross-entropy ``-log softmax(z / T)[true_class]`` of one score vector, computed from
    the logits with log-sum-exp (exact even when the probability underflows)."""
    temperature = check_positive("temperature", temperature)
    z = np.asarray(scores, dtype=np.float64).reshape(1, -1) / temperature
    true_class = check_number("true_class", true_class, low=0, high=z.shape[1] - 1, integer=True)
    return losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([true_class]), z)


# ------------------------------------------------------------------- toy training

class WeightSnapshots(Callback):
    """Keeps a copy of the model's weights after every epoch (one step on a full batch)."""

    def __init__(self):
        self.snapshots = []

    def on_epoch_end(self, epoch, logs=None):
        self.snapshots.append(self.model.get_weights())


def toy_dataset(dataset, n_classes, seed=0):
    """Standardized 2-D data: ``(x float32 (240, 2), y int64 (240,))``.

    "blobs": round clusters that straight lines separate well; "spirals": interleaved arms
    that no straight line separates. Standardizing keeps both features on the same scale,
    which lets one learning rate suit every weight.
    """
    check_choice("dataset", dataset, DATASET_NAMES)
    n_classes = check_number("n_classes", n_classes, low=2, high=5, integer=True)
    if dataset == "blobs":
        x, y = data.make_blobs(TOY_SAMPLES, n_classes, spread=1.5, seed=seed)
    else:
        x, y = data.make_spirals(TOY_SAMPLES, n_classes, noise=0.15, seed=seed)
    x = data.Standardizer().fit_transform(x).astype(np.float32)
    return x, y


def toy_model(model, n_classes, seed=0):
    """A ``Sequential`` classifier for 2-D inputs.

    "softmax regression": one Dense layer with K softmax outputs; "one hidden layer": 32 ReLU
    units (He initialisation) first. In both the output layer starts with zero weights, so
    every class starts at probability 1/K and the loss at ln K. (Zeros are safe in the output
    layer: the hidden layer's random weights already make its units differ.)
    """
    check_choice("model", model, MODEL_NAMES)
    if model == "softmax regression":
        layers = [Dense(n_classes, activation="softmax", kernel_initializer="zeros")]
    else:
        layers = [Dense(HIDDEN_UNITS, activation="relu", kernel_initializer="he_uniform"),
                  Dense(n_classes, activation="softmax", kernel_initializer="zeros")]
    net = Sequential(layers, seed=seed)
    net.compile(Adam(TOY_LEARNING_RATE), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return net


@dataclass
class ToyRun:
    """A trained toy classifier: data, losses and weights after every step (0..steps)."""

    dataset: str
    n_classes: int
    model_name: str
    x: np.ndarray
    y: np.ndarray
    losses: np.ndarray        # (steps + 1,): losses[s] is the loss after s steps
    accuracies: np.ndarray    # (steps + 1,)
    snapshots: list           # steps + 1 weight lists
    model: Sequential
    _probs: dict = field(default_factory=dict, repr=False)

    MAX_CACHED_GRIDS = 8

    @property
    def steps(self):
        return len(self.losses) - 1

    def predict(self, points, step=None):
        """Class probabilities (n, K) of ``points`` (n, 2) after ``step`` steps (default: all)."""
        step = self.steps if step is None else int(np.clip(step, 0, self.steps))
        self.model.set_weights(self.snapshots[step])
        return self.model.predict(np.asarray(points, dtype=np.float32))

    def grid_probabilities(self, grid, step=None):
        """``predict`` on a grid of points; the last few (grid, step) pairs are cached."""
        step = self.steps if step is None else int(np.clip(step, 0, self.steps))
        grid = np.ascontiguousarray(grid, dtype=np.float32)
        key = (step, grid.shape, hashlib.blake2b(grid.tobytes(), digest_size=8).digest())
        if key not in self._probs:
            if len(self._probs) >= self.MAX_CACHED_GRIDS:   # bounded: a few MB per run
                self._probs.pop(next(iter(self._probs)))
            self._probs[key] = self.predict(grid, step)
        return self._probs[key]


def fit_toy_classifier(dataset="blobs", n_classes=3, model="softmax regression",
                       steps=TOY_MAX_STEPS, seed=0):
    """Train a toy classifier with full-batch Adam, keeping the weights after every step.

    Returns a :class:`ToyRun`: ``losses[s]`` and ``accuracies[s]`` are measured on the
    training data after ``s`` steps (``losses[0]``: before training).
    """
    x, y = toy_dataset(dataset, n_classes, seed=seed)
    net = toy_model(model, n_classes, seed=seed)
    net.build(x.shape[1])
    start = net.evaluate(x, y)
    snapshots = WeightSnapshots()
    snapshots.snapshots.append(net.get_weights())
    # One epoch over the full batch is one optimizer step; the loss and accuracy it logs
    # are measured before that step's update, i.e. for the weights after the previous step.
    history = net.fit(x, y, epochs=steps, batch_size=len(x), shuffle=False,
                      callbacks=[snapshots], verbose=0)
    end = net.evaluate(x, y)
    run_losses = np.array([start["loss"]] + history.history["loss"][1:] + [end["loss"]])
    run_acc = np.array([start["accuracy"]] + history.history["accuracy"][1:] + [end["accuracy"]])
    return ToyRun(dataset, n_classes, model, x, y, run_losses, run_acc, snapshots.snapshots, net)


def train_toy_classifier(dataset="blobs", n_classes=3, model="softmax regression",
                         steps=TOY_MAX_STEPS, seed=0):
    """:func:`fit_toy_classifier`, cached: the same arguments return the same :class:`ToyRun`."""
    check_choice("dataset", dataset, DATASET_NAMES)
    n_classes = check_number("n_classes", n_classes, low=2, high=5, integer=True)
    check_choice("model", model, MODEL_NAMES)
    steps = check_positive("steps", steps, integer=True)
    seed = check_number("seed", seed, low=0, integer=True)
    return _cached_toy_run(dataset, n_classes, model, steps, seed)


@functools.lru_cache(maxsize=32)
def _cached_toy_run(dataset, n_classes, model, steps, seed):
    return fit_toy_classifier(dataset, n_classes, model, steps, seed)
