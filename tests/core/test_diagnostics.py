"""Per-layer diagnostics: the statistics are those of the layers' own outputs and gradients,
computed independently here, and the known behaviours of deep networks show in them."""
import numpy as np
import pytest

from course_lib.diagnostics import layer_statistics
from course_lib.layers import Dense, Dropout
from course_lib.model import Sequential


def model_of(layers, loss="sparse_categorical_crossentropy", seed=0):
    model = Sequential(layers, seed=seed, dtype="float64")
    model.compile("sgd", loss)
    return model


def batch(features=8, n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)), rng.integers(0, 3, size=n)


def test_forward_statistics_are_the_layers_outputs():
    x, y = batch()
    model = model_of([Dense(6, activation="relu"), Dense(5, activation="tanh"),
                      Dense(3, activation="softmax")])
    stats = layer_statistics(model, x, y)
    h1 = np.maximum(x @ model.layers[0].kernel + model.layers[0].bias, 0)
    h2 = np.tanh(h1 @ model.layers[1].kernel + model.layers[1].bias)
    assert len(stats) == 3 and len(stats.names) == 3
    np.testing.assert_allclose(stats.mean[:2], [h1.mean(), h2.mean()], rtol=1e-12)
    np.testing.assert_allclose(stats.std[:2], [h1.std(), h2.std()], rtol=1e-12)
    assert stats.zero_fraction[0] == pytest.approx(np.mean(h1 == 0))
    assert stats.zero_fraction[1] == 0.0


def test_gradients_equal_the_models_own_backward_pass():
    x, y = batch()
    model = model_of([Dense(6, activation="tanh"), Dense(4, activation="relu"),
                      Dense(3, activation="softmax")])
    stats = layer_statistics(model, x, y)
    ours = [np.linalg.norm(layer.grad_kernel) for layer in model.layers]
    # The model's own training-step gradients, for the same batch.
    y_pred = model.forward(x)
    loss, grad = model.loss_and_gradient(y, y_pred)
    model.backward(grad)
    theirs = [np.linalg.norm(layer.grad_kernel) for layer in model.layers]
    np.testing.assert_allclose(stats.kernel_gradient_norm, theirs, rtol=1e-12)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert stats.loss == pytest.approx(loss)


def test_output_gradient_of_a_hidden_layer_is_the_next_layers_input_gradient():
    x, y = batch()
    model = model_of([Dense(6, activation="tanh"), Dense(3, activation="softmax")])
    stats = layer_statistics(model, x, y)
    last = model.layers[-1]
    y_pred = model.forward(x)
    _, grad = model.loss_and_gradient(y, y_pred)
    expected = last.pre_activation_backward(grad)          # d loss / d hidden output
    assert stats.output_gradient_norm[0] == pytest.approx(np.linalg.norm(expected), rel=1e-12)


def test_parameters_are_not_changed_and_layers_without_kernel_report_zero():
    x, y = batch()
    model = model_of([Dense(6, activation="relu"), Dropout(0.5), Dense(3, activation="softmax")])
    model.build(x.shape[1])
    before = [p.copy() for p in model.params]
    stats = layer_statistics(model, x, y, training=True)
    for p, q in zip(before, model.params):
        np.testing.assert_array_equal(p, q)
    assert stats.kernel_gradient_norm[1] == 0.0
    assert 0.3 < stats.zero_fraction[1] < 0.9       # dropout zeroes outputs in training mode


def test_vanishing_sigmoid_gradients_are_measured():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((64, 50)), rng.integers(0, 3, size=64)
    model = model_of([Dense(50, activation="sigmoid") for _ in range(20)]
                     + [Dense(3, activation="softmax")])
    stats = layer_statistics(model, x, y)
    # sigmoid' <= 1/4: twenty layers shrink the gradient by many orders of magnitude
    assert stats.output_gradient_norm[0] < 1e-6 * stats.output_gradient_norm[19]


def test_rows_and_errors():
    x, y = batch()
    model = model_of([Dense(3, activation="softmax")])
    rows = layer_statistics(model, x, y).as_rows()
    assert len(rows) == 1 and set(rows[0]) >= {"layer", "mean", "std", "zero", "kernel grad norm"}
    uncompiled = Sequential([Dense(3)], seed=0)
    with pytest.raises(ValueError, match="compile"):
        layer_statistics(uncompiled, x, y)
    with pytest.raises(ValueError, match="shape"):
        layer_statistics(model, x[0], y)
