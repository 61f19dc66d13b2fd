"""The digits experiments of the notebook on softmax and losses, over several seeds.

Each comparison trains every setting on the seeds ``seeds_from(SEED)``
(:mod:`course_lib.lessons.seeds`); a seed sets the initial weights and the order of the
batches. Nothing here draws.

* :func:`digits_layers` -- softmax regression or one hidden layer, with a chosen
  initialisation of the output layer;
* :func:`initial_loss` -- the loss before training of one such network;
* :func:`train_digits_model` -- softmax regression or one hidden layer trained with Adam (cached);
* :func:`train_pairing` -- softmax regression trained with one of three output / loss
  pairings on one-hot labels (cached).
"""
from __future__ import annotations

import functools

import numpy as np

from ..._validation import check_choice
from ...data import one_hot
from ...layers import Dense
from ...losses import CategoricalCrossentropy, MeanSquaredError
from ...model import Sequential
from ...optimizers import SGD, Adam
from ..digits import digits, train_on_digits

#: The two models compared on the digits, with the initialisation of their output layer:
#: zeros for softmax regression (every class starts at 1/10), small random weights behind
#: the hidden layer (zeros there would be safe too; small ones are the usual choice).
DIGITS_MODELS = {"softmax regression": "zeros", "one hidden layer": "normal"}

#: The three initialisations of the output layer whose first loss the notebook compares.
INITIALIZATIONS = {
    "softmax regression, zero weights": ("softmax regression", "zeros"),
    "hidden layer, small output weights": ("one hidden layer", "normal"),
    "hidden layer, Glorot output weights": ("one hidden layer", "glorot_uniform"),
}

#: The three output / loss pairings compared on the digits: (output activation, loss).
PAIRINGS = {
    "softmax + categorical CE": ("softmax", CategoricalCrossentropy),
    "softmax + MSE": ("softmax", MeanSquaredError),
    "sigmoid + categorical CE": ("sigmoid", CategoricalCrossentropy),
}

HIDDEN_UNITS = 32
EPOCHS = 20
PAIRING_EPOCHS = 10


def digits_layers(model, output_initializer):
    """New layers for the digits: ``"softmax regression"`` is one Dense(10, softmax) layer;
    ``"one hidden layer"`` puts 32 ReLU units (He initialisation) first. The output layer's
    weights start from ``output_initializer`` (a Keras initializer name)."""
    check_choice("model", model, tuple(DIGITS_MODELS))
    output = Dense(10, activation="softmax", kernel_initializer=output_initializer)
    if model == "softmax regression":
        return [output]
    return [Dense(HIDDEN_UNITS, activation="relu", kernel_initializer="he_uniform"), output]


def initial_loss(initialization, seed):
    """The training loss before any training of a network of :data:`INITIALIZATIONS`."""
    check_choice("initialization", initialization, tuple(INITIALIZATIONS))
    model, output_initializer = INITIALIZATIONS[initialization]
    data = digits()
    network = Sequential(digits_layers(model, output_initializer), seed=seed)
    network.compile(Adam(), "sparse_categorical_crossentropy")
    return network.evaluate(data.x_train, data.y_train)["loss"]


@functools.lru_cache(maxsize=64)
def train_digits_model(model, seed):
    """Train a model of :data:`DIGITS_MODELS` on the digits: Adam (learning rate 0.005),
    batches of 64, 20 epochs. Returns a dict of per-epoch lists (``loss``, ``val_loss``,
    ``accuracy``, ``val_accuracy``) and ``weights``, the number of trainable weights."""
    check_choice("model", model, tuple(DIGITS_MODELS))
    network, history = train_on_digits(digits_layers(model, DIGITS_MODELS[model]),
                                       Adam(learning_rate=0.005), epochs=EPOCHS, batch_size=64,
                                       seed=int(seed))
    result = {key: list(values) for key, values in history.history.items()}
    result["weights"] = network.count_params()
    return result


@functools.lru_cache(maxsize=64)
def train_pairing(pairing, seed):
    """Softmax regression (zero initial weights) on the digits with one of :data:`PAIRINGS`:
    SGD (learning rate 0.5), batches of 64, 10 epochs, one-hot labels.

    Returns a dict of per-epoch lists (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``)
    and, measured on the validation set after training, ``row_sum`` (the mean sum of the ten
    outputs of an example) and ``wrong_output`` (the mean output of the nine wrong classes).
    """
    check_choice("pairing", pairing, tuple(PAIRINGS))
    activation, loss = PAIRINGS[pairing]
    data = digits()
    y_train, y_val = one_hot(data.y_train, 10), one_hot(data.y_val, 10)
    # train_on_digits takes integer labels; these losses need one-hot ones.
    network = Sequential([Dense(10, activation=activation, kernel_initializer="zeros")],
                         seed=int(seed))
    network.compile(SGD(learning_rate=0.5), loss(), metrics=["accuracy"])
    history = network.fit(data.x_train, y_train, epochs=PAIRING_EPOCHS, batch_size=64,
                          validation_data=(data.x_val, y_val), verbose=0)
    outputs = network.predict(data.x_val)
    result = {key: list(values) for key, values in history.history.items()}
    result["row_sum"] = float(np.mean(outputs.sum(axis=1)))
    result["wrong_output"] = float(np.mean(outputs[y_val == 0]))
    return result
