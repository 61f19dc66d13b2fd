"""``Sequential``: a stack of layers with Keras's ``compile`` / ``fit`` / ``evaluate``.

There is one training loop in the course and it is :meth:`Sequential.fit`: shuffle the
indices, cut mini-batches, forward, loss, backward, ``optimizer.step(params, grads)``,
constraints, callbacks. Everything is explicit NumPy.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from . import layers as layers_module
from . import losses as losses_module
from . import optimizers as optimizers_module
from ._threads import single_blas_thread
from ._validation import check_array, check_choice, check_fraction, check_positive, check_seed
from .callbacks import Callback, CallbackList, History, ProgressBar

_FORMAT = "course_lib.Sequential/1"
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
        self.input_dim = None
        self.optimizer = None
        self.loss = None
        self.metrics = []
        self.stop_training = False
        self.history = None
        self._targets_checked = False

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
        self.input_dim = input_dim
        self.output_dim = dim
        self._pack_parameters()
        return self

    def _pack_parameters(self):
        # All parameters live in one contiguous buffer (and all gradients in another); each
        # layer keeps views of its part. The optimizers are elementwise, so updating the flat
        # buffer gives exactly the per-array result with far fewer NumPy calls per step.
        params = [p for layer in self.layers for p in layer.params]
        total = sum(p.size for p in params)
        self._flat_params = np.empty(total, dtype=self.dtype)
        self._flat_grads = np.zeros(total, dtype=self.dtype)
        offset = 0
        for layer in self.layers:
            views, grad_views = [], []
            for p in layer.params:
                views.append(self._flat_params[offset:offset + p.size].reshape(p.shape))
                grad_views.append(self._flat_grads[offset:offset + p.size].reshape(p.shape))
                offset += p.size
            layer.adopt_storage(views, grad_views)

    @property
    def params(self):
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self):
        return [g for layer in self.layers for g in layer.grads]

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
            count = sum(p.size for p in layer.params)
            rows.append(f"{repr(layer)[:27]:<28}{dim:>10}{count:>10}")
        rows.append(f"{'total':<28}{'':>10}{self.count_params():>10}")
        return "\n".join(rows)

    # -- compile -------------------------------------------------------------------
    def compile(self, optimizer="adam", loss="sparse_categorical_crossentropy", metrics=None):
        """Choose the optimizer (instance or name), the loss (instance or name) and metrics."""
        if isinstance(optimizer, str):
            optimizer = optimizers_module.get(optimizer)
        if not isinstance(optimizer, optimizers_module.Optimizer):
            raise TypeError(f"optimizer must be an Optimizer or its name; got {type(optimizer).__name__}.")
        if isinstance(loss, str):
            loss = losses_module.get(loss)
        if not isinstance(loss, losses_module.Loss):
            raise TypeError(f"loss must be a Loss or its name; got {type(loss).__name__}.")
        metrics = list(metrics or [])
        for name in metrics:
            check_choice("metrics", name, _METRICS)
        self.optimizer, self.loss, self.metrics = optimizer, loss, metrics
        return self

    def _fused_output(self):
        """True when the last layer's activation and the loss fuse (gradient y_hat - y)."""
        last = self.layers[-1]
        return (isinstance(last, layers_module.Dense)
                and not getattr(self.loss, "from_logits", True)
                and last.activation == self.loss.output_activation
                and last.activation in ("softmax", "sigmoid"))

    # -- forward / backward -------------------------------------------------------
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

    def _forward(self, x, training):
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def _backward(self, grad, fused):
        # With a fused output the loss already gave d loss / d logits (y_hat - y), so the
        # last Dense skips its activation's backward pass. The first layer needs no
        # gradient with respect to the data.
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            layer = self.layers[i]
            if isinstance(layer, layers_module.Dense):
                grad = layer.backward(grad, pre_activation=fused and i == last, input_grad=i > 0)
            else:
                grad = layer.backward(grad)
        return grad

    def _regularization_loss(self):
        return float(sum(layer.regularization_loss() for layer in self.layers))

    def train_on_batch(self, x, y):
        """One optimizer step on one mini-batch; returns the batch loss (regularisation included)."""
        if self.optimizer is None:
            raise RuntimeError("call compile(optimizer, loss) before train_on_batch.")
        x = self._prepare_x(x)
        return self._train_step(x, np.asarray(y))

    def _train_step(self, x, y):
        fused = self._fused_output()
        y_pred = self._forward(x, training=True)
        self._last_output = y_pred
        loss, grad = self.loss.value_and_gradient(y, y_pred, fused=fused,
                                                  validate=not self._targets_checked)
        loss += self._regularization_loss()
        if not np.isfinite(loss):
            return loss
        self._backward(grad.astype(self.dtype, copy=False), fused)
        self.optimizer.step([self._flat_params], [self._flat_grads])
        for layer in self.layers:
            layer.apply_constraints()
        return loss

    # -- training ------------------------------------------------------------------
    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, validation_split=0.0,
            shuffle=True, callbacks=None, verbose=1, on_divergence="raise"):
        """Train for ``epochs`` passes over ``(x, y)`` in shuffled mini-batches.

        Logs per epoch: ``loss`` (mean of the batch losses during the epoch, dropout on, as
        Keras reports it), each metric, ``val_loss`` and ``val_<metric>`` when there is
        validation data, and ``learning_rate`` (the rate at the start of the epoch).

        If the loss becomes NaN or inf, training stops: with ``on_divergence="raise"`` a
        :class:`TrainingDiverged` error says where and suggests a lower learning rate; with
        ``"stop"`` the weights of the last finite epoch are restored and
        ``history.diverged_at`` records ``(epoch, batch)``. The history never holds NaN.

        Returns the :class:`~course_lib.callbacks.History`.
        """
        if self.optimizer is None:
            raise RuntimeError("call compile(optimizer, loss) before fit.")
        with single_blas_thread():
            return self._fit(x, y, epochs, batch_size, validation_data, validation_split,
                             shuffle, callbacks, verbose, on_divergence)

    def _fit(self, x, y, epochs, batch_size, validation_data, validation_split, shuffle,
             callbacks, verbose, on_divergence):
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
            n_val = int(round(len(x) * validation_split))
            if n_val < 1 or n_val >= len(x):
                raise ValueError(f"validation_split={validation_split} leaves {n_val} validation "
                                 f"examples of {len(x)}; choose a split giving at least one of each.")
            x, x_val, y, y_val = x[:-n_val], x[-n_val:], y[:-n_val], y[-n_val:]
            validation_data = (x_val, y_val)
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

        history = History()
        extra = list(callbacks or [])
        for cb in extra:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances; got {type(cb).__name__}.")
        progress = [ProgressBar(epochs)] if verbose else []
        callback_list = CallbackList([history] + extra + progress, self)
        self.stop_training = False
        self.history = history
        n = len(x)
        return self._fit_loop(x, y, epochs, batch_size, validation_data, shuffle,
                              history, callback_list, on_divergence)

    def _fit_loop(self, x, y, epochs, batch_size, validation_data, shuffle, history,
                  callback_list, on_divergence):
        n = len(x)
        labels = _true_labels(y) if "accuracy" in self.metrics else None
        self._targets_checked = True
        try:
            return self._epochs(x, y, labels, n, epochs, batch_size, validation_data, shuffle,
                                history, callback_list, on_divergence)
        finally:
            self._targets_checked = False

    def _epochs(self, x, y, labels, n, epochs, batch_size, validation_data, shuffle, history,
                callback_list, on_divergence):
        callback_list.on_train_begin()
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
                    loss = self._train_step(x[idx], y[idx])
                    if not np.isfinite(loss):
                        return self._diverged(history, epoch, batch, learning_rate, snapshot,
                                              on_divergence, callback_list)
                    batch_logs = {"loss": loss}
                    batch_logs.update(self._metrics_from(
                        y[idx], self._last_output, None if labels is None else labels[idx]))
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
            if not (all(np.isfinite(v) for v in logs.values()) and self._weights_finite()):
                return self._diverged(history, epoch, None, learning_rate, snapshot,
                                      on_divergence, callback_list)
            logs["learning_rate"] = learning_rate
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callback_list.on_train_end()
        return history

    def _check_targets(self, x, y, name):
        # The loss validates labels (range, shape, integer classes) with a clear message;
        # running it once on every label reports bad ones before training starts, so the
        # training steps need not check them again.
        placeholder = np.full((len(y), self.output_dim), 1.0 / self.output_dim, dtype=self.dtype)
        try:
            with np.errstate(all="ignore"):
                self.loss(y, placeholder)
        except (ValueError, TypeError) as err:
            raise type(err)(f"{name}: {err}") from None

    def _weights_finite(self):
        return bool(np.isfinite(self._flat_params).all())

    def _diverged(self, history, epoch, batch, learning_rate, snapshot, on_divergence, callbacks):
        self.set_weights(snapshot)
        where = f"epoch {epoch + 1}" + ("" if batch is None else f", batch {batch + 1}")
        message = (f"training diverged at {where}: the loss became NaN or inf with learning "
                   f"rate {learning_rate:.3g}. Lower the learning rate (or use gradient-friendly "
                   f"settings); the weights of the last finite epoch were restored.")
        history.diverged_at = (epoch, batch)
        history.message = message
        if on_divergence == "raise":
            raise TrainingDiverged(message)
        callbacks.on_train_end()
        return history

    # -- inference -------------------------------------------------------------------
    def predict(self, x, training=False, batch_size=None):
        """Outputs for ``x`` (shape (n, features)). ``training=True`` keeps dropout on
        (Monte Carlo dropout); batch statistics of BatchNormalization are then used too."""
        x = self._prepare_x(x)
        if batch_size is not None:
            batch_size = check_positive("batch_size", batch_size, integer=True)
        with single_blas_thread():
            if batch_size is None:
                return self._forward(x, training=training)
            parts = [self._forward(x[i:i + batch_size], training=training)
                     for i in range(0, len(x), batch_size)]
        return np.concatenate(parts)

    def evaluate(self, x, y, batch_size=None):
        """Loss (regularisation included, as Keras) and metrics in inference mode, as a dict."""
        if self.loss is None:
            raise RuntimeError("call compile(optimizer, loss) before evaluate.")
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
        return [a.copy() for layer in self.layers for a in list(layer.params) + list(layer.state)]

    def set_weights(self, weights):
        """Load arrays from :meth:`get_weights` (same count, shapes; copied in place)."""
        targets = [a for layer in self.layers for a in list(layer.params) + list(layer.state)]
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(f"weights must hold {len(targets)} arrays for this model; got {len(weights)}.")
        for i, (target, value) in enumerate(zip(targets, weights)):
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(f"weights[{i}] must have shape {target.shape}; got {value.shape}.")
            target[...] = value

    def save(self, path):
        """Write architecture and weights to a ``.npz`` file, atomically and without pickle.

        The file is written next to its destination and renamed into place, so a crash
        mid-write leaves any previous file intact.
        """
        if not self.built:
            raise RuntimeError("the model has no weights yet: build it (fit, predict or build) before save.")
        path = os.fspath(path)
        config = {
            "format": _FORMAT,
            "input_dim": self.input_dim,
            "dtype": str(self.dtype),
            "layers": [{"class": type(layer).__name__, "config": layer.get_config()}
                       for layer in self.layers],
        }
        arrays = {f"w{i:03d}": w for i, w in enumerate(self.get_weights())}
        arrays["config"] = np.frombuffer(json.dumps(config).encode("utf-8"), dtype=np.uint8)
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    @classmethod
    def load(cls, path):
        """Rebuild a model saved by :meth:`save` (compile it again to train)."""
        path = os.fspath(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                files = dict(data.items())
        except FileNotFoundError:
            raise
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
            raise ValueError(f"{path!r} is not a readable course_lib model file (truncated or "
                             f"another format): {err}") from None
        if "config" not in files:
            raise ValueError(f"{path!r} is not a course_lib model file: it has no 'config' entry.")
        try:
            config = json.loads(files.pop("config").tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path!r} has a corrupt config: {err}") from None
        if config.get("format") != _FORMAT:
            raise ValueError(f"{path!r} has format {config.get('format')!r}; expected {_FORMAT!r}.")
        layers = []
        for entry in config["layers"]:
            layer_cls = getattr(layers_module, entry["class"], None)
            if not (isinstance(layer_cls, type) and issubclass(layer_cls, layers_module.Layer)):
                raise ValueError(f"{path!r} names an unknown layer class {entry['class']!r}.")
            layers.append(layer_cls(**entry["config"]))
        model = cls(layers, dtype=config["dtype"])
        model.build(config["input_dim"])
        weights = [files[k] for k in sorted(files)]
        model.set_weights(weights)
        return model


def _predicted_labels(y_pred):
    if y_pred.shape[1] == 1:
        return (y_pred[:, 0] > 0.5).astype(np.int64)
    return np.argmax(y_pred, axis=1)


def _true_labels(y):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    return y.reshape(-1).astype(np.int64)
