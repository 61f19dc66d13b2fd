"""Explorers of the notebook on batch normalization.

:func:`input_scaling_explorer`, :func:`distribution_explorer` and
:func:`running_average_explorer` draw formulas or cached runs (< 100 ms) and redraw only what
changes over a cached background (:class:`BlitExplorer`); :func:`training_explorer`
retrains (< 1 s, cached). The experiments are in :mod:`.runs` and :mod:`.inference`, the
drawing helpers in :mod:`.figures`.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.lines import Line2D

from ..explorer import BlitExplorer, Explorer, register
from ..figures import PALETTE
from .figures import (SETTING_COLORS, LandscapePanel, RidgePlot, RunningStatisticsPanels,
                      setting_name)
from .runs import (INIT_SCALES, deep_network, describe_spread, input_scaling_problem,
                   layer_activations, probe_batch, train_digits, trained_rates)
from .inference import MOMENTA, TEST_BATCH_SIZES, record_running_statistics

NOTEBOOK = "07_batch_normalization"

#: Activations offered by the distribution explorer, with the range their histograms span.
HISTOGRAM_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "relu": (0.0, 4.0)}



class InputScalingExplorer(BlitExplorer):
    """Raw vs standardised inputs: contours and gradient descent, same rate rule for both."""

    def __init__(self, scale=10.0, rate_factor=1.0, seed=0):
        self.seed = seed                # of the data of both problems
        controls = {
            "scale": widgets.FloatLogSlider(value=scale, base=10, min=0, max=2, step=0.05,
                                            readout_format=".3g",
                                            description="feature 2 is this much larger"),
            "rate_factor": widgets.FloatSlider(value=rate_factor, min=0.1, max=2.2, step=0.05,
                                               description="learning rate x lambda_max"),
        }
        super().__init__(controls, figsize=(9.4, 4.2), title="Input scaling explorer")
        ax_raw, ax_std = self.figure.subplots(1, 2)
        self.panels = [LandscapePanel(ax_raw, "raw inputs"),
                       LandscapePanel(ax_std, "standardised inputs")]
        for panel in self.panels:
            self.animate(*panel.artists)
        self.figure.subplots_adjust(left=0.07, right=0.93, bottom=0.12, top=0.9, wspace=0.45)

    def draw(self, scale, rate_factor):
        notes = []
        for panel, standardize in zip(self.panels, (False, True)):
            problem = input_scaling_problem(scale, standardize=standardize, seed=self.seed)
            info = panel.update(problem, rate_factor)
            key = "standardised" if standardize else "raw"
            self.record(f"{key} path", info["path"])
            self.record(f"{key} excess loss", info["excess"])
            if info["diverged"]:
                outcome = "diverges"
            elif info["steps"] is None:
                outcome = "no convergence"
            else:
                outcome = f"{info['steps']} steps"
            notes.append(f"{key}: condition number {info['condition_number']:.3g}, {outcome}")
        self.set_status(" | ".join(notes))


@register(NOTEBOOK, InputScalingExplorer)
def input_scaling_explorer(**kwargs):
    """Explorer: how the scale of one input stretches the loss contours and slows descent."""
    return InputScalingExplorer(**kwargs)



class DistributionExplorer(BlitExplorer):
    """Histograms of every layer's activations in a deep network at initialisation.

    The same fixed batch of 256 digits goes through ``depth`` blocks (64 units each) with
    weights of standard deviation ``init_scale / sqrt(fan_in)``; with batch norm each
    pre-activation is normalised over the batch first. Right: the standard deviation of
    each layer's activations with and without batch norm (log scale).
    """

    MAX_DEPTH = 12
    STD_LIMITS = (1e-8, 1e8)

    def __init__(self, depth=8, activation="tanh", init_scale=1.0, batch_norm=False, seed=0):
        self.seed = seed                # of the initial weights
        controls = {
            "depth": widgets.IntSlider(value=depth, min=1, max=self.MAX_DEPTH,
                                       description="depth (hidden layers)"),
            "activation": widgets.ToggleButtons(options=tuple(HISTOGRAM_RANGES),
                                                value=activation,
                                                description="activation"),
            "init_scale": widgets.FloatLogSlider(value=init_scale, base=10, min=-1, max=1,
                                                 step=0.05, readout_format=".3g",
                                                 description="weight std x sqrt(fan_in)"),
            "batch_norm": widgets.Checkbox(value=batch_norm, description="batch norm",
                                           indent=False),
        }
        super().__init__(controls, figsize=(8.6, 4.4), title="Distribution explorer")
        self.ax_hist, self.ax_std = self.figure.subplots(
            1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
        self.ridge = RidgePlot(self.ax_hist, self.MAX_DEPTH, HISTOGRAM_RANGES["tanh"])
        self.animate(*self.ridge.artists)
        self.std_lines = {}
        for batch_norm_on in (False, True):
            name = setting_name(batch_norm_on)
            (line,) = self.ax_std.plot([], [], "-o", ms=3, color=SETTING_COLORS[name], label=name)
            self.std_lines[batch_norm_on] = line
        self.animate(*self.std_lines.values())
        self.ax_std.set_yscale("log")
        self.ax_std.set_ylim(*self.STD_LIMITS)
        self.ax_std.set_xlabel("layer")
        self.ax_std.set_ylabel("std of the activations (log scale)")
        self.ax_std.legend(loc="upper left", fontsize=8)
        self.ax_std.set_title("spread per layer", fontsize=10)
        self.ax_std.set_xlim(0.5, self.MAX_DEPTH + 0.5)
        self.hist_title = self.ax_hist.text(0.5, 1.02, "", transform=self.ax_hist.transAxes,
                                            ha="center", va="bottom", fontsize=10)
        self.animate(self.hist_title)
        self.figure.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.9, wspace=0.3)
        self._x = probe_batch().astype(np.float64)
        self._cache = {}

    def activations_for(self, depth, activation, init_scale, batch_norm):
        """Each layer's activations (list of (256, 64) float64 arrays), cached per setting."""
        key = (depth, activation, round(float(init_scale), 6), bool(batch_norm))
        if key not in self._cache:
            if len(self._cache) >= 256:
                self._cache.pop(next(iter(self._cache)))
            model = deep_network(depth, activation, batch_norm, init_scale, seed=self.seed,
                                 dtype="float64")
            # Small weights or deep exploding stacks may underflow or overflow on the way.
            with np.errstate(over="ignore", under="ignore"):
                self._cache[key] = layer_activations(model, self._x)[1]
        return self._cache[key]

    def draw(self, depth, activation, init_scale, batch_norm):
        outs = self.activations_for(depth, activation, init_scale, batch_norm)
        self.ridge.set_range(HISTOGRAM_RANGES[activation])
        for i, heights in enumerate(self.ridge.update(outs)):
            self.record(f"histogram layer {i + 1}", heights)
        layers = np.arange(1, depth + 1)
        for batch_norm_on, line in self.std_lines.items():
            outs_setting = self.activations_for(depth, activation, init_scale, batch_norm_on)
            stds = np.clip([o.std() for o in outs_setting], *self.STD_LIMITS)
            line.set_data(layers, stds)
            line.set_linewidth(2.4 if batch_norm_on == batch_norm else 1.0)
            line.set_alpha(1.0 if batch_norm_on == batch_norm else 0.45)
            self.record(f"std {setting_name(batch_norm_on)}", stds)
        self.ax_hist.set_xlabel(f"activation value ({activation})")
        self.hist_title.set_text(f"{activation} activations per layer, {setting_name(batch_norm)}")
        self.layout = activation            # the x range; everything else is redrawn on top
        self.set_status(describe_spread(outs[-1], activation))



@register(NOTEBOOK, DistributionExplorer)
def distribution_explorer(**kwargs):
    """Explorer: each layer's activation histogram for a depth, activation, scale, batch norm."""
    return DistributionExplorer(**kwargs)



class RunningAverageExplorer(BlitExplorer):
    """Momentum of the running statistics, length of training, size of the test batches.

    Everything comes from one recorded training run (:func:`record_running_statistics`);
    the accuracies of every momentum and batch size are computed once when the explorer
    is built, so a redraw only moves lines.
    """

    def __init__(self, momentum=0.99, steps=None, batch_size=10, seed=0):
        self.run = record_running_statistics(seed=seed, standardize=False)
        every = int(self.run.snapshot_steps[0])
        steps = self.run.steps if steps is None else steps
        controls = {
            "momentum": widgets.SelectionSlider(options=MOMENTA, value=momentum,
                                                description="momentum of the running averages"),
            "steps": widgets.IntSlider(value=steps, min=every, max=self.run.steps, step=every, description="training steps"),
            "batch_size": widgets.Dropdown(options=TEST_BATCH_SIZES, value=batch_size, description="test batch size"),
        }
        super().__init__(controls, figsize=(9.0, 4.6), title="Running-average explorer")
        grid = self.figure.add_gridspec(2, 2, width_ratios=[1.15, 1], hspace=0.12, wspace=0.3)
        ax_unit = self.figure.add_subplot(grid[0, 0])
        ax_error = self.figure.add_subplot(grid[1, 0], sharex=ax_unit)
        ax_acc = self.figure.add_subplot(grid[:, 1])
        self.panels = RunningStatisticsPanels(ax_unit, ax_error, ax_acc, self.run)
        self.animate(*self.panels.artists)
        self.figure.subplots_adjust(left=0.09, right=0.98, bottom=0.11, top=0.93)
        for m in MOMENTA:               # precompute: a redraw must only move lines
            self.run.accuracy_running(m)
            self.run.running_error(m)
        for b in TEST_BATCH_SIZES:
            self.run.accuracy_batch(b)
        self.run.accuracy_population()
        self.layout = "fixed"

    def draw(self, momentum, steps, batch_size):
        drawn = self.panels.update(momentum, steps, batch_size)
        at = drawn.pop("at")
        for name, values in drawn.items():
            self.record(name, values)
        self.set_status(f"after {steps} steps: test accuracy {at['running']:.3f} with running "
                        f"averages (momentum {momentum:g}), {at['true']:.3f} with the true "
                        f"statistics, {at['batch']:.3f} with test batches of {batch_size}")


@register(NOTEBOOK, RunningAverageExplorer)
def running_average_explorer(**kwargs):
    """Explorer: how the momentum and the training length shape the statistics used at test time."""
    return RunningAverageExplorer(**kwargs)



class TrainingExplorer(Explorer):
    """Retrain the 4-layer digits network with a learning rate, batch norm on or off and a
    weight scale; the same network with the other batch-norm setting is drawn faintly.

    Right: the best validation accuracy of the 10 epochs against the learning rate for both
    settings, for every rate computed so far at this weight scale and seed (runs are cached).
    """

    retraining = True

    def __init__(self, learning_rate=1.0, batch_norm=True, init_scale=1.41, seed=0):
        self.seed = seed                # of the weights and batches of every run
        controls = {
            "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-2,
                                                    max=1, step=0.25, readout_format=".3g", description="learning rate"),
            "batch_norm": widgets.ToggleButtons(options=(("off", False), ("on", True)),
                                                value=batch_norm,
                                                description="batch norm"),
            "init_scale": widgets.SelectionSlider(options=INIT_SCALES, value=init_scale,
                                                  description="weight std x sqrt(fan_in)"),
        }
        super().__init__(controls, figsize=(9.0, 3.9),
                         title="Training explorer")
        self.ax_loss, self.ax_sweep = self.figure.subplots(
            1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
        self.lines = {}
        for batch_norm_on in (False, True):
            color = SETTING_COLORS[setting_name(batch_norm_on)]
            (train,) = self.ax_loss.plot([], [], color=color)
            (val,) = self.ax_loss.plot([], [], "--", color=color)
            (acc,) = self.ax_sweep.plot([], [], "-o", ms=4, color=color,
                                        label=setting_name(batch_norm_on))
            (crosses,) = self.ax_sweep.plot([], [], "x", ms=9, mew=2, color=color)
            self.lines[batch_norm_on] = (train, val, acc, crosses)
        (self.current,) = self.ax_sweep.plot([], [], "o", ms=11, mfc="none", mew=1.8,
                                             color=PALETTE["black"])
        self.ax_loss.set_yscale("log")
        self.ax_loss.set_xlim(0.5, 10.5)
        self.ax_loss.set_ylim(1e-3, 30.0)
        self.ax_loss.set_xlabel("epoch")
        self.ax_loss.set_ylabel("loss (cross-entropy, log scale)")
        self.ax_sweep.axhline(0.1, color=PALETTE["grey"], lw=0.8, ls=":")
        self.ax_sweep.set_xscale("log")
        self.ax_sweep.set_xlim(0.007, 14.0)
        self.ax_sweep.set_ylim(0.0, 1.18)
        self.ax_sweep.set_yticks(np.linspace(0.0, 1.0, 6))
        self.ax_sweep.set_xlabel("learning rate (log scale)")
        self.ax_sweep.set_ylabel("best validation accuracy (10 epochs)")
        self.ax_sweep.legend(loc="upper center", fontsize=8, ncol=2)
        self.note = self.ax_loss.text(0.03, 0.04, "", transform=self.ax_loss.transAxes,
                                      color=PALETTE["vermillion"], fontsize=9)
        self.ax_loss.legend([Line2D([], [], color=PALETTE["black"]),
                             Line2D([], [], color=PALETTE["black"], ls="--")],
                            ["training loss", "validation loss"], loc="upper right", fontsize=8)
        self.figure.subplots_adjust(left=0.08, right=0.98, bottom=0.13, top=0.9, wspace=0.3)

    def draw(self, learning_rate, batch_norm, init_scale):
        # One cache entry per slider position, equal to the sweep's rates.
        learning_rate = float(f"{10 ** (round(np.log10(learning_rate) * 4) / 4):.4g}")
        notes = []
        for batch_norm_on, (train, val, acc, crosses) in self.lines.items():
            run = train_digits(learning_rate, batch_norm_on, init_scale, seed=self.seed)
            epochs = np.arange(1, len(run.loss) + 1)
            train.set_data(epochs, np.clip(run.loss, 1e-3, 30.0))
            val.set_data(np.arange(1, len(run.val_loss) + 1), np.clip(run.val_loss, 1e-3, 30.0))
            chosen = batch_norm_on == batch_norm
            for line in (train, val):
                line.set_linewidth(2.2 if chosen else 1.0)
                line.set_alpha(1.0 if chosen else 0.35)
            self.record(f"{setting_name(batch_norm_on)} loss", run.loss)
            self.record(f"{setting_name(batch_norm_on)} val_loss", run.val_loss)
            rates = trained_rates(batch_norm_on, init_scale, self.seed)
            runs = [train_digits(r, batch_norm_on, init_scale, seed=self.seed) for r in rates]
            acc.set_data(rates, [r.best_accuracy for r in runs])
            bad = [(r.learning_rate, r.best_accuracy) for r in runs if r.diverged_at is not None]
            crosses.set_data([b[0] for b in bad], [b[1] for b in bad])
            self.record(f"{setting_name(batch_norm_on)} sweep", [r.best_accuracy for r in runs])
            if run.diverged_at is not None:
                notes.append(f"{setting_name(batch_norm_on)}: diverged in epoch {run.diverged_at}")
            if chosen:
                self.current.set_data([learning_rate], [run.best_accuracy])
                chosen_run = run
        self.ax_loss.set_title(f"learning rate {learning_rate:.3g}, weight scale {init_scale:g}: "
                               f"{setting_name(batch_norm)} (bold)", fontsize=10)
        self.note.set_text("\n".join(n + " (curve ends there)" for n in notes))
        outcome = (f"diverged in epoch {chosen_run.diverged_at}" if chosen_run.diverged_at
                   else f"best validation accuracy {chosen_run.best_accuracy:.3f}")
        self.set_status(f"{setting_name(batch_norm)}, learning rate {learning_rate:.3g}: {outcome}"
                        + ("; " + "; ".join(notes) if notes else ""))


@register(NOTEBOOK, TrainingExplorer)
def training_explorer(**kwargs):
    """Explorer: retrain with a learning rate, batch norm on/off and a weight scale."""
    return TrainingExplorer(**kwargs)

