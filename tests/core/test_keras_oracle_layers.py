"""course_lib's normalization layers against Keras 3's own layers.

Keras runs on its NumPy backend (set below, before the first import of keras), as in
``test_keras_oracle.py``, which explains the two precisions: float64 with Keras's float64
arithmetic switched on (tight: any difference is a difference of equations), and float32
as Keras ships (agreement to float32 rounding). Gradients are compared with central finite
differences of Keras's float64 forward pass, so they rest on Keras's definition and not on
ours.

Keras comes from ``keras_numpy`` (its NumPy backend; an error, never a skip, under CI).
"""
import numpy as np
import pytest

from keras_numpy import IGNORE_COPY_WARNING, keras, keras_in_float64  # noqa: F401
from course_lib import checks
from course_lib.layers import BatchNormalization, LayerNormalization

pytestmark = IGNORE_COPY_WARNING

FEATURES = 6
# Non-default arguments where they exist, so that one read in the wrong place shows.
LAYER_NORMS = [{}, {"epsilon": 1e-5}, {"center": False}, {"scale": False}, {"axis": [-1]}]


def batch(dtype, n=5, seed=0):
    """Inputs whose examples have different means and spreads (what layer norm removes)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, FEATURES)) * rng.uniform(0.5, 4.0, size=(n, 1))
    return (x + rng.normal(scale=3.0, size=(n, 1))).astype(dtype)


def weights(dtype):
    rng = np.random.default_rng(1)
    return (rng.uniform(0.5, 2.0, size=FEATURES).astype(dtype),
            rng.normal(size=FEATURES).astype(dtype))


def pair(kwargs, dtype):
    """Ours and Keras's layer with the same arguments and the same gamma and beta."""
    ours = LayerNormalization(**kwargs)
    ours.build(FEATURES, np.random.default_rng(0), dtype=dtype)
    theirs = keras.layers.LayerNormalization(**kwargs, dtype=str(np.dtype(dtype)))
    theirs.build((None, FEATURES))
    gamma, beta = weights(dtype)
    if ours.scale:
        ours.gamma = gamma
        theirs.gamma.assign(gamma)
    if ours.center:
        ours.beta = beta
        theirs.beta.assign(beta)
    return ours, theirs


def keras_forward(layer, x):
    return np.asarray(layer(x, training=True))


def test_the_defaults_are_keras_defaults():
    theirs = keras.layers.LayerNormalization().get_config()
    ours = LayerNormalization().get_config()
    assert {k: theirs[k] for k in ours} == ours
    bn = keras.layers.BatchNormalization().get_config()
    assert {k: bn[k] for k in BatchNormalization().get_config()} == BatchNormalization().get_config()


@pytest.mark.parametrize("kwargs", LAYER_NORMS, ids=repr)
def test_layer_norm_forward_float64(kwargs, keras_in_float64):
    ours, theirs = pair(kwargs, np.float64)
    x = batch(np.float64)
    expected = keras_forward(theirs, x)
    assert expected.dtype == np.float64
    for training in (True, False):
        np.testing.assert_allclose(ours.forward(x, training=training), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs", LAYER_NORMS, ids=repr)
def test_layer_norm_forward_float32(kwargs):
    ours, theirs = pair(kwargs, np.float32)
    x = batch(np.float32)
    y = ours.forward(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, keras_forward(theirs, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", LAYER_NORMS, ids=repr)
def test_layer_norm_gradients_are_those_of_keras_forward(kwargs, keras_in_float64):
    ours, theirs = pair(kwargs, np.float64)
    x = batch(np.float64)
    grad_out = np.random.default_rng(2).normal(size=x.shape)
    ours.forward(x, training=True)
    grad_x = ours.backward(grad_out)
    numeric_x = checks.numerical_gradient_array(lambda z: keras_forward(theirs, z), x.copy(), grad_out)
    assert checks.rel_error(grad_x, numeric_x) < 1e-7
    for name, grad in zip(ours.param_names, ours.grads):
        variable = getattr(theirs, name)
        value = np.array(variable.numpy())

        def through_keras(w, variable=variable):
            variable.assign(w)
            return keras_forward(theirs, x)

        numeric = checks.numerical_gradient_array(through_keras, value, grad_out)
        variable.assign(value)
        assert checks.rel_error(grad, numeric) < 1e-7, name


def test_batch_norm_training_forward_is_keras_in_float64(keras_in_float64):
    # The layer moved module with layer normalization; its numbers must not have moved.
    ours = BatchNormalization(momentum=0.9)
    ours.build(FEATURES, np.random.default_rng(0), dtype=np.float64)
    theirs = keras.layers.BatchNormalization(momentum=0.9, dtype="float64")
    theirs.build((None, FEATURES))
    gamma, beta = weights(np.float64)
    ours.gamma, ours.beta = gamma, beta
    theirs.gamma.assign(gamma)
    theirs.beta.assign(beta)
    x = batch(np.float64, n=8)
    np.testing.assert_allclose(ours.forward(x, training=True),
                               np.asarray(theirs(x, training=True)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.moving_variance, np.asarray(theirs.moving_variance.numpy()),
                               rtol=1e-12)
    y = batch(np.float64, n=3, seed=5)
    np.testing.assert_allclose(ours.forward(y), np.asarray(theirs(y, training=False)),
                               rtol=1e-12, atol=1e-12)
