"""The digits experiment that the notebooks share: one data cache and one training call.

Every notebook that trains on the digits does so through :func:`digits` (the course's split,
loaded once per setting and read-only, so no caller can change another's data) and
:func:`train_on_digits` (build, compile, fit with validation, return the history). A topic
adds only what is its own: the layers, the optimizer, the callbacks.
"""
from __future__ import annotations

import functools

import numpy as np

from ..data import digits_splits
from ..model import Sequential


@functools.lru_cache(maxsize=16)
def digits(n_train=None, standardize=True):
    """The course's split of the digits (``course_lib.data.digits_splits``), cached.

    The arrays are read-only: a caller that wants to change them makes a copy.
    """
    split = digits_splits(n_train=n_train, standardize=standardize)
    for array in split:
        array.setflags(write=False)
    return split


def train_on_digits(layers, optimizer, *, epochs, batch_size=32, seed=0, n_train=None,
                    standardize=True, transform=None, augment=None, callbacks=(),
                    loss="sparse_categorical_crossentropy", on_divergence="stop", verbose=0):
    """Train ``Sequential(layers, seed=seed)`` on the digits; returns ``(model, history)``.

    Args:
        layers: the list of layers (a new list per call: layers hold their weights).
        optimizer: an optimizer instance (its state is the model's from here on).
        epochs, batch_size: as in ``Sequential.fit``.
        seed: seeds the weights, dropout masks and shuffling.
        n_train, standardize: which training set (see :func:`digits`).
        transform: None, or a function applied to the training and validation inputs before
            training (e.g. to put features in mixed units); it must not modify its argument.
        augment: None, or a function ``(x, y) -> (x, y)`` applied to the training set only,
            after ``transform`` (e.g. adding shifted copies); it must not modify its arguments.
        callbacks: passed to ``fit``.
        verbose: 1 shows ``fit``'s progress bar.
        on_divergence: "stop" (default here: an explorer shows a diverged run as such)
            or "raise".

    The history holds ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` and
    ``learning_rate`` per epoch; the validation part is the course's validation split.
    """
    data = digits(n_train=n_train, standardize=standardize)
    x_train, x_val = data.x_train, data.x_val
    if transform is not None:
        x_train, x_val = transform(x_train), transform(x_val)
    y_train = data.y_train
    if augment is not None:
        x_train, y_train = augment(x_train, y_train)
    model = Sequential(list(layers), seed=seed)
    model.compile(optimizer, loss, metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                        validation_data=(x_val, data.y_val), callbacks=list(callbacks),
                        verbose=verbose, on_divergence=on_divergence)
    return model, history


def final(history, key):
    """The last value of ``history.history[key]`` as a float (NaN for an empty history)."""
    values = history.history.get(key, [])
    return float(values[-1]) if len(values) else float(np.nan)
