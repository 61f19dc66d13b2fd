"""Figures of the capstone notebook: every comparison drawn with its spread over seeds."""
from __future__ import annotations

import numpy as np

from ..figures import PALETTE, plot_band, plot_seed_strip
from ..seeds import spread

#: One colour per recipe, the same in every figure of the notebook.
RECIPE_COLORS = {"default": PALETTE["blue"], "self-normalizing": PALETTE["vermillion"]}


def plot_recipe_rates(ax, rates, grid):
    """Best validation loss of each recipe against the learning rate: median over seeds with
    the whole range as error bars (``grid``: recipe -> array (rates, seeds))."""
    for recipe, values in grid.items():
        s = spread(values.T)
        ax.errorbar(rates, s.median, yerr=[s.median - s.minimum, s.maximum - s.median],
                    marker="o", capsize=3, color=RECIPE_COLORS[recipe],
                    label=f"{recipe} (median, range of {values.shape[1]} seeds)")
    ax.set_xscale("log")
    ax.set_xticks(list(rates), [f"{rate:g}" for rate in rates])
    ax.minorticks_off()
    ax.set_xlabel("peak learning rate of 1cycle (Nadam)")
    ax.set_ylabel("best validation loss (cross-entropy)")
    ax.set_title("The two recipes across learning rates")
    ax.legend(loc="upper center")


def plot_curve_bands(ax, curves_by_name, colors, title):
    """Validation loss per epoch: median and quartile band over seeds, one band per setting."""
    for name, curves in curves_by_name.items():
        epochs = np.arange(1, curves.shape[1] + 1)
        plot_band(ax, epochs, spread(curves), color=colors[name], label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss (cross-entropy)")
    ax.set_title(title)
    ax.legend(loc="upper right")


def plot_block_orders(ax, best_by_order):
    """Best validation loss of each block order, one dot per seed (median bar, quartiles)."""
    # Two-line tick labels: "Dropout > Dense\n> BN > ReLU", so that neighbours do not overlap.
    labels = {name: name.replace(" > ", "\n> ", 2).replace("\n> ", " > ", 1) for name in best_by_order}
    values = {labels[name]: v for name, v in best_by_order.items()}
    colors = dict(zip(values, (PALETTE["purple"], PALETTE["green"], PALETTE["orange"])))
    spreads = plot_seed_strip(ax, values, colors=colors,
                              ylabel="best validation loss (cross-entropy)",
                              title="Three block orders, 3 blocks, dropout 0.2")
    return {name: spreads[labels[name]] for name in best_by_order}


def plot_rate_search(ax, coarse_rates, coarse_scores, fine_rates, fine_scores):
    """The hand-made coarse-to-fine search of the learning rate (median over seeds per rate)."""
    ax.plot(coarse_rates, coarse_scores, "o-", color=PALETTE["grey"], label="coarse grid")
    ax.plot(fine_rates, fine_scores, "s-", color=PALETTE["blue"], label="fine grid")
    best = int(np.argmin(fine_scores))
    ax.plot(fine_rates[best], fine_scores[best], "*", ms=14, color=PALETTE["vermillion"],
            label=f"best: {fine_rates[best]:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate (SGD, momentum 0.9)")
    ax.set_ylabel("best validation loss (median of seeds)")
    ax.set_title("Coarse to fine on the learning rate")
    ax.legend(loc="upper center")


def plot_strategies(ax, results, grid_best):
    """Every trial of each strategy: learning rate against score, the grid's best as a line."""
    markers = {"random search": "o", "Bayesian optimisation": "s", "Hyperband": "^"}
    colors = {"random search": PALETTE["green"], "Bayesian optimisation": PALETTE["purple"],
              "Hyperband": PALETTE["orange"]}
    for name, result in results.items():
        full = [t for t in result.trials if t.budget is None or t.budget >= result.max_budget]
        rates = [t.params["learning_rate"] for t in full]
        ax.plot(rates, [t.score for t in full], markers[name], color=colors[name], alpha=0.8,
                label=f"{name} ({result.total_trainings:.0f} trainings)")
    ax.axhline(grid_best, color=PALETTE["grey"], linestyle="--", label="best of coarse-to-fine")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate (SGD, momentum 0.9)")
    ax.set_ylabel("validation loss (median of seeds)")
    ax.set_title("The same budget, three strategies (full-budget trials)")
    ax.legend(loc="upper center", fontsize=8)
