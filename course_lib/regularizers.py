"""Weight penalties (Keras semantics): ``l1``, ``l2`` and ``l1_l2``.

A regularizer adds ``penalty(W)`` to the training loss and ``gradient(W)`` to the kernel's
gradient. With ``L1L2(l1, l2)``::

    penalty(W)  = l1 * sum(|W|) + l2 * sum(W**2)
    gradient(W) = l1 * sign(W)  + 2 * l2 * W

L2 pulls every weight towards 0 in proportion to its size ("weight decay"); L1 pulls by a
constant amount and so drives small weights to exactly 0 (sparse weights).
"""
from __future__ import annotations

import numpy as np

from course_lib._validation import check_non_negative


class L1L2:
    """The penalty ``l1 * sum(|W|) + l2 * sum(W**2)``; ``l1`` and ``l2`` are >= 0.

    Call it on a weight array ``W`` (any shape) to get the penalty (a float), and use
    ``gradient(W)`` for its derivative (same shape and dtype as ``W``).
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = check_non_negative("l1", l1)
        self.l2 = check_non_negative("l2", l2)

    def __call__(self, w):
        """Penalty of weights ``w`` (any shape) -> float."""
        w = np.asarray(w)
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.sum(np.abs(w)))
        if self.l2:
            penalty += self.l2 * float(np.sum(w * w))
        return penalty

    def gradient(self, w):
        """d penalty / d w, same shape and dtype as ``w`` (sign(0) = 0 for the L1 term)."""
        w = np.asarray(w)
        grad = (2 * self.l2) * w
        if self.l1:
            grad += self.l1 * np.sign(w)
        return grad

    def get_config(self):
        """Constructor arguments, JSON-serialisable: ``{"l1": ..., "l2": ...}``."""
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"L1L2(l1={self.l1!r}, l2={self.l2!r})"


def l1(l=0.01):  # noqa: E741 -- the name Keras uses
    """L1 penalty ``l * sum(|W|)``."""
    return L1L2(l1=check_non_negative("l", l))


def l2(l=0.01):  # noqa: E741 -- the name Keras uses
    """L2 penalty ``l * sum(W**2)`` (weight decay)."""
    return L1L2(l2=check_non_negative("l", l))


def l1_l2(l1=0.01, l2=0.01):
    """Both penalties: ``l1 * sum(|W|) + l2 * sum(W**2)``."""
    return L1L2(l1=l1, l2=l2)


def get(identifier):
    """Turn ``None``, an :class:`L1L2`, a name or a config dict into a regularizer (or None).

    Names ``"l1"``, ``"l2"``, ``"l1_l2"`` give the default strengths (0.01); a dict is the
    output of ``get_config()``, e.g. ``{"l1": 0.0, "l2": 0.01}``.
    """
    if identifier is None or isinstance(identifier, L1L2):
        return identifier
    if isinstance(identifier, str):
        factories = {"l1": l1, "l2": l2, "l1_l2": l1_l2}
        if identifier not in factories:
            allowed = ", ".join(repr(k) for k in factories)
            raise ValueError(f"kernel_regularizer must be None, one of {allowed}, a dict or an "
                             f"L1L2 instance; got {identifier!r}.")
        return factories[identifier]()
    if isinstance(identifier, dict):
        unknown = set(identifier) - {"l1", "l2"}
        if unknown:
            raise ValueError(f"kernel_regularizer config may only have keys 'l1' and 'l2'; "
                             f"got {sorted(unknown)!r}.")
        return L1L2(**identifier)
    raise TypeError(f"kernel_regularizer must be None, a name, a dict or an L1L2 instance; "
                    f"got {identifier!r} of type {type(identifier).__name__}.")
