"""Exercises of notebook 05: the l2 penalty's gradient, what early stopping keeps, and
choosing a penalty strength by validation (an experiment checked on the checker's own runs)."""
from __future__ import annotations

import functools

import numpy as np

from ..exercise import Case, Exercise, Mistake, ValidationChoice
from .runs import train_regularized


# ------------------------------------------------------------------ the l2 penalty's gradient

def l2_penalty_gradient_solution(w, factor):
    """Gradient of the penalty factor * sum(w ** 2) with respect to w."""
    return 2 * factor * w


def _l2_no_two(w, factor):
    return factor * w


def _l2_sign(w, factor):
    return factor * np.sign(w)


def _l2_penalty_itself(w, factor):
    return factor * w ** 2


def _l2_square_of_gradient(w, factor):
    return 2 * factor * w ** 2


def _l2_descent_step(w, factor):
    return -2 * factor * w


def _l2_sum(w, factor):
    return np.full_like(w, 2 * factor * np.sum(w))


_RNG = np.random.default_rng(5)
L2_GRADIENT = Exercise(
    "The l2 penalty's gradient",
    l2_penalty_gradient_solution,
    cases=[Case("a 3 x 4 kernel, factor 0.01", (_RNG.normal(size=(3, 4)), 0.01)),
           Case("a vector, factor 0.5", (np.array([-2.0, -0.5, 0.0, 1.0, 3.0]), 0.5)),
           Case("factor 0 (no penalty)", (_RNG.normal(size=(2, 2)), 0.0))],
    mistakes=[
        Mistake("close: the derivative of w ** 2 is 2 w, so the factor 2 is missing (Keras's "
                "l2(factor) adds factor * sum(w ** 2) to the loss, not half of it).", _l2_no_two),
        Mistake("that is the l1 penalty's gradient (factor * sign(w)); the l2 penalty's "
                "gradient is proportional to w itself.", _l2_sign),
        Mistake("that is the penalty of each weight, not its derivative with respect to w.",
                _l2_penalty_itself),
        Mistake("the gradient of a squared weight is linear in the weight, not squared.",
                _l2_square_of_gradient),
        Mistake("the sign is reversed: return the gradient; the optimizer subtracts it.",
                _l2_descent_step),
        Mistake("each weight's gradient depends on that weight only; do not sum over the array.",
                _l2_sum),
    ])


def check_l2_penalty_gradient(fn):
    """Check a learner's ``l2_penalty_gradient(w, factor)``; returns a CheckResult."""
    return L2_GRADIENT.check(fn)


# ------------------------------------------------------------------ what early stopping keeps

def early_stopping_solution(val_losses, weights, patience):
    """What EarlyStopping(patience=patience, restore_best_weights=True) does on a run.

    val_losses[i] and weights[i] are the validation loss and the weights after epoch i + 1.
    Returns (stopped_epoch, best_epoch, kept_weights), epochs counted from 1.
    """
    best, best_epoch, wait = np.inf, 0, 0
    stopped_epoch = len(val_losses)
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                stopped_epoch = epoch
                break
    return stopped_epoch, best_epoch, weights[best_epoch - 1]


def _es_zero_based(val_losses, weights, patience):
    stopped, best, _ = early_stopping_solution(val_losses, weights, patience)
    return stopped - 1, best - 1, weights[best - 1]


def _es_index_off_by_one(val_losses, weights, patience):
    stopped, best, _ = early_stopping_solution(val_losses, weights, patience)
    return stopped, best, weights[min(best, len(weights) - 1)]


def _es_last_weights(val_losses, weights, patience):
    stopped, best, _ = early_stopping_solution(val_losses, weights, patience)
    return stopped, best, weights[stopped - 1]


def _es_global_minimum(val_losses, weights, patience):
    stopped, _, _ = early_stopping_solution(val_losses, weights, patience)
    best = int(np.argmin(val_losses)) + 1
    return stopped, best, weights[best - 1]


def _es_ties_to_later(val_losses, weights, patience):
    best, best_epoch, wait = np.inf, 0, 0
    stopped = len(val_losses)
    for epoch, loss in enumerate(val_losses, start=1):
        if loss <= best:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                stopped = epoch
                break
    return stopped, best_epoch, weights[best_epoch - 1]


def _es_one_late(val_losses, weights, patience):
    return early_stopping_solution(val_losses, weights, patience + 1)


def _weights(n):
    return [np.full((2, 2), float(epoch)) for epoch in range(1, n + 1)]


_CURVE = [0.9, 0.7, 0.55, 0.5, 0.52, 0.51, 0.53, 0.56, 0.45, 0.6]
EARLY_STOPPING = Exercise(
    "What early stopping keeps",
    early_stopping_solution,
    cases=[Case("a dip, a plateau, a late lower value", (_CURVE, _weights(10), 3)),
           Case("patience long enough to see the late value", (_CURVE, _weights(10), 5)),
           Case("a tie with the best", ([0.8, 0.6, 0.6, 0.7, 0.9], _weights(5), 2)),
           Case("always improving", ([0.5, 0.4, 0.3, 0.2], _weights(4), 2))],
    mistakes=[
        Mistake("your epochs are counted from 0; count them from 1, as Keras prints them "
                "(the loss at index i is epoch i + 1).", _es_zero_based),
        Mistake("the epochs are right but the weights are one epoch late: the weights of epoch "
                "e are at index e - 1.", _es_index_off_by_one),
        Mistake("restore_best_weights=True puts back the weights of the best epoch, not those "
                "of the epoch where training stopped.", _es_last_weights),
        Mistake("early stopping cannot see the future: after it stops, the later epochs never "
                "run, so the best epoch is the best among the epochs it trained.",
                _es_global_minimum),
        Mistake("an epoch that only equals the best is not an improvement; the earlier epoch "
                "stays the best and the waiting goes on.", _es_ties_to_later),
        Mistake("training stops one epoch too late: it stops at the epoch where the count of "
                "epochs without improvement reaches patience.", _es_one_late),
    ])


def check_early_stopping(fn):
    """Check a learner's ``early_stopping(val_losses, weights, patience)``."""
    return EARLY_STOPPING.check(fn)


# ------------------------------------------------------------------ choosing a penalty strength

@functools.lru_cache(maxsize=None)
def best_validation_with_l2(strength, seed):
    """The lowest validation loss over the 120 epochs of the overfitting network with
    ``kernel_regularizer=l2(strength)`` (what early stopping keeps), on one seed."""
    return float(train_regularized("l2", float(strength), seed).val_loss.min())


#: The checker's margin: the median difference between neighbouring good strengths is about
#: 0.01 and the spread of paired differences between seeds about 0.02.
L2_CHOICE = ValidationChoice(
    "Choosing the l2 strength by validation", "l2 factor", best_validation_with_l2,
    grid=(1e-4, 3e-4, 1e-3, 1e-2, 3e-2), low=1e-5, high=0.1, margin=0.02)


def check_l2_choice(value, seed=0):
    """Score the learner's l2 factor on the checker's own runs (the seeds of ``seed``)."""
    return L2_CHOICE.check(value, seed)
