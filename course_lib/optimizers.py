"""Gradient-descent optimizers with Keras 3's update rules and defaults.

Every optimizer has one contract::

    opt = Adam(learning_rate=0.001)
    opt.step(params, grads)        # lists of arrays, same order, same shapes

``step`` updates each array of ``params`` in place (its identity and dtype are kept), so a
layer's weights and an optimizer never need to be re-attached. It reads the learning rate
(a schedule is called with ``iterations``), calls ``update_step(gradient, variable,
learning_rate)`` once per array, then counts the step, as Keras 3's ``apply`` does.

``update_step`` is the rule itself, written as its equations, one line of NumPy per line
of the equation, with ``t = iterations + 1`` the number of the step being taken. The
state an optimizer keeps for one array (velocity, moving averages) is the dict
``slots(variable)``, made on the first step; it belongs to the array's position in
``params``, so a later ``step`` may pass other arrays of the same shapes.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from course_lib._validation import check_choice, check_fraction, check_non_negative, check_positive

__all__ = [
    "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "Adamax", "Nadam",
    "AdamNoBiasCorrection", "OPTIMIZER_NAMES", "get",
]

#: The eight optimizers compared throughout the course, by their display names.
OPTIMIZER_NAMES = ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdaMax", "Nadam")


def _check_learning_rate(value):
    """A positive finite number, or a schedule (any callable ``step -> rate``)."""
    if callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("learning_rate must be a positive finite number or a schedule "
                        f"(a callable step -> rate); got {value!r} of type {type(value).__name__}.")
    return check_positive("learning_rate", value)


class Optimizer:
    """Base class: learning rate, step counting, per-array state, shape checks.

    Subclasses define ``update_step(gradient, variable, learning_rate)`` (one step for one
    array, in place) and, when they keep state, ``new_slots(variable) -> dict`` (the arrays
    to keep for ``variable``, e.g. ``{"velocity": np.zeros_like(variable)}``).

    Attributes:
        iterations: number of steps taken so far (0 before the first step).
        learning_rate: a positive float, or a schedule ``step -> rate`` (for example a
            ``course_lib.schedules.LearningRateSchedule``), called with ``iterations``
            before the step, so the first step uses ``schedule(0)``.
    """

    _display_name = "Optimizer"

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate
        self.iterations = 0
        self._variables = []   # the arrays optimized, by position in ``params``
        self._slots = []       # their state dicts, same positions

    # -- learning rate --------------------------------------------------------------
    @property
    def learning_rate(self):
        """The learning rate as given: a float or a schedule."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = _check_learning_rate(value)

    @property
    def current_learning_rate(self) -> float:
        """The learning rate the next ``step`` will use (a schedule is read at ``iterations``)."""
        if not callable(self._learning_rate):
            return self._learning_rate
        lr = float(self._learning_rate(self.iterations))
        if not (math.isfinite(lr) and lr >= 0.0):
            raise ValueError(f"the learning-rate schedule returned {lr!r} at step {self.iterations}; "
                             "a learning rate must be a finite number >= 0.")
        return lr

    @property
    def display_name(self) -> str:
        """The name used in the course's figures and legends (e.g. ``"Momentum"``)."""
        return self._display_name

    # -- the step -------------------------------------------------------------------
    def step(self, params, grads):
        """Update every array of ``params`` in place from the matching array of ``grads``.

        Args:
            params: list of floating-point arrays (any shapes).
            grads: list of arrays with the same length and shapes as ``params``.

        A diverging run (huge learning rate) may overflow to inf or NaN; that is not warned
        about here: the training loop sees it in the loss, and ``surfaces.trajectory``
        stops before it happens.
        """
        self._check(params, grads)
        learning_rate = self.current_learning_rate
        with np.errstate(over="ignore", invalid="ignore"):
            for variable, gradient in zip(params, grads):
                self.update_step(gradient, variable, learning_rate)
        self.iterations += 1

    def update_step(self, gradient, variable, learning_rate):
        """One step for one array: update ``variable`` in place (step ``iterations + 1``)."""
        raise NotImplementedError

    def slots(self, variable) -> dict:
        """The state kept for ``variable`` (arrays such as ``"velocity"``), made on first use."""
        for known, slots in zip(self._variables, self._slots):
            if known is variable:
                return slots
        if not isinstance(variable, np.ndarray) or variable.dtype.kind != "f":
            kind = variable.dtype if isinstance(variable, np.ndarray) else type(variable).__name__
            raise TypeError("variable must be a floating-point numpy array (it is updated in "
                            f"place); got {kind}.")
        self._variables.append(variable)
        self._slots.append(self.new_slots(variable))
        return self._slots[-1]

    def new_slots(self, variable) -> dict:
        """The state for a new array ``variable``: none unless a subclass keeps some."""
        return {}

    def reset(self):
        """Forget all state and the step count, as if the optimizer were new."""
        self.iterations = 0
        self._variables, self._slots = [], []

    def _check(self, params, grads):
        """Clear errors for wrong inputs; hands the state of position i to ``params[i]``."""
        if len(grads) != len(params):
            raise ValueError(f"grads must hold one array per parameter array: got {len(grads)} "
                             f"grads for {len(params)} params.")
        for i, (w, g) in enumerate(zip(params, grads)):
            if not isinstance(w, np.ndarray) or w.dtype.kind != "f":
                kind = w.dtype if isinstance(w, np.ndarray) else type(w).__name__
                raise TypeError(f"params[{i}] must be a floating-point numpy array (it is "
                                f"updated in place); got {kind}.")
            if np.shape(g) != w.shape:
                raise ValueError(f"grads[{i}] has shape {np.shape(g)} but params[{i}] has shape "
                                 f"{w.shape}; each gradient must match its parameter.")
        if len({id(w) for w in params}) != len(params):
            raise ValueError("params must not hold the same array twice; each array has its own state.")
        if not self._variables:
            return
        if len(params) != len(self._variables):
            raise ValueError(f"this optimizer holds state for {len(self._variables)} parameter "
                             f"arrays but got {len(params)}; call reset() before optimizing other "
                             "parameters.")
        for i, (w, known) in enumerate(zip(params, self._variables)):
            if w.shape != known.shape:
                raise ValueError(f"params[{i}] has shape {w.shape} but this optimizer's state for "
                                 f"position {i} has shape {known.shape}; call reset() before "
                                 "optimizing other parameters.")
        self._variables = list(params)

    # -- configuration --------------------------------------------------------------
    def get_config(self) -> dict:
        """Constructor arguments as a JSON-serialisable dict.

        A schedule with ``get_config`` is stored as ``{"class_name": ..., "config": ...}``;
        any other callable is stored as its current value (as Keras does).
        """
        lr = self._learning_rate
        if callable(lr):
            if hasattr(lr, "get_config"):
                lr = {"class_name": type(lr).__name__, "config": lr.get_config()}
            else:
                lr = self.current_learning_rate
        return {"learning_rate": lr, **self._hyperparameters()}

    @classmethod
    def from_config(cls, config: dict):
        """Rebuild an optimizer (without its state) from ``get_config()``'s output."""
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            from course_lib import schedules
            config["learning_rate"] = schedules.deserialize(lr)
        return cls(**config)

    def _hyperparameters(self) -> dict:
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in
                         {"learning_rate": self._learning_rate, **self._hyperparameters()}.items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and Nesterov momentum (Keras 3).

    velocity = momentum * velocity - lr * g
    w = w + velocity                                  (momentum)
    w = w + momentum * velocity - lr * g              (Nesterov, with the new velocity)

    With ``momentum=0`` this is plain gradient descent, w = w - lr * g, and keeps no state.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
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

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
        super().__init__(learning_rate)
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

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(learning_rate)
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

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
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


# name -> (class, defaults that define it); display names map here through .lower()
_REGISTRY = {
    "sgd": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),
    "nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (Adagrad, {}),
    "rmsprop": (RMSprop, {}),
    "adam": (Adam, {}),
    "adamax": (Adamax, {}),
    "nadam": (Nadam, {}),
}


def get(name, **kwargs):
    """An optimizer from its name, e.g. ``get("Momentum", learning_rate=0.01)``.

    Names, case-insensitive: the display names of ``OPTIMIZER_NAMES`` ("SGD", "Momentum"
    = SGD with momentum=0.9, "Nesterov" = SGD with momentum=0.9 and nesterov=True,
    "AdaGrad", "RMSProp", "Adam", "AdaMax", "Nadam"), so Keras's "rmsprop" works too.
    Keyword arguments override the defaults (Keras's). An ``Optimizer`` instance is
    returned unchanged (when no keyword arguments are given).
    """
    if isinstance(name, Optimizer):
        if kwargs:
            raise TypeError("keyword arguments cannot be applied to an existing optimizer instance.")
        return name
    if not isinstance(name, str):
        raise TypeError(f"name must be an optimizer name (str) or an Optimizer; got {type(name).__name__}.")
    key = name.lower()
    check_choice("name", key, tuple(_REGISTRY))
    cls, defaults = _REGISTRY[key]
    return cls(**{**defaults, **kwargs})
