"""Notebook 02 (initialization and activations): its experiments, explorers and exercises.

The contract every checker keeps is tested once, in test_exercises.py; here are the checks
particular to this notebook: references against the library, the learner's other correct
versions, the experiments' building blocks, and what the explorers draw."""
import math

import numpy as np
import pytest

from course_lib import activations
from course_lib.checks import gradient_check_layer
from course_lib.lessons.explorer import registry
from course_lib.lessons.initialization import explorers, runs
from course_lib.lessons.initialization.exercises import (check_clip_by_global_norm,
                                                         check_he_normal_std,
                                                         check_numerical_gradient,
                                                         he_normal_std_reference)
from course_lib.optimizers import SGD

NOTEBOOK = "02_initialization_and_activations"


# ---------------------------------------------------------------------------- exercises

def test_he_std_reference_is_the_library_draws_std():
    from course_lib import initializers
    w = initializers.he_normal((500, 400), np.random.default_rng(0))
    assert w.std() == pytest.approx(he_normal_std_reference(500), rel=0.02)


def test_he_std_accepts_other_correct_versions():
    assert check_he_normal_std(lambda fan_in: (2 / fan_in) ** 0.5).passed
    assert check_he_normal_std(lambda fan_in: np.sqrt(2.0) / np.sqrt(fan_in)).passed


def test_he_std_rejects_glorot_without_revealing_the_answer():
    result = check_he_normal_std(lambda fan_in: math.sqrt(2 / (fan_in + fan_in)))
    assert not result.passed
    assert "sqrt(2" not in result.message


def test_numerical_gradient_accepts_a_vectorised_loop_and_rejects_a_one_sided_one():
    def with_copies(f, x, h=1e-5):
        grad = np.zeros_like(x, dtype=float)
        for i in np.ndindex(x.shape):
            up, down = x.copy(), x.copy()
            up[i] += h
            down[i] -= h
            grad[i] = (f(up) - f(down)) / (2 * h)
        return grad

    def backward_difference(f, x, h=1e-5):
        grad = np.zeros_like(x, dtype=float)
        for i in np.ndindex(x.shape):
            down = x.copy()
            down[i] -= h
            grad[i] = (f(x) - f(down)) / h
        return grad

    assert check_numerical_gradient(with_copies).passed
    result = check_numerical_gradient(backward_difference)
    assert not result.passed


def test_clip_by_global_norm_matches_the_optimizers_argument():
    rng = np.random.default_rng(4)
    grads = [rng.normal(size=(3, 2)) * 5, rng.normal(size=4)]

    def by_hand(gradients, clip_norm):
        total = math.sqrt(sum(float(np.sum(g * g)) for g in gradients))
        return [g * min(1.0, clip_norm / total) for g in gradients]

    assert check_clip_by_global_norm(by_hand).passed
    clipped = SGD(global_clipnorm=1.0).clip_gradients(grads)
    assert math.sqrt(sum(np.sum(g ** 2) for g in clipped)) == pytest.approx(1.0)
    assert runs.cosine(clipped, grads) == pytest.approx(1.0, abs=1e-12)
    per_array = SGD(clipnorm=1.0).clip_gradients(grads)
    assert runs.cosine(per_array, grads) < 1 - 1e-6      # per array: the direction turns


# -------------------------------------------------------------------------- experiments

def test_equal_weights_stay_equal_and_random_ones_differ():
    assert runs.unit_spread(runs.symmetry_run(0.3, steps=5)) < 1e-12
    assert runs.unit_spread(runs.symmetry_run(None, steps=5)) > 0.05


def test_planted_bug_is_in_the_bias_gradient_only():
    rng = np.random.default_rng(0)
    errors = gradient_check_layer(runs.DenseWithPlantedBug(3, activation="tanh"),
                                  rng.normal(size=(4, 5)))
    assert errors["kernel"] < 1e-7 and errors["input"] < 1e-7
    assert errors["bias"] > 1e-2


def test_dead_fraction_counts_units_with_zero_derivative_everywhere():
    from course_lib.layers import Dense
    from course_lib.model import Sequential
    model = Sequential([Dense(4, activation="relu"), Dense(2, activation="softmax")], seed=0,
                       dtype="float64")
    model.build(3)
    model.layers[0].bias[:2] = -100.0          # two units pushed far below zero: dead
    x = np.random.default_rng(1).normal(size=(50, 3))
    assert runs.dead_fraction(model, x) == pytest.approx(0.5)


def test_selu_stack_keeps_the_fixed_point_and_skip_connections_break_it():
    x = np.random.default_rng(2).standard_normal((200, 50))
    means, stds = runs.selu_stack(x, depth=15, width=50, seed=0)
    assert np.all(np.abs(means) < 0.2) and np.all(np.abs(stds - 1) < 0.25)
    _, residual_stds = runs.selu_stack(x, depth=15, width=50, seed=0, residual=True)
    assert residual_stds[-1] > 10


def test_initializer_names_cover_the_study_notes_and_the_library():
    from course_lib import initializers
    assert set(runs.INITIALIZERS) == set(initializers.NAMES)
    assert set(runs.ACTIVATIONS) <= set(activations.NAMES)


# ---------------------------------------------------------------------------- explorers

def test_both_explorers_are_registered():
    names = {spec.name for spec in registry() if spec.notebook == NOTEBOOK}
    assert names == {"propagation_explorer", "activation_explorer"}


@pytest.mark.parametrize("norms, verdict", [([1e-9, 1.0], "vanishing"), ([1e5, 1.0], "exploding"),
                                            ([0.5, 1.0], "stable"), ([0.0, 0.0], "no gradient"),
                                            ([np.inf, 1.0], "exploding")])
def test_gradient_verdict(norms, verdict):
    assert explorers.gradient_verdict(np.array(norms)) == verdict


def test_propagation_explorer_labels_what_the_notebook_says():
    explorer = explorers.propagation_explorer()
    explorer.update(depth=30, activation="sigmoid", initializer="glorot_uniform", scale=1.0)
    assert "(vanishing)" in explorer.status.value
    explorer.update(activation="relu", initializer="he_normal")
    assert "(stable)" in explorer.status.value
    explorer.update(activation="tanh", initializer="he_normal", scale=4.0, depth=50)
    assert "(exploding)" in explorer.status.value
    drawn = explorer.drawn_data()
    assert drawn["std"].shape == (50,) and np.all(np.isfinite(drawn["gradient_norm"]))


def test_activation_explorer_counts_flat_inputs():
    explorer = explorers.activation_explorer(functions=("relu", "leaky_relu"), mean=0.0, std=1.0)
    explorer.redraw()
    flat = dict(zip(runs.ACTIVATIONS, explorer.drawn_data()["flat_fractions"]))
    assert flat["relu"] == pytest.approx(0.5, abs=0.02)     # half of N(0, 1) is negative
    assert flat["leaky_relu"] == 0.0 and flat["sigmoid"] == 0.0   # sigmoid is not shown
    explorer.update(mean=-4.0, std=0.25)
    flat = dict(zip(runs.ACTIVATIONS, explorer.drawn_data()["flat_fractions"]))
    assert flat["relu"] == 1.0


def test_penalties_pull_a_trained_selu_stack_off_its_fixed_point():
    from course_lib.regularizers import l2
    result = runs.selu_after_training({"none": None, "l2": l2(0.1)}, seeds=(0,), depth=4,
                                      epochs=3)
    assert result["none"]["std"].shape == (1, 4)
    assert np.median(result["l2"]["std"]) < np.median(result["none"]["std"])


# ------------------------------------------------- exercise 4: a deep tanh network's scale

def test_the_tanh_scale_runs_scale_the_lecun_normal_draws_of_every_hidden_layer():
    from course_lib.lessons.batchnorm.runs import ScaleHiddenKernels
    from course_lib.lessons.initialization.scale_choice import TANH_ACTIVATION, TANH_HIDDEN
    from course_lib.model import Sequential
    model = Sequential(runs.digits_layers("lecun_normal", TANH_ACTIVATION, TANH_HIDDEN), seed=0)
    model.build(64)
    before = [layer.kernel.copy() for layer in model.layers]
    callback = ScaleHiddenKernels(1.5)
    callback.set_model(model)
    callback.on_train_begin()
    assert all(np.allclose(layer.kernel, 1.5 * kernel)
               for layer, kernel in zip(model.layers[:-1], before))
    assert np.array_equal(model.layers[-1].kernel, before[-1])     # the softmax layer as drawn
    assert len(model.layers) == len(TANH_HIDDEN) + 1


def test_a_vanishing_scale_scores_chance_and_is_refused():
    from course_lib.lessons.initialization.exercises import (check_tanh_scale_choice,
                                                             tanh_scale_val_loss)
    # At 0.3 the signal dies away through 10 tanh layers: nothing is learned (loss ln 10).
    assert abs(tanh_scale_val_loss(0.3, 0) - math.log(10)) < 0.01
    result = check_tanh_scale_choice(0.3, seed=0)
    assert not result.passed and "lower by more than" in result.message


def test_the_tanh_scale_solution_passes():
    from course_lib.lessons.initialization.exercises import (check_tanh_scale_choice,
                                                             choose_tanh_scale_solution)
    assert check_tanh_scale_choice(choose_tanh_scale_solution(seed=0), seed=0).passed
