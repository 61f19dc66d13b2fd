"""Figures of the notebook on optimizers: static figures and the drawing helpers the
explorers reuse (each figure kind is drawn by one helper).

* :class:`PathFigure` -- paths of optimizers on a 2-D surface (contour map on the left)
  and the loss above the minimum per step (right). The contour background of each surface
  is computed once and cached; a redraw only moves lines. :func:`plot_paths` draws one.
* :class:`CurveFigure` -- training and validation loss per epoch of the digits network,
  one median line per optimizer, the chosen one with its spread over seeds (the explorer's).
* :func:`plot_surface_gallery`, :func:`plot_series`; on the digits, over seeds:
  :func:`plot_lr_sweep`, :func:`plot_best_curves` (small multiples) and
  :func:`plot_band_curves`.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from ... import optimizers as opt
from ..figures import OPTIMIZER_COLORS, PALETTE, label, plot_band
from .digits_runs import DIGITS_SETUP, curves, final_val_losses
from .runs import GAP_FLOOR, SURFACE_NAMES, exit_step, loss_gap, lowest_loss, surface_of

#: The range of the loss axis, the same for every surface (a diverging run leaves it at
#: the top, as its path leaves the map).
LOSS_RANGE = (GAP_FLOOR / 3.0, 1e4)


# ------------------------------------------------------------------------ path figure

@functools.lru_cache(maxsize=None)
def _background(surface, n=160, levels=14):
    """(image, extent, contour levels, grid) for one surface, computed once.

    The image is log10(f - f_min + delta): even shading of both the valley floor and the
    steep walls.
    """
    xx, yy, zz = surface.grid(n)
    f_min = lowest_loss(surface)
    gap = zz - f_min
    delta = max(1e-3, 1e-3 * float(np.ptp(gap)))
    image = np.log10(gap + delta)
    lv = np.unique(np.quantile(image, np.linspace(0.02, 0.98, levels)))
    extent = (*surface.xlim, *surface.ylim)
    return image, extent, lv, (xx, yy, image)


#: Lengths of the loss axis: the axis spans the first of these >= the steps taken, so
#: that small changes of the steps slider keep the axes (and the cached background).
_STEP_AXIS = (50, 100, 150, 200, 300, 500, 1000)


def step_axis_lengths_up_to(max_steps):
    """Every step-axis length a steps slider going up to ``max_steps`` can ask for."""
    return sorted({step_axis_length(n) for n in [1, *[x for x in _STEP_AXIS if x <= max_steps],
                                                 max_steps]})


def step_axis_length(steps):
    """The length of the step axis for a run of ``steps`` steps (see ``_STEP_AXIS``)."""
    for length in _STEP_AXIS:
        if steps <= length:
            return length
    return int(steps)


class PathFigure:
    """Paths on a contour map (left) and the loss above the minimum per step (right).

    Parameters
    ----------
    figure : matplotlib Figure (a pyplot one for static figures, the explorer's otherwise)
    names : labels of the paths to draw, each gets one line on both axes (course colours
        for optimizer names, unless ``colors`` maps the label to another colour).

    :meth:`show` swaps the background to a surface (cached per surface) and moves the
    lines. The axes limits depend only on the surface and the length of the run, so an
    explorer can keep a bitmap of everything else (:meth:`background_keys`,
    :meth:`moving_artists`) and redraw only the lines.
    """

    def __init__(self, figure, names, *, title=None, colors=None):
        self.figure = figure
        colors = dict(colors or {})
        self.names = tuple(names)
        self.map_ax, self.loss_ax = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        self.surface_name = None
        self.step_length = None
        self._image = None
        self._contours = {}
        self.lines, self.loss_lines, self.heads = {}, {}, {}
        for i, name in enumerate(self.names):
            color = colors.get(name) or OPTIMIZER_COLORS.get(name, f"C{i}")
            (self.lines[name],) = self.map_ax.plot([], [], "-", color=color, lw=1.8,
                                                   marker="o", ms=2.2, label=name, zorder=4)
            (self.heads[name],) = self.map_ax.plot([], [], "o", color=color, ms=6,
                                                   mec="white", zorder=5)
            (self.loss_lines[name],) = self.loss_ax.plot([], [], color=color, lw=1.8, label=name,
                                                         zorder=3)
        (self.start_marker,) = self.map_ax.plot([], [], "s", color="white", mec="black", ms=7,
                                                zorder=6)
        (self.minima_marker,) = self.map_ax.plot([], [], "*", color="white", mec="black", ms=13,
                                                 zorder=6, label="minimum")
        self.note = self.map_ax.text(0.02, 0.03, "", transform=self.map_ax.transAxes, va="bottom",
                                     ha="left", fontsize=9, color=PALETTE["vermillion"], zorder=7,
                                     bbox={"facecolor": "white", "alpha": 0.85, "lw": 0})
        label(self.map_ax, "x (parameter 1)", "y (parameter 2)")
        self.loss_ax.set_yscale("log")
        # A few labelled decades and no minor ticks: readable, and quick to draw.
        self.loss_ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=6))
        self.loss_ax.yaxis.set_minor_locator(NullLocator())
        self.loss_ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        self.map_ax.xaxis.set_major_locator(MaxNLocator(5))
        self.map_ax.yaxis.set_major_locator(MaxNLocator(5))
        self.loss_ax.set_ylim(*LOSS_RANGE)
        label(self.loss_ax, "step", "loss above the minimum, f - f*")
        self.loss_ax.set_title("loss per step")
        if title:
            figure.suptitle(title, y=0.99)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.80 if title else 0.88,
                               wspace=0.28)

    def set_background(self, surface):
        """Show ``surface``'s shading, contours and minima (cached per surface)."""
        if surface.name == self.surface_name:
            return
        image, extent, levels, (xx, yy, zz) = _background(surface)
        if self._image is None:
            self._image = self.map_ax.imshow(image, extent=extent, origin="lower", aspect="auto",
                                             cmap="viridis", alpha=0.9, zorder=1,
                                             interpolation="bilinear")
        else:
            self._image.set_data(image)
            self._image.set_extent(extent)
            self._image.set_clim(image.min(), image.max())
        for contours in self._contours.values():
            contours.set_visible(False)
        if surface.name not in self._contours:
            self._contours[surface.name] = self.map_ax.contour(
                xx, yy, zz, levels=levels, colors="white", linewidths=0.5, alpha=0.55, zorder=2)
        self._contours[surface.name].set_visible(True)
        self.map_ax.set_xlim(surface.xlim)
        self.map_ax.set_ylim(surface.ylim)
        mx, my = zip(*surface.minima)
        self.minima_marker.set_data(mx, my)
        self.surface_name = surface.name

    def background_keys(self):
        """What the static part of each half of the figure depends on: the map half on the
        surface, the loss half on the length of the step axis."""
        return {"map": self.surface_name, "loss": self.step_length}

    def regions(self):
        """Bboxes (display pixels) of the two halves: the map with its labels, and the loss
        axes with theirs (and a legend on the right). The border sits just left of the loss
        axes' labels, which never change, so each half can be drawn on its own."""
        from matplotlib.transforms import Bbox
        width, height = self.figure.canvas.get_width_height()
        if getattr(self, "_split", None) is None:
            renderer = self.figure.canvas.get_renderer()
            self._split = math.floor(self.loss_ax.get_tightbbox(renderer).x0) - 1
        return {"map": Bbox([[0, 0], [self._split, height]]),
                "loss": Bbox([[self._split, 0], [width, height]])}

    def axes_of(self, region):
        """The axes drawn in a region ("map" or "loss")."""
        return self.map_ax if region == "map" else self.loss_ax

    def set_step_length(self, length):
        """Set the length of the step axis (see :func:`step_axis_length`)."""
        self.step_length = int(length)
        self.loss_ax.set_xlim(0, self.step_length)

    def moving_artists(self):
        """The artists drawn over the cached bitmaps, in drawing order: those :meth:`show`
        changes, and the minima markers, which must stay on top of the paths."""
        artists = ([self.lines[n] for n in self.names] + [self.heads[n] for n in self.names]
                   + [self.loss_lines[n] for n in self.names]
                   + [self.start_marker, self.minima_marker, self.note, self.map_ax.title])
        return sorted(artists, key=lambda a: a.get_zorder())   # drawn in this order

    def show(self, surface, trajectories, *, steps=None, note="", title=None):
        """Draw ``trajectories`` (name -> Trajectory, a subset of ``names``) on ``surface``.

        Paths of names not given are hidden. A diverged path is drawn up to the first point
        outside the box (the axes clip the last segment where it leaves). Returns a dict of
        the arrays drawn.
        """
        surface = surface_of(surface)
        self.set_background(surface)
        drawn = {}
        longest = 1
        for name in self.names:
            tr = trajectories.get(name)
            line, head, loss_line = self.lines[name], self.heads[name], self.loss_lines[name]
            if tr is None:
                for artist in (line, head, loss_line):
                    artist.set_data([], [])
                    artist.set_visible(False)
                continue
            pts = np.asarray(tr.points)
            gone = exit_step(surface, pts)
            shown = pts if gone is None or not tr.diverged else pts[:gone + 1]
            gap = loss_gap(surface, tr.losses)
            line.set_data(shown[:, 0], shown[:, 1])
            head.set_data(shown[-1:, 0], shown[-1:, 1])
            loss_line.set_data(np.arange(len(gap)), gap)
            for artist in (line, head, loss_line):
                artist.set_visible(True)
            drawn[f"{name} path"] = shown
            drawn[f"{name} loss"] = gap
            longest = max(longest, len(gap) - 1)
        first = next(iter(trajectories.values()), None)
        if first is not None:
            self.start_marker.set_data([first.points[0, 0]], [first.points[0, 1]])
        self.set_step_length(step_axis_length(max(longest, steps or 0, 1)))
        self.note.set_text(note)
        self.note.set_visible(bool(note))
        self.map_ax.set_title(title if title is not None else f"{surface.name} surface")
        return drawn

    def legend(self, **kwargs):
        """A legend of the paths on the loss axes (outside on the right by default)."""
        kwargs.setdefault("loc", "upper left")
        kwargs.setdefault("bbox_to_anchor", (1.01, 1.0))
        return self.loss_ax.legend(fontsize=8, frameon=False, **kwargs)


def plot_paths(surface, trajectories, *, title=None, figsize=(9.0, 3.6), note="", legend=True,
               colors=None, map_title=None):
    """A new pyplot figure with :class:`PathFigure`; returns (figure, drawn arrays).

    ``trajectories`` is a dict label -> Trajectory (labels that are optimizer names get
    their course colour, unless ``colors`` (label -> colour) says otherwise).
    """
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=figsize)
    pf = PathFigure(fig, list(trajectories), title=title, colors=colors)
    drawn = pf.show(surface, trajectories, note=note, title=map_title)
    if legend:
        pf.legend()
        fig.subplots_adjust(right=0.80)
    return fig, drawn


def plot_surface_gallery(names=SURFACE_NAMES, *, figsize=(10.0, 2.7)):
    """The surfaces side by side: shaded log-loss, contours, minima (stars), default start
    (square). Returns the figure."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(names), figsize=figsize)
    for ax, name in zip(np.atleast_1d(axes), names):
        surface = surface_of(name)
        image, extent, levels, (xx, yy, zz) = _background(surface)
        ax.imshow(image, extent=extent, origin="lower", aspect="auto", cmap="viridis", alpha=0.9)
        ax.contour(xx, yy, zz, levels=levels, colors="white", linewidths=0.5, alpha=0.55)
        mx, my = zip(*surface.minima)
        ax.plot(mx, my, "*", color="white", mec="black", ms=12)
        ax.plot(*surface.default_start, "s", color="white", mec="black", ms=6)
        for sx, sy in surface.saddle_points:
            ax.plot(sx, sy, "x", color="white", ms=8, mew=2)
        ax.set_xlim(surface.xlim)
        ax.set_ylim(surface.ylim)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(4))
        label(ax, "x (parameter 1)", "y (parameter 2)" if ax is np.atleast_1d(axes)[0] else "",
              name)
    fig.tight_layout()
    return fig


def plot_series(series, *, xlabel="step", ylabel, title, logy=True, figsize=(6.0, 3.2),
                colors=None, styles=None, ax=None):
    """Curves against the step (or another x): ``series`` maps a label to (x, y).

    Optimizer names get their course colour unless ``colors`` says otherwise; ``styles``
    maps labels to line styles. Returns (figure, drawn arrays).
    """
    import matplotlib.pyplot as plt
    colors, styles = dict(colors or {}), dict(styles or {})
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    drawn = {}
    for i, (name, (x, y)) in enumerate(series.items()):
        color = colors.get(name) or OPTIMIZER_COLORS.get(name, f"C{i}")
        ax.plot(x, y, styles.get(name, "-"), color=color, label=name)
        drawn[name] = np.asarray(y, dtype=float)
    if logy:
        ax.set_yscale("log")
    label(ax, xlabel, ylabel, title)
    ax.legend(loc="best")
    fig.tight_layout()
    return fig, drawn


def _few_log_ticks(ax, *axis_names):
    """Labelled decades only, no minor ticks, on the named log axes of ``ax`` (and of the
    axes sharing them): small multiples stay readable and draw several times faster."""
    for name in axis_names:
        axis = getattr(ax, f"{name}axis")
        axis.set_major_locator(LogLocator(base=10.0, numticks=5))
        axis.set_minor_locator(NullLocator())


def plot_lr_sweep(sweep, *, title, figsize=(10.0, 4.4), ylim=(0.05, 5.0)):
    """Final validation loss against the learning rate, one small panel per optimizer.

    ``sweep``: name -> dict rate -> runs over seeds (``digits_runs.digits_sweep``). Each seed
    is a dot, the median a line; the best rate (lowest median) is circled. A diverged run
    is drawn as an x at the top edge. Returns (figure, drawn medians per optimizer).
    """
    import matplotlib.pyplot as plt
    names = list(sweep)
    fig, axes = plt.subplots(2, math.ceil(len(names) / 2), figsize=figsize, sharex=True,
                             sharey=True)
    every_rate = sorted({lr for by_rate in sweep.values() for lr in by_rate})
    drawn = {}
    for ax, name in zip(axes.flat, names):
        color = OPTIMIZER_COLORS[name]
        rates = np.array(sorted(sweep[name]))
        values = np.array([final_val_losses(sweep[name][lr]) for lr in rates])   # (rates, seeds)
        medians = np.median(values, axis=1)
        x = np.repeat(rates, values.shape[1])
        y = values.ravel()
        finite = np.isfinite(y)
        ax.plot(x[finite], y[finite], "o", color=color, ms=3, alpha=0.5)
        ax.plot(x[~finite], np.full((~finite).sum(), ylim[1]), "x", color=color, ms=7, mew=1.5)
        ax.plot(rates, np.minimum(medians, ylim[1]), "-", color=color, lw=1.8)
        best = int(np.argmin(medians))
        ax.plot(rates[best], medians[best], "o", ms=11, mfc="none", mec=PALETTE["black"], mew=1.5)
        ax.set_title(f"{name}: best {rates[best]:g}", fontsize=10)
        drawn[name] = medians
    axes.flat[0].set_xscale("log")
    axes.flat[0].set_yscale("log")
    axes.flat[0].set_ylim(*ylim)
    axes.flat[0].set_xlim(every_rate[0] / 3, every_rate[-1] * 3)
    _few_log_ticks(axes.flat[0], "x", "y")
    for ax in axes[-1]:
        ax.set_xlabel("learning rate")
    for ax in axes[:, 0]:
        ax.set_ylabel("val. cross-entropy")
    fig.suptitle(title)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.86, wspace=0.12, hspace=0.35)
    return fig, drawn


def plot_best_curves(best, *, key="val_loss", title, figsize=(10.0, 4.4), ylim=(0.05, 3.0)):
    """Small multiples: one panel per optimizer, its ``key`` curve at its best rate (median
    over seeds with the quartile band), the other optimizers' medians thin and grey behind.

    ``best``: name -> runs over seeds at that optimizer's best rate. Returns (figure, the
    median curves drawn).
    """
    import matplotlib.pyplot as plt
    names = list(best)
    spreads = {name: curves(runs, key) for name, runs in best.items()}
    epochs = np.arange(1, DIGITS_SETUP["epochs"] + 1)
    fig, axes = plt.subplots(2, math.ceil(len(names) / 2), figsize=figsize, sharex=True,
                             sharey=True)
    for ax, name in zip(axes.flat, names):
        for other in names:
            if other != name:
                ax.plot(epochs, spreads[other].median, color=PALETTE["grey"], lw=0.8, alpha=0.6)
        plot_band(ax, epochs, spreads[name], color=OPTIMIZER_COLORS[name], alpha=0.3)
        ax.set_title(f"{name} (lr {best[name][0].learning_rate:g})", fontsize=10)
    axes.flat[0].set_yscale("log")
    axes.flat[0].set_ylim(*ylim)
    axes.flat[0].xaxis.set_major_locator(MaxNLocator(5, integer=True))
    _few_log_ticks(axes.flat[0], "y")
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("val. cross-entropy" if key == "val_loss" else "cross-entropy")
    fig.suptitle(title)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.86, wspace=0.12, hspace=0.35)
    return fig, {name: sp.median for name, sp in spreads.items()}


# --------------------------------------------------------------------------- curve figure

class CurveFigure:
    """Training (left) and validation (right) loss per epoch, one median line per optimizer.

    :meth:`show` takes name -> runs over seeds and a highlighted name, drawn bold with its
    quartile band; the others thin.
    """

    def __init__(self, figure, names=opt.OPTIMIZER_NAMES, *, title=None,
                 ylims=((1e-3, 5.0), (0.05, 5.0))):
        self.figure = figure
        self.names = tuple(names)
        self.axes = dict(zip(("loss", "val_loss"), figure.subplots(1, 2)))
        self.lines = {key: {} for key in self.axes}
        self.bands = {key: None for key in self.axes}
        for (key, ax), ylim in zip(self.axes.items(), ylims):
            for name in self.names:
                (self.lines[key][name],) = ax.plot([], [], color=OPTIMIZER_COLORS[name],
                                                   label=name)
            ax.set_yscale("log")
            ax.set_ylim(*ylim)
            ax.set_xlim(1, DIGITS_SETUP["epochs"])
            ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        label(self.axes["loss"], "epoch", "loss (cross-entropy)", "training loss")
        label(self.axes["val_loss"], "epoch", "loss (cross-entropy)", "validation loss")
        self.note = self.axes["loss"].text(0.03, 0.04, "", transform=self.axes["loss"].transAxes,
                                           fontsize=9, color=PALETTE["vermillion"])
        if title:
            figure.suptitle(title)
        figure.subplots_adjust(left=0.07, right=0.76, bottom=0.14, top=0.86, wspace=0.25)

    def show(self, runs, highlight=None, labels=None):
        """Draw ``runs`` (name -> runs over seeds): medians, and the highlighted one's band.
        Returns a dict of the median curves drawn."""
        drawn = {}
        labels = labels or {}
        for key, ax in self.axes.items():
            if self.bands[key] is not None:
                self.bands[key].remove()
                self.bands[key] = None
            for name, line in self.lines[key].items():
                bold = highlight is None or name == highlight
                if name not in runs:
                    line.set_data([], [])
                    continue
                sp = curves(runs[name], key)
                finite = np.isfinite(sp.median)
                epochs = np.arange(1, len(sp.median) + 1)
                line.set_data(epochs[finite], sp.median[finite])
                line.set_linewidth(2.6 if bold else 1.1)
                line.set_alpha(1.0 if bold else 0.45)
                line.set_zorder(4 if bold else 2)
                line.set_label(labels.get(name, name))
                drawn[f"{name} {key}"] = sp.median[finite]
                if name == highlight:
                    self.bands[key] = ax.fill_between(epochs[finite], sp.low[finite],
                                                      sp.high[finite], color=OPTIMIZER_COLORS[name],
                                                      alpha=0.25, linewidth=0, zorder=3)
        if self.axes["val_loss"].get_legend() is not None:
            self.axes["val_loss"].get_legend().remove()
        self.axes["val_loss"].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
                                     frameon=False)
        return drawn


def plot_band_curves(runs, *, key="loss", ax, title, ylabel="training loss (cross-entropy)"):
    """On ``ax``, each entry of ``runs`` (label -> runs over seeds; labels start with an
    optimizer's name) as its median ``key`` curve with the quartile band. Returns the medians."""
    drawn = {}
    for text, group in runs.items():
        sp = curves(group, key)
        epochs = np.arange(1, len(sp.median) + 1)
        plot_band(ax, epochs, sp, color=OPTIMIZER_COLORS[text.split()[0]], label=text)
        drawn[text] = sp.median
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    label(ax, "epoch", ylabel, title)
    ax.legend(loc="upper right")
    return drawn
