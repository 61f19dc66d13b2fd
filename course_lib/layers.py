"""Layers: each one a forward/backward pair with explicit backprop (no autograd).

The contract shared by every layer:

* ``params`` and ``grads``: lists of arrays in the same order and shapes, each parameter
  the attribute named in ``param_names`` (``kernel``) and its gradient ``grad_kernel``;
  ``backward`` fills the gradients in place, so arrays keep their identity.
* ``state``: non-trainable arrays saved with the weights (BatchNormalization's moving
  statistics), read and written with ``get_state()`` / ``set_state()``.
* ``build(input_dim, rng, dtype)`` creates the parameters. A layer used before it was
  built builds itself from the first input (its ``seed`` and the input's dtype).
* ``forward(x, training=False) -> y`` keeps what ``backward`` needs;
  ``backward(grad_out) -> grad_in`` returns d loss / dx given d loss / dy. A model sets
  ``needs_input_gradient = False`` on its first layer: nothing uses d loss / d data, and a
  ``Dense`` layer then skips that matrix product (one of its two) and returns None.
* ``trainable = False`` freezes a layer, as in Keras: a model's optimizer leaves its
  ``params`` alone, and a frozen BatchNormalization runs in inference mode.
* Assigning a parameter after build (``layer.kernel = 2 * layer.kernel``) copies the values
  into the existing array, so the model and its optimizer keep training it.
* ``regularization_loss()``, ``apply_constraints()``, ``get_config()``.

Inputs are 2-D, shape (batch, features), computed in the dtype the layer was built with.

Output fusion. Every layer names the activation its output ends with, ``activation``
(``"linear"`` for none), and has ``pre_activation_backward(grad_z)``, the backward pass from
the gradient before that activation; ``backward`` is the activation's backward pass and
then this. When the last layer's activation is the loss's ``output_activation`` (softmax or
sigmoid with cross-entropy), a model hands it ``loss.fused_gradient(...) = (y_hat - y) /
batch``: exact where the chain rule would divide by a vanishing probability.
"""
from __future__ import annotations

import re

import numpy as np

from course_lib import activations, constraints, initializers, regularizers
from course_lib._validation import check_choice, check_fraction, check_non_negative, check_positive


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def _mask_generator(seed, model_rng):
    """The generator of a dropout layer's masks: from its own seed, else a child of the
    model's generator (so that drawing masks does not shift the model's other draws)."""
    return np.random.default_rng(model_rng.integers(2**63) if seed is None else seed)


def _uniform(rng, shape, dtype):
    """Uniform [0, 1) samples, drawn directly in float32 when the layer is float32."""
    return rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)


class Weight:
    """A weight attribute of a layer (``kernel``, ``bias``, ``gamma``, ``moving_mean``).

    Assigning copies the values into the existing array, so whatever holds it (``params``,
    a model's theta, the optimizer's state) goes on using and training it; a wrong shape is
    a ValueError. ``layer.place_weight`` puts a new array in place (``build`` does).
    """

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, layer, owner=None):
        return self if layer is None else layer.__dict__.get(self.name)

    def __set__(self, layer, value):
        current = layer.__dict__.get(self.name)
        if current is None:
            raise AttributeError(f"{layer.name}.{self.name} does not exist before the layer is "
                                 f"built; build it (or call it on data) first.")
        if np.shape(value) != current.shape:
            raise ValueError(f"{layer.name}.{self.name} must keep its shape {current.shape}; "
                             f"got an array of shape {np.shape(value)}.")
        np.copyto(current, value, casting="same_kind")


class Layer:
    """Base class: a layer with no parameters that passes its input through unchanged.

    Besides the contract of the module: ``built`` (``input_dim`` and ``dtype`` are set by
    ``build``), ``name`` (snake_case class name, ``"batch_normalization"``) and ``seed``
    (None or the int seed of the layer's own randomness). Setting ``trainable`` takes
    effect at a model's next training step, without compiling again (see Sequential).
    """

    activation = "linear"
    needs_input_gradient = True

    def __init__(self, seed=None):
        self.params, self.grads, self.param_names, self.state = [], [], [], []
        self.built, self.trainable = False, True
        self.seed = None if seed is None else check_non_negative("seed", seed, integer=True)
        self.name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()
        self.input_dim = self.dtype = self._output_shape = None

    def build(self, input_dim, rng, dtype=np.float64):
        """Create the parameters for inputs of shape (batch, input_dim), drawing from ``rng``."""
        self.input_dim = check_positive("input_dim", input_dim, integer=True)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"dtype must be a floating dtype; got {self.dtype}.")
        self.params, self.grads, self.param_names = [], [], []
        self.built = True

    def add_parameter(self, name, value, trainable=True):
        """Make ``value`` the layer's attribute ``name`` with a zero gradient ``grad_<name>``;
        listed in ``params`` / ``grads`` / ``param_names`` unless ``trainable`` is False."""
        grad = np.zeros_like(value)
        self.place_weight(name, value)
        self.place_weight("grad_" + name, grad)
        if trainable:
            self.params.append(value)
            self.grads.append(grad)
            self.param_names.append(name)

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

    @property
    def trainable(self):
        """Whether a model's optimizer updates ``params`` (True or False)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = _check_bool("trainable", value)

    def place_weight(self, name, array):
        """Make ``array`` itself (not a copy) the layer's attribute ``name``."""
        self.__dict__[name] = array

    def output_dim(self, input_dim):
        """Number of output features for ``input_dim`` input features."""
        return input_dim

    def forward(self, x, training=False):
        """(batch, features) -> (batch, features)."""
        x = self._prepare_input(x)
        self._output_shape = x.shape
        return x

    def backward(self, grad_out):
        """(batch, features) -> (batch, features)."""
        return self._prepare_grad(grad_out)

    def pre_activation_backward(self, grad_z):
        """d loss / dz, the gradient before the output activation -> d loss / dx (without an
        activation z is the output: this is ``backward``)."""
        if self.activation != "linear":
            raise NotImplementedError(f"{self.name} ends with {self.activation!r} but does not "
                                      f"define pre_activation_backward.")
        return self.backward(grad_z)

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
        arrays = [np.asarray(a) for a in arrays]
        if len(arrays) != len(self.state):
            raise ValueError(f"{self.name}: set_state needs {len(self.state)} arrays; got {len(arrays)}.")
        for i, (target, value) in enumerate(zip(self.state, arrays)):
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
        kernel_regularizer: None, a regularizer (``l2(0.01)``), its name or config dict.
        kernel_constraint: None, a constraint (``max_norm(2.0)``), its name or config dict;
            applied after each optimizer step.
        seed: seed of the kernel's initial values (otherwise the model's generator is used).
    """

    kernel = Weight()
    bias = Weight()

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
        self.x = self.z = self.y = None

    def build(self, input_dim, rng, dtype=np.float64):
        super().build(input_dim, rng, dtype)
        rng = rng if self.seed is None else np.random.default_rng(self.seed)
        init = initializers.get(self.kernel_initializer)
        self.add_parameter("kernel", init((self.input_dim, self.units), rng, dtype=self.dtype))
        if self.use_bias:
            self.add_parameter("bias", np.zeros(self.units, dtype=self.dtype))

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

    def backward(self, grad_out):
        """d loss / dy (batch, units) -> d loss / dx (batch, inputs); fills ``grads``."""
        grad_out = self._prepare_grad(grad_out)
        grad_z = activations.backward(self.activation, self.z, self.y, grad_out)
        return self.pre_activation_backward(grad_z)

    def pre_activation_backward(self, grad_z):
        """d loss / dz for z = x @ kernel + bias -> d loss / dx; fills ``grads`` in place."""
        grad_z = self._prepare_grad(grad_z)
        self.grad_kernel[...] = self.x.T @ grad_z
        if self.kernel_regularizer is not None:
            self.grad_kernel += self.kernel_regularizer.gradient(self.kernel)
        if self.use_bias:
            self.grad_bias[...] = grad_z.sum(axis=0)
        if not self.needs_input_gradient:
            return None
        return grad_z @ self.kernel.T

    def regularization_loss(self):
        """``kernel_regularizer(kernel)``, or 0.0."""
        regularizer = self.kernel_regularizer
        return 0.0 if regularizer is None or not self.built else regularizer(self.kernel)

    def apply_constraints(self):
        """Apply ``kernel_constraint`` to the kernel in place (the array keeps its identity)."""
        if self.kernel_constraint is not None and self.built:
            np.copyto(self.kernel, self.kernel_constraint(self.kernel))

    def get_config(self):
        regularizer, constraint = self.kernel_regularizer, self.kernel_constraint
        return {"units": self.units, "activation": self.activation,
                "kernel_initializer": self.kernel_initializer, "use_bias": self.use_bias,
                "kernel_regularizer": None if regularizer is None else regularizer.get_config(),
                "kernel_constraint": None if constraint is None else constraint.get_config(),
                "seed": self.seed}


class Activation(Layer):
    """Apply ``activation`` (a name from :data:`course_lib.activations.NAMES`) elementwise,
    row-wise for softmax. Shapes: (batch, features) -> (batch, features).
    ``Activation("relu")`` after a linear ``Dense`` equals ``Dense(..., activation="relu")``.
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

    def backward(self, grad_out):
        """d loss / dy -> d loss / dx."""
        grad_out = self._prepare_grad(grad_out)
        return activations.backward(self.activation, self.x, self.y, grad_out)

    def pre_activation_backward(self, grad_z):
        """d loss / dx is the gradient before the activation itself: it passes through."""
        return self._prepare_grad(grad_z)

    def get_config(self):
        return {"activation": self.activation}


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``rate`` and scale
    the kept ones by ``1 / (1 - rate)``, so the expected activation is unchanged and the
    layer does nothing at inference.

    Shapes: (batch, features) -> (batch, features). ``rate``: fraction of units dropped,
    in [0, 1); ``seed``: seed of the masks (otherwise drawn from the model's generator).

    Attributes:
        mask: the last training mask, shape (batch, features): 0 for dropped units and
            ``1 / (1 - rate)`` for kept ones; None after an inference pass.
        rng: the generator the masks are drawn from.
    """

    def __init__(self, rate, seed=None):
        super().__init__(seed=seed)
        self.rate = check_fraction("rate", rate)
        self.mask = self.rng = None

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


class AlphaDropout(Dropout):
    """Alpha dropout for self-normalizing (SELU) networks, with Keras's semantics.

    Plain dropout would set units to 0, which is not SELU's resting value, and change the
    mean and variance that SELU keeps at 0 and 1. Alpha dropout sets dropped units to
    SELU's negative saturation value ``alpha' = -scale * alpha`` (about -1.758) and then
    applies the affine map ``a * x + b`` chosen so that inputs with mean 0 and variance 1
    keep mean 0 and variance 1 (q = 1 - rate is the keep probability)::

        a = (q * (1 + rate * alpha'**2)) ** -0.5        b = -a * alpha' * rate

    Shapes, arguments and attributes as :class:`Dropout`, except that ``mask`` is the
    boolean keep-mask (True = kept). Inactive at inference.
    """

    ALPHA_PRIME = -activations.SELU_SCALE * activations.SELU_ALPHA

    def __init__(self, rate, seed=None):
        super().__init__(rate, seed=seed)
        alpha_p = self.ALPHA_PRIME
        self.a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        self.b = -self.a * alpha_p * self.rate

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


# The normalization layers live in course_lib.normalization, which builds on the classes
# above; they are names of this module too, as in Keras's ``keras.layers`` (imports, saved
# models and name lookups find them here).
try:
    from course_lib.normalization import BatchNormalization, LayerNormalization  # noqa: E402,F401
except ImportError:
    # course_lib.normalization is being imported first and is importing this module: its
    # classes do not exist yet, so they are looked up when first asked for.
    def __getattr__(name):
        if name in ("BatchNormalization", "LayerNormalization"):
            from course_lib import normalization
            return getattr(normalization, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
