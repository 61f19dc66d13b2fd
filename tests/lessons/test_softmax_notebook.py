"""Notebook 01 (softmax, output layers and losses): its exercises, figures and explorers.

The contract every checker keeps (reference accepted, listed mistakes explained, stubs and
non-functions answered, cases safe from the learner) is tested once, in test_exercises.py;
here are the checks particular to this notebook's exercises."""
import warnings

import numpy as np
import pytest

from course_lib import activations, losses
from course_lib.lessons.explorer import registry
from course_lib.lessons.seeds import seeds_from
from course_lib.lessons.softmax import digits_runs, explorers, figures, runs
from course_lib.lessons.softmax.exercises import (check_sparse_crossentropy, check_stable_softmax,
                                                  sparse_crossentropy_solution,
                                                  stable_softmax_solution)


@pytest.fixture(autouse=True)
def no_warnings():
    """Checkers run learners' overflowing code: nothing of it may leak out as a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --------------------------------------------------------------------- exercise 1: softmax

def test_stable_softmax_reference_agrees_with_the_library():
    z = np.random.default_rng(0).normal(0, 50, size=(20, 7))
    assert np.allclose(stable_softmax_solution(z), activations.softmax(z))


def test_stable_softmax_accepts_other_correct_versions():
    def with_logsumexp(z):
        z = np.asarray(z, dtype=float)
        m = z.max(axis=-1, keepdims=True)
        return np.exp(z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))

    def row_by_row(z):
        out = []
        for row in np.asarray(z, dtype=float):
            e = np.exp(row - row.max())
            out.append(e / e.sum())
        return np.array(out)

    assert check_stable_softmax(with_logsumexp).passed
    assert check_stable_softmax(row_by_row).passed


def test_stable_softmax_names_the_overflow_of_the_naive_formula():
    def naive(z):
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    result = check_stable_softmax(naive)
    assert not result.passed
    assert "overflows" in result.message and "Subtract each row's maximum" in result.message


@pytest.mark.parametrize("axis", [None, 0])
def test_stable_softmax_names_a_maximum_shared_by_rows(axis):
    def shared_max(z):
        e = np.exp(z - np.max(z, axis=axis, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    result = check_stable_softmax(shared_max)
    assert not result.passed
    assert "one maximum for the whole batch" in result.message


def test_stable_softmax_hints_at_keepdims_when_broadcasting_fails():
    def no_keepdims(z):
        e = np.exp(z - np.max(z, axis=1, keepdims=True))
        return e / e.sum(axis=1)

    result = check_stable_softmax(no_keepdims)
    assert not result.passed
    assert "raised ValueError" in result.message and "keepdims=True" in result.message


def test_stable_softmax_other_wrong_versions():
    def uniform(z):
        z = np.asarray(z, dtype=float)
        return np.full_like(z, 1.0 / z.shape[1])

    message = check_stable_softmax(uniform).message
    # Feedback says where and in which direction, never the expected value.
    assert message.startswith("case 'the worked example") and "is too small" in message

    def transposed(z):
        return stable_softmax_solution(z).T

    assert "expected shape" in check_stable_softmax(transposed).message


# ------------------------------------------------------------ exercise 2: cross-entropy

def test_sparse_crossentropy_reference_agrees_with_the_library():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, size=(8, 5))
    y = rng.integers(0, 5, size=8)
    loss, grad = sparse_crossentropy_solution(z, y)
    library = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert np.isclose(loss, library(y, z))
    assert np.allclose(grad, library.gradient(y, z))


def _log_softmax(z):
    z = np.asarray(z, dtype=float)
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def test_sparse_crossentropy_names_the_overflow_without_max_subtraction():
    def naive(logits, labels):
        z = np.asarray(logits, dtype=float)
        rows = np.arange(len(z))
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        grad = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        grad[rows, labels] -= 1
        return float(-log_p[rows, labels].mean()), grad / len(z)

    result = check_sparse_crossentropy(naive)
    assert not result.passed and "exp(800) overflows" in result.message


def test_sparse_crossentropy_names_the_log_of_unclipped_probabilities():
    def log_of_probabilities(logits, labels):
        z = np.asarray(logits, dtype=float)
        rows = np.arange(len(z))
        p = stable_softmax_solution(z)
        grad = p.copy()
        grad[rows, labels] -= 1
        return float(-np.log(p[rows, labels]).mean()), grad / len(z)

    result = check_sparse_crossentropy(log_of_probabilities)
    assert not result.passed
    assert "log of unclipped probabilities" in result.message and "underflows" in result.message


@pytest.mark.parametrize("log_of", [
    lambda p: np.log(np.clip(p, 1e-15, 1.0)),            # scikit-learn's old epsilon
    lambda p: np.log(p + 1e-7),                          # an epsilon added, not clipped
    lambda p: np.log(np.clip(p, 1e-7, 1.0 - 1e-7)),      # Keras's from_logits=False
    lambda p: np.log(np.maximum(p, 1e-12)),
])
def test_sparse_crossentropy_names_the_log_of_clipped_probabilities_whatever_the_epsilon(log_of):
    def clipped(logits, labels):
        z = np.asarray(logits, dtype=float)
        rows = np.arange(len(z))
        p = stable_softmax_solution(z)
        grad = p.copy()
        grad[rows, labels] -= 1
        return float(-log_of(p[rows, labels]).mean()), grad / len(z)

    result = check_sparse_crossentropy(clipped)
    assert not result.passed and "log of clipped probabilities" in result.message
    # the message names the slip, not the losses the checker expected
    loss = sparse_crossentropy_solution(np.array([[0.0, 800.0], [40.0, 0.0]]), np.array([0, 1]))[0]
    assert f"{loss:g}" not in result.message and "420" not in result.message


def test_sparse_crossentropy_does_not_call_other_slips_clipping():
    def half_loss(logits, labels):
        loss, grad = sparse_crossentropy_solution(logits, labels)
        return loss / 2, grad
    assert "clipped" not in check_sparse_crossentropy(half_loss).message


def test_sparse_crossentropy_recognises_a_sum_written_differently():
    # Not the listed implementation, but the same slip: the loss summed over the batch and
    # the gradient not divided (written with an explicit one-hot matrix).
    def summed(logits, labels):
        z = np.asarray(logits, dtype=float)
        onehot = np.eye(z.shape[1])[labels]
        log_p = _log_softmax(z)
        return float(-(onehot * log_p).sum()), np.exp(log_p) - onehot

    result = check_sparse_crossentropy(summed)
    assert not result.passed and "forgot to divide by the batch size" in result.message


def test_sparse_crossentropy_other_wrong_versions():
    def loss_only(logits, labels):
        return sparse_crossentropy_solution(logits, labels)[0]

    message = check_sparse_crossentropy(loss_only).message
    assert "expected 2 results" in message

    def half_gradient(logits, labels):
        loss, grad = sparse_crossentropy_solution(logits, labels)
        return loss, grad / 2

    message = check_sparse_crossentropy(half_gradient).message
    assert message.startswith("result 1: case 'the worked example") and "is too large" in message

    def off_by_one_label(logits, labels):
        return sparse_crossentropy_solution(logits, (np.asarray(labels) + 1) % np.shape(logits)[1])

    assert "values differ" in check_sparse_crossentropy(off_by_one_label).message


# ------------------------------------------------------------------------ figure helpers

def test_softmax_with_temperature_and_loss_for_class():
    z = np.array(runs.WORKED_SCORES)
    assert np.allclose(runs.softmax_with_temperature(z), activations.softmax(z))
    assert np.allclose(runs.softmax_with_temperature(z, 2.0), activations.softmax(z / 2))
    assert np.allclose(runs.softmax_with_temperature(z + 1e4, 0.05), runs.softmax_with_temperature(z, 0.05))
    p = activations.softmax(z)
    assert np.isclose(runs.loss_for_class(z, 2), -np.log(p[2]))
    assert np.isclose(runs.loss_for_class([0.0, 900.0], 0), 900.0)   # exact, no clipping
    with pytest.raises(ValueError, match="temperature"):
        runs.softmax_with_temperature(z, 0.0)
    with pytest.raises(ValueError, match="true_class"):
        runs.loss_for_class(z, 4)


def test_region_image_is_pale_when_unsure_and_coloured_when_sure():
    k = 3
    uniform = np.full((1, 1, k), 1.0 / k)
    sure = np.zeros((1, 1, k))
    sure[..., 1] = 1.0
    pale, strong = figures.region_image(uniform, k)[0, 0], figures.region_image(sure, k)[0, 0]
    colour = figures.class_colors(k)[1]
    assert np.all((pale >= 0) & (pale <= 1)) and pale.min() > strong.min()
    # A certain pixel leans toward its class colour: closer to it than to white's opposite.
    assert np.linalg.norm(strong - colour) < np.linalg.norm(pale - colour)


def test_toy_runs_record_the_loss_of_every_snapshot_and_are_cached():
    run = runs.train_toy_classifier("blobs", 3, "softmax regression", steps=20)
    assert run is runs.train_toy_classifier("blobs", 3, "softmax regression", steps=20)
    assert len(run.losses) == len(run.snapshots) == 21
    assert np.isclose(run.losses[0], np.log(3), atol=1e-6)
    for step in (0, 1, 7, 20):
        run.model.set_weights(run.snapshots[step])
        assert np.isclose(run.model.evaluate(run.x, run.y)["loss"], run.losses[step])
    assert np.all(np.diff(run.losses[:5]) < 0)


def test_hidden_layer_beats_softmax_regression_on_spirals():
    linear = runs.train_toy_classifier("spirals", 3, "softmax regression")
    hidden = runs.train_toy_classifier("spirals", 3, "one hidden layer")
    assert linear.accuracies[-1] < 0.6 < 0.95 < hidden.accuracies[-1]


def test_toy_arguments_are_validated():
    with pytest.raises(ValueError, match="dataset"):
        runs.train_toy_classifier("moons", 3)
    with pytest.raises(ValueError, match="n_classes"):
        runs.train_toy_classifier("blobs", 6)
    with pytest.raises(ValueError, match="model"):
        runs.train_toy_classifier("blobs", 3, "two hidden layers")


# ---------------------------------------------------------------------------- explorers

def test_both_explorers_are_registered_with_their_budgets():
    specs = {s.name: s for s in registry() if s.notebook == explorers.NOTEBOOK}
    assert set(specs) == {"softmax_explorer", "decision_region_explorer"}
    assert not specs["softmax_explorer"].retraining
    assert specs["decision_region_explorer"].retraining


def test_softmax_explorer_draws_the_library_numbers_at_extreme_settings():
    explorer = explorers.softmax_explorer()
    for temperature in (0.05, 1.0, 20.0):
        explorer.update(z_cat=-10.0, z_dog=10.0, z_chick=10.0, z_other=-10.0,
                        temperature=temperature, true_class="cat")
        drawn = explorer.drawn_data()
        temperature = explorer.values()["temperature"]   # the slider's own value (10**-1.3 ...)
        expected = activations.softmax(np.array([-10.0, 10.0, 10.0, -10.0]) / temperature)
        assert np.allclose(drawn["probabilities"], expected)
        assert np.isclose(drawn["probabilities"].sum(), 1.0)
        # the loss of the true class, -z_cat/T + log sum exp(z/T), exact even when the
        # probability underflows (at T = 0.05 it is about 20/T + ln 2 = 400)
        scaled = np.array([-10.0, 10.0, 10.0, -10.0]) / temperature
        assert np.isclose(drawn["loss"][0], -scaled[0] + np.logaddexp.reduce(scaled), rtol=1e-9)
        assert all(np.all(np.isfinite(v)) for v in drawn.values())
    assert "prediction" in explorer.status.value


def test_decision_region_explorer_starts_at_ln_k_and_reuses_its_training():
    explorer = explorers.decision_region_explorer(dataset="blobs", n_classes=2, steps=0)
    explorer.redraw()
    drawn = explorer.drawn_data()
    assert np.isclose(drawn["loss_curve"][0], np.log(2), atol=1e-6)
    assert drawn["regions"].shape == (120, 120, 3)
    assert np.all((drawn["regions"] >= 0) & (drawn["regions"] <= 1))
    before = runs._cached_toy_run.cache_info().misses
    explorer.update(steps=150)
    explorer.update(steps=300)
    assert runs._cached_toy_run.cache_info().misses == before     # moving steps never retrains
    run = runs.train_toy_classifier("blobs", 2, "softmax regression")
    assert np.allclose(explorer.drawn_data()["loss_curve"], run.losses)
    assert "training accuracy" in explorer.status.value


# ------------------------------------------------------------------- digits experiments

def test_zero_output_weights_start_every_seed_at_ln_10():
    for seed in (0, 7):
        loss = digits_runs.initial_loss("softmax regression, zero weights", seed)
        assert np.isclose(loss, np.log(10), atol=1e-5)
    with pytest.raises(ValueError, match="initialization"):
        digits_runs.initial_loss("ones", 0)


def test_digits_layers_are_new_and_named():
    first = digits_runs.digits_layers("one hidden layer", "zeros")
    assert len(first) == 2 and first[0] is not digits_runs.digits_layers("one hidden layer", "zeros")[0]
    assert len(digits_runs.digits_layers("softmax regression", "zeros")) == 1
    with pytest.raises(ValueError, match="model"):
        digits_runs.digits_layers("two hidden layers", "zeros")


def test_pairings_report_row_sums_of_their_outputs():
    softmax_run = digits_runs.train_pairing("softmax + MSE", 3)
    sigmoid_run = digits_runs.train_pairing("sigmoid + categorical CE", 3)
    assert softmax_run is digits_runs.train_pairing("softmax + MSE", 3)     # cached
    assert np.isclose(softmax_run["row_sum"], 1.0, atol=1e-5)
    # Ten independent sigmoids each lie in (0, 1): their sum is anything in (0, 10).
    assert 0.0 < sigmoid_run["row_sum"] < 10.0 and not np.isclose(sigmoid_run["row_sum"], 1.0)
    assert len(softmax_run["val_accuracy"]) == digits_runs.PAIRING_EPOCHS
    with pytest.raises(ValueError, match="pairing"):
        digits_runs.train_pairing("linear + MSE", 0)


def test_decision_region_explorer_trains_with_the_first_seed_of_its_seed():
    explorer = explorers.decision_region_explorer(dataset="blobs", n_classes=2, steps=40, seed=2)
    explorer.redraw()
    run = runs.train_toy_classifier("blobs", 2, "softmax regression", seed=seeds_from(2)[0])
    assert np.allclose(explorer.drawn_data()["loss_curve"], run.losses[:41])
    assert np.allclose(explorer.drawn_data()["points"], run.x)
