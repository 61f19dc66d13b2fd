"""One style for every figure of the course.

A colour-blind-safe palette (Okabe & Ito), one fixed colour per optimizer so that Adam is
the same blue in every notebook, labelled axes with units, and a few helpers for the figure
kinds that recur (loss curves, learning-rate curves, contour maps).
"""
from __future__ import annotations

import base64
import contextlib
import io
import warnings

import matplotlib as mpl
import numpy as np

from .._validation import check_array
from .seeds import spread

# Okabe & Ito (2008), "Color Universal Design"; the yellow is darkened to read on white.
PALETTE = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#C9A800",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#8C8C8C",
    # Two from Paul Tol's colour-blind-safe "muted" scheme, for the eight optimizers: with
    # Okabe & Ito's eight alone, Momentum, AdaMax and Nadam got orange, vermillion and yellow.
    "wine": "#882255",
    "olive": "#999933",
}

#: The colour of each optimizer, identical in every notebook and explorer.
OPTIMIZER_COLORS = {
    "SGD": PALETTE["black"],
    "Momentum": PALETTE["orange"],
    "Nesterov": PALETTE["sky_blue"],
    "AdaGrad": PALETTE["green"],
    "RMSProp": PALETTE["purple"],
    "Adam": PALETTE["blue"],
    "AdaMax": PALETTE["wine"],
    "Nadam": PALETTE["olive"],
}

#: Colours for the roles that recur in curves: training vs validation, and a baseline.
ROLE_COLORS = {
    "train": PALETTE["blue"],
    "val": PALETTE["vermillion"],
    "test": PALETTE["green"],
    "baseline": PALETTE["grey"],
    "lr": PALETTE["purple"],
}

#: The default colours of lines, in order. Orange comes late: next to vermillion (second) it
#: is easily taken for the same line, so plots of up to six lines never hold both.
CYCLE = [PALETTE[k] for k in ("blue", "vermillion", "green", "purple", "sky_blue", "black",
                              "orange", "olive")]

#: Figures are laid out at 80 dpi (their size on screen) and stored at twice that many pixels,
#: so that they stay sharp on a projector and on a HiDPI laptop (see :func:`figure_png`).
SCREEN_DPI = 80
PIXEL_SCALE = 2
#: Colours kept in a stored figure: the palette, its anti-aliased edges and a colour map's
#: steps fit in 256, and an indexed PNG is a third of the size of a true-colour one.
STORED_COLOURS = 256

STYLE = {
    "figure.figsize": (7.0, 4.2),
    "figure.dpi": SCREEN_DPI,
    "savefig.dpi": SCREEN_DPI * PIXEL_SCALE,
    "axes.prop_cycle": mpl.cycler(color=CYCLE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
    # Opaque white behind every figure: Jupyter's inline backend makes figures transparent,
    # which leaves black axis labels unreadable on a dark theme.
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    # Every pyplot figure checks its colour scales when drawn (see check_colour_scales).
    "figure.hooks": ["course_lib.lessons.figures:watch_colour_scales"],
}

#: An image plot whose data spans less than this share of its colour scale draws almost one
#: colour: a blank-looking figure (pixels in [0, 1] drawn with vmax=16 cover 6%).
MIN_COLOUR_SCALE_COVERAGE = 0.15


class ColourScaleWarning(UserWarning):
    """An image plot's data covers only a small part of its colour scale."""


def check_colour_scales(figure):
    """Warn (:class:`ColourScaleWarning`) for each image plot of ``figure`` whose data spans
    less than :data:`MIN_COLOUR_SCALE_COVERAGE` of its colour scale (in the scale's own units:
    a log scale is measured in decades). Returns the list of coverages found."""
    coverages = []
    for ax in figure.axes:
        for image in list(ax.get_images()) + [c for c in ax.collections
                                               if isinstance(c, mpl.collections.QuadMesh)]:
            data = np.ma.masked_invalid(np.ma.asarray(image.get_array(), dtype=float))
            norm = image.norm
            if data.count() == 0 or norm.vmin is None or norm.vmax is None:
                continue
            lo, hi = float(norm.vmin), float(norm.vmax)
            d_lo, d_hi = float(data.min()), float(data.max())
            if isinstance(norm, mpl.colors.LogNorm):
                if lo <= 0 or d_lo <= 0:
                    continue
                lo, hi, d_lo, d_hi = np.log10([lo, hi, d_lo, d_hi])
            if not hi > lo:
                continue
            coverage = (min(d_hi, hi) - max(d_lo, lo)) / (hi - lo)
            coverages.append(coverage)
            if coverage < MIN_COLOUR_SCALE_COVERAGE:
                title = ax.get_title() or "an image plot"
                warnings.warn(f"{title!r}: the data cover {coverage:.0%} of the colour scale "
                              f"[{norm.vmin:g}, {norm.vmax:g}]; the image shows almost one colour "
                              f"(set vmin/vmax to the data's range).", ColourScaleWarning,
                              stacklevel=2)
    return coverages


def watch_colour_scales(figure):
    """A ``figure.hooks`` entry: check the figure's colour scales each time it is drawn."""
    figure.canvas.mpl_connect("draw_event", lambda event: check_colour_scales(event.canvas.figure))


def color_for(optimizer_name):
    """The course colour of an optimizer given its display name (e.g. ``"Adam"``)."""
    try:
        return OPTIMIZER_COLORS[optimizer_name]
    except KeyError:
        allowed = ", ".join(OPTIMIZER_COLORS)
        raise ValueError(f"optimizer_name must be one of {allowed}; got {optimizer_name!r}.") from None


def figure_png(figure, *, scale=PIXEL_SCALE, colours=STORED_COLOURS, tight=True):
    """A figure as an indexed-colour PNG with ``scale`` times its screen pixels, and the
    display metadata (its screen width and height) that make a notebook show it at its
    screen size: ``(png_bytes, {"width": ..., "height": ...})``. ``tight`` trims the empty
    margins, as IPython does for pyplot figures; an explorer keeps its widget's framing.

    Returns None for a figure with nothing drawn, as IPython's own formatter does.
    """
    from PIL import Image

    if scale not in (1, 2, 3):
        raise ValueError(f"scale must be 1, 2 or 3 (pixels per screen pixel); got {scale!r}.")
    if not 2 <= colours <= 256:
        raise ValueError(f"colours must be between 2 and 256; got {colours!r}.")
    if not figure.axes and not figure.lines:
        return None
    if figure.canvas is None:
        from matplotlib.backend_bases import FigureCanvasBase
        FigureCanvasBase(figure)
    raw = io.BytesIO()
    figure.canvas.print_figure(raw, format="png", dpi=figure.dpi * scale,
                               bbox_inches="tight" if tight else None,
                               facecolor=figure.get_facecolor(), edgecolor=figure.get_edgecolor())
    image = Image.open(raw).convert("RGB")
    width, height = image.size
    # No dithering: dithered pixels would cost more bytes than the colours they restore. The
    # fast octree picks the palette in about 15 ms for a large figure (median cut: 100 ms) and
    # compresses better; zlib's extra "optimize" pass would add 100 ms for 4% fewer bytes.
    indexed = image.quantize(colors=colours, method=Image.Quantize.FASTOCTREE,
                             dither=Image.Dither.NONE)
    out = io.BytesIO()
    indexed.save(out, format="png")
    return out.getvalue(), {"width": width // scale, "height": height // scale}


def _show_sharp_figures():
    """Make a running IPython kernel store pyplot figures with :func:`figure_png`."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    from matplotlib.figure import Figure

    def as_notebook_output(figure):
        stored = figure_png(figure)
        if stored is None:
            return None
        png, metadata = stored
        return base64.b64encode(png).decode("ascii"), metadata

    shell.display_formatter.formatters["image/png"].for_type(Figure, as_notebook_output)
    return True


def use_course_style():
    """Apply the course style globally (the setup cell of every notebook calls this); in a
    notebook, figures are then stored at twice their screen resolution (see :func:`figure_png`)."""
    mpl.rcParams.update(STYLE)
    _show_sharp_figures()


@contextlib.contextmanager
def course_style():
    """Context manager applying the course style temporarily."""
    with mpl.rc_context(STYLE):
        yield


def label(ax, xlabel, ylabel, title=None):
    """Label both axes (with units, e.g. ``"epoch"``, ``"loss (cross-entropy)"``) and the title."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def readable_log_axis(ax, axis="y"):
    """Tick a log axis at 1, 2 and 5 times each power of ten, labelled as plain numbers
    (0.1, 0.2, 0.5): a log axis spanning less than a decade otherwise shows one label or none."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y'; got {axis!r}.")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    target.set_minor_locator(NullLocator())
    return ax


def plot_history(ax, history, keys=("loss", "val_loss"), *, label_prefix="", color=None,
                 linestyle="-", ylabel="loss (cross-entropy)"):
    """Curves of a training history against the epoch (1-based).

    ``history`` is a ``History`` object or a dict name -> list of per-epoch values.
    Training curves are solid, validation curves dashed, unless ``color`` fixes one colour.
    """
    values = getattr(history, "history", history)
    lines = []
    for key in keys:
        if key not in values:
            continue
        y = np.asarray(values[key], dtype=float)
        epochs = np.arange(1, len(y) + 1)
        role = "val" if key.startswith("val_") else "train"
        style = "--" if role == "val" and color is not None else linestyle
        (line,) = ax.plot(epochs, y, style, color=color or ROLE_COLORS[role],
                          label=f"{label_prefix}{key}")
        lines.append(line)
    label(ax, "epoch", ylabel)
    # Epochs are whole numbers: no tick at epoch 2.5.
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    return lines


def plot_band(ax, x, spread, *, color, label=None, linestyle="-", alpha=0.2):
    """A median curve over seeds with its quartile band (``spread``: a
    :class:`course_lib.lessons.seeds.Spread` of curves); returns the median line."""
    (line,) = ax.plot(x, spread.median, linestyle, color=color, label=label)
    ax.fill_between(x, spread.low, spread.high, color=color, alpha=alpha, linewidth=0)
    return line


def plot_seed_strip(ax, values_by_name, *, colors=None, ylabel=None, title=None, log_y=False):
    """One column of dots per setting, one dot per seed, with the median as a bar and the
    quartiles as a line: a comparison over seeds drawn with its spread.

    ``values_by_name`` maps a setting's name to its values over seeds (NaN, e.g. a diverged
    run, is left out of the drawing). ``colors`` maps names to colours (course cycle by
    default). Returns the :class:`~course_lib.lessons.seeds.Spread` of each setting, by name.
    """
    if not values_by_name:
        raise ValueError("values_by_name must name at least one setting; got an empty mapping.")
    spreads = {}
    for i, (name, values) in enumerate(values_by_name.items()):
        values = check_array(name, values, ndim=1, finite=False)
        color = (colors or {}).get(name, CYCLE[i % len(CYCLE)])
        # A fixed, small horizontal offset per seed keeps equal values apart without randomness.
        offsets = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else np.zeros(1)
        ax.plot(i + offsets, values, "o", color=color, ms=5, alpha=0.8, zorder=3)
        summary = spreads[name] = spread(values)
        ax.plot([i - 0.25, i + 0.25], [summary.median] * 2, color=PALETTE["black"], lw=2, zorder=4)
        ax.plot([i, i], [summary.low, summary.high], color=PALETTE["black"], lw=1, zorder=2)
    ax.set_xticks(range(len(values_by_name)), list(values_by_name))
    ax.set_xlim(-0.6, len(values_by_name) - 0.4)
    if log_y:
        ax.set_yscale("log")
    n = max(s.n for s in spreads.values())
    ax.set_xlabel(f"setting ({n} seeds each; bar: median, line: quartiles)")
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return spreads
