"""Layers: each one a forward/backward pair with explicit backprop (no autograd).

The contract shared by every layer:

* ``params`` and ``grads``: lists of arrays in the same order and of the same shapes;
  ``backward`` writes into the ``grads`` arrays in place (they keep their identity, so an
  optimizer can hold on to them). ``param_names`` names them (``["kernel", "bias"]``).
* ``state``: non-trainable arrays saved with the weights (BatchNormalization's moving
  statistics), read and written with ``get_state()`` / ``set_state()``.
* ``build(input_dim, rng, dtype)`` creates the parameters. A layer used before it was
  built builds itself from the first input (its ``seed`` and the input's dtype).
* ``forward(x, training=False) -> y`` keeps what ``backward`` needs;
  ``backward(grad_out) -> grad_in`` returns d loss / dx given d loss / dy.
* ``regularization_loss()``, ``apply_constraints()``, ``get_config()``.

Inputs are 2-D, shape (batch, features). A layer computes in the dtype it was built with
(float32 in a model, float64 in gradient checks).

Output fusion. ``Dense`` and ``Activation`` end with an activation named by their
attribute ``activation``. When that name equals the loss's ``output_activation`` (softmax
with cross-entropy, sigmoid with binary cross-entropy), a model can hand the gradient with
respect to the pre-activation, ``loss.fused_gradient(...) = (y_hat - y) / batch``, straight
to ``layer.backward(grad, pre_activation=True)``, which then skips the activation's own
backward pass.
"""
from __future__ import annotations

import numbers
import re

import numpy as np

from course_lib import activations, constraints, initializers, regularizers
from course_lib._validation import check_choice, check_fraction, check_positive


def _check_layer_seed(seed):
    """A layer's seed is None or a non-negative int (it is saved in the config)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None or a non-negative integer; got {seed!r}.")
    if seed < 0:
        raise ValueError(f"seed must be None or a non-negative integer; got {seed!r}.")
    return int(seed)


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def _mask_generator(seed, model_rng):
    """The generator of a dropout layer's masks: from its own seed, else a child of the
    model's generator (so that drawing masks does not shift the model's other draws)."""
    if seed is not None:
        return np.random.default_rng(seed)
    return np.random.default_rng(model_rng.integers(2**63))


def _uniform(rng, shape, dtype):
    """Uniform [0, 1) samples, drawn directly in float32 when the layer is float32."""
    return rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)


class Layer:
    """Base class: a layer with no parameters that passes its input through unchanged.

    Attributes:
        params, grads, param_names: trainable arrays, their gradients, their names.
        state: non-trainable arrays saved with the weights (empty by default).
        built: whether ``build`` has run; input_dim and dtype are set by it.
        trainable: whether an optimizer should update ``params``.
        name: snake_case class name (``"batch_normalization"``); a model may rename it.
        seed: None or the int seed of the layer's own randomness.
    """

    def __init__(self, seed=None):
        self.params = []
        self.grads = []
        self.param_names = []
        self.state = []
        self.built = False
        self.trainable = True
        self.seed = _check_layer_seed(seed)
        self.name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()
        self.input_dim = None
        self.dtype = None
        self._output_shape = None

    # ----------------------------------------------------------------- building
    def build(self, input_dim, rng, dtype=np.float64):
        """Create the parameters for inputs of shape (batch, input_dim), drawing from ``rng``."""
        self.input_dim = check_positive("input_dim", input_dim, integer=True)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"dtype must be a floating dtype; got {self.dtype}.")
        self.built = True

    def _prepare_input(self, x):
        """Check ``x`` (batch, input_dim), build on first use, cast to the layer's dtype."""
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"{self.name}: x must have shape (batch, features); got shape {x.shape}.")
        if not self.built:
            dtype = x.dtype if x.dtype.kind == "f" else np.float64
            self.build(x.shape[1], np.random.default_rng(self.seed), dtype)
        if x.shape[1] != self.input_dim:
            raise ValueError(f"{self.name}: x must have {self.input_dim} features (the layer was "
                             f"built for them); got shape {x.shape}.")
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        return x

    def _prepare_grad(self, grad_out):
        """Check that ``grad_out`` matches the last output's shape; cast to the layer's dtype."""
        if self._output_shape is None:
            raise RuntimeError(f"{self.name}: call forward before backward.")
        grad_out = np.asarray(grad_out, dtype=self.dtype)
        if grad_out.shape != self._output_shape:
            raise ValueError(f"{self.name}: grad_out must have the shape of the last output "
                             f"{self._output_shape}; got {grad_out.shape}.")
        return grad_out

    def output_dim(self, input_dim):
        """Number of output features for ``input_dim`` input features."""
        return input_dim

    # ----------------------------------------------------------------- passes
    def forward(self, x, training=False):
        """(batch, features) -> (batch, features)."""
        x = self._prepare_input(x)
        self._output_shape = x.shape
        return x

    def backward(self, grad_out):
        """(batch, features) -> (batch, features)."""
        return self._prepare_grad(grad_out)

    def adopt_storage(self, params, grads):
        """Move the parameters and gradients into the given arrays (same shapes), in order.

        ``Sequential`` calls this once after building, with views into one contiguous
        buffer for all parameters and one for all gradients, so an optimizer step updates
        the whole network with a handful of NumPy calls. Values are copied; every attribute
        that referred to an old array (``self.kernel``, ``self.grad_kernel``, ...) refers to
        its new array afterwards.
        """
        params, grads = list(params), list(grads)
        old = list(self.params) + list(self.grads)
        new = params + grads
        if len(new) != len(old) or any(a.shape != b.shape for a, b in zip(old, new)):
            raise ValueError(f"{self.name}: adopt_storage needs arrays of shapes "
                             f"{[a.shape for a in old]}; got {[b.shape for b in new]}.")
        replacement = {id(a): b for a, b in zip(old, new)}
        for a, b in zip(old, new):
            np.copyto(b, a)
        for attribute, value in list(vars(self).items()):
            if isinstance(value, np.ndarray) and id(value) in replacement:
                setattr(self, attribute, replacement[id(value)])
        self.params, self.grads = params, grads

    # ----------------------------------------------------------------- extras
    def regularization_loss(self):
        """Penalty this layer adds to the training loss (0.0 without a regularizer)."""
        return 0.0

    def apply_constraints(self):
        """Project the parameters back onto their constraint set, after an optimizer step."""

    def get_state(self):
        """Copies of the non-trainable arrays (``state``)."""
        return [s.copy() for s in self.state]

    def set_state(self, arrays):
        """Write ``arrays`` into ``state`` in place (same number of arrays, same shapes)."""
        arrays = list(arrays)
        if len(arrays) != len(self.state):
            raise ValueError(f"{self.name}: set_state needs {len(self.state)} arrays; got {len(arrays)}.")
        for i, (target, value) in enumerate(zip(self.state, arrays)):
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(f"{self.name}: state array {i} must have shape {target.shape}; "
                                 f"got {value.shape}.")
            np.copyto(target, value)

    def get_config(self):
        """Constructor arguments (JSON-serialisable): ``type(layer)(**layer.get_config())``."""
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer: ``y = activation(x @ kernel + bias)``.

    Shapes: x (batch, inputs) -> y (batch, units); kernel (inputs, units); bias (units,).

    Args:
        units: number of output units (> 0).
        activation: a name from :data:`course_lib.activations.NAMES`, or None for linear.
        kernel_initializer: a name from :data:`course_lib.initializers.NAMES`.
        use_bias: add a bias vector (initialised to zeros).
        kernel_regularizer: None, a regularizer (``l2(0.01)``), its name or its config dict;
            its penalty is added by ``regularization_loss`` and its gradient to the kernel's.
        kernel_constraint: None, a constraint (``max_norm(2.0)``), its name or config dict;
            applied by ``apply_constraints`` after each optimizer step.
        seed: seed of the kernel's initial values (otherwise the model's generator is used).
    """

    def __init__(self, units, activation=None, kernel_initializer="glorot_uniform", use_bias=True,
                 kernel_regularizer=None, kernel_constraint=None, seed=None):
        super().__init__(seed=seed)
        self.units = check_positive("units", units, integer=True)
        self.activation = "linear" if activation is None else check_choice(
            "activation", activation, activations.NAMES)
        self.kernel_initializer = check_choice("kernel_initializer", kernel_initializer,
                                               initializers.NAMES)
        self.use_bias = _check_bool("use_bias", use_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self._activation_fn = activations.get(self.activation)[0]
        self.kernel = self.bias = self.grad_kernel = self.grad_bias = None
        self.x = self.z = self.y = None

    def build(self, input_dim, rng, dtype=np.float64):
        super().build(input_dim, rng, dtype)
        if self.seed is not None:
            rng = np.random.default_rng(self.seed)
        init = initializers.get(self.kernel_initializer)
        self.kernel = init((self.input_dim, self.units), rng, dtype=self.dtype)
        self.grad_kernel = np.zeros_like(self.kernel)
        self.params, self.grads, self.param_names = [self.kernel], [self.grad_kernel], ["kernel"]
        if self.use_bias:
            self.bias = np.zeros(self.units, dtype=self.dtype)
            self.grad_bias = np.zeros_like(self.bias)
            self.params.append(self.bias)
            self.grads.append(self.grad_bias)
            self.param_names.append("bias")

    def output_dim(self, input_dim):
        return self.units

    def forward(self, x, training=False):
        """x (batch, inputs) -> y (batch, units). Keeps x, z = x @ kernel + bias and y."""
        x = self._prepare_input(x)
        z = x @ self.kernel
        if self.use_bias:
            z += self.bias  # z is a fresh array: add in place, no extra copy
        self.x, self.z = x, z
        self.y = self._activation_fn(z)
        self._output_shape = z.shape
        return self.y

    def backward(self, grad_out, pre_activation=False, input_grad=True):
        """Fill ``grads`` and return d loss / dx, shape (batch, inputs).

        Args:
            grad_out: d loss / dy, shape (batch, units); with ``pre_activation=True`` it is
                d loss / dz instead (the activation's backward pass is skipped, see the
                module docstring on output fusion).
            pre_activation: whether ``grad_out`` is already the gradient before the activation.
            input_grad: False skips the product ``grad_z @ kernel.T`` and returns None
                (the first layer of a network needs no gradient for the data).
        """
        grad_out = self._prepare_grad(grad_out)
        if pre_activation:
            grad_z = grad_out
        else:
            grad_z = activations.backward(self.activation, self.z, self.y, grad_out)
        np.matmul(self.x.T, grad_z, out=self.grad_kernel)
        if self.kernel_regularizer is not None:
            self.grad_kernel += self.kernel_regularizer.gradient(self.kernel)
        if self.use_bias:
            np.sum(grad_z, axis=0, out=self.grad_bias)
        if not input_grad:
            return None
        return grad_z @ self.kernel.T

    def regularization_loss(self):
        """``kernel_regularizer(kernel)``, or 0.0."""
        if self.kernel_regularizer is None or not self.built:
            return 0.0
        return self.kernel_regularizer(self.kernel)

    def apply_constraints(self):
        """Apply ``kernel_constraint`` to the kernel in place (the array keeps its identity)."""
        if self.kernel_constraint is not None and self.built:
            np.copyto(self.kernel, self.kernel_constraint(self.kernel))

    def get_config(self):
        return {
            "units": self.units,
            "activation": self.activation,
            "kernel_initializer": self.kernel_initializer,
            "use_bias": self.use_bias,
            "kernel_regularizer": None if self.kernel_regularizer is None
            else self.kernel_regularizer.get_config(),
            "kernel_constraint": None if self.kernel_constraint is None
            else self.kernel_constraint.get_config(),
            "seed": self.seed,
        }


class Activation(Layer):
    """Apply an activation function elementwise (row-wise for softmax).

    Shapes: (batch, features) -> (batch, features). ``Activation("relu")`` after a linear
    ``Dense`` equals ``Dense(..., activation="relu")``.

    Args:
        activation: a name from :data:`course_lib.activations.NAMES`.
    """

    def __init__(self, activation):
        super().__init__()
        self.activation = check_choice("activation", activation, activations.NAMES)
        self._activation_fn = activations.get(activation)[0]
        self.x = self.y = None

    def forward(self, x, training=False):
        """x (batch, features) -> activation(x), same shape. Keeps x and y."""
        self.x = self._prepare_input(x)
        self.y = self._activation_fn(self.x)
        self._output_shape = self.y.shape
        return self.y

    def backward(self, grad_out, pre_activation=False):
        """d loss / dy -> d loss / dx; with ``pre_activation=True`` the gradient passes through."""
        grad_out = self._prepare_grad(grad_out)
        if pre_activation:
            return grad_out
        return activations.backward(self.activation, self.x, self.y, grad_out)

    def get_config(self):
        return {"activation": self.activation}


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``rate`` and scale
    the kept ones by ``1 / (1 - rate)``, so the expected activation is unchanged and the
    layer does nothing at inference.

    Shapes: (batch, features) -> (batch, features).

    Attributes:
        mask: the last training mask, shape (batch, features): 0 for dropped units and
            ``1 / (1 - rate)`` for kept ones; None after an inference pass.
        rng: the generator the masks are drawn from.

    Args:
        rate: fraction of units dropped, in [0, 1).
        seed: seed of the mask generator (otherwise derived from the model's generator).
    """

    def __init__(self, rate, seed=None):
        super().__init__(seed=seed)
        self.rate = check_fraction("rate", rate)
        self.mask = None
        self.rng = None

    def build(self, input_dim, rng, dtype=np.float64):
        super().build(input_dim, rng, dtype)
        self.rng = _mask_generator(self.seed, rng)

    def forward(self, x, training=False):
        """x (batch, features) -> x * mask in training, x itself at inference."""
        x = self._prepare_input(x)
        self._output_shape = x.shape
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep = _uniform(self.rng, x.shape, self.dtype) >= self.rate
        self.mask = keep.astype(self.dtype) / (1 - self.rate)
        return x * self.mask

    def backward(self, grad_out):
        """grad_out * mask (the same units are dropped in the backward pass)."""
        grad_out = self._prepare_grad(grad_out)
        return grad_out if self.mask is None else grad_out * self.mask

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed}


class AlphaDropout(Layer):
    """Alpha dropout for self-normalizing (SELU) networks, with Keras's semantics.

    Plain dropout would set units to 0, which is not SELU's resting value, and change the
    mean and variance that SELU keeps at 0 and 1. Alpha dropout sets dropped units to
    SELU's negative saturation value ``alpha' = -scale * alpha`` (about -1.758) and then
    applies the affine map ``a * x + b`` chosen so that inputs with mean 0 and variance 1
    keep mean 0 and variance 1 (q = 1 - rate is the keep probability)::

        a = (q * (1 + rate * alpha'**2)) ** -0.5        b = -a * alpha' * rate

    Shapes: (batch, features) -> (batch, features). Inactive at inference.

    Attributes:
        mask: last boolean keep-mask (True = kept), or None after an inference pass.
        rng: the generator the masks are drawn from.

    Args:
        rate: fraction of units dropped, in [0, 1).
        seed: seed of the mask generator (otherwise derived from the model's generator).
    """

    ALPHA_PRIME = -activations.SELU_SCALE * activations.SELU_ALPHA

    def __init__(self, rate, seed=None):
        super().__init__(seed=seed)
        self.rate = check_fraction("rate", rate)
        alpha_p = self.ALPHA_PRIME
        self.a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        self.b = -self.a * alpha_p * self.rate
        self.mask = None
        self.rng = None

    def build(self, input_dim, rng, dtype=np.float64):
        super().build(input_dim, rng, dtype)
        self.rng = _mask_generator(self.seed, rng)

    def forward(self, x, training=False):
        """x (batch, features) -> a * (x where kept, alpha' where dropped) + b in training."""
        x = self._prepare_input(x)
        self._output_shape = x.shape
        if not training or self.rate == 0:
            self.mask = None
            return x
        self.mask = _uniform(self.rng, x.shape, self.dtype) >= self.rate
        return self.a * np.where(self.mask, x, self.ALPHA_PRIME) + self.b

    def backward(self, grad_out):
        """``a * grad_out`` for kept units, 0 for dropped ones (their output is a constant)."""
        grad_out = self._prepare_grad(grad_out)
        if self.mask is None:
            return grad_out
        return (self.a * grad_out) * self.mask

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed}


class BatchNormalization(Layer):
    """Batch normalization: normalize each feature over the batch, then scale and shift.

    Training: with the batch mean ``mu`` and biased batch variance ``var`` of each feature,
    ``x_hat = (x - mu) / sqrt(var + epsilon)`` and ``y = gamma * x_hat + beta``; the moving
    averages are updated as Keras does::

        moving_mean     = moving_mean * momentum     + mu  * (1 - momentum)
        moving_variance = moving_variance * momentum + var * (1 - momentum)

    Inference: the same formula with ``moving_mean`` and ``moving_variance``.

    Shapes: (batch, features) -> (batch, features); gamma, beta, moving statistics (features,).
    ``params`` are ``[gamma, beta]`` (without gamma if ``scale=False``, without beta if
    ``center=False``); ``state`` is ``[moving_mean, moving_variance]``.

    Args:
        momentum: weight of the old moving average, in [0, 1).
        epsilon: positive number added to the variance.
        center: learn the shift beta. scale: learn the scale gamma.
    """

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
        self.gamma = np.ones(d, dtype=self.dtype)
        self.beta = np.zeros(d, dtype=self.dtype)
        self.grad_gamma = np.zeros_like(self.gamma)
        self.grad_beta = np.zeros_like(self.beta)
        self.moving_mean = np.zeros(d, dtype=self.dtype)
        self.moving_variance = np.ones(d, dtype=self.dtype)
        self.params, self.grads, self.param_names = [], [], []
        if self.scale:
            self.params.append(self.gamma)
            self.grads.append(self.grad_gamma)
            self.param_names.append("gamma")
        if self.center:
            self.params.append(self.beta)
            self.grads.append(self.grad_beta)
            self.param_names.append("beta")
        self.state = [self.moving_mean, self.moving_variance]

    def forward(self, x, training=False):
        """x (batch, features) -> gamma * x_hat + beta. Keeps x_hat and 1 / sqrt(var + eps)."""
        x = self._prepare_input(x)
        if training:
            mean = x.mean(axis=0)
            var = x.var(axis=0)
            self.moving_mean *= self.momentum
            self.moving_mean += (1 - self.momentum) * mean
            self.moving_variance *= self.momentum
            self.moving_variance += (1 - self.momentum) * var
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
        np.sum(grad_out * self.x_hat, axis=0, out=self.grad_gamma)
        np.sum(grad_out, axis=0, out=self.grad_beta)
        dx_hat = grad_out * self.gamma
        if not self.training:
            return dx_hat * self.inv_std
        n = len(grad_out)
        return (self.inv_std / n) * (n * dx_hat - dx_hat.sum(axis=0)
                                     - self.x_hat * np.sum(dx_hat * self.x_hat, axis=0))

    def get_config(self):
        return {"momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}
