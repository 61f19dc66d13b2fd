"""Experiments of the notebook on initialization and activations.

Each function runs one experiment of the notebook and returns plain numbers or arrays; the
figures and explorers draw them, and the notebook checks its claims on them. Every random
choice comes from an explicit seed.
"""
from __future__ import annotations

import functools

import numpy as np

from ... import activations
from ..._threads import single_blas_thread
from ...diagnostics import layer_statistics
from ...initializers import NAMES as INITIALIZER_NAMES
from ...layers import Dense, Dropout
from ...model import Sequential
from ...optimizers import SGD
from ..digits import digits, train_on_digits

#: The activations the notebook compares, in the order they are drawn.
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu")

#: The initializers compared: the study notes' eight modes plus lecun_normal, which are
#: exactly the library's nine names.
INITIALIZERS = INITIALIZER_NAMES


# ------------------------------------------------------------------------------ symmetry

def symmetry_run(kernel_value, steps=30, seed=0, hidden=16, learning_rate=0.1):
    """Train a 64-``hidden``-10 tanh network whose kernels (both layers) start with every
    entry equal to ``kernel_value`` (None: Keras's default glorot_uniform) for ``steps`` SGD
    steps on the digits.

    Returns the hidden kernel after training, shape (64, hidden): one column per unit.
    """
    data = digits()
    model = Sequential([Dense(hidden, activation="tanh"), Dense(10, activation="softmax")],
                       seed=seed, dtype="float64")
    model.compile(SGD(learning_rate), "sparse_categorical_crossentropy")
    model.build(data.x_train.shape[1])
    if kernel_value is not None:
        for layer in model.layers:
            layer.kernel = np.full_like(layer.kernel, kernel_value)
    batch = np.random.default_rng(seed).choice(len(data.x_train), size=(steps, 32))
    for rows in batch:
        model.train_on_batch(data.x_train[rows], data.y_train[rows])
    return model.layers[0].kernel.copy()


def unit_spread(kernel):
    """How different the units of a layer are: the largest distance of a column (one unit's
    incoming weights) from the mean column. 0 means every unit is the same unit."""
    return float(np.abs(kernel - kernel.mean(axis=1, keepdims=True)).max())


# ------------------------------------------------------------------ signals through depth

def deep_network(activation, initializer, depth, width=100, scale=1.0, seed=0):
    """A plain deep network: ``depth`` Dense layers of ``width`` units with ``activation``
    and ``initializer`` (each kernel multiplied by ``scale`` after drawing), then a softmax
    layer of 10 units; built for ``width`` inputs, float64, compiled with cross-entropy."""
    layers = [Dense(width, activation=activation, kernel_initializer=initializer)
              for _ in range(depth)]
    model = Sequential(layers + [Dense(10, activation="softmax")], seed=seed, dtype="float64")
    model.compile(SGD(), "sparse_categorical_crossentropy")
    model.build(width)
    for layer in layers:
        layer.kernel = layer.kernel * scale
    return model


def propagation(activation, initializer, depth=30, width=100, scale=1.0, seed=0, batch=256):
    """Per-layer statistics (:func:`course_lib.diagnostics.layer_statistics`) of one pass of
    a standard-normal batch with random labels through :func:`deep_network`."""
    rng = np.random.default_rng([seed, 7])
    x = rng.standard_normal((batch, width))
    y = rng.integers(0, 10, size=batch)
    model = deep_network(activation, initializer, depth, width, scale, seed)
    return layer_statistics(model, x, y)


def propagation_over_seeds(activation, initializer, seeds, depth=30, width=100, scale=1.0):
    """:func:`propagation` for each seed: dict of (seeds, layers) arrays ``std`` and
    ``gradient_norm`` (of d loss / d layer output; hidden layers only, the softmax head left
    out)."""
    runs = [propagation(activation, initializer, depth, width, scale, seed) for seed in seeds]
    return {"std": np.array([r.std[:depth] for r in runs]),
            "gradient_norm": np.array([r.output_gradient_norm[:depth] for r in runs])}


# ---------------------------------------------------------- initializers on the digits

def digits_layers(initializer, activation="relu", hidden=(32, 32, 32, 32)):
    """The network of the initializer comparison: a few hidden layers, softmax output."""
    return ([Dense(units, activation=activation, kernel_initializer=initializer)
             for units in hidden] + [Dense(10, activation="softmax")])


@functools.lru_cache(maxsize=4)
def initializer_comparison(seeds, epochs=8, learning_rate=0.02, n_train=600):
    """Train :func:`digits_layers` with every initializer on every seed (SGD with momentum
    0.9). Returns dict initializer -> array (seeds, epochs) of validation losses (NaN where a
    run stopped diverging). Cached: the figure and the checks share one set of runs."""
    curves = {}
    for name in INITIALIZERS:
        runs = []
        for seed in seeds:
            _, history = train_on_digits(digits_layers(name), SGD(learning_rate, momentum=0.9),
                                         epochs=epochs, seed=seed, n_train=n_train)
            losses = np.full(epochs, np.nan)
            val = history.history["val_loss"]
            losses[:len(val)] = val
            runs.append(losses)
        curves[name] = np.array(runs)
    return curves


# ----------------------------------------------------------------------------- dying ReLU

def dead_fraction(model, x):
    """Fraction of the hidden units (all layers but the last) whose derivative is zero on
    every input of ``x``: they pass no gradient back and so never change again."""
    dead, total = 0, 0
    signal = x
    for layer in model.layers[:-1]:
        signal = layer.forward(signal)
        derivative = activations.get(layer.activation)[1](layer.z)
        dead += int(np.sum(np.all(derivative == 0, axis=0)))
        total += derivative.shape[1]
    return dead / total


def dying_units(activation, learning_rate, seeds, epochs=3):
    """Dead fraction after training a 64-64-64-10 network with plain SGD at
    ``learning_rate`` on the digits, one value per seed (array (seeds,))."""
    data = digits()
    fractions = []
    for seed in seeds:
        layers = [Dense(64, activation=activation, kernel_initializer="he_normal"),
                  Dense(64, activation=activation, kernel_initializer="he_normal"),
                  Dense(10, activation="softmax")]
        # A deliberately absurd step size: a run may overflow on some CPUs, and its units
        # then count as dead (a NaN derivative is not > 0), which is what such a step does.
        with np.errstate(over="ignore", invalid="ignore"):
            model, _ = train_on_digits(layers, SGD(learning_rate), epochs=epochs, seed=seed,
                                       n_train=600)
        with np.errstate(over="ignore", invalid="ignore"):
            fractions.append(dead_fraction(model, np.asarray(data.x_train, dtype=model.dtype)))
    return np.array(fractions)


# ---------------------------------------------------------------------- self-normalization

def selu_stack(x, depth=30, width=100, seed=0, dropout_rate=0.0, residual=False):
    """Mean and standard deviation of every layer's output in a SELU + lecun_normal stack.

    Args:
        x: inputs, shape (batch, features).
        dropout_rate: ordinary Dropout after each layer, run in training mode (0: none).
        residual: add each layer's input to its output (a skip connection), from the
            second layer on.

    Returns:
        (means, stds), arrays of shape (depth,).
    """
    rng = np.random.default_rng(seed)
    signal = np.asarray(x, dtype=np.float64)
    means, stds = [], []
    for i in range(depth):
        dense = Dense(width, activation="selu", kernel_initializer="lecun_normal")
        dense.build(signal.shape[1], rng)
        out = dense.forward(signal)
        if dropout_rate:
            dropout = Dropout(dropout_rate, seed=seed * 1000 + i)
            dropout.build(width, rng)
            out = dropout.forward(out, training=True)
        if residual and i > 0:
            out = out + signal
        signal = out
        means.append(signal.mean())
        stds.append(signal.std())
    return np.array(means), np.array(stds)


def selu_settings(seeds, depth=30):
    """:func:`selu_stack` on the digits (first 256 training images) in four settings, for
    each seed: dict setting -> dict ``mean``/``std`` -> array (seeds, depth)."""
    standardized = digits().x_train[:256]
    raw = digits(standardize=False).x_train[:256]
    settings = {"standardized inputs": dict(x=standardized),
                "pixels in [0, 1]": dict(x=raw),
                "dropout 0.2": dict(x=standardized, dropout_rate=0.2),
                "skip connections": dict(x=standardized, residual=True)}
    result = {}
    for name, kwargs in settings.items():
        with single_blas_thread():     # small products: one BLAS thread is the fastest
            runs = [selu_stack(depth=depth, seed=seed, **kwargs) for seed in seeds]
        result[name] = {"mean": np.array([r[0] for r in runs]),
                        "std": np.array([r[1] for r in runs])}
    return result


def selu_after_training(penalties, seeds, depth=10, width=64, epochs=10, learning_rate=0.05):
    """The std of each hidden layer's output of a trained SELU + lecun_normal stack, per
    penalty: dict name -> dict ``std`` -> array (seeds, depth).

    ``penalties``: dict name -> kernel regularizer (None for no penalty). Each network trains
    ``epochs`` epochs of SGD on 600 digits, then is measured on 256 validation digits.
    """
    data = digits()
    result = {}
    for name, penalty in penalties.items():
        stds = []
        for seed in seeds:
            layers = [Dense(width, activation="selu", kernel_initializer="lecun_normal",
                            kernel_regularizer=penalty) for _ in range(depth)]
            model, _ = train_on_digits(layers + [Dense(10, activation="softmax")],
                                       SGD(learning_rate), epochs=epochs, seed=seed, n_train=600)
            statistics = layer_statistics(model, data.x_val[:256], data.y_val[:256])
            stds.append(np.asarray(statistics.std[:depth]))
        result[name] = {"std": np.array(stds)}
    return result


# ------------------------------------------------------------------------ gradient clipping
# The three clips are the optimizers' own (Optimizer.clip_gradients, Keras 3's clipnorm,
# clipvalue and global_clipnorm); here is only how to compare a step's direction.

def cosine(gradients, other):
    """Cosine of the angle between two lists of arrays seen as one long vector each."""
    a = np.concatenate([np.ravel(g) for g in gradients])
    b = np.concatenate([np.ravel(g) for g in other])
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# ------------------------------------------------------------------------ gradient checking

class DenseWithPlantedBug(Dense):
    """A Dense layer whose backward pass has one planted bug, for the gradient-check exercise.

    Its forward pass is Dense's; one of its parameter gradients is computed wrongly.
    """

    def pre_activation_backward(self, grad_z):
        grad_x = super().pre_activation_backward(grad_z)
        self.grad_bias[...] = grad_z.mean(axis=0)
        return grad_x

