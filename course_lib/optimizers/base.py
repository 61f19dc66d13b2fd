"""The base of every optimizer: the learning rate, the step, clipping, weight decay, state.

The update rules themselves are in :mod:`course_lib.optimizers.rules`.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from course_lib._validation import check_positive


def _check_optional_positive(name, value):
    """None (the option is off) or a positive finite number."""
    return None if value is None else check_positive(name, value)


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

    Every optimizer also takes Keras 3's common arguments, all off by default:
    ``weight_decay`` (decoupled: each step first does ``w -= w * weight_decay * lr``),
    ``clipnorm`` (each gradient array rescaled to at most this norm), ``clipvalue`` (each
    element clipped to [-clipvalue, clipvalue]) and ``global_clipnorm`` (all gradients rescaled
    together so that their joint norm is at most this); at most one of the three clips.

    Attributes:
        iterations: number of steps taken so far (0 before the first step).
        learning_rate: a positive float, or a schedule ``step -> rate`` (for example a
            ``course_lib.schedules.LearningRateSchedule``), called with ``iterations``
            before the step, so the first step uses ``schedule(0)``.
    """

    _display_name = "Optimizer"

    def __init__(self, learning_rate, *, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None):
        self.learning_rate = learning_rate
        self.weight_decay = _check_optional_positive("weight_decay", weight_decay)
        self.clipnorm = _check_optional_positive("clipnorm", clipnorm)
        self.clipvalue = _check_optional_positive("clipvalue", clipvalue)
        self.global_clipnorm = _check_optional_positive("global_clipnorm", global_clipnorm)
        if sum(c is not None for c in (self.clipnorm, self.clipvalue, self.global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
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
            grads = self.clip_gradients(grads)
            self.apply_weight_decay(params, learning_rate)
            for variable, gradient in zip(params, grads):
                self.update_step(gradient, variable, learning_rate)
        self.iterations += 1

    def clip_gradients(self, grads):
        """The gradients after ``clipnorm``, ``clipvalue`` or ``global_clipnorm`` (new arrays).

        clipnorm:        g = g * clipnorm / max(||g||, clipnorm)            for each array
        clipvalue:       g = clip(g, -clipvalue, clipvalue)                 elementwise
        global_clipnorm: g = g * c / max(sqrt(sum of ||g_i||^2), c)         all arrays together
        Clipping by norm keeps each step's direction; clipping by value can change it.
        """
        if self.clipnorm is not None:
            return [g * self.clipnorm / max(np.linalg.norm(g), self.clipnorm) for g in grads]
        if self.clipvalue is not None:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.global_clipnorm is not None:
            global_norm = np.sqrt(sum(np.sum(np.square(g)) for g in grads))
            return [g * self.global_clipnorm / max(global_norm, self.global_clipnorm) for g in grads]
        return grads

    def apply_weight_decay(self, params, learning_rate):
        """Decoupled weight decay (Keras 3, AdamW): ``w = w - w * weight_decay * lr``, before
        the update rule and apart from the gradient."""
        if self.weight_decay is None:
            return
        for variable in params:
            variable -= variable * self.weight_decay * learning_rate

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
        return {"learning_rate": lr, **self._hyperparameters(), **self._common_arguments()}

    def _common_arguments(self) -> dict:
        return {"weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm}

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
        common = {k: v for k, v in self._common_arguments().items() if v is not None}
        args = ", ".join(f"{k}={v!r}" for k, v in
                         {"learning_rate": self._learning_rate, **self._hyperparameters(),
                          **common}.items())
        return f"{type(self).__name__}({args})"
