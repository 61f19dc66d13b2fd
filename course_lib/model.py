"""``Sequential``: a stack of layers with Keras's ``compile`` / ``fit`` / ``evaluate``.

There is one training loop in the course and it is :meth:`Sequential.fit`: shuffle the
indices, cut mini-batches, and for each one :meth:`Sequential.train_step` (forward, loss
and gradient, backward, optimizer step, constraints), with callbacks around them.
Everything is explicit NumPy.
"""
from __future__ import annotations

import numpy as np

from . import layers as layers_module
from . import losses as losses_module
from . import optimizers as optimizers_module
from . import saving
from ._threads import single_blas_thread
from ._validation import check_array, check_choice, check_fraction, check_positive, check_seed
from .callbacks import CallbackList, History, ProgressBar

_METRICS = ("accuracy", "mae", "mse")


class TrainingDiverged(FloatingPointError):
    """Raised by ``fit(..., on_divergence="raise")`` when the loss becomes NaN or inf."""


class Sequential:
    """A linear stack of layers.

    Parameters
    ----------
    layers : list of Layer
        Applied in order. ``Dense`` layers infer their input size on first use.
    seed : int, Generator or None
        Seeds weight initialisation, dropout masks and shuffling, so the same seed gives
        bit-identical weights and history.
    dtype : "float32" or "float64"
        Precision of parameters and computations (float64 for gradient checks).

    Freezing. ``layer.trainable = False`` takes effect at the next training step: the
    optimizer leaves that layer's parameters (and its constraints) alone, and a frozen
    BatchNormalization runs in inference mode. Keras asks for ``compile()`` after such a
    change; here no call is needed, and calling ``compile`` again does no harm. Because the
    trainable parameters change, the optimizer starts new moment estimates (velocity,
    Adam's m and v) for them; its step count, and so a learning-rate schedule, goes on.
    """

    def __init__(self, layers, seed=None, dtype="float32"):
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, layers_module.Layer):
                raise TypeError(f"layers[{i}] must be a course_lib.layers.Layer; got "
                                f"{type(layer).__name__}.")
        if not layers:
            raise ValueError("layers must contain at least one layer; got an empty list.")
        self.layers = layers
        self.seed = seed
        self.rng = check_seed("seed", seed)
        self.dtype = np.dtype(check_choice("dtype", str(np.dtype(dtype)), ("float32", "float64")))
        self.input_dim = self.optimizer = self.loss = self.history = self.last_output = None
        self.metrics, self.stop_training, self._labels_checked = [], False, False
        self._theta = self._grad_theta = self._theta_layout = None

    # -- building ------------------------------------------------------------------
    @property
    def built(self):
        return self.input_dim is not None

    def build(self, input_dim):
        """Create every layer's parameters for inputs of ``input_dim`` features."""
        input_dim = int(check_positive("input_dim", input_dim, integer=True))
        dim = input_dim
        for layer in self.layers:
            layer.build(dim, self.rng, self.dtype)
            dim = layer.output_dim(dim)
        self.layers[0].needs_input_gradient = False  # nothing uses d loss / d data
        self.input_dim, self.output_dim, self._theta_layout = input_dim, dim, None
        return self

    @property
    def params(self):
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self):
        return [g for layer in self.layers for g in layer.grads]

    @property
    def trainable_weights(self):
        """The parameter arrays the optimizer updates: those of the trainable layers."""
        return [p for layer in self.layers if layer.trainable for p in layer.params]

    def count_params(self):
        return int(sum(p.size for p in self.params))

    def summary(self):
        """A table of layers, output sizes and parameter counts (as a string)."""
        if not self.built:
            return "Sequential (not built yet: call fit, predict or build(input_dim))"
        rows = [f"{'layer':<28}{'output':>10}{'params':>10}"]
        dim = self.input_dim
        for layer in self.layers:
            dim = layer.output_dim(dim)
            rows.append(f"{repr(layer)[:27]:<28}{dim:>10}{sum(p.size for p in layer.params):>10}")
        rows.append(f"{'total':<28}{'':>10}{self.count_params():>10}")
        return "\n".join(rows)

    # -- theta: the one performance device of training --------------------------------
    @property
    def theta(self):
        """Every trainable parameter of the network in one vector, the textbook's theta.

        Each trainable layer's ``kernel``, ``bias``, ``gamma``, ``beta`` is a view of its part
        of ``theta`` (and its gradient of ``grad_theta``). The optimizers update elementwise,
        so one step on theta is a step on each array, in one set of NumPy calls instead of
        one per array: bench/training.py measures it. It is rebuilt, values copied, when a
        layer's ``trainable`` changes or the model is built again.
        """
        layout = tuple(layer.trainable for layer in self.layers)
        if layout != self._theta_layout:
            self._pack(layout)
        return self._theta

    def optimized_arrays(self):
        """What one optimizer step updates: ``([theta], [grad_theta])``, or each trainable
        weight array and its gradient when the optimizer clips each gradient by its own norm
        (``clipnorm`` is per array, so it needs the arrays one by one)."""
        theta, grad_theta = self.theta, self.grad_theta
        if self.optimizer.clipnorm is None:
            return [theta], [grad_theta]
        return self.trainable_weights, [g for layer in self.layers if layer.trainable
                                        for g in layer.grads]

    @property
    def grad_theta(self):
        """d loss / d theta, filled by :meth:`backward` (see :attr:`theta`)."""
        self.theta  # rebuilds both vectors if the trainable layers changed
        return self._grad_theta

    def _pack(self, layout):
        size = sum(p.size for p in self.trainable_weights)
        theta, grad_theta = np.empty(size, self.dtype), np.zeros(size, self.dtype)
        offset = 0
        for layer in self.layers:
            if not layer.trainable:
                continue  # a frozen layer's arrays stay where they are, outside theta
            for name, param, grad in zip(layer.param_names, layer.params, layer.grads):
                if getattr(layer, name, None) is not param or getattr(layer, "grad_" + name, None) is not grad:
                    raise TypeError(f"{layer.name}: each array of params must be the attribute "
                                    f"named in param_names, its gradient 'grad_' + that name; "
                                    f"{name!r} or 'grad_{name}' is not.")
                part = slice(offset, offset + param.size)
                offset += param.size
                theta[part], grad_theta[part] = param.ravel(), grad.ravel()
                layer.place_weight(name, theta[part].reshape(param.shape))
                layer.place_weight("grad_" + name, grad_theta[part].reshape(param.shape))
            layer.params = [getattr(layer, name) for name in layer.param_names]
            layer.grads = [getattr(layer, "grad_" + name) for name in layer.param_names]
        if self._theta_layout is not None and self.optimizer is not None:
            # The optimizer's state (velocity, m, v) was for the old theta: start it anew
            # for the new one, keeping the step count (and so a schedule's position).
            iterations = self.optimizer.iterations
            self.optimizer.reset()
            self.optimizer.iterations = iterations
        self._theta, self._grad_theta, self._theta_layout = theta, grad_theta, layout

    def __getstate__(self):
        # A copy (deepcopy, pickle) gets arrays of its own, no longer views of a theta: it
        # builds its own theta at its first training step.
        return {**self.__dict__, "_theta": None, "_grad_theta": None, "_theta_layout": None}

    # -- compile -------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose the optimizer, the loss (instances or names) and metrics; Keras 3's defaults.
        ``fit`` and ``evaluate`` need a loss."""
        if isinstance(optimizer, str):
            optimizer = optimizers_module.get(optimizer)
        if not isinstance(optimizer, optimizers_module.Optimizer):
            raise TypeError(f"optimizer must be an Optimizer or its name; got {type(optimizer).__name__}.")
        if isinstance(loss, str):
            loss = losses_module.get(loss)
        if loss is not None and not isinstance(loss, losses_module.Loss):
            raise TypeError(f"loss must be a Loss, its name or None; got {type(loss).__name__}.")
        metrics = [check_choice("metrics", name, _METRICS) for name in metrics or []]
        self.optimizer, self.loss, self.metrics = optimizer, loss, metrics
        return self

    def _check_compiled(self, caller):
        if self.optimizer is None:
            raise RuntimeError(f"call compile(optimizer, loss) before {caller}.")
        if self.loss is None:
            raise ValueError(f"No loss to compute. Provide a `loss` argument in `compile()`: "
                             f"{caller} needs one, e.g. loss='sparse_categorical_crossentropy'.")

    # -- one training step ---------------------------------------------------------
    def train_step(self, x, y):
        """One step of mini-batch gradient descent on ``(x, y)``; returns the batch loss."""
        y_pred = self.forward(x, training=True)
        loss, grad = self.loss_and_gradient(y, y_pred)
        self.backward(grad)
        weights, gradients = self.optimized_arrays()
        self.optimizer.step(weights, gradients)
        for layer in self.layers:
            if layer.trainable:
                layer.apply_constraints()
        return loss

    def forward(self, x, training=False):
        """The network's output for ``x``, layer after layer; kept as ``last_output``."""
        for layer in self.layers:
            x = layer.forward(x, training=training)
        self.last_output = x
        return x

    @property
    def fused_output(self):
        """Whether the last layer's activation and the loss fuse: softmax or sigmoid before
        cross-entropy, where d loss / dz = (y_hat - y) / batch for the pre-activation z."""
        activation = self.layers[-1].activation
        return activation in ("softmax", "sigmoid") and activation == self.loss.output_activation

    def loss_and_gradient(self, y, y_pred):
        """The loss (regularisation included) and the gradient :meth:`backward` starts from.

        The gradient is d loss / d y_pred, or, when :attr:`fused_output`, d loss / dz for
        the last layer's pre-activation z: ``(y_hat - y) / batch``, exact where the chain
        rule through softmax would divide by a vanishing probability. Inside ``fit`` the
        labels were all checked before training, so the loss skips checking each batch.
        """
        loss, grad = self.loss.value_and_gradient(y, y_pred, fused=self.fused_output,
                                                  validate=not self._labels_checked)
        return loss + self._regularization_loss(), grad.astype(self.dtype, copy=False)

    def backward(self, grad):
        """Back-propagate ``grad`` (from :meth:`loss_and_gradient`) through every layer,
        filling each layer's ``grads``."""
        last = self.layers[-1]
        grad = last.pre_activation_backward(grad) if self.fused_output else last.backward(grad)
        for layer in reversed(self.layers[:-1]):
            grad = layer.backward(grad)

    def _regularization_loss(self):
        return float(sum(layer.regularization_loss() for layer in self.layers))

    def train_on_batch(self, x, y):
        """One optimizer step on one mini-batch; returns the batch loss (regularisation included)."""
        self._check_compiled("train_on_batch")
        x = self._prepare_x(x)
        with single_blas_thread():
            return self.train_step(x, np.asarray(y))

    def _prepare_x(self, x, name="x"):
        x = check_array(name, x, ndim=2, dtype=None)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        if not self.built:
            self.build(x.shape[1])
        elif x.shape[1] != self.input_dim:
            raise ValueError(f"{name} must have {self.input_dim} features (the model was built "
                             f"for that); got shape {x.shape}.")
        return x

    # -- training ------------------------------------------------------------------
    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, validation_split=0.0,
            shuffle=True, callbacks=None, verbose=1, on_divergence="raise"):
        """Train for ``epochs`` passes over ``(x, y)`` in shuffled mini-batches.

        Logs per epoch: ``loss`` (mean of the batch losses during the epoch, dropout on, as
        Keras reports it), each metric, ``val_loss`` and ``val_<metric>`` when there is
        validation data, and ``learning_rate`` (the rate at the start of the epoch).
        ``validation_split=s`` validates on the last examples and trains on the first
        ``floor(n * (1 - s))``, before shuffling, as Keras does.

        If the loss becomes NaN or inf, training stops: with ``on_divergence="raise"`` a
        :class:`TrainingDiverged` error says where and suggests a lower learning rate; with
        ``"stop"`` the weights of the last finite epoch are restored and
        ``history.diverged_at`` records ``(epoch, batch)``. The history never holds NaN.
        Callbacks' ``on_train_end`` runs however training ends (an error, an interrupt).
        Returns the :class:`~course_lib.callbacks.History`.
        """
        self._check_compiled("fit")
        epochs = check_positive("epochs", epochs, integer=True)
        batch_size = check_positive("batch_size", batch_size, integer=True)
        check_fraction("validation_split", validation_split)
        check_choice("on_divergence", on_divergence, ("raise", "stop"))
        x = self._prepare_x(x)
        y = np.asarray(y)
        if len(x) != len(y):
            raise ValueError(f"x and y must have the same number of examples; got {len(x)} and {len(y)}.")
        self._check_targets(x, y, "y")
        if validation_data is None and validation_split > 0:
            split_at = int(len(x) * (1.0 - validation_split))  # floor, as Keras
            if split_at < 1 or split_at >= len(x):
                raise ValueError(f"validation_split={validation_split} leaves {len(x) - split_at} "
                                 f"of {len(x)} examples for validation; it needs at least one of each.")
            x, y, validation_data = x[:split_at], y[:split_at], (x[split_at:], y[split_at:])
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val).")
            x_val = self._prepare_x(validation_data[0], "validation_data[0]")
            y_val = np.asarray(validation_data[1])
            if len(x_val) != len(y_val):
                raise ValueError("validation_data must hold as many labels as examples; got "
                                 f"{len(x_val)} and {len(y_val)}.")
            self._check_targets(x_val, y_val, "validation_data[1]")
            validation_data = (x_val, y_val)
        history = self.history = History()
        callback_list = CallbackList([history] + list(callbacks or [])
                                     + ([ProgressBar(epochs)] if verbose else []), self)
        self.stop_training = False
        callback_list.on_train_begin()
        self._labels_checked = True
        try:
            with single_blas_thread():
                self._epochs(x, y, epochs, batch_size, validation_data, shuffle, history,
                             callback_list, on_divergence)
        finally:
            self._labels_checked = False
            callback_list.on_train_end()
        return history

    def _epochs(self, x, y, epochs, batch_size, validation_data, shuffle, history,
                callback_list, on_divergence):
        n, labels = len(x), (_true_labels(y) if "accuracy" in self.metrics else None)
        for epoch in range(epochs):
            callback_list.on_epoch_begin(epoch)
            learning_rate = float(self.optimizer.current_learning_rate)
            snapshot = self.get_weights()
            order = self.rng.permutation(n) if shuffle else np.arange(n)
            sums, count = dict.fromkeys(["loss"] + self.metrics, 0.0), 0
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                for batch, start in enumerate(range(0, n, batch_size)):
                    callback_list.on_batch_begin(batch)
                    idx = order[start:start + batch_size]
                    loss = self.train_step(x[idx], y[idx])
                    if not np.isfinite(loss):
                        return self._diverged(history, epoch, batch, learning_rate, snapshot,
                                              on_divergence)
                    batch_logs = {"loss": loss, **self._metrics_from(
                        y[idx], self.last_output, None if labels is None else labels[idx])}
                    for key, value in batch_logs.items():
                        sums[key] += value * len(idx)
                    count += len(idx)
                    callback_list.on_batch_end(batch, batch_logs)
            # Like Keras: training loss and metrics are averages over the epoch's batches,
            # measured in training mode (dropout on) while the weights were changing.
            logs = {key: value / count for key, value in sums.items()}
            if validation_data is not None:
                for key, value in self.evaluate(*validation_data).items():
                    logs[f"val_{key}"] = value
            finite = all(np.isfinite(v) for v in logs.values())
            if not (finite and all(np.isfinite(p).all() for p in self.params)):
                return self._diverged(history, epoch, None, learning_rate, snapshot, on_divergence)
            logs["learning_rate"] = learning_rate
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        return history

    def _check_targets(self, x, y, name):
        # Running the loss once on every label reports bad ones (range, shape, integer
        # classes) before training starts; the training steps need not check them again.
        placeholder = np.full((len(y), self.output_dim), 1.0 / self.output_dim, dtype=self.dtype)
        try:
            with np.errstate(all="ignore"):
                self.loss(y, placeholder)
        except (ValueError, TypeError) as err:
            raise type(err)(f"{name}: {err}") from None

    def _diverged(self, history, epoch, batch, learning_rate, snapshot, on_divergence):
        self.set_weights(snapshot)
        where = f"epoch {epoch + 1}" + ("" if batch is None else f", batch {batch + 1}")
        message = (f"training diverged at {where}: the loss became NaN or inf with learning "
                   f"rate {learning_rate:.3g}. Lower the learning rate (or use gradient-friendly "
                   f"settings); the weights of the last finite epoch were restored.")
        history.diverged_at, history.message = (epoch, batch), message
        if on_divergence == "raise":
            raise TrainingDiverged(message)
        return history

    # -- inference -------------------------------------------------------------------
    def predict(self, x, training=False, batch_size=None):
        """Outputs for ``x`` (shape (n, features)). ``training=True`` keeps dropout on
        (Monte Carlo dropout); batch statistics of BatchNormalization are then used too."""
        x = self._prepare_x(x)
        step = None if batch_size is None else check_positive("batch_size", batch_size, integer=True)
        with single_blas_thread():
            if step is None:
                return self.forward(x, training=training)
            return np.concatenate([self.forward(x[i:i + step], training=training)
                                   for i in range(0, len(x), step)])

    def evaluate(self, x, y, batch_size=None):
        """Loss (regularisation included, as Keras) and metrics in inference mode, as a dict."""
        self._check_compiled("evaluate")
        y = np.asarray(y)
        # A diverged model may overflow here; fit reports that with a clear message instead.
        with np.errstate(over="ignore", invalid="ignore"):
            y_pred = self.predict(x, batch_size=batch_size)
            result = {"loss": float(self.loss(y, y_pred)) + self._regularization_loss()}
        result.update(self._metrics_from(y, y_pred))
        return result

    def _metrics_from(self, y, y_pred, labels=None):
        # ``labels``: the class labels of ``y`` when the caller has them already.
        out = {}
        for name in self.metrics:
            if name == "accuracy":
                labels = _true_labels(y) if labels is None else labels
                out[name] = float(np.count_nonzero(_predicted_labels(y_pred) == labels)) / len(labels)
            elif name == "mae":
                out[name] = float(np.mean(np.abs(y_pred - y.reshape(y_pred.shape))))
            elif name == "mse":
                out[name] = float(np.mean((y_pred - y.reshape(y_pred.shape)) ** 2))
        return out

    # -- weights ----------------------------------------------------------------------
    def get_weights(self):
        """Copies of every parameter and state array (moving statistics), layer by layer."""
        return [a.copy() for a in self._weights_and_state()]

    def set_weights(self, weights):
        """Load arrays from :meth:`get_weights` (same count, shapes; copied in place)."""
        targets, weights = self._weights_and_state(), list(weights)
        if len(weights) != len(targets):
            raise ValueError(f"weights must hold {len(targets)} arrays for this model; got {len(weights)}.")
        for i, (target, value) in enumerate(zip(targets, weights)):
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(f"weights[{i}] must have shape {target.shape}; got {value.shape}.")
            target[...] = value

    def _weights_and_state(self):
        return [a for layer in self.layers for a in list(layer.params) + list(layer.state)]

    def save(self, path):
        """Write architecture and weights to a ``.npz`` file, atomically and without pickle
        (see :func:`course_lib.saving.save_model`). Returns the path."""
        return saving.save_model(self, path)

    @classmethod
    def load(cls, path):
        """Rebuild a model saved by :meth:`save` (compile it again to train)."""
        return saving.load_model(path, cls)


def _predicted_labels(y_pred):
    if y_pred.shape[1] == 1:
        return (y_pred[:, 0] > 0.5).astype(np.int64)
    return np.argmax(y_pred, axis=1)


def _true_labels(y):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    return y.reshape(-1).astype(np.int64)
