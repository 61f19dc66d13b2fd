"""Notebook 00 (start here): the digits figure, the first network, its comparison over seeds
and its explorer."""
import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib.data import load_digits
from course_lib.lessons.explorer import registry
from course_lib.lessons.start import explorers, runs
from course_lib.lessons.seeds import seeds_from
from course_lib.lessons.figures import plot_seed_strip
from course_lib.lessons.start.figures import plot_digit_examples


def test_digit_examples_show_the_ink_of_every_image():
    x, y, images = load_digits(return_images=True)
    axes = plot_digit_examples(Figure(figsize=(8, 2.7)), images, y, per_class=3)
    assert axes.shape == (3, 10)
    for column, ax in enumerate(axes[0]):
        assert ax.get_title() == str(column)
    for ax in axes.ravel():
        (image,) = ax.get_images()
        # The colour scale spans the pixels' own range, so the darkest pixel is full ink.
        shade = image.norm(image.get_array())
        assert 0.0 <= shade.min() and shade.max() > 0.9
        assert image.norm.vmax >= images.max() and image.norm.vmin <= images.min()


def test_first_network_runs_extend_each_other_and_never_touch_the_test_set():
    short = runs.train_first_network(8, 1e-3, epochs=3)
    long = runs.train_first_network(8, 1e-3, epochs=6)
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        assert np.array_equal(short[key], long[key][:3]), key
        assert len(long[key]) == 6
    assert not any("test" in key for key in long)


def test_first_network_explorer_is_registered_as_retraining():
    (spec,) = [s for s in registry() if s.notebook == explorers.NOTEBOOK]
    assert spec.name == "first_network_explorer" and spec.retraining


def test_first_network_explorer_shows_validation_numbers_only():
    explorer = explorers.first_network_explorer()
    explorer.update(hidden_units=8, learning_rate=1e-3, epochs=4)
    run = runs.train_first_network(8, 1e-3)
    drawn = explorer.drawn_data()
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        assert np.array_equal(drawn[key], np.asarray(run[key][:4], dtype=float)), key
    status = explorer.status.value
    assert f"validation accuracy {run['val_accuracy'][3]:.3f}" in status
    assert "test" not in status.lower()


def test_seed_strip_draws_every_seed_and_its_median():
    values = {"a": [1.0, 2.0, 4.0], "b": [3.0, np.nan, 5.0]}
    ax = Figure().subplots()
    spreads = plot_seed_strip(ax, values, ylabel="value")
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [len(line.get_ydata()) for line in dots] == [3, 3]
    assert spreads["a"].median == 2.0 and spreads["b"].median == 4.0   # NaN left out
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert "3 seeds" in ax.get_xlabel() and ax.get_ylabel() == "value"
    with pytest.raises(ValueError, match="values_by_name"):
        plot_seed_strip(ax, {}, ylabel="value")


def test_final_values_are_the_last_epochs_of_the_seeds_of_a_seed():
    # The narrow network: the cheapest setting to train.
    values = runs.final_values("4 units", "val_accuracy", 1)
    expected = [runs.train_first_network(4, 1e-3, seed=s)["val_accuracy"][-1] for s in seeds_from(1)]
    assert np.array_equal(values, expected)
    with pytest.raises(ValueError, match="setting"):
        runs.final_values("rate 10", "val_loss", 0)
    with pytest.raises(ValueError, match="seed"):
        runs.loss_rises("4 units", -1)


def test_first_network_explorer_trains_with_the_first_seed_of_its_seed():
    explorer = explorers.first_network_explorer(seed=1)
    explorer.update(hidden_units=4, learning_rate=1e-3, epochs=5)
    run = runs.train_first_network(4, 1e-3, seed=seeds_from(1)[0])
    assert np.array_equal(explorer.drawn_data()["val_loss"], np.asarray(run["val_loss"][:5]))
