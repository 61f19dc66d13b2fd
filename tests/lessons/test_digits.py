"""The one digits training call: what ``transform`` and ``augment`` reach."""
from __future__ import annotations

import numpy as np

from course_lib.layers import Dense
from course_lib.lessons.digits import digits, train_on_digits
from course_lib.optimizers import SGD


def small_layers():
    return [Dense(10, activation="softmax")]


def test_augment_sees_the_training_set_only_and_its_result_is_trained_on():
    seen = []

    def doubled(x, y):
        seen.append((x.shape, y.shape))
        return np.concatenate([x, x]), np.concatenate([y, y])

    n_train = 64
    model, history = train_on_digits(small_layers(), SGD(0.01), epochs=2, batch_size=32,
                                     n_train=n_train, augment=doubled)
    assert seen == [((n_train, 64), (n_train,))]
    assert model.optimizer.iterations == 2 * (2 * n_train // 32)   # 4 batches per epoch
    assert len(history.history["val_loss"]) == 2


def test_augment_runs_after_transform_and_leaves_the_validation_set_alone():
    order = []

    def transform(x):
        order.append("transform")
        return x * 2.0

    def augment(x, y):
        order.append("augment")
        np.testing.assert_array_equal(x, digits(n_train=32).x_train * 2.0)
        return x, y

    _, plain = train_on_digits(small_layers(), SGD(0.01), epochs=1, n_train=32, seed=3,
                               transform=transform)
    order.clear()
    _, same = train_on_digits(small_layers(), SGD(0.01), epochs=1, n_train=32, seed=3,
                              transform=transform, augment=augment)
    assert order == ["transform", "transform", "augment"]
    # An augmentation that returns its input unchanged trains exactly as without one.
    np.testing.assert_array_equal(plain.history["val_loss"], same.history["val_loss"])
