"""The experiments of the capstone notebook, and their numbers.

* the two recipes of the source notes, :func:`recipe_layers`, trained over seeds and
  learning rates: :func:`recipe_curves`, :func:`recipe_grid`;
* the order of the layers in a block: :data:`BLOCK_ORDERS`, :func:`block_order_curves`;
* a debugging workflow, each step with its planted bug: :func:`initial_losses`,
  :func:`overfit_tiny`, :class:`HandLeakyReLU` / :class:`BuggyHandLeakyReLU`;
* the learning rate of a small network, by hand and by ``course_lib.search``:
  :class:`RateObjective`, :func:`rate_grid`, :func:`fine_grid`;
* your own data through the same pipeline: :func:`prepare`, :func:`train_table`.

Every comparison runs each setting on several seeds and returns one number per seed
(the best validation loss over the epochs: what early stopping with restored weights keeps).
Nothing here draws; ``figures.py`` and ``explorers.py`` show these numbers.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..._validation import check_choice, check_positive
from ...data import Standardizer, train_val_test_split
from ...layers import Activation, AlphaDropout, BatchNormalization, Dense, Dropout, Layer
from ...model import Sequential
from ...optimizers import SGD, Nadam
from ...schedules import OneCycle
from ..digits import digits, train_on_digits
from ..schedules.runs import val_loss_over_seeds

# ------------------------------------------------------------------------------ the recipes

RECIPES = ("default", "self-normalizing")
#: Learning rates (1cycle peaks, with Nadam) on which the two recipes are compared.
RECIPE_RATES = (0.003, 0.01, 0.03, 0.1)
#: The inputs a recipe can be given: the course's standardized pixels, the raw pixels in
#: [0, 1], or the raw pixels with each one in its own unit (multiplied by 0.1 ... 100).
INPUTS = ("standardized", "raw pixels", "mixed units")
RECIPE_TRAIN, RECIPE_EPOCHS, RECIPE_BATCH, RECIPE_UNITS = 400, 8, 64, 32
MIXED_UNITS = (10.0 ** np.linspace(-1.0, 2.0, 64)).astype(np.float32)


def recipe_layers(recipe, depth=4, units=RECIPE_UNITS, dropout=0.0):
    """The hidden blocks of a recipe, then a 10-way softmax.

    "default": Dense (He normal, no bias) -> BatchNormalization -> ELU [-> Dropout];
    "self-normalizing": Dense (LeCun normal) with SELU [-> AlphaDropout], no normalization.
    """
    check_choice("recipe", recipe, RECIPES)
    depth = check_positive("depth", depth, integer=True)
    layers = []
    for _ in range(depth):
        if recipe == "default":
            layers += [Dense(units, kernel_initializer="he_normal", use_bias=False),
                       BatchNormalization(), Activation("elu")]
            if dropout:
                layers.append(Dropout(dropout))
        else:
            layers.append(Dense(units, activation="selu", kernel_initializer="lecun_normal"))
            if dropout:
                layers.append(AlphaDropout(dropout))
    return layers + [Dense(10, activation="softmax")]


def _mixed_units(x):
    return x * MIXED_UNITS


def one_cycle_nadam(learning_rate, epochs, n_train, batch_size):
    """Nadam with a 1cycle schedule peaking at ``learning_rate`` over the whole training."""
    steps = epochs * math.ceil(n_train / batch_size)
    return Nadam(OneCycle(learning_rate, steps))


def val_curve(history, epochs):
    """The validation losses of a history, NaN-padded to ``epochs`` (a diverged run stops)."""
    curve = np.full(epochs, np.nan)
    values = history.history["val_loss"]
    curve[:len(values)] = values
    curve[~np.isfinite(curve)] = np.nan
    return curve


def recipe_curves(recipe, learning_rate, seeds, depth=4, inputs="standardized", dropout=0.0):
    """Validation loss per epoch of a recipe, one row per seed: array (seeds, epochs).

    Nadam with 1cycle, 400 training digits, batch 64, 8 epochs. Each run is cached on its
    own, so the explorer's seeds reuse the notebook's runs.
    """
    check_choice("recipe", recipe, RECIPES)
    check_choice("inputs", inputs, INPUTS)
    return np.array([_recipe_curve(recipe, float(learning_rate), int(seed), int(depth), inputs,
                                   float(dropout)) for seed in seeds])


@functools.lru_cache(maxsize=512)
def _recipe_curve(recipe, learning_rate, seed, depth, inputs, dropout):
    optimizer = one_cycle_nadam(learning_rate, RECIPE_EPOCHS, RECIPE_TRAIN, RECIPE_BATCH)
    with np.errstate(over="ignore", invalid="ignore"):
        _, history = train_on_digits(
            recipe_layers(recipe, depth, dropout=dropout), optimizer, epochs=RECIPE_EPOCHS,
            batch_size=RECIPE_BATCH, seed=seed, n_train=RECIPE_TRAIN,
            standardize=inputs == "standardized",
            transform=_mixed_units if inputs == "mixed units" else None)
    curve = val_curve(history, RECIPE_EPOCHS)
    curve.setflags(write=False)
    return curve


def best_losses(curves):
    """The best validation loss of each run (rows of ``curves``); inf for a run with none."""
    with np.errstate(invalid="ignore"):
        best = np.nanmin(np.where(np.isnan(curves), np.inf, curves), axis=1)
    return best


def recipe_grid(seeds, rates=RECIPE_RATES, depth=4, inputs="standardized"):
    """Best validation loss of both recipes at every rate: dict recipe -> array (rates, seeds)."""
    return {recipe: np.array([best_losses(recipe_curves(recipe, rate, tuple(seeds), depth, inputs))
                              for rate in rates]) for recipe in RECIPES}


# ------------------------------------------------------------------------- the block order

#: Three common orders of a hidden block with batch normalization and dropout (rate 0.2).
BLOCK_ORDERS = {
    "Dropout > Dense > BN > ReLU": ("dropout", "dense", "bn", "relu"),
    "Dense > BN > ReLU > Dropout": ("dense", "bn", "relu", "dropout"),
    "Dense > ReLU > BN > Dropout": ("dense", "relu", "bn", "dropout"),
}


def block_layers(order, depth=3, units=RECIPE_UNITS, rate=0.2):
    """``depth`` hidden blocks in the given order (a key of :data:`BLOCK_ORDERS`), then softmax.

    A Dense followed directly by BatchNormalization has no bias (BN's beta replaces it).
    """
    check_choice("order", order, tuple(BLOCK_ORDERS))
    steps = BLOCK_ORDERS[order]
    layers = []
    for _ in range(depth):
        for i, step in enumerate(steps):
            if step == "dense":
                bias = i + 1 == len(steps) or steps[i + 1] != "bn"
                layers.append(Dense(units, kernel_initializer="he_normal", use_bias=bias))
            elif step == "bn":
                layers.append(BatchNormalization())
            elif step == "relu":
                layers.append(Activation("relu"))
            else:
                layers.append(Dropout(rate))
    return layers + [Dense(10, activation="softmax")]


@functools.lru_cache(maxsize=64)
def block_order_curves(order, seeds, learning_rate=0.01):
    """Validation loss per epoch of :func:`block_layers`, one row per seed (Nadam, 1cycle)."""
    curves = []
    for seed in seeds:
        optimizer = one_cycle_nadam(learning_rate, RECIPE_EPOCHS, RECIPE_TRAIN, RECIPE_BATCH)
        _, history = train_on_digits(block_layers(order), optimizer, epochs=RECIPE_EPOCHS,
                                     batch_size=RECIPE_BATCH, seed=seed, n_train=RECIPE_TRAIN)
        curves.append(val_curve(history, RECIPE_EPOCHS))
    curves = np.array(curves)
    curves.setflags(write=False)
    return curves


# ---------------------------------------------------------------------- debugging workflow

def small_network(units=32):
    """The network the debugging steps look at: 64 -> 32 ReLU (He normal) -> 10 softmax."""
    return [Dense(units, activation="relu", kernel_initializer="he_normal"),
            Dense(10, activation="softmax")]


def initial_losses(seeds, pixel_scale=None):
    """The validation loss of the untrained :func:`small_network`, one per seed.

    ``pixel_scale=None`` feeds the course's standardized pixels; a number feeds the raw
    pixels multiplied by it (16 gives the original 0..16 counts: a forgotten scaling).
    """
    split = digits(standardize=pixel_scale is None)
    x_val = split.x_val if pixel_scale is None else split.x_val * np.float32(pixel_scale)
    losses = []
    for seed in seeds:
        model = Sequential(small_network(), seed=seed)
        model.compile(SGD(0.01), "sparse_categorical_crossentropy")
        with np.errstate(over="ignore", invalid="ignore"):
            losses.append(model.evaluate(x_val, split.y_val)["loss"])
    return np.array(losses)


def overfit_tiny(seeds, n_train=20, steps=100, learning_rate=0.01, shuffle_labels=False):
    """Final training loss on ``n_train`` digits after ``steps`` full-batch Nadam steps, per seed.

    A working network and optimizer drive it near 0. ``shuffle_labels=True`` plants a classic
    pipeline bug: the labels are shuffled with their own permutation at every step, apart from
    the images, so no image keeps its label and the loss cannot go to 0.
    """
    split = digits()
    x, y = split.x_train[:n_train], split.y_train[:n_train]
    losses = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        model = Sequential(small_network(), seed=seed)
        model.compile(Nadam(learning_rate), "sparse_categorical_crossentropy")
        for _ in range(steps):
            labels = y[rng.permutation(n_train)] if shuffle_labels else y
            loss = model.train_step(x, labels)
        losses.append(float(loss))
    return np.array(losses)


class HandLeakyReLU(Layer):
    """A hand-written leaky ReLU layer: y = x if x > 0 else alpha x. Shapes (batch, features)."""

    def __init__(self, alpha=0.2):
        super().__init__()
        self.alpha = alpha

    def forward(self, x, training=False):
        self.x = x
        return np.where(x > 0, x, self.alpha * x)

    def backward(self, grad_out):
        return grad_out * np.where(self.x > 0, 1.0, self.alpha)


class BuggyHandLeakyReLU(HandLeakyReLU):
    """The same layer with a planted bug: its backward forgets the slope alpha for x < 0."""

    def backward(self, grad_out):
        return grad_out * (self.x > 0)


def range_test_check(learning_rate, seeds, epochs=3):
    """Validation loss after ``epochs`` of the range test's network (notebook 04's
    ``train_digits``: SGD with momentum 0.9) at ``learning_rate`` (a rate or a schedule), per
    seed; inf for a run that diverged before its last epoch."""
    with np.errstate(over="ignore", invalid="ignore"):
        curves = val_loss_over_seeds(learning_rate, epochs, seeds)
    last = curves[:, -1]
    return np.where(np.isfinite(last), last, np.inf)


# ------------------------------------------------------------------ the learning rate search

#: The source notes' coarse grid for a learning rate.
COARSE_RATES = (0.001, 0.01, 0.1, 0.2, 0.3, 0.5)
#: The fine grid around the best coarse rate r: r times these factors (0.1 gives the notes'
#: [0.05, 0.08, 0.1, 0.12, 0.15]).
FINE_FACTORS = (0.5, 0.8, 1.0, 1.2, 1.5)


class RateObjective:
    """Median over ``seeds`` of the best validation loss of :func:`small_network` trained with
    SGD (momentum 0.9) at ``params["learning_rate"]``, 300 digits, batch 32, ``budget`` epochs
    (6 by default). Small and picklable, so it runs in worker processes too."""

    def __init__(self, seeds, epochs=6, n_train=300):
        self.seeds = tuple(seeds)
        self.epochs = check_positive("epochs", epochs, integer=True)
        self.n_train = n_train

    def per_seed(self, learning_rate, epochs=None):
        epochs = epochs or self.epochs
        values = []
        for seed in self.seeds:
            with np.errstate(over="ignore", invalid="ignore"):
                _, history = train_on_digits(small_network(), SGD(learning_rate, momentum=0.9),
                                             epochs=epochs, batch_size=32, seed=seed,
                                             n_train=self.n_train)
            values.append(best_losses(val_curve(history, epochs)[None])[0])
        return np.array(values)

    def __call__(self, params, budget=None):
        epochs = self.epochs if budget is None else max(1, int(round(budget)))
        return float(np.median(self.per_seed(float(params["learning_rate"]), epochs)))

    def __repr__(self):
        return f"RateObjective(seeds={self.seeds}, epochs={self.epochs}, n_train={self.n_train})"


def rate_grid(objective, rates):
    """``objective`` at every rate: array (len(rates),) of median best validation losses."""
    return np.array([objective({"learning_rate": rate}) for rate in rates])


def fine_grid(objective, best_rate, factors=FINE_FACTORS, max_widenings=4):
    """The fine grid around ``best_rate``, widened until its best value is inside it.

    Returns ``(rates, scores)`` sorted by rate; while the best score sits at an end of the
    grid, one more rate is added beyond that end (the next factor of the same spacing).
    """
    rates = [round(best_rate * f, 6) for f in factors]
    scores = list(rate_grid(objective, rates))
    for _ in range(max_widenings):
        best = int(np.argmin(scores))
        if 0 < best < len(rates) - 1:
            break
        new = rates[0] * rates[0] / rates[1] if best == 0 else rates[-1] * rates[-1] / rates[-2]
        new = round(new, 6)
        score = objective({"learning_rate": new})
        if best == 0:
            rates.insert(0, new)
            scores.insert(0, score)
        else:
            rates.append(new)
            scores.append(score)
    return np.array(rates), np.array(scores)


# ------------------------------------------------------------------------- your own data

def prepare(x, y, seed=0, standardize=True):
    """The course's pipeline for a table: a stratified 70/15/15 split by shuffled indices,
    then (if ``standardize``) a ``Standardizer`` fitted on the training part only."""
    split = train_val_test_split(x, y, val_fraction=0.15, test_fraction=0.15, seed=seed,
                                 stratify=True)
    if not standardize:
        return split
    scaler = Standardizer().fit(split.x_train)
    return split._replace(x_train=scaler.transform(split.x_train),
                          x_val=scaler.transform(split.x_val),
                          x_test=scaler.transform(split.x_test))


def train_table(split, seed, learning_rate=0.01, depth=2, units=16, epochs=20, batch_size=32,
                recipe="default"):
    """Train a recipe on a prepared table; returns ``(model, history)`` (Nadam, 1cycle)."""
    n_classes = int(max(split.y_train.max(), split.y_val.max())) + 1
    layers = recipe_layers(recipe, depth, units)[:-1] + [Dense(n_classes, activation="softmax")]
    model = Sequential(layers, seed=seed)
    model.compile(one_cycle_nadam(learning_rate, epochs, len(split.x_train), batch_size),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    with np.errstate(over="ignore", invalid="ignore"):
        history = model.fit(split.x_train, split.y_train, epochs=epochs, batch_size=batch_size,
                            validation_data=(split.x_val, split.y_val), verbose=0,
                            on_divergence="stop")
    return model, history


def table_results(x, y, seeds, standardize=True, **options):
    """Best validation loss and the validation accuracy of that epoch, per seed (each seed
    its own split and weights): two arrays (seeds,)."""
    losses, accuracies = [], []
    for seed in seeds:
        _, history = train_table(prepare(x, y, seed, standardize), seed, **options)
        curve = val_curve(history, len(history.history["val_loss"]) or 1)
        best = int(np.nanargmin(np.where(np.isnan(curve), np.inf, curve)))
        losses.append(best_losses(curve[None])[0])
        accuracies.append(history.history["val_accuracy"][best] if history.history["val_accuracy"] else 0.0)
    return np.array(losses), np.array(accuracies)


class TableObjective:
    """Median best validation loss of :func:`train_table` on a table over ``seeds``, as a
    function of ``params["learning_rate"]`` (for ``course_lib.search``)."""

    def __init__(self, x, y, seeds):
        self.x, self.y, self.seeds = x, y, tuple(seeds)

    def __call__(self, params, budget=None):
        losses, _ = table_results(self.x, self.y, self.seeds,
                                  learning_rate=float(params["learning_rate"]))
        return float(np.median(losses))
