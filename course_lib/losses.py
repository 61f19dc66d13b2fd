"""Loss functions, each paired with the output activation it is meant for.

==============================================  ==================  =====================
loss                                            output activation   labels ``y_true``
==============================================  ==================  =====================
``MeanSquaredError()``                          linear              real numbers
``BinaryCrossentropy()``                        sigmoid             0/1 (or in [0, 1])
``CategoricalCrossentropy()``                   softmax             one-hot rows
``SparseCategoricalCrossentropy()``             softmax             integer class indices
==============================================  ==================  =====================

Every loss is called as ``loss(y_true, y_pred) -> float``, the mean over the batch, and
``loss.gradient(y_true, y_pred)`` returns d(mean loss)/d(y_pred), an array shaped like
``y_pred`` (and of its dtype).

Stability. With ``from_logits=False`` the predicted probabilities are clipped to
``[1e-7, 1 - 1e-7]`` before the logarithm, as Keras does, so a probability of exactly 0
costs ``-log(1e-7) = 16.1`` instead of ``inf``. With ``from_logits=True`` the network
outputs raw scores z and the loss uses the log-sum-exp trick, exact for any z.

Fusion. ``fused_gradient(y_true, y_pred)`` is the gradient with respect to the
*pre-activation* z of the output layer, where ``y_pred = output_activation(z)``. For
cross-entropy after sigmoid or softmax it is the famous ``(y_hat - y) / batch``: a model
whose last layer ends with ``loss.output_activation`` can skip that activation's backward
pass. With ``from_logits=True`` the output layer is linear, ``output_activation`` is
``"linear"`` and ``fused_gradient`` equals ``gradient``.
"""
from __future__ import annotations

import numpy as np

from course_lib import activations
from course_lib._validation import check_array, check_choice, check_same_length

EPSILON = 1e-7
"""Probabilities are clipped to [EPSILON, 1 - EPSILON] before taking logarithms (Keras's value)."""


def _predictions(y_pred, ndim=None):
    """``y_pred`` as a floating array (its own dtype kept; integers become float64)."""
    y_pred = check_array("y_pred", y_pred, ndim=ndim, dtype=None, finite=False)
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(np.float64)
    return y_pred


def _targets_like(y_true, y_pred):
    """``y_true`` as an array of ``y_pred``'s shape and dtype.

    Shapes ``(batch,)`` and ``(batch, 1)`` are interchangeable (as in Keras); any other
    difference is a ValueError naming both shapes.
    """
    y_true = check_array("y_true", y_true, dtype=None, finite=False)
    if y_true.shape != y_pred.shape:
        if y_true.size == y_pred.size and y_pred.ndim in (1, 2) and y_true.ndim in (1, 2) \
                and len(y_true) == len(y_pred):
            y_true = y_true.reshape(y_pred.shape)
        else:
            raise ValueError(f"y_true and y_pred must have the same shape; "
                             f"got {y_true.shape} and {y_pred.shape}.")
    return y_true.astype(y_pred.dtype, copy=False)


def _check_in_unit_interval(y_true):
    if y_true.size and not (np.all(y_true >= 0) and np.all(y_true <= 1)):
        bad = y_true[(y_true < 0) | (y_true > 1) | np.isnan(y_true)].flat[0].item()
        raise ValueError(f"y_true must hold labels in [0, 1]; got {bad!r}.")


def log_softmax(z):
    """log(softmax(z)) along the last axis, computed stably (log-sum-exp).

    log softmax(z)_k = z_k - log sum_j exp(z_j) = (z_k - m) - log sum_j exp(z_j - m),
    with m = max_j z_j, so no exp overflows. Shapes: (batch, classes) -> same.
    """
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


class Loss:
    """Base class: ``loss(y_true, y_pred) -> float``, ``gradient``, ``fused_gradient``."""

    name = "loss"
    output_activation = "linear"

    def __init__(self, from_logits=False):
        if not isinstance(from_logits, (bool, np.bool_)):
            raise TypeError(f"from_logits must be True or False; got {from_logits!r}.")
        self.from_logits = bool(from_logits)

    def __call__(self, y_true, y_pred):
        raise NotImplementedError

    def gradient(self, y_true, y_pred):
        raise NotImplementedError

    def fused_gradient(self, y_true, y_pred):
        """d loss / dz where ``y_pred = output_activation(z)``; shaped like ``y_pred``."""
        return self.gradient(y_true, y_pred)

    def value_and_gradient(self, y_true, y_pred, fused=False, validate=True):
        """``(loss, gradient)`` in one call (the training loop needs both every step);
        the gradient is ``fused_gradient`` when ``fused`` is true. ``validate=False`` may skip
        the checks of ``y_true`` when the caller has checked all labels already."""
        grad = self.fused_gradient(y_true, y_pred) if fused else self.gradient(y_true, y_pred)
        return self(y_true, y_pred), grad

    def get_config(self):
        """Constructor arguments, JSON-serialisable."""
        return {"from_logits": self.from_logits}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MeanSquaredError(Loss):
    """Mean squared error ``mean((y_pred - y_true)**2)`` over all entries, for regression.

    Shapes: ``y_true`` and ``y_pred`` (batch, outputs) or (batch,). Output activation: linear.
    """

    name = "mean_squared_error"
    output_activation = "linear"

    def __init__(self):
        super().__init__(from_logits=False)

    def __call__(self, y_true, y_pred):
        y_pred = _predictions(y_pred)
        diff = y_pred - _targets_like(y_true, y_pred)
        return float(np.mean(diff * diff))

    def gradient(self, y_true, y_pred):
        """``2 * (y_pred - y_true) / n``, n the number of entries; shaped like ``y_pred``."""
        y_pred = _predictions(y_pred)
        return (y_pred - _targets_like(y_true, y_pred)) * (2.0 / y_pred.size)

    def get_config(self):
        return {}


class BinaryCrossentropy(Loss):
    """Binary cross-entropy ``-mean(y log p + (1 - y) log(1 - p))`` for 0/1 labels.

    Shapes: ``y_true`` and ``y_pred`` (batch, outputs) or (batch,), labels in [0, 1].
    ``y_pred`` holds probabilities (after a sigmoid) or, with ``from_logits=True``, the raw
    scores z, using the stable form ``max(z, 0) - z*y + log(1 + exp(-|z|))``.
    """

    name = "binary_crossentropy"

    def __init__(self, from_logits=False):
        super().__init__(from_logits)
        self.output_activation = "linear" if self.from_logits else "sigmoid"

    def _prepare(self, y_true, y_pred):
        y_pred = _predictions(y_pred)
        y_true = _targets_like(y_true, y_pred)
        _check_in_unit_interval(y_true)
        return y_true, y_pred

    def __call__(self, y_true, y_pred):
        y, out = self._prepare(y_true, y_pred)
        if self.from_logits:
            z = out
            per_entry = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        else:
            p = np.clip(out, EPSILON, 1 - EPSILON)
            per_entry = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        return float(np.mean(per_entry))

    def gradient(self, y_true, y_pred):
        """d loss / d y_pred, shaped like ``y_pred``.

        Probabilities: ``(p - y) / (p (1 - p)) / n`` where p is inside the clipping range,
        0 where it was clipped. Logits: ``(sigmoid(z) - y) / n``.
        """
        y, out = self._prepare(y_true, y_pred)
        if self.from_logits:
            return (activations.sigmoid(out) - y) / out.size
        p = np.clip(out, EPSILON, 1 - EPSILON)
        inside = (out >= EPSILON) & (out <= 1 - EPSILON)
        return np.where(inside, (p - y) / (p * (1 - p)), 0) / out.size

    def fused_gradient(self, y_true, y_pred):
        """d loss / dz with ``y_pred = sigmoid(z)``: ``(y_pred - y_true) / n``."""
        if self.from_logits:
            return self.gradient(y_true, y_pred)
        y, p = self._prepare(y_true, y_pred)
        return (p - y) / p.size


class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy ``-mean over rows of sum_k y_k log p_k`` for one-hot labels.

    Shapes: ``y_true`` and ``y_pred`` (batch, classes); each label row lies in [0, 1] and
    sums to 1. ``y_pred`` holds probabilities (after a softmax) or, with
    ``from_logits=True``, the raw scores z (log-softmax by log-sum-exp).

    Keras also divides the probabilities by their row sum first; here they are used as
    given (softmax outputs already sum to 1), so the gradient is the textbook ``-y / p``.
    """

    name = "categorical_crossentropy"

    def __init__(self, from_logits=False):
        super().__init__(from_logits)
        self.output_activation = "linear" if self.from_logits else "softmax"

    def _prepare(self, y_true, y_pred):
        y_pred = _predictions(y_pred, ndim=2)
        y_true = check_array("y_true", y_true, dtype=None, finite=False)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"y_true and y_pred must have the same shape (batch, classes); got "
                             f"{y_true.shape} and {y_pred.shape}. For integer labels use "
                             f"SparseCategoricalCrossentropy.")
        y_true = y_true.astype(y_pred.dtype, copy=False)
        _check_in_unit_interval(y_true)
        row_sums = np.sum(y_true, axis=-1)
        if not np.allclose(row_sums, 1, atol=1e-3):
            bad = row_sums[~np.isclose(row_sums, 1, atol=1e-3)][0]
            raise ValueError(f"each row of y_true must sum to 1 (one-hot or a probability "
                             f"distribution); got a row summing to {float(bad)!r}.")
        return y_true, y_pred

    def __call__(self, y_true, y_pred):
        y, out = self._prepare(y_true, y_pred)
        if self.from_logits:
            log_p = log_softmax(out)
        else:
            log_p = np.log(np.clip(out, EPSILON, 1 - EPSILON))
        return float(-np.sum(y * log_p) / len(out))

    def gradient(self, y_true, y_pred):
        """d loss / d y_pred, shape (batch, classes).

        Probabilities: ``-y / p / batch`` (0 where p was clipped).
        Logits: ``(softmax(z) * sum_k y_k - y) / batch``, i.e. ``(softmax(z) - y) / batch``.
        """
        y, out = self._prepare(y_true, y_pred)
        batch = len(out)
        if self.from_logits:
            probs = activations.softmax(out)
            return (probs * np.sum(y, axis=-1, keepdims=True) - y) / batch
        p = np.clip(out, EPSILON, 1 - EPSILON)
        inside = (out >= EPSILON) & (out <= 1 - EPSILON)
        return np.where(inside, -y / p, 0) / batch

    def fused_gradient(self, y_true, y_pred):
        """d loss / dz with ``y_pred = softmax(z)``: ``(y_pred - y_true) / batch``."""
        if self.from_logits:
            return self.gradient(y_true, y_pred)
        y, probs = self._prepare(y_true, y_pred)
        return (probs * np.sum(y, axis=-1, keepdims=True) - y) / len(probs)


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy for integer labels: ``-mean_i log p[i, y_i]``.

    Shapes: ``y_true`` (batch,) or (batch, 1) of class indices in ``[0, classes - 1]``;
    ``y_pred`` (batch, classes) of probabilities or, with ``from_logits=True``, raw scores.
    Same value as :class:`CategoricalCrossentropy` with one-hot labels, without building them.
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False):
        super().__init__(from_logits)
        self.output_activation = "linear" if self.from_logits else "softmax"

    def _prepare(self, y_true, y_pred):
        y_pred = _predictions(y_pred, ndim=2)
        labels = check_array("y_true", y_true, ndim=(1, 2), dtype=None, finite=False)
        if labels.ndim == 2:
            if labels.shape[1] != 1:
                raise ValueError(f"y_true must hold one class index per example, shape (batch,) "
                                 f"or (batch, 1); got shape {labels.shape}. For one-hot labels "
                                 f"use CategoricalCrossentropy.")
            labels = labels[:, 0]
        check_same_length("y_true", labels, "y_pred", y_pred)
        if labels.dtype.kind == "f":
            not_integer = ~np.isfinite(labels) | (labels != np.round(labels))
            if np.any(not_integer):
                raise ValueError(f"y_true must hold integer class indices; "
                                 f"got {labels[not_integer][0].item()!r}.")
        elif labels.dtype.kind not in "iub":
            raise TypeError(f"y_true must hold integer class indices; got dtype {labels.dtype}.")
        classes = y_pred.shape[1]
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            bad = (labels.min() if labels.min() < 0 else labels.max()).item()
            raise ValueError(f"y_true must hold class indices in [0, {classes - 1}] "
                             f"(y_pred has {classes} columns); got {bad!r}.")
        return labels.astype(np.intp, copy=False), y_pred

    def __call__(self, y_true, y_pred):
        labels, out = self._prepare(y_true, y_pred)
        rows = np.arange(len(out))
        if self.from_logits:
            picked = log_softmax(out)[rows, labels]
        else:
            picked = np.log(np.clip(out[rows, labels], EPSILON, 1 - EPSILON))
        return -float(picked.sum()) / len(out)

    def gradient(self, y_true, y_pred):
        """d loss / d y_pred, shape (batch, classes).

        Probabilities: ``-1 / p[i, y_i] / batch`` in the label's column, 0 elsewhere (and 0
        where p was clipped). Logits: ``(softmax(z) - onehot(y)) / batch``.
        """
        labels, out = self._prepare(y_true, y_pred)
        rows = np.arange(len(out))
        if self.from_logits:
            return self._probs_minus_onehot(activations.softmax(out), labels)
        picked = out[rows, labels]
        inside = (picked >= EPSILON) & (picked <= 1 - EPSILON)
        grad = np.zeros_like(out)
        grad[rows, labels] = np.where(inside, -1 / np.clip(picked, EPSILON, 1 - EPSILON), 0)
        return grad / len(out)

    def fused_gradient(self, y_true, y_pred):
        """d loss / dz with ``y_pred = softmax(z)``: ``(y_pred - onehot(y_true)) / batch``."""
        if self.from_logits:
            return self.gradient(y_true, y_pred)
        labels, probs = self._prepare(y_true, y_pred)
        return self._probs_minus_onehot(probs, labels)

    def value_and_gradient(self, y_true, y_pred, fused=False, validate=True):
        """``(loss, gradient)`` checking the labels at most once: the common case of training."""
        if not fused or self.from_logits:
            return super().value_and_gradient(y_true, y_pred, fused)
        if validate:
            labels, probs = self._prepare(y_true, y_pred)
        else:
            labels, probs = np.asarray(y_true).reshape(-1).astype(np.intp, copy=False), y_pred
        picked = probs[np.arange(len(probs)), labels]
        value = float(-np.mean(np.log(np.clip(picked, EPSILON, 1 - EPSILON))))
        return value, self._probs_minus_onehot(probs, labels)

    @staticmethod
    def _probs_minus_onehot(probs, labels):
        grad = probs / len(probs)  # a new array, safe to modify
        grad[np.arange(len(probs)), labels] -= 1 / len(probs)
        return grad


_LOSSES = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}

NAMES = tuple(_LOSSES)


def get(name):
    """Return a loss instance for a name in :data:`NAMES` (a :class:`Loss` is returned as is)."""
    if isinstance(name, Loss):
        return name
    check_choice("loss", name, NAMES)
    return _LOSSES[name]()
