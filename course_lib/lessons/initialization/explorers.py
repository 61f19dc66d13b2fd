"""Explorers of the notebook on initialization and activations.

* :func:`propagation_explorer`: depth, activation, initializer and a scale factor in; the
  spread of every layer's activations and the norm of the gradient reaching every layer out,
  labelled vanishing, exploding or stable (one forward and backward pass, < 100 ms);
* :func:`activation_explorer`: chosen activations, their derivatives, and the fraction of
  inputs on which each passes (almost) no gradient, for pre-activations of a chosen mean
  and spread (formulas only).
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ... import activations
from ..explorer import BlitExplorer, register
from ..figures import PALETTE, label
from .figures import ACTIVATION_COLORS
from .runs import ACTIVATIONS, INITIALIZERS, propagation

NOTEBOOK = "02_initialization_and_activations"

#: Drawn values are kept inside this range, so a dead (0) or exploded layer stays on the plot.
FLOOR, CEILING = 1e-12, 1e12

#: A ratio of gradient norms (first hidden layer / last) beyond which a network is labelled.
VANISHING, EXPLODING = 1e-3, 1e3

#: A derivative below this passes "no gradient" for the dead-or-saturated fraction.
FLAT = 0.01


def gradient_verdict(norms):
    """'vanishing', 'exploding', 'stable' or 'no gradient' from per-layer gradient norms
    (first hidden layer first): the ratio of the first to the last."""
    first, last = float(norms[0]), float(norms[-1])
    if not (np.isfinite(first) and np.isfinite(last)):
        return "exploding"
    if last == 0:
        return "no gradient"
    ratio = first / last
    if ratio < VANISHING:
        return "vanishing"
    if ratio > EXPLODING:
        return "exploding"
    return "stable"


class PropagationExplorer(BlitExplorer):
    """A deep plain network's per-layer activation spread and gradient norms."""

    WIDTH, BATCH, MAX_DEPTH = 64, 64, 50

    def __init__(self, depth=30, activation="tanh", initializer="glorot_uniform", scale=1.0,
                 seed=0):
        controls = {
            "depth": widgets.IntSlider(value=depth, min=10, max=self.MAX_DEPTH, step=5,
                                       description="depth (layers)"),
            "activation": widgets.Dropdown(options=ACTIVATIONS, value=activation,
                                           description="activation"),
            "initializer": widgets.Dropdown(options=INITIALIZERS, value=initializer,
                                            description="initializer"),
            "scale": widgets.FloatLogSlider(value=scale, base=2, min=-2, max=2, step=0.25,
                                            description="weights x"),
        }
        super().__init__(controls, figsize=(9.0, 3.6), title="Signal propagation explorer")
        self.seed = seed
        self.axes = self.figure.subplots(1, 2)
        titles = ("Activations: std of each layer's output", "Gradients: norm of d loss / d layer output")
        for ax, title in zip(self.axes, titles):
            ax.set_yscale("log")
            ax.set_ylim(FLOOR, CEILING)
            # One x-range for every depth: the axes never change, so only the lines redraw.
            ax.set_xlim(0, self.MAX_DEPTH + 1)
            label(ax, "hidden layer", "", title)
        self.axes[0].set_ylabel("std (log scale)")
        self.axes[1].set_ylabel("norm (log scale)")
        self.axes[0].axhline(1.0, color=PALETTE["grey"], linewidth=0.8, linestyle=":")
        self.std_line, = self.animate(*self.axes[0].plot([], [], "o-", markersize=3,
                                                         color=PALETTE["blue"]))
        self.grad_line, = self.animate(*self.axes[1].plot([], [], "o-", markersize=3,
                                                          color=PALETTE["vermillion"]))
        self.verdict = self.animate(self.axes[1].text(0.03, 0.92, "", transform=self.axes[1].transAxes,
                                                      fontsize=10, fontweight="bold"))[0]
        self.layout = "fixed"
        self.figure.tight_layout()

    def draw(self, depth, activation, initializer, scale):
        stats = propagation(activation, initializer, depth=depth, width=self.WIDTH,
                            scale=scale, seed=self.seed, batch=self.BATCH)
        layers = np.arange(1, depth + 1)
        std = np.clip(stats.std[:depth], FLOOR, CEILING)
        norms = stats.output_gradient_norm[:depth]
        std = np.nan_to_num(std, nan=CEILING, posinf=CEILING)
        self.std_line.set_data(layers, self.record("std", std))
        self.grad_line.set_data(layers, self.record(
            "gradient_norm", np.clip(np.nan_to_num(norms, nan=CEILING, posinf=CEILING), FLOOR, CEILING)))
        verdict = gradient_verdict(norms)
        colors = {"stable": PALETTE["green"], "vanishing": PALETTE["vermillion"],
                  "exploding": PALETTE["vermillion"], "no gradient": PALETTE["grey"]}
        self.verdict.set_text(verdict)
        self.verdict.set_color(colors[verdict])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = norms[0] / norms[-1]
        ratio_text = f"{ratio:.1e}" if np.isfinite(ratio) else "undefined"
        self.set_status(f"{activation}, {initializer} x {scale:g}, {depth} layers: output std "
                        f"at the last layer {stats.std[depth - 1]:.2g}; gradient norm of layer 1 "
                        f"/ layer {depth} = {ratio_text} ({verdict})")


@register(NOTEBOOK, PropagationExplorer)
def propagation_explorer(depth=30, activation="tanh", initializer="glorot_uniform", scale=1.0):
    """Per-layer activation spread and gradient norms of a deep plain network (< 100 ms)."""
    return PropagationExplorer(depth=depth, activation=activation, initializer=initializer,
                               scale=scale)


class ActivationExplorer(BlitExplorer):
    """Activations, their derivatives, and how much of a Gaussian input each leaves flat."""

    X = np.linspace(-6, 6, 241)

    def __init__(self, functions=("sigmoid", "relu", "leaky_relu", "elu"), mean=0.0, std=1.0):
        controls = {
            "functions": widgets.SelectMultiple(options=ACTIVATIONS, value=tuple(functions),
                                                rows=4, description="activations"),
            "mean": widgets.FloatSlider(value=mean, min=-4, max=4, step=0.25,
                                        description="input mean"),
            "std": widgets.FloatSlider(value=std, min=0.25, max=4, step=0.25,
                                       description="input std"),
        }
        super().__init__(controls, figsize=(10.0, 3.4), title="Activation explorer")
        value_ax, grad_ax, bar_ax = self.axes = self.figure.subplots(1, 3)
        value_ax.set_ylim(-2.5, 6)
        grad_ax.set_ylim(-0.15, 1.9)
        for ax in (value_ax, grad_ax):
            ax.set_xlim(self.X[0], self.X[-1])
        label(value_ax, "input z", "f(z)", "Value (colours as in the bars)")
        label(grad_ax, "input z", "f'(z)", "Derivative")
        label(bar_ax, "", f"fraction with f'(z) < {FLAT}", "Inputs passing ~no gradient")
        bar_ax.set_ylim(0, 1)
        bar_ax.set_xticks(range(len(ACTIVATIONS)), ACTIVATIONS, fontsize=8, rotation=45,
                          ha="right")
        self.value_lines, self.grad_lines = {}, {}
        for name in ACTIVATIONS:
            color = ACTIVATION_COLORS[name]
            self.value_lines[name], = self.animate(*value_ax.plot([], [], color=color, label=name))
            self.grad_lines[name], = self.animate(*grad_ax.plot([], [], color=color))
        self.density, = self.animate(*grad_ax.plot([], [], color=PALETTE["grey"], linewidth=1,
                                                   linestyle="--"))
        self.bars = bar_ax.bar(range(len(ACTIVATIONS)), np.zeros(len(ACTIVATIONS)),
                               color=[ACTIVATION_COLORS[n] for n in ACTIVATIONS])
        self.animate(*self.bars)
        self.layout = "fixed"
        self.figure.tight_layout()

    def draw(self, functions, mean, std):
        z = np.random.default_rng(0).standard_normal(20_000) * std + mean
        density = np.exp(-0.5 * ((self.X - mean) / std) ** 2)
        self.density.set_data(self.X, self.record("input_density", density))
        fractions = []
        for i, name in enumerate(ACTIVATIONS):
            function, derivative = activations.get(name)
            shown = name in functions
            self.value_lines[name].set_visible(shown)
            self.grad_lines[name].set_visible(shown)
            flat = float(np.mean(derivative(z) < FLAT)) if shown else 0.0
            self.bars[i].set_height(flat)
            if shown:
                self.value_lines[name].set_data(self.X, self.record(f"{name}_value", function(self.X)))
                self.grad_lines[name].set_data(self.X, self.record(f"{name}_grad", derivative(self.X)))
                fractions.append(f"{name} {flat:.0%}")
        self.record("flat_fractions", [bar.get_height() for bar in self.bars])
        self.set_status("inputs z ~ N(mean, std): share with f'(z) < 0.01 -- "
                        + (", ".join(fractions) if fractions else "choose activations"))


@register(NOTEBOOK, ActivationExplorer)
def activation_explorer(functions=("sigmoid", "relu", "leaky_relu", "elu"), mean=0.0, std=1.0):
    """Activations and derivatives for chosen functions; the share of Gaussian inputs each
    leaves (almost) without gradient (formulas only, < 100 ms)."""
    return ActivationExplorer(functions=functions, mean=mean, std=std)
