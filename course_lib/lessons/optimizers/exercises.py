"""Exercises of the notebook on optimizers.

* :data:`MOMENTUM_STEP` -- one step of SGD with momentum, in Keras's form;
* :data:`ADAM_STEP` -- one step of Adam in the form of the study notes (bias-corrected
  moments, epsilon inside the square root); the two other forms of epsilon, the paper's
  (and PyTorch's) and Keras's, are recognised and named;
* :data:`DIVERGING_RATES` -- predict from the curvature which learning rates make gradient
  descent diverge on a quadratic.

Each has a ``check_xxx(fn)`` that runs the learner's function on the cases and answers with
specific feedback for the typical mistakes listed with it.
"""
from __future__ import annotations

import math

import numpy as np

from ..exercise import Case, Exercise, Mistake, ValidationChoice
from ..seeds import seeds_from
from .digits_runs import digits_run

# ---------------------------------------------------------------------- momentum step


def momentum_step_reference(w, v, g, learning_rate, momentum):
    """One step of SGD with momentum (Keras's form).

    w, v, g : arrays of one shape (parameters, velocity, gradient).
    Returns (w_new, v_new):  v_new = momentum * v - learning_rate * g;  w_new = w + v_new.
    """
    v_new = momentum * v - learning_rate * g
    return w + v_new, v_new


def _momentum_uphill(w, v, g, learning_rate, momentum):
    v_new = momentum * v + learning_rate * g
    return w + v_new, v_new


def _momentum_old_velocity(w, v, g, learning_rate, momentum):
    v_new = momentum * v - learning_rate * g
    return w + v, v_new


def _momentum_averaged(w, v, g, learning_rate, momentum):
    v_new = momentum * v - (1.0 - momentum) * g
    return w + learning_rate * v_new, v_new


def _momentum_gradient_units(w, v, g, learning_rate, momentum):
    v_new = momentum * v + g
    return w - learning_rate * v_new, v_new


def _momentum_forgotten(w, v, g, learning_rate, momentum):
    v_new = -learning_rate * g
    return w + v_new, v_new


def _momentum_nesterov(w, v, g, learning_rate, momentum):
    v_new = momentum * v - learning_rate * g
    return w + momentum * v_new - learning_rate * g, v_new


def _momentum_cases():
    rng = np.random.default_rng(3)
    return [
        Case("first step (v = 0)", (np.array([1.0, -2.0, 0.5]), np.zeros(3),
                                    np.array([0.4, -1.0, 2.0]), 0.1, 0.9)),
        Case("moving already", (np.array([0.3, 0.7]), np.array([0.05, -0.2]),
                                np.array([1.5, 0.25]), 0.05, 0.9)),
        Case("a matrix of weights", (rng.normal(size=(3, 4)), rng.normal(scale=0.1, size=(3, 4)),
                                     rng.normal(size=(3, 4)), 0.01, 0.5)),
        Case("momentum 0 is plain gradient descent", (np.array([2.0]), np.array([0.3]),
                                                      np.array([-1.0]), 0.2, 0.0)),
    ]


MOMENTUM_STEP = Exercise(
    "momentum_step(w, v, g, learning_rate, momentum)",
    momentum_step_reference,
    _momentum_cases(),
    mistakes=[
        Mistake("your step goes uphill: the velocity must collect MINUS the learning rate "
                "times the gradient, v = momentum * v - learning_rate * g.", _momentum_uphill),
        Mistake("the weights moved with the old velocity. Update v first, then move the "
                "weights with the new one: w = w + v_new.", _momentum_old_velocity),
        Mistake("you averaged the gradient with a (1 - momentum) factor: that is Adam's first "
                "moment. Momentum adds the whole step: v = momentum * v - learning_rate * g.",
                _momentum_averaged),
        Mistake("that is the form with a velocity in gradient units (v = momentum * v + g; "
                "w = w - lr * v). Its path is the same, but here v is the step itself, as in "
                "Keras and the equations above: v = momentum * v - learning_rate * g; w = w + v.",
                _momentum_gradient_units),
        Mistake("the old velocity is not used: this is plain gradient descent. Keep a "
                "fraction `momentum` of v: v = momentum * v - learning_rate * g.",
                _momentum_forgotten),
        Mistake("that is Nesterov's update (w + momentum * v_new - lr * g). Plain momentum "
                "moves by the new velocity only: w = w + v_new.", _momentum_nesterov),
    ],
)


def check_momentum_step(fn):
    """Check a learner's ``momentum_step(w, v, g, learning_rate, momentum) -> (w, v)``."""
    return MOMENTUM_STEP.check(fn)


# -------------------------------------------------------------------------- Adam step


def adam_step_reference(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                        epsilon=1e-7):
    """One step of Adam in the form of some textbooks and study notes: epsilon inside the
    square root.

    w, g, m, s : arrays of one shape (parameters, gradient, first and second moments).
    t : the step number, starting at 1.
    Returns (w_new, m_new, s_new):
        m_new = beta_1 * m + (1 - beta_1) * g
        s_new = beta_2 * s + (1 - beta_2) * g**2
        m_hat = m_new / (1 - beta_1**t);  s_hat = s_new / (1 - beta_2**t)
        w_new = w - learning_rate * m_hat / sqrt(s_hat + epsilon)

    The paper's Algorithm 1 and PyTorch put epsilon outside the root,
    m_hat / (sqrt(s_hat) + epsilon); Keras folds the corrections into the learning rate,
    learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(s) + epsilon), the
    paper's epsilon-hat. The three agree unless sqrt(s_hat) is as small as epsilon allows.
    """
    m_new = beta_1 * m + (1.0 - beta_1) * g
    s_new = beta_2 * s + (1.0 - beta_2) * g ** 2
    m_hat = m_new / (1.0 - beta_1 ** t)
    s_hat = s_new / (1.0 - beta_2 ** t)
    return w - learning_rate * m_hat / np.sqrt(s_hat + epsilon), m_new, s_new


def _adam_no_correction(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                        epsilon=1e-7):
    m_new = beta_1 * m + (1.0 - beta_1) * g
    s_new = beta_2 * s + (1.0 - beta_2) * g ** 2
    return w - learning_rate * m_new / np.sqrt(s_new + epsilon), m_new, s_new


def _adam_only_m_corrected(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                           epsilon=1e-7):
    m_new = beta_1 * m + (1.0 - beta_1) * g
    s_new = beta_2 * s + (1.0 - beta_2) * g ** 2
    m_hat = m_new / (1.0 - beta_1 ** t)
    return w - learning_rate * m_hat / np.sqrt(s_new + epsilon), m_new, s_new


def _adam_paper_form(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                     epsilon=1e-7):
    m_new = beta_1 * m + (1.0 - beta_1) * g
    s_new = beta_2 * s + (1.0 - beta_2) * g ** 2
    m_hat = m_new / (1.0 - beta_1 ** t)
    s_hat = s_new / (1.0 - beta_2 ** t)
    return w - learning_rate * m_hat / (np.sqrt(s_hat) + epsilon), m_new, s_new


def _adam_keras_form(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                     epsilon=1e-7):
    m_new = beta_1 * m + (1.0 - beta_1) * g
    s_new = beta_2 * s + (1.0 - beta_2) * g ** 2
    alpha = learning_rate * np.sqrt(1.0 - beta_2 ** t) / (1.0 - beta_1 ** t)
    return w - alpha * m_new / (np.sqrt(s_new) + epsilon), m_new, s_new


def _adam_returns_corrected(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                            epsilon=1e-7):
    m_new = beta_1 * m + (1.0 - beta_1) * g
    s_new = beta_2 * s + (1.0 - beta_2) * g ** 2
    m_hat = m_new / (1.0 - beta_1 ** t)
    s_hat = s_new / (1.0 - beta_2 ** t)
    return w - learning_rate * m_hat / np.sqrt(s_hat + epsilon), m_hat, s_hat


def _adam_no_averaging(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                       epsilon=1e-7):
    m_new = beta_1 * m + g
    s_new = beta_2 * s + g ** 2
    m_hat = m_new / (1.0 - beta_1 ** t)
    s_hat = s_new / (1.0 - beta_2 ** t)
    return w - learning_rate * m_hat / np.sqrt(s_hat + epsilon), m_new, s_new


def _adam_uphill(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    w_new, m_new, s_new = adam_step_reference(w, g, m, s, t, learning_rate, beta_1, beta_2,
                                              epsilon)
    return 2.0 * w - w_new, m_new, s_new


def _adam_step_counted_from_zero(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                                 epsilon=1e-7):
    m_new = beta_1 * m + (1.0 - beta_1) * g
    s_new = beta_2 * s + (1.0 - beta_2) * g ** 2
    m_hat = m_new / (1.0 - beta_1 ** (t + 1))
    s_hat = s_new / (1.0 - beta_2 ** (t + 1))
    return w - learning_rate * m_hat / np.sqrt(s_hat + epsilon), m_new, s_new


def _adam_no_square_root(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                         epsilon=1e-7):
    m_new = beta_1 * m + (1.0 - beta_1) * g
    s_new = beta_2 * s + (1.0 - beta_2) * g ** 2
    m_hat = m_new / (1.0 - beta_1 ** t)
    s_hat = s_new / (1.0 - beta_2 ** t)
    return w - learning_rate * m_hat / (s_hat + epsilon), m_new, s_new


def _adam_cases():
    rng = np.random.default_rng(7)
    m = rng.normal(scale=0.1, size=(2, 3))
    s = rng.uniform(0.01, 0.2, size=(2, 3))
    return [
        Case("first step", (np.array([0.5, -1.0, 2.0]), np.array([0.2, -3.0, 0.01]),
                            np.zeros(3), np.zeros(3), 1), {"learning_rate": 0.01}),
        Case("step 10 with a matrix", (rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), m, s, 10),
             {"learning_rate": 0.001}),
        Case("tiny gradients, large epsilon", (np.array([1.0, 1.0]), np.array([1e-3, -2e-3]),
                                               np.array([5e-4, -1e-3]), np.array([1e-6, 3e-6]),
                                               3), {"learning_rate": 0.1, "epsilon": 1e-4}),
        Case("other betas", (np.array([0.0, 1.0]), np.array([1.0, -0.5]), np.array([0.1, 0.2]),
                             np.array([0.3, 0.1]), 2),
             {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9}),
    ]


ADAM_STEP = Exercise(
    "adam_step(w, g, m, s, t, ...)",
    adam_step_reference,
    _adam_cases(),
    mistakes=[
        Mistake("there is no bias correction: divide m by (1 - beta_1**t) and s by "
                "(1 - beta_2**t) before the update (keep the uncorrected m and s as state).",
                _adam_no_correction),
        Mistake("only m is bias-corrected. s starts at 0 too: use "
                "s_hat = s / (1 - beta_2**t) under the square root.", _adam_only_m_corrected),
        Mistake("that is the form of the Adam paper's Algorithm 1 and of PyTorch: epsilon "
                "outside the square root, m_hat / (sqrt(s_hat) + epsilon). It is a correct Adam, "
                "but this exercise asks for the form with epsilon inside the root: "
                "m_hat / sqrt(s_hat + epsilon).", _adam_paper_form),
        Mistake("that is Keras's form: the corrections folded into the learning rate, "
                "lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(s) + epsilon), which is "
                "the paper's epsilon-hat (epsilon / sqrt(1 - beta_2**t) next to sqrt(s_hat)). It "
                "is a correct Adam, but this exercise asks for the form with epsilon inside the "
                "root: m_hat / sqrt(s_hat + epsilon).", _adam_keras_form),
        Mistake("the bias correction uses the wrong power: t is already this step's number (1 "
                "at the first step, as in the first case), so do not add 1 to it (a loop counter "
                "that starts at 0 needs its + 1; t here does not).", _adam_step_counted_from_zero),
        Mistake("the step divides by s_hat itself: s_hat estimates the SQUARED gradient, so the "
                "step divides by its square root (with epsilon) to get back to gradient units.",
                _adam_no_square_root),
        Mistake("you returned the bias-corrected m_hat and s_hat as the new state. Return the "
                "raw averages m and s: the correction is applied afresh at every step.",
                _adam_returns_corrected),
        Mistake("the moving averages lack their (1 - beta) factors: m = beta_1 * m + "
                "(1 - beta_1) * g and s = beta_2 * s + (1 - beta_2) * g**2.", _adam_no_averaging),
        Mistake("your step goes uphill: subtract learning_rate * m_hat / sqrt(s_hat + epsilon) "
                "from w.", _adam_uphill),
    ],
    rtol=1e-9, atol=1e-12,
)


def check_adam_step(fn):
    """Check a learner's ``adam_step(w, g, m, s, t, learning_rate, beta_1, beta_2, epsilon)``."""
    return ADAM_STEP.check(fn)


# ------------------------------------------------------------------ diverging rates


def diverging_rates_reference(hessian, learning_rates):
    """Which learning rates make gradient descent diverge on f(p) = 0.5 * p^T H p.

    hessian : (d, d) symmetric positive definite matrix H.
    learning_rates : (n,) array of rates.
    Returns a boolean array of shape (n,): True where lr > 2 / L, L the largest eigenvalue
    of H. (At lr = 2 / L exactly the iterate flips sign with constant size: it neither
    converges nor diverges.)
    """
    curvature = np.linalg.eigvalsh(np.asarray(hessian, dtype=float)).max()
    return np.asarray(learning_rates, dtype=float) > 2.0 / curvature


def _rates_smallest_eigenvalue(hessian, learning_rates):
    curvature = np.linalg.eigvalsh(np.asarray(hessian, dtype=float)).min()
    return np.asarray(learning_rates, dtype=float) > 2.0 / curvature


def _rates_one_over_l(hessian, learning_rates):
    curvature = np.linalg.eigvalsh(np.asarray(hessian, dtype=float)).max()
    return np.asarray(learning_rates, dtype=float) > 1.0 / curvature


def _rates_diagonal(hessian, learning_rates):
    curvature = np.max(np.diag(np.asarray(hessian, dtype=float)))
    return np.asarray(learning_rates, dtype=float) > 2.0 / curvature


def _rates_trace(hessian, learning_rates):
    curvature = np.trace(np.asarray(hessian, dtype=float))
    return np.asarray(learning_rates, dtype=float) > 2.0 / curvature


def _rates_inclusive(hessian, learning_rates):
    curvature = np.linalg.eigvalsh(np.asarray(hessian, dtype=float)).max()
    return np.asarray(learning_rates, dtype=float) >= 2.0 / curvature


def _rates_inverted(hessian, learning_rates):
    return ~diverging_rates_reference(hessian, learning_rates)


def _rates_cases():
    return [
        Case("the notebook's quadratic, diag(1, 10)",
             (np.diag([1.0, 10.0]), np.array([0.01, 0.1, 0.19, 0.21, 0.5, 1.5, 2.5]))),
        Case("a rotated bowl (off-diagonal terms)",
             (np.array([[3.0, 2.0], [2.0, 3.0]]), np.array([0.1, 0.3, 0.39, 0.41, 0.5, 0.7]))),
        Case("exactly at 2 / L", (np.diag([4.0, 1.0]), np.array([0.25, 0.5, 0.75]))),
        Case("three parameters", (np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.5]]),
                                  np.array([0.05, 0.5, 0.8, 0.9, 1.2, 3.0, 5.0]))),
    ]


DIVERGING_RATES = Exercise(
    "diverging_rates(hessian, learning_rates)",
    diverging_rates_reference,
    _rates_cases(),
    mistakes=[
        Mistake("you used the smallest eigenvalue. The steepest direction (the LARGEST "
                "eigenvalue L) is the first to blow up: diverges when lr > 2 / L.",
                _rates_smallest_eigenvalue),
        Mistake("the limit is 2 / L, not 1 / L: between 1 / L and 2 / L gradient descent "
                "overshoots but still converges (|1 - lr * L| < 1).", _rates_one_over_l),
        Mistake("you used the largest diagonal entry of H. With off-diagonal terms the "
                "curvature is the largest EIGENVALUE (np.linalg.eigvalsh(H).max()).",
                _rates_diagonal),
        Mistake("you used the trace (the sum of all curvatures). Only the largest eigenvalue "
                "matters: lr > 2 / L.", _rates_trace),
        Mistake("at lr = 2 / L exactly, 1 - lr * L = -1: the iterate flips sign with "
                "constant size and does not diverge. Use a strict lr > 2 / L.", _rates_inclusive),
        Mistake("True and False are swapped: return True for the rates that DIVERGE.",
                _rates_inverted),
    ],
)


def check_diverging_rates(fn):
    """Check a learner's ``diverging_rates(hessian, learning_rates) -> bool array``."""
    return DIVERGING_RATES.check(fn)


# ------------------------------------------- experiment: momentum's rate in mixed units


def mixed_units_val_loss(learning_rate, seed):
    """The last epoch's validation loss of the notebook's digits network trained with SGD with
    momentum 0.9 at ``learning_rate`` on pixels in mixed units, on one seed (NaN if it
    diverged)."""
    loss = digits_run("Momentum", float(learning_rate), "mixed units", int(seed)).final_val_loss
    return loss if math.isfinite(loss) else math.nan


# Half-decade steps from 1e-3 to 1. Margin 0.15: the best medians (0.55 to 0.65, at 0.01 to
# 0.03) lie within 0.1 of their neighbours; half a decade too low or too high costs 0.3 or
# more (measured on SEED 0, 1 and 2; the seeds of one rate spread over 0.05 to 0.3).
MOMENTUM_RATE_CHOICE = ValidationChoice(
    "momentum's learning rate in mixed units, chosen by validation", "learning rate",
    mixed_units_val_loss, grid=(0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0),
    low=0.001, high=1.0, margin=0.15)


def choose_momentum_rate_solution(seed=0):
    """One way to choose: rates a decade apart, five seeds each, the lowest median
    validation loss."""
    rates = (0.001, 0.01, 0.1, 1.0)
    medians = [np.nanmedian([mixed_units_val_loss(rate, s) for s in seeds_from(seed)])
               for rate in rates]
    return rates[int(np.nanargmin(medians))]


def check_momentum_rate_choice(learning_rate, seed=0):
    """Score a learner's learning rate for momentum on the mixed-units digits on the checker's
    own runs (the seeds ``seeds_from(seed)``, validation loss after 15 epochs)."""
    return MOMENTUM_RATE_CHOICE.check(learning_rate, seed)


__all__ = ["MOMENTUM_RATE_CHOICE", "check_momentum_rate_choice", "choose_momentum_rate_solution",
           "MOMENTUM_STEP", "ADAM_STEP", "DIVERGING_RATES", "check_momentum_step",
           "check_adam_step", "check_diverging_rates", "momentum_step_reference",
           "adam_step_reference", "diverging_rates_reference"]
