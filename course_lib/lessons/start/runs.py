"""The numbers of the first notebook: a first network on the digits, for any width, rate,
number of epochs and seed, and the few settings the notebook compares over seeds."""
from __future__ import annotations

import functools

import numpy as np

from ..._validation import check_choice
from ...layers import Dense
from ...optimizers import Adam
from ..digits import train_on_digits
from ..seeds import seeds_from

MAX_EPOCHS = 20

#: The settings the notebook compares, as (hidden units, learning rate): the explorer's
#: default, a rate ten times smaller, a rate near 1, and a network too narrow for ten digits.
SETTINGS = {
    "rate 1e-3": (64, 1e-3),
    "rate 1e-4": (64, 1e-4),
    "rate 1": (64, 1.0),
    "4 units": (4, 1e-3),
}


@functools.lru_cache(maxsize=64)
def train_first_network(hidden_units, learning_rate, epochs=MAX_EPOCHS, seed=0):
    """Train 64 -> hidden (ReLU) -> 10 (softmax) on the course's digits split with Adam
    (mini-batches of 64, so that a retrain takes a fraction of a second).

    Returns a dict of per-epoch lists (loss, accuracy, val_loss, val_accuracy, learning_rate)
    and ``diverged_at`` (None, or where training stopped). The test set is not touched: it is
    looked at once, at the end of the notebook, never while choosing a setting. With a fixed
    seed, the first ``k`` epochs of a longer run are exactly a ``k``-epoch run, so an explorer
    can show any number of epochs from one cached run.
    """
    layers = [Dense(hidden_units, activation="relu"), Dense(10, activation="softmax")]
    _, history = train_on_digits(layers, Adam(learning_rate), epochs=epochs, batch_size=64,
                                 seed=seed)
    result = {key: list(values) for key, values in history.history.items()}
    result["diverged_at"] = history.diverged_at
    return result


def final_values(setting, key, seed):
    """The last epoch's ``key`` (e.g. ``"val_loss"``) of ``setting`` (a name of
    :data:`SETTINGS`) on each of the seeds ``seeds_from(seed)``: an array of shape (seeds,).
    A run that diverged counts as NaN, so that a summary sees it."""
    check_choice("setting", setting, tuple(SETTINGS))
    hidden_units, learning_rate = SETTINGS[setting]
    values = []
    for run_seed in seeds_from(seed):
        run = train_first_network(hidden_units, learning_rate, seed=run_seed)
        values.append(np.nan if run["diverged_at"] is not None else run[key][-1])
    return np.array(values, dtype=float)


def loss_rises(setting, seed):
    """How many epochs of ``setting`` end with a higher training loss than the epoch before,
    on each of the seeds ``seeds_from(seed)``: an int array of shape (seeds,)."""
    check_choice("setting", setting, tuple(SETTINGS))
    hidden_units, learning_rate = SETTINGS[setting]
    return np.array([int(np.sum(np.diff(train_first_network(hidden_units, learning_rate,
                                                              seed=run_seed)["loss"]) > 0))
                     for run_seed in seeds_from(seed)])
