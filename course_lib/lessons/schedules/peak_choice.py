"""Exercise 5 of the notebook on learning-rate schedules (an experiment): choose 1cycle's
peak rate by validation, on the notebook's 30-epoch digits training. Its checker,
``check_peak_rate_choice``, is in :mod:`.exercises` with the notebook's other checkers.

The runs are those of :func:`.runs.train_digits` without callbacks, which it caches: the
notebook's own 1cycle runs (peak ``LR_MAX``, its five seeds) are not trained again.
"""
from __future__ import annotations

import math

import numpy as np

from ..digits import digits
from ..exercise import ValidationChoice
from ..seeds import seeds_from
from ...schedules import OneCycle
from .runs import steps_per_epoch, train_digits

#: The notebook's training budget: 30 epochs of batches of 32 (section 2).
PEAK_EPOCHS, PEAK_BATCH = 30, 32


def one_cycle_val_loss(max_learning_rate, seed):
    """The last epoch's validation loss of the notebook's digits network trained for 30
    epochs with 1cycle peaking at ``max_learning_rate``, on one seed (NaN if it diverged)."""
    total = PEAK_EPOCHS * steps_per_epoch(len(digits().x_train), PEAK_BATCH)
    schedule = OneCycle(max_learning_rate=float(max_learning_rate), total_steps=total)
    _, history, _ = train_digits(schedule, PEAK_EPOCHS, batch_size=PEAK_BATCH, seed=int(seed))
    losses = history.history.get("val_loss", [])
    if len(losses) < PEAK_EPOCHS or not math.isfinite(losses[-1]):
        return math.nan
    return float(losses[-1])


# Quarter-decade steps from 0.01 to 0.316. Margin 0.02: on SEED 0 to 3 the best medians
# (0.035 to 0.042, always at 0.1) lie within 0.004 of 0.0562 and within 0.012 of 0.178; a
# peak of 0.0316 costs 0.005 to 0.008, 0.0178 costs 0.013 to 0.015, 0.01 costs 0.027 to
# 0.033, and 0.316 (unstable: some seeds blow up) 0.3 or more. The five seeds of one peak
# spread over 0.007 to 0.03 up to 0.1 (and much more above it).
PEAK_RATE_CHOICE = ValidationChoice(
    "1cycle's peak learning rate, chosen by validation", "peak learning rate",
    one_cycle_val_loss, grid=(0.01, 0.0178, 0.0316, 0.0562, 0.1, 0.178, 0.316),
    low=0.001, high=1.0, margin=0.02)


def choose_peak_rate_solution(seed=0):
    """One way to choose: peaks half a decade apart, five seeds each, the lowest median
    validation loss (a peak at which a seed diverged is out)."""
    peaks = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
    medians = [np.median([one_cycle_val_loss(peak, s) for s in seeds_from(seed)])
               for peak in peaks]
    return peaks[int(np.nanargmin(medians))]
