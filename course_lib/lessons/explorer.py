"""The explorer pattern: controls, a figure, and ``update(**values)``.

An explorer owns a few ipywidgets controls and one matplotlib ``Figure`` that is not managed
by pyplot. Moving a control calls :meth:`Explorer.redraw`, which updates the artists, renders
the figure to PNG and puts the bytes in an ``ipywidgets.Image``. That path works with the
inline backend everywhere (JupyterLab, Colab, VS Code) and makes "redrawn" measurable: the
PNG is the figure the learner sees.

Tests and benchmarks drive an explorer without a browser through ``update(**values)`` and
read back what was drawn with :meth:`Explorer.drawn_data`.

Every explorer factory is registered with :func:`register` under the notebook that shows
it, so the tests (fuzzing, latency, browser) find all of them without per-notebook code.
"""
from __future__ import annotations

import base64
import contextlib
import importlib
import io
import pkgutil
from dataclasses import dataclass
from typing import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from .figures import STYLE, check_colour_scales, figure_png


class Explorer:
    """Base class of every interactive explorer.

    Subclasses build their controls and artists in ``__init__`` (calling
    ``super().__init__(controls, ...)`` first), then implement :meth:`draw`, which receives
    the current control values as keyword arguments, updates the figure, and records every
    array it plots with :meth:`record`. The base class wires the controls, renders and
    displays.

    Parameters
    ----------
    controls : dict of name -> ipywidgets.ValueWidget
        The controls, in display order. Their names are the keyword arguments of ``draw``.
    figsize : (float, float)
        Figure size in inches.
    dpi : int
        Resolution of the rendered PNG (80 keeps redraws fast and notebooks small).

    The class attribute ``retraining`` is True when a redraw trains a network (budget 1 s
    instead of 100 ms); such explorers update on slider release only
    (``continuous_update=False``). It is declared once, on the class; the registry reads it
    from there.
    """

    retraining = False

    def __init__(self, controls, *, figsize=(7.0, 4.2), dpi=80, title=None):
        self.controls = dict(controls)
        for name, control in self.controls.items():
            if not hasattr(control, "value"):
                raise TypeError(f"control {name!r} must be an ipywidgets value widget; "
                                f"got {type(control).__name__}.")
            if self.retraining and hasattr(control, "continuous_update"):
                control.continuous_update = False
            if not control.description and not isinstance(control, widgets.Checkbox):
                control.description = name
            # Descriptions at their natural width: "learning rate" is not cut to "learnin...".
            if hasattr(getattr(control, "style", None), "description_width"):
                control.style.description_width = "initial"
        with _style():
            self.figure = Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        # Shown at its own pixel size (scaled down on narrow screens, never blurred up).
        self.image = widgets.Image(format="png", layout=widgets.Layout(
            width=f"{round(figsize[0] * dpi)}px", max_width="100%", height="auto"))
        self.status = widgets.HTML(value="")
        self.title = title or type(self).__name__
        self._drawn = {}
        self._holding = False
        self.redraw_count = 0
        for control in self.controls.values():
            control.observe(self._on_change, names="value")

    # -- to implement -----------------------------------------------------------------
    def draw(self, **values):
        """Update the figure for the given control values (override)."""
        raise NotImplementedError

    # -- public API -------------------------------------------------------------------
    def values(self):
        """The current value of every control, as a dict."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self, **values):
        """Set several controls at once, then redraw once.

        Unknown names raise ``ValueError``. Values outside a slider's range are clipped by
        the slider itself, exactly as in the browser.
        """
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            allowed = ", ".join(self.controls)
            raise ValueError(f"unknown control(s) {', '.join(unknown)} for {self.title}; "
                             f"allowed: {allowed}.")
        with self._hold():
            for name, value in values.items():
                self.controls[name].value = value
        self.redraw()
        return self

    def redraw(self):
        """Recompute and redraw with the current values; returns the PNG bytes."""
        self._drawn = {}
        with _style():
            self.draw(**self.values())
            png = self.render_png()
            check_colour_scales(self.figure)
        self.image.value = png
        self.redraw_count += 1
        return png

    def record(self, name, data):
        """Remember an array that was drawn, so tests can check it for NaN or inf."""
        self._drawn[name] = np.asarray(data)
        return data

    def drawn_data(self):
        """Every array recorded during the last redraw (name -> array)."""
        return dict(self._drawn)

    def set_status(self, text):
        """A one-line message under the figure (e.g. 'diverged at step 12')."""
        self.status.value = text

    def render_png(self):
        """Render the figure to PNG bytes."""
        self.canvas.draw()
        return encode_png(self.canvas)

    def sharp_png(self):
        """The current picture with twice the screen pixels, and the size to show it at:
        ``(png_bytes, {"width": ..., "height": ...})``. Live redraws stay at screen
        resolution (they must be quick); this one is what a saved notebook keeps for
        readers without a kernel, sharp on a projector or a HiDPI screen."""
        with _style():
            return figure_png(self.figure, tight=False)

    def widget(self):
        """The displayable box: controls on top, then the figure and the status line."""
        if not self.redraw_count:
            self.redraw()
        if getattr(self, "_box", None) is None:
            boxes = list(self.controls.values())
            rows = [widgets.HBox(boxes[i:i + 3]) for i in range(0, len(boxes), 3)]
            self._box = widgets.VBox(rows + [self.image, self.status],
                                     layout=widgets.Layout(border="1px solid #ddd", padding="4px"))
        return self._box

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        """The widget for a live kernel, and its first picture for every other reader.

        Jupyter front ends with a widget manager render the widget view; GitHub, nbviewer,
        static pages and a notebook opened without a kernel fall back to the PNG saved with
        the output, so an explorer never shows as an empty box.
        """
        bundle = self.widget()._repr_mimebundle_(include=include, exclude=exclude, **kwargs)
        png, size = self.sharp_png()
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
        bundle["text/plain"] = (f"{self.title}: an interactive explorer (its controls work in "
                                f"Jupyter, Colab or Binder; the picture shows its first state)")
        return bundle, {"image/png": size}

    # -- internals ----------------------------------------------------------------
    def _on_change(self, change):
        if self._holding:
            return
        try:
            self.redraw()
        except Exception as err:
            # Shown under the figure, where a learner looks; re-raised for the kernel log
            # and for tests.
            self.set_status(f'<span style="color:#D55E00">could not redraw: '
                            f'{type(err).__name__}: {err}</span>')
            raise

    @contextlib.contextmanager
    def _hold(self):
        previous, self._holding = self._holding, True
        try:
            yield
        finally:
            self._holding = previous


class BlitExplorer(Explorer):
    """An explorer that renders its static parts once per layout, then only what changes.

    A full Agg draw of axes, ticks, contour maps and legends costs tens to hundreds of
    milliseconds; the few lines a slider moves cost about one. Artists passed to
    :meth:`animate` are left out of the full draw and drawn on top of a cached background
    at every redraw (in zorder). ``draw`` sets :attr:`layout` to a hashable key of everything
    static it changed (axis limits, titles, the surface shown); a new layout is drawn once
    with :meth:`draw_background` and its background kept (the least recently used is dropped
    beyond ``MAX_BACKGROUNDS``).

    Parts of the figure that change independently can be cached apart: set :attr:`blit_regions`
    to a dict name -> ``(bbox, artists)`` (the part's display pixels and what is drawn in
    it, e.g. one Axes and its labels) and :attr:`layout` to a dict name -> key. Each part
    is then drawn on its own, so n maps and m axis lengths cost n + m backgrounds, not n * m.
    """

    MAX_BACKGROUNDS = 32

    def __init__(self, controls, **kwargs):
        self.dynamic = []
        self.layout = None
        self.blit_regions = None
        self._backgrounds = {}
        super().__init__(controls, **kwargs)

    def animate(self, *artists):
        """Mark artists as changing at every redraw; returns them."""
        for artist in artists:
            artist.set_animated(True)
            self.dynamic.append(artist)
        return artists

    def prerender(self, layouts, apply):
        """Draw and keep the background of each layout now (``apply(layout)`` sets it up),
        so that no later redraw pays for a full draw. With :attr:`blit_regions`, a layout may
        name only some regions."""
        with _style():
            for layout in layouts:
                apply(layout)
                self.layout = layout
                self._cached_backgrounds(redraw=True)

    def sharp_png(self):
        # A full draw skips animated artists: show them for this one picture.
        for artist in self.dynamic:
            artist.set_animated(False)
        try:
            return super().sharp_png()
        finally:
            for artist in self.dynamic:
                artist.set_animated(True)

    def forget_backgrounds(self):
        """Drop every cached background (after changing something static)."""
        self._backgrounds.clear()

    def draw_background(self):
        """Draw the static part of the figure for :attr:`layout` on the canvas (called when
        that layout is not cached; without :attr:`blit_regions`). The default is a full draw,
        which skips the animated artists; override it to compose the background from
        cheaper cached parts."""
        self.canvas.draw()

    def _draw_region(self, name):
        bbox, artists = self.blit_regions[name]
        self.canvas.get_renderer().clear()
        self.figure.draw_artist(self.figure.patch)
        for artist in artists:
            self.figure.draw_artist(artist)             # an Axes skips its animated artists
        return self.canvas.copy_from_bbox(bbox)

    def _cached_backgrounds(self, redraw=False):
        """The backgrounds of :attr:`layout` (one, or one per region), drawing those missing."""
        if self.blit_regions is None:
            wanted = [(self.layout, None)]
        else:
            wanted = [((name, key), name) for name, key in self.layout.items()]
        backgrounds = []
        for key, region in wanted:
            background = None if redraw else self._backgrounds.pop(key, None)
            if background is None and region is None:
                self.draw_background()
                background = self.canvas.copy_from_bbox(self.figure.bbox)
            elif background is None:
                background = self._draw_region(region)
            self._remember(key, background)
            backgrounds.append(background)
        return backgrounds

    def _remember(self, key, background):
        self._backgrounds.pop(key, None)
        self._backgrounds[key] = background             # most recently used last
        while len(self._backgrounds) > self.MAX_BACKGROUNDS:
            self._backgrounds.pop(next(iter(self._backgrounds)))

    def render_png(self):
        for background in self._cached_backgrounds():
            self.canvas.restore_region(background)
        for artist in sorted(self.dynamic, key=lambda a: a.get_zorder()):
            if artist.get_visible():
                self.figure.draw_artist(artist)
        return encode_png(self.canvas)


def encode_png(canvas):
    """The canvas's current pixels as PNG bytes (fast zlib level 1; lossless)."""
    rgba = np.asarray(canvas.buffer_rgba())
    out = io.BytesIO()
    Image.fromarray(rgba[..., :3]).save(out, format="png", compress_level=1)
    return out.getvalue()


@contextlib.contextmanager
def _style():
    import matplotlib as mpl
    with mpl.rc_context(STYLE):
        yield


# -- registry ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ExplorerSpec:
    """A registered explorer factory and where it is shown."""

    notebook: str          # the notebook's file stem, e.g. "03_optimizers"
    name: str              # the factory's name, e.g. "trajectory_explorer"
    factory: Callable[..., Explorer]
    retraining: bool

    @property
    def budget_seconds(self):
        return 1.0 if self.retraining else 0.1


_REGISTRY: dict[str, ExplorerSpec] = {}


def register(notebook, explorer):
    """Decorator: record an explorer factory as shown in ``notebook`` (its file stem).

    ``explorer`` is the :class:`Explorer` subclass the factory returns; its ``retraining``
    attribute sets the latency budget. The factory must be callable with no arguments (its
    defaults are what the notebook shows).
    """
    if not (isinstance(explorer, type) and issubclass(explorer, Explorer)):
        raise TypeError(f"explorer must be an Explorer subclass; got {explorer!r}.")

    def decorate(factory):
        spec = ExplorerSpec(notebook=notebook, name=factory.__name__, factory=factory,
                            retraining=bool(explorer.retraining))
        _REGISTRY[f"{notebook}:{factory.__name__}"] = spec
        factory.explorer_spec = spec
        return factory
    return decorate


def registry():
    """Every registered explorer, after importing each topic's ``explorers`` module.

    Returns a list of :class:`ExplorerSpec` sorted by notebook, then name. Adding a notebook's
    explorers is adding one topic folder to ``course_lib/lessons`` with an ``explorers.py``;
    nothing else changes.
    """
    from .. import lessons as package
    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg:
            importlib.import_module(f"{package.__name__}.{module.name}.explorers")
    return sorted(_REGISTRY.values(), key=lambda s: (s.notebook, s.name))
