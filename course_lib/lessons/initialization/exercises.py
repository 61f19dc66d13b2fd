"""Exercises of the notebook on initialization and activations.

* :data:`HE_NORMAL_STD` -- the standard deviation of He initialization from the variance
  argument;
* :data:`NUMERICAL_GRADIENT` -- a centred-difference gradient, the learner's own gradient
  check (the notebook then uses it to find a planted bug in a small layer);
* :data:`CLIP_BY_GLOBAL_NORM` -- clip a list of gradients by their global norm.

Each has a ``check_xxx(fn)`` that runs the learner's function on the cases and answers with
specific feedback for the typical mistakes listed with it. The experiment, choosing the
weight scale of a deep tanh network by validation (runs in :mod:`.scale_choice`), has
``check_tanh_scale_choice(scale, seed)``, which scores the learner's value on its own runs.
"""
from __future__ import annotations

import math

import numpy as np

from ...checks import numerical_gradient
from ...optimizers import SGD
from ..exercise import Case, Exercise, Mistake

# ---------------------------------------------------------------------- He's std


def he_normal_std_reference(fan_in):
    """Standard deviation of He initialization: ``sqrt(2 / fan_in)``.

    A ReLU keeps half of the second moment of its input, so each layer must double it:
    ``fan_in * Var(w) * E[z^2] / 2 = E[z^2]`` gives ``Var(w) = 2 / fan_in``.
    """
    return math.sqrt(2.0 / fan_in)


HE_NORMAL_STD = Exercise(
    "he_normal_std(fan_in)",
    he_normal_std_reference,
    [Case("fan_in 64", (64,)), Case("fan_in 300", (300,)), Case("fan_in 1", (1,)),
     Case("fan_in 1000", (1000,))],
    mistakes=[
        Mistake("that is the variance, not the standard deviation: take the square root.",
                lambda fan_in: 2.0 / fan_in),
        Mistake("that is LeCun's value, right for SELU or linear units. A ReLU zeroes half "
                "of its inputs: what factor makes up for the half of E[z^2] it loses?",
                lambda fan_in: math.sqrt(1.0 / fan_in)),
        Mistake("that is the limit of He's *uniform* draw (sqrt(3) times the std). The "
                "question asks for the normal draw's standard deviation.",
                lambda fan_in: math.sqrt(6.0 / fan_in)),
        Mistake("the fan_in belongs in the denominator: more inputs summed means smaller "
                "weights.", lambda fan_in: math.sqrt(2.0 * fan_in)),
    ],
)


def check_he_normal_std(fn):
    """Check a learner's ``he_normal_std(fan_in) -> float``."""
    return HE_NORMAL_STD.check(fn)


# ------------------------------------------------------------------ numerical gradient


# The reference is the library's own gradient check (course_lib.checks): one definition.
numerical_gradient_reference = numerical_gradient


def _forward_difference(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=np.float64)
    f_x = f(x)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + h
        grad[i] = (f(x) - f_x) / h
        x[i] = original
    return grad


def _divided_by_h(f, x, h=1e-5):
    return 2 * numerical_gradient_reference(f, x, h)


def _not_restored(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + h
        f_plus = f(x)
        x[i] = original - h
        f_minus = f(x)
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def _all_at_once(f, x, h=1e-5):
    return np.full_like(x, (f(x + h) - f(x - h)) / (2 * h), dtype=np.float64)


def _cubic(x):
    return float(np.sum(x ** 3) + np.sum(x[:1] * x[-1:]))


def _log_sum_exp(x):
    return float(np.log(np.sum(np.exp(x))))


def _gradient_cases():
    rng = np.random.default_rng(11)
    return [
        Case("cubic of a vector", (_cubic, np.array([0.5, -1.0, 2.0]))),
        Case("log-sum-exp of a matrix", (_log_sum_exp, rng.normal(size=(2, 3)))),
        Case("a larger step", (_cubic, np.array([1.0, 3.0])), {"h": 1e-2}),
    ]


NUMERICAL_GRADIENT = Exercise(
    "numerical_gradient(f, x, h=1e-5)",
    numerical_gradient_reference,
    _gradient_cases(),
    mistakes=[
        Mistake("that is the forward difference (f(x + h) - f(x)) / h: its error shrinks only "
                "like h, not h**2. Evaluate f on both sides of x.", _forward_difference),
        Mistake("the two evaluations are 2h apart: divide their difference by that distance.",
                _divided_by_h),
        Mistake("x is not put back after each entry, so the next entries are measured at a "
                "shifted point. Restore x[i] before moving on.", _not_restored),
        Mistake("every entry got the same number: you moved all of x at once. Move one entry "
                "at a time (np.ndindex visits them all).", _all_at_once),
    ],
    rtol=1e-5, atol=1e-7,
)


def check_numerical_gradient(fn):
    """Check a learner's ``numerical_gradient(f, x, h=1e-5) -> array``."""
    return NUMERICAL_GRADIENT.check(fn)


# ------------------------------------------------------------------ clip by global norm


def clip_by_global_norm_reference(gradients, clip_norm):
    """Keras's ``global_clipnorm``: the optimizers' own clipping (one definition)."""
    return SGD(global_clipnorm=clip_norm).clip_gradients(gradients)


def _clip_each(gradients, clip_norm):
    out = []
    for g in gradients:
        norm = np.linalg.norm(g)
        out.append(g * clip_norm / norm if norm > clip_norm else g.copy())
    return out


def _clip_values(gradients, clip_norm):
    return [np.clip(g, -clip_norm, clip_norm) for g in gradients]


def _always_rescale(gradients, clip_norm):
    global_norm = math.sqrt(sum(float(np.sum(g ** 2)) for g in gradients))
    return [g * (clip_norm / global_norm) for g in gradients]


def _squared_norm(gradients, clip_norm):
    total = sum(float(np.sum(g ** 2)) for g in gradients)
    if total <= clip_norm:
        return [g.copy() for g in gradients]
    return [g * (clip_norm / total) for g in gradients]


def _clip_cases():
    rng = np.random.default_rng(12)
    return [
        Case("two tensors, too long", ([np.array([[3.0, 0.0], [0.0, 4.0]]), np.array([12.0])],
                                       1.0)),
        Case("already short: unchanged", ([np.array([0.1, -0.2]), np.array([0.05])], 5.0)),
        Case("three tensors", ([rng.normal(size=(3, 2)) * 10, rng.normal(size=2),
                                rng.normal(size=(2, 2))], 2.0)),
    ]


CLIP_BY_GLOBAL_NORM = Exercise(
    "clip_by_global_norm(gradients, clip_norm)",
    clip_by_global_norm_reference,
    _clip_cases(),
    mistakes=[
        Mistake("each gradient was clipped to its own norm: that is Keras's clipnorm, which "
                "changes the direction of the whole step. Use ONE norm computed over all "
                "gradients together.", _clip_each),
        Mistake("the entries were clipped one by one (Keras's clipvalue). Scale whole "
                "gradients instead, by a single factor.", _clip_values),
        Mistake("gradients already shorter than clip_norm must stay as they are; only "
                "longer ones are scaled down.", _always_rescale),
        Mistake("the global norm is the square ROOT of the sum of all squared entries.",
                _squared_norm),
    ],
)


def check_clip_by_global_norm(fn):
    """Check a learner's ``clip_by_global_norm(gradients, clip_norm) -> list of arrays``."""
    return CLIP_BY_GLOBAL_NORM.check(fn)


# ---------------------------------------------------------- experiment: a tanh network's scale

from .scale_choice import (TANH_SCALE_CHOICE, choose_tanh_scale_solution,  # noqa: E402,F401
                           tanh_scale_val_loss)


def check_tanh_scale_choice(scale, seed=0):
    """Score a learner's weight scale for the deep tanh network on the checker's own runs (the
    seeds ``seeds_from(seed)``, lowest validation loss over 8 epochs)."""
    return TANH_SCALE_CHOICE.check(scale, seed)
