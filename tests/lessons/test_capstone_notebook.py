"""Notebook 09 (capstone): the recipes, the block orders, the planted bugs, the rate search,
the challenge's checker and the table pipeline."""
import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib.checks import gradient_check_layer
from course_lib.data import load_wine, make_blobs
from course_lib.layers import Activation, AlphaDropout, BatchNormalization, Dense, Dropout
from course_lib.lessons.capstone import explorers, runs
from course_lib.lessons.capstone.exercises import (TARGET_ACCURACY, build_and_train_reference,
                                                   check_challenge, score_challenge,
                                                   starter_build_and_train)
from course_lib.lessons.capstone.figures import plot_block_orders, plot_recipe_rates
from course_lib.lessons.explorer import registry
from course_lib.lessons.seeds import seeds_from


# ------------------------------------------------------------------------------ recipes

def test_recipes_are_the_source_notes_configurations():
    default = runs.recipe_layers("default", depth=2, dropout=0.2)
    assert [type(layer) for layer in default] == [Dense, BatchNormalization, Activation, Dropout] * 2 + [Dense]
    assert default[0].kernel_initializer == "he_normal" and not default[0].use_bias
    assert default[2].activation == "elu"
    selu = runs.recipe_layers("self-normalizing", depth=2, dropout=0.1)
    assert [type(layer) for layer in selu] == [Dense, AlphaDropout] * 2 + [Dense]
    assert selu[0].activation == "selu" and selu[0].kernel_initializer == "lecun_normal"
    assert not any(isinstance(layer, BatchNormalization) for layer in selu)
    with pytest.raises(ValueError, match="recipe"):
        runs.recipe_layers("resnet")


def test_recipe_curves_are_cached_per_seed_and_the_same_run_twice():
    first = runs.recipe_curves("self-normalizing", 0.01, (0, 1), depth=2)
    again = runs.recipe_curves("self-normalizing", 0.01, (1,), depth=2)
    assert first.shape == (2, runs.RECIPE_EPOCHS)
    np.testing.assert_array_equal(first[1], again[0])
    assert np.all(np.isfinite(first)) and first[:, -1].max() < first[:, 0].min()


def test_mixed_units_inputs_are_worse_than_standardized_ones():
    seeds = (0, 1, 2)
    standardized = runs.best_losses(runs.recipe_curves("self-normalizing", 0.01, seeds, 2))
    mixed = runs.best_losses(runs.recipe_curves("self-normalizing", 0.01, seeds, 2, "mixed units"))
    assert np.all(mixed > standardized)


def test_recipe_rate_figure_marks_every_rate():
    grid = {"default": np.array([[0.5, 0.6], [0.3, 0.2]]),
            "self-normalizing": np.array([[0.4, 0.45], [0.25, 0.3]])}
    ax = Figure().subplots()
    plot_recipe_rates(ax, (0.01, 0.1), grid)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.01", "0.1"]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


# -------------------------------------------------------------------------- block order

@pytest.mark.parametrize("order, kinds", [
    ("Dropout > Dense > BN > ReLU", [Dropout, Dense, BatchNormalization, Activation]),
    ("Dense > BN > ReLU > Dropout", [Dense, BatchNormalization, Activation, Dropout]),
    ("Dense > ReLU > BN > Dropout", [Dense, Activation, BatchNormalization, Dropout]),
])
def test_block_orders_build_the_named_order(order, kinds):
    layers = runs.block_layers(order, depth=2)
    assert [type(layer) for layer in layers] == kinds * 2 + [Dense]
    dense = layers[kinds.index(Dense)]
    followed_by_bn = kinds[kinds.index(Dense) + 1] is BatchNormalization
    assert dense.use_bias != followed_by_bn


def test_block_order_figure_keeps_the_order_names():
    values = {name: np.array([0.5, 0.6, 0.7]) for name in runs.BLOCK_ORDERS}
    spreads = plot_block_orders(Figure().subplots(), values)
    assert list(spreads) == list(runs.BLOCK_ORDERS)
    assert all(float(s.median) == 0.6 for s in spreads.values())


# ---------------------------------------------------------------------- planted bugs

def test_each_debugging_step_catches_its_planted_bug():
    seeds = (0, 1, 2)
    assert np.all(np.abs(runs.initial_losses(seeds) - np.log(10)) < 1.0)
    assert np.all(runs.initial_losses(seeds, pixel_scale=16) > 3 * np.log(10))
    assert np.all(runs.overfit_tiny(seeds, steps=60) < 0.05)
    assert np.all(runs.overfit_tiny(seeds, steps=60, shuffle_labels=True) > 1.0)
    x = np.random.default_rng(0).standard_normal((6, 4))
    assert gradient_check_layer(runs.HandLeakyReLU(), x)["input"] < 1e-7
    assert gradient_check_layer(runs.BuggyHandLeakyReLU(), x)["input"] > 1e-2


# ------------------------------------------------------------------------- rate search

class _Valley:
    """A score with its minimum at a chosen rate, counting its calls."""

    def __init__(self, best):
        self.best, self.calls = best, 0

    def __call__(self, params, budget=None):
        self.calls += 1
        return float(np.log(params["learning_rate"] / self.best) ** 2)


@pytest.mark.parametrize("best", [0.1, 0.03, 0.2])
def test_fine_grid_is_widened_until_its_best_is_inside(best):
    objective = _Valley(best)
    rates, scores = runs.fine_grid(objective, 0.1)
    assert list(rates) == sorted(rates) and len(rates) == objective.calls
    assert 0 < int(np.argmin(scores)) < len(rates) - 1


def test_fine_grid_follows_the_source_notes_around_0_1():
    rates, _ = runs.fine_grid(_Valley(0.1), 0.1)
    np.testing.assert_allclose(rates, [0.05, 0.08, 0.1, 0.12, 0.15])


def test_rate_objective_is_the_median_over_its_seeds():
    objective = runs.RateObjective((0, 1, 2), epochs=2, n_train=100)
    per_seed = objective.per_seed(0.05)
    assert objective({"learning_rate": 0.05}) == pytest.approx(np.median(per_seed))
    assert objective({"learning_rate": 0.05}, budget=1) != objective({"learning_rate": 0.05})


# --------------------------------------------------------------------------- challenge

def test_challenge_accepts_the_reference_on_several_seeds():
    for seed in (0, 1):
        accuracy, seconds = score_challenge(build_and_train_reference, seed)
        assert accuracy >= TARGET_ACCURACY + 0.005
    assert check_challenge(build_and_train_reference)


def test_challenge_rejects_the_starter_and_says_how_far_off():
    result = check_challenge(starter_build_and_train)
    assert not result
    assert "points below the 94% target" in result.message
    assert "test accuracy" in result.message


def test_challenge_reports_a_stub_a_wrong_return_and_a_crash_without_the_answer():
    def stub(*args):
        raise NotImplementedError

    def returns_history(x_train, y_train, x_val, y_val, seed):
        return {"loss": [1.0]}

    def crashes(x_train, y_train, x_val, y_val, seed):
        return x_train[10_000]

    assert "not implemented yet" in check_challenge(stub).message
    assert "predict" in check_challenge(returns_history).message
    assert "IndexError" in check_challenge(crashes).message
    for fn in (stub, returns_history, crashes):
        assert "256" not in check_challenge(fn).message    # never the reference's network


def test_challenge_never_hands_the_test_split_to_the_learner():
    seen = {}

    def spy(x_train, y_train, x_val, y_val, seed):
        seen["sizes"] = (len(x_train), len(x_val))
        return build_and_train_reference(x_train[:200], y_train[:200], x_val, y_val, seed)

    score_challenge(spy)
    assert seen["sizes"] == (1257, 270)


def test_challenge_counts_overtime_against_the_learner(monkeypatch):
    from course_lib.lessons.capstone import exercises
    monkeypatch.setattr(exercises, "TIME_BUDGET_SECONDS", 0.0)
    result = exercises.check_challenge(build_and_train_reference)
    assert not result and "over the" in result.message


# ------------------------------------------------------------------------- your own data

def test_tables_go_through_split_and_standardization_on_the_training_part():
    x, y = make_blobs(n_samples=90, n_classes=3, seed=0)
    x = x * np.array([1000.0, 0.01])
    split = runs.prepare(x, y, seed=1)
    np.testing.assert_allclose(split.x_train.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(split.x_train.std(axis=0), 1, atol=1e-9)
    assert abs(split.x_val.mean()) > 1e-6            # scaled with the training statistics only
    raw = runs.prepare(x, y, seed=1, standardize=False)
    assert raw.x_train.std(axis=0)[0] > 100


def test_wine_needs_standardizing():
    wine = load_wine()
    seeds = seeds_from(0, 3)
    standardized, accuracies = runs.table_results(wine.x, wine.y, seeds)
    raw, _ = runs.table_results(wine.x, wine.y, seeds, standardize=False)
    assert np.median(standardized) * 3 < np.median(raw)
    assert np.median(accuracies) >= 0.9


# ---------------------------------------------------------------------------- explorer

def test_recipe_explorer_is_registered_as_retraining():
    (spec,) = [s for s in registry() if s.notebook == explorers.NOTEBOOK]
    assert spec.name == "recipe_explorer" and spec.retraining


def test_recipe_explorer_draws_both_recipes_from_the_shared_runs():
    explorer = explorers.recipe_explorer()
    explorer.update(depth=2, inputs="raw pixels", learning_rate=0.03)
    drawn = explorer.drawn_data()
    for recipe in runs.RECIPES:
        curves = runs.recipe_curves(recipe, 0.03, explorer.seeds, 2, "raw pixels")
        np.testing.assert_allclose(drawn[f"{recipe} median"], np.median(curves, axis=0))
    assert "median best validation loss" in explorer.status.value


def test_range_test_check_marks_a_diverged_run_as_infinite():
    diverged = runs.range_test_check(10.0, (0,), epochs=2)
    trained = runs.range_test_check(0.05, (0,), epochs=2)
    assert np.isinf(diverged[0]) and np.isfinite(trained[0]) and trained[0] < 1.0
