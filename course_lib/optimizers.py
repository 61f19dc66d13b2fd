"""Gradient-descent optimizers with Keras 3's update rules and defaults.

Every optimizer has one contract::

    opt = Adam(learning_rate=0.001)
    opt.step(params, grads)        # lists of arrays, same order, same shapes

``step`` updates each array of ``params`` in place (its identity and dtype are kept), so a
layer's weights and an optimizer never need to be re-attached. The state an optimizer
keeps (velocities, moving averages) lives in one dict per position in the ``params`` list,
created on the first call.

Each rule is written in ``_update(w, g, state, lr, t)`` with ``t`` the step count starting
at 1 and ``lr`` the learning rate for this step. The comment above each block is the
equation; the NumPy below it computes the same thing in place, through one scratch array,
because the step runs once per mini-batch of training.

The rules are Keras 3's. The textbook forms (bias-corrected ``m_hat`` and ``s_hat``,
epsilon inside the square root) give the same steps up to where epsilon sits.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from course_lib._validation import check_choice, check_fraction, check_non_negative, check_positive

__all__ = [
    "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "Adamax", "Nadam",
    "AdamNoBiasCorrection", "OPTIMIZER_NAMES", "make", "get",
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


def _exponential_average(average, x, decay, scratch):
    """average = decay * average + (1 - decay) * x, in place. ``scratch`` may be ``x``."""
    np.multiply(x, 1.0 - decay, out=scratch)
    average *= decay
    average += scratch


class Optimizer:
    """Base class: learning rate, step counting, per-parameter state, shape checks.

    Subclasses define ``_new_state(w) -> dict`` (the arrays to keep for one parameter
    array ``w``) and ``_update(w, g, state, lr, t)`` (one step for one parameter array).

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
        self._states = None  # one dict per position in ``params``, made on the first step

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
        states = self._checked_states(params, grads)
        lr = self.current_learning_rate
        t = self.iterations + 1
        with np.errstate(over="ignore", invalid="ignore"):
            for w, g, state in zip(params, grads, states):
                self._update(w, g, state, lr, t)
        self.iterations = t

    def reset(self):
        """Forget all state and the step count, as if the optimizer were new."""
        self.iterations = 0
        self._states = None

    def _checked_states(self, params, grads):
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
        if self._states is None:
            self._states = [self._new_state(w) for w in params]
            for w, state in zip(params, self._states):
                state["scratch"] = np.empty_like(w)
        if len(params) != len(self._states):
            raise ValueError(f"this optimizer holds state for {len(self._states)} parameter arrays "
                             f"but got {len(params)}; call reset() before optimizing other parameters.")
        for i, (w, state) in enumerate(zip(params, self._states)):
            if w.shape != state["scratch"].shape:
                raise ValueError(f"params[{i}] has shape {w.shape} but this optimizer's state for "
                                 f"position {i} has shape {state['scratch'].shape}; call reset() "
                                 "before optimizing other parameters.")
        return self._states

    def _new_state(self, w) -> dict:
        return {}

    def _update(self, w, g, state, lr, t):
        raise NotImplementedError

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
    """Stochastic gradient descent, with optional momentum and Nesterov momentum.

    v = momentum * v - lr * g;  w = w + v
    Nesterov: w = w + momentum * v - lr * g  (with the new v).
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

    def _new_state(self, w):
        return {"velocity": np.zeros_like(w)} if self.momentum else {}

    def _update(self, w, g, state, lr, t):
        step = np.multiply(g, -lr, out=state["scratch"])   # -lr * g
        if not self.momentum:
            w += step                                        # w = w - lr * g
            return
        v = state["velocity"]
        v *= self.momentum
        v += step                                            # v = momentum * v - lr * g
        if self.nesterov:
            w += step                                        # w = w + momentum * v - lr * g
            w += np.multiply(v, self.momentum, out=step)
        else:
            w += v                                           # w = w + v

    def _hyperparameters(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """AdaGrad: each coordinate's step shrinks with the sum of its squared gradients.

    a = a + g^2;  w = w - lr * g / sqrt(a + eps),  with a starting at
    ``initial_accumulator_value``.
    """

    _display_name = "AdaGrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
        super().__init__(learning_rate)
        self.initial_accumulator_value = check_non_negative(
            "initial_accumulator_value", initial_accumulator_value)
        self.epsilon = check_positive("epsilon", epsilon)

    def _new_state(self, w):
        return {"accumulator": np.full_like(w, self.initial_accumulator_value)}

    def _update(self, w, g, state, lr, t):
        a, tmp = state["accumulator"], state["scratch"]
        a += np.square(g, out=tmp)                           # a = a + g^2
        np.add(a, self.epsilon, out=tmp)
        np.sqrt(tmp, out=tmp)                                # sqrt(a + eps)
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        w -= tmp                                             # w = w - lr * g / sqrt(a + eps)

    def _hyperparameters(self):
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """RMSProp: AdaGrad with a moving average of squared gradients instead of a sum.

    s = rho * s + (1 - rho) * g^2;  w = w - lr * g / sqrt(s + eps)
    """

    _display_name = "RMSProp"

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(learning_rate)
        self.rho = check_fraction("rho", rho)
        self.epsilon = check_positive("epsilon", epsilon)

    def _new_state(self, w):
        return {"s": np.zeros_like(w)}

    def _update(self, w, g, state, lr, t):
        s, tmp = state["s"], state["scratch"]
        np.square(g, out=tmp)
        _exponential_average(s, tmp, self.rho, tmp)          # s = rho * s + (1 - rho) * g^2
        np.add(s, self.epsilon, out=tmp)
        np.sqrt(tmp, out=tmp)                                # sqrt(s + eps)
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        w -= tmp                                             # w = w - lr * g / sqrt(s + eps)

    def _hyperparameters(self):
        return {"rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam: momentum on the gradient (m) and RMSProp's scaling (v), both bias-corrected.

    m = b1 * m + (1 - b1) * g;  v = b2 * v + (1 - b2) * g^2
    w = w - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)

    The factor ``sqrt(1 - b2^t) / (1 - b1^t)`` is the textbook's bias correction
    m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t), folded into the learning rate.
    """

    _display_name = "Adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1 = check_fraction("beta_1", beta_1)
        self.beta_2 = check_fraction("beta_2", beta_2)
        self.epsilon = check_positive("epsilon", epsilon)

    def _new_state(self, w):
        return {"m": np.zeros_like(w), "v": np.zeros_like(w)}

    def _moments(self, g, state):
        """Update and return m and v (the moving averages of g and g^2)."""
        m, v, tmp = state["m"], state["v"], state["scratch"]
        _exponential_average(m, g, self.beta_1, tmp)        # m = b1 * m + (1 - b1) * g
        np.square(g, out=tmp)
        _exponential_average(v, tmp, self.beta_2, tmp)      # v = b2 * v + (1 - b2) * g^2
        return m, v

    def _update(self, w, g, state, lr, t):
        m, v = self._moments(g, state)
        tmp = state["scratch"]
        alpha = lr * math.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= alpha
        w -= tmp                                             # w = w - alpha * m / (sqrt(v) + eps)

    def _hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class AdamNoBiasCorrection(Adam):
    """Adam *without* bias correction: a teaching device, not an optimizer to train with.

    w = w - lr * m / (sqrt(v) + eps), with m and v as in Adam. Both averages start at 0,
    so for the first steps m is about (1 - b1) * g and v about (1 - b2) * g^2: with the
    defaults the first step is about 0.1 / sqrt(0.001) = 3.16 times too large, and the
    excess fades only after roughly 1 / (1 - b2) = 1000 steps. Comparing it with ``Adam``
    shows what the correction factors ``1 / (1 - b^t)`` are for.
    """

    _display_name = "Adam (no bias correction)"

    def _update(self, w, g, state, lr, t):
        m, v = self._moments(g, state)
        tmp = state["scratch"]
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= lr
        w -= tmp                                             # w = w - lr * m / (sqrt(v) + eps)


class Adamax(Adam):
    """AdaMax: Adam with the root-mean-square replaced by a decaying maximum of |g|.

    m = b1 * m + (1 - b1) * g;  u = max(b2 * u, |g|)
    w = w - lr / (1 - b1^t) * m / (u + eps)
    """

    _display_name = "AdaMax"

    def _new_state(self, w):
        return {"m": np.zeros_like(w), "u": np.zeros_like(w)}

    def _update(self, w, g, state, lr, t):
        m, u, tmp = state["m"], state["u"], state["scratch"]
        _exponential_average(m, g, self.beta_1, tmp)        # m = b1 * m + (1 - b1) * g
        u *= self.beta_2
        np.maximum(u, np.abs(g, out=tmp), out=u)             # u = max(b2 * u, |g|)
        np.add(u, self.epsilon, out=tmp)
        np.divide(m, tmp, out=tmp)
        tmp *= lr / (1.0 - self.beta_1 ** t)
        w -= tmp                                             # w = w - lr / (1 - b1^t) * m / (u + eps)


class Nadam(Adam):
    """Nadam: Adam with Nesterov momentum (Dozat, 2016), as in Keras 3.

    The momentum coefficient warms up: mu_t = b1 * (1 - 0.5 * 0.96^t), P_t = mu_1 ... mu_t.
    m, v as in Adam;  m_hat = mu_(t+1) * m / (1 - P_t * mu_(t+1)) + (1 - mu_t) * g / (1 - P_t)
    w = w - lr * m_hat / (sqrt(v / (1 - b2^t)) + eps)

    m_hat looks one step ahead (the Nesterov idea): it mixes the next step's momentum
    with the current gradient.
    """

    _display_name = "Nadam"

    def _new_state(self, w):
        return {"m": np.zeros_like(w), "v": np.zeros_like(w), "m_hat": np.zeros_like(w),
                "mu_product": 1.0}

    def _update(self, w, g, state, lr, t):
        b1 = self.beta_1
        mu_t = b1 * (1.0 - 0.5 * 0.96 ** t)
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        state["mu_product"] *= mu_t                          # P_t = P_(t-1) * mu_t
        p_t = state["mu_product"]
        m, v = self._moments(g, state)
        m_hat, tmp = state["m_hat"], state["scratch"]
        # m_hat = mu_(t+1) * m / (1 - P_t * mu_(t+1)) + (1 - mu_t) * g / (1 - P_t)
        np.multiply(m, mu_next / (1.0 - p_t * mu_next), out=m_hat)
        m_hat += np.multiply(g, (1.0 - mu_t) / (1.0 - p_t), out=tmp)
        np.divide(v, 1.0 - self.beta_2 ** t, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += self.epsilon                                  # sqrt(v / (1 - b2^t)) + eps
        np.divide(m_hat, tmp, out=tmp)
        tmp *= lr
        w -= tmp                                             # w = w - lr * m_hat / (...)


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
    """An optimizer from its name, e.g. ``get("adam", learning_rate=0.01)``.

    Names (case-insensitive): "sgd", "momentum" (SGD with momentum=0.9), "nesterov"
    (SGD with momentum=0.9, nesterov=True), "adagrad", "rmsprop", "adam", "adamax", "nadam".
    An ``Optimizer`` instance is returned unchanged (when no keyword arguments are given).
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


def make(display_name, learning_rate=None, **kwargs):
    """The optimizer behind one of ``OPTIMIZER_NAMES``, e.g. ``make("Momentum", 0.01)``.

    ``learning_rate=None`` keeps the class default (Keras's).
    """
    check_choice("display_name", display_name, OPTIMIZER_NAMES)
    if learning_rate is not None:
        kwargs["learning_rate"] = learning_rate
    return get(display_name.lower(), **kwargs)
