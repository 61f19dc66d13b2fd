"""Figures of the notebook on initialization and activations (course style, colour-blind-safe)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ... import activations
from ..figures import CYCLE, PALETTE, course_style, label, plot_band, plot_seed_strip
from ..seeds import spread
from .runs import ACTIVATIONS, INITIALIZERS

#: One colour per activation, the same in every figure and explorer of the notebook.
ACTIVATION_COLORS = dict(zip(ACTIVATIONS, CYCLE))

#: One colour per initializer family; uniform and normal draws share it (dashed = normal).
INITIALIZER_COLORS = {
    "zeros": PALETTE["grey"], "uniform": PALETTE["black"], "normal": PALETTE["black"],
    "lecun_uniform": PALETTE["green"], "lecun_normal": PALETTE["green"],
    "glorot_uniform": PALETTE["blue"], "glorot_normal": PALETTE["blue"],
    "he_uniform": PALETTE["vermillion"], "he_normal": PALETTE["vermillion"],
}


def initializer_linestyle(name):
    return "--" if name.endswith("normal") else "-"


def plot_activation_gallery(names=ACTIVATIONS, x=np.linspace(-5, 5, 401)):
    """Each activation (left) and its derivative (right) on [-5, 5]."""
    with course_style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
        for name in names:
            function, derivative = activations.get(name)
            left.plot(x, function(x), color=ACTIVATION_COLORS[name], label=name)
            right.plot(x, derivative(x), color=ACTIVATION_COLORS[name], label=name)
        left.set_ylim(-2, 5)
        right.set_ylim(-0.2, 1.9)
        label(left, "input z", "f(z)", "Activation functions")
        label(right, "input z", "f'(z)", "Their derivatives")
        right.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.tight_layout()
    return fig


def plot_depth_profiles(profiles, key, *, title, ylabel):
    """Median and quartiles over seeds of a per-layer quantity, log scale.

    ``profiles``: dict label -> dict with ``key`` -> array (seeds, layers).
    """
    with course_style():
        fig, ax = plt.subplots(figsize=(8, 4))
        for color, (name, profile) in zip(CYCLE, profiles.items()):
            values = np.maximum(profile[key], 1e-30)
            layers = np.arange(1, values.shape[1] + 1)
            plot_band(ax, layers, spread(values), color=color, label=name)
        ax.set_yscale("log")
        label(ax, "hidden layer (1 = nearest the input)", ylabel, title)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.tight_layout()
    return fig


def plot_initializer_comparison(curves, *, title):
    """Validation loss per epoch for every initializer: median line and quartile band."""
    with course_style():
        fig, ax = plt.subplots(figsize=(9, 4.2))
        for name in INITIALIZERS:
            values = curves[name]
            epochs = np.arange(1, values.shape[1] + 1)
            plot_band(ax, epochs, spread(values), color=INITIALIZER_COLORS[name], label=name,
                      linestyle=initializer_linestyle(name), alpha=0.12)
        ax.axhline(np.log(10), color=PALETTE["grey"], linewidth=0.8, linestyle=":")
        ax.text(1, np.log(10) + 0.05, "chance: ln 10", color=PALETTE["grey"], fontsize=8)
        label(ax, "epoch", "validation loss (cross-entropy)", title)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.tight_layout()
    return fig


def plot_strips(values, *, title, ylabel):
    """A figure of one strip of points per setting (one point per seed) with its median and
    quartiles (``values``: dict label -> array (seeds,))."""
    with course_style():
        fig, ax = plt.subplots(figsize=(8, 3.6))
        plot_seed_strip(ax, values, ylabel=ylabel, title=title)
        fig.tight_layout()
    return fig


def plot_selu_settings(settings, *, title):
    """Standard deviation of each layer's output in a SELU stack, per setting (log scale)."""
    return plot_depth_profiles(settings, "std", title=title,
                               ylabel="std of the layer's output")

