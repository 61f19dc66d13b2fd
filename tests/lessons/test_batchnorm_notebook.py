"""Notebook 07 (batch normalization): its exercises, experiments, figures and explorers."""
import warnings

import numpy as np
import pytest

from course_lib.checks import numerical_gradient_array, rel_error
from course_lib.lessons.batchnorm.exercises import (batchnorm_backward_solution,
                                                    batchnorm_forward_solution,
                                                    check_batchnorm_backward,
                                                    check_batchnorm_forward, numerical_dx)
from course_lib.callbacks import Callback
from course_lib.layers import BatchNormalization
from course_lib.lessons.batchnorm import explorers, inference, runs
from course_lib.lessons.digits import train_on_digits
from course_lib.lessons.explorer import registry
from course_lib.model import Sequential
from course_lib.optimizers import SGD


@pytest.fixture(autouse=True)
def no_warnings():
    """Checkers run learners' code, and experiments run diverging trainings: nothing of it
    may leak out as a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _layer(d, gamma=None, beta=None, momentum=0.99):
    layer = BatchNormalization(momentum=momentum)
    layer.build(d, np.random.default_rng(0))
    if gamma is not None:
        layer.gamma[:] = gamma
    if beta is not None:
        layer.beta[:] = beta
    return layer


# ------------------------------------------------------------------ exercise 1: forward

def test_forward_reference_agrees_with_the_library_layer_in_both_modes():
    rng = np.random.default_rng(3)
    x = rng.normal(1.0, 2.0, size=(9, 4))
    gamma, beta = rng.uniform(0.5, 2, 4), rng.normal(size=4)
    layer = _layer(4, gamma, beta, momentum=0.9)
    y_layer = layer.forward(x, training=True)
    y, mm, mv = batchnorm_forward_solution(x, gamma, beta, np.zeros(4), np.ones(4), True,
                                           momentum=0.9)
    assert np.allclose(y, y_layer)
    assert np.allclose(mm, layer.moving_mean) and np.allclose(mv, layer.moving_variance)
    y_inf, mm2, mv2 = batchnorm_forward_solution(x, gamma, beta, mm, mv, False)
    assert np.allclose(y_inf, layer.forward(x, training=False))
    assert np.array_equal(mm2, mm) and np.array_equal(mv2, mv)


def test_forward_reference_by_hand_on_a_tiny_batch():
    # One feature, values 1 and 3: mean 2, biased variance 1.
    x = np.array([[1.0], [3.0]])
    y, mm, mv = batchnorm_forward_solution(x, np.array([2.0]), np.array([0.5]), np.zeros(1),
                                           np.ones(1), True, momentum=0.9, epsilon=0.0)
    assert np.allclose(y[:, 0], [2 * -1 + 0.5, 2 * 1 + 0.5])
    assert np.allclose(mm, [0.1 * 2.0]) and np.allclose(mv, [0.9 + 0.1 * 1.0])


def test_forward_check_accepts_the_reference_and_other_correct_versions():
    assert check_batchnorm_forward(batchnorm_forward_solution).passed

    def by_hand(x, gamma, beta, moving_mean, moving_variance, training, momentum=0.99,
                epsilon=1e-3):
        if training:
            m = len(x)
            mean = x.sum(axis=0) / m
            var = ((x - mean) ** 2).sum(axis=0) / m
            moving_mean *= momentum                  # in place: the checker copies its inputs
            moving_mean += (1 - momentum) * mean
            moving_variance = moving_variance + (1 - momentum) * (var - moving_variance)
        else:
            mean, var = moving_mean, moving_variance
        return (gamma * ((x - mean) / np.sqrt(var + epsilon)) + beta, moving_mean,
                moving_variance)

    assert check_batchnorm_forward(by_hand).passed


def test_forward_check_gives_specific_feedback_on_other_wrong_versions():
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert "not implemented yet" in check_batchnorm_forward(stub).message

    def wrong_axis_without_keepdims(x, gamma, beta, mm, mv, training, momentum=0.99,
                                    epsilon=1e-3):
        mean, var = x.mean(axis=1), x.var(axis=1)
        return gamma * (x - mean) / np.sqrt(var + epsilon) + beta, mm, mv

    result = check_batchnorm_forward(wrong_axis_without_keepdims)
    assert not result.passed and "broadcast" in result.message
    assert "x.mean(axis=0)" in result.message

    def only_the_output(x, gamma, beta, mm, mv, training, momentum=0.99, epsilon=1e-3):
        return batchnorm_forward_solution(x, gamma, beta, mm, mv, training, momentum, epsilon)[0]

    result = check_batchnorm_forward(only_the_output)
    assert not result.passed and result.message.startswith("return three arrays")

    def double_beta(x, gamma, beta, mm, mv, training, momentum=0.99, epsilon=1e-3):
        y, mm, mv = batchnorm_forward_solution(x, gamma, beta, mm, mv, training, momentum,
                                               epsilon)
        return y + beta, mm, mv

    result = check_batchnorm_forward(double_beta)
    assert not result.passed and result.message.startswith("result 0: case 'training, batch of 6")

    def ignores_momentum(x, gamma, beta, mm, mv, training, momentum=0.99, epsilon=1e-3):
        return batchnorm_forward_solution(x, gamma, beta, mm, mv, training, 0.99, epsilon)

    result = check_batchnorm_forward(ignores_momentum)
    assert not result.passed and "momentum 0.9" in result.message


# ------------------------------------------------------------------ exercise 2: backward

def test_backward_reference_agrees_with_the_library_layer_and_finite_differences():
    rng = np.random.default_rng(5)
    x = rng.normal(-1.0, 3.0, size=(10, 3))
    gamma = rng.uniform(0.5, 2.0, 3)
    grad_out = rng.standard_normal((10, 3))
    layer = _layer(3, gamma)
    layer.forward(x, training=True)
    dx_layer = layer.backward(grad_out)
    dx, dgamma, dbeta = batchnorm_backward_solution(grad_out, x, gamma)
    assert np.allclose(dx, dx_layer)
    assert np.allclose(dgamma, layer.grad_gamma) and np.allclose(dbeta, layer.grad_beta)
    assert rel_error(dx, numerical_dx(grad_out, x, gamma)) < 1e-7

    def forward_gamma(g):
        return batchnorm_forward_solution(x, g, np.zeros(3), np.zeros(3), np.ones(3), True)[0]

    assert rel_error(dgamma, numerical_gradient_array(forward_gamma, gamma.copy(), grad_out)) < 1e-7


def test_backward_check_accepts_the_reference_and_the_step_by_step_chain_rule():
    assert check_batchnorm_backward(batchnorm_backward_solution).passed

    def step_by_step(grad_out, x, gamma, epsilon=1e-3):
        m = len(x)
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        s = np.sqrt(var + epsilon)
        x_hat = (x - mu) / s
        d = grad_out * gamma
        dvar = np.sum(d * (x - mu), axis=0) * -0.5 * s ** -3
        dmu = -np.sum(d, axis=0) / s + dvar * -2 * np.mean(x - mu, axis=0)
        dx = d / s + dvar * 2 * (x - mu) / m + dmu / m
        return dx, np.sum(grad_out * x_hat, axis=0), np.sum(grad_out, axis=0)

    assert check_batchnorm_backward(step_by_step).passed


def test_backward_check_reports_the_numerical_error_for_unlisted_mistakes():
    def slightly_off(grad_out, x, gamma, epsilon=1e-3):
        dx, dgamma, dbeta = batchnorm_backward_solution(grad_out, x, gamma, epsilon)
        return 1.1 * dx, dgamma, dbeta

    result = check_batchnorm_backward(slightly_off)
    assert not result.passed
    assert "relative error of" in result.message and "numerical gradient" in result.message

    def only_dx(grad_out, x, gamma, epsilon=1e-3):
        return batchnorm_backward_solution(grad_out, x, gamma, epsilon)[0]

    result = check_batchnorm_backward(only_dx)
    assert not result.passed and "expected 3 results" in result.message

    def dbeta_off(grad_out, x, gamma, epsilon=1e-3):
        dx, dgamma, dbeta = batchnorm_backward_solution(grad_out, x, gamma, epsilon)
        return dx, dgamma, dbeta + 1.0

    result = check_batchnorm_backward(dbeta_off)
    assert not result.passed and result.message.startswith("result 2:")
    assert "numerical gradient" not in result.message          # dx is right: nothing to add


# ------------------------------------------------------------------ input scaling

def test_gradient_descent_in_closed_form_equals_the_iteration():
    problem = runs.input_scaling_problem(scale=7.0)
    path, excess = problem.descent(1.3, 50)
    w = np.zeros(2)
    lr = 1.3 / problem.eigenvalues[-1]
    for k in range(51):
        assert np.allclose(path[k], w, atol=1e-10)
        assert np.isclose(excess[k], problem.excess_loss(w), rtol=1e-8, atol=1e-14)
        w = w - lr * (problem.hessian @ (w - problem.w_star))


@pytest.mark.parametrize("scale", [1.0, 4.0, 30.0])
@pytest.mark.parametrize("factor", [0.3, 1.0, 1.9, 2.0, 2.1])
def test_steps_to_converge_matches_a_brute_force_count(scale, factor):
    for standardize in (False, True):
        problem = runs.input_scaling_problem(scale, standardize)
        _, excess = problem.descent(factor, 20000)
        below = np.flatnonzero(excess <= 1e-6 * excess[0])
        assert problem.steps_to_converge(factor) == (int(below[0]) if below.size else None)


def test_condition_number_grows_like_the_squared_scale_and_standardising_removes_it():
    for scale in (3.0, 10.0, 30.0):
        raw = runs.input_scaling_problem(scale)
        assert 0.5 * scale ** 2 < raw.condition_number < 2 * scale ** 2
        assert runs.input_scaling_problem(scale, standardize=True).condition_number < 1.5


def test_input_scaling_explorer_labels_divergence_and_draws_finite_values():
    explorer = explorers.input_scaling_explorer()
    explorer.update(scale=100.0, rate_factor=2.2)
    assert "diverges" in explorer.status.value
    assert all(np.all(np.isfinite(v)) for v in explorer.drawn_data().values())
    assert all("diverges" in panel.note.get_text() for panel in explorer.panels)
    explorer.update(scale=10.0, rate_factor=1.0)
    raw = runs.input_scaling_problem(10.0)
    assert f"{raw.steps_to_converge(1.0)} steps" in explorer.status.value


# ------------------------------------------------------------------ distributions

def test_layer_activations_leave_the_moving_statistics_alone():
    model = runs.deep_network(3, "relu", True, 1.0, dtype="float64")
    before = model.get_weights()
    inputs, outputs = runs.layer_activations(model, runs.probe_batch().astype(np.float64))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert len(inputs) == len(outputs) == 3
    for z in inputs:                                          # batch statistics were used
        assert np.allclose(z.mean(axis=0), 0.0, atol=1e-10)


def test_distribution_explorer_shows_vanishing_and_the_batch_norm_fix():
    explorer = explorers.distribution_explorer()
    explorer.update(depth=12, activation="tanh", init_scale=0.1, batch_norm=False)
    assert "vanishes" in explorer.status.value
    stds = explorer.drawn_data()["std without batch norm"]
    assert stds[-1] < 1e-3 * stds[0]
    explorer.update(batch_norm=True)
    assert "usable range" in explorer.status.value
    stds_bn = explorer.drawn_data()["std with batch norm"]
    assert np.ptp(stds_bn) < 0.2
    explorer.update(activation="tanh", init_scale=10.0, batch_norm=False)
    assert "saturate" in explorer.status.value
    explorer.update(activation="relu", init_scale=10.0, depth=12)
    assert "explodes" in explorer.status.value


def test_covariate_shift_record_shows_less_drift_with_batch_norm():
    plain, normed = runs.record_distributions(False), runs.record_distributions(True)
    assert plain.percentiles.shape == (len(plain.steps), 6, 3)
    assert plain.drift()[-1] > 5 * normed.drift().max()


# ------------------------------------------------------------------ test time

@pytest.mark.parametrize("batch_size", [1, 2, 7, 50])
def test_batch_statistics_predictions_equal_training_mode_batch_by_batch(batch_size):
    # The reference is Sequential's own training-mode pass (dropout rate 0, so only batch
    # norm differs from inference), on a copy that may update its moving averages.
    model = inference.block_model(units=(16, 8), dropout=0.0, seed=1)
    model.layers[2].beta[:] = np.linspace(-1, 1, 16)        # make beta matter
    reference = inference.block_model(units=(16, 8), dropout=0.0, seed=1)
    reference.set_weights(model.get_weights())
    x = runs.probe_batch(50)
    before = model.get_weights()
    expected = np.concatenate([reference.predict(x[start:start + batch_size], training=True)
                               for start in range(0, len(x), batch_size)])
    got = inference.predict_with_batch_statistics(model, x, batch_size)
    assert np.allclose(got, expected, atol=1e-6)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_batch_statistics_predictions_with_groups():
    model = inference.block_model(units=(16, 8), seed=1)
    x = runs.probe_batch(40)
    groups = [np.arange(0, 40, 2), np.arange(1, 40, 2)]
    out = inference.predict_with_batch_statistics(model, x, groups=groups)
    for g in groups:
        assert np.allclose(out[g], inference.predict_with_batch_statistics(model, x[g]), atol=1e-6)
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-5)


def test_population_statistics_are_the_statistics_of_each_batch_norm_input():
    # A layer with momentum 0 stores the statistics of the batch it normalised last.
    model = Sequential(inference.running_statistics_layers(bn_momentum=0.0), seed=3)
    model.build(64)
    x = runs.probe_batch(200)
    before = model.get_weights()
    statistics = inference.population_statistics(model, x)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.predict(x, training=True)
    bns = [layer for layer in model.layers if isinstance(layer, BatchNormalization)]
    assert len(statistics) == len(bns) == 2
    for layer, (mean, var) in zip(bns, statistics):
        assert np.allclose(mean, layer.moving_mean, atol=1e-5)
        assert np.allclose(var, layer.moving_variance, rtol=1e-5, atol=1e-6)


def test_a_batch_of_one_predicts_the_same_class_for_everything():
    model = inference.block_model(units=(16, 8), seed=2)
    out = inference.predict_with_batch_statistics(model, runs.probe_batch(30), batch_size=1)
    assert np.allclose(out, out[0], atol=1e-6)


def test_running_average_replays_the_layer_update():
    rng = np.random.default_rng(0)
    layer = _layer(3, momentum=0.95)
    means, variances = [], []
    for _ in range(40):
        batch = rng.normal(2.0, 3.0, size=(16, 3))
        layer.forward(batch, training=True)
        means.append(batch.mean(axis=0))
        variances.append(batch.var(axis=0))
    assert np.allclose(inference.running_average(means, 0.95, 0.0)[-1], layer.moving_mean)
    assert np.allclose(inference.running_average(variances, 0.95, 1.0)[-1], layer.moving_variance)
    # By hand: a constant sequence from 0 gives (1 - m^k) times the constant.
    assert np.allclose(inference.running_average(np.ones((5, 1)), 0.5, 0.0)[:, 0],
                       [0.5, 0.75, 0.875, 0.9375, 0.96875])


def test_the_recorded_run_replays_a_real_training_with_another_momentum():
    run = inference.record_running_statistics(epochs=1, every=10, standardize=False)
    real, _ = train_on_digits(inference.running_statistics_layers(bn_momentum=0.99),
                              SGD(0.05, momentum=0.9), epochs=1, batch_size=32,
                              standardize=False)
    bns = [layer for layer in real.layers if isinstance(layer, BatchNormalization)]
    for layer, (mean, var) in zip(bns, run.running(0.99)):
        assert np.allclose(mean[-1], layer.moving_mean, atol=1e-5)
        assert np.allclose(var[-1], layer.moving_variance, rtol=1e-4, atol=1e-5)
    # Momentum 0 replays each step's batch statistics themselves.
    assert np.allclose(run.running(0.0)[0][0], run.batch_means[0])


def test_accuracy_with_batch_statistics_uses_the_first_test_batches_of_each_size():
    run = inference.record_running_statistics(epochs=1, every=20, standardize=False)
    run.model.set_weights(run.snapshots[-1])
    for batch_size in (2, 10):
        n = inference.BATCH_STATISTICS_BATCHES * batch_size
        expected = inference.accuracy(inference.predict_with_batch_statistics(
            run.model, run.x_test[:n], batch_size), run.y_test[:n])
        assert run.accuracy_batch(batch_size)[-1] == expected


def test_final_accuracy_with_batch_statistics_uses_the_last_weights_and_every_test_digit():
    run = inference.record_running_statistics(epochs=1, every=20, standardize=False)
    run.model.set_weights(run.snapshots[0])                    # not the weights to be used
    model = Sequential(inference.running_statistics_layers(), seed=0)
    model.build(64)
    model.set_weights(run.snapshots[-1])
    expected = inference.accuracy(inference.predict_with_batch_statistics(model, run.x_test, 5),
                                  run.y_test)
    assert run.final_accuracy_with_batch_statistics(5) == expected
    alone = run.final_accuracy_with_batch_statistics(1)        # one class for every digit
    assert alone <= np.bincount(run.y_test).max() / len(run.y_test) + 1e-12


def test_recorded_runs_of_other_seeds_differ_and_are_cached():
    first = inference.record_running_statistics(epochs=1, every=20, seed=1, standardize=False)
    again = inference.record_running_statistics(epochs=1, every=20, seed=1, standardize=False)
    other = inference.record_running_statistics(epochs=1, every=20, seed=2, standardize=False)
    assert again is first
    assert not np.allclose(first.batch_means[0], other.batch_means[0])


def test_momentum_comparison_draws_median_and_band_over_runs():
    import matplotlib.pyplot as plt

    from course_lib.lessons.batchnorm.figures import plot_momentum_comparison
    runs_ = [inference.record_running_statistics(epochs=1, every=20, seed=s, standardize=False)
             for s in (1, 2)]
    fig, (ax_error, ax_acc) = plt.subplots(1, 2)
    plot_momentum_comparison(ax_error, ax_acc, runs_, (0.9, 0.99))
    median = np.median([r.running_error(0.9) for r in runs_], axis=0)
    assert np.allclose(ax_error.lines[0].get_ydata(), median)
    assert len(ax_error.collections) == 2                          # one quartile band per momentum
    plt.close(fig)


def test_running_average_explorer_draws_up_to_the_chosen_step():
    explorer = explorers.running_average_explorer()
    explorer.update(momentum=0.0, steps=60, batch_size=1)
    drawn = explorer.drawn_data()
    assert len(drawn["batch means"]) == 60
    assert np.allclose(drawn["running mean"], drawn["batch means"])   # momentum 0: the last batch
    measured = explorer.run.y_test[:inference.BATCH_STATISTICS_BATCHES]   # 27 batches of 1
    most_frequent = np.bincount(measured).max() / len(measured)
    assert np.all(drawn["accuracy batch"] <= most_frequent + 1e-12)   # batch of 1: one class
    assert all(np.all(np.isfinite(v)) for v in drawn.values())
    explorer.update(momentum=0.999, steps=explorer.run.steps, batch_size=270)
    assert "momentum 0.999" in explorer.status.value


# ------------------------------------------------------------------ effects

def test_training_explorer_labels_a_diverging_run():
    explorer = explorers.training_explorer()
    explorer.update(learning_rate=10.0, batch_norm=False, init_scale=1.41)
    assert "diverged" in explorer.status.value
    assert "diverged" in explorer.note.get_text()
    assert all(np.all(np.isfinite(v)) for v in explorer.drawn_data().values())
    run = runs.train_digits(10.0, False)
    assert run.diverged_at is not None and run.final_accuracy == 0.1


def test_a_run_counts_as_trained_by_its_best_epoch_unless_it_diverged():
    swinging = runs.TrainingRun(3.0, True, 1.41, (1.0, 0.5, 0.6), (1.0, 0.4, 0.7),
                                (0.5, 0.9, 0.8), None)
    assert swinging.trained() and swinging.best_accuracy == 0.9
    assert swinging.final_accuracy == 0.8 and not swinging.trained(threshold=0.95)
    diverged = runs.TrainingRun(3.0, False, 1.41, (1.0,), (1.0,), (0.9,), 2)
    assert not diverged.trained() and diverged.final_accuracy == diverged.best_accuracy == 0.1


def test_trainings_start_from_the_weights_of_deep_network():
    class FirstWeights(Callback):
        def on_train_begin(self, logs=None):
            self.weights = self.model.get_weights()

    first = FirstWeights()
    train_on_digits(runs.deep_layers(3, "relu", True, bn_momentum=0.9), SGD(0.1), epochs=1,
                    n_train=32, callbacks=[runs.ScaleHiddenKernels(5.0), first])
    expected = runs.deep_network(3, "relu", True, 5.0, bn_momentum=0.9).get_weights()
    assert len(first.weights) == len(expected)
    assert all(np.array_equal(a, b) for a, b in zip(first.weights, expected))
    unscaled = runs.deep_network(3, "relu", True, 1.0, bn_momentum=0.9)
    assert np.allclose(unscaled.layers[0].kernel * 5.0, expected[0])


def test_training_runs_are_cached_and_listed_by_rate_and_seed():
    first = runs.train_digits(0.1, True)
    assert runs.train_digits(0.1, True) is first
    assert 0.1 in runs.trained_rates(True, 1.41)
    runs.train_digits(0.3162, True, seed=7)
    assert 0.3162 in runs.trained_rates(True, 1.41, seed=7)
    assert runs.trained_rates(True, 1.41, seed=7) != runs.trained_rates(True, 1.41)


def test_sweeps_are_one_row_per_seed_and_share_the_cache():
    sweep = runs.learning_rate_sweep(False, (0, 1), rates=(0.1, 10.0))
    assert [[r.learning_rate for r in row] for row in sweep] == [[0.1, 10.0]] * 2
    assert sweep[1][0] is runs.train_digits(0.1, False, seed=1)
    assert sweep[0][0].val_loss != sweep[1][0].val_loss                  # other seeds, other runs
    accuracy, losses = runs.best_accuracies(sweep), runs.best_val_losses(sweep)
    gone = runs.diverged(sweep)
    assert accuracy.shape == losses.shape == gone.shape == (2, 2)
    assert gone[:, 1].all() and not gone[:, 0].any()                    # lr 10 without BN diverges
    assert np.all(accuracy[:, 1] == 0.1) and np.all(np.isnan(losses[:, 1]))
    assert np.allclose(losses[:, 0], [min(row[0].val_loss) for row in sweep])
    init = runs.init_scale_sweep(True, (0,), scales=(1.41,))
    assert init[0][0] is runs.train_digits(0.1, True, 1.41, seed=0)


def test_plot_sweep_draws_the_median_and_every_seed():
    import matplotlib.pyplot as plt

    from course_lib.lessons.batchnorm.figures import plot_sweep
    sweep = runs.learning_rate_sweep(False, (0, 1, 2), rates=(0.1, 10.0))
    fig, ax = plt.subplots()
    spreads = plot_sweep(ax, (0.1, 10.0), {"without batch norm": sweep}, xlabel="learning rate")
    expected = np.median(runs.best_accuracies(sweep), axis=0)
    assert np.allclose(spreads["without batch norm"].median, expected)
    assert np.allclose(ax.lines[0].get_ydata(), expected)
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert sum(len(line.get_xdata()) for line in crosses) == 3        # every seed diverged at 10
    plt.close(fig)


def test_distribution_records_measure_the_first_seed_throughout_and_the_others_at_the_ends():
    first, other = runs.distribution_records(False, (0, 1))
    assert len(first.steps) > 2 and list(other.steps) == [0, 100]
    assert np.array_equal(first.steps, runs.record_distributions(False).steps)   # every 5 steps
    # Measuring does not change the training: the same seed ends with the same drift.
    again = runs.record_distributions(False, every=None, seed=0)
    assert np.allclose(again.drift(), first.drift())


def test_explorers_use_their_seed():
    def drawn(explorer):
        explorer.redraw()
        return explorer.drawn_data()

    paths = [drawn(explorers.input_scaling_explorer(seed=s))["raw path"] for s in (1, 2)]
    assert paths[0].shape != paths[1].shape or not np.allclose(*paths)
    stds = [drawn(explorers.distribution_explorer(seed=s))["std without batch norm"]
            for s in (1, 2)]
    assert not np.allclose(*stds)
    first = drawn(explorers.training_explorer(learning_rate=0.1, seed=3))
    assert first["with batch norm loss"].tolist() == list(runs.train_digits(0.1, True, seed=3).loss)


def test_batch_noise_shrinks_with_the_batch_size():
    model = inference.block_model(units=(32, 16), seed=0)
    noise = inference.batch_noise(model, runs.probe_batch(256), 0, (4, 16, 64), draws=32)
    assert noise[0] > noise[1] > noise[2] > 0


def test_the_notebook_explorers_are_registered():
    names = {(spec.name, spec.retraining) for spec in registry()
             if spec.notebook == explorers.NOTEBOOK}
    assert names == {("input_scaling_explorer", False), ("distribution_explorer", False),
                     ("running_average_explorer", False), ("training_explorer", True)}
