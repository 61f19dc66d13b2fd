"""Exercise 4 of the notebook on initialization (an experiment): choose the weight scale of a
deep tanh network by validation. Its checker, ``check_tanh_scale_choice``, is in
:mod:`.exercises` with the notebook's other checkers.

The network is section 4's, made deeper and with tanh: 10 hidden layers of 32 tanh units,
LeCun-normal weights (standard deviation ``1 / sqrt(fan_in)``) multiplied by the scale, trained
as section 4 trains (SGD with momentum 0.9, rate 0.02, 8 epochs of 600 digits).
"""
from __future__ import annotations

import math

import numpy as np

from ...optimizers import SGD
from ..batchnorm.runs import ScaleHiddenKernels
from ..digits import train_on_digits
from ..exercise import ValidationChoice
from ..seeds import seeds_from
from .runs import digits_layers

#: The network of the experiment: hidden layers (units each) and their activation.
TANH_HIDDEN, TANH_ACTIVATION = (32,) * 10, "tanh"

#: Runs by (scale, seed): the lowest validation loss of each (a number per run).
_BEST_VAL_LOSSES = {}


def tanh_scale_val_loss(scale, seed):
    """The lowest validation loss over the 8 epochs of the deep tanh network whose hidden
    kernels are LeCun-normal draws times ``scale``, on one seed (NaN if it diverged)."""
    key = (float(scale), int(seed))
    if key not in _BEST_VAL_LOSSES:
        layers = digits_layers("lecun_normal", TANH_ACTIVATION, TANH_HIDDEN)
        # A diverging run overflows before fit notices it and stops.
        with np.errstate(over="ignore", invalid="ignore"):
            _, history = train_on_digits(layers, SGD(0.02, momentum=0.9), epochs=8,
                                         seed=int(seed), n_train=600,
                                         callbacks=[ScaleHiddenKernels(float(scale))])
        losses = history.history.get("val_loss", [])
        best = min(losses) if losses and history.diverged_at is None else math.nan
        _BEST_VAL_LOSSES[key] = best if math.isfinite(best) else math.nan
    return _BEST_VAL_LOSSES[key]


# Quarter-octave steps (factors of 2 ** 0.25) from 0.5 to 2.83. Margin 0.08: on SEED 0 to 3
# the best medians (0.249 to 0.328) are all at 1.19; 1 costs 0.009 to 0.039 and 1.41 0.024
# to 0.072 (accepted, near the margin on SEED 3); 0.84 costs 0.11 to 0.16 and 1.68 0.10 to
# 0.17; 0.71 and 2 cost 0.26 or more, and at 0.5 the signal dies away and the loss stays at
# chance (ln 10). The five seeds of one scale spread over 0.04 to 0.18 near the best.
TANH_SCALE_CHOICE = ValidationChoice(
    "the weight scale of a deep tanh network, chosen by validation", "weight scale",
    tanh_scale_val_loss,
    grid=(0.5, 0.595, 0.707, 0.841, 1.0, 1.19, 1.41, 1.68, 2.0, 2.38, 2.83),
    low=0.25, high=4.0, margin=0.08)


def choose_tanh_scale_solution(seed=0):
    """One way to choose: scales a factor of 2 ** 0.5 apart, five seeds each, the lowest
    median validation loss."""
    scales = (0.25, 0.354, 0.5, 0.707, 1.0, 1.41, 2.0, 2.83, 4.0)
    medians = [np.median([tanh_scale_val_loss(scale, s) for s in seeds_from(seed)])
               for scale in scales]
    return scales[int(np.nanargmin(medians))]
