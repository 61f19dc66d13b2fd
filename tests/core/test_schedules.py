"""Tests of course_lib.schedules: each schedule against its formula, worked out by hand."""
import json
import math

import numpy as np
import pytest

from course_lib import schedules
from course_lib.schedules import (CosineDecay, CosineDecayRestarts, ExponentialDecay,
                                  InverseTimeDecay, OneCycle, PiecewiseConstantDecay,
                                  PolynomialDecay, PowerDecay, StepDecay)


def test_exponential_decay():
    s = ExponentialDecay(0.01, decay_steps=20, decay_rate=0.1)
    assert s(0) == pytest.approx(0.01)
    assert s(20) == pytest.approx(0.001)          # divided by 10 every 20 steps
    assert s(40) == pytest.approx(0.0001)
    assert s(10) == pytest.approx(0.01 * 10 ** -0.5)
    assert s(7) == pytest.approx(0.01 * 0.1 ** (7 / 20))


def test_exponential_decay_staircase():
    s = ExponentialDecay(1.0, decay_steps=10, decay_rate=0.5, staircase=True)
    assert [s(k) for k in (0, 9, 10, 19, 20, 35)] == pytest.approx([1, 1, 0.5, 0.5, 0.25, 0.125])


def test_inverse_time_decay():
    s = InverseTimeDecay(0.1, decay_steps=4, decay_rate=0.5)
    assert s(0) == pytest.approx(0.1)
    assert s(4) == pytest.approx(0.1 / 1.5)
    assert s(6) == pytest.approx(0.1 / (1 + 0.5 * 1.5))
    stairs = InverseTimeDecay(0.1, decay_steps=4, decay_rate=0.5, staircase=True)
    assert stairs(6) == pytest.approx(0.1 / 1.5)
    assert stairs(8) == pytest.approx(0.1 / 2.0)


def test_power_decay():
    s = PowerDecay(0.02, decay_steps=100, power=1.0)
    assert s(0) == pytest.approx(0.02)
    for k in (1, 2, 5):                             # at t = k s the rate is lr0 / (k + 1)
        assert s(k * 100) == pytest.approx(0.02 / (k + 1))
    squared = PowerDecay(0.02, decay_steps=100, power=2.0)
    assert squared(50) == pytest.approx(0.02 / 1.5 ** 2)
    # power 1 is inverse-time decay with rate 1
    steps = np.arange(0, 500, 7)
    np.testing.assert_allclose(s(steps), InverseTimeDecay(0.02, 100, 1.0)(steps))


def test_piecewise_constant_boundary_semantics():
    s = PiecewiseConstantDecay(boundaries=[4, 14], values=[0.01, 0.005, 0.001])
    expected = {0: 0.01, 3: 0.01, 4: 0.01, 4.5: 0.005, 5: 0.005, 14: 0.005, 14.01: 0.001,
                15: 0.001, 100: 0.001}
    for step, value in expected.items():
        assert s(step) == value, step
    # the source's "epoch < 5: 0.01, epoch < 15: 0.005, else 0.001" over whole epochs
    by_hand = [0.01 if e < 5 else 0.005 if e < 15 else 0.001 for e in range(30)]
    assert list(s(np.arange(30))) == by_hand


def test_step_decay_recipes():
    halve = StepDecay(0.1, drop_every=5, factor=0.5)
    assert list(halve(np.arange(16))) == pytest.approx([0.1] * 5 + [0.05] * 5 + [0.025] * 5 + [0.0125])
    tenth = StepDecay(0.1, drop_every=20, factor=0.1)
    assert [tenth(e) for e in (0, 19, 20, 39, 40)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])


def test_one_cycle_shape():
    s = OneCycle(max_learning_rate=0.1, total_steps=200)
    # defaults: initial = max / 10, final = initial / 1000; cycle = 180 steps, peak at 90
    assert s.initial_learning_rate == pytest.approx(0.01)
    assert s.final_learning_rate == pytest.approx(1e-5)
    assert s(0) == pytest.approx(0.01)
    assert s(45) == pytest.approx(0.055)           # half-way up
    assert s(90) == pytest.approx(0.1)             # peak in the middle of the cycle part
    steps = np.arange(0, 401)
    rates = s(steps)
    assert steps[np.argmax(rates)] == 90
    assert s(135) == pytest.approx(0.055)          # half-way down
    assert s(180) == pytest.approx(0.01)           # back to the start at the end of the cycle
    assert s(190) == pytest.approx((0.01 + 1e-5) / 2)
    assert s(200) == pytest.approx(1e-5)
    assert s(1000) == pytest.approx(1e-5)          # stays at the final rate
    assert np.all(np.diff(rates[:91]) > 0) and np.all(np.diff(rates[90:201]) < 0)


def test_one_cycle_explicit_rates():
    s = OneCycle(1.0, total_steps=100, initial_learning_rate=0.2, final_learning_rate=0.01,
                 anneal_fraction=0.2)
    assert s(0) == pytest.approx(0.2)
    assert s(40) == pytest.approx(1.0)
    assert s(20) == pytest.approx(0.6)
    assert s(80) == pytest.approx(0.2)
    assert s(90) == pytest.approx(0.105)
    assert s(100) == pytest.approx(0.01)


def test_cosine_decay_without_warmup():
    s = CosineDecay(0.2, decay_steps=100, alpha=0.1)
    assert s(0) == pytest.approx(0.2)
    assert s(50) == pytest.approx(0.2 * (0.9 * 0.5 + 0.1))      # half-way: cos = 0
    assert s(25) == pytest.approx(0.2 * (0.9 * 0.5 * (1 + math.cos(math.pi / 4)) + 0.1))
    assert s(100) == pytest.approx(0.02) and s(500) == pytest.approx(0.02)   # alpha * lr0, then flat
    rates = s(np.arange(101))
    assert np.all(np.diff(rates) < 0)
    # symmetric about the middle: as far above the mean of the two ends as below it
    np.testing.assert_allclose(rates + rates[::-1], 0.2 + 0.02)


def test_cosine_decay_with_warmup():
    s = CosineDecay(0.0, decay_steps=40, alpha=0.0, warmup_target=0.1, warmup_steps=10)
    assert s(0) == 0.0
    assert s(1) == pytest.approx(0.01)
    assert s(9) == pytest.approx(0.09)                   # the last warm-up step
    assert s(10) == pytest.approx(0.1)                   # the cosine starts at the target
    assert s(30) == pytest.approx(0.05)                  # 20 of its 40 steps: half-way
    assert s(50) == pytest.approx(0.0, abs=1e-15) and s(80) == pytest.approx(0.0, abs=1e-15)
    # the cosine part is CosineDecay(warmup_target, decay_steps) shifted by warmup_steps
    steps = np.arange(10, 60)
    np.testing.assert_allclose(s(steps), CosineDecay(0.1, 40)(steps - 10))
    from_start = CosineDecay(0.02, decay_steps=40, warmup_target=0.1, warmup_steps=4)
    assert [from_start(k) for k in range(5)] == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.1])
    no_warmup_steps = CosineDecay(0.02, decay_steps=40, warmup_target=0.1)   # starts at the target
    assert no_warmup_steps(0) == pytest.approx(0.1)


def test_cosine_decay_restarts():
    s = CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=2.0, m_mul=0.5, alpha=0.0)
    # periods of 10, 20, 40 steps starting at steps 0, 10, 30, each half as high as the last
    for start, length, height in ((0, 10, 1.0), (10, 20, 0.5), (30, 40, 0.25)):
        assert s(start) == pytest.approx(height)
        assert s(start + length / 2) == pytest.approx(height / 2)
        assert s(start + length - 1e-6) == pytest.approx(0.0, abs=1e-9)
    rates = s(np.arange(70))
    jumps = np.nonzero(np.diff(rates) > 0)[0] + 1
    assert list(jumps) == [10, 30]
    constant = CosineDecayRestarts(0.1, first_decay_steps=8, t_mul=1.0, alpha=0.2)
    steps = np.arange(40)
    np.testing.assert_allclose(constant(steps), CosineDecay(0.1, 8, alpha=0.2)(steps % 8))


@pytest.mark.parametrize("t_mul, first", [(2.0, 1), (3.0, 1), (3.0, 7), (1.5, 8), (2.0, 80)])
def test_every_restart_step_starts_its_period_at_the_top(t_mul, first):
    """At a restart the period index is a whole number computed from logarithms; whatever
    their rounding, the restart step itself carries the new period's peak."""
    s = CosineDecayRestarts(1.0, first, t_mul=t_mul, m_mul=0.9, alpha=0.0)
    k = np.arange(12)
    starts = first * (t_mul ** k - 1) / (t_mul - 1)
    whole = np.isclose(starts, np.round(starts))
    np.testing.assert_allclose(s(np.round(starts[whole])), 0.9 ** k[whole], rtol=1e-12)
    np.testing.assert_allclose([s(float(step)) for step in np.round(starts[whole])],
                               0.9 ** k[whole], rtol=1e-12)
    before = np.round(starts[whole])[1:] - 1e-3 * first       # just before each restart
    assert np.all(s(before) < 1e-4)


def test_polynomial_decay():
    s = PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.01, power=1.0)
    assert s(0) == pytest.approx(0.1)
    assert s(50) == pytest.approx(0.055)                 # a straight line for power 1
    assert s(100) == pytest.approx(0.01) and s(300) == pytest.approx(0.01)
    square_root = PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.0, power=0.5)
    assert square_root(75) == pytest.approx(0.1 * 0.5)
    assert PolynomialDecay(0.1, 100)(100) == pytest.approx(1e-4)   # Keras's default end rate


def test_polynomial_decay_cycle():
    s = PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0, power=1.0, cycle=True)
    assert s(0) == pytest.approx(0.1)
    assert s(10) == pytest.approx(0.0, abs=1e-15)        # each multiple reaches the end rate
    assert s(11) == pytest.approx(0.1 * (1 - 11 / 20))   # then decays again over 20 steps
    assert s(20) == pytest.approx(0.0, abs=1e-15)
    assert s(25) == pytest.approx(0.1 * (1 - 25 / 30))


ALL = [
    ExponentialDecay(0.1, 10, 0.5),
    ExponentialDecay(0.1, 10, 0.5, staircase=True),
    InverseTimeDecay(0.1, 10, 2.0, staircase=True),
    PowerDecay(0.1, 10, 1.5),
    PiecewiseConstantDecay([10, 20, 30], [0.4, 0.3, 0.2, 0.1]),
    StepDecay(0.1, 5, 0.5),
    OneCycle(0.5, 50),
    CosineDecay(0.1, 40, alpha=0.01),
    CosineDecay(0.0, 30, alpha=0.1, warmup_target=0.2, warmup_steps=9),
    CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.7, alpha=0.05),
    CosineDecayRestarts(0.1, 7, t_mul=1.0, alpha=0.05),
    PolynomialDecay(0.1, 40, end_learning_rate=0.001, power=2.0),
    PolynomialDecay(0.1, 25, power=0.5, cycle=True),
]


@pytest.mark.parametrize("schedule", ALL, ids=repr)
def test_array_and_scalar_agree(schedule):
    steps = np.arange(0, 80)
    rates = schedule(steps)
    assert isinstance(rates, np.ndarray) and rates.shape == steps.shape and rates.dtype == np.float64
    assert all(rates[k] == schedule(int(k)) for k in steps)
    assert isinstance(schedule(3), float)
    assert isinstance(schedule(np.int64(3)), float)
    grid = np.arange(12.0).reshape(3, 4)
    assert schedule(grid).shape == (3, 4)
    assert np.all(rates[1:] > 0) and rates[0] >= 0       # a warm-up may start from 0


@pytest.mark.parametrize("schedule", ALL, ids=repr)
def test_array_and_scalar_agree_at_any_position(schedule):
    """Fractional steps, long arrays, views at odd offsets and strides, every dtype of step:
    a step gives the same bits wherever it sits, because there is one code path."""
    steps = np.linspace(0.0, 300.0, 1201)
    rates = schedule(steps)
    scalars = np.array([schedule(float(k)) for k in steps])
    np.testing.assert_array_equal(rates, scalars)
    np.testing.assert_array_equal(schedule(steps[3:]), rates[3:])
    np.testing.assert_array_equal(schedule(steps[::7]), rates[::7])
    np.testing.assert_array_equal(schedule(steps.reshape(1201, 1))[:, 0], rates)
    assert schedule(np.float32(37.0)) == schedule(37) == schedule(np.int64(37)) == schedule(np.array(37))


@pytest.mark.parametrize("schedule", ALL, ids=repr)
def test_config_round_trip(schedule):
    config = json.loads(json.dumps(schedules.serialize(schedule)))
    clone = schedules.deserialize(config)
    assert clone == schedule
    np.testing.assert_array_equal(clone(np.arange(60)), schedule(np.arange(60)))
    assert repr(schedule).startswith(type(schedule).__name__ + "(")
    assert eval(repr(schedule), vars(schedules)) == schedule


@pytest.mark.parametrize("schedule", ALL, ids=repr)
def test_negative_or_bad_steps(schedule):
    with pytest.raises(ValueError, match="step must be >= 0"):
        schedule(-1)
    with pytest.raises(ValueError, match="step must be >= 0"):
        schedule(np.array([3, -2]))
    with pytest.raises(ValueError, match="finite"):
        schedule(float("nan"))
    with pytest.raises(TypeError, match="step"):
        schedule("3")
    with pytest.raises(TypeError, match="step"):
        schedule(True)


@pytest.mark.parametrize("factory, message, error", [
    (lambda: ExponentialDecay(0.0, 10, 0.5), r"initial_learning_rate.*0\.0", ValueError),
    (lambda: ExponentialDecay(0.1, 0, 0.5), "decay_steps", ValueError),
    (lambda: ExponentialDecay(0.1, 10, -0.5), "decay_rate", ValueError),
    (lambda: ExponentialDecay(0.1, 10, 0.5, staircase=1), "staircase", TypeError),
    (lambda: InverseTimeDecay(-0.1, 10, 0.5), "initial_learning_rate", ValueError),
    (lambda: InverseTimeDecay(0.1, 10, -1.0), "decay_rate", ValueError),
    (lambda: PowerDecay(0.1, -5), "decay_steps", ValueError),
    (lambda: PowerDecay(0.1, 5, power=-1), "power", ValueError),
    (lambda: PiecewiseConstantDecay([10, 5], [0.3, 0.2, 0.1]), "strictly increasing", ValueError),
    (lambda: PiecewiseConstantDecay([10, 10], [0.3, 0.2, 0.1]), "strictly increasing", ValueError),
    (lambda: PiecewiseConstantDecay([10, 20], [0.3, 0.2]), "one more entry", ValueError),
    (lambda: PiecewiseConstantDecay([10], [0.3, -0.2]), r"values\[1\]", ValueError),
    (lambda: StepDecay(0.1, 0, 0.5), "drop_every", ValueError),
    (lambda: StepDecay(0.1, 5, 0.0), "factor", ValueError),
    (lambda: StepDecay(0.1, 5, 2.0), "factor", ValueError),
    (lambda: OneCycle(0.0, 100), "max_learning_rate", ValueError),
    (lambda: OneCycle(0.1, 0), "total_steps", ValueError),
    (lambda: OneCycle(0.1, 100, initial_learning_rate=0.2), "initial_learning_rate", ValueError),
    (lambda: OneCycle(0.1, 100, final_learning_rate=0.0), "final_learning_rate", ValueError),
    (lambda: OneCycle(0.1, 100, anneal_fraction=1.0), "anneal_fraction", ValueError),
    (lambda: OneCycle(0.1, 100, anneal_fraction=0.0), "anneal_fraction", ValueError),
    (lambda: CosineDecay(0.0, 100), "initial_learning_rate", ValueError),
    (lambda: CosineDecay(0.1, 0), "decay_steps", ValueError),
    (lambda: CosineDecay(0.1, 100, alpha=1.5), "alpha", ValueError),
    (lambda: CosineDecay(0.1, 100, alpha=-0.1), "alpha", ValueError),
    (lambda: CosineDecay(0.1, 100, warmup_steps=10), "warmup_steps needs a warmup_target", ValueError),
    (lambda: CosineDecay(0.1, 100, warmup_target=-0.1, warmup_steps=10), "warmup_target", ValueError),
    (lambda: CosineDecay(-0.1, 100, warmup_target=0.1, warmup_steps=10), "initial_learning_rate",
     ValueError),
    (lambda: CosineDecay(0.2, 100, warmup_target=0.1, warmup_steps=10), r"initial_learning_rate.*0\.2",
     ValueError),
    (lambda: CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=-1), "warmup_steps", ValueError),
    (lambda: CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=2.5), "warmup_steps", TypeError),
    (lambda: CosineDecayRestarts(0.1, 0), "first_decay_steps", ValueError),
    (lambda: CosineDecayRestarts(0.1, 10, t_mul=0.5), "t_mul", ValueError),
    (lambda: CosineDecayRestarts(0.1, 10, m_mul=0.0), "m_mul", ValueError),
    (lambda: CosineDecayRestarts(0.1, 10, alpha=2.0), "alpha", ValueError),
    (lambda: PolynomialDecay(0.0, 10), "initial_learning_rate", ValueError),
    (lambda: PolynomialDecay(0.1, -10), "decay_steps", ValueError),
    (lambda: PolynomialDecay(0.1, 10, end_learning_rate=-0.01), "end_learning_rate", ValueError),
    (lambda: PolynomialDecay(0.1, 10, power=-1.0), "power", ValueError),
    (lambda: PolynomialDecay(0.1, 10, cycle="yes"), "cycle", TypeError),
])
def test_invalid_arguments(factory, message, error):
    with pytest.raises(error, match=message):
        factory()


def test_deserialize_rejects_unknown_names():
    with pytest.raises(ValueError, match="class_name must be one of"):
        schedules.deserialize({"class_name": "LinearWarmup", "config": {}})


def test_staircase_is_constant_within_each_period():
    s = ExponentialDecay(0.3, decay_steps=7, decay_rate=0.2, staircase=True)
    rates = s(np.arange(70))
    for k in range(10):
        block = rates[7 * k: 7 * (k + 1)]
        assert np.all(block == block[0])
        assert block[0] == pytest.approx(0.3 * 0.2 ** k)
    assert not math.isclose(s(6.99), s(7))
