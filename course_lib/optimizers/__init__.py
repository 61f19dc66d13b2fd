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

from course_lib._validation import check_choice
from course_lib.optimizers.base import Optimizer
from course_lib.optimizers.rules import (SGD, Adagrad, Adam, Adamax, AdamNoBiasCorrection,
                                         AdamW, Nadam, RMSprop)

__all__ = [
    "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adamax", "Nadam",
    "AdamNoBiasCorrection", "OPTIMIZER_NAMES", "get",
]

#: The eight optimizers compared throughout the course, by their display names.
OPTIMIZER_NAMES = ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdaMax", "Nadam")

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
    "adamw": (AdamW, {}),
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
