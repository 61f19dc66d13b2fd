"""Initializers: the variance of each scheme against its formula, fan-in versus fan-out,
bounds of the uniform and truncated draws, dtypes and reproducibility."""
import math

import numpy as np
import pytest

from course_lib import initializers

FAN_IN, FAN_OUT = 200, 800  # very different, so fan_in / fan_out / fan_avg cannot be confused
SHAPE = (FAN_IN, FAN_OUT)

# Expected variances, written from the formulas (not from the module).
EXPECTED_VARIANCE = {
    "uniform": 0.1 ** 2 / 12,               # U(-0.05, 0.05): (b - a)^2 / 12
    "normal": 0.05 ** 2,
    "glorot_uniform": 2 / (FAN_IN + FAN_OUT),
    "glorot_normal": 2 / (FAN_IN + FAN_OUT),
    "he_uniform": 2 / FAN_IN,
    "he_normal": 2 / FAN_IN,
    "lecun_uniform": 1 / FAN_IN,
    "lecun_normal": 1 / FAN_IN,
}


def test_names_are_the_nine_modes():
    assert set(initializers.NAMES) == {"zeros", "uniform", "normal", "glorot_uniform",
                                       "glorot_normal", "he_uniform", "he_normal",
                                       "lecun_uniform", "lecun_normal"}
    for name in initializers.NAMES:
        assert callable(initializers.get(name))


@pytest.mark.parametrize("name", sorted(EXPECTED_VARIANCE))
def test_variance_matches_formula(name):
    w = initializers.get(name)(SHAPE, np.random.default_rng(0))
    assert w.shape == SHAPE and w.dtype == np.float64
    # 160,000 draws: the sample variance is within about 1% of the true one.
    assert w.var() == pytest.approx(EXPECTED_VARIANCE[name], rel=0.03)
    assert abs(w.mean()) < 0.01 * math.sqrt(EXPECTED_VARIANCE[name])


def test_fan_in_and_fan_out_come_from_the_kernel_shape():
    # Transposing the shape swaps fan_in and fan_out: He's variance follows the first axis.
    rng = np.random.default_rng(1)
    assert initializers.he_normal((FAN_IN, FAN_OUT), rng).var() == pytest.approx(2 / FAN_IN, rel=0.03)
    assert initializers.he_normal((FAN_OUT, FAN_IN), rng).var() == pytest.approx(2 / FAN_OUT, rel=0.03)
    assert initializers.compute_fans((3, 7)) == (3, 7)
    assert initializers.compute_fans((5,)) == (5, 5)
    assert initializers.compute_fans((3, 3, 4, 8)) == (36, 72)  # conv kernel: window 3x3


@pytest.mark.parametrize("name, limit", [
    ("uniform", 0.05),
    ("glorot_uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("he_uniform", math.sqrt(6 / FAN_IN)),
    ("lecun_uniform", math.sqrt(3 / FAN_IN)),
])
def test_uniform_limits(name, limit):
    w = initializers.get(name)(SHAPE, np.random.default_rng(2))
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit  # and the whole interval is used


def test_truncation_constant_is_the_stddev_of_a_truncated_standard_normal():
    # Var of N(0, 1) restricted to [-2, 2] is 1 - 2 * 2 * phi(2) / (Phi(2) - Phi(-2)).
    phi2 = math.exp(-2) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    assert initializers.TRUNCATED_NORMAL_STDDEV_FACTOR == pytest.approx(
        math.sqrt(1 - 4 * phi2 / mass), rel=1e-12)


@pytest.mark.parametrize("name, variance", [
    ("glorot_normal", 2 / (FAN_IN + FAN_OUT)),
    ("he_normal", 2 / FAN_IN),
    ("lecun_normal", 1 / FAN_IN),
])
def test_normal_schemes_are_truncated_at_two_stddevs(name, variance):
    w = initializers.get(name)(SHAPE, np.random.default_rng(3))
    sigma = math.sqrt(variance) / 0.87962566103423978  # stddev before truncation
    assert np.abs(w).max() <= 2 * sigma
    assert np.abs(w).max() > 1.95 * sigma
    # A plain normal would put 4.6% of the draws beyond 2 sigma; none are here.
    assert np.mean(np.abs(w) > 1.5 * sigma) == pytest.approx(2 * (0.0668 - 0.0228) / 0.9545, abs=0.005)


def test_plain_normal_is_not_truncated():
    w = initializers.normal((400, 400), np.random.default_rng(4))
    assert np.mean(np.abs(w) > 2 * 0.05) == pytest.approx(0.0455, abs=0.004)


def test_zeros():
    w = initializers.zeros((3, 4), np.random.default_rng(0))
    assert w.shape == (3, 4) and not w.any()


@pytest.mark.parametrize("name", initializers.NAMES)
def test_dtype_and_reproducibility(name):
    f = initializers.get(name)
    a = f((20, 30), np.random.default_rng(7), dtype=np.float32)
    b = f((20, 30), np.random.default_rng(7), dtype=np.float32)
    assert a.dtype == np.float32 and a.shape == (20, 30)
    np.testing.assert_array_equal(a, b)
    if name != "zeros":
        c = f((20, 30), np.random.default_rng(8), dtype=np.float32)
        assert not np.array_equal(a, c)


def test_each_scheme_keeps_the_signal_of_the_activation_it_was_made_for():
    # Why the factors: through one square layer, E[output^2] should equal E[input^2].
    # He with ReLU keeps the second moment (ReLU halves it, the factor 2 doubles it back);
    # Glorot with ReLU halves it; LeCun with a linear layer keeps it.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4000, 400))
    def second_moment(name, activation):
        w = initializers.get(name)((400, 400), rng)
        return np.mean(activation(x @ w) ** 2)
    relu = lambda z: np.maximum(z, 0)
    assert second_moment("he_normal", relu) == pytest.approx(1.0, rel=0.05)
    assert second_moment("glorot_normal", relu) == pytest.approx(0.5, rel=0.05)
    assert second_moment("lecun_normal", lambda z: z) == pytest.approx(1.0, rel=0.05)


def test_unknown_initializer_names_the_allowed_ones():
    with pytest.raises(ValueError) as err:
        initializers.get("xavier")
    assert "'xavier'" in str(err.value) and "glorot_uniform" in str(err.value)
