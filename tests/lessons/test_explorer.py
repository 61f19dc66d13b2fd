"""Unit tests of the explorer pattern (``course_lib.lessons.explorer``) with a tiny explorer."""
from __future__ import annotations

import base64
import io

import ipywidgets as widgets
import matplotlib as mpl
import numpy as np
import pytest
from PIL import Image

from course_lib.lessons.figures import STYLE
from course_lib.lessons import explorer as base
from course_lib.lessons.explorer import Explorer, ExplorerSpec, register, registry

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class LineExplorer(Explorer):
    """y = slope * x on [0, 1]; the line is black on a white figure, for pixel checks."""

    def __init__(self, **kwargs):
        super().__init__({
            "slope": widgets.FloatSlider(value=0.5, min=-1.0, max=1.0, step=0.1),
            "thick": widgets.Checkbox(value=False, description="thick line"),
        }, **kwargs)
        self.ax = self.figure.add_subplot()
        self.ax.set_xlim(0, 1)
        self.ax.set_ylim(-1, 1)
        self.x = np.linspace(0.0, 1.0, 11)
        (self.line,) = self.ax.plot(self.x, self.x, color="black")
        self.calls = []
        self.rc_during_draw = None

    def draw(self, slope, thick):
        self.calls.append({"slope": slope, "thick": thick})
        self.rc_during_draw = {key: mpl.rcParams[key] for key in ("axes.grid", "lines.linewidth")}
        y = self.record("y", slope * self.x)
        self.line.set_ydata(y)
        self.line.set_linewidth(6 if thick else 1)


def decode(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


# -- construction -------------------------------------------------------------------------

def test_controls_keep_their_order_and_get_their_name_as_description():
    explorer = LineExplorer()
    assert list(explorer.controls) == ["slope", "thick"]
    assert explorer.controls["slope"].description == "slope"
    assert explorer.controls["thick"].description == "thick line"
    assert explorer.values() == {"slope": 0.5, "thick": False}


def test_a_control_without_a_value_is_a_type_error():
    with pytest.raises(TypeError, match="'help'.*value widget"):
        Explorer({"help": widgets.Button(description="not a control")})


def test_nothing_is_drawn_before_the_first_redraw():
    explorer = LineExplorer()
    assert explorer.redraw_count == 0
    assert explorer.calls == []
    assert explorer.image.value == b""


class RetrainingLineExplorer(LineExplorer):
    retraining = True


def test_register_takes_an_explorer_class():
    with pytest.raises(TypeError, match="explorer must be an Explorer subclass"):
        register("99_zz_test", lambda: None)


def test_retraining_explorers_update_on_release_only():
    formula = LineExplorer()
    retraining = RetrainingLineExplorer()
    assert formula.retraining is False
    assert formula.controls["slope"].continuous_update is True
    assert retraining.retraining is True
    assert retraining.controls["slope"].continuous_update is False


# -- redrawing ------------------------------------------------------------------------------

def test_update_sets_every_value_then_draws_once():
    explorer = LineExplorer()
    explorer.update(slope=-0.3, thick=True)
    assert explorer.calls == [{"slope": -0.3, "thick": True}]
    assert explorer.redraw_count == 1
    assert explorer.values() == {"slope": -0.3, "thick": True}
    np.testing.assert_allclose(explorer.drawn_data()["y"], -0.3 * np.linspace(0, 1, 11))


def test_moving_a_control_redraws_as_the_browser_would():
    explorer = LineExplorer()
    explorer.controls["slope"].value = 0.8
    assert explorer.calls == [{"slope": 0.8, "thick": False}]
    explorer.controls["thick"].value = True
    assert explorer.calls[-1] == {"slope": 0.8, "thick": True}
    assert explorer.redraw_count == 2


def test_update_with_an_unknown_control_names_the_allowed_ones():
    explorer = LineExplorer()
    with pytest.raises(ValueError, match=r"unknown control\(s\) slop.*allowed: slope, thick"):
        explorer.update(slop=0.1)
    assert explorer.calls == []


def test_values_outside_a_slider_are_clipped_like_in_the_browser():
    explorer = LineExplorer()
    explorer.update(slope=5.0)
    assert explorer.values()["slope"] == 1.0
    assert explorer.calls[-1]["slope"] == 1.0


def test_redraw_returns_the_png_shown_in_the_image_widget():
    explorer = LineExplorer(figsize=(4.0, 3.0), dpi=50)
    png = explorer.redraw()
    assert png.startswith(PNG_SIGNATURE)
    assert explorer.image.value == png
    assert explorer.image.format == "png"
    assert decode(png).shape == (150, 200, 3)  # 3 x 50 px high, 4 x 50 px wide


def test_the_png_shows_the_figure_as_drawn():
    explorer = LineExplorer()
    thin = decode(explorer.update(thick=False).image.value)
    thick = decode(explorer.update(thick=True).image.value)
    dark = lambda rgb: int((rgb.max(axis=2) < 60).sum())  # noqa: E731 (black line pixels)
    assert dark(thick) > 2 * dark(thin) > 0


def test_drawn_data_holds_only_the_last_redraw():
    explorer = LineExplorer()
    explorer.update(slope=0.2)
    first = explorer.drawn_data()
    explorer.record("extra", [1.0])
    explorer.update(slope=0.4)
    assert set(explorer.drawn_data()) == {"y"}
    np.testing.assert_allclose(first["y"], 0.2 * explorer.x)
    drawn = explorer.drawn_data()
    drawn.clear()  # a copy: the caller cannot erase what was drawn
    assert "y" in explorer.drawn_data()


def test_record_returns_its_input_and_stores_an_array():
    explorer = LineExplorer()
    data = [1.0, 2.0]
    assert explorer.record("values", data) is data
    assert isinstance(explorer.drawn_data()["values"], np.ndarray)


def test_draw_runs_in_the_course_style():
    explorer = LineExplorer()
    explorer.redraw()
    assert explorer.rc_during_draw == {"axes.grid": STYLE["axes.grid"],
                                       "lines.linewidth": STYLE["lines.linewidth"]}


def test_set_status_writes_the_line_under_the_figure():
    explorer = LineExplorer()
    explorer.set_status("diverged at step 12")
    assert explorer.status.value == "diverged at step 12"


def test_the_base_draw_must_be_overridden():
    explorer = Explorer({"a": widgets.IntSlider()})
    with pytest.raises(NotImplementedError):
        explorer.redraw()


# -- display ----------------------------------------------------------------------------------

def test_widget_shows_controls_then_the_figure_then_the_status():
    explorer = LineExplorer()
    box = explorer.widget()
    assert isinstance(box, widgets.VBox)
    assert explorer.redraw_count == 1  # drawn once so the first view is not empty
    *rows, image, status = box.children
    assert image is explorer.image and status is explorer.status
    shown = [control for row in rows for control in row.children]
    assert shown == list(explorer.controls.values())
    explorer.widget()
    assert explorer.redraw_count == 1  # not redrawn for a second view


def test_display_offers_the_widget_and_its_first_picture_at_twice_the_pixels():
    explorer = LineExplorer()
    bundle, metadata = explorer._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    box = explorer.widget()
    assert view["model_id"] == box.model_id and explorer.image in box.children
    # Readers without a widget manager (GitHub, nbviewer, static pages) get the picture,
    # with twice the pixels of the live one and shown at the live one's size.
    saved = base64.b64decode(bundle["image/png"])
    assert saved.startswith(PNG_SIGNATURE)
    live_height, live_width, _ = decode(explorer.image.value).shape
    height, width, _ = decode(saved).shape
    shown = metadata["image/png"]
    assert (shown["width"], shown["height"]) == (width // 2, height // 2)
    assert (shown["width"], shown["height"]) == (live_width, live_height)
    assert "interactive explorer" in bundle["text/plain"]


class BlitLineExplorer(base.BlitExplorer):
    """A static frame with one animated black line."""

    def __init__(self):
        super().__init__({"slope": widgets.FloatSlider(value=0.5, min=-1.0, max=1.0)})
        ax = self.figure.add_subplot()
        ax.set_xlim(0, 1)
        ax.set_ylim(-1, 1)
        (self.line,) = self.animate(*ax.plot([0, 1], [0, 0.5], color="black", linewidth=4))

    def draw(self, slope):
        self.layout = "frame"
        self.line.set_ydata([0, slope])


def test_the_saved_picture_of_a_blitting_explorer_shows_its_animated_artists():
    explorer = BlitLineExplorer()
    explorer.widget()
    saved = decode(explorer.sharp_png()[0])
    assert (saved.sum(axis=2) < 60).sum() > 500        # the thick black line is there
    assert explorer.line.get_animated()                # and stays out of the cached frame
    explorer.update(slope=-0.5)                         # live redraws still work afterwards
    assert (decode(explorer.image.value).sum(axis=2) < 60).sum() > 100


# -- registry ---------------------------------------------------------------------------------

@pytest.fixture
def clean_registry(monkeypatch):
    """The registry as the library fills it, restored after the test."""
    registry()  # import every explorer module first, so none registers during the test
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))


def test_register_records_the_factory_under_its_notebook(clean_registry):
    @register("99_zz_test", RetrainingLineExplorer)
    def tiny_line_explorer():
        return RetrainingLineExplorer()

    spec = tiny_line_explorer.explorer_spec
    assert spec == ExplorerSpec(notebook="99_zz_test", name="tiny_line_explorer",
                                factory=tiny_line_explorer, retraining=True)
    assert spec in registry()
    assert isinstance(spec.factory(), LineExplorer)
    assert tiny_line_explorer() is not tiny_line_explorer()  # the decorator returns the factory


def test_registry_is_sorted_by_notebook_then_name(clean_registry):
    for notebook, name in [("99_zz_b", "beta"), ("99_zz_a", "zeta"), ("99_zz_a", "alpha")]:
        def factory():
            return LineExplorer()
        factory.__name__ = name
        register(notebook, LineExplorer)(factory)
    keys = [(spec.notebook, spec.name) for spec in registry()]
    assert keys == sorted(keys)
    assert [k for k in keys if k[0].startswith("99_zz")] == [
        ("99_zz_a", "alpha"), ("99_zz_a", "zeta"), ("99_zz_b", "beta")]


def test_budgets_are_100_ms_or_1_s_when_retraining():
    formula = ExplorerSpec("n", "f", LineExplorer, retraining=False)
    retraining = ExplorerSpec("n", "g", LineExplorer, retraining=True)
    assert formula.budget_seconds == 0.1
    assert retraining.budget_seconds == 1.0
