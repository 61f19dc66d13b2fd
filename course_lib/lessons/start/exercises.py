"""Warm-up exercise of the first notebook: standardise with training statistics only."""
from __future__ import annotations

import numpy as np

from ..exercise import Case, Exercise, Mistake


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
