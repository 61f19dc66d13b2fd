"""Losses: naive formulas where they are finite, stability where they are not, from_logits
equivalence, the fused gradient y_hat - y, and label checks."""
import warnings

import numpy as np
import pytest

from course_lib import losses
from course_lib.checks import numerical_gradient, rel_error


def softmax_by_hand(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid_by_hand(z):
    return 1 / (1 + np.exp(-z))


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 4))
    labels = np.array([0, 3, 1, 1, 2, 0])
    onehot = np.eye(4)[labels]
    return z, labels, onehot


# ----------------------------------------------------------------------------- values

def test_mse_matches_formula():
    y = np.array([[1.0, 2.0], [3.0, 4.0]])
    p = np.array([[1.5, 2.0], [2.0, 6.0]])
    assert losses.MeanSquaredError()(y, p) == pytest.approx((0.25 + 0 + 1 + 4) / 4)


def test_mse_accepts_column_and_flat_targets():
    y = np.array([1.0, 2.0, 3.0])
    p = np.array([[1.0], [2.5], [2.0]])
    mse = losses.MeanSquaredError()
    assert mse(y, p) == pytest.approx((0 + 0.25 + 1) / 3)
    assert mse.gradient(y, p).shape == (3, 1)


def test_binary_crossentropy_matches_formula():
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    p = np.array([[0.9], [0.2], [0.4], [0.6]])
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert losses.BinaryCrossentropy()(y, p) == pytest.approx(expected, rel=1e-12)


def test_categorical_and_sparse_match_formula(batch):
    z, labels, onehot = batch
    p = softmax_by_hand(z)
    expected = -np.mean(np.log(p[np.arange(6), labels]))
    assert losses.CategoricalCrossentropy()(onehot, p) == pytest.approx(expected, rel=1e-12)
    assert losses.SparseCategoricalCrossentropy()(labels, p) == pytest.approx(expected, rel=1e-12)
    assert losses.SparseCategoricalCrossentropy()(labels[:, None], p) == pytest.approx(expected, rel=1e-12)
    assert losses.SparseCategoricalCrossentropy()(labels.astype(float), p) == pytest.approx(expected, rel=1e-12)


def test_from_logits_equals_probabilities(batch):
    z, labels, onehot = batch
    cce = losses.CategoricalCrossentropy()(onehot, softmax_by_hand(z))
    assert losses.CategoricalCrossentropy(from_logits=True)(onehot, z) == pytest.approx(cce, rel=1e-12)
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(labels, z) == pytest.approx(cce, rel=1e-12)
    y = (z > 0).astype(float)
    bce = losses.BinaryCrossentropy()(y, sigmoid_by_hand(z))
    assert losses.BinaryCrossentropy(from_logits=True)(y, z) == pytest.approx(bce, rel=1e-12)


# ----------------------------------------------------------------------------- stability

def test_huge_logits_are_exact_and_silent():
    z = np.array([[1000.0, 0.0, -1000.0], [0.0, 5000.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Correct class far ahead: loss 0. Wrong class ahead by 1000 / 5000: that much loss.
        assert losses.SparseCategoricalCrossentropy(from_logits=True)([0, 1], z) == pytest.approx(0.0, abs=1e-12)
        assert losses.SparseCategoricalCrossentropy(from_logits=True)([1, 0], z) == pytest.approx((1000 + 5000) / 2)
        assert losses.CategoricalCrossentropy(from_logits=True)(np.eye(3)[[2, 0]], z) == pytest.approx((2000 + 5000) / 2)
        bce = losses.BinaryCrossentropy(from_logits=True)
        assert bce([[1.0], [0.0]], [[-800.0], [-800.0]]) == pytest.approx(800 / 2)
        assert bce([[0.0]], [[1e5]]) == pytest.approx(1e5)
        grads = [losses.SparseCategoricalCrossentropy(from_logits=True).gradient([1, 0], z),
                 bce.gradient([[1.0], [0.0]], [[-800.0], [800.0]])]
    assert all(np.all(np.isfinite(g)) for g in grads)


def test_probabilities_of_exactly_zero_and_one_are_clipped():
    cap = -np.log(1e-7)  # 16.118...: the cost of a probability clipped at 1e-7
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert losses.CategoricalCrossentropy()([[0.0, 1.0]], [[1.0, 0.0]]) == pytest.approx(cap, rel=1e-6)
        assert losses.SparseCategoricalCrossentropy()([1], [[1.0, 0.0]]) == pytest.approx(cap, rel=1e-6)
        assert losses.BinaryCrossentropy()([[1.0], [0.0]], [[0.0], [1.0]]) == pytest.approx(cap, rel=1e-6)
        g = losses.BinaryCrossentropy().gradient([[1.0], [0.0]], [[0.0], [1.0]])
        g2 = losses.CategoricalCrossentropy().gradient([[0.0, 1.0]], [[1.0, 0.0]])
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(g2))


def test_float32_predictions_give_float32_gradients(batch):
    z, labels, onehot = batch
    z32 = z.astype(np.float32)
    p32 = softmax_by_hand(z).astype(np.float32)
    assert losses.SparseCategoricalCrossentropy().gradient(labels, p32).dtype == np.float32
    assert losses.SparseCategoricalCrossentropy().fused_gradient(labels, p32).dtype == np.float32
    assert losses.CategoricalCrossentropy(from_logits=True).gradient(onehot, z32).dtype == np.float32
    assert losses.BinaryCrossentropy().gradient(onehot, p32).dtype == np.float32
    assert losses.MeanSquaredError().gradient(onehot, z32).dtype == np.float32
    assert isinstance(losses.MeanSquaredError()(onehot, z32), float)


# ----------------------------------------------------------------------------- gradients

def test_gradients_by_hand(batch):
    z, labels, onehot = batch
    p = softmax_by_hand(z)
    n = len(z)
    np.testing.assert_allclose(losses.MeanSquaredError().gradient(onehot, z), 2 * (z - onehot) / z.size)
    np.testing.assert_allclose(losses.CategoricalCrossentropy().gradient(onehot, p), -onehot / p / n)
    np.testing.assert_allclose(losses.SparseCategoricalCrossentropy().gradient(labels, p), -onehot / p / n)
    np.testing.assert_allclose(losses.CategoricalCrossentropy(from_logits=True).gradient(onehot, z),
                               (p - onehot) / n, rtol=1e-12, atol=1e-15)
    y = (z > 0.3).astype(float)
    s = sigmoid_by_hand(z)
    np.testing.assert_allclose(losses.BinaryCrossentropy().gradient(y, s),
                               (-y / s + (1 - y) / (1 - s)) / z.size, rtol=1e-10)


def test_fused_gradient_is_y_hat_minus_y_over_batch(batch):
    z, labels, onehot = batch
    p = softmax_by_hand(z)
    expected = (p - onehot) / len(z)
    np.testing.assert_allclose(losses.CategoricalCrossentropy().fused_gradient(onehot, p), expected, rtol=1e-12)
    np.testing.assert_allclose(losses.SparseCategoricalCrossentropy().fused_gradient(labels, p), expected, rtol=1e-12)
    y = (z > 0).astype(float)
    s = sigmoid_by_hand(z)
    np.testing.assert_allclose(losses.BinaryCrossentropy().fused_gradient(y, s), (s - y) / z.size, rtol=1e-12)


@pytest.mark.parametrize("make, labels_of", [
    (losses.CategoricalCrossentropy, lambda labels, onehot: onehot),
    (losses.SparseCategoricalCrossentropy, lambda labels, onehot: labels),
])
def test_fused_gradient_is_the_derivative_with_respect_to_logits(batch, make, labels_of):
    z, labels, onehot = batch
    y = labels_of(labels, onehot)
    loss = make()
    numeric = numerical_gradient(lambda z_: loss(y, softmax_by_hand(z_)), z.copy())
    assert rel_error(loss.fused_gradient(y, softmax_by_hand(z)), numeric) < 1e-7


def test_binary_fused_gradient_is_the_derivative_with_respect_to_logits(batch):
    z, _, _ = batch
    y = (z > 0.2).astype(float)
    loss = losses.BinaryCrossentropy()
    numeric = numerical_gradient(lambda z_: loss(y, sigmoid_by_hand(z_)), z.copy())
    assert rel_error(loss.fused_gradient(y, sigmoid_by_hand(z)), numeric) < 1e-7


def test_from_logits_losses_fuse_to_their_own_gradient(batch):
    z, labels, onehot = batch
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert loss.output_activation == "linear"
    np.testing.assert_array_equal(loss.fused_gradient(labels, z), loss.gradient(labels, z))


def test_output_activations():
    assert losses.MeanSquaredError().output_activation == "linear"
    assert losses.BinaryCrossentropy().output_activation == "sigmoid"
    assert losses.CategoricalCrossentropy().output_activation == "softmax"
    assert losses.SparseCategoricalCrossentropy().output_activation == "softmax"
    assert losses.CategoricalCrossentropy(from_logits=True).output_activation == "linear"


def test_get_by_name():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("mean_squared_error"), losses.MeanSquaredError)
    assert isinstance(losses.get("binary_crossentropy"), losses.BinaryCrossentropy)
    assert isinstance(losses.get("categorical_crossentropy"), losses.CategoricalCrossentropy)
    sparse = losses.get("sparse_categorical_crossentropy")
    assert isinstance(sparse, losses.SparseCategoricalCrossentropy) and not sparse.from_logits
    assert losses.get(sparse) is sparse


# ----------------------------------------------------------------------------- bad labels

@pytest.mark.parametrize("labels, value", [([0, 4], "4"), ([-1, 0], "-1"), ([0.5, 1.0], "0.5")])
def test_sparse_labels_out_of_range(labels, value):
    p = np.full((2, 4), 0.25)
    with pytest.raises(ValueError, match="y_true") as err:
        losses.SparseCategoricalCrossentropy()(labels, p)
    assert value in str(err.value)
    with pytest.raises(ValueError, match="y_true"):
        losses.SparseCategoricalCrossentropy(from_logits=True).fused_gradient(labels, p)


def test_binary_labels_outside_unit_interval():
    with pytest.raises(ValueError, match=r"y_true.*\[0, 1\].*2\.0"):
        losses.BinaryCrossentropy()([[2.0], [0.0]], [[0.5], [0.5]])


def test_categorical_labels_that_are_not_distributions():
    p = np.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"y_true.*\[0, 1\].*1\.5"):
        losses.CategoricalCrossentropy()([[1.5, -0.5, 0.0], [1, 0, 0]], p)
    with pytest.raises(ValueError, match="sum to 1.*2.0"):
        losses.CategoricalCrossentropy()([[1, 1, 0], [1, 0, 0]], p)
