"""Notebook 07 (batch normalization), its section on layer normalization: the exercise, the
experiment, the figures; the colour bars of the notebook's heatmaps; and the experiment-style
exercise on batch norm's momentum (the runs it scores)."""
import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from course_lib.checks import numerical_gradient_array, rel_error  # noqa: E402
from course_lib.layers import LayerNormalization  # noqa: E402
from course_lib.lessons.batchnorm import exercises, layernorm_runs, runs  # noqa: E402
from course_lib.lessons.batchnorm.figures import LandscapePanel  # noqa: E402
from course_lib.lessons.batchnorm.layernorm_figures import (  # noqa: E402
    plot_normalization_axes, plot_small_batch_comparison)
from course_lib.lessons.batchnorm.runs import input_scaling_problem  # noqa: E402
from course_lib.lessons.figures import check_colour_scales  # noqa: E402

ex = exercises


@pytest.fixture(autouse=True)
def no_warnings():
    """Checkers run learners' code: nothing of it may leak out as a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture
def figure():
    fig = plt.figure()
    yield fig
    plt.close(fig)


def _layer(gamma, beta):
    layer = LayerNormalization()
    layer.build(len(gamma), np.random.default_rng(0))
    layer.gamma, layer.beta = gamma, beta
    return layer


# ------------------------------------------------------------------ exercise 3

def test_the_references_are_the_library_layer_and_its_finite_differences():
    rng = np.random.default_rng(7)
    x = rng.normal(2.0, 3.0, size=(5, 7))
    gamma, beta = rng.uniform(0.5, 2.0, 7), rng.normal(size=7)
    grad_out = rng.standard_normal((5, 7))
    layer = _layer(gamma, beta)
    np.testing.assert_allclose(ex.layernorm_forward_solution(x, gamma, beta), layer.forward(x),
                               rtol=1e-12)
    dx_layer = layer.backward(grad_out)
    dx, dgamma, dbeta = ex.layernorm_backward_solution(grad_out, x, gamma)
    np.testing.assert_allclose(dx, dx_layer, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dgamma, layer.grad_gamma, rtol=1e-12)
    np.testing.assert_allclose(dbeta, layer.grad_beta, rtol=1e-12)
    assert rel_error(dx, ex.layernorm_numerical_dx(grad_out, x, gamma)) < 1e-7

    def through_gamma(g):
        return ex.layernorm_forward_solution(x, g, beta)

    assert rel_error(dgamma, numerical_gradient_array(through_gamma, gamma.copy(), grad_out)) < 1e-7


def test_forward_reference_by_hand():
    # One example, features 1 and 3: mean 2, population variance 1.
    y = ex.layernorm_forward_solution(np.array([[1.0, 3.0]]), np.array([2.0, 1.0]),
                                      np.array([0.5, 0.0]), epsilon=0.0)
    np.testing.assert_allclose(y, [[2 * -1 + 0.5, 1.0]])


@pytest.mark.parametrize("exercise, check", [(ex.LAYERNORM_FORWARD, ex.check_layernorm_forward),
                                             (ex.LAYERNORM_BACKWARD, ex.check_layernorm_backward)],
                         ids=["forward", "backward"])
def test_each_checker_accepts_the_reference_and_explains_each_listed_mistake(exercise, check):
    assert check(exercise.reference).passed
    assert len({m.explanation for m in exercise.mistakes}) == len(exercise.mistakes)
    for mistake in exercise.mistakes:
        result = check(mistake.implementation)
        assert not result.passed and result.message == mistake.explanation, result.message


def test_the_usual_slips_get_their_specific_message():
    def unbiased_std(x, gamma, beta, epsilon=1e-3):
        mean = x.mean(axis=1, keepdims=True)
        return gamma * (x - mean) / np.sqrt(x.std(axis=1, ddof=1, keepdims=True) ** 2 + epsilon) + beta

    result = ex.check_layernorm_forward(unbiased_std)
    assert not result.passed and "ddof=1" in result.message and "population variance" in result.message

    def batch_axis(x, gamma, beta, epsilon=1e-3):
        return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + epsilon) + beta

    result = ex.check_layernorm_forward(batch_axis)
    assert not result.passed and "batch normalization" in result.message

    def without_keepdims(x, gamma, beta, epsilon=1e-3):
        return gamma * (x - x.mean(axis=1)) / np.sqrt(x.var(axis=1) + epsilon) + beta

    result = ex.check_layernorm_forward(without_keepdims)
    assert not result.passed and "broadcast" in result.message and "keepdims=True" in result.message

    def halved_dx(grad_out, x, gamma, epsilon=1e-3):
        dx, dgamma, dbeta = ex.layernorm_backward_solution(grad_out, x, gamma, epsilon)
        return dx / 2, dgamma, dbeta

    result = ex.check_layernorm_backward(halved_dx)
    assert not result.passed and "relative error" in result.message


def test_the_batch_norm_exercise_names_the_unbiased_standard_deviation():
    def with_unbiased_std(x, gamma, beta, moving_mean, moving_variance, training, momentum=0.99,
                          epsilon=1e-3):
        if training:
            mean, std = x.mean(axis=0), x.std(axis=0, ddof=1)
            moving_mean = momentum * moving_mean + (1 - momentum) * mean
            moving_variance = momentum * moving_variance + (1 - momentum) * std ** 2
        else:
            mean, std = moving_mean, np.sqrt(moving_variance)
        return gamma * (x - mean) / (std + epsilon) + beta, moving_mean, moving_variance

    result = ex.check_batchnorm_forward(with_unbiased_std)
    assert not result.passed and "std(axis=0, ddof=1)" in result.message


# ------------------------------------------------------------------ the experiment

def test_normalized_batch_normalizes_columns_one_way_and_rows_the_other():
    batch = layernorm_runs.normalized_batch(n_examples=5, n_features=4, seed=3)
    z, bn, ln = batch["z"], batch["batch_norm"], batch["layer_norm"]
    assert z.shape == bn.shape == ln.shape == (5, 4)
    np.testing.assert_allclose(bn.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ln.mean(axis=1), 0, atol=1e-12)
    assert np.abs(ln.mean(axis=0)).max() > 0.1 and np.abs(bn.mean(axis=1)).max() > 0.1
    # features on different levels: what batch norm removes
    assert np.ptp(z.mean(axis=0)) > 1.0
    with pytest.raises(ValueError, match="n_features"):
        layernorm_runs.normalized_batch(n_features=0)


def test_small_batch_runs_are_cached_and_reproducible(monkeypatch):
    monkeypatch.setattr(layernorm_runs, "_RUNS", {})
    first = layernorm_runs.small_batch_run("layer norm", 32, seed=4)
    assert layernorm_runs.small_batch_run("layer norm", 32, seed=4) is first
    monkeypatch.setattr(layernorm_runs, "_RUNS", {})
    again = layernorm_runs.small_batch_run("layer norm", 32, seed=4)
    assert again == first and again is not first
    assert len(first.val_accuracy) == layernorm_runs.EPOCHS
    assert first.best_val_accuracy == max(first.val_accuracy) > 0.5     # it learns
    results = layernorm_runs.small_batch_comparison([4], batch_sizes=(32,))
    assert set(results) == set(layernorm_runs.NORMALIZATIONS)
    assert results["layer norm"]["accuracy"].shape == (1, 1)
    assert results["layer norm"]["loss"][0, 0] == first.best_val_loss


@pytest.mark.parametrize("args, name", [(("group norm", 4), "normalization"),
                                        (("batch norm", 0), "batch_size")])
def test_small_batch_run_rejects_bad_arguments_by_name(args, name):
    with pytest.raises(ValueError, match=name):
        layernorm_runs.small_batch_run(*args)


def test_the_layers_compared_are_the_library_layers():
    from course_lib.layers import BatchNormalization
    bn = layernorm_runs.normalization_layer("batch norm")
    assert isinstance(bn, BatchNormalization) and bn.momentum == layernorm_runs.BN_MOMENTUM
    assert isinstance(layernorm_runs.normalization_layer("layer norm"), LayerNormalization)


# ------------------------------------------------------------------ figures

def test_the_axes_figure_has_a_colour_bar_per_heatmap_and_uses_its_colours(figure):
    axes = figure.subplots(1, 3)
    plot_normalization_axes(axes, layernorm_runs.normalized_batch(seed=0))
    assert len(figure.axes) == 6                                # three heatmaps, three colour bars
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_images()
    assert min(check_colour_scales(figure)) > 0.5


def test_the_comparison_figure_draws_every_seed_and_a_band(figure):
    ax_acc, ax_loss = figure.subplots(1, 2)
    rng = np.random.default_rng(0)
    results = {name: {"accuracy": rng.uniform(0.8, 0.95, (5, 4)), "loss": rng.uniform(0.1, 0.7, (5, 4))}
               for name in layernorm_runs.NORMALIZATIONS}
    spreads = plot_small_batch_comparison(ax_acc, ax_loss, results, (2, 4, 8, 32))
    assert set(spreads) == set(results)
    np.testing.assert_allclose(spreads["batch norm"].median, np.median(results["batch norm"]["accuracy"], axis=0))
    for ax in (ax_acc, ax_loss):
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_xscale() == "log"
        dots = sum(len(line.get_xdata()) for line in ax.lines if line.get_marker() == "o")
        assert dots == 2 * 5 * 4
        assert len(ax.collections) == 2                          # one quartile band per layer


def test_the_loss_landscape_heatmap_has_a_colour_bar(figure):
    ax = figure.subplots()
    panel = LandscapePanel(ax, "raw")
    panel.update(input_scaling_problem(10.0, seed=0))
    assert panel.colorbar.mappable is panel.image and panel.colorbar.ax.get_ylabel()


# ------------------------------------------------- exercise 4: batch norm's momentum, chosen

def test_the_momentum_experiment_scores_the_learning_rate_sweeps_runs():
    run = runs.train_digits(0.3162, True, seed=3)       # a run of section 7's sweep (momentum 0.9)
    assert exercises.bn_momentum_val_loss(0.9, 3) == min(run.val_loss)


def test_the_batch_norm_momentum_is_one_of_a_runs_settings():
    default = runs.train_digits(0.3162, True, seed=17)
    slow = runs.train_digits(0.3162, True, seed=17, bn_momentum=0.999)
    assert slow is not default
    assert min(slow.val_loss) > min(default.val_loss) + 0.1       # averages that lag 1000 batches
    # The explorer's list of trained rates counts only the sweep's own runs (momentum 0.9).
    assert runs.trained_rates(True, 1.41, seed=17).count(0.3162) == 1


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_train_digits_rejects_a_momentum_outside_0_1_by_name(value):
    with pytest.raises(ValueError, match="bn_momentum"):
        runs.train_digits(0.1, True, bn_momentum=value)


def test_the_momentum_solution_passes_and_kerass_default_fails_for_100_steps():
    chosen = exercises.choose_bn_momentum_solution(seed=0)
    assert exercises.check_bn_momentum_choice(chosen, seed=0).passed
    result = exercises.check_bn_momentum_choice(0.99, seed=0)
    assert not result.passed and "lower by more than" in result.message
