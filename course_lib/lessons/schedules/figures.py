"""Figures of the notebook on learning-rate schedules and callbacks.

Each figure kind of the notebook is drawn by one helper:

* :func:`plot_rates` (and :func:`rate_figure`) -- learning rate against the optimizer step,
  with the epoch on a secondary axis, over exactly the training the schedule is used in;
* :func:`plot_callback_timeline` -- one training run with the events the callbacks reacted to;
* :func:`plot_range_test` -- the learning-rate range test, loss against rate on a log axis;
* :func:`plot_comparison` -- schedules over several seeds: validation-loss curves with their
  quartile bands, and each seed's final value.
"""
from __future__ import annotations

import numpy as np

from ..figures import PALETTE, ROLE_COLORS, plot_band
from .runs import rates_of

#: One colour per schedule, the same in every figure of the notebook, all ten distinct
#: (piecewise constant and step decay are drawn together, so they get far-apart hues).
SCHEDULE_COLORS = {
    "constant": ROLE_COLORS["baseline"],
    "power": PALETTE["orange"],
    "exponential": PALETTE["blue"],
    "piecewise constant": PALETTE["green"],
    "step decay": PALETTE["wine"],
    "performance": PALETTE["yellow"],
    "1cycle": PALETTE["vermillion"],
    "cosine warm-up": PALETTE["purple"],
    "cosine restarts": PALETTE["sky_blue"],
    "polynomial": PALETTE["olive"],
}

#: One colour per event of the callback timeline.
EVENT_COLORS = {
    "reduce": PALETTE["purple"],
    "stop": PALETTE["black"],
    "checkpoint": PALETTE["green"],
}


# ------------------------------------------------------------------------ rate figure

def rate_axes(ax, total_steps, steps_per_epoch, *, log=True, title=None):
    """Prepare ``ax`` for learning rate against the step: labels, limits, epoch axis on top.

    The x axis spans exactly ``total_steps`` (the training the schedule is used in); the
    secondary axis converts steps to epochs (step / steps_per_epoch). ``steps_per_epoch``
    is a number, or a function returning the current one (an explorer whose batch size
    changes). Returns the secondary axis.
    """
    spe = steps_per_epoch if callable(steps_per_epoch) else lambda: float(steps_per_epoch)
    ax.set_xlim(0, total_steps)
    ax.set_xlabel("optimizer step (mini-batch)")
    ax.set_ylabel("learning rate")
    if log:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    top = ax.secondary_xaxis("top", functions=(lambda s: s / spe(), lambda e: e * spe()))
    top.set_xlabel("epoch")
    return top


def plot_rates(ax, curves, total_steps, steps_per_epoch, *, highlight=None, log=True,
               title=None, checked_steps=None, used=None, colors=None):
    """Learning rate against the step for each schedule of ``curves`` (name -> schedule).

    ``curves`` values are schedules or constant rates; names of :data:`SCHEDULE_COLORS`
    (or of ``colors``) get their colour. ``highlight`` draws one curve bold and the others
    thin. ``checked_steps`` marks the steps that a notebook checks against the formula.
    ``used`` maps a name to the rates an optimizer really used at steps 0, 1, ... (e.g.
    ``StepLog.rates``), drawn as dots every few steps on top of the formula's curve.
    Returns a dict name -> (steps, rates) of what was drawn.
    """
    colors = {**SCHEDULE_COLORS, **(colors or {})}
    rate_axes(ax, total_steps, steps_per_epoch, log=log, title=title)
    steps = np.arange(int(total_steps))
    drawn = {}
    for i, (name, schedule) in enumerate(curves.items()):
        rates = rates_of(schedule, steps)
        bold = highlight is None or name == highlight
        color = colors.get(name, f"C{i}")
        ax.plot(steps, rates, color=color, lw=2.2 if bold else 1.0, alpha=1.0 if bold else 0.45,
                label=name, zorder=3 if bold else 2)
        if checked_steps is not None and bold:
            marks = np.asarray(checked_steps)
            ax.plot(marks, rates_of(schedule, marks), "o", color=color, ms=5, mfc="white",
                    zorder=4)
        drawn[name] = (steps, rates)
    for j, (name, rates) in enumerate((used or {}).items()):
        rates = np.asarray(rates, dtype=float)
        every = max(1, len(rates) // 60)
        at = np.arange(j * every // max(1, len(used)), len(rates), every)
        # one legend entry for all the dots: each is drawn in its schedule's colour
        label = "rate the optimizer used" + ("" if len(used) > 1 else f" ({name})")
        ax.plot(at, rates[at], ".", color=colors.get(name, "black"), mec="black", mew=0.4, ms=5,
                label=label if j == 0 else None, zorder=5)
        drawn[f"{name} used"] = (np.arange(len(rates)), rates)
    ax.legend(loc="best")
    return drawn


def rate_figure(curves, total_steps, steps_per_epoch, *, title, highlight=None, log=True,
                checked_steps=None, used=None, colors=None, figsize=(7.0, 3.4)):
    """A new pyplot figure with :func:`plot_rates`; returns (figure, drawn)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=figsize)
    drawn = plot_rates(ax, curves, total_steps, steps_per_epoch, highlight=highlight, log=log,
                       title=title, checked_steps=checked_steps, used=used, colors=colors)
    fig.tight_layout()
    return fig, drawn


# ------------------------------------------------------------------------ callback timeline

def plot_callback_timeline(axes, history, *, reductions=(), would_stop_at=None,
                           saved_epochs=(), kept_epoch=None, monitor="val_loss"):
    """One training run as a timeline of the events its callbacks reacted to.

    ``axes``: three axes sharing the epoch axis (losses, learning rate, events). Epochs are
    drawn 1-based, as the progress bar counts them; the callbacks' own records are 0-based
    (``reductions`` holds (epoch, old_lr, new_lr); ``would_stop_at``, ``saved_epochs`` and
    ``kept_epoch`` are epochs). Returns a dict of the arrays drawn.
    """
    loss_ax, lr_ax, event_ax = axes
    values = history.history
    epochs = np.arange(1, len(values[monitor]) + 1)
    drawn = {"loss": np.asarray(values["loss"]), monitor: np.asarray(values[monitor]),
             "learning_rate": np.asarray(values["learning_rate"])}
    loss_ax.plot(epochs, values["loss"], color=ROLE_COLORS["train"], label="training loss")
    loss_ax.plot(epochs, values[monitor], color=ROLE_COLORS["val"], label=f"{monitor} (monitored)")
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("loss (cross-entropy)")
    # the rate used during epoch e (1-based) spans e - 1 .. e: a drop decided at the end of
    # epoch e shows at x = e, on the event's line
    lr_ax.stairs(values["learning_rate"], np.arange(len(epochs) + 1), color=ROLE_COLORS["lr"],
                 lw=1.8, baseline=None)
    lr_ax.set_yscale("log")
    lr_ax.set_ylabel("learning rate")
    fired = [epoch for epoch, _, _ in reductions]
    for ax in axes:
        for epoch in fired:
            ax.axvline(epoch + 1, color=EVENT_COLORS["reduce"], ls="--", lw=1.0, alpha=0.8)
        if would_stop_at is not None:
            ax.axvline(would_stop_at + 1, color=EVENT_COLORS["stop"], lw=1.4)
            ax.axvspan(would_stop_at + 1, epochs[-1] + 0.5, color=PALETTE["grey"], alpha=0.12,
                       lw=0)
    if kept_epoch is not None:
        loss_ax.plot(kept_epoch + 1, values[monitor][kept_epoch], "*", ms=14,
                     color=EVENT_COLORS["checkpoint"], mec="black", label="checkpoint kept")
    loss_ax.legend(loc="upper right")
    rows = {"ModelCheckpoint saved": ([e + 1 for e in saved_epochs], EVENT_COLORS["checkpoint"],
                                      "o"),
            "ReduceLROnPlateau fired": ([e + 1 for e in fired], EVENT_COLORS["reduce"], "v"),
            "EarlyStopping: stop": ([] if would_stop_at is None else [would_stop_at + 1],
                                    EVENT_COLORS["stop"], "X")}
    for row, (name, (xs, color, marker)) in enumerate(rows.items()):
        event_ax.plot(xs, np.full(len(xs), row), marker, color=color, ms=8, ls="none")
    if kept_epoch is not None:
        event_ax.plot(kept_epoch + 1, 0, "*", ms=16, color=EVENT_COLORS["checkpoint"], mec="black")
    event_ax.set_yticks(range(len(rows)), list(rows))
    event_ax.set_ylim(-0.6, len(rows) - 0.4)
    event_ax.grid(axis="y", alpha=0.0)
    event_ax.set_xlabel("epoch (1-based, as the progress bar counts)")
    event_ax.set_xlim(0, epochs[-1] + 0.5)
    return drawn


# ------------------------------------------------------------------------ range-test figure

def plot_range_test(ax, result, *, chosen=None, title=None):
    """Loss against learning rate (log axis) of a :class:`RangeTest`; marks the minimum and,
    if given, the ``chosen`` rate. With several seeds, the band spans the quartiles of the
    seeds' own smoothed curves. Returns the arrays drawn."""
    per_seed = result.per_seed
    n_seeds = 1 if per_seed is None else len(per_seed)
    ax.plot(result.rates, result.losses, color=PALETTE["grey"], lw=1.0, marker=".", ms=4,
            label="batch loss" + (f" (median of {n_seeds} seeds)" if n_seeds > 1 else ""))
    if n_seeds > 1:
        low, high = np.percentile(per_seed, [25, 75], axis=0)
        ax.fill_between(result.rates, low, high, color=ROLE_COLORS["train"], alpha=0.2, lw=0,
                        label="smoothed, quartiles of the seeds")
    ax.plot(result.rates, result.smoothed, color=ROLE_COLORS["train"], lw=2.2,
            label="smoothed (moving average)")
    ax.set_xscale("log")
    ax.axvline(result.rate_at_minimum, color=PALETTE["vermillion"], ls="--", lw=1.2,
               label=f"lowest smoothed loss: {result.rate_at_minimum:.2g}")
    if chosen is not None:
        ax.axvline(chosen, color=PALETTE["green"], lw=2.0, label=f"chosen max rate: {chosen:.2g}")
    ax.set_xlabel("learning rate (log scale), growing at every step")
    ax.set_ylabel("loss (cross-entropy)")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    return {"rates": result.rates, "losses": result.losses, "smoothed": result.smoothed}


# ------------------------------------------------------------------------ comparison over seeds

def plot_comparison(curve_ax, final_ax, curves, *, banded, colors=None):
    """Schedules compared over seeds.

    ``curves`` maps a name to a :class:`course_lib.lessons.seeds.Spread` of validation-loss
    curves (seeds, epochs). Left (``curve_ax``): the median curve of every schedule, with
    its quartile band for the names in ``banded`` (all bands would hide each other).
    Right (``final_ax``): the last epoch's value of every seed (dots), the median (bar) and
    the quartiles (whisker), one column per schedule. Returns the final values drawn.
    """
    colors = {**SCHEDULE_COLORS, **(colors or {})}
    finals = {}
    for name, curve in curves.items():
        epochs = np.arange(1, curve.values.shape[1] + 1)
        color = colors[name]
        if name in banded:
            plot_band(curve_ax, epochs, curve, color=color, label=name)
        else:
            curve_ax.plot(epochs, curve.median, color=color, lw=1.1, alpha=0.8, label=name)
        finals[name] = curve.values[:, -1]
    curve_ax.set_yscale("log")
    curve_ax.set_xlabel("epoch")
    curve_ax.set_ylabel("validation loss (cross-entropy, log scale)")
    # below the axes: inside, any corner covers some schedule's curve
    curve_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8,
                    frameon=False)
    n_seeds = len(next(iter(finals.values())))
    for i, (name, values) in enumerate(finals.items()):
        # seeds spread sideways a little, in seed order, so that equal values stay visible
        offsets = np.linspace(-0.18, 0.18, len(values))
        final_ax.plot(i + offsets, values, "o", color=colors[name], ms=5, mec="black", mew=0.4,
                      alpha=0.85, zorder=3)
        low, median, high = np.nanpercentile(values, [25, 50, 75])
        final_ax.errorbar(i, median, yerr=[[median - low], [high - median]], fmt="_",
                          color="black", ms=22, mew=2.2, elinewidth=1.2, capsize=0, zorder=4)
    final_ax.set_xticks(range(len(finals)), list(finals), rotation=35, ha="right")
    final_ax.set_xlim(-0.6, len(finals) - 0.4)
    final_ax.set_ylabel("validation loss after the last epoch")
    final_ax.set_title(f"Each seed (dot), median (bar), quartiles; {n_seeds} seeds", fontsize=9)
    return finals
