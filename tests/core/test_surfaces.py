"""Tests of course_lib.surfaces: gradients, minima, the one descent loop, settling steps."""
import warnings

import numpy as np
import pytest

from course_lib import optimizers
from course_lib.optimizers import SGD, Adam
from course_lib.surfaces import SURFACES, Descent, Surface, Trajectory, settling_step, trajectory

NAMES = list(SURFACES)


def numerical_gradient(surface, p, h=1e-6):
    p = np.asarray(p, dtype=np.float64)
    grad = np.zeros(2)
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        grad[i] = (surface.value(*(p + e)) - surface.value(*(p - e))) / (2 * h)
    return grad


def numerical_hessian_max_eigenvalue(surface, p, h=1e-4):
    p = np.asarray(p, dtype=np.float64)
    hessian = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            hessian[i, j] = (surface.value(*(p + ei + ej)) - surface.value(*(p + ei - ej))
                             - surface.value(*(p - ei + ej)) + surface.value(*(p - ei - ej))) / (4 * h * h)
    return np.linalg.eigvalsh(hessian).max()


def test_the_four_surfaces_exist():
    assert {"quadratic", "rosenbrock", "saddle", "multimodal"} <= set(SURFACES)
    assert all(isinstance(s, Surface) for s in SURFACES.values())


@pytest.mark.parametrize("name", NAMES)
def test_analytic_gradient_matches_numerical(name):
    surface = SURFACES[name]
    rng = np.random.default_rng(1)
    points = np.column_stack([rng.uniform(*surface.xlim, 25), rng.uniform(*surface.ylim, 25)])
    for p in points:
        num = numerical_gradient(surface, p)
        np.testing.assert_allclose(surface.gradient(p), num, rtol=1e-5, atol=1e-6)
    # vectorised form: (n, 2) points in, (n, 2) gradients out
    batch = surface.gradient(points)
    assert batch.shape == points.shape
    np.testing.assert_allclose(batch[3], surface.gradient(points[3]))


@pytest.mark.parametrize("name", NAMES)
def test_minima_and_saddles_have_zero_gradient(name):
    surface = SURFACES[name]
    assert surface.minima
    for p in surface.minima + surface.saddle_points:
        assert np.linalg.norm(surface.gradient(p)) < 1e-8
    for p in surface.minima:       # a minimum: every small move goes up
        for angle in np.linspace(0, 2 * np.pi, 12, endpoint=False):
            step = 1e-3 * np.array([np.cos(angle), np.sin(angle)])
            assert surface.value(*(np.array(p) + step)) > surface.value(*p)
    values = [surface.value(*p) for p in surface.minima]
    assert values[0] == min(values)   # the global minimum is listed first


@pytest.mark.parametrize("name", NAMES)
def test_curvature_max_is_the_largest_hessian_eigenvalue_at_the_minimum(name):
    surface = SURFACES[name]
    assert surface.curvature_max == pytest.approx(
        numerical_hessian_max_eigenvalue(surface, surface.minima[0]), rel=1e-4)


def test_multimodal_minima_are_all_the_local_minima():
    surface = SURFACES["multimodal"]
    X, Y, Z = surface.grid(301)
    inner = Z[1:-1, 1:-1]
    is_min = np.ones_like(inner, dtype=bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx or dy:
                is_min &= inner < Z[1 + dy: Z.shape[0] - 1 + dy, 1 + dx: Z.shape[1] - 1 + dx]
    found = np.column_stack([X[1:-1, 1:-1][is_min], Y[1:-1, 1:-1][is_min]])
    assert len(found) == len(surface.minima) >= 3
    for p in found:
        assert min(np.hypot(*(p - np.array(m))) for m in surface.minima) < 0.05


def test_saddle_point_is_a_saddle():
    surface = SURFACES["saddle"]
    assert surface.saddle_points == [(0.0, 0.0)]
    assert surface.value(0.1, 0.0) > 0 > surface.value(0.0, 0.1)


def test_value_is_vectorised_and_grid_is_cached():
    surface = SURFACES["rosenbrock"]
    X, Y, Z = surface.grid(50)
    assert X.shape == Y.shape == Z.shape == (50, 50)
    assert X[0, 0] == surface.xlim[0] and X[0, -1] == surface.xlim[1]
    assert Y[0, 0] == surface.ylim[0] and Y[-1, 0] == surface.ylim[1]
    assert Z[7, 9] == pytest.approx(surface.value(X[7, 9], Y[7, 9]))
    assert surface.grid(50)[2] is Z
    with pytest.raises(ValueError):
        Z[0, 0] = 1.0                     # read-only: the cache cannot be corrupted
    # Rosenbrock at a few points by hand: 0.5 * ((1 - x)^2 + 10 (y - x^2)^2)
    assert surface.value(0.0, 0.0) == pytest.approx(0.5)
    assert surface.value(-1.0, 2.0) == pytest.approx(0.5 * (4 + 10))


def test_quadratic_by_hand():
    surface = SURFACES["quadratic"]
    assert surface.value(2.0, 1.0) == pytest.approx(0.5 * (4 + 10))
    np.testing.assert_allclose(surface.gradient([2.0, 1.0]), [2.0, 10.0])
    assert surface.curvature_max == 10.0


@pytest.mark.parametrize("factor, diverges", [(0.9, False), (0.99, False), (1.01, True), (1.2, True)])
def test_gradient_descent_diverges_exactly_above_two_over_l(factor, diverges):
    surface = SURFACES["quadratic"]
    lr = factor * 2.0 / surface.curvature_max
    path = trajectory(SGD(lr), surface, steps=2000)
    assert path.diverged is diverges
    if diverges:
        assert path.diverged_at is not None and len(path.points) == path.diverged_at
    else:
        assert path.diverged_at is None and len(path.points) == 2001
        assert np.linalg.norm(path.points[-1]) < 1e-3


def test_divergence_stops_cleanly_without_warnings():
    surface = SURFACES["rosenbrock"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for display_name in optimizers.OPTIMIZER_NAMES:
            path = trajectory(optimizers.get(display_name, learning_rate=5.0), surface, steps=300)
            assert np.all(np.isfinite(path.points)) and np.all(np.isfinite(path.losses))
            assert len(path.points) == len(path.losses)
        path = trajectory(SGD(1.0), surface, steps=300)
    assert path.diverged and path.diverged_at < 300
    (xlow, xhigh), (ylow, yhigh) = surface.escape_box()
    assert np.all((xlow <= path.points[:, 0]) & (path.points[:, 0] <= xhigh))


def test_momentum_reaches_the_quadratic_minimum_sooner_than_gradient_descent():
    surface = SURFACES["quadratic"]
    lr = 0.02
    plain = trajectory(SGD(lr), surface, steps=3000)
    momentum = trajectory(SGD(lr, momentum=0.9), surface, steps=3000)
    steps_plain = plain.steps_to_reach(surface.minima[0], tol=1e-3)
    steps_momentum = momentum.steps_to_reach(surface.minima[0], tol=1e-3)
    assert steps_plain is not None and steps_momentum is not None
    assert steps_momentum < steps_plain / 2   # rates 0.98 vs sqrt(0.9) = 0.95 per step


def test_trajectory_uses_the_optimizer_step_and_resets_it():
    surface = SURFACES["quadratic"]
    opt = SGD(0.1)
    path = trajectory(opt, surface, start=(1.0, 1.0), steps=3)
    # plain gradient descent by hand: x <- x - 0.1 x, y <- y - 0.1 * 10 y
    np.testing.assert_allclose(path.points, [[1, 1], [0.9, 0], [0.81, 0], [0.729, 0]], atol=1e-15)
    np.testing.assert_allclose(path.losses, [5.5, 0.405, 0.32805, 0.2657205])
    assert opt.iterations == 3
    again = trajectory(opt, surface, start=(1.0, 1.0), steps=3)
    np.testing.assert_array_equal(again.points, path.points)
    assert isinstance(path, Trajectory) and not path.diverged and path.optimizer_name == "SGD"


def test_trajectory_defaults_and_validation():
    surface = SURFACES["saddle"]
    path = trajectory(Adam(0.05), "saddle", steps=10)
    np.testing.assert_array_equal(path.points[0], surface.default_start)
    assert trajectory(Adam(0.05), surface, steps=0).points.shape == (1, 2)
    with pytest.raises(ValueError, match="start"):
        trajectory(Adam(), surface, start=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="start"):
        trajectory(Adam(), surface, start=(np.nan, 0.0))
    with pytest.raises(ValueError, match="steps"):
        trajectory(Adam(), surface, steps=-1)


def test_saddle_momentum_escapes_before_gradient_descent():
    surface = SURFACES["saddle"]
    lr = 0.01
    plain = trajectory(SGD(lr), surface, steps=300)
    momentum = trajectory(SGD(lr, momentum=0.9), surface, steps=300)
    adam = trajectory(Adam(lr), surface, steps=300)

    def escape_step(path):
        far = np.flatnonzero(np.abs(path.points[:, 1]) > 0.5)
        return far[0] if far.size else np.inf

    assert escape_step(momentum) < escape_step(plain)
    assert escape_step(adam) < escape_step(plain)


def test_multimodal_different_optimizers_end_in_different_minima():
    surface = SURFACES["multimodal"]
    ends = set()
    for display_name in ("SGD", "Momentum", "Adam"):
        path = trajectory(optimizers.get(display_name, learning_rate=0.1), surface, steps=300)
        nearest = min(range(len(surface.minima)),
                      key=lambda i: np.hypot(*(path.points[-1] - surface.minima[i])))
        assert np.hypot(*(path.points[-1] - surface.minima[nearest])) < 0.05
        ends.add(nearest)
    assert len(ends) == 3


def test_steps_to_reach():
    points = np.array([[3.0, 0.0], [0.5, 0.0], [0.0, 0.0], [0.2, 0.0], [0.0, 0.0], [0.0, 0.0]])
    path = Trajectory(points, np.zeros(6))
    assert path.steps_to_reach((0.0, 0.0), tol=0.1) == 4      # settles after the bounce
    assert path.steps_to_reach((0.0, 0.0), tol=0.3) == 2
    assert path.steps_to_reach((5.0, 5.0), tol=0.1) is None


def test_settling_step_counts_from_the_last_return():
    inside = np.array([False, True, False, True, True])
    assert settling_step(inside) == 3             # inside at 1, out again at 2, stays from 3
    assert settling_step(np.ones(4, dtype=bool)) == 0
    assert settling_step(inside[:3]) is None      # outside at the last step: never settled
    columns = np.column_stack([inside, np.ones(5, dtype=bool), ~inside])
    assert settling_step(columns) == [3, 0, None]
    with pytest.raises(ValueError, match="inside"):
        settling_step(np.zeros((2, 2, 2), dtype=bool))
    with pytest.raises(ValueError, match="inside"):
        settling_step(np.array([], dtype=bool))


def ring(surface, n):
    angles = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    half = 0.4 * np.array([np.ptp(surface.xlim), np.ptp(surface.ylim)])
    centre = np.array([np.mean(surface.xlim), np.mean(surface.ylim)])
    return centre + half * np.column_stack([np.cos(angles), np.sin(angles)])


@pytest.mark.parametrize("display_name", optimizers.OPTIMIZER_NAMES)
@pytest.mark.parametrize("learning_rate", [0.05, 0.25])   # 0.25 > 2 / L: gradient descent diverges
def test_a_descent_from_many_starts_equals_one_trajectory_per_start(display_name, learning_rate):
    surface = SURFACES["quadratic"]
    starts = ring(surface, 6)
    batch = Descent(optimizers.get(display_name, learning_rate=learning_rate), surface, starts)
    batch.advance(80)
    for j, start in enumerate(starts):
        alone = trajectory(optimizers.get(display_name, learning_rate=learning_rate), surface,
                           start=start, steps=80)
        together = batch.trajectory(j)
        # one (k, 2) array vs k arrays of shape (2,): the arithmetic is elementwise, the same
        np.testing.assert_allclose(together.points, alone.points, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(together.losses, alone.losses, rtol=1e-13, atol=1e-15)
        assert (together.diverged, together.diverged_at) == (alone.diverged, alone.diverged_at)
    if display_name == "SGD" and learning_rate == 0.25:   # the case of a run cut short
        assert any(batch.trajectory(j).diverged for j in range(len(starts)))


def test_a_diverged_run_stops_while_the_others_go_on():
    surface = SURFACES["quadratic"]
    # lr 0.21 > 2 / L diverges along y only: the start on the x axis converges
    starts = np.array([[0.5, 0.0], [0.5, 0.5]])
    descent = Descent(SGD(0.21), surface, starts).advance(300)
    near, far = descent.trajectory(0), descent.trajectory(1)
    assert not near.diverged and len(near.points) == 301
    assert far.diverged and len(far.points) == far.diverged_at
    (xlow, xhigh), (ylow, yhigh) = surface.escape_box()
    assert np.all((xlow <= far.points[:, 0]) & (far.points[:, 0] <= xhigh))


def test_a_descent_advanced_in_parts_equals_one_run():
    surface = SURFACES["rosenbrock"]
    parts = Descent(Adam(0.05), surface)
    parts.advance(30)
    early = parts.trajectory(steps=10)
    parts.advance(70).advance(40)          # asking for fewer steps than taken takes none
    assert parts.steps == 70
    whole = trajectory(Adam(0.05), surface, steps=70)
    np.testing.assert_array_equal(parts.trajectory().points, whole.points)
    np.testing.assert_array_equal(early.points, whole.points[:11])
    with pytest.raises(ValueError, match="steps"):
        parts.trajectory(steps=71)
    with pytest.raises(ValueError, match="run"):
        parts.trajectory(run=1)                # one start: run 0 only


def test_a_descent_validates_its_starts_and_refuses_coupled_runs():
    surface = SURFACES["saddle"]
    with pytest.raises(ValueError, match="surface"):
        Descent(Adam(), "bowl")
    with pytest.raises(ValueError, match="starts"):
        Descent(Adam(), surface, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="starts"):
        Descent(Adam(), surface, [[0.0, np.inf]])
    with pytest.raises(ValueError, match="steps"):
        Descent(Adam(), surface).advance(-1)
    clipped = SGD(0.1)
    clipped.clipnorm = 1.0     # set after construction: works whatever the constructor accepts
    with pytest.raises(ValueError, match="starts"):
        Descent(clipped, surface, np.zeros((2, 2)))
    Descent(clipped, surface, [0.5, 0.5]).advance(3)    # one start: nothing to couple


@pytest.mark.parametrize("surface_name, learning_rate", [("multimodal", 0.3), ("rosenbrock", 0.1)])
def test_optimizers_side_by_side_equal_their_own_trajectories(surface_name, learning_rate):
    surface = SURFACES[surface_name]
    names = ["SGD", "Momentum", "Adam", "Nadam"]
    race = Descent([optimizers.get(n, learning_rate=learning_rate) for n in names], surface)
    race.advance(120)
    if surface_name == "rosenbrock":      # the case of runs cut short while others go on
        assert race.trajectory(0).diverged and not race.trajectory(2).diverged
    for i, name in enumerate(names):
        alone = trajectory(optimizers.get(name, learning_rate=learning_rate), surface, steps=120)
        together = race.trajectory(i)
        # one gradient call for all points: exp on arrays may round the last bit differently
        np.testing.assert_allclose(together.points, alone.points, rtol=1e-12, atol=1e-15)
        assert together.optimizer_name == name
        assert (together.diverged, together.diverged_at) == (alone.diverged, alone.diverged_at)
    with pytest.raises(ValueError, match="starts"):
        Descent([SGD(0.1), Adam(0.1)], surface, np.zeros((3, 2)))
