"""Explorer of the first notebook: a first network on the digits."""
from __future__ import annotations

import ipywidgets as widgets

from ..explorer import Explorer, register
from ..seeds import seeds_from
from .figures import LearningCurves
from .runs import MAX_EPOCHS, train_first_network

NOTEBOOK = "00_start_here"


class FirstNetworkExplorer(Explorer):
    """Hidden units, learning rate and epochs of a first digits network; its learning curves
    and validation numbers (the test set stays unseen while settings are tried). Every
    setting is trained with the same ``seed``, so two settings differ only in the setting."""

    retraining = True

    def __init__(self, seed=0):
        self.seed = seeds_from(seed, 1)[0]   # validates the seed; seeds_from(s, 1) is (1000 s,)
        controls = {
            "hidden_units": widgets.IntSlider(value=64, min=4, max=128, step=4,
                                              description="hidden units"),
            "learning_rate": widgets.FloatLogSlider(value=1e-3, base=10, min=-4, max=0,
                                                    step=0.25, description="learning rate",
                                                    readout_format=".1e"),
            "epochs": widgets.IntSlider(value=10, min=1, max=MAX_EPOCHS,
                                        description="epochs"),
        }
        super().__init__(controls, figsize=(8.0, 3.4), title="First network on the digits")
        ax_loss, ax_acc = self.figure.subplots(1, 2)
        self.figure.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.86, wspace=0.28)
        self.curves = LearningCurves(ax_loss, ax_acc, MAX_EPOCHS)
        self.suptitle = self.figure.suptitle("")

    def draw(self, hidden_units, learning_rate, epochs):
        run = train_first_network(int(hidden_units), float(learning_rate), seed=self.seed)
        drawn = self.curves.update(run, epochs)
        for key, values in drawn.items():
            self.record(key, values)
        shown = len(drawn["loss"])
        if shown:
            text = (f"{hidden_units} hidden units, learning rate {learning_rate:.1e}: after "
                    f"{shown} epochs, validation loss {run['val_loss'][shown - 1]:.3f}, "
                    f"validation accuracy {run['val_accuracy'][shown - 1]:.3f}")
        else:
            text = "the very first epoch diverged"
        if run["diverged_at"] is not None and epochs > shown:
            text += (f" -- training diverged in epoch {run['diverged_at'][0] + 1} "
                     "(learning rate too large)")
        self.suptitle.set_text(f"{hidden_units} hidden units, learning rate {learning_rate:.1e}")
        self.set_status(text)


@register(NOTEBOOK, FirstNetworkExplorer)
def first_network_explorer(seed=0):
    """Explorer: train a first digits network with your choice of width, rate and epochs
    (the weights and batches of the first seed of ``seeds_from(seed)``)."""
    return FirstNetworkExplorer(seed=seed)
