"""Exercise 4 of the notebook on batch normalization (an experiment): choose batch norm's
momentum by validation, for the 100-step training of section 7. Its checker,
``check_bn_momentum_choice``, is in :mod:`.exercises` with the notebook's other checkers.

The runs are those of :func:`.runs.train_digits` (cached), at the rate 0.3162 of the
learning-rate sweep, where the network trains with and without batch norm.
"""
from __future__ import annotations

import math

import numpy as np

from ..exercise import ValidationChoice
from ..seeds import seeds_from
from .runs import best_val_losses, train_digits

#: The learning rate of the experiment: a point of the notebook's sweep (LEARNING_RATES).
MOMENTUM_RATE = 0.3162


def bn_momentum_val_loss(momentum, seed):
    """The lowest validation loss over the 10 epochs (100 SGD steps) of the batch-normalized
    network of section 7 whose BatchNormalization layers use ``momentum``, on one seed (NaN
    if it diverged)."""
    run = train_digits(MOMENTUM_RATE, True, seed=int(seed), bn_momentum=float(momentum))
    loss = float(best_val_losses([[run]])[0, 0])
    return loss if math.isfinite(loss) else math.nan


# The grid halves 1 - momentum from one value to the next: moving averages over about 1, 2,
# 4, ..., 256 batches. Margin 0.03: on SEED 0 to 3 the best medians (0.151 to 0.210, at 0.75
# to 0.9375) lie within 0.009 of each other from 0.75 to 0.9375; 0.96875 costs 0.001 to
# 0.017 and 0.5 costs 0.003 to 0.027 (accepted, near the margin on SEED 2); 0.984375 costs
# 0.033 to 0.080 (refused, near the margin on SEED 1), momentum 0 (the last batch alone)
# 0.050 to 0.116, 0.9921875 0.119 to 0.245. The five seeds of one momentum spread over
# about 0.07.
BN_MOMENTUM_CHOICE = ValidationChoice(
    "batch norm's momentum for a 100-step training, chosen by validation", "momentum",
    bn_momentum_val_loss,
    grid=(0.0, 0.5, 0.75, 0.875, 0.9375, 0.96875, 0.984375, 0.9921875, 0.99609375),
    low=0.0, high=0.999, margin=0.03)


def choose_bn_momentum_solution(seed=0):
    """One way to choose: the momenta whose moving averages span about 1, 10, 100 and 1000
    batches, five seeds each, the lowest median validation loss."""
    momenta = (0.0, 0.9, 0.99, 0.999)
    medians = [np.median([bn_momentum_val_loss(m, s) for s in seeds_from(seed)])
               for m in momenta]
    return momenta[int(np.nanargmin(medians))]
