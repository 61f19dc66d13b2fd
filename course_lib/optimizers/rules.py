"""The update rules, one class per optimizer, each ``update_step`` written as its equations."""
from __future__ import annotations

import math

import numpy as np

from course_lib._validation import check_fraction, check_non_negative, check_positive
from course_lib.optimizers.base import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and Nesterov momentum (Keras 3).

    velocity = momentum * velocity - lr * g
    w = w + velocity                                  (momentum)
    w = w + momentum * velocity - lr * g              (Nesterov, with the new velocity)

    With ``momentum=0`` this is plain gradient descent, w = w - lr * g, and keeps no state.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = check_fraction("momentum", momentum)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False; got {nesterov!r}.")
        self.nesterov = bool(nesterov)

    @property
    def display_name(self):
        if self.momentum == 0.0:
            return "SGD"
        return "Nesterov" if self.nesterov else "Momentum"

    def new_slots(self, variable):
        return {"velocity": np.zeros_like(variable)} if self.momentum else {}

    def update_step(self, gradient, variable, learning_rate):
        if self.momentum == 0.0:
            variable -= learning_rate * gradient
            return
        velocity = self.slots(variable)["velocity"]
        velocity[...] = self.momentum * velocity - learning_rate * gradient
        if self.nesterov:
            variable += self.momentum * velocity - learning_rate * gradient
        else:
            variable += velocity

    def _hyperparameters(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """AdaGrad: each coordinate's step shrinks with the sum of its squared gradients.

    accumulator = accumulator + g^2
    w = w - lr * g / sqrt(accumulator + eps)

    The accumulator starts at ``initial_accumulator_value``, as in Keras.
    """

    _display_name = "AdaGrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = check_non_negative(
            "initial_accumulator_value", initial_accumulator_value)
        self.epsilon = check_positive("epsilon", epsilon)

    def new_slots(self, variable):
        return {"accumulator": np.full_like(variable, self.initial_accumulator_value)}

    def update_step(self, gradient, variable, learning_rate):
        accumulator = self.slots(variable)["accumulator"]
        accumulator += gradient**2
        variable -= learning_rate * gradient / np.sqrt(accumulator + self.epsilon)

    def _hyperparameters(self):
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """RMSProp: AdaGrad with a moving average of squared gradients instead of a sum.

    s = rho * s + (1 - rho) * g^2
    w = w - lr * g / sqrt(s + eps)
    """

    _display_name = "RMSProp"

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = check_fraction("rho", rho)
        self.epsilon = check_positive("epsilon", epsilon)

    def new_slots(self, variable):
        return {"s": np.zeros_like(variable)}

    def update_step(self, gradient, variable, learning_rate):
        s = self.slots(variable)["s"]
        s[...] = self.rho * s + (1 - self.rho) * gradient**2
        variable -= learning_rate * gradient / np.sqrt(s + self.epsilon)

    def _hyperparameters(self):
        return {"rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam: momentum on the gradient (m) and RMSProp's scaling (v), both bias-corrected.

    Keras 3's update, with t the step number (from 1)::

        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g^2
        lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)
        w = w - lr_t * m / (sqrt(v) + eps)

    ``lr_t`` folds the bias corrections m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t) into
    the rate, which puts epsilon in a different place: the last line equals

        w = w - lr * m_hat / (sqrt(v_hat) + eps / sqrt(1 - b2^t))

    so Keras's ``epsilon`` is the paper's "epsilon hat" (Kingma and Ba, end of section 2).
    The paper's Algorithm 1 and PyTorch compute ``m_hat / (sqrt(v_hat) + eps)``; some
    textbooks put eps inside the root, ``m_hat / sqrt(v_hat + eps)``. The three differ only
    while sqrt(v_hat) is about as small as eps, i.e. for near-zero gradients.
    """

    _display_name = "Adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = check_fraction("beta_1", beta_1)
        self.beta_2 = check_fraction("beta_2", beta_2)
        self.epsilon = check_positive("epsilon", epsilon)

    def new_slots(self, variable):
        return {"m": np.zeros_like(variable), "v": np.zeros_like(variable)}

    def update_step(self, gradient, variable, learning_rate):
        t = self.iterations + 1
        slots = self.slots(variable)
        m, v = slots["m"], slots["v"]
        m[...] = self.beta_1 * m + (1 - self.beta_1) * gradient
        v[...] = self.beta_2 * v + (1 - self.beta_2) * gradient**2
        lr_t = learning_rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        variable -= lr_t * m / (np.sqrt(v) + self.epsilon)   # epsilon hat, see the docstring

    def _hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class AdamNoBiasCorrection(Adam):
    """Adam *without* bias correction: a teaching device, not an optimizer to train with.

    m and v as in Adam;  w = w - lr * m / (sqrt(v) + eps).

    Both averages start at 0, so for the first steps m is about (1 - b1) * g and v about
    (1 - b2) * g^2: with the defaults the first step is about 0.1 / sqrt(0.001) = 3.16 times
    too large, and the excess fades only after roughly 1 / (1 - b2) = 1000 steps. Comparing
    it with ``Adam`` shows what the correction factors ``1 / (1 - b^t)`` are for.
    """

    _display_name = "Adam (no bias correction)"

    def update_step(self, gradient, variable, learning_rate):
        slots = self.slots(variable)
        m, v = slots["m"], slots["v"]
        m[...] = self.beta_1 * m + (1 - self.beta_1) * gradient
        v[...] = self.beta_2 * v + (1 - self.beta_2) * gradient**2
        variable -= learning_rate * m / (np.sqrt(v) + self.epsilon)


class Adamax(Adam):
    """AdaMax: Adam with the root-mean-square replaced by a decaying maximum of |g| (Keras 3).

    m = b1 * m + (1 - b1) * g
    u = max(b2 * u, |g|)
    w = w - lr / (1 - b1^t) * m / (u + eps)
    """

    _display_name = "AdaMax"

    def new_slots(self, variable):
        return {"m": np.zeros_like(variable), "u": np.zeros_like(variable)}

    def update_step(self, gradient, variable, learning_rate):
        t = self.iterations + 1
        slots = self.slots(variable)
        m, u = slots["m"], slots["u"]
        m[...] = self.beta_1 * m + (1 - self.beta_1) * gradient
        u[...] = np.maximum(self.beta_2 * u, np.abs(gradient))
        variable -= learning_rate / (1 - self.beta_1**t) * m / (u + self.epsilon)


class Nadam(Adam):
    """Nadam: Adam with Nesterov momentum (Dozat, 2016), as Keras 3 computes it.

    The momentum coefficient warms up over the first steps, and P_t is the product of
    the coefficients so far (t is the step number, from 1)::

        mu_t = b1 * (1 - 0.5 * 0.96^t)
        P_t = mu_1 * mu_2 * ... * mu_t
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g^2
        m_hat = mu_(t+1) * m / (1 - P_t * mu_(t+1)) + (1 - mu_t) * g / (1 - P_t)
        v_hat = v / (1 - b2^t)
        w = w - lr * m_hat / (sqrt(v_hat) + eps)

    m_hat looks one step ahead (the Nesterov idea): it mixes the next step's momentum
    with the current gradient. Unlike Adam, epsilon sits next to sqrt(v_hat) here.
    """

    _display_name = "Nadam"

    def new_slots(self, variable):
        return {"m": np.zeros_like(variable), "v": np.zeros_like(variable), "mu_product": 1.0}

    def update_step(self, gradient, variable, learning_rate):
        t = self.iterations + 1
        slots = self.slots(variable)
        m, v = slots["m"], slots["v"]
        mu_t = self.beta_1 * (1 - 0.5 * 0.96**t)
        mu_next = self.beta_1 * (1 - 0.5 * 0.96**(t + 1))
        slots["mu_product"] *= mu_t
        P_t = slots["mu_product"]
        m[...] = self.beta_1 * m + (1 - self.beta_1) * gradient
        v[...] = self.beta_2 * v + (1 - self.beta_2) * gradient**2
        m_hat = mu_next * m / (1 - P_t * mu_next) + (1 - mu_t) * gradient / (1 - P_t)
        v_hat = v / (1 - self.beta_2**t)
        variable -= learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as Keras 3's ``AdamW``:
    Adam's update after ``w = w - w * weight_decay * lr`` (see ``apply_weight_decay``).

    Under plain SGD an l2 penalty and weight decay are the same step; under Adam they are
    not: the penalty's gradient is divided by sqrt(v_hat) like any gradient, the decay is not.
    """

    _display_name = "AdamW"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, **kwargs):
        if weight_decay is None:
            raise ValueError("weight_decay must be a positive number for AdamW; got None "
                             "(use Adam for no weight decay).")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         weight_decay=weight_decay, **kwargs)
