"""Tests of course_lib.search, the library (the notebook's explorers, exercises and benchmark
results are tested in tests/lessons/test_search_notebook.py)."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from course_lib import search
from course_lib.search import (Choice, GaussianProcess, Integer, Real, SearchResult, Space,
                               bayesian_optimization, coarse_to_fine, expected_improvement,
                               grid_search, grid_size, halving_budgets, hyperband, matern52,
                               random_search, successive_halving)
from course_lib.search.digits import DIGITS_DEFAULTS, DigitsObjective, digits_split
from course_lib.search.functions import (BRANIN_MIN, BRANIN_SPACE, FORRESTER_MIN,
                                         FORRESTER_SPACE, branin, forrester)


def bowl(params):
    """A 2-D quadratic with its minimum 0 at (0.3, 0.7)."""
    return (params["a"] - 0.3) ** 2 + (params["b"] - 0.7) ** 2


BOWL_SPACE = {"a": Real(0.0, 1.0), "b": Real(0.0, 1.0)}


def bowl_with_budget(params, budget):
    """The bowl plus a penalty that shrinks with the budget (like a loss after more epochs)."""
    return bowl(params) + 1.0 / budget


# ----------------------------------------------------------------------------- spaces

@pytest.mark.parametrize("make, message", [
    (lambda: Real(1.0, 1.0), "low < high"),
    (lambda: Real(2.0, 1.0), "low < high"),
    (lambda: Real(0.0, 1.0, log=True), "log=True needs low > 0"),
    (lambda: Real(-1.0, 1.0, log=True), "log=True needs low > 0"),
    (lambda: Real(0.9, 0.999, one_minus=True), "pass log=True"),
    (lambda: Real(0.9, 1.0, log=True, one_minus=True), "high < 1"),
    (lambda: Real(float("nan"), 1.0), "low must be a finite number"),
    (lambda: Integer(5, 5), "low < high"),
    (lambda: Integer(0, 10, log=True), "low >= 1"),
    (lambda: Choice([]), "at least one option"),
    (lambda: Choice(["relu", "relu"]), "distinct"),
    (lambda: Space({}), "at least one hyperparameter"),
])
def test_bad_spaces_are_rejected_with_clear_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make, message", [
    (lambda: Real("a", 1.0), "low must be a finite number"),
    (lambda: Integer(1.5, 4), "low must be an integer"),
    (lambda: Choice("relu"), "list of options"),
    (lambda: Space({"lr": (1e-4, 1.0)}), r"Real\(low, high\)"),
    (lambda: Space([("lr", Real(0, 1))]), "must be a dict"),
    (lambda: Real(0.0, 1.0, log="yes"), "True or False"),
])
def test_bad_types_are_rejected_with_type_errors(make, message):
    with pytest.raises(TypeError, match=message):
        make()


def test_uniform_sampling_of_1e_4_to_1_puts_90_percent_in_the_top_decade():
    rng = np.random.default_rng(0)
    samples = np.array(Real(1e-4, 1.0).sample(rng, 20000))
    share_top = np.mean(samples >= 0.1)
    assert abs(share_top - (1 - 0.1) / (1 - 1e-4)) < 0.01


def test_log_sampling_puts_a_quarter_in_each_of_the_four_decades():
    samples = np.array(Real(1e-4, 1.0, log=True).sample(np.random.default_rng(1), 20000))
    counts, _ = np.histogram(samples, bins=[1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    assert np.all(np.abs(counts / 20000 - 0.25) < 0.015)
    assert samples.min() >= 1e-4 and samples.max() <= 1.0


def test_one_minus_beta_sampling_gives_each_decade_of_1_minus_beta_half():
    dim = Real(0.9, 0.999, log=True, one_minus=True)
    betas = np.array(dim.sample(np.random.default_rng(2), 20000))
    assert betas.min() >= 0.9 and betas.max() <= 0.999
    assert abs(np.mean(betas < 0.99) - 0.5) < 0.015
    # Linear sampling of the same range puts 10/11 of the betas below 0.99.
    linear = np.array(Real(0.9, 0.999).sample(np.random.default_rng(2), 20000))
    assert abs(np.mean(linear < 0.99) - 0.09 / 0.099) < 0.015


def test_encode_decode_round_trip_and_one_hot_choices():
    space = Space({"lr": Real(1e-4, 1.0, log=True), "units": Integer(16, 256, log=True),
                   "act": Choice(["relu", "tanh", "elu"])})
    points = space.sample(np.random.default_rng(3), 50)
    u = space.encode(points)
    assert u.shape == (50, 5) and np.all((u >= 0) & (u <= 1))
    assert np.allclose(u[:, 2:].sum(axis=1), 1.0)
    back = space.decode(u)
    for p, q in zip(points, back):
        assert math.isclose(p["lr"], q["lr"], rel_tol=1e-9)
        assert p["units"] == q["units"] and p["act"] == q["act"]
    # The middle of the log scale of 1e-4..1 is 1e-2.
    assert math.isclose(space["lr"].from_unit([[0.5]])[0], 1e-2, rel_tol=1e-12)


def test_integer_values_get_equal_cells_and_cover_both_ends():
    values = Integer(1, 4).sample(np.random.default_rng(4), 40000)
    counts = np.bincount(values, minlength=5)[1:]
    assert np.all(np.abs(counts / 40000 - 0.25) < 0.015)


def test_grid_cost_is_the_product_of_the_values_per_hyperparameter():
    space = {f"h{i}": Real(0.0, 1.0) for i in range(5)}
    assert grid_size(space, 5) == 5 ** 5 == 3125
    mixed = {"lr": Real(1e-4, 1, log=True), "act": Choice(["relu", "tanh"])}
    assert grid_size(mixed, 3) == 3 * 2


def test_narrowed_space_keeps_the_centre_and_the_zoom_fraction_of_the_scale():
    dim = Real(1e-4, 1.0, log=True)
    small = dim.narrowed(1e-2, 0.25)
    assert small.low <= 1e-2 <= small.high
    assert math.isclose(math.log10(small.high) - math.log10(small.low), 1.0, rel_tol=1e-9)
    edge = dim.narrowed(1.0, 0.25)           # shifted inside, not cut
    assert math.isclose(edge.high, 1.0) and math.isclose(edge.low, 0.1, rel_tol=1e-9)


# ------------------------------------------------------------------------- the GP

def _matern_by_hand(r, s2):
    return s2 * (1 + math.sqrt(5) * r + 5 * r * r / 3) * math.exp(-math.sqrt(5) * r)


def test_matern52_matches_its_formula_with_length_scales_per_dimension():
    a, b = np.array([[0.1, 0.5]]), np.array([[0.4, 0.1]])
    lengths = np.array([0.3, 2.0])
    r = math.sqrt(((0.1 - 0.4) / 0.3) ** 2 + ((0.5 - 0.1) / 2.0) ** 2)
    assert math.isclose(matern52(a, b, lengths, 1.7)[0, 0], _matern_by_hand(r, 1.7), rel_tol=1e-12)
    assert math.isclose(matern52(a, a, lengths, 1.7)[0, 0], 1.7)


def test_gp_posterior_with_one_observation_matches_the_closed_form():
    x0, y0, l, s2, noise = 0.3, 2.0, 0.2, 1.5, 0.1
    gp = GaussianProcess(length_scales=l, signal_variance=s2, noise_variance=noise,
                         normalize_y=False).fit([[x0]], [y0], optimize=False)
    xs = np.array([0.3, 0.35, 0.6, 5.0])
    mean, std = gp.predict(xs[:, None])
    for x, m, s in zip(xs, mean, std):
        k = _matern_by_hand(abs(x - x0) / l, s2)
        assert math.isclose(m, k / (s2 + noise) * y0, rel_tol=1e-6)
        assert math.isclose(s, math.sqrt(s2 - k * k / (s2 + noise)), rel_tol=1e-6)
    # Far away, the GP falls back to its prior: mean 0, std sqrt(s2).
    assert abs(mean[-1]) < 1e-7 and math.isclose(std[-1], math.sqrt(s2), rel_tol=1e-6)


def test_gp_posterior_with_two_observations_matches_the_2x2_inverse():
    X, y, l, s2, noise = np.array([0.2, 0.5]), np.array([1.0, -1.0]), 0.3, 1.0, 1e-3
    gp = GaussianProcess(length_scales=l, signal_variance=s2, noise_variance=noise,
                         normalize_y=False).fit(X[:, None], y, optimize=False)
    x = 0.4
    k12 = _matern_by_hand(0.3 / l, s2)
    a, d = s2 + noise, s2 + noise
    inv = np.array([[d, -k12], [-k12, a]]) / (a * d - k12 * k12)
    ks = np.array([_matern_by_hand(abs(x - xi) / l, s2) for xi in X])
    mean, std = gp.predict([[x]])
    assert math.isclose(mean[0], ks @ inv @ y, rel_tol=1e-6)
    assert math.isclose(std[0] ** 2, s2 - ks @ inv @ ks, rel_tol=1e-5)


def test_gp_interpolates_noise_free_data():
    X = np.linspace(0, 1, 6)[:, None]
    y = np.sin(6 * X[:, 0])
    gp = GaussianProcess(length_scales=0.3, noise_variance=1e-8).fit(X, y, optimize=False)
    mean, std = gp.predict(X)
    assert np.allclose(mean, y, atol=1e-4) and np.all(std < 1e-3)


def test_gp_log_marginal_likelihood_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    X = rng.random((12, 3))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.05 * rng.normal(size=12)
    gp = GaussianProcess(length_scales=[0.3, 0.5, 0.8], noise_variance=1e-2).fit(X, y, optimize=False)
    theta = gp.theta
    value, grad = gp.log_marginal_likelihood(theta, return_grad=True)
    h = 1e-6
    numeric = [(gp.log_marginal_likelihood(theta + h * e) - gp.log_marginal_likelihood(theta - h * e))
               / (2 * h) for e in np.eye(len(theta))]
    assert np.allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def _sklearn_gp(l, s2, noise, optimize=False):
    """scikit-learn's GP with the same kernel (the test is skipped without scikit-learn)."""
    sklearn_gp = pytest.importorskip("sklearn.gaussian_process")
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern
    kernel = ConstantKernel(s2, (5e-2, 2e1)) * Matern(length_scale=l, length_scale_bounds=(1e-2, 1e1), nu=2.5)
    return sklearn_gp.GaussianProcessRegressor(kernel=kernel, alpha=noise, normalize_y=True,
                                               optimizer="fmin_l_bfgs_b" if optimize else None,
                                               n_restarts_optimizer=5 if optimize else 0,
                                               random_state=0)


def test_gp_predictions_and_likelihood_match_scikit_learn():
    rng = np.random.default_rng(6)
    X = rng.random((15, 2))
    y = np.cos(4 * X[:, 0]) * X[:, 1] + 3.0
    lengths, s2, noise = np.array([0.4, 0.9]), 0.8, 1e-4
    ours = GaussianProcess(length_scales=lengths, signal_variance=s2, noise_variance=noise)
    ours.fit(X, y, optimize=False)
    theirs = _sklearn_gp(lengths, s2, noise + 1e-10).fit(X, y)
    Xs = rng.random((20, 2))
    mean, std = ours.predict(Xs)
    their_mean, their_std = theirs.predict(Xs, return_std=True)
    assert np.allclose(mean, their_mean, rtol=1e-6, atol=1e-8)
    assert np.allclose(std, their_std, rtol=1e-4, atol=1e-7)
    assert math.isclose(ours.log_marginal_likelihood(), theirs.log_marginal_likelihood_value_,
                        rel_tol=1e-6)


def test_gp_fit_reaches_the_likelihood_scikit_learn_reaches():
    rng = np.random.default_rng(7)
    X = rng.random((20, 2))
    y = np.sin(5 * X[:, 0]) + 0.1 * X[:, 1]
    ours = GaussianProcess(length_scales=[0.5, 0.5], noise_variance=1e-4,
                           bounds={"noise_variance": (1e-10 + 1e-4, 1e-4 + 2e-10)})
    ours.fit(X, y, optimize=True, n_restarts=5, rng=0)
    with warnings.catch_warnings():      # scikit-learn notes a length scale at its bound
        warnings.simplefilter("ignore")
        theirs = _sklearn_gp(np.array([0.5, 0.5]), 1.0, 1e-4, optimize=True).fit(X, y)
    assert ours.log_marginal_likelihood() >= theirs.log_marginal_likelihood_value_ - 1e-2


# -------------------------------------------------------------- expected improvement

def test_expected_improvement_matches_its_formula():
    norm = pytest.importorskip("scipy.stats").norm
    mean = np.array([0.1, 0.3, 0.5, 2.0, -1.0])
    std = np.array([0.2, 0.05, 1.0, 0.3, 0.4])
    best, xi = 0.25, 0.02
    z = (best - xi - mean) / std
    expected = (best - xi - mean) * norm.cdf(z) + std * norm.pdf(z)
    assert np.allclose(expected_improvement(mean, std, best, xi), expected, rtol=1e-10, atol=1e-300)


def test_expected_improvement_is_positive_in_the_far_tail_and_exact_without_uncertainty():
    ei = expected_improvement(np.array([20.0, 30.0]), np.array([1.0, 1.0]), 0.0)
    assert np.all(ei > 0) and np.all(np.isfinite(ei)) and ei[0] > ei[1]
    # z = -20: EI = phi(z) * (1/z^2 - 3/z^4 + ...), about 5.5e-90 * 0.0025 * (1 - 0.0075).
    phi = math.exp(-200) / math.sqrt(2 * math.pi)
    assert math.isclose(ei[0], phi / 400 * (1 - 3 / 400 + 15 / 400 ** 2), rel_tol=1e-4)
    certain = expected_improvement(np.array([0.1, 0.5]), np.array([0.0, 0.0]), 0.3)
    assert np.allclose(certain, [0.2, 0.0])


# ------------------------------------------------------------------------ strategies

def test_grid_search_finds_the_optimum_when_it_is_a_cell_centre():
    result = grid_search(lambda p: (p["x"] - 0.3) ** 2, {"x": Real(0.0, 1.0)}, points_per_dim=5)
    assert len(result) == 5 and result.best_params["x"] == pytest.approx(0.3)
    assert result.best_score == pytest.approx(0.0, abs=1e-15)


def test_grid_search_takes_the_largest_grid_within_the_budget():
    result = grid_search(bowl, BOWL_SPACE, n_trials=30, seed=0)
    assert len(result) == 25
    with pytest.raises(ValueError, match="more than n_trials"):
        grid_search(bowl, BOWL_SPACE, n_trials=10, points_per_dim=4)


def test_random_search_gets_close_to_a_known_optimum():
    result = random_search(bowl, BOWL_SPACE, n_trials=200, seed=0)
    assert len(result) == 200 and result.best_score < 2e-3


def test_coarse_to_fine_zooms_in_and_beats_its_first_round():
    result = coarse_to_fine(bowl, BOWL_SPACE, n_trials=30, seed=0, n_rounds=3, zoom=0.3)
    rounds = [t.info["round"] for t in result.trials]
    assert rounds == [1] * 10 + [2] * 10 + [3] * 10
    widths = [t.info["bounds"]["a"][1] - t.info["bounds"]["a"][0] for t in result.trials[::10]]
    assert np.allclose(widths, [1.0, 0.3, 0.09])
    first_round_best = min(t.score for t in result.trials[:10])
    assert result.best_score < first_round_best / 10


def test_bayesian_optimization_finds_the_minimum_of_the_forrester_curve():
    result = bayesian_optimization(forrester, FORRESTER_SPACE, n_trials=12, seed=0)
    assert result.best_score - FORRESTER_MIN < 1e-3
    assert abs(result.best_params["x"] - 0.7572) < 0.01
    assert [t.info["phase"] for t in result.trials[:5]] == ["initial"] * 5


def test_bayesian_optimization_beats_random_search_on_branin():
    bo = bayesian_optimization(branin, BRANIN_SPACE, n_trials=25, seed=0)
    rs = random_search(branin, BRANIN_SPACE, n_trials=25, seed=0)
    assert bo.best_score - BRANIN_MIN < 0.05 < rs.best_score - BRANIN_MIN


def test_bayesian_optimization_handles_integers_and_choices():
    space = {"x": Real(-2.0, 2.0), "n": Integer(1, 9), "kind": Choice(["flat", "bowl"])}

    def objective(p):
        return (p["x"] - 0.5) ** 2 + (p["n"] - 6) ** 2 / 10 + (0.0 if p["kind"] == "bowl" else 1.0)

    result = bayesian_optimization(objective, space, n_trials=25, seed=1)
    assert result.best_params["kind"] == "bowl" and result.best_params["n"] == 6
    assert result.best_score < 0.02


def test_failed_trials_count_as_worst_and_do_not_break_the_model():
    calls = []

    def flaky(p):
        calls.append(p)
        return float("nan") if p["a"] > 0.8 else bowl(p)

    result = bayesian_optimization(flaky, BOWL_SPACE, n_trials=15, seed=2)
    assert all(t.score == math.inf for t in result.trials if t.params["a"] > 0.8)
    assert math.isfinite(result.best_score)


def test_squash_keeps_the_order_leaves_good_scores_alone_and_is_undone_by_unsquash():
    y = np.array([-3.0, 0.0, 1.0, 2.0, 10.0, 1e6])
    t = search.squash(y, center=1.0, scale=2.0)
    assert np.all(np.diff(t) > 0)
    assert np.array_equal(t[:3], y[:3])
    assert t[-1] - 1.0 == pytest.approx(2.0 * math.log1p((1e6 - 1.0) / 2.0))
    assert np.allclose(search.unsquash(t, center=1.0, scale=2.0), y)
    center, scale = search.squash_parameters(y)      # median 1.5, quartiles 0.25 and 8
    assert center == 1.5 and scale == pytest.approx(7.75 / 1.349)
    assert np.array_equal(search.squash(y), search.squash(y, center, scale))


def test_a_diverged_trial_does_not_flatten_the_model_around_the_good_ones():
    def modelled_gap(last_score, squash_scores):
        """The gap between the two best scores, in standard deviations of what the GP sees."""
        optimizer = search.BayesianOptimizer(BOWL_SPACE, seed=0, squash_scores=squash_scores)
        for a, b in [(0.3, 0.7), (0.35, 0.7), (0.5, 0.5), (0.1, 0.9), (0.9, 0.1)]:
            optimizer.tell({"a": a, "b": b}, bowl({"a": a, "b": b}))
        optimizer.tell({"a": 1.0, "b": 0.0}, last_score)
        _, y = optimizer._data()
        return (y[1] - y[0]) / np.std(y)
    normal = bowl({"a": 1.0, "b": 0.0})
    # A sixth trial that diverged (score 1e4) shrinks the gap ~10,000 times for a plain
    # model, and less than 10 times once the scores are squashed.
    assert modelled_gap(1e4, False) < modelled_gap(normal, False) / 5000
    assert modelled_gap(1e4, True) > modelled_gap(normal, True) / 10


def test_bayesian_optimizer_predicts_in_the_units_of_the_score():
    optimizer = search.BayesianOptimizer(BOWL_SPACE, seed=0)
    points = search.Space(BOWL_SPACE).sample(np.random.default_rng(1), 12)
    scores = [bowl(p) * 100.0 for p in points]        # a wide range, so most are squashed
    for p, s in zip(points, scores):
        optimizer.tell(p, s)
    optimizer.fit_model()
    median, low, high = optimizer.predict(points)
    assert np.allclose(median, scores, rtol=0.05, atol=0.5)
    assert np.all(low <= median) and np.all(median <= high)
    far = optimizer.predict([{"a": 0.0, "b": 1.0}])
    assert far[2][0] - far[1][0] > 0


def test_bayesian_optimizer_needs_a_finite_score_and_a_fitted_model():
    optimizer = search.BayesianOptimizer(BOWL_SPACE, seed=0)
    with pytest.raises(RuntimeError, match="fit the model first"):
        optimizer.predict([{"a": 0.5, "b": 0.5}])
    optimizer.tell({"a": 0.5, "b": 0.5}, math.inf)
    with pytest.raises(RuntimeError, match="at least one finite score"):
        optimizer.fit_model()


def test_objective_must_return_a_number():
    with pytest.raises(TypeError, match="must return a number"):
        random_search(lambda p: "good", BOWL_SPACE, n_trials=2, seed=0)


def test_successive_halving_promotes_the_best_third_with_budgets_times_eta():
    result = successive_halving(bowl_with_budget, BOWL_SPACE, max_budget=27, eta=3, seed=0)
    rungs = [t.info["rung"] for t in result.trials]
    assert [rungs.count(r) for r in range(4)] == [27, 9, 3, 1]
    assert sorted({t.budget for t in result.trials}) == [1, 3, 9, 27]
    for rung in range(3):
        scores = {tuple(t.params.items()): t.score for t in result.trials if t.info["rung"] == rung}
        promoted = [tuple(t.params.items()) for t in result.trials if t.info["rung"] == rung + 1]
        threshold = sorted(scores.values())[len(promoted) - 1]
        assert all(scores[p] <= threshold for p in promoted)
    assert result.best_trial.budget == 27
    assert result.best_score - 1 / 27 < 0.02
    assert result.total_trainings == pytest.approx((27 * 1 + 9 * 3 + 3 * 9 + 27) / 27)


def test_hyperband_runs_its_brackets_and_finds_the_optimum():
    result = hyperband(bowl_with_budget, BOWL_SPACE, max_budget=27, eta=3, seed=0)
    starts = {}
    for t in result.trials:
        if t.info["rung"] == 0:
            starts[t.info["bracket"]] = starts.get(t.info["bracket"], 0) + 1
    # s_max = 3: n = ceil(4 / (s + 1) * 3^s) configurations in bracket s.
    assert starts == {3: 27, 2: 12, 1: 6, 0: 4}
    assert halving_budgets(27, 4, 3) == [1, 3, 9, 27]
    assert result.best_score - 1 / 27 < 0.02


@pytest.mark.parametrize("strategy, kwargs", [
    (grid_search, {"n_trials": 16}), (random_search, {"n_trials": 10}),
    (coarse_to_fine, {"n_trials": 12}), (bayesian_optimization, {"n_trials": 10}),
])
def test_seeded_runs_are_reproducible(strategy, kwargs):
    a = strategy(bowl, BOWL_SPACE, seed=3, **kwargs)
    b = strategy(bowl, BOWL_SPACE, seed=3, **kwargs)
    c = strategy(bowl, BOWL_SPACE, seed=4, **kwargs)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.params for t in a.trials] != [t.params for t in c.trials]


def test_budget_strategies_are_reproducible():
    for strategy in (successive_halving, hyperband):
        a = strategy(bowl_with_budget, BOWL_SPACE, max_budget=9, seed=5)
        b = strategy(bowl_with_budget, BOWL_SPACE, max_budget=9, seed=5)
        assert [(t.params, t.budget) for t in a.trials] == [(t.params, t.budget) for t in b.trials]


def test_constant_liar_proposes_distinct_points_while_trials_are_pending():
    optimizer = search.BayesianOptimizer(BOWL_SPACE, seed=0, n_initial=4)
    for _ in range(4):
        p = optimizer.ask()
        optimizer.tell(p, bowl(p))
    batch = [optimizer.ask() for _ in range(3)]       # three pending at once
    assert len(optimizer.pending) == 3
    units = search.Space(BOWL_SPACE).encode(batch)
    gaps = [np.linalg.norm(units[i] - units[j]) for i in range(3) for j in range(i)]
    assert min(gaps) > 1e-3
    result = bayesian_optimization(bowl, BOWL_SPACE, n_trials=12, seed=0, n_parallel=3)
    again = bayesian_optimization(bowl, BOWL_SPACE, n_trials=12, seed=0, n_parallel=3)
    assert [t.params for t in result.trials] == [t.params for t in again.trials]


def test_best_so_far_curves_never_increase_and_count_trainings():
    result = hyperband(bowl_with_budget, BOWL_SPACE, max_budget=9, seed=0)
    for axis in ("trials", "trainings", "seconds"):
        xs, best = result.best_so_far(axis)
        assert len(xs) == len(best) == len(result)
        assert np.all(np.diff(best) <= 0) and np.all(np.diff(xs) >= 0)
    xs, _ = result.best_so_far("trainings")
    assert xs[-1] == pytest.approx(sum(t.budget for t in result.trials) / 9)
    restored = SearchResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert restored.best_params == result.best_params and restored.best_score == result.best_score


# ------------------------------------------------------------------------- executors

def test_caviar_runs_a_locally_defined_objective_in_processes_with_the_same_results():
    pytest.importorskip("loky")
    offset = 0.25

    def local_objective(params):            # a closure: plain pickle cannot ship it
        return (params["a"] - offset) ** 2 + params["b"]

    panda = random_search(local_objective, BOWL_SPACE, n_trials=6, seed=0)
    caviar = random_search(local_objective, BOWL_SPACE, n_trials=6, seed=0, executor="caviar")
    assert [t.score for t in panda.trials] == [t.score for t in caviar.trials]
    bo = bayesian_optimization(local_objective, BOWL_SPACE, n_trials=8, seed=0, executor="caviar",
                               n_initial=4)
    assert len(bo) == 8


def test_dask_executor_runs_the_trials():
    distributed = pytest.importorskip("dask.distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            result = random_search(bowl, BOWL_SPACE, n_trials=6, seed=0,
                                   executor=client.get_executor())
    reference = random_search(bowl, BOWL_SPACE, n_trials=6, seed=0)
    assert [t.score for t in result.trials] == [t.score for t in reference.trials]


def test_bad_executor_is_rejected():
    with pytest.raises(TypeError, match="executor must be"):
        random_search(bowl, BOWL_SPACE, n_trials=2, executor="fast")


# ------------------------------------------------------------------ the digits objective

def test_digits_objective_trains_on_the_course_split_loaded_once_and_read_only():
    from course_lib.data import digits_splits
    split = digits_split(600)
    assert digits_split(600) is split                     # one load per size and process
    for ours, theirs in zip(split, digits_splits(n_train=600)):
        assert np.array_equal(ours, theirs) and not ours.flags.writeable
    objective = DigitsObjective(epochs=2, n_train=200)
    first = objective(DIGITS_DEFAULTS)
    assert objective(DIGITS_DEFAULTS) == first            # the seed fixes weights and batches
    assert objective(DIGITS_DEFAULTS, budget=8) < first - 0.3   # budget = epochs; 8 gain ~0.7
    with pytest.raises(ValueError, match="learning_rate"):
        objective({**DIGITS_DEFAULTS, "learning_rate": 0.0})
