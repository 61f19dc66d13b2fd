"""One style for every figure of the course.

A colour-blind-safe palette (Okabe & Ito), one fixed colour per optimizer so that Adam is
the same blue in every notebook, labelled axes with units, and a few helpers for the figure
kinds that recur (loss curves, learning-rate curves, contour maps).
"""
from __future__ import annotations

import contextlib

import matplotlib as mpl
import numpy as np

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
}

#: The colour of each optimizer, identical in every notebook and explorer.
OPTIMIZER_COLORS = {
    "SGD": PALETTE["black"],
    "Momentum": PALETTE["orange"],
    "Nesterov": PALETTE["sky_blue"],
    "AdaGrad": PALETTE["green"],
    "RMSProp": PALETTE["purple"],
    "Adam": PALETTE["blue"],
    "AdaMax": PALETTE["vermillion"],
    "Nadam": PALETTE["yellow"],
}

#: Colours for the roles that recur in curves: training vs validation, and a baseline.
ROLE_COLORS = {
    "train": PALETTE["blue"],
    "val": PALETTE["vermillion"],
    "test": PALETTE["green"],
    "baseline": PALETTE["grey"],
    "lr": PALETTE["purple"],
}

CYCLE = [PALETTE[k] for k in ("blue", "vermillion", "green", "orange", "purple",
                              "sky_blue", "black", "yellow")]

STYLE = {
    "figure.figsize": (7.0, 4.2),
    "figure.dpi": 80,
    "savefig.dpi": 80,
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
}


def color_for(optimizer_name):
    """The course colour of an optimizer given its display name (e.g. ``"Adam"``)."""
    try:
        return OPTIMIZER_COLORS[optimizer_name]
    except KeyError:
        allowed = ", ".join(OPTIMIZER_COLORS)
        raise ValueError(f"optimizer_name must be one of {allowed}; got {optimizer_name!r}.") from None


def use_course_style():
    """Apply the course style globally (the setup cell of every notebook calls this)."""
    mpl.rcParams.update(STYLE)


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
    return lines


def plot_band(ax, x, spread, *, color, label=None, linestyle="-", alpha=0.2):
    """A median curve over seeds with its quartile band (``spread``: a
    :class:`course_lib.lessons.seeds.Spread` of curves); returns the median line."""
    (line,) = ax.plot(x, spread.median, linestyle, color=color, label=label)
    ax.fill_between(x, spread.low, spread.high, color=color, alpha=alpha, linewidth=0)
    return line
