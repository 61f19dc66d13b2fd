"""Activations: values against their textbook formulas, derivatives against finite
differences, stability for huge inputs, dtypes, and SELU's self-normalizing fixed point."""
import math
import warnings

import numpy as np
import pytest

from course_lib import activations
from course_lib.checks import numerical_gradient_array, rel_error

ELEMENTWISE = ["relu", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "gelu", "silu", "swish",
               "linear"]

# The SELU constants as printed in Klambauer et al. (2017), typed independently of the module.
PAPER_ALPHA = 1.6732632423543772848170429916717
PAPER_LAMBDA = 1.0507009873554804934193349852946


def naive(name, x):
    """Each activation written directly from its definition, one number at a time."""
    def one(v):
        if name == "relu":
            return v if v > 0 else 0.0
        if name == "leaky_relu":
            return v if v > 0 else 0.2 * v
        if name == "gelu":
            return v * 0.5 * (1 + math.erf(v / math.sqrt(2)))
        if name in ("silu", "swish"):
            return v / (1 + math.exp(-v))
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
    assert set(activations.NAMES) == {"relu", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "gelu",
                                      "silu", "swish", "softmax", "linear"}
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


# ============================================== leaky ReLU, GELU, SiLU: Keras 3's definitions


def test_keras_defaults_of_the_newer_activations():
    # keras.activations.leaky_relu(x, negative_slope=0.2); gelu(x, approximate=False).
    assert activations.leaky_relu(np.array([-1.0]))[0] == pytest.approx(-0.2)
    assert activations.leaky_relu(np.array([-1.0]), negative_slope=0.01)[0] == pytest.approx(-0.01)
    assert activations.leaky_relu_grad(np.array([-3.0, 3.0])).tolist() == [0.2, 1.0]
    # GELU(1) = Phi(1) = 0.8413447460685429 (the normal CDF at 1, a table value).
    assert activations.gelu(np.array([1.0]))[0] == pytest.approx(0.8413447460685429, rel=1e-14)
    assert activations.swish is activations.silu
    assert activations.get("swish")[0](np.array([2.0]))[0] == activations.silu(np.array([2.0]))[0]


def test_erf_based_gelu_is_exact_to_double_precision():
    x = np.linspace(-8, 8, 1601)
    exact = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    np.testing.assert_allclose(activations.gelu(x), exact, rtol=1e-13, atol=1e-300)


def test_tanh_approximation_of_gelu_is_close_but_not_equal():
    x = np.linspace(-5, 5, 1001)
    difference = np.abs(activations.gelu(x, approximate=True) - activations.gelu(x))
    assert 1e-5 < difference.max() < 1e-3


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_derivative_both_forms(approximate):
    x = np.random.default_rng(6).normal(0, 1, size=(4, 5))
    numeric = numerical_gradient_array(lambda v: activations.gelu(v, approximate), x,
                                       np.ones_like(x))
    assert rel_error(activations.gelu_grad(x, approximate), numeric) < 1e-7


def test_leaky_relu_slope_is_used_by_its_derivative():
    x = away_from_zero(np.random.default_rng(8), (6,))
    numeric = numerical_gradient_array(lambda v: activations.leaky_relu(v, 0.05), x, np.ones_like(x))
    assert rel_error(activations.leaky_relu_grad(x, 0.05), numeric) < 1e-7


@pytest.mark.parametrize("name", ["leaky_relu", "gelu", "silu", "swish"])
def test_layers_accept_the_new_names(name):
    from course_lib.layers import Activation, Dense
    x = np.random.default_rng(9).normal(size=(3, 4))
    dense = Dense(2, activation=name)
    dense.build(4, np.random.default_rng(0))
    z = x @ dense.kernel + dense.bias
    np.testing.assert_allclose(dense.forward(x), activations.get(name)[0](z), rtol=1e-12)
    np.testing.assert_allclose(Activation(name).forward(x), activations.get(name)[0](x), rtol=1e-12)


def test_relu_halves_the_second_moment_but_not_the_variance():
    # He's factor 2: E[relu(z)^2] = sigma^2 / 2, while Var(relu(z)) = (1/2 - 1/(2 pi)) sigma^2.
    z = np.random.default_rng(10).normal(0, 3.0, size=1_000_000)
    y = activations.relu(z)
    assert np.mean(y ** 2) == pytest.approx(9.0 / 2, rel=0.01)
    assert y.var() == pytest.approx(9.0 * (0.5 - 1 / (2 * math.pi)), rel=0.01)
