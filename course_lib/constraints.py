"""Weight constraints applied after each optimizer step (Keras semantics): ``max_norm``.

Max-norm regularization keeps the vector of incoming weights of every unit inside a ball:
after each training step, every column ``w`` of a Dense kernel (shape ``(inputs, units)``)
whose L2 norm exceeds ``r`` is rescaled to ``w * r / ||w||``. Columns inside the ball are
left untouched.
"""
from __future__ import annotations

import numbers

import numpy as np

from course_lib._validation import check_positive


class MaxNorm:
    """Rescale slices of a weight array so that their L2 norm is at most ``max_value``.

    Args:
        max_value: the largest allowed norm r (> 0).
        axis: the axis along which norms are taken; 0 for a Dense kernel of shape
            ``(inputs, units)``, which constrains each unit's incoming weight vector.
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = check_positive("max_value", max_value)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"axis must be an integer; got {axis!r}.")
        self.axis = int(axis)

    def __call__(self, w):
        """Return the constrained copy of ``w`` (same shape and dtype)."""
        w = np.asarray(w)
        norms = np.sqrt(np.sum(w * w, axis=self.axis, keepdims=True))
        # min(1, r / norm); the floor on the norm keeps all-zero columns at 0 without a warning.
        factor = np.minimum(1.0, self.max_value / np.maximum(norms, 1e-12))
        return (w * factor).astype(w.dtype, copy=False)

    def get_config(self):
        """Constructor arguments, JSON-serialisable: ``{"max_value": ..., "axis": ...}``."""
        return {"max_value": self.max_value, "axis": self.axis}

    def __repr__(self):
        return f"MaxNorm(max_value={self.max_value!r}, axis={self.axis!r})"


def max_norm(max_value=2, axis=0):
    """Max-norm constraint: each column's L2 norm is capped at ``max_value`` (see :class:`MaxNorm`)."""
    return MaxNorm(max_value=max_value, axis=axis)


def get(identifier):
    """Turn ``None``, a :class:`MaxNorm`, the name ``"max_norm"`` or a config dict into a constraint (or None)."""
    if identifier is None or isinstance(identifier, MaxNorm):
        return identifier
    if identifier == "max_norm":
        return MaxNorm()
    if isinstance(identifier, dict):
        unknown = set(identifier) - {"max_value", "axis"}
        if unknown:
            raise ValueError(f"kernel_constraint config may only have keys 'max_value' and 'axis'; "
                             f"got {sorted(unknown)!r}.")
        return MaxNorm(**identifier)
    raise ValueError(f"kernel_constraint must be None, 'max_norm', a dict or a MaxNorm instance; "
                     f"got {identifier!r}.")
