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
