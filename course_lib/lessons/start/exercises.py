"""Exercises of the first notebook: standardise with training statistics only, and choose a
learning rate by validation (an experiment the checker repeats on its own runs)."""
from __future__ import annotations

import numpy as np

from ..exercise import Case, Exercise, Mistake, ValidationChoice
from ..seeds import seeds_from
from .runs import MAX_EPOCHS, train_first_network


def standardize_reference(x_train, x_test):
    """Standardise both sets with the training set's per-feature mean and std.

    x_train : (n_train, d), x_test : (n_test, d) -> two arrays of the same shapes.
    Features with zero spread in the training set are only centred (std taken as 1).
    """
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (x_train - mean) / std, (x_test - mean) / std


def _own_statistics(x_train, x_test):
    a, _ = standardize_reference(x_train, x_train)
    b, _ = standardize_reference(x_test, x_test)
    return a, b


def _pooled_statistics(x_train, x_test):
    both = np.concatenate([x_train, x_test])
    mean, std = both.mean(axis=0), both.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (x_train - mean) / std, (x_test - mean) / std


def _global_statistics(x_train, x_test):
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, (x_test - mean) / std


def _variance_not_std(x_train, x_test):
    mean, var = x_train.mean(axis=0), x_train.var(axis=0)
    var = np.where(var > 0, var, 1.0)
    return (x_train - mean) / var, (x_test - mean) / var


def _no_zero_guard(x_train, x_test):
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (x_train - mean) / std, (x_test - mean) / std


def _cases():
    rng = np.random.default_rng(0)
    train = rng.normal(3.0, 2.0, size=(40, 4)) * np.array([1.0, 10.0, 0.1, 5.0])
    test = rng.normal(1.0, 3.0, size=(15, 4))
    constant = train.copy()
    constant[:, 2] = 7.0
    return [Case("four features on different scales", (train, test)),
            Case("a constant feature (zero spread)", (constant, test)),
            Case("one test example", (train, test[:1]))]


STANDARDIZE = Exercise(
    "standardize(x_train, x_test)",
    standardize_reference,
    _cases(),
    mistakes=[
        Mistake("each set was standardised with its own statistics. The test set must use the "
                "training mean and std: at prediction time there is no test set to measure, and "
                "its statistics would leak information.", _own_statistics),
        Mistake("the statistics were computed on training and test data together. Fit them on "
                "the training set only, otherwise test information leaks into training.",
                _pooled_statistics),
        Mistake("one mean and one std were used for all features. Compute them per feature "
                "(axis=0), so every pixel gets its own scale.", _global_statistics),
        Mistake("you divided by the variance. Divide by the standard deviation (its square root) "
                "so each feature ends with unit spread.", _variance_not_std),
        Mistake("a feature with zero spread divides by zero (NaN). Use std = 1 where the training "
                "std is 0.", _no_zero_guard),
    ],
)


def check_standardize(fn):
    """Check a learner's ``standardize(x_train, x_test)``; returns a CheckResult."""
    return STANDARDIZE.check(fn)


# ------------------------------------------------- experiment: a learning rate by validation

#: The network of the exercise: the notebook's first network, 64 hidden units.
CHOICE_UNITS = 64


def first_network_val_loss(learning_rate, seed):
    """The validation loss after the last epoch of the first network (64 hidden units, Adam)
    trained with ``learning_rate`` and ``seed``; NaN if training diverged."""
    run = train_first_network(CHOICE_UNITS, float(learning_rate), epochs=MAX_EPOCHS, seed=seed)
    return float("nan") if run["diverged_at"] is not None else float(run["val_loss"][-1])


# Half-decade steps from 1e-4 to 1. Margin 0.03: the best grid medians (about 0.04-0.05) lie
# within 0.02 of each other over seeds; a rate a half-decade too small or too large sits
# 0.07 or more above them (measured on SEED 0, 1 and 2).
LEARNING_RATE_CHOICE = ValidationChoice(
    "a learning rate chosen by validation", "learning rate", first_network_val_loss,
    grid=tuple(float(r) for r in np.geomspace(1e-4, 1.0, 9)), low=1e-4, high=1.0, margin=0.03)


def choose_learning_rate_solution(seed=0):
    """One way to choose: try rates a decade apart, each on the five seeds of ``seed``, and
    keep the one with the lowest median validation loss (never the test set)."""
    rates = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    medians = [np.nanmedian([first_network_val_loss(rate, s) for s in seeds_from(seed)])
               for rate in rates]
    return rates[int(np.nanargmin(medians))]


def check_learning_rate_choice(learning_rate, seed=0):
    """Score a learner's learning rate for the first network on the checker's own runs (the
    seeds ``seeds_from(seed)``, validation loss after 20 epochs)."""
    return LEARNING_RATE_CHOICE.check(learning_rate, seed)

