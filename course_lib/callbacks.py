"""Callbacks: code that training calls when something happens ("call me when").

The training loop of :class:`course_lib.model.Sequential` fires events
(train begin/end, epoch begin/end, batch begin/end); a callback overrides the hooks it
cares about. Semantics follow Keras 3, so ``EarlyStopping(patience=5)`` or
``ReduceLROnPlateau(factor=0.5, patience=5)`` behave as a learner who read the Keras
documentation expects.
"""
from __future__ import annotations

import math
import os

import numpy as np

from ._validation import check_non_negative, check_number, check_positive, check_choice


class Callback:
    """Base class: every hook does nothing. ``self.model`` is set by ``fit``."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass


class CallbackList:
    """Forwards every event to each callback in order."""

    def __init__(self, callbacks, model):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError("callbacks must be Callback instances; got "
                                f"{type(callback).__name__}.")
            callback.set_model(model)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def fire(*args, **kwargs):
            for callback in self.callbacks:
                getattr(callback, hook)(*args, **kwargs)
        return fire


class History(Callback):
    """Records every epoch's logs: ``history.history["val_loss"][e]`` is epoch ``e``'s value.

    ``epoch`` lists the 0-based epochs that ran; ``diverged_at`` is ``(epoch, batch)`` if
    training stopped because the loss became non-finite, else ``None``.
    """

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.diverged_at = None

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}
        self.diverged_at = None

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))

    def __repr__(self):
        keys = ", ".join(self.history)
        return f"History(epochs={len(self.epoch)}, keys=[{keys}])"


def _monitor_mode(monitor, mode):
    check_choice("mode", mode, ("auto", "min", "max"))
    if mode == "auto":
        mode = "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
    return mode


def _improves(value, reference, mode, min_delta=0.0):
    """Whether ``value`` beats ``reference`` by more than ``min_delta`` in direction ``mode``."""
    if mode == "min":
        return value < reference - min_delta
    return value > reference + min_delta


def _set_learning_rate(optimizer, value):
    """Set a float learning rate; like Keras, refuse to overwrite a schedule."""
    if callable(optimizer.learning_rate):
        raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                        "`learning_rate` constructor argument, hence its learning rate is not "
                        "settable. If you need the learning rate to be settable, you should "
                        "instantiate the optimizer with a float `learning_rate` argument.")
    optimizer.learning_rate = value


def _monitored(logs, monitor, who):
    value = (logs or {}).get(monitor)
    if value is None:
        available = ", ".join(sorted(logs or {})) or "none"
        raise ValueError(f"{who}: monitor={monitor!r} is not in the epoch logs; available: "
                         f"{available}. (val_* values need validation_data or validation_split.)")
    return float(value)


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    An epoch improves when its value beats the best so far by more than ``min_delta``.
    With ``restore_best_weights=True`` the weights of the best epoch are put back when
    training ends. ``stopped_epoch`` (0-based) and ``best_epoch`` record what happened.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, restore_best_weights=False,
                 mode="auto", baseline=None, verbose=0):
        self.monitor = monitor
        self.patience = check_non_negative("patience", patience, integer=True)
        self.min_delta = abs(check_number("min_delta", min_delta))
        self.restore_best_weights = bool(restore_best_weights)
        self.mode = _monitor_mode(monitor, mode)
        self.baseline = None if baseline is None else check_number("baseline", baseline)
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "EarlyStopping")
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if _improves(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or _improves(current, self.baseline, self.mode, self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model at the end of each epoch, or only when ``monitor`` improves.

    ``filepath`` may hold format fields filled from the epoch (1-based) and the logs, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.npz"``. Files are written atomically by
    ``Sequential.save``. ``saved_epochs`` lists the 0-based epochs that wrote a file and
    ``best_epoch`` the last of them.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto", verbose=0):
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"filepath must be a str or path; got {type(filepath).__name__}.")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.save_best_only = bool(save_best_only)
        self.mode = _monitor_mode(monitor, mode)
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.saved_epochs = []
        self.best_epoch = None
        self.last_path = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if not _improves(current, self.best, self.mode):
                return
            self.best = current
        path = self.filepath.format(epoch=epoch + 1, **logs)
        self.model.save(path)
        self.saved_epochs.append(epoch)
        self.best_epoch = epoch
        self.last_path = path
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved model to {path}")


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving.

    After ``patience`` epochs without an improvement larger than ``min_delta`` the rate is
    reduced (never below ``min_lr``). Then ``cooldown`` epochs pass with the wait held at 0;
    the epoch in which the cooldown runs out counts again, as in Keras. With ``patience=1``
    and ``cooldown=2`` a plateau is cut at epochs 1, 3, 5, ...
    ``reductions`` lists ``(epoch, old_lr, new_lr)`` for every time it fired. An optimizer
    whose learning rate is a schedule cannot be reduced: a TypeError says so (Keras's).
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_lr=0.0, cooldown=0,
                 min_delta=1e-4, mode="auto", verbose=0):
        self.monitor = monitor
        self.factor = check_number("factor", factor, low=0.0, high=1.0, low_inclusive=False,
                                   high_inclusive=False)
        self.patience = check_non_negative("patience", patience, integer=True)
        self.min_lr = check_non_negative("min_lr", min_lr)
        self.cooldown = check_non_negative("cooldown", cooldown, integer=True)
        self.min_delta = check_non_negative("min_delta", min_delta)
        self.mode = _monitor_mode(monitor, mode)
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.reductions = []

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        optimizer = self.model.optimizer
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if _improves(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.current_learning_rate)
                if old_lr > self.min_lr:
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    _set_learning_rate(optimizer, new_lr)
                    self.reductions.append((epoch, old_lr, new_lr))
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr:.3g}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from ``schedule(epoch, lr)``.

    ``schedule`` is a function of ``(epoch, lr)`` or of ``epoch`` alone (0-based epoch), or a
    ``course_lib.schedules`` object, which is then called with the epoch. The optimizer's
    learning rate must be a number: a schedule there is a TypeError (Keras's), since the
    two would fight over the rate.
    """

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise TypeError(f"schedule must be callable; got {type(schedule).__name__}.")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            lr = self.schedule(epoch, float(optimizer.current_learning_rate))
        except TypeError:
            lr = self.schedule(epoch)
        lr = float(np.asarray(lr))
        check_positive("learning rate returned by the schedule", lr)
        _set_learning_rate(optimizer, lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr:.3g}.")


class ProgressBar(Callback):
    """A tqdm progress bar over the epochs, showing the latest logs (the default of ``fit``).

    In a notebook it is a widget (``tqdm.auto``); in a terminal, a text bar on stderr.
    """

    def __init__(self, epochs=None):
        self.epochs = epochs
        self.bar = None

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm
        self.bar = tqdm(total=self.epochs, unit="epoch", desc="training", leave=True,
                        dynamic_ncols=True)

    def on_epoch_end(self, epoch, logs=None):
        shown = {k: f"{v:.4g}" for k, v in (logs or {}).items() if k != "learning_rate"}
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
