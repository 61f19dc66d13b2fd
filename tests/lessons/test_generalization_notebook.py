"""Notebook 05 (generalization and regularization): experiments, exercises, figures, explorers."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

from course_lib.callbacks import EarlyStopping
from course_lib.constraints import MaxNorm
from course_lib.layers import Dense, Dropout
from course_lib.lessons.explorer import registry
from course_lib.lessons.generalization import digit_runs, explorers, figures, runs
from course_lib.lessons.generalization import exercises as ex
from course_lib.optimizers import SGD, Adam
from course_lib.regularizers import L1L2


@pytest.fixture(autouse=True)
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ------------------------------------------------------------------ the overfitting problem

def test_runs_compute_without_the_drawing_libraries():
    code = ("import sys, course_lib.lessons.generalization.runs, "
            "course_lib.lessons.generalization.digit_runs, course_lib.lessons.generalization.exercises; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'ipywidgets'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_moons_network_structure():
    plain = runs.moons_network(0.0)
    assert [type(layer) for layer in plain.layers] == [Dense, Dense, Dense]
    with_dropout = runs.moons_network(0.5, hidden=16)
    assert [type(layer) for layer in with_dropout.layers] == [Dense, Dropout, Dense, Dropout, Dense]
    assert with_dropout.layers[0].units == 16 and with_dropout.layers[1].rate == 0.5
    deep = runs.moons_network(0.0, hidden=8, depth=3)
    assert [layer.units for layer in deep.layers] == [8, 8, 8, 2]
    with pytest.raises(ValueError, match="rate"):
        runs.moons_network(1.0)
    with pytest.raises(ValueError, match="depth"):
        runs.moons_network(0.0, depth=0)


def test_training_set_loss_equals_evaluate_with_dropout_off():
    x_train, y_train, _, _ = runs.moons_data()
    run = runs.fit_moons(0.5, hidden=8, epochs=3)
    assert len(run.train_loss) == len(run.logged_loss) == len(run.val_loss) == 3
    assert np.isclose(run.train_loss[-1], run.model.evaluate(x_train, y_train)["loss"], rtol=1e-6)
    assert np.allclose(run.gap, run.val_loss - run.train_loss)
    assert run.best_epoch == int(np.argmin(run.val_loss)) + 1


def test_train_moons_is_cached_per_setting():
    assert runs.train_moons(0.30000000000000004, hidden=4) is runs.train_moons(0.3, hidden=4)
    assert runs.train_moons(0.0, hidden=4, depth=1) is not runs.train_moons(0.0, hidden=4)
    small = runs.train_moons(0.0, hidden=4, n_train=50)
    x_train, y_train, _, _ = runs.moons_data(0, n_train=50)
    assert len(x_train) == 50
    assert np.isclose(small.train_loss[-1], small.model.evaluate(x_train, y_train)["loss"], rtol=1e-5)


def test_a_seed_draws_its_own_moons_and_weights():
    first, again, other = runs.moons_data(3), runs.moons_data(3), runs.moons_data(4)
    assert all(a is b for a, b in zip(first, again))               # cached, shared
    assert not np.allclose(first[0], other[0]) and not np.allclose(first[2], other[2])
    assert not np.allclose(first[0][:50], first[2][:50])             # validation is another draw
    assert not first[0].flags.writeable
    run_3 = runs.train_moons(0.0, hidden=4, seed=3)
    assert run_3 is not runs.train_moons(0.0, hidden=4, seed=4)
    for bad in (-1, 1.5, True, "0"):
        with pytest.raises(ValueError, match="seed"):
            runs.moons_data(bad)


def test_summary_prints_median_and_quartiles():
    assert runs.summary([5.0, 1.0, 3.0, 2.0, 4.0]) == "3.00 [2.00, 4.00]"
    assert runs.summary([10, 20, 30, 40, 50], 0) == "30 [20, 40]"


# ------------------------------------------------------------------ regularizers

def test_each_kind_of_regularization_reaches_fit_as_keras_names_it():
    assert runs.regularized_fit_arguments("none", 0.0) == {}
    assert runs.regularized_fit_arguments("l2", 0.01)["kernel_regularizer"].l2 == 0.01
    assert runs.regularized_fit_arguments("l1", 0.01)["kernel_regularizer"].l1 == 0.01
    optimizer = runs.regularized_fit_arguments("weight_decay", 0.5)["optimizer"]
    assert isinstance(optimizer, Adam) and optimizer.weight_decay == 0.5
    assert isinstance(runs.regularized_fit_arguments("max_norm", 1.0)["kernel_constraint"], MaxNorm)
    with pytest.raises(ValueError, match="kind"):
        runs.regularized_fit_arguments("l3", 0.1)
    with pytest.raises(ValueError, match="strength"):
        runs.regularized_fit_arguments("l2", 0.0)
    assert all(len(grid) == 4 for kind, grid in runs.STRENGTHS.items() if kind != "none")
    assert list(runs.STRENGTHS["max_norm"]) == sorted(runs.STRENGTHS["max_norm"], reverse=True)


def test_regularized_runs_are_cached_and_none_is_the_baseline():
    assert runs.train_regularized("none", 0.0, seed=0) is runs.train_moons(0.0, seed=0)
    run = runs.train_regularized("max_norm", 0.5, seed=0)
    assert run is runs.train_regularized("max_norm", 0.5, seed=0)
    assert runs.longest_column(run) <= 0.5 + 1e-5
    kernel = runs.hidden_kernel(run)
    assert kernel.shape == (128, 128) and np.linalg.norm(kernel, axis=0).max() <= 0.5 + 1e-5


def test_weight_helpers_by_hand():
    run = runs.train_moons(0.0, hidden=4)
    kernels = [np.asarray(layer.kernel, dtype=float) for layer in run.model.layers]
    assert np.isclose(runs.weight_norm(run), np.sqrt(sum(np.sum(k ** 2) for k in kernels)))
    assert runs.fraction_near_zero(run, tolerance=np.inf) == 1.0
    assert np.isclose(runs.longest_column(run), max(np.linalg.norm(k, axis=0).max() for k in kernels[:2]))
    assert np.allclose(runs.best_validation([run]), [run.val_loss.min()])


def test_weight_decay_is_the_l2_step_for_sgd_only():
    """Keras: l2(lam) adds lam * sum(w**2) (gradient 2 lam w); weight_decay=wd does
    w -= lr * wd * w. With wd = 2 lam one SGD step is the same; an Adam step is not."""
    rng = np.random.default_rng(1)
    w, g, lam, lr = rng.normal(size=(6, 5)), rng.normal(size=(6, 5)), 0.01, 0.1
    penalty, decay = w.copy(), w.copy()
    SGD(lr).step([penalty], [g + L1L2(l2=lam).gradient(penalty)])
    SGD(lr, weight_decay=2 * lam).step([decay], [g])
    assert np.allclose(penalty, decay, atol=1e-14)
    assert np.allclose(decay, w - lr * (g + 2 * lam * w))
    penalty, decay = w.copy(), w.copy()
    Adam(lr).step([penalty], [g + L1L2(l2=lam).gradient(penalty)])
    Adam(lr, weight_decay=2 * lam).step([decay], [g])
    assert not np.allclose(penalty, decay, atol=1e-6)


# ------------------------------------------------------------------ data

def test_shift_digits_by_hand():
    image = np.arange(1, 10, dtype=float).reshape(1, 9)          # a 3 x 3 image 1..9
    shifted, labels = runs.shift_digits(image, np.array([7]), side=3)
    assert shifted.shape == (5, 9) and list(labels) == [7] * 5
    square = shifted.reshape(5, 3, 3)
    assert np.array_equal(square[0], [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert np.array_equal(square[1], [[4, 5, 6], [7, 8, 9], [0, 0, 0]])   # up
    assert np.array_equal(square[2], [[0, 0, 0], [1, 2, 3], [4, 5, 6]])   # down
    assert np.array_equal(square[3], [[2, 3, 0], [5, 6, 0], [8, 9, 0]])   # left
    assert np.array_equal(square[4], [[0, 1, 2], [0, 4, 5], [0, 7, 8]])   # right
    assert np.array_equal(image, np.arange(1, 10, dtype=float).reshape(1, 9))   # input unchanged


def test_shift_digits_keeps_the_order_and_names_bad_shapes():
    images = np.random.default_rng(0).random((4, 64))
    shifted, labels = runs.shift_digits(images, np.arange(4))
    assert np.array_equal(shifted[:4], images) and np.array_equal(labels, np.tile(np.arange(4), 5))
    square = shifted.reshape(-1, 8, 8)
    assert np.all(square[4:8, -1, :] == 0) and np.all(square[8:12, 0, :] == 0)     # up, down
    assert np.all(square[12:16, :, -1] == 0) and np.all(square[16:20, :, 0] == 0)  # left, right
    with pytest.raises(ValueError, match="images"):
        runs.shift_digits(np.zeros((2, 10)), np.zeros(2))
    with pytest.raises(ValueError, match="labels"):
        runs.shift_digits(np.zeros((2, 64)), np.zeros(3))


def test_learning_curve_and_augmented_runs_make_the_same_updates():
    plain = digit_runs.learning_curve_run(100, 0)
    augmented = digit_runs.augmented_run(100, 0)
    assert len(plain["loss"]) == round(digit_runs.DATA_UPDATES / 4)        # 4 batches per epoch
    assert len(augmented["loss"]) == round(digit_runs.DATA_UPDATES / 16)   # 500 examples: 16
    assert not plain["val_loss"].flags.writeable
    assert digit_runs.learning_curve_run(100, 0) is plain


# ------------------------------------------------------------------ batch size

def test_batch_size_updates_and_learning_rates():
    assert [digit_runs.updates_per_epoch(b) for b in digit_runs.BATCH_SIZES] == [40, 20, 10, 5, 3]
    assert digit_runs.updates_per_epoch(32, n_examples=64) == 2
    assert digit_runs.batch_learning_rate(128, "linear") == pytest.approx(4 * digit_runs.BASE_LEARNING_RATE)
    assert digit_runs.batch_learning_rate(128, "none") == digit_runs.BASE_LEARNING_RATE
    with pytest.raises(ValueError, match="scaling"):
        digit_runs.batch_learning_rate(64, "square")
    run = digit_runs.batch_run(256, "linear", 0)
    assert np.array_equal(run["updates"], 5 * np.arange(1, len(run["loss"]) + 1))
    assert abs(run["updates"][-1] - digit_runs.BATCH_UPDATES) <= 5


def test_gradient_noise_follows_the_sampling_law():
    sizes = (16, 64, 256)
    noise = digit_runs.gradient_noise(sizes, n_draws=150, seed=3)
    n = 1257
    law = np.sqrt([(n - b) / (n - 1) / b for b in sizes])
    assert np.allclose(noise / law, noise[0] / law[0], rtol=0.12)
    assert np.all(np.diff(noise) < 0)


def test_full_batch_has_no_gradient_noise():
    assert digit_runs.gradient_noise((1257,), n_draws=2)[0] < 1e-5


# ------------------------------------------------------------------ exercises

def test_l2_gradient_reference_passes_and_matches_the_library():
    assert ex.check_l2_penalty_gradient(ex.l2_penalty_gradient_solution).passed
    w = np.random.default_rng(0).normal(size=(3, 3))
    assert np.allclose(ex.l2_penalty_gradient_solution(w, 0.2), L1L2(l2=0.2).gradient(w))


def test_l2_gradient_names_each_slip_written_as_a_learner_would():
    slips = {"factor 2 is missing": lambda w, f: f * w,
             "l1 penalty": lambda w, f: f * np.sign(w),
             "not its derivative": lambda w, f: f * w * w,
             "sign is reversed": lambda w, f: -2 * f * w,
             "do not sum": lambda w, f: 2 * f * np.sum(w) + 0 * w}
    for words, fn in slips.items():
        result = ex.check_l2_penalty_gradient(fn)
        assert not result.passed and words in result.message, (words, result.message)


def test_early_stopping_reference_matches_the_library_callback():
    full = runs.train_moons(0.0, seed=1)
    for patience in (5, 20):
        stopper = EarlyStopping(patience=patience, restore_best_weights=True)
        stopped = runs.fit_moons(0.0, seed=1, callbacks=[stopper])
        epochs = list(range(1, full.epochs + 1))           # "weights" that name their epoch
        stop, best, kept = ex.early_stopping_solution(list(full.val_loss), epochs, patience)
        assert stop == stopped.epochs and best == stopper.best_epoch + 1 and kept == best


def test_early_stopping_names_each_slip():
    def zero_based(val_losses, weights, patience):
        stop, best, _ = ex.early_stopping_solution(val_losses, weights, patience)
        return stop - 1, best - 1, weights[best - 1]

    def last_weights(val_losses, weights, patience):
        stop, best, _ = ex.early_stopping_solution(val_losses, weights, patience)
        return stop, best, weights[stop - 1]

    def sees_the_future(val_losses, weights, patience):
        stop, _, _ = ex.early_stopping_solution(val_losses, weights, patience)
        best = int(np.argmin(val_losses)) + 1
        return stop, best, weights[best - 1]

    for fn, words in [(zero_based, "counted from 0"), (last_weights, "best epoch, not those"),
                      (sees_the_future, "cannot see the future")]:
        result = ex.check_early_stopping(fn)
        assert not result.passed and words in result.message, result.message
    assert ex.check_early_stopping(ex.early_stopping_solution).passed


def test_l2_choice_is_scored_on_the_checkers_runs_and_never_reveals_the_answer():
    assert not ex.check_l2_choice(None).passed
    assert "between" in ex.check_l2_choice(5.0).message
    good, bad = ex.check_l2_choice(1e-3), ex.check_l2_choice(0.05)
    assert good.passed and not bad.passed
    medians = ex.L2_CHOICE.grid_medians()
    best = ex.L2_CHOICE.grid[int(np.nanargmin(medians))]
    assert 0 < int(np.nanargmin(medians)) < len(medians) - 1            # the grid's best is inside it
    assert f"{best:g}" not in bad.message


# ------------------------------------------------------------------ figures

@pytest.fixture
def axes():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    return Figure().subplots(1, 2)


def test_curve_band_draws_the_median_and_the_quartiles(axes):
    curves = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0], [4.0, 8.0], [5.0, 10.0]])
    s = figures.plot_curve_band(axes[0], curves, color="black", label="loss")
    line = axes[0].get_lines()[0]
    assert np.allclose(line.get_xdata(), [1, 2]) and np.allclose(line.get_ydata(), [3.0, 6.0])
    assert np.allclose(s.low, [2.0, 4.0]) and np.allclose(s.high, [4.0, 8.0])
    figures.plot_curve_band(axes[1], curves, color="black", x=[10, 30])
    assert np.allclose(axes[1].get_lines()[0].get_xdata(), [10, 30])


def test_final_losses_read_every_seed(axes):
    sweep = [[runs.train_moons(0.0, hidden=w, seed=s) for s in (0, 1)] for w in (2, 4)]
    train, val = figures.plot_final_losses(axes[0], (2, 4), sweep, xlabel="units")
    assert train.values.shape == (2, 2)                          # (seeds, widths)
    assert train.values[1, 0] == sweep[0][1].train_loss[-1]      # seed 1, width 2
    assert val.values[0, 1] == sweep[1][0].val_loss[-1]          # seed 0, width 4


def test_sweep_and_histograms(axes):
    medians = figures.plot_sweep(axes[0], [1e-3, 1e-2], [[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]],
                                 color="blue", label="l2", baseline=[0.5, 1.0, 1.5])
    assert np.allclose(medians, [2.0, 5.0])
    kernel = np.random.default_rng(0).normal(scale=0.1, size=(20, 20))
    counts = figures.plot_weight_histograms(axes[1], {"k": kernel}, {"k": "black"})
    assert counts["k"].sum() == kernel.size                       # the clipped tails are counted


# ------------------------------------------------------------------ explorers

def test_explorers_are_registered_with_their_budgets():
    specs = [s for s in registry() if s.notebook == explorers.NOTEBOOK]
    assert {s.name for s in specs} == {"capacity_explorer", "regularization_explorer",
                                       "batch_size_explorer"}
    assert all(s.retraining for s in specs)


def test_capacity_explorer_draws_the_cached_run_up_to_the_epochs_shown():
    explorer = explorers.capacity_explorer(seed=1)
    explorer.update(width=8, depth=1, epochs=40, n_train=50)
    run = runs.train_moons(0.0, hidden=8, seed=1, depth=1, n_train=50)
    drawn = explorer.drawn_data()
    assert np.allclose(drawn["val_loss"], run.val_loss[:40]) and len(drawn["train_loss"]) == 40


def test_regularization_explorer_draws_the_run_and_its_histogram():
    explorer = explorers.regularization_explorer(seed=0)
    explorer.update(kind="max_norm", step=4)
    run = runs.train_regularized("max_norm", explorers.strength_of("max_norm", 4), 0)
    drawn = explorer.drawn_data()
    assert np.allclose(drawn["val_loss"], run.val_loss)
    assert drawn["histogram"].sum() == runs.hidden_kernel(run).size
    assert explorers.strength_of("max_norm", 4) == 0.5 and explorers.strength_of("none", 3) == 0.0


def test_batch_size_explorer_draws_the_run_of_its_setting():
    explorer = explorers.batch_size_explorer(seed=0)
    explorer.update(batch_size=64, scaling="none")
    assert np.allclose(explorer.drawn_data()["val_loss"], digit_runs.batch_run(64, "none", 0)["val_loss"])
    assert "lr 0.02" in explorer.status.value
