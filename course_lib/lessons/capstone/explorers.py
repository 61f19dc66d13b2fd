"""Explorer of the capstone notebook: the two recipes under your choice of depth, inputs and rate."""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..explorer import Explorer, register
from ..figures import plot_band
from ..seeds import seeds_from, spread
from .figures import RECIPE_COLORS
from .runs import INPUTS, RECIPE_EPOCHS, RECIPE_RATES, RECIPES, best_losses, recipe_curves

NOTEBOOK = "09_capstone"
#: Seeds per recipe in the explorer: three keep a redraw within its one-second budget.
EXPLORER_SEEDS = 3


class RecipeExplorer(Explorer):
    """Depth, inputs and peak learning rate -> validation curves of both recipes (median and
    quartiles of three seeds, each run cached so that going back is instant)."""

    retraining = True

    def __init__(self, seed=0):
        self.seeds = seeds_from(seed, EXPLORER_SEEDS)
        controls = {
            "depth": widgets.Dropdown(options=[2, 4, 6], value=4, description="hidden blocks"),
            "inputs": widgets.Dropdown(options=list(INPUTS), value="standardized",
                                       description="inputs"),
            "learning_rate": widgets.SelectionSlider(options=list(RECIPE_RATES), value=0.01,
                                                     description="peak learning rate"),
        }
        super().__init__(controls, figsize=(7.0, 3.8), title="Default vs self-normalizing recipe")
        self.ax = self.figure.subplots()
        self.figure.subplots_adjust(left=0.11, right=0.98, bottom=0.14, top=0.88)

    def draw(self, depth, inputs, learning_rate):
        ax = self.ax
        ax.clear()
        epochs = np.arange(1, RECIPE_EPOCHS + 1)
        text = []
        for recipe in RECIPES:
            curves = recipe_curves(recipe, float(learning_rate), self.seeds, int(depth), inputs)
            s = spread(curves)
            plot_band(ax, epochs, s, color=RECIPE_COLORS[recipe], label=recipe)
            finite = np.isfinite(s.median)
            self.record(f"{recipe} median", s.median[finite])
            best = best_losses(curves)
            text.append(f"{recipe}: best {np.median(best):.3f}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation loss (cross-entropy)")
        ax.set_title(f"{depth} hidden blocks, {inputs} inputs, peak rate {learning_rate:g} "
                     f"({len(self.seeds)} seeds)")
        ax.legend(loc="upper right")
        self.set_status("median best validation loss: " + "; ".join(text))


@register(NOTEBOOK, RecipeExplorer)
def recipe_explorer(seed=0):
    """Explorer: both recipes trained on the digits with your depth, inputs and rate."""
    return RecipeExplorer(seed=seed)
