"""The course's figure style: a washed-out image plot is caught when it is drawn."""
from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import LogNorm

from course_lib.lessons.figures import (ColourScaleWarning, STYLE, check_colour_scales,
                                        use_course_style)


def _image(data, **kwargs):
    fig, ax = plt.subplots()
    ax.imshow(data, **kwargs)
    ax.set_title("pixels")
    return fig


def test_pixels_in_0_1_drawn_up_to_16_are_flagged():
    # The start-here notebook once drew its digits like this: a blank figure.
    fig = _image(np.random.default_rng(0).random((8, 8)), vmin=0, vmax=16)
    with pytest.warns(ColourScaleWarning, match="'pixels': the data cover 6% of the colour scale"):
        check_colour_scales(fig)
    plt.close(fig)


@pytest.mark.parametrize("kwargs", [{}, {"vmin": 0, "vmax": 1}, {"vmin": -0.5, "vmax": 1.5}])
def test_a_scale_the_data_fill_passes(kwargs):
    fig = _image(np.random.default_rng(0).random((8, 8)), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert min(check_colour_scales(fig)) > 0.4
    plt.close(fig)


def test_log_scales_are_measured_in_decades():
    data = np.geomspace(1e-3, 1e-1, 64).reshape(8, 8)          # 2 decades
    fig = _image(data, norm=LogNorm(1e-3, 1e-1))
    assert check_colour_scales(fig) == pytest.approx([1.0])
    fig2 = _image(data, norm=LogNorm(1e-3, 1e30))                # 2 of 33 decades
    with pytest.warns(ColourScaleWarning):
        check_colour_scales(fig2)
    plt.close("all")


def test_pyplot_figures_check_themselves_when_drawn():
    use_course_style()
    assert "course_lib.lessons.figures:watch_colour_scales" in STYLE["figure.hooks"]
    fig = _image(np.random.default_rng(0).random((8, 8)), vmin=0, vmax=16)
    with pytest.warns(ColourScaleWarning):
        fig.canvas.draw()
    plt.close(fig)


# ------------------------------------------------------------ sharp, small stored figures

def test_a_stored_figure_has_twice_its_screen_pixels_in_an_indexed_png():
    import io

    from PIL import Image

    from course_lib.lessons.figures import SCREEN_DPI, figure_png

    use_course_style()
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    ax.plot([0, 1], [0, 1])
    ax.set_title("a line")
    png, metadata = figure_png(fig)
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P"                                     # palette: small files
    # the screen size is the stored size halved (rounded down)
    assert image.size[0] // 2 == metadata["width"] and image.size[1] // 2 == metadata["height"]
    # tight bounding box: at most the figure's size on screen, and most of it
    assert 0.8 * 5.0 * SCREEN_DPI <= metadata["width"] <= 5.0 * SCREEN_DPI + 2
    plt.close(fig)
    empty = plt.figure()
    assert figure_png(empty) is None
    with pytest.raises(ValueError, match="scale must be 1, 2 or 3"):
        figure_png(empty, scale=4)
    plt.close(empty)


def test_a_notebook_kernel_stores_pyplot_figures_through_figure_png():
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    from course_lib.lessons import figures

    shell = InteractiveShell.instance()
    try:
        assert figures._show_sharp_figures()
        fig, ax = plt.subplots()
        ax.plot([0, 1])
        data, metadata = shell.display_formatter.format(fig)
        assert metadata["image/png"] == figures.figure_png(fig)[1]         # shown at screen size
        assert isinstance(data["image/png"], str)                 # base64, as Jupyter stores it
        plt.close(fig)
    finally:
        shell.display_formatter.formatters["image/png"].pop(Figure, None)
        InteractiveShell.clear_instance()


def _lab(hex_colour):
    """CIE L*a*b* of an sRGB colour (D65)."""
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ rgb / np.array([0.9505, 1.0, 1.089])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_the_eight_optimizers_have_clearly_different_colours():
    from course_lib.lessons.figures import OPTIMIZER_COLORS, PALETTE
    names = list(OPTIMIZER_COLORS)
    gaps = {(a, b): np.linalg.norm(_lab(OPTIMIZER_COLORS[a]) - _lab(OPTIMIZER_COLORS[b]))
            for i, a in enumerate(names) for b in names[i + 1:]}
    # CIE76 distance: orange against the darkened yellow, once Momentum and Nadam, is 18;
    # sky blue against blue (Nesterov, Adam: the same hue, far apart in lightness) is 26.
    assert np.linalg.norm(_lab(PALETTE["orange"]) - _lab(PALETTE["yellow"])) < 25
    assert min(gaps.values()) > 25, min(gaps.items(), key=lambda item: item[1])
    warm = ("Momentum", "AdaMax", "Nadam")
    assert min(gaps[(a, b)] for (a, b) in gaps if a in warm and b in warm) > 30


def test_a_log_axis_within_one_decade_gets_several_labels():
    from course_lib.lessons.figures import readable_log_axis
    fig, ax = plt.subplots()
    ax.plot([1, 2], [0.12, 0.6])
    ax.set_yscale("log")
    readable_log_axis(ax, "y")
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_visible() and t.get_text()
              and ax.get_ylim()[0] <= t.get_position()[1] <= ax.get_ylim()[1]]
    assert "0.2" in labels and "0.5" in labels, labels               # not one label, or none
    with pytest.raises(ValueError, match="axis must be"):
        readable_log_axis(ax, "z")
    plt.close(fig)


def test_learning_curves_tick_whole_epochs_only():
    from course_lib.lessons.figures import plot_history
    fig, ax = plt.subplots()
    plot_history(ax, {"loss": list(np.linspace(2.0, 0.1, 20)), "val_loss": [1.0] * 20})
    fig.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks), ticks
    plt.close(fig)


def test_the_first_six_default_colours_are_clearly_different():
    from course_lib.lessons.figures import CYCLE, PALETTE
    first = CYCLE[:6]
    gaps = [np.linalg.norm(_lab(a) - _lab(b)) for i, a in enumerate(first) for b in first[i + 1:]]
    assert len(set(CYCLE)) == len(CYCLE) and min(gaps) > 25, min(gaps)
    # orange and vermillion, confused in thin lines (and by a red-green colour-blind reader),
    # never meet in a plot of up to six lines
    assert not {PALETTE["orange"], PALETTE["vermillion"]} <= set(first)
