"""Exercises of the notebook on softmax, output layers and losses.

1. ``stable_softmax(z)``: softmax of a batch of scores that never overflows.
2. ``sparse_crossentropy_with_grad(logits, labels)``: the mean sparse categorical
   cross-entropy computed from logits with log-sum-exp, and its gradient
   ``(softmax(z) - onehot(y)) / batch``.
3. An experiment: the learning rate of softmax regression trained by plain SGD, chosen by
   validation (the checker repeats the experiment on its own runs).

Each checker first probes the two numerical traps of the topic (huge scores that overflow
``exp``, confident wrong predictions whose probability underflows to 0) and names them when
the learner's function falls into one; then it compares the function with the reference
and with the typical wrong versions listed below.
"""
from __future__ import annotations

import functools

import numpy as np

from ...layers import Dense
from ...optimizers import SGD
from ..digits import train_on_digits
from ..exercise import Case, CheckResult, Exercise, Mistake, ValidationChoice
from ..seeds import seeds_from

#: Keras's clipping constant: probabilities are clipped to [1e-7, 1 - 1e-7] before the log.
CLIP_EPSILON = 1e-7


def _row_max(z):
    return np.max(z, axis=1, keepdims=True)


# --------------------------------------------------------------------------- exercise 1

def stable_softmax_solution(z):
    """Softmax of each row of ``z``, shape (batch, classes) -> (batch, classes).

    Subtracting the row maximum changes nothing mathematically (softmax is invariant to a
    shift of all scores) and makes the largest exponent exp(0) = 1, so nothing overflows.
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def _softmax_sum_over_batch_axis(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - _row_max(z))
    return e / np.sum(e, axis=0, keepdims=True)


def _softmax_sum_over_everything(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - _row_max(z))
    return e / np.sum(e)


def _softmax_not_normalised(z):
    z = np.asarray(z, dtype=float)
    return np.exp(z - _row_max(z))


def _log_softmax_instead(z):
    z = np.asarray(z, dtype=float)
    shifted = z - _row_max(z)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


_SOFTMAX_LARGE = np.array([[1000.0, 999.0, 998.0]])
_SOFTMAX_FAR_APART = np.array([[1000.0, 999.0, 990.0], [-1000.0, -1001.0, -1003.0]])

STABLE_SOFTMAX = Exercise(
    "stable softmax",
    stable_softmax_solution,
    cases=[
        Case("the worked example z = [5, 2, -1, 3]", (np.array([[5.0, 2.0, -1.0, 3.0]]),)),
        Case("a batch of 3 examples, 5 classes",
             (np.random.default_rng(1).normal(0.0, 2.0, size=(3, 5)),)),
        Case("large scores [1000, 999, 998]", (_SOFTMAX_LARGE.copy(),)),
        Case("rows on very different scales", (_SOFTMAX_FAR_APART.copy(),)),
        Case("a single class", (np.array([[7.0], [-3.0]]),)),
    ],
    mistakes=[
        Mistake("your columns sum to 1 instead of your rows: you normalised over the batch "
                "axis. Sum over the classes, np.sum(e, axis=1, keepdims=True).",
                _softmax_sum_over_batch_axis),
        Mistake("you divided by the sum over the whole batch, so all entries together sum to "
                "1; each row must sum to 1 on its own: np.sum(e, axis=1, keepdims=True).",
                _softmax_sum_over_everything),
        Mistake("the rows do not sum to 1: after exponentiating, divide each row by its sum.",
                _softmax_not_normalised),
        Mistake("you returned log-probabilities (a log-softmax); softmax returns the "
                "probabilities themselves, exp(z - max) / sum(exp(z - max)).",
                _log_softmax_instead),
    ],
)

_OVERFLOW_MESSAGE = (
    "on large scores such as [1000, 999, 998] your output contains inf or NaN: exp(1000) "
    "overflows. Subtract each row's maximum before exponentiating; softmax(z - max z) equals "
    "softmax(z), and the largest exponent becomes exp(0) = 1.")
_ONE_MAX_FOR_ALL_MESSAGE = (
    "with one row near +1000 and another near -1000 your output contains NaN: you subtracted "
    "one maximum for the whole batch (or per column), so exp underflows to 0 in the other row "
    "and you divide 0 by 0. Subtract each row's own maximum: np.max(z, axis=1, keepdims=True).")
_KEEPDIMS_HINT = (" Hint: keep the summed axis, np.sum(e, axis=1, keepdims=True) has shape "
                  "(batch, 1) and divides each row by its own sum.")


def _probe(fn, *args):
    """Run ``fn`` quietly; return its output, or None if it raised."""
    try:
        with np.errstate(all="ignore"):
            return fn(*[np.array(a, copy=True) for a in args])
    except Exception:  # the checker reports errors itself, with the case name
        return None


def _non_finite(value):
    try:
        return not np.all(np.isfinite(np.asarray(value, dtype=float)))
    except (TypeError, ValueError):
        return False


def check_stable_softmax(fn):
    """Check a learner's ``stable_softmax(z)``; returns a :class:`CheckResult`."""
    title = STABLE_SOFTMAX.title
    if callable(fn):
        out = _probe(fn, _SOFTMAX_LARGE)
        if out is not None and _non_finite(out):
            return CheckResult(title, False, _OVERFLOW_MESSAGE)
        out = _probe(fn, _SOFTMAX_FAR_APART)
        if out is not None and _non_finite(out):
            return CheckResult(title, False, _ONE_MAX_FOR_ALL_MESSAGE)
    with np.errstate(all="ignore"):
        result = STABLE_SOFTMAX.check(fn)
    if not result.passed and "broadcast" in result.message:
        result.message += _KEEPDIMS_HINT
    return result


# --------------------------------------------------------------------------- exercise 2

def _log_softmax(z):
    shifted = z - _row_max(z)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def sparse_crossentropy_solution(logits, labels):
    """Mean sparse categorical cross-entropy from logits, and its gradient.

    Args:
        logits: raw scores z, shape (batch, classes).
        labels: integer class indices, shape (batch,).

    Returns:
        (loss, grad): ``loss`` a float, the mean over the batch of ``-log softmax(z)[y]``
        computed with log-sum-exp; ``grad`` of shape (batch, classes), d loss / d z =
        ``(softmax(z) - onehot(y)) / batch``.
    """
    z = np.asarray(logits, dtype=float)
    y = np.asarray(labels, dtype=int)
    batch = len(z)
    rows = np.arange(batch)
    log_p = _log_softmax(z)
    loss = -np.mean(log_p[rows, y])
    grad = np.exp(log_p)
    grad[rows, y] -= 1.0
    return float(loss), grad / batch


def _parts(logits, labels):
    z = np.asarray(logits, dtype=float)
    y = np.asarray(labels, dtype=int)
    rows = np.arange(len(z))
    log_p = _log_softmax(z)
    onehot = np.zeros_like(z)
    onehot[rows, y] = 1.0
    return z, y, rows, log_p, onehot


def _ce_sum_and_undivided_grad(logits, labels):
    z, y, rows, log_p, onehot = _parts(logits, labels)
    return float(-np.sum(log_p[rows, y])), np.exp(log_p) - onehot


def _ce_mean_but_undivided_grad(logits, labels):
    z, y, rows, log_p, onehot = _parts(logits, labels)
    return float(-np.mean(log_p[rows, y])), np.exp(log_p) - onehot


def _ce_sum_but_divided_grad(logits, labels):
    z, y, rows, log_p, onehot = _parts(logits, labels)
    return float(-np.sum(log_p[rows, y])), (np.exp(log_p) - onehot) / len(z)


def _ce_grad_sign_flipped(logits, labels):
    z, y, rows, log_p, onehot = _parts(logits, labels)
    return float(-np.mean(log_p[rows, y])), (onehot - np.exp(log_p)) / len(z)


def _ce_grad_without_onehot(logits, labels):
    z, y, rows, log_p, onehot = _parts(logits, labels)
    return float(-np.mean(log_p[rows, y])), np.exp(log_p) / len(z)


def _ce_over_batch_axis(logits, labels):
    z = np.asarray(logits, dtype=float)
    y = np.asarray(labels, dtype=int)
    rows = np.arange(len(z))
    m = np.max(z, axis=0, keepdims=True)
    log_p = z - m - np.log(np.sum(np.exp(z - m), axis=0, keepdims=True))
    grad = np.exp(log_p)
    grad[rows, y] -= 1.0
    return float(-np.mean(log_p[rows, y])), grad / len(z)


def _ce_wrong_indexing(logits, labels):
    z, y, rows, log_p, onehot = _parts(logits, labels)
    return float(-np.mean(log_p[:, y])), (np.exp(log_p) - onehot) / len(z)


def _ce_per_example(logits, labels):
    z, y, rows, log_p, onehot = _parts(logits, labels)
    return -log_p[rows, y], (np.exp(log_p) - onehot) / len(z)


def _ce_missing_minus(logits, labels):
    z, y, rows, log_p, onehot = _parts(logits, labels)
    return float(np.mean(log_p[rows, y])), (np.exp(log_p) - onehot) / len(z)


def _ce_clipped_probabilities(logits, labels):
    z, y, rows, log_p, onehot = _parts(logits, labels)
    p = np.clip(np.exp(log_p), CLIP_EPSILON, 1 - CLIP_EPSILON)
    return float(-np.mean(np.log(p[rows, y]))), (np.exp(log_p) - onehot) / len(z)


_CE_CLIPPED_MESSAGE = (
    "you took the log of clipped probabilities (or added a small epsilon before the log, or "
    "clipped as Keras does with from_logits=False): a confident wrong prediction then costs at "
    "most -log(epsilon) instead of its true, much larger loss. From logits, compute the "
    "log-probabilities directly with log-sum-exp, without clipping.")

_CE_RIGHT_AND_LARGE = (np.array([[800.0, 0.0, -50.0], [0.0, 900.0, 10.0]]), np.array([0, 1]))
_CE_WRONG_AND_LARGE = (np.array([[0.0, 800.0], [40.0, 0.0]]), np.array([0, 1]))

SPARSE_CROSSENTROPY = Exercise(
    "sparse categorical cross-entropy and its gradient",
    sparse_crossentropy_solution,
    cases=[
        Case("the worked example z = [5, 2, -1, 3], label 0", (np.array([[5.0, 2.0, -1.0, 3.0]]),
                                                               np.array([0]))),
        Case("a batch of 4 examples, 3 classes",
             (np.random.default_rng(2).normal(0.0, 2.0, size=(4, 3)), np.array([2, 0, 1, 2]))),
        Case("large logits, confident and right", _CE_RIGHT_AND_LARGE),
        Case("large logits, confident and wrong", _CE_WRONG_AND_LARGE),
        Case("a batch of 5 examples, 4 classes",
             (np.random.default_rng(3).normal(0.0, 1.0, size=(5, 4)), np.array([3, 3, 0, 1, 2]))),
    ],
    mistakes=[
        Mistake("you forgot to divide by the batch size, in the loss and in the gradient: the "
                "loss is the MEAN over the batch, so d loss / dz = (softmax(z) - onehot(y)) / batch.",
                _ce_sum_and_undivided_grad),
        Mistake("the loss is right, but the gradient is batch times too large: the loss is a "
                "mean over the batch, so divide softmax(z) - onehot(y) by the batch size.",
                _ce_mean_but_undivided_grad),
        Mistake("the gradient is right, but the loss is a sum over the batch; return the mean "
                "(divide by the batch size), as Keras and course_lib do.",
                _ce_sum_but_divided_grad),
        Mistake("the gradient has the wrong sign: d loss / dz = softmax(z) - onehot(y) "
                "(predicted minus true), divided by the batch size.",
                _ce_grad_sign_flipped),
        Mistake("the gradient forgot the labels: subtract 1 in each row's true-class column "
                "(softmax(z) - onehot(y)), then divide by the batch size.",
                _ce_grad_without_onehot),
        Mistake("you summed over the wrong axis: log-sum-exp (and the softmax of the gradient) "
                "runs over the classes of each example, axis=1, not over the batch, axis=0.",
                _ce_over_batch_axis),
        Mistake("the loss picks the wrong entries: log_p[:, labels] is a (batch, batch) block; "
                "pick one entry per row with log_p[np.arange(batch), labels].",
                _ce_wrong_indexing),
        Mistake("return the mean loss over the batch (one number), not one loss per example.",
                _ce_per_example),
        Mistake("the loss is negative: cross-entropy is MINUS the mean log-probability of the "
                "true class.",
                _ce_missing_minus),
        Mistake(_CE_CLIPPED_MESSAGE, _ce_clipped_probabilities),
    ],
)

_CE_OVERFLOW_MESSAGE = (
    "on large logits such as [800, 0, -50] your result contains inf or NaN: exp(800) "
    "overflows. Subtract each row's maximum before exponentiating (log-sum-exp): "
    "log sum exp(z) = m + log sum exp(z - m) with m = max z.")
_CE_UNDERFLOW_MESSAGE = (
    "for a confident wrong prediction (logits [0, 800], true class 0) your loss is inf or NaN: "
    "you took the log of unclipped probabilities, and softmax(z)[0] = exp(-800) underflows to "
    "0, so log(0) = -inf. Never take the log of the probabilities: compute the "
    "log-probabilities directly, log softmax(z) = z - max - log(sum(exp(z - max))).")


def check_sparse_crossentropy(fn):
    """Check a learner's ``sparse_crossentropy_with_grad(logits, labels)``."""
    title = SPARSE_CROSSENTROPY.title
    if callable(fn):
        out = _probe(fn, *_CE_RIGHT_AND_LARGE)
        if out is not None and _non_finite_result(out):
            return CheckResult(title, False, _CE_OVERFLOW_MESSAGE)
        out = _probe(fn, *_CE_WRONG_AND_LARGE)
        if out is not None and _non_finite_result(out):
            return CheckResult(title, False, _CE_UNDERFLOW_MESSAGE)
    with np.errstate(all="ignore"):
        result = SPARSE_CROSSENTROPY.check(fn)
    if not result.passed and "broadcast" in result.message:
        result.message += _KEEPDIMS_HINT
    explained = {mistake.explanation for mistake in SPARSE_CROSSENTROPY.mistakes}
    if not result.passed and result.message not in explained and _caps_large_losses(fn):
        result.message = _CE_CLIPPED_MESSAGE
    return result


def _loss_of(fn, logits, labels):
    out = _probe(fn, logits, labels)
    loss = out[0] if isinstance(out, (tuple, list)) and out else out
    try:
        return float(loss)
    except (TypeError, ValueError):
        return float("nan")


def _caps_large_losses(fn):
    """Whatever epsilon a learner clips with: right on moderate logits, yet a confident wrong
    prediction costs far less than its true loss (the cap -log(epsilon) is at most about 50 in
    float64, the true loss here is hundreds)."""
    worked = (np.array([[5.0, 2.0, -1.0, 3.0]]), np.array([0]))
    right = sparse_crossentropy_solution(*worked)[0]
    true_large = sparse_crossentropy_solution(*_CE_WRONG_AND_LARGE)[0]
    with np.errstate(all="ignore"):
        moderate, large = _loss_of(fn, *worked), _loss_of(fn, *_CE_WRONG_AND_LARGE)
    return (np.isclose(moderate, right, rtol=1e-4) and np.isfinite(large)
            and 0.0 < large < 0.5 * true_large)


def _non_finite_result(out):
    if isinstance(out, (tuple, list)):
        return any(_non_finite(part) for part in out)
    return _non_finite(out)


# ------------------------------------------- experiment: softmax regression's learning rate

#: The experiment's training: zero initial weights, batches of 64, 10 epochs.
REGRESSION_EPOCHS = 10


@functools.lru_cache(maxsize=256)
def softmax_regression_val_loss(learning_rate, seed):
    """The last epoch's validation loss of softmax regression (one Dense(10, softmax) layer,
    zero initial weights) trained by plain SGD at ``learning_rate`` on the digits; ``seed``
    sets the order of the batches. NaN if training diverged."""
    layers = [Dense(10, activation="softmax", kernel_initializer="zeros")]
    with np.errstate(all="ignore"):          # a diverging run overflows before it is stopped
        _, history = train_on_digits(layers, SGD(float(learning_rate)), epochs=REGRESSION_EPOCHS,
                                     batch_size=64, seed=int(seed))
    if history.diverged_at is not None:
        return float("nan")
    return float(history.history["val_loss"][-1])


# Half-decade steps from 1e-3 to 10. Margin 0.03: the best medians (0.087 to 0.098, between
# rates 1 and 3) lie within 0.01 of each other; half a decade lower costs 0.04, higher 0.08
# (SEED 0, 1 and 2; with zero initial weights only the batch order varies, and the seeds of
# one rate spread over less than 0.02 below rate 10).
REGRESSION_RATE_CHOICE = ValidationChoice(
    "softmax regression's learning rate, chosen by validation", "learning rate",
    softmax_regression_val_loss, grid=tuple(float(r) for r in np.geomspace(1e-3, 10.0, 9)),
    low=1e-3, high=10.0, margin=0.03)


def choose_regression_rate_solution(seed=0):
    """One way to choose: rates a decade apart, five seeds each, the lowest median
    validation loss (never the test set)."""
    rates = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
    medians = [np.nanmedian([softmax_regression_val_loss(rate, s) for s in seeds_from(seed)])
               for rate in rates]
    return rates[int(np.nanargmin(medians))]


def check_regression_rate_choice(learning_rate, seed=0):
    """Score a learner's learning rate for softmax regression on the checker's own runs (the
    seeds ``seeds_from(seed)``, validation loss after 10 epochs)."""
    return REGRESSION_RATE_CHOICE.check(learning_rate, seed)


__all__ = ["REGRESSION_RATE_CHOICE", "check_regression_rate_choice",
           "choose_regression_rate_solution", "STABLE_SOFTMAX", "SPARSE_CROSSENTROPY", "check_stable_softmax",
           "check_sparse_crossentropy", "stable_softmax_solution", "sparse_crossentropy_solution"]
