"""Callbacks against sequences of monitored values whose outcome is worked out by hand."""
import numpy as np
import pytest

from course_lib.callbacks import (EarlyStopping, LearningRateScheduler, ModelCheckpoint,
                                  ReduceLROnPlateau)
from course_lib.optimizers import SGD


class FakeModel:
    """Stands in for Sequential: weights are a counter so restoring is visible."""

    def __init__(self, lr=1.0):
        self.optimizer = SGD(lr)
        self.stop_training = False
        self.weights = [np.array([0.0])]
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]

    def save(self, path):
        self.saved.append(path)


def drive(callback, values, monitor="val_loss", model=None):
    """Run the callback through epochs whose monitored values are ``values``.

    The fake weights at the end of epoch e equal e, so restored weights tell the epoch.
    Returns the number of epochs that ran.
    """
    model = model or FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    ran = 0
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        model.weights = [np.array([float(epoch)])]
        callback.on_epoch_end(epoch, {monitor: value, "loss": value})
        ran += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return ran, model


def test_early_stopping_waits_patience_epochs_after_the_best():
    # best at epoch 1 (0.5); epochs 2, 3, 4 do not improve; patience 3 -> stops at epoch 4
    ran, model = drive(EarlyStopping(patience=3), [1.0, 0.5, 0.6, 0.55, 0.7, 0.1])
    assert ran == 5
    assert model.stop_training


def test_early_stopping_min_delta_counts_small_gains_as_no_improvement():
    values = [1.0, 0.97, 0.96, 0.955, 0.95]
    ran, _ = drive(EarlyStopping(patience=2, min_delta=0.05), values)
    # no value beats the best (1.0) by more than 0.05: the wait reaches 2 at epoch 2
    assert ran == 3
    ran, _ = drive(EarlyStopping(patience=2, min_delta=0.0), values)
    assert ran == 5


def test_early_stopping_restores_best_weights():
    callback = EarlyStopping(patience=2, restore_best_weights=True)
    ran, model = drive(callback, [1.0, 0.4, 0.6, 0.7, 0.2])
    assert ran == 4
    assert callback.best_epoch == 1
    assert model.weights[0][0] == 1.0  # the weights saved at the end of epoch 1
    _, model = drive(EarlyStopping(patience=2, restore_best_weights=False), [1.0, 0.4, 0.6, 0.7])
    assert model.weights[0][0] == 3.0


def test_early_stopping_maximises_accuracy_in_auto_mode():
    ran, _ = drive(EarlyStopping(monitor="val_accuracy", patience=1), [0.5, 0.7, 0.6, 0.9],
                   monitor="val_accuracy")
    assert ran == 3


def test_reduce_lr_on_plateau_fires_after_patience_and_respects_cooldown_and_min_lr():
    callback = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    values = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    _, model = drive(callback, values, model=FakeModel(lr=1.0))
    # epoch 0 sets best; epochs 1, 2 no gain -> fire at 2 (1.0 -> 0.5). Epoch 3 ends the
    # one-epoch cooldown and counts (wait 1); epoch 4 -> fire (0.5 -> 0.25); epoch 6 ->
    # fire (0.25 -> 0.2, min_lr); at epoch 8 the rate is already min_lr.
    assert [(e, round(o, 6), round(n, 6)) for e, o, n in callback.reductions] == [
        (2, 1.0, 0.5), (4, 0.5, 0.25), (6, 0.25, 0.2)]
    assert model.optimizer.current_learning_rate == pytest.approx(0.2)


def test_reduce_lr_on_plateau_improvement_resets_the_wait():
    callback = ReduceLROnPlateau(factor=0.1, patience=2)
    drive(callback, [1.0, 1.1, 0.9, 1.0, 1.0, 1.2])
    assert [e for e, _, _ in callback.reductions] == [4]


def test_model_checkpoint_save_best_only(tmp_path):
    callback = ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}.npz"), save_best_only=True)
    _, model = drive(callback, [1.0, 0.8, 0.9, 0.7, 0.75])
    assert callback.saved_epochs == [0, 1, 3]
    assert model.saved[-1].endswith("ckpt-04.npz")
    every = ModelCheckpoint(str(tmp_path / "all.npz"))
    drive(every, [1.0, 0.8, 0.9])
    assert every.saved_epochs == [0, 1, 2]


def test_learning_rate_scheduler_sets_rate_each_epoch():
    seen = []
    callback = LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    model = FakeModel()
    callback.set_model(model)
    for epoch in range(3):
        callback.on_epoch_begin(epoch)
        seen.append(model.optimizer.current_learning_rate)
    assert seen == pytest.approx([0.1, 0.05, 0.025])
    with pytest.raises(ValueError, match="learning rate returned by the schedule"):
        bad = LearningRateScheduler(lambda epoch: -1.0)
        bad.set_model(model)
        bad.on_epoch_begin(0)


def test_missing_monitor_is_a_clear_error():
    callback = EarlyStopping(monitor="val_loss")
    callback.set_model(FakeModel())
    callback.on_train_begin()
    with pytest.raises(ValueError, match="monitor='val_loss' is not in the epoch logs"):
        callback.on_epoch_end(0, {"loss": 1.0})


def test_invalid_arguments():
    with pytest.raises(ValueError, match="factor must be in"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match="patience must be"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode must be one of"):
        EarlyStopping(mode="largest")
