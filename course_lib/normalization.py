"""Normalization layers: batch normalization and layer normalization, with Keras 3's semantics.

Both turn a feature into ``x_hat = (x - mean) / sqrt(var + epsilon)`` and then scale and
shift it, ``y = gamma * x_hat + beta``; they differ in what the mean and the (population)
variance are taken over. Inputs are 2-D, shape (batch, features):

* :class:`BatchNormalization` normalizes each feature over the examples of the batch
  (``axis=0``), keeps moving averages of those statistics and uses them at inference;
* :class:`LayerNormalization` normalizes each example over its features (``axis=-1``): its
  statistics come from the example alone, so it has no moving averages, computes the same
  thing at training and at inference, and one example's output does not depend on the
  rest of the batch.

Both follow the layer contract of :mod:`course_lib.layers` and are importable from there
(``from course_lib.layers import LayerNormalization``), as Keras has them in ``keras.layers``.
"""
from __future__ import annotations

import numpy as np

from course_lib._validation import check_fraction, check_positive
from course_lib.layers import Layer, Weight, _check_bool


class BatchNormalization(Layer):
    """Batch normalization: normalize each feature over the batch, then scale and shift.

    Training: with the batch mean ``mu`` and biased batch variance ``var`` of each feature,
    ``x_hat = (x - mu) / sqrt(var + epsilon)`` and ``y = gamma * x_hat + beta``; the moving
    averages are updated as Keras does::

        moving_mean     = moving_mean * momentum     + mu  * (1 - momentum)
        moving_variance = moving_variance * momentum + var * (1 - momentum)

    Inference: the same formula with ``moving_mean`` and ``moving_variance``. A frozen layer
    (``trainable = False``) always runs in inference mode, as in Keras: fine-tuning then
    neither uses nor updates batch statistics.

    Shapes: (batch, features) -> (batch, features); gamma, beta, moving statistics (features,).
    ``params``: ``[gamma, beta]`` (gamma only if ``scale``, beta only if ``center``);
    ``state``: ``[moving_mean, moving_variance]``. ``momentum``: weight of the old moving
    average, in [0, 1); ``epsilon``: positive number added to the variance.
    """

    gamma = Weight()
    beta = Weight()
    moving_mean = Weight()
    moving_variance = Weight()

    def __init__(self, momentum=0.99, epsilon=1e-3, center=True, scale=True):
        super().__init__()
        self.momentum = check_fraction("momentum", momentum)
        self.epsilon = check_positive("epsilon", epsilon)
        self.center = _check_bool("center", center)
        self.scale = _check_bool("scale", scale)
        self.x_hat = None

    def build(self, input_dim, rng, dtype=np.float64):
        super().build(input_dim, rng, dtype)
        d = self.input_dim
        self.add_parameter("gamma", np.ones(d, dtype=self.dtype), trainable=self.scale)
        self.add_parameter("beta", np.zeros(d, dtype=self.dtype), trainable=self.center)
        self.place_weight("moving_mean", np.zeros(d, dtype=self.dtype))
        self.place_weight("moving_variance", np.ones(d, dtype=self.dtype))
        self.state = [self.moving_mean, self.moving_variance]

    def forward(self, x, training=False):
        """x (batch, features) -> gamma * x_hat + beta. Keeps x_hat and 1 / sqrt(var + eps)."""
        x = self._prepare_input(x)
        training = training and self.trainable
        if training:
            mean = x.mean(axis=0)
            var = x.var(axis=0)
            self.moving_mean = self.moving_mean * self.momentum + mean * (1 - self.momentum)
            self.moving_variance = self.moving_variance * self.momentum + var * (1 - self.momentum)
        else:
            mean, var = self.moving_mean, self.moving_variance
        self.training = training
        self.inv_std = 1 / np.sqrt(var + self.epsilon)
        self.x_hat = (x - mean) * self.inv_std
        self._output_shape = x.shape
        return self.gamma * self.x_hat + self.beta

    def backward(self, grad_out):
        """d loss / dy (batch, features) -> d loss / dx (batch, features); fills grads.

        In training the batch statistics depend on x, which gives the compact formula
        ``dx = inv_std / N * (N * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))``
        with ``dx_hat = grad_out * gamma`` (sums over the batch). At inference the
        statistics are constants and ``dx = dx_hat * inv_std``.
        """
        grad_out = self._prepare_grad(grad_out)
        self.grad_gamma[...] = np.sum(grad_out * self.x_hat, axis=0)
        self.grad_beta[...] = np.sum(grad_out, axis=0)
        dx_hat = grad_out * self.gamma
        if not self.training:
            return dx_hat * self.inv_std
        n = len(grad_out)
        return (self.inv_std / n) * (n * dx_hat - dx_hat.sum(axis=0)
                                     - self.x_hat * np.sum(dx_hat * self.x_hat, axis=0))

    def get_config(self):
        return {"momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}


class LayerNormalization(Layer):
    """Layer normalization (Ba et al., 2016): normalize each example over its features, then
    scale and shift.

    With the mean ``mu`` and population variance ``var`` of one example's features,
    ``x_hat = (x - mu) / sqrt(var + epsilon)`` and ``y = gamma * x_hat + beta``, with one
    ``gamma`` and one ``beta`` per feature. The statistics are those of the example itself:
    no moving averages, the same computation at training and inference, and each example's
    output independent of the others in the batch.

    Shapes: (batch, features) -> (batch, features); gamma, beta (features,).
    ``params``: ``[gamma, beta]`` (gamma only if ``scale``, beta only if ``center``; the other
    stays at ones or zeros, which is what Keras's missing weight means).

    Args:
        axis: the axis normalized over, as in Keras: ``-1`` (or ``1``, or a list/tuple
            holding one of them), the features axis of the 2-D inputs.
        epsilon: positive number added to the variance (Keras's default 1e-3).
        center: learn ``beta``. scale: learn ``gamma``.
    """

    gamma = Weight()
    beta = Weight()

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True):
        super().__init__()
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not (len(axes) == 1 and isinstance(axes[0], (int, np.integer))
                and not isinstance(axes[0], bool) and axes[0] in (-1, 1)):
            raise ValueError(f"axis must be -1 (or 1), the features axis of inputs shaped "
                             f"(batch, features); got {axis!r}. Normalizing each feature over "
                             f"the batch (axis 0) is BatchNormalization.")
        self.axis = [int(axes[0])] if isinstance(axis, (list, tuple)) else int(axis)
        self.epsilon = check_positive("epsilon", epsilon)
        self.center = _check_bool("center", center)
        self.scale = _check_bool("scale", scale)
        self.x_hat = self.inv_std = None

    def build(self, input_dim, rng, dtype=np.float64):
        super().build(input_dim, rng, dtype)
        d = self.input_dim
        self.add_parameter("gamma", np.ones(d, dtype=self.dtype), trainable=self.scale)
        self.add_parameter("beta", np.zeros(d, dtype=self.dtype), trainable=self.center)

    def forward(self, x, training=False):
        """x (batch, features) -> gamma * x_hat + beta. ``training`` changes nothing.
        Keeps x_hat and 1 / sqrt(var + epsilon), one per example."""
        x = self._prepare_input(x)
        mean = x.mean(axis=1, keepdims=True)
        var = x.var(axis=1, keepdims=True)
        self.inv_std = 1 / np.sqrt(var + self.epsilon)
        self.x_hat = (x - mean) * self.inv_std
        self._output_shape = x.shape
        return self.gamma * self.x_hat + self.beta

    def backward(self, grad_out):
        """d loss / dy (batch, features) -> d loss / dx (batch, features); fills grads.

        Batch normalization's formula with the roles of the axes swapped: the statistics of
        an example depend on all its D features, so (sums over the features of one example)
        ``dx = inv_std / D * (D * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))``
        with ``dx_hat = grad_out * gamma``. gamma and beta are shared by the examples: their
        gradients are sums over the batch.
        """
        grad_out = self._prepare_grad(grad_out)
        self.grad_gamma[...] = np.sum(grad_out * self.x_hat, axis=0)
        self.grad_beta[...] = np.sum(grad_out, axis=0)
        dx_hat = grad_out * self.gamma
        d = dx_hat.shape[1]
        return (self.inv_std / d) * (d * dx_hat - dx_hat.sum(axis=1, keepdims=True)
                                     - self.x_hat * np.sum(dx_hat * self.x_hat, axis=1, keepdims=True))

    def get_config(self):
        return {"axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}
