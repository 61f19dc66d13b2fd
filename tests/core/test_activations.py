"""Activations: values against their textbook formulas, derivatives against finite
differences, stability for huge inputs, dtypes, and SELU's self-normalizing fixed point."""
import math
import warnings

import numpy as np
import pytest

from course_lib import activations
from course_lib.checks import numerical_gradient_array, rel_error

ELEMENTWISE = ["relu", "elu", "selu", "sigmoid", "tanh", "linear"]

# The SELU constants as printed in Klambauer et al. (2017), typed independently of the module.
PAPER_ALPHA = 1.6732632423543772848170429916717
PAPER_LAMBDA = 1.0507009873554804934193349852946


def naive(name, x):
    """Each activation written directly from its definition, one number at a time."""
    def one(v):
        if name == "relu":
            return v if v > 0 else 0.0
        if name == "elu":
            return v if v > 0 else math.exp(v) - 1
        if name == "selu":
            return PAPER_LAMBDA * (v if v > 0 else PAPER_ALPHA * (math.exp(v) - 1))
        if name == "sigmoid":
            return 1 / (1 + math.exp(-v))
        if name == "tanh":
            return (math.exp(v) - math.exp(-v)) / (math.exp(v) + math.exp(-v))
        if name == "linear":
            return v
        raise AssertionError(name)
    return np.vectorize(one)(x)


def away_from_zero(rng, shape):
    """Inputs at least 0.05 away from the kink of relu/elu/selu at 0."""
    x = rng.uniform(0.05, 3, size=shape)
    return x * rng.choice([-1, 1], size=shape)


def test_names_and_get_pairs():
    assert set(activations.NAMES) == {"relu", "elu", "selu", "sigmoid", "tanh", "softmax", "linear"}
    f, df = activations.get("relu")
    assert f is activations.relu and df is activations.relu_grad
    f, df = activations.get("softmax")
    assert f is activations.softmax and df is activations.softmax_backward


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_values_match_the_definition(name):
    x = np.linspace(-4, 4, 41)
    f, _ = activations.get(name)
    np.testing.assert_allclose(f(x), naive(name, x), rtol=1e-12, atol=1e-15)


def test_selu_constants_are_the_papers():
    assert activations.SELU_ALPHA == pytest.approx(PAPER_ALPHA, rel=1e-15)
    assert activations.SELU_SCALE == pytest.approx(PAPER_LAMBDA, rel=1e-15)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_finite_differences(name):
    rng = np.random.default_rng(1)
    x = away_from_zero(rng, (5, 4))
    f, df = activations.get(name)
    ones = np.ones_like(x)
    numeric = numerical_gradient_array(f, x, ones)  # elementwise f: the VJP with ones is f'(x)
    assert rel_error(df(x), numeric) < 1e-7


def test_derivatives_at_known_points():
    # relu'(0) = 0 (Keras's convention); elu'(0) from the left is alpha*exp(0) = 1.
    assert activations.relu_grad(np.array([0.0]))[0] == 0
    assert activations.elu_grad(np.array([0.0, -1.0]))[1] == pytest.approx(math.exp(-1))
    assert activations.selu_grad(np.array([2.0]))[0] == pytest.approx(PAPER_LAMBDA)
    assert activations.sigmoid_grad(np.array([0.0]))[0] == pytest.approx(0.25)
    assert activations.tanh_grad(np.array([0.0]))[0] == pytest.approx(1.0)


def test_softmax_rows_sum_to_one_and_match_definition():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(6, 5))
    y = activations.softmax(z)
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(activations.softmax(z + 100.0), y, rtol=1e-12)  # shift-invariant


def test_softmax_backward_matches_finite_differences_and_jacobian():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(4, 5))
    g = rng.normal(size=(4, 5))
    y = activations.softmax(z)
    analytic = activations.softmax_backward(y, g)
    numeric = numerical_gradient_array(activations.softmax, z, g)
    assert rel_error(analytic, numeric) < 1e-7
    # Same thing with the explicit Jacobian diag(y) - y y^T of the first row.
    jac = np.diag(y[0]) - np.outer(y[0], y[0])
    np.testing.assert_allclose(analytic[0], jac.T @ g[0], rtol=1e-12, atol=1e-15)


def test_huge_inputs_are_stable_and_silent():
    x = np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in activations.NAMES:
            f, _ = activations.get(name)
            y = f(x[None, :])
            assert np.all(np.isfinite(y)), name
        for name in ELEMENTWISE:
            assert np.all(np.isfinite(activations.get(name)[1](x))), name
        s = activations.sigmoid(x)
    assert s[0] == 0.0 and s[-1] == 1.0
    np.testing.assert_allclose(activations.sigmoid(-x), 1 - s, atol=1e-15)  # sigma(-x) = 1 - sigma(x)
    p = activations.softmax(np.array([[1e4, 0.0, -1e4]]))
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0]])


@pytest.mark.parametrize("name", activations.NAMES)
def test_float32_stays_float32(name):
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    f, df = activations.get(name)
    assert f(x).dtype == np.float32
    if name == "softmax":
        assert df(f(x), np.ones_like(x)).dtype == np.float32
    else:
        assert df(x).dtype == np.float32


def test_integer_input_becomes_float64():
    assert activations.relu(np.array([[-1, 2]])).dtype == np.float64


@pytest.mark.parametrize("name", activations.NAMES)
def test_backward_helper_equals_the_derivative(name):
    rng = np.random.default_rng(4)
    x = away_from_zero(rng, (3, 4))
    g = rng.normal(size=(3, 4))
    f, df = activations.get(name)
    y = f(x)
    expected = activations.softmax_backward(y, g) if name == "softmax" else g * df(x)
    np.testing.assert_allclose(activations.backward(name, x, y, g), expected, rtol=1e-12, atol=1e-15)


def test_selu_keeps_mean_zero_and_variance_one():
    # The self-normalizing fixed point: N(0, 1) inputs give outputs with mean 0, variance 1.
    z = np.random.default_rng(5).standard_normal(400_000)
    y = activations.selu(z)
    assert abs(y.mean()) < 0.01
    assert abs(y.var() - 1) < 0.01
    # ELU does not: its output variance is well below 1.
    assert activations.elu(z).var() < 0.8
