"""Tests of the optimizers notebook's explorers, run helpers and exercises.

The generic fuzz, latency and browser tests cover every registered explorer; these check
what is specific to this notebook: the cached races agree with fresh
``surfaces.trajectory`` runs, diverging runs are cut and labelled, the cached-bitmap rendering
draws the same pixels as a full redraw, and each exercise accepts its solution and rejects
its listed mistakes and other wrong versions with specific messages.
"""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from course_lib import optimizers as opt
from course_lib import surfaces
from course_lib.lessons.digits import digits
from course_lib.lessons.explorer import registry
from course_lib.lessons.optimizers import exercises as ex
from course_lib.lessons.optimizers import explorers as ow
from course_lib.lessons.optimizers import digits_runs, runs
from course_lib.lessons.seeds import seeds_from


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


# ------------------------------------------------------------------------------- runs

def test_the_two_sliders_map_to_each_optimizers_keras_keywords():
    assert runs.slider_keywords("SGD", beta_1=0.5, beta_2=0.8) == {}    # SGD never gets momentum
    assert runs.slider_keywords("AdaGrad", beta_1=0.5, beta_2=0.8) == {}
    assert runs.slider_keywords("Momentum", beta_1=0.5, beta_2=0.8) == {"momentum": 0.5}
    assert runs.slider_keywords("RMSProp", beta_1=0.5, beta_2=0.8) == {"rho": 0.8}
    assert runs.slider_keywords("Adam", beta_1=0.5) == {"beta_1": 0.5}
    nesterov = opt.get("Nesterov", learning_rate=0.1, **runs.slider_keywords("Nesterov", 0.7))
    assert nesterov.momentum == 0.7 and nesterov.nesterov
    adam = opt.get("Adam", learning_rate=0.1, **runs.slider_keywords("Adam", 0.5, 0.8))
    assert (adam.beta_1, adam.beta_2) == (0.5, 0.8)
    assert runs.default_hyperparameters("RMSProp") == (None, 0.9)
    assert runs.default_hyperparameters("Nesterov") == (0.9, None)
    assert runs.default_hyperparameters("AdaGrad") == (None, None)
    assert runs.default_hyperparameters("Nadam") == (0.9, 0.999)
    with pytest.raises(ValueError, match="name"):
        runs.slider_keywords("adam_w", 0.5)


def test_a_slider_the_optimizer_ignores_does_not_change_its_path():
    first = runs.path("quadratic", "SGD", 0.1, steps=20, beta_1=0.3, beta_2=0.6)
    assert runs.path("quadratic", "SGD", 0.1, steps=20, beta_1=0.8, beta_2=0.9) is first
    momentum = runs.path("quadratic", "Momentum", 0.1, steps=20, beta_1=0.3)
    assert not np.array_equal(momentum.points, first.points)


@pytest.mark.parametrize("surface", runs.SURFACE_NAMES)
@pytest.mark.parametrize("learning_rate", [0.01, 0.3])
def test_race_gives_the_same_paths_as_trajectory(surface, learning_rate):
    raced = runs.race(surface, learning_rate, steps=60)
    for name in opt.OPTIMIZER_NAMES:
        alone = surfaces.trajectory(opt.get(name, learning_rate=learning_rate), surface, steps=60)
        # one gradient call for all eight points vs one per point: exp on arrays and on
        # scalars may round the last bit differently
        np.testing.assert_allclose(raced[name].points, alone.points, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(raced[name].losses, alone.losses, rtol=1e-12, atol=1e-15)
        assert raced[name].diverged == alone.diverged
        assert raced[name].diverged_at == alone.diverged_at


def test_a_cached_race_extended_or_cut_equals_a_fresh_one():
    short = runs.race("saddle", 0.37, steps=30)
    longer = runs.race("saddle", 0.37, steps=90)        # continues the cached race
    cut = runs.race("saddle", 0.37, steps=30)           # cut from the longer one
    for name in opt.OPTIMIZER_NAMES:
        fresh = surfaces.trajectory(opt.get(name, learning_rate=0.37), "saddle", steps=90)
        np.testing.assert_allclose(longer[name].points, fresh.points, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(cut[name].points, short[name].points)
        assert cut[name].diverged == short[name].diverged


def test_the_race_at_a_large_rate_contains_diverged_runs():
    raced = runs.race("rosenbrock", 0.1, steps=100)
    assert raced["SGD"].diverged and raced["Momentum"].diverged
    assert not raced["Adam"].diverged


def test_ring_starts_lie_inside_the_box():
    for name in runs.SURFACE_NAMES:
        surface = surfaces.SURFACES[name]
        starts = runs.ring_starts(surface, 8)
        assert starts.shape == (8, 2)
        assert np.all((starts[:, 0] > surface.xlim[0]) & (starts[:, 0] < surface.xlim[1]))
        assert np.all((starts[:, 1] > surface.ylim[0]) & (starts[:, 1] < surface.ylim[1]))


def test_surface_comparison_keeps_each_optimizers_fastest_rate():
    table = runs.surface_comparison("quadratic", [0.01, 0.1, 0.25], steps=100, n_starts=4,
                                  names=("SGD",))
    entry = table["SGD"]
    assert entry["learning_rate"] == 0.1           # 0.01 is too slow, 0.25 diverges
    assert entry["reached"] == 1.0
    assert entry["by_rate"][0] is None and entry["by_rate"][2] is None
    # the steps reported are those of an independent trajectory run from the ring starts
    starts = runs.ring_starts("quadratic", 4)
    paths = [surfaces.trajectory(opt.SGD(0.1), "quadratic", start=s, steps=100) for s in starts]
    needed = [surfaces.settling_step(p.losses < 1e-3) for p in paths]   # f_min = 0 here
    assert entry["steps"] == float(np.median(needed))


def test_exit_step_and_loss_gap():
    surface = surfaces.SURFACES["quadratic"]
    points = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 0.0], [0.0, 0.0]])
    assert runs.exit_step(surface, points) == 2
    assert runs.exit_step(surface, points[:2]) is None
    gap = runs.loss_gap("saddle", np.array([-0.25, 0.75]))
    np.testing.assert_allclose(gap, [runs.GAP_FLOOR, 1.0])


# ---------------------------------------------------------------------------- explorers

def test_every_explorer_of_the_notebook_is_registered():
    names = {s.name: s for s in registry() if s.notebook == "03_optimizers"}
    assert set(names) == {"trajectory_explorer", "race_explorer", "training_explorer"}
    assert names["training_explorer"].retraining
    assert not names["trajectory_explorer"].retraining and not names["race_explorer"].retraining


def test_a_diverging_trajectory_is_cut_where_it_leaves_the_plot_and_labelled():
    explorer = ow.trajectory_explorer()
    explorer.update(surface="quadratic", optimizer="SGD", learning_rate=0.3, steps=200,
                    start_x=-3.5, start_y=1.5)
    assert explorer.trajectory.diverged
    assert "diverged" in explorer.status.value
    assert explorer.paths.note.get_visible() and "diverged" in explorer.paths.note.get_text()
    drawn = explorer.drawn_data()["SGD path"]
    inside = ((drawn[:, 0] >= -4) & (drawn[:, 0] <= 4) & (drawn[:, 1] >= -2) & (drawn[:, 1] <= 2))
    assert inside[:-1].all() and not inside[-1]   # drawn up to the point that leaves the plot
    assert all(np.isfinite(a).all() for a in explorer.drawn_data().values())
    explorer.update(learning_rate=0.1)
    assert not explorer.trajectory.diverged and not explorer.paths.note.get_visible()
    assert "final loss" in explorer.status.value


def test_choosing_a_surface_moves_the_start_sliders_to_its_box():
    explorer = ow.trajectory_explorer()
    explorer.redraw()
    explorer.controls["surface"].value = "rosenbrock"          # as in the browser
    rosenbrock = surfaces.SURFACES["rosenbrock"]
    assert (explorer.controls["start_x"].min, explorer.controls["start_x"].max) == rosenbrock.xlim
    assert (explorer.controls["start_y"].min, explorer.controls["start_y"].max) == rosenbrock.ylim
    assert explorer.controls["start_x"].value == pytest.approx(rosenbrock.default_start[0])
    assert explorer.controls["start_y"].value == pytest.approx(rosenbrock.default_start[1])
    np.testing.assert_allclose(explorer.trajectory.points[0], rosenbrock.default_start, atol=1e-9)


def test_choosing_an_optimizer_sets_its_defaults_and_greys_out_unused_sliders():
    explorer = ow.trajectory_explorer()
    explorer.redraw()
    explorer.controls["optimizer"].value = "RMSProp"
    assert explorer.controls["beta_1"].disabled and not explorer.controls["beta_2"].disabled
    assert explorer.controls["beta_2"].value == pytest.approx(0.9)
    explorer.controls["optimizer"].value = "Adam"
    assert explorer.controls["beta_1"].value == pytest.approx(0.9)
    assert explorer.controls["beta_2"].value == pytest.approx(0.999)
    explorer.controls["optimizer"].value = "SGD"
    assert explorer.controls["beta_1"].disabled and explorer.controls["beta_2"].disabled


def test_the_start_is_clipped_into_the_box_of_the_surface():
    explorer = ow.trajectory_explorer()
    explorer.update(surface="quadratic", start_x=4.0, start_y=2.0)
    explorer.update(surface="rosenbrock")      # held update: sliders keep their values
    start = explorer.trajectory.points[0]
    assert -2.0 <= start[0] <= 2.0 and -1.0 <= start[1] <= 3.0


@pytest.mark.parametrize("factory", [ow.trajectory_explorer, ow.race_explorer])
@pytest.mark.parametrize("surface", runs.SURFACE_NAMES)
def test_cached_bitmap_rendering_draws_the_same_pixels_as_a_full_redraw(factory, surface):
    explorer = factory()
    explorer.redraw()
    explorer.update(surface="saddle", steps=40)            # visit another background first
    explorer.update(surface=surface, learning_rate=0.02, steps=90)
    fast = pixels(explorer.image.value)                      # from the cached bitmaps
    moving = explorer.paths.moving_artists()
    for artist in moving:
        artist.set_animated(False)
    explorer.canvas.draw()                                   # the whole figure, drawn normally
    full = np.asarray(explorer.canvas.buffer_rgba())[..., :3].astype(np.int16)
    for artist in moving:
        artist.set_animated(True)
    assert fast.shape == full.shape
    assert np.abs(fast - full).max() <= 2


def test_the_race_explorer_names_the_runs_that_diverged():
    explorer = ow.race_explorer()
    explorer.update(surface="rosenbrock", learning_rate=0.1, steps=100)
    assert "SGD" in explorer.status.value and "diverged" in explorer.status.value
    assert "Momentum" in explorer.paths.note.get_text()
    assert "Adam" not in explorer.paths.note.get_text()
    assert set(explorer.trajectories) == set(opt.OPTIMIZER_NAMES)


def test_formula_explorers_redraw_quickly_when_a_slider_moves():
    """A rough in-process check (the latency suite measures properly): the median redraw
    of a learning-rate sweep stays well under the 100 ms budget, in CPU time."""
    import time
    for explorer in (ow.trajectory_explorer(), ow.race_explorer()):
        explorer.redraw()
        times = []
        for lr in np.geomspace(1e-3, 1.0, 15):
            start = time.process_time()
            explorer.update(learning_rate=float(lr))
            times.append(time.process_time() - start)
        assert np.median(times) < 0.1, (type(explorer).__name__, np.median(times))


def test_the_training_explorer_labels_a_diverged_run():
    explorer = ow.training_explorer()
    explorer.update(optimizer="Momentum", learning_rate=10 ** 0.5)
    assert all(run.diverged_at is not None for run in explorer.runs)
    assert "diverged" in explorer.status.value
    assert "diverged" in explorer.curves.note.get_text()
    assert all(np.isfinite(a).all() for a in explorer.drawn_data().values())
    explorer.update(optimizer="Adam", learning_rate=0.01)
    assert all(run.diverged_at is None for run in explorer.runs)
    assert explorer.curves.note.get_text() == ""
    assert "median of 5 seeds" in explorer.status.value


def test_the_training_explorer_trains_on_the_seeds_of_its_seed():
    explorer = ow.training_explorer(seed=1)
    explorer.update(optimizer="Adam", learning_rate=0.01)
    assert [run.seed for run in explorer.runs] == list(seeds_from(1))


def test_digits_runs_are_deterministic_and_cached():
    first = digits_runs.digits_run("Adam", 0.01)
    assert digits_runs.digits_run("Adam", 0.01) is first
    again = digits_runs.digits_run.__wrapped__("Adam", 0.01)
    assert again.loss == first.loss and again.val_loss == first.val_loss
    assert len(first.loss) == digits_runs.DIGITS_SETUP["epochs"]
    assert first.epochs_to(10.0) == 1
    assert first.epochs_to(-1.0) is None
    other_seed = digits_runs.digits_run("Adam", 0.01, seed=1)
    assert other_seed.loss != first.loss                  # other weights, other batches
    mixed = digits_runs.digits_run("Adam", 0.01, "mixed units")
    assert len(mixed.loss) == digits_runs.DIGITS_SETUP["epochs"] and mixed.loss != first.loss
    with pytest.raises(ValueError, match="scaling"):
        digits_runs.digits_run("Adam", 0.01, "raw")


def test_mixed_units_really_have_mixed_scales_and_leave_their_input_alone():
    pixels = digits(n_train=digits_runs.DIGITS_SETUP["n_train"], standardize=False).x_train
    x_mixed = digits_runs.to_mixed_units(pixels)
    spread_ = x_mixed.std(axis=0)
    spread_ = spread_[spread_ > 0]
    assert spread_.max() / spread_.min() > 100
    assert x_mixed.shape == pixels.shape == (digits_runs.DIGITS_SETUP["n_train"], 64)
    assert x_mixed is not pixels and x_mixed.dtype == np.float32


def fake_runs(name, lr, val_losses, diverged=()):
    return tuple(digits_runs.DigitsRun(name, lr, (1.0,), (v,), (0.9,),
                                       diverged_at=2 if i in diverged else None, seed=i)
                 for i, v in enumerate(val_losses))


def test_the_best_rate_is_judged_by_the_median_and_diverged_runs_count_as_infinite():
    by_rate = {0.1: fake_runs("SGD", 0.1, [0.5, 0.5, 0.5, 0.5, 0.5]),
               # the lowest single run, but three of five diverged: median inf
               1.0: fake_runs("SGD", 1.0, [0.01, 0.2, 0.2, 0.2, 0.2], diverged=(1, 2, 3)),
               0.01: fake_runs("SGD", 0.01, [0.05, 0.9, 0.4, 0.45, 0.9])}
    assert digits_runs.median_final_val_loss(by_rate[1.0]) == math.inf
    assert digits_runs.best_rate(by_rate) == 0.01         # median 0.45 < 0.5
    assert not digits_runs.best_is_inside(by_rate)
    assert digits_runs.best_runs({"SGD": by_rate})["SGD"] is by_rate[0.01]


def test_the_sweep_widens_each_grid_until_the_best_rate_is_inside(monkeypatch):
    # a loss that is lowest at 0.001 for one optimizer and at 100 for another
    def fake_digits_runs(name, lr, seeds, scaling="standardized"):
        target = 1e-3 if name == "Adam" else 100.0
        return fake_runs(name, lr, [abs(math.log10(lr / target)) + 0.1 * s for s in seeds])
    monkeypatch.setattr(digits_runs, "digits_runs", fake_digits_runs)
    sweep = digits_runs.digits_sweep((0, 1, 2), ("Adam", "SGD"), rates=(0.01, 0.1, 1.0))
    assert list(sweep["Adam"]) == [1e-4, 1e-3, 0.01, 0.1, 1.0]
    assert list(sweep["SGD"]) == [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
    assert all(digits_runs.best_is_inside(by_rate) for by_rate in sweep.values())
    with pytest.raises(ValueError, match="rates"):
        digits_runs.digits_sweep((0,), ("Adam",), rates=(0.1,))


def test_curves_over_seeds_keep_a_diverged_run_as_missing():
    runs_ = (digits_runs.DigitsRun("SGD", 1.0, (2.0, 1.0, 0.5), (2.0, 1.0, 0.5), (0.5,) * 3),
             digits_runs.DigitsRun("SGD", 1.0, (2.0,), (3.0,), (0.1,), diverged_at=2),
             digits_runs.DigitsRun("SGD", 1.0, (1.0, 0.5, 0.25), (1.0, 0.5, 0.3), (0.9,) * 3))
    curve = digits_runs.curves(runs_, "val_loss", epochs=3)
    np.testing.assert_allclose(curve.median, [2.0, 0.75, 0.4])
    np.testing.assert_array_equal(digits_runs.epochs_to(runs_, 0.6), [3.0, np.nan, 2.0])


def test_the_surface_table_picks_the_start_of_a_plateau_and_reports_its_index():
    table = runs.surface_comparison("quadratic", runs.SURFACE_RATES, steps=200, names=("AdaGrad",))
    entry = table["AdaGrad"]
    index = entry["rate_index"]
    assert entry["learning_rate"] == runs.SURFACE_RATES[index]
    assert 0 < index < len(runs.SURFACE_RATES) - 1
    assert entry["by_rate"][index - 1] is None or entry["by_rate"][index - 1] > entry["steps"]
    assert len(entry["all_steps"]) == 8 and np.median(entry["all_steps"]) == entry["steps"]


def test_from_starts_runs_each_start_as_a_trajectory_would():
    paths = runs.from_starts(opt.Adam(0.1), "rosenbrock", steps=40, n_starts=4)
    for path, start in zip(paths, runs.ring_starts("rosenbrock", 4)):
        alone = surfaces.trajectory(opt.Adam(0.1), "rosenbrock", start=start, steps=40)
        np.testing.assert_allclose(path.points, alone.points, rtol=1e-12, atol=1e-15)


def test_format_table_pads_columns():
    text = runs.format_table(["name", "x"], [["SGD", "1"], ["Momentum", "10"]])
    lines = text.splitlines()
    assert lines[0] == "name       x"
    assert lines[2] == "SGD        1" and lines[3] == "Momentum  10"
    assert set(lines[1]) <= {"-", " "}


def test_source_stars_cover_the_eight_optimizers():
    assert set(runs.SOURCE_STARS) == set(opt.OPTIMIZER_NAMES)
    assert runs.SOURCE_STARS["AdaGrad"][1].startswith("*") and runs.SOURCE_STARS["SGD"] == ("*", "***")


# ---------------------------------------------------------------------------- exercises

EXERCISES = [
    pytest.param(ex.MOMENTUM_STEP, ex.check_momentum_step, id="momentum_step"),
    pytest.param(ex.ADAM_STEP, ex.check_adam_step, id="adam_step"),
    pytest.param(ex.DIVERGING_RATES, ex.check_diverging_rates, id="diverging_rates"),
]


def test_the_reference_solutions_agree_with_the_library():
    # momentum: the library's SGD with momentum takes the same steps
    w, v = np.array([1.0, -2.0]), np.zeros(2)
    lib_w, sgd = w.copy(), opt.SGD(0.1, momentum=0.9)
    for g in [np.array([0.5, -1.5]), np.array([0.2, 0.4]), np.array([-1.0, 0.3])]:
        w, v = ex.momentum_step_reference(w, v, g, 0.1, 0.9)
        sgd.step([lib_w], [g])
        np.testing.assert_allclose(lib_w, w, rtol=1e-14)
    # Adam: the textbook step equals Keras's up to epsilon's place (tiny for O(1) gradients)
    w, m, s = np.array([0.5, -1.0]), np.zeros(2), np.zeros(2)
    adam, lib_w = opt.Adam(0.01), w.copy()
    for t, g in enumerate([np.array([0.3, -2.0]), np.array([0.1, 1.0]), np.array([-0.4, 0.5])], 1):
        w, m, s = ex.adam_step_reference(w, g, m, s, t, learning_rate=0.01)
        adam.step([lib_w], [g])
        np.testing.assert_allclose(lib_w, w, rtol=1e-6)
    # divergence threshold: gradient descent on the quadratic surface (L = 10)
    rates = np.array([0.15, 0.19, 0.21, 0.3])
    predicted = ex.diverging_rates_reference(np.diag([1.0, 10.0]), rates)
    runs = [surfaces.trajectory(opt.SGD(lr), "quadratic", steps=300) for lr in rates]
    observed = [run.losses[-1] > run.losses[0] for run in runs]
    np.testing.assert_array_equal(predicted, observed)


def test_other_wrong_momentum_versions_are_rejected_with_useful_messages():
    def only_weights(w, v, g, learning_rate, momentum):
        return w + momentum * v - learning_rate * g
    result = ex.check_momentum_step(only_weights)
    assert not result.passed and "expected 2 results" in result.message

    def lr_times_momentum(w, v, g, learning_rate, momentum):
        v_new = learning_rate * momentum * v - learning_rate * g
        return w + v_new, v_new
    result = ex.check_momentum_step(lr_times_momentum)
    assert not result.passed and "case 'moving already'" in result.message

    def crashes(w, v, g, learning_rate, momentum):
        return w @ np.ones(5), v
    result = ex.check_momentum_step(crashes)
    assert not result.passed and "raised ValueError" in result.message


def test_other_wrong_adam_versions_are_rejected_with_useful_messages():
    def counts_from_zero(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                         epsilon=1e-7):
        return ex.adam_step_reference(w, g, m, s, t + 1, learning_rate, beta_1, beta_2, epsilon)
    result = ex.check_adam_step(counts_from_zero)
    assert not result.passed and "do not add 1" in result.message

    def ignores_arguments(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                          epsilon=1e-7):
        return ex.adam_step_reference(w, g, m, s, t)      # always the default rate and betas
    result = ex.check_adam_step(ignores_arguments)
    assert not result.passed and "case 'first step'" in result.message

    def returns_nan(w, g, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        w_new, m_new, s_new = ex.adam_step_reference(w, g, m, s, t, learning_rate, beta_1,
                                                     beta_2, epsilon)
        return w_new * np.nan, m_new, s_new
    result = ex.check_adam_step(returns_nan)
    assert not result.passed and "NaN or inf" in result.message


def test_other_wrong_divergence_predictions_are_rejected_with_useful_messages():
    def returns_threshold(hessian, learning_rates):
        return 2.0 / np.linalg.eigvalsh(hessian).max()
    result = ex.check_diverging_rates(returns_threshold)
    assert not result.passed and "expected shape (7,)" in result.message

    def fixed_limit(hessian, learning_rates):
        return np.asarray(learning_rates) > 0.2                # only right for the notebook's bowl
    result = ex.check_diverging_rates(fixed_limit)
    assert not result.passed and "case 'a rotated bowl (off-diagonal terms)'" in result.message


def test_the_checkers_keras_form_is_the_librarys_adam_and_differs_from_the_others():
    # small gradients, where the three places of epsilon give different steps
    rng = np.random.default_rng(0)
    w = rng.normal(size=3)
    lib_w, adam = w.copy(), opt.Adam(0.01)
    state = {form: (w.copy(), np.zeros(3), np.zeros(3))
             for form in (ex._adam_keras_form, ex._adam_paper_form, ex.adam_step_reference)}
    for t in range(1, 6):
        g = 1e-5 * rng.normal(size=3)
        adam.step([lib_w], [g])
        for form, (w_form, m, s) in state.items():
            state[form] = form(w_form, g, m, s, t, learning_rate=0.01)
    np.testing.assert_allclose(state[ex._adam_keras_form][0], lib_w, rtol=1e-12)
    moved = {form: np.abs(state[form][0] - w).max() for form in state}
    assert len({round(float(v), 9) for v in moved.values()}) == 3
    # inside the root, epsilon damps the step most; the paper's form least
    assert moved[ex.adam_step_reference] < moved[ex._adam_keras_form] < moved[ex._adam_paper_form]

