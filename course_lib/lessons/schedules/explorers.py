"""Explorers of the notebook on learning-rate schedules and callbacks.

:func:`schedule_explorer` draws formulas only (< 100 ms a redraw); :func:`training_explorer`
retrains a small digits network on five seeds (< 1 s a redraw, each run cached).
"""
from __future__ import annotations

import functools
import math

import ipywidgets as widgets
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, NullLocator

from ..digits import digits
from ..explorer import BlitExplorer, Explorer, register
from ..figures import PALETTE, ROLE_COLORS
from ..seeds import seeds_from, spread
from .figures import SCHEDULE_COLORS, rate_axes
from .runs import (BUDGET_SCHEDULES, SCHEDULE_NAMES, budget_callbacks, budget_schedule,
                   plotted_steps, rates_of, schedule_in_epochs, steps_per_epoch, train_digits)

NOTEBOOK = "04_schedules_and_callbacks"


class ScheduleExplorer(BlitExplorer):
    """Choose a schedule and its parameters; see its rate over the steps and epochs of the
    training, overlaid (thin) with the other schedules made from the same parameters."""

    MAX_BACKGROUNDS = 64

    def __init__(self, schedule="exponential", learning_rate=0.05, epochs=30, batch_size=32,
                 n_examples=None, decay_epochs=10, factor=0.1, power=1.0, anneal_fraction=0.1,
                 warmup_epochs=3):
        style = {"description_width": "initial"}
        controls = {
            "schedule": widgets.Dropdown(options=SCHEDULE_NAMES, value=schedule,
                                         description="schedule", style=style),
            "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-4, max=0,
                                                    step=0.1, readout_format=".2g",
                                                    description="initial / max rate", style=style),
            "epochs": widgets.IntSlider(value=epochs, min=2, max=60, description="training epochs",
                                        style=style),
            "batch_size": widgets.Dropdown(options=[16, 32, 64, 128, 256], value=batch_size,
                                           description="batch size", style=style),
            "decay_epochs": widgets.IntSlider(value=decay_epochs, min=1, max=30,
                                              description="s / drop every (epochs)", style=style),
            "factor": widgets.FloatSlider(value=factor, min=0.05, max=0.95, step=0.05,
                                          description="decay factor", style=style),
            "power": widgets.FloatSlider(value=power, min=0.0, max=3.0, step=0.25,
                                         description="power c", style=style),
            "anneal_fraction": widgets.FloatSlider(value=anneal_fraction, min=0.05, max=0.5,
                                                   step=0.05, description="1cycle anneal share",
                                                   style=style),
            "warmup_epochs": widgets.IntSlider(value=warmup_epochs, min=0, max=10,
                                               description="warm-up (epochs)", style=style),
        }
        super().__init__(controls, figsize=(8.5, 3.8), title="Schedule explorer")
        # The training set of the notebook's runs, unless told otherwise.
        self.n_examples = len(digits().x_train) if n_examples is None else n_examples
        ax = self.figure.add_subplot(111)
        self.ax = ax
        self._spe = 1.0
        self.lines = {}
        for name in SCHEDULE_NAMES:
            (self.lines[name],) = ax.plot([], [], color=SCHEDULE_COLORS[name], label=name)
        self.animate(*self.lines.values())
        self.top_axis = rate_axes(ax, 1, lambda: self._spe)
        (self.headline,) = self.animate(self.figure.text(0.5, 0.99, "", ha="center", va="top",
                                                         fontsize=10))
        # to the right of the axes, where it covers no curve
        ax.legend(handles=list(self.lines.values()), loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=8)
        self.figure.subplots_adjust(left=0.1, right=0.77, top=0.78, bottom=0.14)
        # Only the curves and the headline change at every redraw. The frame, the y axis and
        # the legend are rendered once per y range (decades); the x axes (steps and epochs)
        # once per training length over them (:meth:`draw_background`); both are kept as
        # pixels and painted over.
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        self.top_axis.xaxis.set_major_locator(MaxNLocator(7, integer=True))
        ax.xaxis.set_animated(True)
        self.top_axis.set_animated(True)
        self._frames = {}

    _USES = {
        "constant": "uses: rate",
        "power": "uses: rate, s, power c  --  lr0 / (1 + t/s)^c",
        "exponential": "uses: rate, s, decay factor  --  lr0 * factor^(t/s)",
        "piecewise constant": "uses: rate, boundaries at s and 3s, decay factor between values",
        "step decay": "uses: rate, drop every, decay factor  --  lr0 * factor^floor(t/s)",
        "1cycle": "uses: max rate, training length, anneal share",
        "cosine warm-up": "uses: rate (the peak), warm-up, training length  --  linear from "
                          "rate/10, then rate * (0.001 + 0.999 * 0.5 * (1 + cos(pi t/T)))",
        "cosine restarts": "uses: rate, s (first period; then 2s, 4s, ...)  --  a cosine from "
                           "rate down, restarted at the end of each period",
        "polynomial": "uses: rate, power c, decay factor (end rate = factor * rate), training "
                      "length  --  (rate - end) (1 - t/T)^c + end",
    }

    def draw(self, schedule, learning_rate, epochs, batch_size, decay_epochs, factor, power,
             anneal_fraction, warmup_epochs):
        spe = steps_per_epoch(self.n_examples, batch_size)
        self._spe = float(spe)
        total = epochs * spe
        steps = plotted_steps(total)
        low, high = np.inf, 0.0
        for name in SCHEDULE_NAMES:
            sched = schedule_in_epochs(name, learning_rate, epochs, spe,
                                       decay_epochs=decay_epochs, factor=factor, power=power,
                                       anneal_fraction=anneal_fraction,
                                       warmup_epochs=warmup_epochs)
            rates = rates_of(sched, steps)
            line = self.lines[name]
            line.set_data(steps, rates)
            chosen = name == schedule
            line.set_linewidth(2.6 if chosen else 1.0)
            line.set_alpha(1.0 if chosen else 0.4)
            line.set_zorder(3 if chosen else 2)
            self.record(name, rates)
            low, high = min(low, rates.min()), max(high, rates.max())
        # Five decades below the first decade above the largest rate (few layouts to cache);
        # a rate that decays further leaves the plot at the bottom edge (the status line says so).
        top = 10.0 ** math.ceil(math.log10(high) + 0.05)
        y_range = (top * 1e-5, top)
        self.layout = (total, spe, y_range)
        self.ax.set_xlim(0, total)
        self.ax.set_ylim(*y_range)
        chosen_rates = self.lines[schedule].get_ydata()
        self.headline.set_text(f"{schedule}: {chosen_rates[0]:.2g} at step 0, "
                               f"{chosen_rates[-1]:.2g} at step {total - 1} "
                               f"({epochs} epochs x {spe} steps)")
        below = [name for name in SCHEDULE_NAMES if self.lines[name].get_ydata().min() < y_range[0]]
        self.set_status(self._USES[schedule] + (f"  |  below the plotted range (< {y_range[0]:.0e}) "
                                                f"at the end: {', '.join(below)}" if below else ""))

    def draw_background(self):
        """The frame of the layout's y range with the x axes of its training length drawn
        over it: a new length costs two axes, not a full draw."""
        y_range = self.layout[2]                      # (total steps, steps per epoch, y range)
        if y_range not in self._frames:
            self._render_frames()
        self.canvas.restore_region(self._frames[y_range])
        self.ax.draw_artist(self.ax.xaxis)            # steps and epochs follow the length
        self.figure.draw_artist(self.top_axis)

    def _render_frames(self):
        """Render the frame (y axis, legend) once for every y range the controls allow.

        The largest rate drawn is the initial/max rate, so the top of the y range is one of
        a few decades; rendering them together keeps later redraws free of full draws.
        """
        current = self.ax.get_ylim()
        slider = self.controls["learning_rate"]
        for exponent in range(math.ceil(slider.min + 0.05), math.ceil(slider.max + 0.05) + 1):
            top = 10.0 ** exponent
            self.ax.set_ylim(top * 1e-5, top)
            self.canvas.draw()
            self._frames[(top * 1e-5, top)] = self.canvas.copy_from_bbox(self.figure.bbox)
        self.ax.set_ylim(*current)


@register(NOTEBOOK, ScheduleExplorer)
def schedule_explorer(**kwargs):
    """Explorer: a schedule and its parameters, rate over steps and epochs, with the others."""
    return ScheduleExplorer(**kwargs)


class TrainingExplorer(Explorer):
    """Retrain a small digits network with a chosen schedule; compare with a constant rate.

    600 training examples, batch 64 (10 steps per epoch), SGD with momentum 0.9, on each of
    the five seeds of ``seed`` (``seeds_from(seed)``): the curves are medians over the seeds,
    the bands their quartiles. Each run is cached by its control values and seed, so
    revisiting a setting is instant.
    """

    N_TRAIN = 600
    BATCH = 64

    retraining = True

    def __init__(self, schedule="1cycle", learning_rate=0.1, epochs=12, seed=0):
        self.seeds = seeds_from(seed)
        style = {"description_width": "initial"}
        controls = {
            "schedule": widgets.Dropdown(options=BUDGET_SCHEDULES[1:], value=schedule,
                                         description="schedule", style=style),
            "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-3, max=0.5,
                                                    step=0.125, readout_format=".3g",
                                                    description="initial / max rate", style=style),
            "epochs": widgets.IntSlider(value=epochs, min=4, max=20, step=2,
                                        description="epochs (budget)", style=style),
        }
        super().__init__(controls, figsize=(9.0, 4.3), title="Training explorer")
        self.spe = steps_per_epoch(self.N_TRAIN, self.BATCH)
        fig = self.figure
        self.loss_ax, self.acc_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
        self.lr_ax = self.loss_ax.twinx()
        self.lr_ax.grid(False)
        self.lr_ax.set_yscale("log")
        self.loss_ax.set_yscale("log")
        self.lines = {}
        self.bands = {}
        for role, color, dots in (("baseline", ROLE_COLORS["baseline"], True),
                                  ("schedule", SCHEDULE_COLORS["1cycle"], False)):
            self.lines[role, "loss"], = self.loss_ax.plot([], [], color=color, lw=1.2, alpha=0.8,
                                                          ls=":" if dots else "-")
            self.lines[role, "val_loss"], = self.loss_ax.plot([], [], color=color, lw=2.2,
                                                              dashes=(1, 1.5) if dots else (5, 2))
            self.lines[role, "val_accuracy"], = self.acc_ax.plot([], [], color=color, lw=2.0,
                                                                 ls=":" if dots else "-")
            self.lines[role, "rate"], = self.lr_ax.plot([], [], color=color, lw=1.0, alpha=0.7,
                                                        ls=(0, (1, 2)) if dots else "-.")
        self.loss_ax.set_xlabel("epoch")
        self.loss_ax.set_ylabel("loss (cross-entropy, log scale)")
        self.lr_ax.set_ylabel("learning rate (dash-dot)")
        self.acc_ax.set_xlabel("epoch")
        self.acc_ax.set_ylabel("validation accuracy")
        self.acc_ax.set_title(f"validation accuracy, {len(self.seeds)} seeds", fontsize=10)
        ink = PALETTE["black"]
        # Above the panels: inside them it would cover the curves of a failing run.
        self.legend = fig.legend(
            [Line2D([], [], color=ROLE_COLORS["baseline"], ls=":", lw=2),
             Line2D([], [], color=SCHEDULE_COLORS["1cycle"], lw=2),
             Line2D([], [], color=ink, lw=1.2), Line2D([], [], color=ink, lw=2.2, dashes=(5, 2)),
             Line2D([], [], color=ink, lw=1.0, ls="-.")],
            ["constant rate", "schedule", "training loss (median)",
             "validation loss (median; band: quartiles)", "learning rate (right axis)"],
            loc="upper center", ncol=3, fontsize=8, frameon=False)
        self.warning = self.loss_ax.text(0.02, 0.03, "", transform=self.loss_ax.transAxes,
                                         color=PALETTE["vermillion"], fontsize=9)
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.78, wspace=0.42)
        # Minor ticks of log axes cost most of a redraw; major decades are enough here.
        for axis in (self.loss_ax.yaxis, self.lr_ax.yaxis):
            axis.set_minor_locator(NullLocator())
        for axis in (self.loss_ax.xaxis, self.acc_ax.xaxis):
            axis.set_major_locator(MaxNLocator(6, integer=True))

    @staticmethod
    @functools.lru_cache(maxsize=1024)
    def run(schedule, learning_rate, epochs, seed=0):
        """One training (cached): returns (history, rates per step)."""
        spe = steps_per_epoch(TrainingExplorer.N_TRAIN, TrainingExplorer.BATCH)
        lr = budget_schedule(schedule, learning_rate, epochs, spe)
        _, history, log = train_digits(lr, epochs, batch_size=TrainingExplorer.BATCH,
                                       callbacks=budget_callbacks(schedule, epochs),
                                       n_train=TrainingExplorer.N_TRAIN, seed=seed)
        return history, np.array(log.rates)

    def _over_seeds(self, schedule, learning_rate, epochs):
        """The runs of every seed: per key, a Spread of curves (seeds, epochs), NaN after a
        divergence; the rates of the first seed; the epochs (1-based) runs diverged in."""
        curves = {key: np.full((len(self.seeds), epochs), np.nan)
                  for key in ("loss", "val_loss", "val_accuracy")}
        diverged = []
        for i, seed in enumerate(self.seeds):
            history, rates = self.run(schedule, learning_rate, epochs, seed)
            for key, values in curves.items():
                logged = history.history.get(key, [])
                values[i, :len(logged)] = logged
            if history.diverged_at is not None:
                diverged.append(history.diverged_at[0] + 1)
            if i == 0:
                first_rates = rates
        return {key: spread(values) for key, values in curves.items()}, first_rates, diverged

    def _band(self, ax, role, key, x, curve, color):
        old = self.bands.pop((role, key), None)
        if old is not None:
            old.remove()
        self.bands[role, key] = ax.fill_between(x, curve.low, curve.high, color=color,
                                                alpha=0.18, lw=0)

    def draw(self, schedule, learning_rate, epochs):
        learning_rate = float(f"{learning_rate:.6g}")   # one cache entry per slider position
        color = SCHEDULE_COLORS[schedule]
        n = len(self.seeds)
        summary, problems = [], []
        losses, accuracies, rates_all = [], [], []
        for role, name in (("baseline", "constant"), ("schedule", schedule)):
            curves, rates, diverged = self._over_seeds(name, learning_rate, epochs)
            role_color = color if role == "schedule" else ROLE_COLORS["baseline"]
            x = np.arange(1, epochs + 1)
            for key in ("loss", "val_loss", "val_accuracy"):
                median = curves[key].median
                self.lines[role, key].set_data(x, median)
                self.record(f"{role} {key}", median[np.isfinite(median)])
            self._band(self.loss_ax, role, "val_loss", x, curves["val_loss"], role_color)
            self._band(self.acc_ax, role, "val_accuracy", x, curves["val_accuracy"], role_color)
            self.lines[role, "rate"].set_data(np.arange(len(rates)) / self.spe, rates)
            self.record(f"{role} rate", rates)
            if role == "schedule":
                for key in ("loss", "val_loss", "val_accuracy", "rate"):
                    self.lines[role, key].set_color(color)
            for key in ("loss", "val_loss"):
                losses += [v for v in curves[key].median if np.isfinite(v)]
            accuracies += [v for v in curves["val_accuracy"].median if np.isfinite(v)]
            rates_all += list(rates)
            label = "constant rate" if role == "baseline" else name
            final_accuracy = curves["val_accuracy"].values[:, -1]
            if np.isfinite(final_accuracy).any():
                summary.append(f"{label}: val acc {np.nanmedian(final_accuracy):.3f} "
                               f"(median of {np.isfinite(final_accuracy).sum()} seeds)")
            growth = curves["loss"].values[:, -1] / curves["loss"].values[:, 0]
            if diverged:
                problems.append(f"{label} diverged (loss NaN/inf) on {len(diverged)} of {n} "
                                f"seeds, from epoch {min(diverged)}; its curves end there")
            elif epochs > 1 and np.median(growth) > 1:
                problems.append(f"{label} is unstable: its loss ended above the first epoch's "
                                "(rate too high)")
        self.legend.get_texts()[1].set_text(schedule)
        for handle in (self.legend.legend_handles[1],):
            handle.set_color(color)
        for ax in (self.loss_ax, self.acc_ax):
            ax.set_xlim(0, epochs + 0.5)
        if losses:
            low, high = max(min(losses), 1e-4), max(max(losses), 1e-3)
            self.loss_ax.set_ylim(low / 1.5, high * 1.5)
        if accuracies:
            self.acc_ax.set_ylim(max(0.0, min(min(accuracies), 0.85) - 0.03), 1.005)
        if rates_all:
            self.lr_ax.set_ylim(min(rates_all) / 2.0, max(rates_all) * 3.0)
        self.loss_ax.set_title(f"{schedule} vs constant rate {learning_rate:.3g} "
                               f"({epochs} epochs x {self.spe} steps)")
        text = "; ".join(problems)
        self.warning.set_text(text)
        self.set_status(" | ".join(summary + ([text] if text else [])))


@register(NOTEBOOK, TrainingExplorer)
def training_explorer(**kwargs):
    """Explorer: digits network trained with the chosen schedule vs a constant-rate baseline."""
    return TrainingExplorer(**kwargs)
