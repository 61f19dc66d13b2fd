"""Layers, regularizers and constraints: float64 gradient checks of every layer (in training
and inference mode where they differ), every activation and every loss; the statistics of
dropout, alpha dropout, batch and layer normalization; weight penalties and max-norm."""
import json

import numpy as np
import pytest

from course_lib import activations, checks, constraints, layers, losses, regularizers
from course_lib import normalization
from course_lib.layers import (Activation, AlphaDropout, BatchNormalization, Dense, Dropout, Layer,
                               LayerNormalization)
from course_lib.model import Sequential

TOL = 1e-7


def inputs(shape=(8, 5), seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def assert_gradients_ok(layer, x, training=False):
    errors = checks.gradient_check_layer(layer, x, training=training, seed=3)
    assert set(errors) == {"input", *layer.param_names}
    assert max(errors.values()) < TOL, errors


def trained_batch_norm(**kwargs):
    """A float64 BatchNormalization with non-trivial gamma, beta and moving statistics."""
    rng = np.random.default_rng(11)
    bn = BatchNormalization(momentum=0.5, **kwargs)
    bn.build(5, rng, dtype=np.float64)
    bn.gamma[:] = rng.uniform(0.5, 2.0, size=5)
    bn.beta[:] = rng.normal(size=5)
    bn.forward(3 * rng.normal(size=(16, 5)) + 1, training=True)
    return bn


# ============================================================================ gradient checks

@pytest.mark.parametrize("activation", activations.NAMES)
def test_dense_gradients_for_every_activation(activation):
    assert_gradients_ok(Dense(4, activation=activation), inputs())


def test_dense_without_bias_and_with_penalties():
    assert_gradients_ok(Dense(4, use_bias=False, activation="tanh"), inputs())
    assert_gradients_ok(Dense(4, activation="relu", kernel_regularizer=regularizers.l1_l2(0.03, 0.05)),
                        inputs())


@pytest.mark.parametrize("activation", activations.NAMES)
def test_activation_layer_gradients(activation):
    assert_gradients_ok(Activation(activation), inputs())


@pytest.mark.parametrize("layer_class", [Dropout, AlphaDropout])
@pytest.mark.parametrize("training", [False, True])
def test_dropout_gradients(layer_class, training):
    assert_gradients_ok(layer_class(0.4), inputs(), training=training)


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("options", [{}, {"center": False}, {"scale": False}])
def test_batch_normalization_gradients(training, options):
    bn = trained_batch_norm(**options)
    moving = bn.get_state()
    assert_gradients_ok(bn, inputs(), training=training)
    for before, after in zip(moving, bn.state):  # the check leaves the moving statistics alone
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("loss", [
    losses.MeanSquaredError(),
    losses.BinaryCrossentropy(), losses.BinaryCrossentropy(from_logits=True),
    losses.CategoricalCrossentropy(), losses.CategoricalCrossentropy(from_logits=True),
    losses.SparseCategoricalCrossentropy(), losses.SparseCategoricalCrossentropy(from_logits=True),
], ids=repr)
def test_loss_gradients(loss):
    rng = np.random.default_rng(5)
    z = rng.normal(size=(6, 4))
    labels = rng.integers(0, 4, size=6)
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        y = labels
    elif isinstance(loss, losses.CategoricalCrossentropy):
        y = np.eye(4)[labels]
    elif isinstance(loss, losses.BinaryCrossentropy):
        y = (rng.random((6, 4)) < 0.5).astype(float)
    else:
        y = rng.normal(size=(6, 4))
    if loss.output_activation == "softmax":
        y_pred = activations.softmax(z)
    elif loss.output_activation == "sigmoid":
        y_pred = activations.sigmoid(z)
    else:
        y_pred = z
    assert checks.gradient_check_loss(loss, y, y_pred) < TOL


def test_the_checker_catches_a_wrong_backward():
    class DropoutForgettingTheMask(Dropout):
        def backward(self, grad_out):
            return grad_out

    class BatchNormIgnoringBatchStatistics(BatchNormalization):
        def backward(self, grad_out):
            self.training = False  # uses the inference formula for a training pass
            return super().backward(grad_out)

    x = inputs()
    assert checks.gradient_check_layer(DropoutForgettingTheMask(0.4), x, training=True)["input"] > 1e-2
    assert checks.gradient_check_layer(BatchNormIgnoringBatchStatistics(), x, training=True)["input"] > 1e-2


def test_gradient_check_needs_float64():
    layer = Dense(3)
    layer.build(5, np.random.default_rng(0), dtype=np.float32)
    with pytest.raises(ValueError, match="float64"):
        checks.gradient_check_layer(layer, inputs())


def test_rel_error_and_numerical_gradient():
    assert checks.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert checks.rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    x = np.array([1.0, -2.0, 3.0])
    original = x.copy()
    grad = checks.numerical_gradient(lambda v: np.sum(v ** 3), x)
    np.testing.assert_allclose(grad, 3 * original ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, original)  # restored


# ============================================================================ Dense

def test_dense_forward_is_affine_then_activation():
    x = inputs((4, 3))
    layer = Dense(2, activation="tanh", seed=0)
    y = layer.forward(x)
    assert layer.kernel.shape == (3, 2) and layer.bias.shape == (2,)
    assert layer.params[0] is layer.kernel and layer.params[1] is layer.bias
    np.testing.assert_allclose(y, np.tanh(x @ layer.kernel + layer.bias))
    assert layer.output_dim(3) == 2


def test_dense_builds_from_first_input_and_keeps_float32():
    layer = Dense(3, activation="relu", seed=0)
    x32 = inputs((4, 5)).astype(np.float32)
    y = layer.forward(x32)
    assert layer.built and layer.input_dim == 5
    assert y.dtype == np.float32 and layer.kernel.dtype == np.float32
    grad_in = layer.backward(np.ones_like(y))
    assert grad_in.dtype == np.float32 and all(g.dtype == np.float32 for g in layer.grads)
    assert Dense(2).forward(np.ones((2, 3), dtype=int)).dtype == np.float64


def test_dense_seed_and_model_generator():
    a, b = Dense(4, seed=7), Dense(4, seed=7)
    a.forward(np.ones((1, 3)))
    b.build(3, np.random.default_rng(123))  # its own seed wins over the model's generator
    np.testing.assert_array_equal(a.kernel, b.kernel)
    c, d = Dense(4), Dense(4)
    c.build(3, np.random.default_rng(5))
    d.build(3, np.random.default_rng(5))
    np.testing.assert_array_equal(c.kernel, d.kernel)


def test_backward_fills_grads_in_place():
    layer = Dense(3, activation="relu")
    x = inputs((6, 4))
    y = layer.forward(x)
    grads_before = [id(g) for g in layer.grads]
    layer.backward(np.ones_like(y))
    layer.forward(2 * x)
    layer.backward(np.ones_like(y))
    assert [id(g) for g in layer.grads] == grads_before
    for p, g in zip(layer.params, layer.grads):
        assert p.shape == g.shape


@pytest.mark.parametrize("activation, loss, y", [
    ("softmax", losses.CategoricalCrossentropy(), np.eye(3)[[0, 2, 1, 1]]),
    ("softmax", losses.SparseCategoricalCrossentropy(), np.array([0, 2, 1, 1])),
    ("sigmoid", losses.BinaryCrossentropy(), np.array([[1.0, 0, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0]])),
])
def test_fused_output_gradient_equals_the_full_chain(activation, loss, y):
    x = inputs((4, 5))
    for layer, pre in [(Dense(3, activation=activation, seed=1), None),
                       (Activation(activation), Dense(3, seed=1))]:
        h = x if pre is None else pre.forward(x)
        y_hat = layer.forward(h)
        assert layer.activation == loss.output_activation
        full = layer.backward(loss.gradient(y, y_hat))
        full_grads = [g.copy() for g in layer.grads]
        fused = layer.pre_activation_backward(loss.fused_gradient(y, y_hat))
        np.testing.assert_allclose(fused, full, rtol=1e-9, atol=1e-12)
        for g_fused, g_full in zip(layer.grads, full_grads):
            np.testing.assert_allclose(g_fused, g_full, rtol=1e-9, atol=1e-12)


def test_a_first_dense_layer_skips_only_the_input_gradient():
    x, g = inputs((6, 4)), inputs((6, 3), seed=1)
    layer = Dense(3, activation="relu", seed=0)
    layer.forward(x)
    assert layer.backward(g) is not None
    grads = [a.copy() for a in layer.grads]
    layer.needs_input_gradient = False  # what a model sets on its first layer
    assert layer.backward(g) is None
    for a, b in zip(layer.grads, grads):
        np.testing.assert_array_equal(a, b)
    model = Sequential([Dense(3), Dense(2)]).build(4)
    assert [layer.needs_input_gradient for layer in model.layers] == [False, True]


@pytest.mark.parametrize("layer", [Dropout(0.3, seed=0), BatchNormalization(), LayerNormalization(),
                                   Layer()],
                         ids=lambda layer: type(layer).__name__)
def test_layers_without_activation_start_backward_from_their_output(layer):
    # Without an activation the pre-activation is the output: the two entry points agree.
    x = inputs((6, 4))
    layer.forward(x, training=True)
    g = inputs((6, 4), seed=1)
    assert layer.activation == "linear"
    np.testing.assert_array_equal(layer.pre_activation_backward(g), layer.backward(g))


@pytest.mark.parametrize("layer", [
    Dense(3, activation="relu", kernel_initializer="he_normal", kernel_regularizer=regularizers.l2(0.1),
          kernel_constraint=constraints.max_norm(1.5), seed=4),
    Dense(2, use_bias=False),
    Activation("selu"), Dropout(0.25, seed=1), AlphaDropout(0.1),
    BatchNormalization(momentum=0.9, epsilon=1e-5, center=False),
    LayerNormalization(axis=[-1], epsilon=1e-5, scale=False),
], ids=repr)
def test_config_round_trip(layer):
    config = json.loads(json.dumps(layer.get_config()))
    clone = type(layer)(**config)
    assert clone.get_config() == layer.get_config()


# ============================================================================ Dropout

def test_inverted_dropout_keeps_the_expected_activation():
    x = np.ones((2000, 50))
    layer = Dropout(0.3, seed=0)
    y = layer.forward(x, training=True)
    assert y.mean() == pytest.approx(1.0, abs=0.01)
    assert np.mean(y == 0) == pytest.approx(0.3, abs=0.01)
    np.testing.assert_allclose(y[y != 0], 1 / 0.7)
    np.testing.assert_array_equal(layer.mask, y)  # x is all ones
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    assert layer.mask is None
    np.testing.assert_array_equal(Dropout(0.0).forward(x, training=True), x)


def test_dropout_masks_differ_between_steps_but_repeat_with_the_seed():
    x = np.ones((10, 10))
    layer = Dropout(0.5, seed=3)
    first = layer.forward(x, training=True)
    second = layer.forward(x, training=True)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(Dropout(0.5, seed=3).forward(x, training=True), first)


def test_alpha_dropout_keeps_selu_mean_and_variance():
    x = activations.selu(np.random.default_rng(0).standard_normal((2000, 100)))  # mean 0, var 1
    rate = 0.3
    y = AlphaDropout(rate, seed=1).forward(x, training=True)
    assert y.mean() == pytest.approx(x.mean(), abs=0.02)
    assert y.var() == pytest.approx(x.var(), abs=0.03)
    # Plain dropout does not: the variance grows to about 1 / (1 - rate).
    assert Dropout(rate, seed=1).forward(x, training=True).var() > 1.3


def test_alpha_dropout_values_by_hand():
    rate = 0.2
    alpha_p = -1.0507009873554805 * 1.6732632423543772
    a = 1 / np.sqrt((1 - rate) * (1 + rate * alpha_p ** 2))
    b = -a * alpha_p * rate
    x = inputs((50, 20))
    layer = AlphaDropout(rate, seed=2)
    y = layer.forward(x, training=True)
    kept = layer.mask
    assert kept.dtype == bool and 0.7 < kept.mean() < 0.9
    np.testing.assert_allclose(y[kept], a * x[kept] + b)
    np.testing.assert_allclose(y[~kept], a * alpha_p + b)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


# ============================================================================ BatchNormalization

def test_batch_norm_normalizes_the_batch():
    rng = np.random.default_rng(0)
    x = 5 * rng.normal(size=(64, 3)) + np.array([10.0, -3.0, 0.5])
    bn = BatchNormalization()
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    var = ((x - x.mean(axis=0)) ** 2).mean(axis=0)  # biased batch variance
    np.testing.assert_allclose(y.var(axis=0), var / (var + 1e-3), rtol=1e-10)
    assert y.var(axis=0) == pytest.approx(np.ones(3), abs=1e-3)


def test_batch_norm_moving_averages_follow_the_keras_formula():
    rng = np.random.default_rng(1)
    x1 = rng.normal(2.0, 3.0, size=(32, 4))
    x2 = rng.normal(-1.0, 0.5, size=(32, 4))
    bn = BatchNormalization(momentum=0.9)
    bn.forward(x1, training=True)
    bn.forward(x2, training=True)
    mean1, mean2 = x1.sum(axis=0) / 32, x2.sum(axis=0) / 32
    var1 = ((x1 - mean1) ** 2).sum(axis=0) / 32
    var2 = ((x2 - mean2) ** 2).sum(axis=0) / 32
    expected_mean = (0.0 * 0.9 + mean1 * 0.1) * 0.9 + mean2 * 0.1
    expected_var = (1.0 * 0.9 + var1 * 0.1) * 0.9 + var2 * 0.1
    np.testing.assert_allclose(bn.moving_mean, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(bn.moving_variance, expected_var, rtol=1e-12)
    # Inference uses (and does not change) the moving statistics.
    bn.gamma[:] = 2.0
    bn.beta[:] = 0.5
    x3 = rng.normal(size=(5, 4))
    y = bn.forward(x3, training=False)
    np.testing.assert_allclose(y, 2.0 * (x3 - expected_mean) / np.sqrt(expected_var + 1e-3) + 0.5)
    np.testing.assert_allclose(bn.moving_mean, expected_mean, rtol=1e-12)


def test_batch_norm_state_save_and_restore():
    bn = trained_batch_norm()
    saved = bn.get_state()
    arrays = [id(s) for s in bn.state]
    assert bn.state[0] is bn.moving_mean and bn.state[1] is bn.moving_variance
    bn.forward(inputs((10, 5)), training=True)
    bn.set_state(saved)
    assert [id(s) for s in bn.state] == arrays
    np.testing.assert_array_equal(bn.moving_mean, saved[0])
    assert bn.param_names == ["gamma", "beta"]
    no_beta = BatchNormalization(center=False)
    no_beta.build(3, np.random.default_rng(0))
    assert no_beta.param_names == ["gamma"] and no_beta.params == [no_beta.gamma]


def test_bias_before_batch_norm_gets_no_gradient():
    # BN subtracts the batch mean, so a bias added before it cancels: its gradient is 0.
    x = inputs((16, 4))
    dense, bn = Dense(6, seed=0), BatchNormalization()
    out = bn.forward(dense.forward(x), training=True)
    grad = np.random.default_rng(1).normal(size=out.shape)
    dense.backward(bn.backward(grad))
    assert np.abs(dense.grad_bias).max() < 1e-12
    assert np.abs(dense.grad_kernel).max() > 1e-2


# ============================================================================ LayerNormalization

def trained_layer_norm(**kwargs):
    """A float64 LayerNormalization with non-trivial gamma and beta."""
    rng = np.random.default_rng(12)
    ln = LayerNormalization(**kwargs)
    ln.build(5, rng, dtype=np.float64)
    ln.gamma[:] = rng.uniform(0.5, 2.0, size=5)
    ln.beta[:] = rng.normal(size=5)
    return ln


@pytest.mark.parametrize("kwargs", [{}, {"center": False}, {"scale": False},
                                    {"center": False, "scale": False}, {"epsilon": 1e-5}], ids=repr)
@pytest.mark.parametrize("training", [False, True])
def test_layer_norm_gradients(kwargs, training):
    # Scaled, shifted inputs: x_hat must not be close to x, or a wrong mean term could pass.
    x = 3 * inputs((6, 5)) + np.array([4.0, -1.0, 0.0, 2.0, 7.0])
    assert_gradients_ok(trained_layer_norm(**kwargs), x, training=training)


def test_layer_norm_normalizes_each_example():
    rng = np.random.default_rng(0)
    x = 5 * rng.normal(size=(7, 16)) + rng.normal(scale=10, size=(7, 1))
    y = LayerNormalization().forward(x)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    var = ((x - x.mean(axis=1, keepdims=True)) ** 2).mean(axis=1)  # population variance
    np.testing.assert_allclose(y.var(axis=1), var / (var + 1e-3), rtol=1e-10)
    # ... and not each feature over the batch: that is batch normalization
    assert np.abs(y.mean(axis=0)).max() > 0.1


def test_layer_norm_is_the_same_at_training_and_inference_and_for_any_batch():
    ln = trained_layer_norm()
    x = inputs((12, 5), seed=4)
    y = ln.forward(x, training=True)
    np.testing.assert_array_equal(ln.forward(x, training=False), y)
    for start, stop in [(0, 1), (3, 5), (4, 12)]:
        np.testing.assert_allclose(ln.forward(x[start:stop], training=True), y[start:stop],
                                   rtol=1e-14, atol=1e-14)
    # Nothing to save: no moving statistics.
    assert ln.state == [] and ln.get_state() == []
    # Batch normalization in training mode, for contrast, mixes the examples.
    bn = BatchNormalization()
    assert not np.allclose(bn.forward(x[:3], training=True), bn.forward(x, training=True)[:3])


def test_layer_norm_parameters_follow_center_and_scale():
    ln = trained_layer_norm()
    assert ln.param_names == ["gamma", "beta"] and ln.params == [ln.gamma, ln.beta]
    assert ln.gamma.shape == ln.beta.shape == (5,)
    no_gamma = LayerNormalization(scale=False)
    no_gamma.build(3, np.random.default_rng(0))
    assert no_gamma.param_names == ["beta"]
    np.testing.assert_array_equal(no_gamma.gamma, np.ones(3))


@pytest.mark.parametrize("axis", [1, [-1], (1,)])
def test_layer_norm_accepts_the_features_axis_spelled_as_keras_allows(axis):
    x = inputs((4, 5))
    np.testing.assert_array_equal(LayerNormalization(axis=axis).forward(x),
                                  LayerNormalization().forward(x))


@pytest.mark.parametrize("kwargs, words", [
    ({"axis": 0}, "axis"), ({"axis": [0, 1]}, "axis"), ({"axis": 2}, "axis"), ({"axis": "features"}, "axis"),
    ({"axis": True}, "axis"), ({"epsilon": 0}, "epsilon"), ({"center": 1}, "center"), ({"scale": None}, "scale"),
])
def test_layer_norm_rejects_bad_arguments_by_name(kwargs, words):
    with pytest.raises((ValueError, TypeError), match=words):
        LayerNormalization(**kwargs)


def test_both_normalization_layers_are_names_of_the_layers_module(tmp_path):
    from course_lib.saving import load_model, save_model
    assert layers.LayerNormalization is normalization.LayerNormalization
    assert layers.BatchNormalization is normalization.BatchNormalization
    model = Sequential([Dense(6), LayerNormalization(epsilon=1e-4), BatchNormalization(),
                        Dense(3, activation="softmax")], seed=0).build(4)
    model.layers[1].gamma[:] = np.linspace(0.5, 1.5, 6)
    save_model(model, tmp_path / "model")
    clone = load_model(tmp_path / "model")
    assert type(clone.layers[1]) is LayerNormalization
    assert clone.layers[1].get_config() == model.layers[1].get_config()
    x = inputs((5, 4))
    np.testing.assert_allclose(clone.predict(x), model.predict(x), rtol=1e-12)


# ============================================================================ penalties, max-norm

def test_regularizer_penalties_by_hand():
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert regularizers.l1(0.1)(w) == pytest.approx(0.1 * 3.5)
    assert regularizers.l2(0.1)(w) == pytest.approx(0.1 * 5.25)
    assert regularizers.l1_l2(0.1, 0.2)(w) == pytest.approx(0.1 * 3.5 + 0.2 * 5.25)
    np.testing.assert_allclose(regularizers.l1(0.1).gradient(w), 0.1 * np.array([[1, -1], [1, 0]]))
    np.testing.assert_allclose(regularizers.l2(0.1).gradient(w), 0.2 * w)


@pytest.mark.parametrize("reg", [regularizers.l1(0.3), regularizers.l2(0.3), regularizers.l1_l2(0.2, 0.4)],
                         ids=repr)
def test_regularizer_gradient_matches_finite_differences(reg):
    w = np.random.default_rng(0).normal(size=(4, 3))
    assert checks.rel_error(reg.gradient(w), checks.numerical_gradient(reg, w.copy())) < TOL


def test_dense_adds_the_penalty_to_loss_and_gradient():
    x = inputs((6, 4))
    g = np.random.default_rng(2).normal(size=(6, 3))
    plain = Dense(3, seed=0)
    penalized = Dense(3, seed=0, kernel_regularizer=regularizers.l2(0.1))
    for layer in (plain, penalized):
        layer.forward(x)
        layer.backward(g)
    w = penalized.kernel
    assert penalized.regularization_loss() == pytest.approx(0.1 * np.sum(w ** 2))
    np.testing.assert_allclose(penalized.grad_kernel, plain.grad_kernel + 0.2 * w)
    np.testing.assert_allclose(penalized.grad_bias, plain.grad_bias)
    assert plain.regularization_loss() == 0.0
    for layer in (Activation("relu"), Dropout(0.5), BatchNormalization()):
        assert layer.regularization_loss() == 0.0


def test_max_norm_rescales_only_long_columns():
    layer = Dense(3, kernel_constraint=constraints.max_norm(2.0), seed=0)
    layer.build(2, np.random.default_rng(0))
    kernel = layer.kernel
    kernel[:] = [[3.0, 0.5, 0.0], [4.0, 0.5, 0.0]]  # column norms 5, 0.71, 0
    layer.apply_constraints()
    assert layer.kernel is kernel  # constrained in place
    np.testing.assert_allclose(kernel[:, 0], [3.0 * 2 / 5, 4.0 * 2 / 5])
    np.testing.assert_array_equal(kernel[:, 1:], [[0.5, 0.0], [0.5, 0.0]])
    np.testing.assert_allclose(np.linalg.norm(kernel, axis=0), [2.0, np.sqrt(0.5), 0.0])


def test_max_norm_axis():
    w = np.array([[3.0, 4.0], [0.1, 0.0]])
    np.testing.assert_allclose(constraints.max_norm(1.0, axis=1)(w), [[0.6, 0.8], [0.1, 0.0]])
    w32 = w.astype(np.float32)
    assert constraints.max_norm(1.0)(w32).dtype == np.float32


def test_default_layers_have_no_constraints_or_state():
    for layer in (Dense(2), Activation("relu"), Dropout(0.1), AlphaDropout(0.1)):
        layer.forward(np.ones((2, 3)))
        layer.apply_constraints()  # no-op
        assert layer.state == [] and layer.get_state() == []
    assert isinstance(layers.Layer().forward(np.ones((2, 3))), np.ndarray)


@pytest.mark.parametrize("layer", [Dense(3, activation="elu"), Activation("sigmoid"), Dropout(0.5),
                                   AlphaDropout(0.5), BatchNormalization(), LayerNormalization()],
                         ids=repr)
@pytest.mark.parametrize("training", [False, True])
def test_float32_layers_compute_in_float32(layer, training):
    layer.build(4, np.random.default_rng(0), dtype=np.float32)
    y = layer.forward(inputs((6, 4)), training=training)  # float64 input is cast to the layer's dtype
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads)
