"""The numbers of the first notebook: a first network on the digits, for any width, rate
and number of epochs."""
from __future__ import annotations

import functools

from ...layers import Dense
from ...optimizers import Adam
from ..digits import train_on_digits

MAX_EPOCHS = 20


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
