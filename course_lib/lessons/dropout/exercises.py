"""Exercises of the notebook on overfitting and dropout.

1. Inverted dropout, forward and backward: ``dropout_forward(x, rate, u, training)`` returns
   ``(out, mask)`` and ``dropout_backward(grad_out, mask)`` returns the gradient with respect
   to the input. The uniform numbers ``u`` are given, so the answer is exact: a unit is
   dropped where ``u < rate``. :func:`check_dropout` runs the forward pass and then the
   backward pass on the mask the forward pass returned, and compares the output and the
   input gradient with the reference.
2. Monte Carlo dropout: ``mc_dropout_predict(model, x, n_samples)`` returns the mean and the
   standard deviation of ``n_samples`` stochastic passes ``model.predict(x, training=True)``.
   Every case gets a fresh copy of a seeded model, so the learner's passes draw exactly the
   masks the reference draws.
"""
from __future__ import annotations

import numpy as np

from ...layers import Dense, Dropout
from ...model import Sequential
from ..exercise import Case, CheckResult, Exercise, Mistake

# --------------------------------------------------------------------------- exercise 1


def dropout_forward_solution(x, rate, u, training=True):
    """Inverted dropout, forward pass.

    Args:
        x: activations, shape (batch, units).
        rate: probability of dropping a unit, in [0, 1).
        u: uniform random numbers in [0, 1), shape (batch, units); a unit is dropped where
            ``u < rate``.
        training: dropout is applied only in training; at inference the layer is the identity.

    Returns:
        (out, mask), both (batch, units): ``mask`` is 0 for dropped units and
        ``1 / (1 - rate)`` for kept ones (all ones at inference), and ``out = x * mask``.
    """
    x = np.asarray(x, dtype=float)
    if not training:
        return x, np.ones_like(x)
    mask = (np.asarray(u) >= rate) / (1.0 - rate)
    return x * mask, mask


def dropout_backward_solution(grad_out, mask):
    """Inverted dropout, backward pass: d loss / dx = d loss / d out * mask, (batch, units)."""
    return np.asarray(grad_out, dtype=float) * mask


def _combine(forward, backward):
    """One function for the checker: the forward pass, then the backward pass on the mask
    (or whatever cache) the forward pass returned. Returns (out, grad_in)."""
    def forward_then_backward(x, grad_out, rate, u, training):
        out, cache = forward(x, rate, u, training)
        return out, backward(grad_out, cache)
    return forward_then_backward


def _keep(u, rate):
    return (np.asarray(u) >= rate).astype(float)


def _forward_no_scale(x, rate, u, training=True):
    if not training:
        return np.asarray(x, dtype=float), np.ones_like(x, dtype=float)
    mask = _keep(u, rate)
    return x * mask, mask


def _forward_times_keep_probability(x, rate, u, training=True):
    if not training:
        return np.asarray(x, dtype=float), np.ones_like(x, dtype=float)
    mask = _keep(u, rate) * (1.0 - rate)
    return x * mask, mask


def _forward_also_at_inference(x, rate, u, training=True):
    mask = _keep(u, rate) / (1.0 - rate)
    return x * mask, mask


def _forward_original_dropout(x, rate, u, training=True):
    if not training:
        return np.asarray(x, dtype=float) * (1.0 - rate), np.full(np.shape(x), 1.0 - rate)
    mask = _keep(u, rate)
    return x * mask, mask


def _forward_keep_below_rate(x, rate, u, training=True):
    if not training:
        return np.asarray(x, dtype=float), np.ones_like(x, dtype=float)
    mask = (np.asarray(u) < rate) / (1.0 - rate)
    return x * mask, mask


def _forward_rate_as_keep_probability(x, rate, u, training=True):
    if not training:
        return np.asarray(x, dtype=float), np.ones_like(x, dtype=float)
    mask = (np.asarray(u) < rate) / rate
    return x * mask, mask


def _forward_strict_boundary(x, rate, u, training=True):
    if not training:
        return np.asarray(x, dtype=float), np.ones_like(x, dtype=float)
    mask = (np.asarray(u) > rate) / (1.0 - rate)
    return x * mask, mask


def _backward_pass_through(grad_out, mask):
    return np.asarray(grad_out, dtype=float)


def _backward_unscaled(grad_out, mask):
    return np.asarray(grad_out, dtype=float) * (np.asarray(mask) != 0)


def _dropout_case(name, shape, rate, seed, training=True, exact=()):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.5, 1.0, size=shape)
    grad_out = rng.normal(0.0, 1.0, size=shape)
    u = rng.random(shape)
    for index in exact:              # some units sit exactly on the threshold
        u[index] = rate
    return Case(name, (x, grad_out, rate, u, training))


DROPOUT_CASES = [
    _dropout_case("rate 0.5, a batch of 2 x 4, training", (2, 4), 0.5, 1),
    _dropout_case("rate 0.2, a batch of 3 x 5, training", (3, 5), 0.2, 2),
    _dropout_case("rate 0.25 with some u exactly equal to the rate", (2, 6), 0.25, 3,
                  exact=((0, 1), (1, 4))),
    _dropout_case("rate 0.8, a batch of 4 x 3, training", (4, 3), 0.8, 4),
    _dropout_case("inference (training=False), rate 0.5", (2, 4), 0.5, 5, training=False),
    _dropout_case("rate 0: nothing is dropped", (2, 3), 0.0, 6),
]

_SOLUTION_BACKWARD = dropout_backward_solution

DROPOUT = Exercise(
    "inverted dropout, forward and backward",
    _combine(dropout_forward_solution, dropout_backward_solution),
    cases=DROPOUT_CASES,
    mistakes=[
        Mistake("you dropped units but did not scale the kept ones: their expected output is "
                "then (1 - rate) * x instead of x, and the next layer would receive larger "
                "inputs at inference than during training. Divide the kept units by "
                "(1 - rate): mask = (u >= rate) / (1 - rate).",
                _combine(_forward_no_scale, _SOLUTION_BACKWARD)),
        Mistake("you multiplied the kept units by (1 - rate); inverted dropout divides by it, "
                "mask = (u >= rate) / (1 - rate), so that the expected output stays x.",
                _combine(_forward_times_keep_probability, _SOLUTION_BACKWARD)),
        Mistake("with training=False your layer still drops units: dropout is active only "
                "during training. At inference return x unchanged (mask of ones), so the "
                "gradient also passes unchanged.",
                _combine(_forward_also_at_inference, _SOLUTION_BACKWARD)),
        Mistake("this is the original, non-inverted dropout: no scaling in training and a "
                "multiplication by (1 - rate) at inference. It has the same expectation, but "
                "inverted dropout (Keras's and this library's) scales the kept units by "
                "1 / (1 - rate) during training, so that inference returns x unchanged.",
                _combine(_forward_original_dropout, _SOLUTION_BACKWARD)),
        Mistake("you keep a unit where u < rate, so units are dropped with probability "
                "1 - rate: rate is the probability of dropping. Drop where u < rate, keep "
                "where u >= rate.",
                _combine(_forward_keep_below_rate, _SOLUTION_BACKWARD)),
        Mistake("you used rate as the keep probability (kept where u < rate and divided by "
                "rate). In Keras and here, rate is the fraction dropped: keep where u >= rate "
                "and divide by 1 - rate.",
                _combine(_forward_rate_as_keep_probability, _SOLUTION_BACKWARD)),
        Mistake("a unit whose u equals rate exactly must be kept: drop where u < rate and keep "
                "where u >= rate, as the library's Dropout does.",
                _combine(_forward_strict_boundary, _SOLUTION_BACKWARD)),
        Mistake("your forward pass is right, but your backward pass lets the gradient through "
                "every unit. A dropped unit did not influence the output, so its gradient is 0, "
                "and a kept unit's gradient is scaled like its value: grad_in = grad_out * mask.",
                _combine(dropout_forward_solution, _backward_pass_through)),
        Mistake("your forward pass is right, but your backward pass forgets the scale: the "
                "forward pass multiplied the kept units by 1 / (1 - rate), so their gradient "
                "must be multiplied by it too: grad_in = grad_out * mask.",
                _combine(dropout_forward_solution, _backward_unscaled)),
    ],
)


def check_dropout(forward, backward):
    """Check a learner's ``dropout_forward(x, rate, u, training)`` and
    ``dropout_backward(grad_out, mask)``: the output and the input gradient are compared
    with the reference on every case. Returns a :class:`CheckResult`."""
    for name, fn in (("dropout_forward", forward), ("dropout_backward", backward)):
        if not callable(fn):
            return CheckResult(DROPOUT.title, False,
                               f"{name} must be a function; got {type(fn).__name__}.")
    with np.errstate(all="ignore"):
        problem = _shape_of_answers(forward, backward)
        if problem:
            return CheckResult(DROPOUT.title, False, problem)
        return DROPOUT.check(_combine(forward, backward))


def _shape_of_answers(forward, backward):
    """A message if the functions do not return what the exercise asks for, else None
    (errors are left to the main check, which names the case)."""
    x, grad_out, rate, u, training = (np.copy(a) if isinstance(a, np.ndarray) else a
                                      for a in DROPOUT_CASES[0].args)
    try:
        answer = forward(x, rate, u, training)
    except Exception:  # reported with its case by the main check
        return None
    if not isinstance(answer, tuple) or len(answer) != 2:
        return ("dropout_forward must return a pair (out, mask); it returned "
                f"{type(answer).__name__}. End it with `return x * mask, mask`.")
    try:
        grad_in = backward(grad_out, answer[1])
    except Exception:
        return None
    if grad_in is None:
        return "dropout_backward returned None: did you forget the `return` statement?"
    return None


# --------------------------------------------------------------------------- exercise 2

def mc_dropout_predict_solution(model, x, n_samples=100):
    """Monte Carlo dropout: mean and standard deviation of ``n_samples`` stochastic passes.

    Args:
        model: a trained model with dropout layers; ``model.predict(x, training=True)``
            keeps dropout on and draws new masks at every call.
        x: inputs, shape (n, features).
        n_samples: number of passes.

    Returns:
        (mean, std), each (n, outputs): the mean of the passes (the MC prediction) and their
        standard deviation (np.std's default, ddof=0: the uncertainty).
    """
    passes = np.stack([model.predict(x, training=True) for _ in range(n_samples)])
    return passes.mean(axis=0), passes.std(axis=0)


def _stack(model, x, n_samples, training=True):
    return np.stack([model.predict(x, training=training) for _ in range(n_samples)])


def _mc_dropout_off(model, x, n_samples=100):
    passes = _stack(model, x, n_samples, training=False)
    return passes.mean(axis=0), passes.std(axis=0)


def _mc_one_pass_reused(model, x, n_samples=100):
    passes = np.stack([model.predict(x, training=True)] * n_samples)
    return passes.mean(axis=0), passes.std(axis=0)


def _mc_both_over_examples(model, x, n_samples=100):
    passes = _stack(model, x, n_samples)
    return passes.mean(axis=1), passes.std(axis=1)


def _mc_std_over_examples(model, x, n_samples=100):
    passes = _stack(model, x, n_samples)
    return passes.mean(axis=0), passes.std(axis=1)


def _mc_std_over_everything(model, x, n_samples=100):
    passes = _stack(model, x, n_samples)
    return passes.mean(axis=0), passes.std()


def _mc_variance(model, x, n_samples=100):
    passes = _stack(model, x, n_samples)
    return passes.mean(axis=0), passes.var(axis=0)


def _mc_sample_std(model, x, n_samples=100):
    passes = _stack(model, x, n_samples)
    return passes.mean(axis=0), passes.std(axis=0, ddof=1)


def _mc_one_pass_short(model, x, n_samples=100):
    passes = _stack(model, x, n_samples - 1)
    return passes.mean(axis=0), passes.std(axis=0)


def _mc_swapped(model, x, n_samples=100):
    passes = _stack(model, x, n_samples)
    return passes.std(axis=0), passes.mean(axis=0)


def _toy_classifier():
    """A built classifier: 5 inputs -> 16 ReLU -> Dropout(0.3) -> 3-class softmax (seeded)."""
    model = Sequential([Dense(16, activation="relu", seed=1), Dropout(0.3, seed=2),
                        Dense(3, activation="softmax", seed=3)], seed=0)
    return model.build(5)


def _toy_regressor():
    """A built regressor: 1 input -> 12 ELU -> Dropout(0.2) -> 12 ELU -> Dropout(0.2) -> 1."""
    model = Sequential([Dense(12, activation="elu", seed=4), Dropout(0.2, seed=5),
                        Dense(12, activation="elu", seed=6), Dropout(0.2, seed=7),
                        Dense(1, seed=8)], seed=0)
    return model.build(1)


_RNG = np.random.default_rng(11)

MC_DROPOUT = Exercise(
    "Monte Carlo dropout prediction",
    mc_dropout_predict_solution,
    cases=[
        Case("a 3-class classifier, 6 examples, 30 passes",
             (_toy_classifier(), _RNG.normal(size=(6, 5)), 30)),
        Case("a 1-D regression network, 8 inputs, 50 passes",
             (_toy_regressor(), np.linspace(-4.0, 4.0, 8)[:, None], 50)),
        Case("the classifier, 4 examples, 5 passes",
             (_toy_classifier(), _RNG.normal(size=(4, 5)), 5)),
    ],
    mistakes=[
        Mistake("your standard deviation is 0 everywhere and your mean is the ordinary "
                "prediction: the passes ran with dropout off. Call "
                "model.predict(x, training=True), so that every pass draws new masks.",
                _mc_dropout_off),
        Mistake("all your passes are identical (std 0): you called predict once and reused "
                "its output. Call model.predict(x, training=True) inside the loop, once per pass.",
                _mc_one_pass_reused),
        Mistake("you averaged over axis 1, the examples. The passes are stacked along axis 0: "
                "use mean(axis=0) and std(axis=0), which give one value per example and "
                "output, shape (n, outputs).",
                _mc_both_over_examples),
        Mistake("your mean is right, but the standard deviation is taken over axis 1, the "
                "examples. The uncertainty of each prediction is the spread over the passes: "
                "std(axis=0).",
                _mc_std_over_examples),
        Mistake("your mean is right, but you took one standard deviation over everything "
                "(passes, examples and outputs). Take it over the passes only: std(axis=0), "
                "shape (n, outputs).",
                _mc_std_over_everything),
        Mistake("you returned the variance; the uncertainty is the standard deviation, its "
                "square root: passes.std(axis=0).",
                _mc_variance),
        Mistake("you used the sample standard deviation (ddof=1). Use np.std's default "
                "(ddof=0), as y_probas.std(axis=0) in the source material does.",
                _mc_sample_std),
        Mistake("you averaged n_samples - 1 passes: loop with range(n_samples).",
                _mc_one_pass_short),
        Mistake("you returned (std, mean); return (mean, std).",
                _mc_swapped),
    ],
    rtol=1e-5, atol=1e-6,
)


def check_mc_dropout_predict(fn):
    """Check a learner's ``mc_dropout_predict(model, x, n_samples)``; returns a
    :class:`CheckResult`."""
    with np.errstate(all="ignore"):
        return MC_DROPOUT.check(fn)


__all__ = ["DROPOUT", "MC_DROPOUT", "check_dropout", "check_mc_dropout_predict",
           "dropout_forward_solution", "dropout_backward_solution",
           "mc_dropout_predict_solution"]
