"""Explorers of the notebook on dropout (the experiments are in :mod:`.runs`, the drawing
in :mod:`.figures`).

* :func:`dropout_explorer` retrains the moons network for a chosen dropout rate (< 1 s,
  cached per rate);
* :func:`mask_explorer` shows a dropout mask on a real layer (formula only, < 100 ms);
* :func:`mc_dropout_explorer` trains the 1-D regression network once per rate, then
  redraws the Monte Carlo band from cached passes.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..explorer import BlitExplorer, register
from .figures import (MASK_SCALE_LEVELS, DropoutCurves, MaskPanels, MCBand, mask_scale_level,
                      moons_regions)
from .runs import (MC_MAX_SAMPLES, MOONS_EPOCHS, apply_dropout, average_over_masks,
                   layer_activations, mc_grid_passes, moons_data, near_and_far, train_moons)

NOTEBOOK = "06_dropout"


#: Rates offered by the dropout explorer (each trained once, then cached).
DROPOUT_RATES = tuple(round(0.1 * k, 1) for k in range(9))
#: Dropout rates of the MC dropout explorer (one trained network each).
MC_RATES = (0.05, 0.1, 0.2, 0.3, 0.5)


def _nearest(value, options):
    return min(options, key=lambda o: abs(o - value))


# ------------------------------------------------------------------ the dropout rate

class DropoutExplorer(BlitExplorer):
    """Retrain the moons network with a chosen dropout rate; the run without dropout is
    drawn in grey. Panels: losses, gap, decision regions of the final model. The axes are
    fixed, so a redraw only draws the curves and the regions over a cached background.
    ``seed`` draws the data and the weights (the notebook passes its first seed, so the
    runs it already trained are reused)."""

    retraining = True

    def __init__(self, rate=0.5, seed=0):
        self.seed = seed
        controls = {
            "rate": widgets.SelectionSlider(options=[(f"{r:.1f}", r) for r in DROPOUT_RATES],
                                            value=_nearest(rate, DROPOUT_RATES),
                                            description="dropout rate",
                                            continuous_update=False),
        }
        super().__init__(controls, figsize=(12.0, 3.6),
                         title="Dropout on the overfitting network")
        axes = self.figure.subplots(1, 3, gridspec_kw={"width_ratios": [1.25, 1.0, 0.9]})
        self.curves = DropoutCurves(axes[0], axes[1], run_label="rate",
                                    limits=(MOONS_EPOCHS, 1.2, 0.5))
        self.regions = moons_regions(axes[2])
        axes[0].set_title("losses (grey: no dropout)")
        axes[1].set_title("generalization gap")
        axes[2].set_title("decision regions, chosen rate")
        self.note = axes[1].text(0.98, 0.04, "", transform=axes[1].transAxes, ha="right",
                                 fontsize=9)
        self.axes = axes
        self.figure.subplots_adjust(left=0.06, right=0.98, bottom=0.15, top=0.9, wspace=0.3)
        self.animate(*self.curves.artists(), *self.regions.moving_artists(), self.note)

    def draw(self, rate):
        baseline = train_moons(0.0, seed=self.seed)
        run = train_moons(rate, seed=self.seed)
        for name, values in self.curves.update(run, baseline if rate > 0 else None).items():
            self.record(name, values)
        x_train, y_train, _, _ = moons_data(self.seed)
        probs = run.probabilities(self.regions.grid)
        self.record("region_probabilities", probs)
        self.regions.update(probs, x_train, y_train, 2)
        final_gap, base_gap = run.gap[-1], baseline.gap[-1]
        self.note.set_text(f"rate {rate:.1f}: final gap {final_gap:.3f} "
                           f"(no dropout {base_gap:.3f})")
        self.set_status(f"rate {rate:.1f}: best validation epoch {run.best_epoch}; after "
                        f"{run.epochs} epochs training loss {run.train_loss[-1]:.3f}, "
                        f"validation loss {run.val_loss[-1]:.3f}, gap {final_gap:.3f} "
                        f"(without dropout: {baseline.train_loss[-1]:.3f}, "
                        f"{baseline.val_loss[-1]:.3f}, {base_gap:.3f})")


@register(NOTEBOOK, DropoutExplorer)
def dropout_explorer(rate=0.5, seed=0):
    """Retrain the overfitting network with a dropout rate (< 1 s per new rate, cached)."""
    return DropoutExplorer(rate, seed)


# ------------------------------------------------------------------ masks

class MaskExplorer(BlitExplorer):
    """Inverted dropout on a real layer's activations, for a chosen rate and mask seed."""

    def __init__(self, rate=0.3, seed=0):
        controls = {
            "rate": widgets.FloatSlider(value=rate, min=0.0, max=0.9, step=0.05,
                                        readout_format=".2f", description="dropout rate"),
            "seed": widgets.IntSlider(value=seed, min=0, max=50, description="mask seed"),
        }
        super().__init__(controls, figsize=(10.0, 3.2), title="Dropout masks")
        ax_bars, ax_batch = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.7, 1.0]})
        self.h = layer_activations()
        self.panels = MaskPanels(ax_bars, ax_batch, self.h)
        self.figure.subplots_adjust(left=0.06, right=0.93, bottom=0.15, top=0.9, wspace=0.15)
        self.animate(*self.panels.artists())
        self.prerender(MASK_SCALE_LEVELS, self.panels.set_level)

    def draw(self, rate, seed):
        rate = float(rate)
        out, mask = apply_dropout(self.h, rate, int(seed))
        average = average_over_masks(self.h[0], rate, seed=int(seed))
        for name, values in self.panels.update(out, mask, average, rate).items():
            self.record(name, values)
        self.layout = mask_scale_level(rate)
        dropped = int(np.sum(mask[0] == 0))
        self.set_status(
            f"rate {rate:.2f}: {dropped} of {self.h.shape[1]} units of the example dropped, "
            f"the kept ones multiplied by 1/(1 - {rate:.2f}) = {1 / (1 - rate):.2f}; mean "
            f"activation {self.h[0].mean():.3f} before dropout, {out[0].mean():.3f} after this "
            f"mask, {average.mean():.3f} averaged over 2000 masks; "
            f"{np.mean(mask == 0):.0%} of the batch dropped")


@register(NOTEBOOK, MaskExplorer)
def mask_explorer(rate=0.3, seed=0):
    """Dropout masks and the inverted-dropout scaling on a hidden layer (< 100 ms)."""
    return MaskExplorer(rate, seed)


# ------------------------------------------------------------------ Monte Carlo dropout

class MCDropoutExplorer(BlitExplorer):
    """Monte Carlo dropout on the 1-D regression: number of passes and dropout rate
    (``seed`` draws the data and the weights)."""

    retraining = True

    def __init__(self, rate=0.1, n_samples=100, seed=0):
        self.seed = seed
        controls = {
            "rate": widgets.SelectionSlider(options=[(f"{r:g}", r) for r in MC_RATES],
                                            value=_nearest(rate, MC_RATES),
                                            description="dropout rate",
                                            continuous_update=False),
            "n_samples": widgets.IntSlider(value=n_samples, min=1, max=MC_MAX_SAMPLES,
                                           description="passes averaged",
                                           continuous_update=False),
        }
        super().__init__(controls, figsize=(9.0, 5.0),
                         title="Monte Carlo dropout")
        ax, ax_std = self.figure.subplots(2, 1, sharex=True,
                                          gridspec_kw={"height_ratios": [2.2, 1.0]})
        self.band = MCBand(ax, ax_std, seed=seed)
        self.figure.subplots_adjust(left=0.09, right=0.98, bottom=0.1, top=0.93, hspace=0.08)
        self.animate(*self.band.artists())

    def draw(self, rate, n_samples):
        all_passes = mc_grid_passes(rate, self.seed)
        passes = all_passes[:int(n_samples)]
        # The std axis is fixed per rate (the layout), so changing the number of passes only
        # redraws the curves.
        std_top = 1.4 * float(all_passes.std(axis=0).max())
        for name, values in self.band.update(passes, std_top=std_top).items():
            self.record(name, values)
        self.band.ax.set_title(f"Monte Carlo dropout, rate {rate:g}")
        self.layout = rate
        std = passes.std(axis=0)
        near, far = near_and_far()
        self.set_status(f"rate {rate:g}, {int(n_samples)} passes: mean std {std[near].mean():.3f} "
                        f"where the data are, {std[far].mean():.3f} far from them (|x| >= 5)")


@register(NOTEBOOK, MCDropoutExplorer)
def mc_dropout_explorer(rate=0.1, n_samples=100, seed=0):
    """MC dropout band on the 1-D regression (a new rate trains once, < 1 s; a new number
    of passes redraws from cached passes, < 100 ms)."""
    return MCDropoutExplorer(rate, n_samples, seed)
