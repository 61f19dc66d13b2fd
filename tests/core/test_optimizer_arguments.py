"""Keras 3's common optimizer arguments: ``weight_decay``, ``clipnorm``, ``clipvalue``,
``global_clipnorm``, and ``AdamW`` (Keras's own numbers are in test_keras_oracle.py)."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib import optimizers
from course_lib.optimizers import SGD, Adam, AdamW


# -- Keras 3's common arguments: weight decay and gradient clipping -------------------------

def test_clipping_by_norm_value_and_global_norm_follow_their_formulas():
    g = [np.array([3.0, 4.0]), np.array([0.0, 12.0])]          # norms 5 and 12, joint 13
    by_norm = SGD(clipnorm=6.0).clip_gradients(g)
    np.testing.assert_allclose(by_norm[0], [3.0, 4.0])          # under the limit: unchanged
    np.testing.assert_allclose(by_norm[1], [0.0, 6.0])          # rescaled to norm 6
    by_value = SGD(clipvalue=3.5).clip_gradients(g)
    np.testing.assert_allclose(by_value[0], [3.0, 3.5])         # the direction changes
    by_global = SGD(global_clipnorm=6.5).clip_gradients(g)
    np.testing.assert_allclose(by_global[0], [1.5, 2.0])        # all scaled by 6.5 / 13
    np.testing.assert_allclose(by_global[1], [0.0, 6.0])
    assert g[1][1] == 12.0                                       # the inputs are not modified


def test_weight_decay_is_decoupled_from_the_gradient():
    w = np.array([1.0, -2.0])
    SGD(learning_rate=0.1, weight_decay=0.5).step([w], [np.zeros(2)])
    np.testing.assert_allclose(w, [1.0 - 0.05, -2.0 + 0.1])     # w -= w * wd * lr
    # Under plain SGD it equals an l2 penalty of strength wd / 2 (gradient wd * w) ...
    a, b = np.array([1.0, -2.0]), np.array([1.0, -2.0])
    SGD(0.1, weight_decay=0.5).step([a], [np.array([0.3, 0.3])])
    SGD(0.1).step([b], [np.array([0.3, 0.3]) + 0.5 * b])
    np.testing.assert_allclose(a, b)
    # ... under Adam it does not: the penalty's gradient is rescaled like any gradient.
    a, b = np.array([1.0, -2.0]), np.array([1.0, -2.0])
    AdamW(0.1, weight_decay=0.5).step([a], [np.array([0.3, 0.3])])
    Adam(0.1).step([b], [np.array([0.3, 0.3]) + 0.5 * b])
    assert np.abs(a - b).max() > 1e-3


@pytest.mark.parametrize("kwargs, message", [
    ({"clipnorm": 1.0, "clipvalue": 1.0}, "Only one of `clipnorm`, `clipvalue` and `global_clipnorm`"),
    ({"clipnorm": 1.0, "global_clipnorm": 1.0}, "Only one of"),
    ({"clipnorm": -1.0}, "clipnorm"),
    ({"clipvalue": 0.0}, "clipvalue"),
    ({"global_clipnorm": float("nan")}, "global_clipnorm"),
    ({"weight_decay": -0.1}, "weight_decay"),
])
def test_common_arguments_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Adam(**kwargs)


def test_adamw_is_adam_with_weight_decay_by_default():
    assert AdamW().weight_decay == 0.004 and Adam().weight_decay is None
    assert isinstance(optimizers.get("adamw"), AdamW)
    with pytest.raises(ValueError, match="weight_decay must be a positive number for AdamW"):
        AdamW(weight_decay=None)


def test_a_model_clips_each_weight_array_by_its_own_norm():
    # clipnorm is per array (Keras); the model hands the optimizer its arrays one by one.
    from course_lib.layers import Dense
    from course_lib.model import Sequential

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)), rng.integers(0, 3, size=16)
    model = Sequential([Dense(5, activation="relu"), Dense(3, activation="softmax")], seed=0,
                       dtype="float64")
    model.compile(SGD(0.5, clipnorm=0.01), "sparse_categorical_crossentropy")
    model.build(4)
    before = [w.copy() for w in model.trainable_weights]
    model.train_on_batch(x, y)
    steps = [np.linalg.norm(w - b) for w, b in zip(model.trainable_weights, before)]
    np.testing.assert_allclose(steps, 0.5 * 0.01, rtol=1e-9)    # each array moved lr * clipnorm
