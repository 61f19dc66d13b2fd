"""Bad arguments to activations, initializers, layers, losses, regularizers and constraints:
each error names the parameter, the value received and what is allowed."""
import numpy as np
import pytest

from course_lib import activations, constraints, initializers, losses, regularizers
from course_lib.layers import Activation, AlphaDropout, BatchNormalization, Dense, Dropout


def test_unknown_activation_names_the_value_and_the_allowed_names():
    for make in (activations.get, Activation, lambda name: Dense(3, activation=name)):
        with pytest.raises(ValueError) as err:
            make("mish")
        message = str(err.value)
        assert "activation" in message and "'mish'" in message
        assert all(repr(name) in message for name in activations.NAMES)


def test_unknown_initializer():
    with pytest.raises(ValueError) as err:
        initializers.get("xavier")
    assert "'xavier'" in str(err.value) and "'glorot_uniform'" in str(err.value)
    with pytest.raises(ValueError) as err:
        Dense(3, kernel_initializer="zero")
    message = str(err.value)
    assert "kernel_initializer" in message and "'zero'" in message and "'zeros'" in message


def test_bad_shapes_for_initializers():
    with pytest.raises(ValueError, match=r"shape.*\(3, -2\)"):
        initializers.he_normal((3, -2), np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        initializers.he_normal((3, 2), "seed")


@pytest.mark.parametrize("layer_class", [Dropout, AlphaDropout])
@pytest.mark.parametrize("rate", [1.0, 1.5, -0.1])
def test_dropout_rate_outside_unit_interval(layer_class, rate):
    with pytest.raises(ValueError) as err:
        layer_class(rate)
    message = str(err.value)
    assert "rate" in message and repr(rate) in message and "[0.0, 1.0)" in message


def test_dropout_rate_of_wrong_type():
    with pytest.raises(TypeError, match="rate"):
        Dropout("0.5")


@pytest.mark.parametrize("units", [-3, 0])
def test_dense_units_must_be_positive(units):
    with pytest.raises(ValueError) as err:
        Dense(units)
    assert "units" in str(err.value) and f"got {units}" in str(err.value)


def test_dense_units_must_be_an_integer():
    with pytest.raises(TypeError, match=r"units.*2\.5"):
        Dense(2.5)
    with pytest.raises(TypeError, match="use_bias"):
        Dense(2, use_bias="yes")
    with pytest.raises(ValueError, match="seed.*-1"):
        Dense(2, seed=-1)
    with pytest.raises(TypeError, match="seed.*'0'"):
        Dropout(0.5, seed="0")


def test_dense_input_with_wrong_number_of_features():
    layer = Dense(2)
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"3 features.*\(4, 5\)"):
        layer.forward(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(batch, features\).*\(3,\)"):
        layer.forward(np.ones(3))


def test_backward_before_forward_and_wrong_gradient_shape():
    with pytest.raises(RuntimeError, match="forward before backward"):
        Dense(2).backward(np.ones((4, 2)))
    layer = Dense(2)
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"grad_out.*\(4, 2\).*\(4, 3\)"):
        layer.backward(np.ones((4, 3)))


def test_batch_norm_arguments():
    with pytest.raises(ValueError, match=r"momentum.*1\.5"):
        BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match=r"epsilon.*got 0"):
        BatchNormalization(epsilon=0)
    with pytest.raises(TypeError, match="center"):
        BatchNormalization(center=None)


@pytest.mark.parametrize("loss", [losses.MeanSquaredError(), losses.BinaryCrossentropy(),
                                  losses.CategoricalCrossentropy()], ids=repr)
def test_losses_reject_mismatched_shapes(loss):
    with pytest.raises(ValueError) as err:
        loss(np.zeros((4, 3)), np.full((4, 2), 0.5))
    message = str(err.value)
    assert "y_true" in message and "y_pred" in message
    assert "(4, 3)" in message and "(4, 2)" in message


def test_sparse_loss_rejects_mismatched_lengths_and_one_hot_labels():
    loss = losses.SparseCategoricalCrossentropy()
    with pytest.raises(ValueError, match=r"y_true.*y_pred.*3 and 2"):
        loss([0, 1, 1], np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match=r"y_true.*\(2, 2\).*CategoricalCrossentropy"):
        loss(np.eye(2), np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match=r"y_pred.*2 dimension.*\(2,\)"):
        loss([0, 1], [0.5, 0.5])


def test_unknown_loss_and_bad_from_logits():
    with pytest.raises(ValueError) as err:
        losses.get("hinge")
    assert "'hinge'" in str(err.value) and "'mse'" in str(err.value)
    with pytest.raises(TypeError, match=r"from_logits.*'yes'"):
        losses.BinaryCrossentropy(from_logits="yes")


def test_regularizer_and_constraint_arguments():
    with pytest.raises(ValueError, match=r"\bl\b.*-0\.1"):
        regularizers.l2(-0.1)
    with pytest.raises(ValueError, match=r"l1.*-1"):
        regularizers.l1_l2(l1=-1)
    with pytest.raises(ValueError, match=r"kernel_regularizer.*'l3'"):
        Dense(2, kernel_regularizer="l3")
    with pytest.raises(ValueError, match=r"max_value.*got 0"):
        constraints.max_norm(0)
    with pytest.raises(ValueError, match=r"kernel_constraint.*'unit_norm'"):
        Dense(2, kernel_constraint="unit_norm")
