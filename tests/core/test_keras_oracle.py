"""course_lib's optimizers and schedules against Keras 3 itself, the framework they copy.

Keras runs on its NumPy backend (set below, before the first import of keras), so the
comparison needs no accelerator and no compiled graph. Two precisions:

- float64, tightly (1e-13): Keras's backends other than TensorFlow compute every operation
  in at most 32 bits, as JAX does (``result_type`` maps float64 to float32). The fixture
  ``keras_in_float64`` lifts that one mapping for the test, so Keras's own update code
  runs in float64 and any difference is a difference of equations, not of rounding.
- float32, Keras as shipped, both sides on float32 variables: agreement to float32
  rounding, which ``1 - beta^t`` (a difference of nearly equal numbers) amplifies.

Keras comes from ``keras_numpy`` (its NumPy backend; an error, never a skip, under CI).
"""
import numpy as np
import pytest

from keras_numpy import IGNORE_COPY_WARNING, keras, keras_in_float32, keras_in_float64  # noqa: F401
from course_lib import optimizers, schedules

pytestmark = IGNORE_COPY_WARNING

STEPS = 25
SHAPES = [(3, 4), (5,)]
# float32: fewer steps, so that rounding differences stay at the rounding level
FLOAT32_STEPS, FLOAT32_RTOL, FLOAT32_ATOL = 5, 1e-5, 1e-6


def problem(dtype):
    """Start values and an elementwise quadratic loss: gradient c * w + d."""
    rng = np.random.default_rng(0)
    start = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    curv = [rng.uniform(0.5, 3.0, size=s).astype(dtype) for s in SHAPES]
    shift = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    return start, curv, shift


def run_ours(optimizer, dtype=np.float64, steps=STEPS):
    start, curv, shift = problem(dtype)
    params = [w.copy() for w in start]
    for _ in range(steps):
        optimizer.step(params, [c * w + d for w, c, d in zip(params, curv, shift)])
    return params


def run_keras(optimizer, dtype=np.float64, steps=STEPS):
    start, curv, shift = problem(dtype)
    variables = [keras.Variable(w, dtype=str(np.dtype(dtype))) for w in start]
    for _ in range(steps):
        grads = [c * np.asarray(v.numpy()) + d for v, c, d in zip(variables, curv, shift)]
        optimizer.apply_gradients(zip(grads, variables))
    assert int(optimizer.iterations.numpy()) == steps
    return [np.asarray(v.numpy()) for v in variables]


K = keras.optimizers
# (id, ours, Keras's) with the same hyperparameters; non-default ones where they exist,
# so that a hyperparameter read in the wrong place shows.
OPTIMIZERS = [
    ("SGD", lambda: optimizers.SGD(0.05), lambda: K.SGD(0.05)),
    ("Momentum", lambda: optimizers.SGD(0.05, momentum=0.9),
     lambda: K.SGD(0.05, momentum=0.9)),
    ("Nesterov", lambda: optimizers.SGD(0.05, momentum=0.8, nesterov=True),
     lambda: K.SGD(0.05, momentum=0.8, nesterov=True)),
    ("AdaGrad", lambda: optimizers.Adagrad(0.1, initial_accumulator_value=0.2, epsilon=1e-6),
     lambda: K.Adagrad(0.1, initial_accumulator_value=0.2, epsilon=1e-6)),
    ("RMSProp", lambda: optimizers.RMSprop(0.01, rho=0.8, epsilon=1e-6),
     lambda: K.RMSprop(0.01, rho=0.8, epsilon=1e-6)),
    ("Adam", lambda: optimizers.Adam(0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-3),
     lambda: K.Adam(0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-3)),
    ("AdaMax", lambda: optimizers.Adamax(0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-3),
     lambda: K.Adamax(0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-3)),
    ("Nadam", lambda: optimizers.Nadam(0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-3),
     lambda: K.Nadam(0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-3)),
    # Keras 3's common arguments (the gradients here have norms of about 2 to 6, so each
    # clip is active on the first steps).
    ("AdamW", lambda: optimizers.AdamW(0.02, weight_decay=0.1),
     lambda: K.AdamW(0.02, weight_decay=0.1)),
    ("AdamW defaults", lambda: optimizers.AdamW(), lambda: K.AdamW()),
    ("SGD weight_decay", lambda: optimizers.SGD(0.05, momentum=0.9, weight_decay=0.2),
     lambda: K.SGD(0.05, momentum=0.9, weight_decay=0.2)),
    ("SGD clipnorm", lambda: optimizers.SGD(0.05, momentum=0.9, clipnorm=0.5),
     lambda: K.SGD(0.05, momentum=0.9, clipnorm=0.5)),
    ("RMSProp clipvalue", lambda: optimizers.RMSprop(0.01, clipvalue=0.3),
     lambda: K.RMSprop(0.01, clipvalue=0.3)),
    ("Adam global_clipnorm", lambda: optimizers.Adam(0.02, global_clipnorm=0.7),
     lambda: K.Adam(0.02, global_clipnorm=0.7)),
]


@pytest.mark.parametrize("label, ours, theirs", OPTIMIZERS, ids=[c[0] for c in OPTIMIZERS])
def test_optimizer_matches_keras_in_float64(label, ours, theirs, keras_in_float64):
    for got, expected in zip(run_ours(ours()), run_keras(theirs())):
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15, err_msg=label)


@pytest.mark.parametrize("label, ours, theirs", OPTIMIZERS, ids=[c[0] for c in OPTIMIZERS])
def test_optimizer_matches_keras_in_float32(label, ours, theirs, keras_in_float32):
    got_all = run_ours(ours(), np.float32, steps=FLOAT32_STEPS)
    expected_all = run_keras(theirs(), np.float32, steps=FLOAT32_STEPS)
    for got, expected in zip(got_all, expected_all):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL, err_msg=label)


@pytest.mark.parametrize("name", optimizers.OPTIMIZER_NAMES)
def test_defaults_match_keras(name, keras_in_float64):
    """``get(display name)`` with no arguments steps exactly like Keras's defaults."""
    keras_class = {"Momentum": "SGD", "Nesterov": "SGD", "AdaGrad": "Adagrad",
                   "RMSProp": "RMSprop", "AdaMax": "Adamax"}.get(name, name)
    extra = {"Momentum": {"momentum": 0.9}, "Nesterov": {"momentum": 0.9, "nesterov": True}}
    theirs = getattr(K, keras_class)(**extra.get(name, {}))
    for got, expected in zip(run_ours(optimizers.get(name)), run_keras(theirs)):
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15, err_msg=name)


def test_first_adam_step_shows_where_epsilon_sits(keras_in_float64):
    """One step from m = v = 0 with g = 1e-4 and eps = 1e-3: Keras's epsilon hat gives
    lr * g / (g + eps / sqrt(1 - b2)), far from the lr * g / (g + eps) of the paper's
    Algorithm 1; ours is Keras's."""
    lr, g, eps, b2 = 0.1, 1e-4, 1e-3, 0.999
    theirs = keras.Variable(np.zeros(1), dtype="float64")
    K.Adam(lr, epsilon=eps).apply_gradients([(np.full(1, g), theirs)])
    ours = np.zeros(1)
    optimizers.Adam(lr, epsilon=eps).step([ours], [np.full(1, g)])
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours, -lr * g / (g + eps / np.sqrt(1 - b2)), rtol=1e-12)
    assert not np.isclose(ours[0], -lr * g / (g + eps), rtol=1e-2)


def test_schedule_inside_optimizer_is_read_at_the_step_count(keras_in_float64):
    """Both read schedule(iterations) before each step: the first step uses schedule(0)."""
    ours = optimizers.SGD(schedules.ExponentialDecay(0.1, 3, 0.5), momentum=0.9)
    theirs = K.SGD(K.schedules.ExponentialDecay(0.1, 3, 0.5), momentum=0.9)
    for got, expected in zip(run_ours(ours), run_keras(theirs)):
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


S = keras.optimizers.schedules
# (id, ours, Keras's); the course's PowerDecay with power 1 is Keras's InverseTimeDecay and
# its StepDecay is a staircase ExponentialDecay. OneCycle has no Keras counterpart.
# CosineDecay, CosineDecayRestarts and PolynomialDecay take Keras's arguments and defaults.
SCHEDULES = [
    ("ExponentialDecay", lambda: schedules.ExponentialDecay(0.1, 10, 0.5),
     lambda: S.ExponentialDecay(0.1, 10, 0.5)),
    ("ExponentialDecay-staircase", lambda: schedules.ExponentialDecay(0.1, 7, 0.3, staircase=True),
     lambda: S.ExponentialDecay(0.1, 7, 0.3, staircase=True)),
    ("InverseTimeDecay", lambda: schedules.InverseTimeDecay(0.1, 10, 2.0),
     lambda: S.InverseTimeDecay(0.1, 10, 2.0)),
    ("InverseTimeDecay-staircase", lambda: schedules.InverseTimeDecay(0.1, 10, 2.0, staircase=True),
     lambda: S.InverseTimeDecay(0.1, 10, 2.0, staircase=True)),
    ("PiecewiseConstantDecay",
     lambda: schedules.PiecewiseConstantDecay([10, 20, 30], [0.4, 0.3, 0.2, 0.1]),
     lambda: S.PiecewiseConstantDecay([10, 20, 30], [0.4, 0.3, 0.2, 0.1])),
    ("PowerDecay-power-1", lambda: schedules.PowerDecay(0.05, 8, power=1.0),
     lambda: S.InverseTimeDecay(0.05, 8, 1.0)),
    ("StepDecay", lambda: schedules.StepDecay(0.1, 5, 0.5),
     lambda: S.ExponentialDecay(0.1, 5, 0.5, staircase=True)),
    # the cosine and polynomial schedules reach their ends inside the 100 steps compared
    ("CosineDecay", lambda: schedules.CosineDecay(0.1, 60), lambda: S.CosineDecay(0.1, 60)),
    ("CosineDecay-alpha", lambda: schedules.CosineDecay(0.1, 37, alpha=0.1),
     lambda: S.CosineDecay(0.1, 37, alpha=0.1)),
    ("CosineDecay-warmup-from-0",
     lambda: schedules.CosineDecay(0.0, 50, alpha=0.05, warmup_target=0.2, warmup_steps=10),
     lambda: S.CosineDecay(0.0, 50, alpha=0.05, warmup_target=0.2, warmup_steps=10)),
    ("CosineDecay-warmup",
     lambda: schedules.CosineDecay(0.01, 40, warmup_target=0.3, warmup_steps=7),
     lambda: S.CosineDecay(0.01, 40, warmup_target=0.3, warmup_steps=7)),
    ("CosineDecayRestarts", lambda: schedules.CosineDecayRestarts(0.1, 10),
     lambda: S.CosineDecayRestarts(0.1, 10)),
    ("CosineDecayRestarts-t_mul-1",
     lambda: schedules.CosineDecayRestarts(0.1, 12, t_mul=1.0, m_mul=0.8, alpha=0.1),
     lambda: S.CosineDecayRestarts(0.1, 12, t_mul=1.0, m_mul=0.8, alpha=0.1)),
    ("CosineDecayRestarts-t_mul-3",
     lambda: schedules.CosineDecayRestarts(0.1, 7, t_mul=3.0, m_mul=0.5, alpha=0.01),
     lambda: S.CosineDecayRestarts(0.1, 7, t_mul=3.0, m_mul=0.5, alpha=0.01)),
    ("CosineDecayRestarts-t_mul-1.5",
     lambda: schedules.CosineDecayRestarts(0.2, 9, t_mul=1.5, m_mul=0.9),
     lambda: S.CosineDecayRestarts(0.2, 9, t_mul=1.5, m_mul=0.9)),
    ("PolynomialDecay", lambda: schedules.PolynomialDecay(0.1, 60),
     lambda: S.PolynomialDecay(0.1, 60)),
    ("PolynomialDecay-power-2", lambda: schedules.PolynomialDecay(0.1, 17, 0.001, power=2.0),
     lambda: S.PolynomialDecay(0.1, 17, 0.001, power=2.0)),
    ("PolynomialDecay-cycle",
     lambda: schedules.PolynomialDecay(0.1, 30, end_learning_rate=0.01, power=0.5, cycle=True),
     lambda: S.PolynomialDecay(0.1, 30, end_learning_rate=0.01, power=0.5, cycle=True)),
]


@pytest.mark.parametrize("label, ours, theirs", SCHEDULES, ids=[c[0] for c in SCHEDULES])
def test_schedule_matches_keras_in_float64(label, ours, theirs, keras_in_float64):
    ours, theirs = ours(), theirs()
    steps = np.arange(0, 100)                           # boundaries and staircase edges included
    expected = np.array([float(theirs(int(k))) for k in steps])
    np.testing.assert_allclose(ours(steps), expected, rtol=1e-14, err_msg=label)
    np.testing.assert_allclose([ours(int(k)) for k in steps], expected, rtol=1e-14, err_msg=label)


@pytest.mark.parametrize("label, ours, theirs", SCHEDULES, ids=[c[0] for c in SCHEDULES])
def test_schedule_matches_keras_in_float32(label, ours, theirs, keras_in_float32):
    ours, theirs = ours(), theirs()
    steps = np.arange(0, 100)
    expected = np.array([float(theirs(int(k))) for k in steps])
    assert np.asarray(theirs(3)).dtype == np.float32
    # atol: where a cosine schedule nears 0, float32's rounding of pi * x (about 1e-7 of a
    # radian) is no longer small relative to the rate, but stays small against its scale (<= 0.3)
    np.testing.assert_allclose(ours(steps), expected, rtol=1e-6, atol=1e-7, err_msg=label)


def test_restart_step_is_at_the_top_where_keras_may_round_it_to_the_bottom(keras_in_float64):
    """The one deliberate difference: Keras finds the period from a floor of a quotient of
    logarithms, which the platform's log can leave just below 5 at step 121 here (the sixth
    restart; numpy 2 on this CPU does, numpy 1.24 does not), so Keras gives the bottom of the
    fifth period or the top of the sixth; ours starts the sixth period on every platform."""
    ours = schedules.CosineDecayRestarts(1.0, 1, t_mul=3.0)
    theirs = S.CosineDecayRestarts(1.0, 1, t_mul=3.0)
    keras_value = float(theirs(121))
    assert min(abs(keras_value), abs(keras_value - 1.0)) < 1e-12    # one edge or the other
    assert ours(121) == pytest.approx(1.0)
    elsewhere = [k / 4 for k in range(0, 600) if k / 4 != 121]
    np.testing.assert_allclose(ours(np.array(elsewhere)), [float(theirs(k)) for k in elsewhere],
                               rtol=1e-12, atol=1e-15)
