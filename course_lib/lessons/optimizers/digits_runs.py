"""The digits experiments of the notebook on optimizers, over several seeds (no drawing here).

Every comparison on the digits trains the same small network on :data:`N_SEEDS` seeds
(``course_lib.lessons.seeds.seeds_from(SEED)``): each seed gives other initial weights and
other batches. A setting is summarised by the median over seeds, and every figure and check
uses that median and the spread around it, never one run.

* :func:`digits_run` -- one run: the network trained with one optimizer, rate and seed (cached);
* :func:`digits_runs` -- the same setting on several seeds;
* :func:`digits_sweep` -- every optimizer on a grid of rates widened until its best rate is
  inside, on several seeds;
* :func:`best_rate`, :func:`best_runs` -- each optimizer's best rate on its grid, judged by
  the median final validation loss.

All training goes through ``course_lib.lessons.digits.train_on_digits``.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ... import optimizers as opt
from ..._validation import check_choice, check_positive
from ...layers import Dense
from ..digits import train_on_digits
from ..seeds import spread

#: The digits experiment of the notebook: a 64-32-10 ReLU network on a 600-example slice
#: of the course's training split, 15 epochs of mini-batches of 64 (a few hundredths of a
#: second a run, so that every setting can be run on several seeds).
DIGITS_SETUP = {"n_train": 600, "hidden": 32, "epochs": 15, "batch_size": 64}

#: The learning rates every optimizer is first tried with on the digits, a decade apart;
#: :func:`digits_sweep` widens each optimizer's grid until its best rate is inside it.
DIGITS_RATES = (0.01, 0.1, 1.0)

#: The scalings of the inputs: the course's standardised pixels, or raw pixels in mixed units.
SCALINGS = ("standardized", "mixed units")


def feature_scales(n_features=64, low=0.01, high=10.0, seed=0):
    """The per-feature unit factors of the "mixed units" digits: log-uniform in [low, high]
    (float32, shape (n_features,)). Fixed by their own seed: they define the data set."""
    rng = np.random.default_rng(seed)
    return (10.0 ** rng.uniform(np.log10(low), np.log10(high), size=n_features)).astype(np.float32)


def to_mixed_units(pixels):
    """Raw pixels (n, 64) in [0, 1] with each feature multiplied by its factor of
    :func:`feature_scales`, as if every feature had been measured in its own unit and never
    normalised. Returns a new float32 array."""
    return (pixels * feature_scales(pixels.shape[1])).astype(np.float32)


def digits_layers(hidden=DIGITS_SETUP["hidden"]):
    """The layers of the digits network, new ones each call: Dense(hidden, relu) -> Dense(10, softmax)."""
    return [Dense(hidden, activation="relu"), Dense(10, activation="softmax")]


@dataclass(frozen=True)
class DigitsRun:
    """The history of one training run of the digits network.

    Attributes:
        loss, val_loss, val_accuracy: per-epoch values (tuples; only finite values: a run
            that diverged stops at its last finite epoch).
        diverged_at: the epoch (1-based) in which the loss became NaN/inf, else ``None``.
    """

    name: str
    learning_rate: float
    loss: tuple
    val_loss: tuple
    val_accuracy: tuple
    diverged_at: int | None = None
    seed: int = 0

    def epochs_to(self, threshold, key="loss"):
        """The first epoch (1-based) whose ``key`` is below ``threshold``, or ``None``."""
        values = np.asarray(getattr(self, key))
        hit = np.flatnonzero(values < threshold)
        return int(hit[0]) + 1 if hit.size else None

    @property
    def final_val_loss(self):
        """The last epoch's validation loss; ``inf`` if the run diverged."""
        return math.inf if self.diverged_at is not None or not self.val_loss else self.val_loss[-1]


@functools.lru_cache(maxsize=2048)
def digits_run(name, learning_rate, scaling="standardized", seed=0,
               epochs=DIGITS_SETUP["epochs"]):
    """Train the digits network with optimizer ``name`` at ``learning_rate`` (cached).

    ``scaling="standardized"``: the course's split, every pixel standardised with training
    statistics; ``"mixed units"``: raw pixels through :func:`to_mixed_units`. ``seed`` sets
    the initial weights and the order of the batches, so runs of one seed differ only in
    their optimizer. A diverging run stops at the first NaN/inf loss. Returns a
    :class:`DigitsRun`.
    """
    check_choice("name", name, opt.OPTIMIZER_NAMES)
    check_choice("scaling", scaling, SCALINGS)
    learning_rate = check_positive("learning_rate", learning_rate)
    mixed = scaling == "mixed units"
    with np.errstate(all="ignore"):   # a diverging run overflows before it is stopped
        _, history = train_on_digits(digits_layers(), opt.get(name, learning_rate=learning_rate),
                                     epochs=epochs, batch_size=DIGITS_SETUP["batch_size"],
                                     seed=int(seed), n_train=DIGITS_SETUP["n_train"],
                                     standardize=not mixed,
                                     transform=to_mixed_units if mixed else None)
    logs = history.history
    diverged = getattr(history, "diverged_at", None)
    return DigitsRun(name, float(learning_rate), tuple(logs.get("loss", ())),
                     tuple(logs.get("val_loss", ())), tuple(logs.get("val_accuracy", ())),
                     None if diverged is None else int(diverged[0]) + 1, int(seed))


def digits_runs(name, learning_rate, seeds, scaling="standardized"):
    """:func:`digits_run` on each of ``seeds``: a tuple of :class:`DigitsRun`, one per seed."""
    return tuple(digits_run(name, float(learning_rate), scaling, int(seed)) for seed in seeds)


def digits_sweep(seeds, names=opt.OPTIMIZER_NAMES, rates=DIGITS_RATES, scaling="standardized"):
    """Every optimizer of ``names`` on every seed, on a grid of rates widened until its best
    rate is inside: a dict name -> dict rate -> tuple of runs (one per seed), rates ascending.

    Each optimizer starts on ``rates`` (at least two, evenly spaced on a log scale). While its
    best rate (:func:`best_rate`) is the lowest or the highest of its grid, the grid gains one
    more rate on that side, one grid step further; so no best rate is read at an edge, and
    no optimizer pays for rates far from its own best.
    """
    rates = sorted(float(lr) for lr in rates)
    if len(rates) < 2:
        raise ValueError(f"rates must hold at least two learning rates; got {rates!r}.")
    ratio = rates[1] / rates[0]
    sweep = {}
    for name in names:
        by_rate = {lr: digits_runs(name, lr, seeds, scaling) for lr in rates}
        while True:
            grid = sorted(by_rate)
            best = best_rate(by_rate)
            if best == grid[0]:
                wider = float(f"{grid[0] / ratio:.3g}")
            elif best == grid[-1]:
                wider = float(f"{grid[-1] * ratio:.3g}")
            else:
                break
            by_rate[wider] = digits_runs(name, wider, seeds, scaling)
        sweep[name] = {lr: by_rate[lr] for lr in sorted(by_rate)}
    return sweep


def final_val_losses(runs):
    """The final validation loss of each run (``inf`` for a diverged run): array (seeds,)."""
    return np.array([run.final_val_loss for run in runs])


def median_final_val_loss(runs):
    """The median over seeds of the final validation loss (``inf`` if most runs diverged)."""
    return float(np.median(final_val_losses(runs)))


def best_rate(by_rate):
    """The rate (a key of ``by_rate``: rate -> runs over seeds) whose runs have the lowest
    median final validation loss."""
    return min(by_rate, key=lambda lr: median_final_val_loss(by_rate[lr]))


def best_runs(sweep):
    """Each optimizer's runs at its best rate: dict name -> tuple of runs (one per seed)."""
    return {name: by_rate[best_rate(by_rate)] for name, by_rate in sweep.items()}


def best_is_inside(by_rate):
    """Whether the best rate has a rate of the grid on each side (it is not at an edge)."""
    grid = sorted(by_rate)
    return grid[0] < best_rate(by_rate) < grid[-1]


def epochs_to(runs, threshold, key="loss"):
    """Per run, the first epoch with ``key`` below ``threshold``: array (seeds,), NaN where
    a run never gets there."""
    epochs = [run.epochs_to(threshold, key) for run in runs]
    return np.array([np.nan if e is None else e for e in epochs], dtype=float)


def curves(runs, key="val_loss", epochs=DIGITS_SETUP["epochs"]):
    """The :class:`~course_lib.lessons.seeds.Spread` over seeds of a per-epoch curve (a run
    that diverged contributes NaN after its last finite epoch)."""
    values = np.full((len(runs), epochs), np.nan)
    for i, run in enumerate(runs):
        curve = np.asarray(getattr(run, key), dtype=float)[:epochs]
        values[i, :len(curve)] = curve
    return spread(values)
