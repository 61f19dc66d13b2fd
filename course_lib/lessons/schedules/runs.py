"""The experiments of the notebook on learning-rate schedules and callbacks, and their numbers.

* Units and curves: :func:`steps_per_epoch`, :func:`rates_of`, :func:`plotted_steps`.
* The one name -> schedule mapping, :func:`schedule_from_name` (lengths in optimizer steps,
  made from the classes of :mod:`course_lib.schedules`), and the two ways the notebook sizes a
  schedule: :func:`schedule_in_epochs` (lengths in epochs, for the schedule explorer) and
  :func:`budget_schedule` (lengths as fractions of a training budget, with
  :func:`budget_callbacks` for performance scheduling).
* Training on the digits (shown in the notebook, so the code read is the code run):
  :func:`digits_layers`, :class:`StepLog`, :class:`DryRun`, :func:`train_digits`.
* Comparisons over seeds: :func:`val_loss_over_seeds`.
* The learning-rate range test: :func:`lr_range_test`, :class:`RangeTest`, :func:`smooth`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from ... import schedules
from ..._validation import check_choice, check_number, check_positive
from ...callbacks import Callback, ProgressBar, ReduceLROnPlateau
from ...layers import Dense
from ...optimizers import SGD
from ..digits import digits, train_on_digits

#: The schedules compared in the notebook, in the order they are taught.
SCHEDULE_NAMES = ("constant", "power", "exponential", "piecewise constant", "step decay", "1cycle",
                  "cosine warm-up", "cosine restarts", "polynomial")

#: The schedules of the comparison: those taught up to 1cycle, performance scheduling, and
#: cosine decay after a warm-up (restarts and polynomial decay are shown, not compared).
BUDGET_SCHEDULES = SCHEDULE_NAMES[:5] + ("performance", "1cycle", "cosine warm-up")

#: Cosine decay in the notebook: the warm-up starts from this fraction of the peak rate (a
#: log axis cannot show a rate of 0), and the cosine ends at ``alpha`` = this fraction of it.
WARMUP_START, COSINE_ALPHA = 0.1, 0.001


def steps_per_epoch(n_examples, batch_size):
    """Optimizer steps in one epoch: the number of mini-batches, ceil(n / batch_size)."""
    n_examples = check_positive("n_examples", n_examples, integer=True)
    batch_size = check_positive("batch_size", batch_size, integer=True)
    return math.ceil(n_examples / batch_size)


def plotted_steps(total_steps, max_points=1000):
    """Steps 0 .. total_steps - 1 where a curve is evaluated for drawing: every step, or
    ``max_points`` evenly spaced ones (always including the first and the last) for long runs."""
    total_steps = int(total_steps)
    if total_steps <= max_points:
        return np.arange(total_steps, dtype=np.float64)
    return np.unique(np.round(np.linspace(0, total_steps - 1, max_points)))


def rates_of(schedule, steps):
    """The rate at each of ``steps`` (array) for a schedule or a constant rate."""
    steps = np.asarray(steps, dtype=np.float64)
    if callable(schedule):
        return np.asarray(schedule(steps), dtype=np.float64)
    return np.full(steps.shape, float(schedule))


# ------------------------------------------------------------------------ name -> schedule

def schedule_from_name(name, learning_rate, *, decay_steps=None, factor=0.1, power=1.0,
                       boundaries=None, values=None, total_steps=None, anneal_fraction=0.1,
                       warmup_steps=0, alpha=COSINE_ALPHA):
    """The schedule the notebook calls ``name``, made from the library's classes.

    Every length is in optimizer steps. ``name`` is one of :data:`SCHEDULE_NAMES` or
    "performance":

    - "constant": the number ``learning_rate``; "performance" too (a callback lowers it,
      see :func:`budget_callbacks`);
    - "power": ``PowerDecay(learning_rate, decay_steps, power)``;
    - "exponential": ``ExponentialDecay(learning_rate, decay_steps, factor)``;
    - "piecewise constant": ``PiecewiseConstantDecay(boundaries, values)``, the values
      ``learning_rate * factor**i`` unless given;
    - "step decay": ``StepDecay(learning_rate, decay_steps, factor)``;
    - "1cycle": ``OneCycle(learning_rate, total_steps, anneal_fraction=anneal_fraction)``;
    - "cosine warm-up": ``CosineDecay(WARMUP_START * learning_rate, total_steps - warmup_steps,
      alpha, warmup_target=learning_rate, warmup_steps=warmup_steps)``: up to
      ``learning_rate`` in ``warmup_steps`` steps, then down along a cosine until ``total_steps``;
    - "cosine restarts": ``CosineDecayRestarts(learning_rate, decay_steps, t_mul=2.0,
      alpha=alpha)``, periods of ``decay_steps``, twice that, four times...;
    - "polynomial": ``PolynomialDecay(learning_rate, total_steps, factor * learning_rate,
      power)``, from ``learning_rate`` to ``factor`` times it at ``total_steps``.
    """
    check_choice("name", name, SCHEDULE_NAMES + ("performance",))
    learning_rate = check_positive("learning_rate", learning_rate)
    if name in ("constant", "performance"):
        return learning_rate
    if name == "power":
        return schedules.PowerDecay(learning_rate, decay_steps, power=power)
    if name == "exponential":
        return schedules.ExponentialDecay(learning_rate, decay_steps, factor)
    if name == "piecewise constant":
        if boundaries is None:
            raise ValueError("boundaries must be given for the 'piecewise constant' schedule; "
                             "got None.")
        if values is None:
            values = [learning_rate * factor ** i for i in range(len(boundaries) + 1)]
        return schedules.PiecewiseConstantDecay(boundaries, values)
    if name == "step decay":
        return schedules.StepDecay(learning_rate, decay_steps, factor)
    if name == "cosine warm-up":
        total_steps = check_positive("total_steps", total_steps)
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(f"warmup_steps must be in [0, total_steps) = [0, {total_steps:g}); "
                             f"got {warmup_steps!r}.")
        return schedules.CosineDecay(WARMUP_START * learning_rate, total_steps - warmup_steps,
                                     alpha=alpha, warmup_target=learning_rate,
                                     warmup_steps=warmup_steps)
    if name == "cosine restarts":
        return schedules.CosineDecayRestarts(learning_rate, decay_steps, t_mul=2.0, alpha=alpha)
    if name == "polynomial":
        return schedules.PolynomialDecay(learning_rate, total_steps, factor * learning_rate,
                                         power=power)
    return schedules.OneCycle(learning_rate, total_steps, anneal_fraction=anneal_fraction)


def schedule_in_epochs(name, learning_rate, epochs, steps_per_epoch, *, decay_epochs=10.0,
                       factor=0.1, power=1.0, anneal_fraction=0.1, warmup_epochs=2):
    """The schedule ``name`` (one of :data:`SCHEDULE_NAMES`) with its lengths given in epochs.

    Parameters
    ----------
    learning_rate : float
        The initial rate (the maximum rate for 1cycle).
    epochs, steps_per_epoch : int
        The training the schedule is made for (1cycle spans exactly these epochs).
    decay_epochs : float
        s for power and exponential scheduling; the drop interval of step decay; the first
        boundary of the piecewise constant schedule (the second is at 3 * decay_epochs); the
        first period of cosine restarts.
    factor : float in (0, 1]
        Decay rate of exponential scheduling (per s), factor of step decay, the ratio
        between consecutive values of the piecewise constant schedule, and the end rate of
        polynomial decay (as a fraction of the initial rate).
    power : float >= 0
        c of power scheduling; the power of polynomial decay.
    anneal_fraction : float in (0, 1)
        Share of training spent annealing at the end of 1cycle.
    warmup_epochs : float >= 0
        Length of the warm-up before the cosine (less than ``epochs``).

    Returns a float (``"constant"``) or a :class:`course_lib.schedules.LearningRateSchedule`.
    """
    check_choice("name", name, SCHEDULE_NAMES)
    epochs = check_positive("epochs", epochs, integer=True)
    spe = check_positive("steps_per_epoch", steps_per_epoch, integer=True)
    decay_steps = check_positive("decay_epochs", decay_epochs) * spe
    # A step equal to a boundary still gets the earlier value (Keras), so a boundary is the
    # last step of the epoch before the change.
    first = int(round(decay_epochs * spe))
    warmup_steps = int(round(check_number("warmup_epochs", warmup_epochs, low=0.0) * spe))
    return schedule_from_name(name, learning_rate, decay_steps=decay_steps, factor=factor,
                              power=power, boundaries=[first - 1, 3 * first - 1],
                              total_steps=epochs * spe, anneal_fraction=anneal_fraction,
                              warmup_steps=min(warmup_steps, epochs * spe - 1))


def budget_schedule(name, learning_rate, epochs, steps_per_epoch):
    """A schedule of each kind scaled to a training budget of ``epochs`` epochs.

    Every length is a fraction of the budget, so the schedule does its whole job within the
    training, whatever its length. ``"constant"`` and ``"performance"`` give the constant
    rate (performance scheduling is a callback: :func:`budget_callbacks`).
    """
    epochs = check_positive("epochs", epochs, integer=True)
    spe = check_positive("steps_per_epoch", steps_per_epoch, integer=True)
    total = epochs * spe
    first, second = max(1, round(epochs / 6)), max(2, round(epochs / 2))
    lengths = {
        "power": dict(decay_steps=total / 6.0),                   # ends near lr0 / 7
        "exponential": dict(decay_steps=total / 2.0, factor=0.1),  # ends at lr0 / 100
        "piecewise constant": dict(                                # after 1/6 and 1/2 of it
            boundaries=[first * spe - 1, second * spe - 1],
            values=[learning_rate, learning_rate / 2.0, learning_rate / 10.0]),
        "step decay": dict(decay_steps=total / 6.0, factor=0.5),   # halve every sixth
        "1cycle": dict(total_steps=total),                         # the whole budget
        "cosine warm-up": dict(total_steps=total,                  # warm up for a tenth
                               warmup_steps=max(1, round(total / 10))),
        "cosine restarts": dict(decay_steps=total / 15.0),         # 1 + 2 + 4 + 8 fifteenths
        "polynomial": dict(total_steps=total, factor=0.01, power=2.0),   # ends at lr0 / 100
    }
    return schedule_from_name(name, learning_rate, **lengths.get(name, {}))


def budget_callbacks(name, epochs):
    """The callbacks a schedule needs: ReduceLROnPlateau for ``"performance"``, else none."""
    check_choice("name", name, SCHEDULE_NAMES + ("performance",))
    if name == "performance":
        return [ReduceLROnPlateau(factor=0.5, patience=max(1, epochs // 8))]
    return []


# ------------------------------------------------------------------------ training on the digits

def digits_layers(hidden=64):
    """The notebook's network: 64 pixels -> ``hidden`` ReLU units -> 10 softmax outputs."""
    return [Dense(hidden, activation="relu"), Dense(10, activation="softmax")]


class StepLog(Callback):
    """Records, for every optimizer step, the learning rate it used and its batch loss.

    ``rates[i]`` is read from the optimizer just before step i (a schedule is evaluated at
    the step count, as in the optimizer itself); ``losses[i]`` is that batch's loss.
    """

    def on_train_begin(self, logs=None):
        self.rates = []
        self.losses = []

    def on_batch_begin(self, batch, logs=None):
        self.rate = float(self.model.optimizer.current_learning_rate)

    def on_batch_end(self, batch, logs=None):
        self.rates.append(self.rate)
        self.losses.append(float(logs["loss"]))


class DryRun(Callback):
    """Runs another callback but cancels its request to stop training.

    ``would_stop_at`` is the first (0-based) epoch at which ``callback`` asked to stop, or
    ``None``: the run continues, so one can see what stopping there would have missed.
    """

    def __init__(self, callback):
        if not isinstance(callback, Callback):
            raise TypeError(f"callback must be a Callback; got {type(callback).__name__}.")
        self.callback = callback
        self.would_stop_at = None

    def set_model(self, model):
        super().set_model(model)
        self.callback.set_model(model)

    def on_train_begin(self, logs=None):
        self.would_stop_at = None
        self.callback.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self.callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.callback.on_epoch_end(epoch, logs)
        if self.model.stop_training:
            if self.would_stop_at is None:
                self.would_stop_at = epoch
            self.model.stop_training = False

    def on_train_end(self, logs=None):
        self.callback.on_train_end(logs)


#: Runs without callbacks, by their settings: a run is a pure function of them, so the
#: notebook's comparison over seeds reuses the runs its sections made (at most this many kept).
_RUNS, _MAX_RUNS = {}, 256


def _run_key(learning_rate, *settings):
    if isinstance(learning_rate, schedules.LearningRateSchedule):
        rate = json.dumps(schedules.serialize(learning_rate), sort_keys=True)
    else:
        rate = float(learning_rate)
    return (rate, *settings)


def train_digits(learning_rate, epochs, *, batch_size=32, momentum=0.9, callbacks=(),
                 n_train=None, hidden=64, seed=0, verbose=0):
    """Train :func:`digits_layers` on the course's digits split with SGD (momentum).

    ``learning_rate`` is a float or a schedule, evaluated per optimizer step; ``verbose=1``
    shows a progress bar. Returns ``(model, history, step_log)`` (a :class:`StepLog`); a
    diverging run stops (``history.diverged_at``). A run without callbacks is computed once
    per setting and then shared: treat what it returns as read-only.
    """
    key = None
    if not callbacks and not verbose:
        key = _run_key(learning_rate, epochs, batch_size, momentum, n_train, hidden, seed)
        if key in _RUNS:
            return _RUNS[key]
    log = StepLog()
    callbacks = [log, *callbacks] + ([ProgressBar(epochs)] if verbose else [])
    # A diverging run may overflow in the validation forward pass before fit notices it.
    optimizer = SGD(learning_rate, momentum=momentum)
    with np.errstate(over="ignore", invalid="ignore"):
        model, history = train_on_digits(digits_layers(hidden), optimizer, epochs=epochs,
                                         batch_size=batch_size, seed=seed, n_train=n_train,
                                         callbacks=callbacks)
    result = (model, history, log)
    if key is not None:
        if len(_RUNS) >= _MAX_RUNS:
            _RUNS.pop(next(iter(_RUNS)))          # the oldest
        _RUNS[key] = result
    return result


# ------------------------------------------------------------------------ several seeds

def val_loss_over_seeds(learning_rate, epochs, seeds, *, batch_size=32, callbacks=()):
    """The validation loss after every epoch of :func:`train_digits`, once per seed.

    Returns an array of shape (len(seeds), epochs); a run that diverged is NaN from the
    epoch it diverged in. ``learning_rate`` (a rate or a schedule) and ``callbacks`` are
    shared by the runs: a schedule is a pure function of the step, and the callbacks of
    the course start afresh in ``on_train_begin``.
    """
    epochs = check_positive("epochs", epochs, integer=True)
    curves = np.full((len(seeds), epochs), np.nan)
    for i, seed in enumerate(seeds):
        _, history, _ = train_digits(learning_rate, epochs, batch_size=batch_size,
                                     callbacks=callbacks, seed=seed)
        values = history.history.get("val_loss", [])   # absent if it diverged in epoch 1
        curves[i, :len(values)] = values
    return curves


# ------------------------------------------------------------------------ range test

@dataclass
class RangeTest:
    """Result of :func:`lr_range_test`: per step, the rate used and the batch loss.

    ``losses`` is the median over the seeds of each step's batch loss; ``smoothed`` an
    exponential moving average of it (bias-corrected), which is what one reads the curve
    from; ``per_seed`` (seeds, steps) each seed's own smoothed curve, to draw the spread.
    """

    rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    per_seed: np.ndarray = None

    @property
    def best_index(self) -> int:
        """Step of the lowest smoothed loss."""
        return int(np.argmin(self.smoothed))

    @property
    def rate_at_minimum(self) -> float:
        """The rate at which the smoothed loss is lowest (training is about to blow up)."""
        return float(self.rates[self.best_index])

    def suggested_max_rate(self, divisor=10.0) -> float:
        """A rate for 1cycle's peak: ``divisor`` times below the rate at the minimum."""
        return self.rate_at_minimum / check_positive("divisor", divisor)


def smooth(values, beta=0.8):
    """Bias-corrected exponential moving average of ``values`` (shape (n,) -> (n,)):
    a_i = beta a_(i-1) + (1 - beta) v_i, reported as a_i / (1 - beta^(i+1))."""
    values = np.asarray(values, dtype=np.float64)
    beta = check_number("beta", beta, low=0.0, high=1.0, high_inclusive=False)
    smoothed = []
    average = 0.0
    for i, value in enumerate(values):
        average = beta * average + (1.0 - beta) * value
        smoothed.append(average / (1.0 - beta ** (i + 1)))
    return np.array(smoothed)


def lr_range_test(start=1e-4, end=10.0, *, epochs=1, batch_size=32, momentum=0.9,
                  blow_up=4.0, beta=0.8, seeds=(0,)):
    """The learning-rate range test: one epoch whose rate grows exponentially, per seed.

    The rate goes from ``start`` at the first step to ``end`` at the last one (an
    ``ExponentialDecay`` whose "decay" rate end/start is above 1); each step's batch loss is
    recorded for every seed of ``seeds``, and the curve read is the median over the seeds
    (one run's minimum moves by a factor of three from seed to seed). The curve is cut
    where the smoothed loss exceeds ``blow_up`` times its minimum (or a run diverged).
    Returns a :class:`RangeTest`.
    """
    start, end = check_positive("start", start), check_positive("end", end)
    if end <= start:
        raise ValueError(f"end must be larger than start; got start={start}, end={end}.")
    if len(seeds) < 1:
        raise ValueError(f"seeds must hold at least one seed; got {seeds!r}.")
    n_steps = epochs * steps_per_epoch(len(digits().x_train), batch_size)
    growth = schedules.ExponentialDecay(start, decay_steps=max(n_steps - 1, 1),
                                        decay_rate=end / start)
    losses = np.full((len(seeds), n_steps), np.inf)   # a diverged run's loss is unbounded
    for i, seed in enumerate(seeds):
        _, _, log = train_digits(growth, epochs, batch_size=batch_size, momentum=momentum,
                                 seed=seed)
        losses[i, :len(log.losses)] = log.losses
    rates = growth(np.arange(n_steps))
    median = np.median(losses, axis=0)
    smoothed = smooth(median, beta)
    exploded = np.nonzero(~(smoothed <= blow_up * np.minimum.accumulate(smoothed)))[0]
    keep = n_steps
    if len(exploded):    # keep the first exploded step if it is a number, to show the turn
        keep = int(exploded[0]) + int(np.isfinite(smoothed[exploded[0]]))
    per_seed = np.array([smooth(run, beta) for run in losses])[:, :keep]
    return RangeTest(rates[:keep], median[:keep], smoothed[:keep], per_seed)
