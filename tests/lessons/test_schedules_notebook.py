"""Experiments, figures, explorers and exercises of the notebook on schedules and callbacks."""
import math
import time
import warnings

import matplotlib
import numpy as np
import pytest

from course_lib import schedules
from course_lib.callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from course_lib.lessons.schedules import explorers, figures, runs
from test_schedules_exercises import CallbackHost
from course_lib.lessons.digits import digits
from course_lib.lessons.seeds import seeds_from, spread
from course_lib.model import Sequential
from course_lib.optimizers import SGD

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


# ----------------------------------------------------------------------------- helpers

def test_steps_per_epoch_counts_the_short_last_batch():
    assert runs.steps_per_epoch(1257, 32) == 40          # 39 full batches + one of 9
    assert runs.steps_per_epoch(64, 32) == 2
    assert runs.steps_per_epoch(1, 32) == 1
    with pytest.raises(ValueError):
        runs.steps_per_epoch(0, 32)


@pytest.mark.parametrize("name, cls", [
    ("power", schedules.PowerDecay), ("exponential", schedules.ExponentialDecay),
    ("piecewise constant", schedules.PiecewiseConstantDecay), ("step decay", schedules.StepDecay),
    ("1cycle", schedules.OneCycle), ("cosine warm-up", schedules.CosineDecay),
    ("cosine restarts", schedules.CosineDecayRestarts), ("polynomial", schedules.PolynomialDecay)])
def test_schedule_from_name_builds_the_library_class(name, cls):
    made = [runs.schedule_from_name(name, 0.1, decay_steps=50, boundaries=[9, 29],
                                    total_steps=100),
            runs.schedule_in_epochs(name, 0.1, 10, 10), runs.budget_schedule(name, 0.1, 10, 10)]
    assert [type(sched) for sched in made] == [cls] * 3


def test_schedule_from_name_parameters_and_errors():
    assert runs.schedule_from_name("constant", 0.1) == 0.1
    assert runs.schedule_from_name("performance", 0.1) == 0.1
    assert runs.schedule_from_name("power", 0.1, decay_steps=50, power=2.0)(50) == 0.1 / 4
    piecewise = runs.schedule_from_name("piecewise constant", 0.1, factor=0.5, boundaries=[9, 29])
    assert piecewise.values == pytest.approx([0.1, 0.05, 0.025])
    with pytest.raises(ValueError, match="name must be one of .*; got 'cosine'"):
        runs.schedule_from_name("cosine", 0.1)
    with pytest.raises(ValueError, match="boundaries"):
        runs.schedule_from_name("piecewise constant", 0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        runs.schedule_from_name("constant", -1.0)
    with pytest.raises(ValueError, match="name must be one of"):
        runs.budget_callbacks("cosine", 10)
    with pytest.raises(ValueError, match=r"warmup_steps must be in \[0, total_steps\)"):
        runs.schedule_from_name("cosine warm-up", 0.1, total_steps=100, warmup_steps=100)
    warm = runs.schedule_from_name("cosine warm-up", 0.2, total_steps=100, warmup_steps=10)
    assert warm(0) == pytest.approx(runs.WARMUP_START * 0.2) and warm(10) == pytest.approx(0.2)
    assert warm(100) == pytest.approx(runs.COSINE_ALPHA * 0.2)
    polynomial = runs.schedule_from_name("polynomial", 0.2, total_steps=100, factor=0.1, power=2.0)
    assert polynomial(50) == pytest.approx((0.2 - 0.02) * 0.25 + 0.02)


@pytest.mark.parametrize("name", runs.SCHEDULE_NAMES)
def test_schedule_in_epochs_converts_epochs_to_steps(name):
    spe, epochs = 40, 30
    sched = runs.schedule_in_epochs(name, 0.1, epochs, spe, decay_epochs=5, factor=0.5, power=1.0)
    steps = np.arange(epochs * spe)
    rates = runs.rates_of(sched, steps)
    assert rates.shape == steps.shape and np.all(np.isfinite(rates)) and np.all(rates > 0)
    if name == "constant":
        assert np.all(rates == 0.1)
    elif name == "power":
        assert np.isclose(rates[5 * spe], 0.1 / 2) and np.isclose(rates[10 * spe], 0.1 / 3)
    elif name == "exponential":
        assert np.isclose(rates[5 * spe], 0.05) and np.isclose(rates[10 * spe], 0.025)
    elif name == "piecewise constant":
        # boundaries at epochs 5 and 15: the last step of epoch 4 keeps the first value
        assert rates[5 * spe - 1] == 0.1 and rates[5 * spe] == 0.05
        assert rates[15 * spe - 1] == 0.05 and rates[15 * spe] == 0.025
    elif name == "step decay":
        expected = 0.1 * 0.5 ** np.floor(steps / (5 * spe))
        assert np.allclose(rates, expected)
    elif name == "cosine warm-up":                      # the default warm-up of the explorer
        warmup = runs.schedule_in_epochs(name, 0.1, epochs, spe).warmup_steps
        assert int(np.argmax(rates)) == warmup and rates[warmup] == pytest.approx(0.1)
        assert rates[-1] < 0.1 * 1e-3 * 1.01
    elif name == "cosine restarts":                     # periods of 5, 10, 20 epochs
        jumps = np.nonzero(np.diff(rates) > 0)[0] + 1
        assert list(jumps) == [5 * spe, 15 * spe]
    elif name == "polynomial":                          # power 1: a line down to factor * rate
        assert np.allclose(rates, 0.1 - (0.1 - 0.05) * steps / (epochs * spe))
    else:
        assert int(np.argmax(rates)) == round(0.9 * epochs * spe / 2)


@pytest.mark.parametrize("name", runs.BUDGET_SCHEDULES + ("cosine restarts", "polynomial"))
@pytest.mark.parametrize("epochs", [4, 10, 30])
def test_budget_schedules_do_their_whole_job_within_the_budget(name, epochs):
    spe = 10
    total = epochs * spe
    sched = runs.budget_schedule(name, 0.2, epochs, spe)
    rates = runs.rates_of(sched, np.arange(total))
    assert np.all(np.isfinite(rates)) and rates[0] <= 0.2 + 1e-12
    if name in ("constant", "performance"):
        assert np.all(rates == 0.2)
    elif name == "piecewise constant":
        assert max(sched.boundaries) < total and rates[-1] == pytest.approx(0.02)
    elif name == "1cycle":
        assert sched.total_steps == total and rates.max() == pytest.approx(0.2, rel=0.02)
    elif name == "cosine warm-up":                      # a tenth of the budget, then the cosine
        assert sched.warmup_steps == round(total / 10) and rates.max() == pytest.approx(0.2)
        assert sched.warmup_steps + sched.decay_steps == total and rates[-1] < 0.2 / 100
    else:
        assert rates[-1] < 0.2 / 5                    # well decayed by the end
    callbacks = runs.budget_callbacks(name, epochs)
    has_plateau = len(callbacks) == 1 and isinstance(callbacks[0], ReduceLROnPlateau)
    assert has_plateau == (name == "performance")


def test_plot_rates_draws_exactly_the_training_and_an_epoch_axis():
    fig, ax = plt.subplots()
    sched = schedules.ExponentialDecay(0.1, 800, 0.1)
    used = sched(np.arange(1200))
    drawn = figures.plot_rates(ax, {"exponential": sched}, 1200, 40, used={"exponential": used})
    steps, rates = drawn["exponential"]
    assert steps[0] == 0 and steps[-1] == 1199 and ax.get_xlim() == (0, 1200)
    assert np.allclose(rates, 0.1 * 0.1 ** (steps / 800))
    assert ax.get_xlabel().startswith("optimizer step")
    top = [child for child in ax.get_children() if type(child).__name__ == "SecondaryAxis"]
    assert top and top[0].get_xlabel() == "epoch"
    plt.close(fig)


# ----------------------------------------------------------------------------- callbacks

def test_dry_run_records_the_first_stop_and_cancels_it():
    model = CallbackHost()
    dry = runs.DryRun(EarlyStopping(patience=2))
    dry.set_model(model)
    dry.on_train_begin()
    values = [1.0, 0.5, 0.6, 0.7, 0.8, 0.4, 0.9, 0.9, 0.9]
    for epoch, value in enumerate(values):
        dry.on_epoch_begin(epoch)
        dry.on_epoch_end(epoch, {"val_loss": value})
        assert not model.stop_training               # never stops
    dry.on_train_end()
    assert dry.would_stop_at == 3                     # best at 1, two epochs without improvement
    with pytest.raises(TypeError):
        runs.DryRun("not a callback")


def test_step_log_records_the_rate_of_every_step():
    schedule = schedules.StepDecay(0.05, 5, 0.5)
    model, history, log = runs.train_digits(schedule, 2, batch_size=256, n_train=512, seed=1)
    assert model.optimizer.iterations == 4 == len(log.rates) == len(log.losses)
    assert np.allclose(log.rates, 0.05 * 0.5 ** np.floor(np.arange(4) / 5))
    assert np.all(np.isfinite(log.losses))
    # a diverging run: the diverging step logged no loss, so rates and losses stay aligned
    _, history, log = runs.train_digits(1000.0, 3, batch_size=64, n_train=256, seed=0)
    epoch, batch = history.diverged_at
    assert len(log.rates) == len(log.losses) == epoch * runs.steps_per_epoch(256, 64) + batch


# ---------------------------------------------------------- the three callbacks of section 7

@pytest.fixture(scope="module")
def performance_run(tmp_path_factory):
    """The run of the notebook's section 7: three times the rate the range test suggests."""
    suggested = runs.lr_range_test(seeds=seeds_from(0)).suggested_max_rate()
    lr = 3 * 10.0 ** round(math.log10(suggested))
    path = str(tmp_path_factory.mktemp("checkpoints") / "best.npz")
    plateau = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3)
    stopper = runs.DryRun(EarlyStopping(monitor="val_loss", patience=6))
    checkpoint = ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    _, history, _ = runs.train_digits(lr, 30, callbacks=[plateau, stopper, checkpoint])
    return lr, path, history.history, plateau, stopper, checkpoint


def test_the_three_callbacks_of_section_7_follow_their_rules(performance_run):
    lr, path, history, plateau, stopper, checkpoint = performance_run
    # ReduceLROnPlateau: patience epochs after the last improvement by min_delta or firing
    val, rates = np.array(history["val_loss"]), np.array(history["learning_rate"])
    best, wait, fired = np.inf, 0, []
    for epoch, value in enumerate(val):
        if value < best - plateau.min_delta:
            best, wait = value, 0
        else:
            wait += 1
            if wait == plateau.patience:
                fired.append(epoch)
                wait = 0
    assert fired and fired == [epoch for epoch, _, _ in plateau.reductions]
    for epoch in range(len(val) - 1):          # a firing halves the next epoch's rate
        assert rates[epoch + 1] == pytest.approx(rates[epoch] * (0.5 if epoch in fired else 1))
    # EarlyStopping (min_delta 0): patience epochs after the best so far
    best, best_at, would_stop = np.inf, 0, None
    for epoch, value in enumerate(history["val_loss"]):
        if value < best:
            best, best_at = value, epoch
        elif would_stop is None and epoch - best_at >= 6:
            would_stop = epoch
    assert would_stop is not None and stopper.would_stop_at == would_stop
    assert len(history["val_loss"]) == 30                     # the DryRun did not stop
    # ModelCheckpoint: every improvement saved, the lowest kept and restored
    assert checkpoint.best_epoch == int(np.argmin(val))
    assert checkpoint.saved_epochs == [epoch for epoch in range(len(val))
                                       if val[epoch] < val[:epoch].min(initial=np.inf)]
    restored = Sequential.load(path)
    restored.compile(SGD(lr, momentum=0.9), "sparse_categorical_crossentropy", ["accuracy"])
    loss = restored.evaluate(digits().x_val, digits().y_val)["loss"]
    assert loss == pytest.approx(val[checkpoint.best_epoch], rel=1e-5)


def test_range_test_grows_the_rate_geometrically_and_finds_a_minimum():
    result = runs.lr_range_test(1e-4, 10.0, batch_size=64)
    ratios = result.rates[1:] / result.rates[:-1]
    assert result.rates[0] == pytest.approx(1e-4) and np.allclose(ratios, ratios[0])
    assert len(result.rates) == len(result.losses) == len(result.smoothed) <= 20
    assert result.per_seed.shape == (1, len(result.rates))
    assert result.rate_at_minimum == result.rates[np.argmin(result.smoothed)]
    assert result.suggested_max_rate() == pytest.approx(result.rate_at_minimum / 10)
    with pytest.raises(ValueError):
        runs.lr_range_test(1.0, 0.1)
    with pytest.raises(ValueError, match="seeds"):
        runs.lr_range_test(seeds=())


def test_range_test_reads_the_median_of_the_seeds():
    seeds = (3, 4, 5)
    result = runs.lr_range_test(1e-4, 10.0, batch_size=64, seeds=seeds)
    alone = [runs.lr_range_test(1e-4, 10.0, batch_size=64, blow_up=np.inf, seeds=(seed,))
             for seed in seeds]
    kept = len(result.rates)
    assert np.allclose(result.losses, np.median([r.losses[:kept] for r in alone], axis=0))
    assert np.allclose(result.smoothed, runs.smooth(result.losses))
    assert np.allclose(result.per_seed, [r.smoothed[:kept] for r in alone])
    fig, ax = plt.subplots()
    figures.plot_range_test(ax, result, chosen=0.1)     # the seeds' quartiles as a band
    assert len(ax.collections) == 1 and "3 seeds" in ax.get_legend().get_texts()[0].get_text()
    plt.close(fig)


def test_val_loss_over_seeds_is_one_training_per_seed():
    curves = runs.val_loss_over_seeds(0.05, 3, (7, 8), batch_size=256)
    assert curves.shape == (2, 3)
    for row, seed in zip(curves, (7, 8)):
        _, history, _ = runs.train_digits(0.05, 3, batch_size=256, seed=seed)
        assert np.array_equal(row, history.history["val_loss"])
    assert not np.array_equal(curves[0], curves[1])
    diverged = runs.val_loss_over_seeds(1000.0, 3, (0,), batch_size=256)
    assert np.isnan(diverged[0, -1])               # NaN from the epoch it diverged in


def test_train_digits_shares_identical_runs_and_they_equal_fresh_ones(monkeypatch):
    monkeypatch.setattr(runs, "_RUNS", {})
    sched = schedules.CosineDecay(0.005, 20, warmup_target=0.05, warmup_steps=5)
    first = runs.train_digits(sched, 5, batch_size=256, seed=3)
    again = runs.train_digits(schedules.deserialize(schedules.serialize(sched)), 5,
                              batch_size=256, seed=3)
    assert again is first                               # same settings: the same run
    assert runs.train_digits(sched, 5, batch_size=256, seed=4) is not first
    runs._RUNS.clear()
    fresh = runs.train_digits(sched, 5, batch_size=256, seed=3)
    assert fresh is not first and fresh[1].history == first[1].history
    assert fresh[2].rates == first[2].rates
    # a run with callbacks is never shared: its callbacks must see it happen
    plateau = ReduceLROnPlateau(patience=1)
    with_callback = runs.train_digits(sched, 5, batch_size=256, seed=3, callbacks=[plateau])
    assert with_callback is not fresh and plateau.model is with_callback[0]


def test_smooth_is_a_bias_corrected_moving_average():
    assert np.allclose(runs.smooth([2.0, 2.0, 2.0]), 2.0)
    values = np.array([1.0, 3.0])
    # a1 = 0.2 * 1 = 0.2 -> 1; a2 = 0.8 * 0.2 + 0.2 * 3 = 0.76 -> 0.76 / 0.36
    assert np.allclose(runs.smooth(values, beta=0.8), [1.0, 0.76 / 0.36])


def test_schedule_colours_are_distinct_and_cover_every_name():
    names = set(runs.SCHEDULE_NAMES) | set(runs.BUDGET_SCHEDULES)
    assert names <= set(figures.SCHEDULE_COLORS)
    colours = [matplotlib.colors.to_hex(figures.SCHEDULE_COLORS[name]) for name in names]
    assert len(set(colours)) == len(colours)


def test_plot_rates_labels_the_dots_without_naming_one_schedule_for_all():
    fig, ax = plt.subplots()
    curves = {"piecewise constant": schedules.PiecewiseConstantDecay([9], [0.1, 0.05]),
              "step decay": schedules.StepDecay(0.1, 10, 0.5)}
    used = {name: sched(np.arange(40)) for name, sched in curves.items()}
    figures.plot_rates(ax, curves, 40, 10, used=used)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["piecewise constant", "step decay", "rate the optimizer used"]
    plt.close(fig)


def test_plot_comparison_legend_covers_no_curve_and_no_limit_cuts_them():
    rng = np.random.default_rng(1)
    curves = {name: spread(rng.uniform(0.03, 2.0, size=(5, 8))) for name in runs.BUDGET_SCHEDULES}
    fig, (left, right) = plt.subplots(1, 2)
    figures.plot_comparison(left, right, curves, banded=("constant",))
    fig.canvas.draw()
    legend = left.get_legend().get_window_extent()
    assert not legend.overlaps(left.get_window_extent())            # under the axes
    low, high = left.get_ylim()
    medians = np.concatenate([curve.median for curve in curves.values()])
    assert low <= medians.min() and medians.max() <= high
    plt.close(fig)


def test_plot_comparison_draws_every_seed_and_bands_only_where_asked():
    rng = np.random.default_rng(0)
    curves = {name: spread(rng.uniform(0.03, 0.1, size=(5, 6))) for name in ("constant", "1cycle")}
    fig, (left, right) = plt.subplots(1, 2)
    finals = figures.plot_comparison(left, right, curves, banded=("constant",))
    assert all(np.array_equal(finals[name], curve.values[:, -1]) for name, curve in curves.items())
    assert len(left.collections) == 1                   # one quartile band
    dots = [line for line in right.lines if line.get_marker() == "o"]
    assert len(dots) == 2 and all(len(line.get_ydata()) == 5 for line in dots)
    assert [tick.get_text() for tick in right.get_xticklabels()] == list(curves)
    plt.close(fig)


def test_callback_timeline_draws_the_events():

    class H:
        history = {"loss": [1.0, 0.5, 0.4, 0.4], "val_loss": [1.0, 0.6, 0.7, 0.8],
                   "learning_rate": [0.1, 0.1, 0.1, 0.05]}
    fig, axes = plt.subplots(3, 1)
    drawn = figures.plot_callback_timeline(axes, H, reductions=[(2, 0.1, 0.05)], would_stop_at=3,
                                     saved_epochs=[0, 1], kept_epoch=1)
    assert set(drawn) == {"loss", "val_loss", "learning_rate"}
    assert [tick.get_text() for tick in axes[2].get_yticklabels()] == [
        "ModelCheckpoint saved", "ReduceLROnPlateau fired", "EarlyStopping: stop"]
    plt.close(fig)


# ----------------------------------------------------------------------------- explorers

def test_schedule_explorer_spans_the_training_and_highlights_the_choice():
    explorer = explorers.schedule_explorer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explorer.update(schedule="1cycle", epochs=12, batch_size=64)
    spe = runs.steps_per_epoch(len(digits().x_train), 64)
    line = explorer.lines["1cycle"]
    assert explorer.ax.get_xlim() == (0, 12 * spe)
    assert line.get_xdata()[-1] == 12 * spe - 1
    assert line.get_linewidth() > explorer.lines["power"].get_linewidth()
    assert set(explorer.drawn_data()) == set(runs.SCHEDULE_NAMES)
    assert "max rate" in explorer.status.value


def test_schedule_explorer_warm_up_and_what_leaves_the_plot():
    explorer = explorers.schedule_explorer(schedule="cosine warm-up")
    spe = runs.steps_per_epoch(len(digits().x_train), 32)
    for warmup_epochs in (0, 4):
        explorer.update(warmup_epochs=warmup_epochs, epochs=20, batch_size=32)
        rates = explorer.drawn_data()["cosine warm-up"]
        assert int(np.argmax(rates)) == warmup_epochs * spe
    assert "warm-up" in explorer.status.value
    # exponential decay by 0.05 per epoch over 60 epochs falls far below the five decades drawn
    explorer.update(schedule="exponential", decay_epochs=1, factor=0.05, epochs=60)
    assert "below the plotted range" in explorer.status.value
    assert "exponential" in explorer.status.value.split("below the plotted range")[1]
    explorer.update(schedule="exponential", decay_epochs=30, factor=0.95, epochs=10)
    assert "below the plotted range" not in explorer.status.value
    legend = explorer.ax.get_legend()
    explorer.figure.canvas.draw()
    assert not legend.get_window_extent().overlaps(explorer.ax.get_window_extent())


@pytest.mark.parametrize("values", [
    dict(learning_rate=1e-4, epochs=2, batch_size=256, decay_epochs=1, factor=0.05, power=3.0),
    dict(learning_rate=1.0, epochs=60, batch_size=16, decay_epochs=30, factor=0.95, power=0.0,
         anneal_fraction=0.5),
])
def test_schedule_explorer_extremes_are_finite_and_fast(values):
    explorer = explorers.schedule_explorer()
    for name in runs.SCHEDULE_NAMES:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            explorer.update(schedule=name, **values)
        for key, array in explorer.drawn_data().items():
            assert np.all(np.isfinite(array)) and np.all(array > 0), key
    start = time.perf_counter()
    explorer.update(factor=0.5)
    assert time.perf_counter() - start < 1.0          # generous: shared CI machines


def test_training_explorer_labels_divergence_and_caches_runs():
    explorer = explorers.training_explorer()
    # rate 1: the constant rate's loss ends 2 to 4 times above its first epoch's, and no seed
    # diverges (measured on 20 seeds); rate 10**0.5: every seed diverges within 12 epochs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explorer.update(schedule="exponential", learning_rate=1.0, epochs=12)
    assert "constant rate is unstable" in explorer.status.value
    assert "unstable" in explorer.warning.get_text()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explorer.update(schedule="exponential", learning_rate=10 ** 0.5, epochs=16)
    assert "constant rate diverged (loss NaN/inf) on 5 of 5 seeds" in explorer.status.value
    assert "diverged" in explorer.warning.get_text()
    baseline = explorer.drawn_data()["baseline loss"]
    assert 0 < len(baseline) < 16                       # drawn up to the divergence
    for key, array in explorer.drawn_data().items():
        assert np.all(np.isfinite(array)), key
    hits = explorers.TrainingExplorer.run.cache_info().hits
    explorer.update(schedule="power")                   # the constant baseline is cached
    assert explorers.TrainingExplorer.run.cache_info().hits >= hits + len(explorer.seeds)
    start = time.perf_counter()
    explorer.update(schedule="exponential")             # both runs cached: drawing only
    assert time.perf_counter() - start < 1.0


def test_training_explorer_draws_the_median_of_the_seeds_of_its_seed():
    explorer = explorers.training_explorer(schedule="1cycle", learning_rate=0.1, epochs=4, seed=2)
    explorer.redraw()
    assert explorer.seeds == seeds_from(2)
    for role, name in (("baseline", "constant"), ("schedule", "1cycle")):
        runs_ = [explorers.TrainingExplorer.run(name, 0.1, 4, seed)[0] for seed in seeds_from(2)]
        for key in ("loss", "val_loss", "val_accuracy"):
            expected = np.median([h.history[key] for h in runs_], axis=0)
            assert np.allclose(explorer.drawn_data()[f"{role} {key}"], expected), (role, key)
    assert len(explorer.bands) == 4                     # validation loss and accuracy, both runs
    assert "median of 5 seeds" in explorer.status.value
    with pytest.raises(ValueError, match="seed"):
        explorers.training_explorer(seed=-1)


def test_training_explorer_lr_axis_shows_the_schedule():
    explorer = explorers.training_explorer(schedule="step decay", learning_rate=0.1, epochs=12)
    explorer.redraw()
    rates = explorer.drawn_data()["schedule rate"]
    assert len(rates) == 12 * explorer.spe
    assert np.allclose(rates, 0.1 * 0.5 ** np.floor(np.arange(len(rates)) / (2 * explorer.spe)))
    assert np.all(explorer.drawn_data()["baseline rate"] == 0.1)
