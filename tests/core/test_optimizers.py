"""Tests of course_lib.optimizers.

The reference values are computed here, one scalar at a time in plain Python, straight
from the update equations (DESIGN.md's table), independently of the NumPy implementation.
The test problem is elementwise, g = c * w + d, so every coordinate evolves on its own and
a scalar reference is exact.
"""
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from course_lib import optimizers
from course_lib.optimizers import (OPTIMIZER_NAMES, SGD, Adagrad, Adam, Adamax,
                                   AdamNoBiasCorrection, Nadam, RMSprop)
from course_lib.schedules import ExponentialDecay

SHAPES = [(2, 3), (4,)]
STEPS = 4


def problem(dtype=np.float64):
    """Two parameter arrays of different shapes and the elementwise gradient g = c * w + d."""
    rng = np.random.default_rng(0)
    params = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    curv = [rng.uniform(0.5, 3.0, size=s).astype(dtype) for s in SHAPES]
    shift = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    return params, curv, shift


def grads_at(params, curv, shift):
    return [c * w + d for w, c, d in zip(params, curv, shift)]


# -- scalar references: one update of one number, from the equations ---------------------------

def ref_sgd(w, g, s, lr, t, momentum=0.0, nesterov=False):
    v = momentum * s.get("v", 0.0) - lr * g
    s["v"] = v
    if nesterov:
        return w + momentum * v - lr * g
    return w + v


def ref_adagrad(w, g, s, lr, t, initial_accumulator_value=0.1, epsilon=1e-7):
    a = s.get("a", initial_accumulator_value) + g * g
    s["a"] = a
    return w - lr * g / math.sqrt(a + epsilon)


def ref_rmsprop(w, g, s, lr, t, rho=0.9, epsilon=1e-7):
    sq = rho * s.get("s", 0.0) + (1 - rho) * g * g
    s["s"] = sq
    return w - lr * g / math.sqrt(sq + epsilon)


def _ref_moments(g, s, b1, b2):
    m = b1 * s.get("m", 0.0) + (1 - b1) * g
    v = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    s["m"], s["v"] = m, v
    return m, v


def ref_adam(w, g, s, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m, v = _ref_moments(g, s, beta_1, beta_2)
    return w - lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (math.sqrt(v) + epsilon)


def ref_adam_no_correction(w, g, s, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m, v = _ref_moments(g, s, beta_1, beta_2)
    return w - lr * m / (math.sqrt(v) + epsilon)


def ref_adamax(w, g, s, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
    u = max(beta_2 * s.get("u", 0.0), abs(g))
    s["m"], s["u"] = m, u
    return w - lr / (1 - beta_1 ** t) * m / (u + epsilon)


def ref_nadam(w, g, s, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    mu_t = beta_1 * (1 - 0.5 * 0.96 ** t)
    mu_next = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
    p_t = s.get("P", 1.0) * mu_t
    s["P"] = p_t
    m, v = _ref_moments(g, s, beta_1, beta_2)
    m_hat = mu_next * m / (1 - p_t * mu_next) + (1 - mu_t) * g / (1 - p_t)
    return w - lr * m_hat / (math.sqrt(v / (1 - beta_2 ** t)) + epsilon)


def reference_run(rule, hyper, params, curv, shift, lr_at, steps=STEPS):
    """Apply ``rule`` to every coordinate separately; returns the arrays after each step."""
    flat = [list(map(float, w.ravel())) for w in params]
    cs = [list(map(float, c.ravel())) for c in curv]
    ds = [list(map(float, d.ravel())) for d in shift]
    states = [[{} for _ in w] for w in flat]
    history = []
    for t in range(1, steps + 1):
        lr = lr_at(t - 1)
        for i in range(len(flat)):
            for j in range(len(flat[i])):
                g = cs[i][j] * flat[i][j] + ds[i][j]
                flat[i][j] = rule(flat[i][j], g, states[i][j], lr, t, **hyper)
        history.append([np.array(w).reshape(s) for w, s in zip(flat, SHAPES)])
    return history


CASES = [
    ("sgd", SGD, ref_sgd, {}),
    ("momentum", SGD, ref_sgd, {"momentum": 0.9}),
    ("nesterov", SGD, ref_sgd, {"momentum": 0.8, "nesterov": True}),
    ("adagrad", Adagrad, ref_adagrad, {"initial_accumulator_value": 0.2, "epsilon": 1e-6}),
    ("rmsprop", RMSprop, ref_rmsprop, {"rho": 0.8, "epsilon": 1e-6}),
    ("adam", Adam, ref_adam, {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}),
    ("adam_no_bias_correction", AdamNoBiasCorrection, ref_adam_no_correction,
     {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}),
    ("adamax", Adamax, ref_adamax, {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}),
    ("nadam", Nadam, ref_nadam, {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}),
]


def run(opt, params, curv, shift, steps=STEPS):
    history = []
    for _ in range(steps):
        opt.step(params, grads_at(params, curv, shift))
        history.append([w.copy() for w in params])
    return history


@pytest.mark.parametrize("name, cls, rule, hyper", CASES, ids=[c[0] for c in CASES])
def test_matches_equations_step_by_step(name, cls, rule, hyper):
    params, curv, shift = problem()
    lr = 0.05
    expected = reference_run(rule, hyper, params, curv, shift, lambda step: lr)
    got = run(cls(learning_rate=lr, **hyper), params, curv, shift)
    for t, (exp_arrays, got_arrays) in enumerate(zip(expected, got), start=1):
        for exp, out in zip(exp_arrays, got_arrays):
            np.testing.assert_allclose(out, exp, rtol=1e-12, atol=1e-14, err_msg=f"{name}, step {t}")


@pytest.mark.parametrize("name, cls, rule, hyper", CASES, ids=[c[0] for c in CASES])
def test_matches_equations_with_schedule(name, cls, rule, hyper):
    """The rate used at step t (1-based) is schedule(t - 1): read before incrementing."""
    params, curv, shift = problem()
    schedule = ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    by_hand = lambda step: 0.1 * 0.5 ** (step / 2)  # noqa: E731
    expected = reference_run(rule, hyper, params, curv, shift, by_hand)
    opt = cls(learning_rate=schedule, **hyper)
    assert opt.current_learning_rate == pytest.approx(0.1)
    got = run(opt, params, curv, shift)
    assert opt.iterations == STEPS
    assert opt.current_learning_rate == pytest.approx(by_hand(STEPS))
    for exp_arrays, got_arrays in zip(expected, got):
        for exp, out in zip(exp_arrays, got_arrays):
            np.testing.assert_allclose(out, exp, rtol=1e-12, atol=1e-14)


def test_schedule_is_read_before_the_step_with_a_plain_function():
    seen = []

    def schedule(step):
        seen.append(step)
        return 0.1

    opt = SGD(learning_rate=schedule)
    w = np.zeros(3)
    for _ in range(3):
        opt.step([w], [np.ones(3)])
    assert seen == [0, 1, 2]
    np.testing.assert_allclose(w, -0.3 * np.ones(3))


def test_sgd_without_momentum_is_plain_gradient_descent():
    params, curv, shift = problem()
    by_hand = [w.copy() for w in params]
    opt = SGD(learning_rate=0.1)
    for _ in range(5):
        opt.step(params, grads_at(params, curv, shift))
        by_hand = [w - 0.1 * (c * w + d) for w, c, d in zip(by_hand, curv, shift)]
    for out, exp in zip(params, by_hand):
        np.testing.assert_allclose(out, exp, rtol=1e-14)
    assert opt.slots(params[0]) == {}  # keeps no velocity


def test_nesterov_differs_from_momentum():
    a, curv, shift = problem()
    b = [w.copy() for w in a]
    run(SGD(0.1, momentum=0.9), a, curv, shift, steps=3)
    run(SGD(0.1, momentum=0.9, nesterov=True), b, curv, shift, steps=3)
    assert not np.allclose(a[0], b[0])


def test_defaults_are_keras_defaults():
    sgd = SGD()
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (0.01, 0.0, False)
    ada = Adagrad()
    assert (ada.learning_rate, ada.initial_accumulator_value, ada.epsilon) == (0.001, 0.1, 1e-7)
    rms = RMSprop()
    assert (rms.learning_rate, rms.rho, rms.epsilon) == (0.001, 0.9, 1e-7)
    for cls in (Adam, Adamax, Nadam):
        opt = cls()
        assert (opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon) == (0.001, 0.9, 0.999, 1e-7)


@pytest.mark.parametrize("display_name", OPTIMIZER_NAMES)
def test_updates_in_place_and_keeps_float32(display_name):
    params, curv, shift = problem(np.float32)
    expected = [w.astype(np.float64) for w in params]
    ids = [id(w) for w in params]
    before = [w.copy() for w in params]
    opt = optimizers.get(display_name, learning_rate=0.01)
    reference = optimizers.get(display_name, learning_rate=0.01)
    for _ in range(3):
        opt.step(params, grads_at(params, curv, shift))
        reference.step(expected, grads_at(expected, [c.astype(np.float64) for c in curv],
                                          [d.astype(np.float64) for d in shift]))
    assert [id(w) for w in params] == ids
    assert all(w.dtype == np.float32 for w in params)
    slots = [opt.slots(w) for w in params]
    assert all(s[k].dtype == np.float32 for s in slots for k in s if isinstance(s[k], np.ndarray))
    assert not np.allclose(params[0], before[0])
    for out, exp in zip(params, expected):
        np.testing.assert_allclose(out, exp, rtol=1e-4, atol=1e-5)


def test_iterations_and_reset():
    params, curv, shift = problem()
    start = [w.copy() for w in params]
    opt = Adam(0.1)
    first = run(opt, params, curv, shift, steps=3)
    assert opt.iterations == 3
    opt.reset()
    assert opt.iterations == 0
    params = [w.copy() for w in start]
    again = run(opt, params, curv, shift, steps=3)
    for a, b in zip(first[-1], again[-1]):
        np.testing.assert_array_equal(a, b)


def test_state_is_created_lazily_one_per_position():
    params, curv, shift = problem()
    start = [w.copy() for w in params]
    opt = RMSprop()
    opt.step(params, grads_at(params, curv, shift))
    assert [opt.slots(w)["s"].shape for w in params] == SHAPES
    # other arrays of the same shapes at the same positions continue from that state
    continued = [w.copy() for w in params]
    opt.step(continued, grads_at(continued, curv, shift))
    fresh = [w.copy() for w in params]
    RMSprop().step(fresh, grads_at(fresh, curv, shift))
    same_arrays = RMSprop()
    for _ in range(2):
        same_arrays.step(start, grads_at(start, curv, shift))
    for a, b, c in zip(continued, start, fresh):
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c)


def test_the_same_array_twice_is_rejected():
    w = np.zeros(3)
    with pytest.raises(ValueError, match="same array twice"):
        Adam().step([w, w], [np.ones(3), np.ones(3)])


@pytest.mark.parametrize("name, cls, rule, hyper", CASES, ids=[c[0] for c in CASES])
def test_update_step_is_one_array_of_step(name, cls, rule, hyper):
    """``step`` is ``update_step`` on each array at the scheduled rate, then the count."""
    params, curv, shift = problem()
    by_update_step = [w.copy() for w in params]
    through_step, alone = cls(learning_rate=0.05, **hyper), cls(learning_rate=0.05, **hyper)
    for _ in range(3):
        through_step.step(params, grads_at(params, curv, shift))
        for w, g in zip(by_update_step, grads_at(by_update_step, curv, shift)):
            alone.update_step(g, w, 0.05)
        alone.iterations += 1
    for a, b in zip(params, by_update_step):
        np.testing.assert_array_equal(a, b)


def test_adam_bias_correction_matters():
    """With a constant gradient, Adam's first step is lr; without correction it is
    lr * (1 - b1) / sqrt(1 - b2) = 3.16 lr."""
    w_adam, w_raw = np.zeros(1), np.zeros(1)
    Adam(0.01).step([w_adam], [np.ones(1)])
    AdamNoBiasCorrection(0.01).step([w_raw], [np.ones(1)])
    assert w_adam[0] == pytest.approx(-0.01, rel=1e-5)
    assert w_raw[0] == pytest.approx(-0.01 * 0.1 / math.sqrt(0.001), rel=1e-5)


def test_learning_rate_can_be_set_and_is_validated():
    opt = SGD(0.1)
    opt.learning_rate = 0.01
    assert opt.current_learning_rate == 0.01
    with pytest.raises(ValueError, match=r"learning_rate.*-0\.5"):
        opt.learning_rate = -0.5
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = 0.0
    with pytest.raises(TypeError, match="learning_rate"):
        opt.learning_rate = "0.1"


@pytest.mark.parametrize("factory, name, value, error", [
    (lambda: SGD(learning_rate=-0.1), "learning_rate", "-0.1", ValueError),
    (lambda: SGD(learning_rate=float("nan")), "learning_rate", "nan", ValueError),
    (lambda: SGD(momentum=1.0), "momentum", "1.0", ValueError),
    (lambda: SGD(momentum=-0.1), "momentum", "-0.1", ValueError),
    (lambda: SGD(nesterov="yes"), "nesterov", "yes", TypeError),
    (lambda: Adagrad(initial_accumulator_value=-1), "initial_accumulator_value", "-1", ValueError),
    (lambda: Adagrad(epsilon=0.0), "epsilon", "0.0", ValueError),
    (lambda: RMSprop(rho=1.0), "rho", "1.0", ValueError),
    (lambda: Adam(beta_1=1.0), "beta_1", "1.0", ValueError),
    (lambda: Adamax(beta_2=1.5), "beta_2", "1.5", ValueError),
    (lambda: Nadam(epsilon=-1e-7), "epsilon", "-1e-07", ValueError),
])
def test_invalid_hyperparameters(factory, name, value, error):
    with pytest.raises(error) as info:
        factory()
    assert name in str(info.value) and value in str(info.value)


def test_wrong_number_of_grads():
    params, curv, shift = problem()
    with pytest.raises(ValueError, match=r"1 grads for 2 params"):
        SGD().step(params, grads_at(params, curv, shift)[:1])


def test_shape_mismatch_names_the_position_and_shapes():
    params, curv, shift = problem()
    grads = grads_at(params, curv, shift)
    grads[1] = np.zeros(5)
    with pytest.raises(ValueError, match=r"grads\[1\] has shape \(5,\).*params\[1\] has shape \(4,\)"):
        Adam().step(params, grads)


def test_changed_parameters_need_reset():
    opt = Adam()
    opt.step([np.zeros(3)], [np.ones(3)])
    with pytest.raises(ValueError, match=r"params\[0\] has shape \(4,\).*reset"):
        opt.step([np.zeros(4)], [np.ones(4)])
    with pytest.raises(ValueError, match="state for 1 parameter arrays but got 2"):
        opt.step([np.zeros(3), np.zeros(2)], [np.ones(3), np.ones(2)])
    opt.reset()
    opt.step([np.zeros(4)], [np.ones(4)])


def test_integer_params_are_rejected():
    with pytest.raises(TypeError, match=r"params\[0\].*floating"):
        SGD().step([np.zeros(3, dtype=int)], [np.ones(3)])


@pytest.mark.parametrize("variable, kind", [(1.0, "float"), (np.zeros(3, dtype=int), "int64")])
def test_update_step_rejects_what_it_cannot_update_in_place(variable, kind):
    with pytest.raises(TypeError, match=f"variable must be a floating-point numpy array.*{kind}"):
        Adam().update_step(np.ones(3), variable, 0.1)


def test_bad_schedule_output_is_reported():
    opt = SGD(learning_rate=lambda step: -1.0)
    with pytest.raises(ValueError, match="schedule returned -1.0 at step 0"):
        opt.step([np.zeros(2)], [np.ones(2)])


def test_get():
    assert OPTIMIZER_NAMES == ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam",
                               "AdaMax", "Nadam")
    momentum = optimizers.get("Momentum", learning_rate=0.05)
    assert type(momentum) is SGD and momentum.momentum == 0.9 and not momentum.nesterov
    assert momentum.learning_rate == 0.05
    nesterov = optimizers.get("Nesterov")
    assert nesterov.momentum == 0.9 and nesterov.nesterov and nesterov.learning_rate == 0.01
    assert optimizers.get("SGD").momentum == 0.0
    expected_types = [SGD, SGD, SGD, Adagrad, RMSprop, Adam, Adamax, Nadam]
    for display_name, cls in zip(OPTIMIZER_NAMES, expected_types):
        for spelling in (display_name, display_name.lower(), display_name.upper()):
            opt = optimizers.get(spelling)
            assert type(opt) is cls
            assert opt.display_name == display_name
    assert type(optimizers.get("adam", learning_rate=0.1)) is Adam
    assert optimizers.get("RMSprop").rho == 0.9
    assert optimizers.get("nesterov", momentum=0.5).momentum == 0.5
    adam = Adam()
    assert optimizers.get(adam) is adam
    with pytest.raises(ValueError, match=r"name must be one of .*'sgd'.*got 'adadelta'"):
        optimizers.get("adadelta")
    with pytest.raises(TypeError, match="existing optimizer"):
        optimizers.get(adam, learning_rate=0.1)
    with pytest.raises(TypeError, match="name must be"):
        optimizers.get(3)
    assert not hasattr(optimizers, "make")   # one name -> optimizer factory


def test_config_round_trip_with_schedule():
    opt = SGD(ExponentialDecay(0.1, 10, 0.5), momentum=0.9, nesterov=True)
    config = json.loads(json.dumps(opt.get_config()))
    clone = SGD.from_config(config)
    assert clone.momentum == 0.9 and clone.nesterov
    assert clone.learning_rate(15) == pytest.approx(0.1 * 0.5 ** 1.5)
    assert Adam.from_config(Adam(0.02, beta_2=0.99).get_config()).get_config() == \
        {"learning_rate": 0.02, "beta_1": 0.9, "beta_2": 0.99, "epsilon": 1e-7,
         "weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None}
    # a plain function is stored as its current value, as Keras does
    assert SGD(lambda step: 0.3).get_config()["learning_rate"] == 0.3
    assert "momentum=0.9" in repr(opt)


def test_diverging_step_does_not_warn():
    w = np.array([1e200])
    Adam(1.0).step([w], [np.array([1e200])])            # g^2 overflows inside
    SGD(1e300).step([w], [np.array([1e300])])
    assert not np.isfinite(w).all()


def _benchmark_module():
    """bench/optimizer_update.py, which keeps the buffer form the textbook form replaced."""
    path = Path(__file__).resolve().parents[2] / "bench" / "optimizer_update.py"
    spec = importlib.util.spec_from_file_location("optimizer_update", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("optimizer", [*[optimizers.get(name, learning_rate=0.01)
                                         for name in OPTIMIZER_NAMES],
                                       AdamNoBiasCorrection(0.01)], ids=repr)
def test_textbook_form_agrees_with_the_buffer_form(optimizer):
    """The equations as written give the steps the in-place buffer form gave, up to the
    order of a few roundings: far below 1e-6 in float64 after 200 steps, and within 1e-6 in
    float32 over the first 20 steps (over hundreds, float32 rounding differences grow
    through the dynamics, as any change of evaluation order makes them)."""
    bench = _benchmark_module()
    config = optimizer.get_config()
    float64 = bench.largest_relative_difference(type(optimizer).from_config(config), steps=200,
                                                dtype=np.float64)
    float32 = bench.largest_relative_difference(type(optimizer).from_config(config), steps=20,
                                                dtype=np.float32)
    assert float64 < 1e-12 and float32 < 1e-6
    if isinstance(optimizer, SGD) and not optimizer.nesterov:   # same operations, same order
        assert float64 == float32 == 0.0
