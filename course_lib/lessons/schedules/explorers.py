"""Explorers and figures of the notebook on learning-rate schedules and callbacks.

Figures (each drawn by one helper, used by the static figures and the explorers alike):

* :func:`plot_rates` -- learning rate against the optimizer step, with the epoch on a
  secondary axis, over exactly the training the schedule is used in;
* :func:`plot_callback_timeline` -- one training run with the events the callbacks reacted to;
* :func:`plot_range_test` -- the learning-rate range test, loss against rate on a log axis;
* :func:`plot_training` -- loss and accuracy against the epoch, the rate on a second axis.

Training helpers (shown in the notebook, so the code read is the code run):
:func:`digits_model`, :class:`StepLog`, :class:`DryRun`, :func:`lr_range_test`.

Explorers: :func:`schedule_explorer` (formulas only, < 100 ms) and
:func:`training_explorer` (retrains a small digits network, < 1 s, cached).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator, NullLocator

from ... import schedules
from ..._validation import check_choice, check_number, check_positive
from ...callbacks import Callback
from ..figures import PALETTE, ROLE_COLORS
from ..explorer import BlitExplorer, Explorer, register

NOTEBOOK = "04_schedules_and_callbacks"

#: The schedules compared in the notebook, in the order they are taught.
SCHEDULE_NAMES = ("constant", "power", "exponential", "piecewise constant", "step decay", "1cycle")

#: One colour per schedule, the same in every figure of the notebook.
SCHEDULE_COLORS = {
    "constant": ROLE_COLORS["baseline"],
    "power": PALETTE["orange"],
    "exponential": PALETTE["blue"],
    "piecewise constant": PALETTE["green"],
    "step decay": PALETTE["sky_blue"],
    "performance": PALETTE["yellow"],
    "1cycle": PALETTE["vermillion"],
}

# Events of the callback timeline.
EVENT_COLORS = {
    "reduce": PALETTE["purple"],
    "stop": PALETTE["black"],
    "checkpoint": PALETTE["green"],
}


def steps_per_epoch(n_examples, batch_size):
    """Optimizer steps in one epoch: the number of mini-batches, ceil(n / batch_size)."""
    n_examples = check_positive("n_examples", n_examples, integer=True)
    batch_size = check_positive("batch_size", batch_size, integer=True)
    return math.ceil(n_examples / batch_size)


def make_schedule(name, learning_rate, epochs, steps_per_epoch, *, decay_epochs=10.0, factor=0.1,
                  power=1.0, anneal_fraction=0.1):
    """The schedule ``name`` with its lengths given in epochs, converted to optimizer steps.

    Parameters
    ----------
    name : one of :data:`SCHEDULE_NAMES`
    learning_rate : float
        The initial rate (the maximum rate for 1cycle).
    epochs, steps_per_epoch : int
        The training the schedule is made for (1cycle spans exactly these epochs).
    decay_epochs : float
        s for power and exponential scheduling; the drop interval of step decay; the first
        boundary of the piecewise constant schedule (the second is at 3 * decay_epochs).
    factor : float in (0, 1]
        Decay rate of exponential scheduling (per s), factor of step decay, and the ratio
        between consecutive values of the piecewise constant schedule.
    power : float >= 0
        c of power scheduling.
    anneal_fraction : float in (0, 1)
        Share of training spent annealing at the end of 1cycle.

    Returns a float (``"constant"``) or a :class:`course_lib.schedules.LearningRateSchedule`.
    """
    check_choice("name", name, SCHEDULE_NAMES)
    learning_rate = check_positive("learning_rate", learning_rate)
    epochs = check_positive("epochs", epochs, integer=True)
    spe = check_positive("steps_per_epoch", steps_per_epoch, integer=True)
    decay_steps = check_positive("decay_epochs", decay_epochs) * spe
    if name == "constant":
        return float(learning_rate)
    if name == "power":
        return schedules.PowerDecay(learning_rate, decay_steps, power=power)
    if name == "exponential":
        return schedules.ExponentialDecay(learning_rate, decay_steps, factor)
    if name == "piecewise constant":
        # A step equal to a boundary still gets the earlier value (Keras), so the boundary
        # is the last step of the epoch before the change.
        first = int(round(decay_epochs * spe))
        return schedules.PiecewiseConstantDecay(
            [first - 1, 3 * first - 1], [learning_rate, learning_rate * factor,
                                         learning_rate * factor ** 2])
    if name == "step decay":
        return schedules.StepDecay(learning_rate, decay_steps, factor)
    return schedules.OneCycle(learning_rate, epochs * spe, anneal_fraction=anneal_fraction)


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


# ------------------------------------------------------------------------ rate figure

def rate_axes(ax, total_steps, steps_per_epoch, *, log=True, title=None):
    """Prepare ``ax`` for learning rate against the step: labels, limits, epoch axis on top.

    The x axis spans exactly ``total_steps`` (the training the schedule is used in); the
    secondary axis converts steps to epochs (step / steps_per_epoch). Returns that axis.
    """
    spe = float(steps_per_epoch)
    ax.set_xlim(0, total_steps)
    ax.set_xlabel("optimizer step (mini-batch)")
    ax.set_ylabel("learning rate")
    if log:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    top = ax.secondary_xaxis("top", functions=(lambda s: s / spe, lambda e: e * spe))
    top.set_xlabel("epoch")
    return top


def plot_rates(ax, curves, total_steps, steps_per_epoch, *, highlight=None, log=True,
               title=None, checked_steps=None, used=None, colors=None):
    """Learning rate against the step for each schedule of ``curves`` (name -> schedule).

    ``curves`` values are schedules or constant rates; names of :data:`SCHEDULE_COLORS`
    (or of ``colors``) get their colour. ``highlight`` draws one curve bold and the others
    thin. ``checked_steps`` marks the steps that a notebook checks against the formula.
    ``used`` maps a name to the rates an optimizer really used at steps 0, 1, ... (e.g.
    ``StepLog.rates``), drawn as dots every few steps on top of the formula's curve.
    Returns a dict name -> (steps, rates) of what was drawn.
    """
    colors = {**SCHEDULE_COLORS, **(colors or {})}
    rate_axes(ax, total_steps, steps_per_epoch, log=log, title=title)
    steps = np.arange(int(total_steps))
    drawn = {}
    for i, (name, schedule) in enumerate(curves.items()):
        rates = rates_of(schedule, steps)
        bold = highlight is None or name == highlight
        color = colors.get(name, f"C{i}")
        ax.plot(steps, rates, color=color, lw=2.2 if bold else 1.0, alpha=1.0 if bold else 0.45,
                label=name, zorder=3 if bold else 2)
        if checked_steps is not None and bold:
            marks = np.asarray(checked_steps)
            ax.plot(marks, rates_of(schedule, marks), "o", color=color, ms=5, mfc="white",
                    zorder=4)
        drawn[name] = (steps, rates)
    for j, (name, rates) in enumerate((used or {}).items()):
        rates = np.asarray(rates, dtype=float)
        every = max(1, len(rates) // 60)
        at = np.arange(j * every // max(1, len(used)), len(rates), every)
        ax.plot(at, rates[at], ".", color=colors.get(name, "black"), mec="black", mew=0.4, ms=5,
                label=f"{name}: rate the optimizer used" if j == 0 else None, zorder=5)
        drawn[f"{name} used"] = (np.arange(len(rates)), rates)
    ax.legend(loc="best")
    return drawn


def rate_figure(curves, total_steps, steps_per_epoch, *, title, highlight=None, log=True,
                checked_steps=None, used=None, colors=None, figsize=(7.0, 3.4)):
    """A new pyplot figure with :func:`plot_rates`; returns (figure, drawn)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=figsize)
    drawn = plot_rates(ax, curves, total_steps, steps_per_epoch, highlight=highlight, log=log,
                       title=title, checked_steps=checked_steps, used=used, colors=colors)
    fig.tight_layout()
    return fig, drawn


class ScheduleExplorer(BlitExplorer):
    """Choose a schedule and its parameters; see its rate over the steps and epochs of the
    training, overlaid (thin) with the other schedules made from the same parameters."""

    MAX_BACKGROUNDS = 64

    def __init__(self, schedule="exponential", learning_rate=0.05, epochs=30, batch_size=32,
                 n_examples=1257, decay_epochs=10, factor=0.1, power=1.0, anneal_fraction=0.1):
        style = {"description_width": "initial"}
        controls = {
            "schedule": widgets.Dropdown(options=SCHEDULE_NAMES, value=schedule,
                                         description="schedule", style=style),
            "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-4, max=0,
                                                    step=0.1, readout_format=".2g",
                                                    description="initial / max rate", style=style),
            "epochs": widgets.IntSlider(value=epochs, min=2, max=60, description="training epochs",
                                        style=style),
            "batch_size": widgets.Dropdown(options=[16, 32, 64, 128, 256], value=batch_size,
                                           description="batch size", style=style),
            "decay_epochs": widgets.IntSlider(value=decay_epochs, min=1, max=30,
                                              description="s / drop every (epochs)", style=style),
            "factor": widgets.FloatSlider(value=factor, min=0.05, max=0.95, step=0.05,
                                          description="decay factor", style=style),
            "power": widgets.FloatSlider(value=power, min=0.0, max=3.0, step=0.25,
                                         description="power c", style=style),
            "anneal_fraction": widgets.FloatSlider(value=anneal_fraction, min=0.05, max=0.5,
                                                   step=0.05, description="1cycle anneal share",
                                                   style=style),
        }
        super().__init__(controls, figsize=(7.5, 3.8), title="Schedule explorer")
        self.n_examples = n_examples
        ax = self.figure.add_subplot(111)
        self.ax = ax
        self._spe = 1.0
        self.lines = {}
        for name in SCHEDULE_NAMES:
            (self.lines[name],) = ax.plot([], [], color=SCHEDULE_COLORS[name], label=name)
        self.animate(*self.lines.values())
        ax.set_yscale("log")
        ax.set_xlabel("optimizer step (mini-batch)")
        ax.set_ylabel("learning rate")
        self.top_axis = ax.secondary_xaxis("top", functions=(lambda s: s / self._spe,
                                                             lambda e: e * self._spe))
        self.top_axis.set_xlabel("epoch")
        (self.headline,) = self.animate(self.figure.text(0.5, 0.99, "", ha="center", va="top",
                                                         fontsize=10))
        ax.legend(handles=list(self.lines.values()), loc="lower left", ncol=2)
        self.figure.subplots_adjust(left=0.11, right=0.97, top=0.78, bottom=0.14)
        # Only the curves and the headline change at every redraw. The frame, the y axis and
        # the legend are rendered once per y range (decades); the x axes (steps and epochs)
        # once per training length over them (:meth:`draw_background`); both are kept as
        # pixels and painted over.
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        self.top_axis.xaxis.set_major_locator(MaxNLocator(7, integer=True))
        ax.xaxis.set_animated(True)
        self.top_axis.set_animated(True)
        self._frames = {}

    _USES = {
        "constant": "uses: rate",
        "power": "uses: rate, s, power c  --  lr0 / (1 + t/s)^c",
        "exponential": "uses: rate, s, decay factor  --  lr0 * factor^(t/s)",
        "piecewise constant": "uses: rate, boundaries at s and 3s, decay factor between values",
        "step decay": "uses: rate, drop every, decay factor  --  lr0 * factor^floor(t/s)",
        "1cycle": "uses: max rate, training length, anneal share",
    }

    def draw(self, schedule, learning_rate, epochs, batch_size, decay_epochs, factor, power,
             anneal_fraction):
        spe = steps_per_epoch(self.n_examples, batch_size)
        self._spe = float(spe)
        total = epochs * spe
        steps = plotted_steps(total)
        low, high = np.inf, 0.0
        for name in SCHEDULE_NAMES:
            sched = make_schedule(name, learning_rate, epochs, spe, decay_epochs=decay_epochs,
                                  factor=factor, power=power, anneal_fraction=anneal_fraction)
            rates = rates_of(sched, steps)
            line = self.lines[name]
            line.set_data(steps, rates)
            chosen = name == schedule
            line.set_linewidth(2.6 if chosen else 1.0)
            line.set_alpha(1.0 if chosen else 0.4)
            line.set_zorder(3 if chosen else 2)
            self.record(name, rates)
            low, high = min(low, rates.min()), max(high, rates.max())
        # Five decades below the first decade above the largest rate (few layouts to cache);
        # a rate that decays further leaves the plot at the bottom edge.
        top = 10.0 ** math.ceil(math.log10(high) + 0.05)
        y_range = (top * 1e-5, top)
        self.layout = (total, spe, y_range)
        self.ax.set_xlim(0, total)
        self.ax.set_ylim(*y_range)
        chosen_rates = self.lines[schedule].get_ydata()
        self.headline.set_text(f"{schedule}: {chosen_rates[0]:.2g} at step 0, "
                               f"{chosen_rates[-1]:.2g} at step {total - 1} "
                               f"({epochs} epochs x {spe} steps)")
        self.set_status(self._USES[schedule])

    def draw_background(self):
        """The frame of the layout's y range with the x axes of its training length drawn
        over it: a new length costs two axes, not a full draw."""
        y_range = self.layout[2]                      # (total steps, steps per epoch, y range)
        if y_range not in self._frames:
            self._render_frames()
        self.canvas.restore_region(self._frames[y_range])
        self.ax.draw_artist(self.ax.xaxis)            # steps and epochs follow the length
        self.figure.draw_artist(self.top_axis)

    def _render_frames(self):
        """Render the frame (y axis, legend) once for every y range the controls allow.

        The largest rate drawn is the initial/max rate, so the top of the y range is one of
        a few decades; rendering them together keeps later redraws free of full draws.
        """
        current = self.ax.get_ylim()
        slider = self.controls["learning_rate"]
        for exponent in range(math.ceil(slider.min + 0.05), math.ceil(slider.max + 0.05) + 1):
            top = 10.0 ** exponent
            self.ax.set_ylim(top * 1e-5, top)
            self.canvas.draw()
            self._frames[(top * 1e-5, top)] = self.canvas.copy_from_bbox(self.figure.bbox)
        self.ax.set_ylim(*current)


@register(NOTEBOOK, ScheduleExplorer)
def schedule_explorer(**kwargs):
    """Explorer: a schedule and its parameters, rate over steps and epochs, with the others."""
    return ScheduleExplorer(**kwargs)


# ------------------------------------------------------------------------ training helpers

@functools.lru_cache(maxsize=4)
def _digits(n_train=None):
    from ...data import digits_splits
    return digits_splits(n_train=n_train)


def digits_model(hidden=64, seed=0):
    """The notebook's network: 64 pixels -> ``hidden`` ReLU units -> 10 softmax outputs."""
    from ...layers import Dense
    from ...model import Sequential
    return Sequential([Dense(hidden, activation="relu"), Dense(10, activation="softmax")],
                      seed=seed)


class StepLog(Callback):
    """Records, for every optimizer step, the learning rate it used and its batch loss.

    ``rates[i]`` is read from the optimizer just before step i (a schedule is evaluated at
    the step count, as in the optimizer itself); ``losses[i]`` is that batch's loss.
    """

    def on_train_begin(self, logs=None):
        self._rates, self._losses = [], []

    def on_batch_begin(self, batch, logs=None):
        self._rates.append(float(self.model.optimizer.current_learning_rate))

    def on_batch_end(self, batch, logs=None):
        self._losses.append(float((logs or {})["loss"]))

    @property
    def rates(self):
        return np.array(self._rates[:len(self._losses)])

    @property
    def losses(self):
        return np.array(self._losses)


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


def train_digits(learning_rate, epochs, *, batch_size=32, momentum=0.9, callbacks=(),
                 n_train=None, hidden=64, seed=0, verbose=0):
    """Train :func:`digits_model` on the course's digits split with SGD (momentum).

    ``learning_rate`` is a float or a schedule, evaluated per optimizer step. Returns
    ``(model, history, step_log)``; a diverging run stops (``history.diverged_at``).
    """
    from ...optimizers import SGD
    data = _digits(n_train)
    model = digits_model(hidden=hidden, seed=seed)
    model.compile(SGD(learning_rate, momentum=momentum), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    log = StepLog()
    # A diverging run may overflow in the validation forward pass before fit notices it.
    with np.errstate(over="ignore", invalid="ignore"):
        history = model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=batch_size,
                            validation_data=(data.x_val, data.y_val),
                            callbacks=[log, *callbacks], verbose=verbose, on_divergence="stop")
    return model, history, log


# ------------------------------------------------------------------------ range test

@dataclass
class RangeTest:
    """Result of :func:`lr_range_test`: per step, the rate used and the batch loss.

    ``smoothed`` is an exponential moving average of the losses (bias-corrected), which
    is what one reads the curve from.
    """

    rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray

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
    out = np.empty_like(values)
    average = 0.0
    for i, value in enumerate(values):
        average = beta * average + (1.0 - beta) * value
        out[i] = average / (1.0 - beta ** (i + 1))
    return out


def lr_range_test(start=1e-4, end=10.0, *, epochs=1, batch_size=32, momentum=0.9,
                  blow_up=4.0, beta=0.8, seed=0):
    """The learning-rate range test: one epoch whose rate grows exponentially.

    The rate goes from ``start`` at the first step to ``end`` at the last one (an
    ``ExponentialDecay`` whose "decay" rate end/start is above 1); each step's batch loss is
    recorded. The curve is cut where the smoothed loss exceeds ``blow_up`` times its
    minimum (or training diverged). Returns a :class:`RangeTest`.
    """
    start, end = check_positive("start", start), check_positive("end", end)
    if end <= start:
        raise ValueError(f"end must be larger than start; got start={start}, end={end}.")
    n_steps = epochs * steps_per_epoch(len(_digits().x_train), batch_size)
    growth = schedules.ExponentialDecay(start, decay_steps=max(n_steps - 1, 1),
                                        decay_rate=end / start)
    _, _, log = train_digits(growth, epochs, batch_size=batch_size, momentum=momentum, seed=seed)
    rates, losses = log.rates, log.losses
    smoothed = smooth(losses, beta)
    exploded = np.nonzero(smoothed > blow_up * np.minimum.accumulate(smoothed))[0]
    keep = len(losses) if len(exploded) == 0 else int(exploded[0]) + 1
    return RangeTest(rates[:keep], losses[:keep], smoothed[:keep])


# ------------------------------------------------------------------------ schedules for a budget

def budget_schedule(name, learning_rate, epochs, steps_per_epoch):
    """A schedule of each kind scaled to a training budget of ``epochs`` epochs.

    Every length is a fraction of the budget, so the schedule does its whole job within
    the training, whatever its length: power (s = epochs/6, ends near lr0/7), exponential
    (s = epochs/2, ends at lr0/100), piecewise constant (lr0, lr0/2, lr0/10 with
    boundaries after 1/6 and 1/2 of the epochs), step decay (halve every epochs/6 epochs),
    1cycle (the whole budget). ``"constant"`` and ``"performance"`` return the constant
    rate (performance scheduling is a callback: :func:`budget_callbacks`).
    """
    epochs = check_positive("epochs", epochs, integer=True)
    spe = check_positive("steps_per_epoch", steps_per_epoch, integer=True)
    total = epochs * spe
    if name in ("constant", "performance"):
        return float(check_positive("learning_rate", learning_rate))
    if name == "power":
        return schedules.PowerDecay(learning_rate, total / 6.0, power=1.0)
    if name == "exponential":
        return schedules.ExponentialDecay(learning_rate, total / 2.0, 0.1)
    if name == "piecewise constant":
        first, second = max(1, round(epochs / 6)), max(2, round(epochs / 2))
        return schedules.PiecewiseConstantDecay(
            [first * spe - 1, second * spe - 1],
            [learning_rate, learning_rate / 2.0, learning_rate / 10.0])
    if name == "step decay":
        return schedules.StepDecay(learning_rate, total / 6.0, 0.5)
    check_choice("name", name, BUDGET_SCHEDULES)
    return schedules.OneCycle(learning_rate, total)


#: The schedules of the comparison: those of :data:`SCHEDULE_NAMES` and performance scheduling.
BUDGET_SCHEDULES = SCHEDULE_NAMES[:-1] + ("performance", "1cycle")


def budget_callbacks(name, epochs):
    """The callbacks a schedule needs: ReduceLROnPlateau for ``"performance"``, else none."""
    from ...callbacks import ReduceLROnPlateau
    if name == "performance":
        return [ReduceLROnPlateau(factor=0.5, patience=max(1, epochs // 8))]
    return []


# ------------------------------------------------------------------------ training figure

def plot_training(axes, runs, *, lr_axis=None):
    """Loss and accuracy curves of several runs against the epoch, rates on a second axis.

    ``axes`` is a pair (loss axes, accuracy axes); ``runs`` maps a label to a dict with
    ``history`` (a History), ``rates`` (rate per step), ``steps_per_epoch`` and ``color``
    (and optionally ``dashes`` for a baseline). Training loss is solid, validation loss
    dashed; rates are drawn thin against the epoch (step / steps_per_epoch) on ``lr_axis``
    (created on the loss axes if None). Returns (lr_axis, drawn) with drawn: name -> array.
    """
    loss_ax, acc_ax = axes
    if lr_axis is None:
        lr_axis = loss_ax.twinx()
    drawn = {}
    for label, run in runs.items():
        values = run["history"].history
        color = run["color"]
        style = run.get("style", "-")
        epochs = np.arange(1, len(values.get("loss", [])) + 1)
        if len(epochs):
            loss_ax.plot(epochs, values["loss"], style, color=color, lw=1.3, alpha=0.8,
                         label=f"{label}: training")
            loss_ax.plot(epochs, values["val_loss"], style, color=color, lw=2.2,
                         label=f"{label}: validation", dashes=(4, 2) if style == "-" else (1, 1.5))
            acc_ax.plot(epochs, values["val_accuracy"], style, color=color, lw=2.0, label=label)
            drawn[f"{label} loss"] = np.asarray(values["loss"])
            drawn[f"{label} val_loss"] = np.asarray(values["val_loss"])
            drawn[f"{label} val_accuracy"] = np.asarray(values["val_accuracy"])
        rates = np.asarray(run["rates"], dtype=float)
        if len(rates):
            x = np.arange(len(rates)) / run["steps_per_epoch"]
            lr_axis.plot(x, rates, color=color, lw=0.9, alpha=0.55, ls=":")
            drawn[f"{label} rate"] = rates
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss (cross-entropy, log scale)")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("validation accuracy")
    lr_axis.set_ylabel("learning rate (dotted)")
    lr_axis.grid(False)
    return lr_axis, drawn


class TrainingExplorer(Explorer):
    """Retrain a small digits network with a chosen schedule; compare with a constant rate.

    600 training examples, batch 64 (10 steps per epoch), SGD with momentum 0.9. Each run is
    cached by its control values, so revisiting a setting is instant.
    """

    N_TRAIN = 600
    BATCH = 64

    retraining = True

    def __init__(self, schedule="1cycle", learning_rate=0.1, epochs=12):
        style = {"description_width": "initial"}
        controls = {
            "schedule": widgets.Dropdown(options=BUDGET_SCHEDULES[1:], value=schedule,
                                         description="schedule", style=style),
            "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-3, max=0.5,
                                                    step=0.125, readout_format=".3g",
                                                    description="initial / max rate", style=style),
            "epochs": widgets.IntSlider(value=epochs, min=4, max=20, step=2,
                                        description="epochs (budget)", style=style),
        }
        super().__init__(controls, figsize=(9.0, 3.8), title="Training explorer")
        self.spe = steps_per_epoch(self.N_TRAIN, self.BATCH)
        fig = self.figure
        self.loss_ax, self.acc_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
        self.lr_ax = self.loss_ax.twinx()
        self.lr_ax.grid(False)
        self.lr_ax.set_yscale("log")
        self.loss_ax.set_yscale("log")
        self.lines = {}
        for role, color, dots in (("baseline", ROLE_COLORS["baseline"], True),
                                  ("schedule", SCHEDULE_COLORS["1cycle"], False)):
            self.lines[role, "loss"], = self.loss_ax.plot([], [], color=color, lw=1.2, alpha=0.8,
                                                          ls=":" if dots else "-")
            self.lines[role, "val_loss"], = self.loss_ax.plot([], [], color=color, lw=2.2,
                                                              dashes=(1, 1.5) if dots else (5, 2))
            self.lines[role, "val_accuracy"], = self.acc_ax.plot([], [], color=color, lw=2.0,
                                                                 ls=":" if dots else "-")
            self.lines[role, "rate"], = self.lr_ax.plot([], [], color=color, lw=1.0, alpha=0.7,
                                                        ls=(0, (1, 2)) if dots else "-.")
        self.loss_ax.set_xlabel("epoch")
        self.loss_ax.set_ylabel("loss (cross-entropy, log scale)")
        self.lr_ax.set_ylabel("learning rate (dash-dot)")
        self.acc_ax.set_xlabel("epoch")
        self.acc_ax.set_ylabel("validation accuracy")
        self.acc_ax.set_title("validation accuracy")
        from matplotlib.lines import Line2D
        ink = PALETTE["black"]
        self.legend = self.acc_ax.legend(
            [Line2D([], [], color=ROLE_COLORS["baseline"], ls=":", lw=2),
             Line2D([], [], color=SCHEDULE_COLORS["1cycle"], lw=2),
             Line2D([], [], color=ink, lw=1.2), Line2D([], [], color=ink, lw=2.2, dashes=(5, 2)),
             Line2D([], [], color=ink, lw=1.0, ls="-.")],
            ["constant rate", "schedule", "training loss", "validation loss",
             "learning rate (right axis)"], loc="lower right", fontsize=8)
        self.warning = self.loss_ax.text(0.02, 0.03, "", transform=self.loss_ax.transAxes,
                                         color=PALETTE["vermillion"], fontsize=9)
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.13, top=0.9, wspace=0.42)
        # Minor ticks of log axes cost most of a redraw; major decades are enough here.
        for axis in (self.loss_ax.yaxis, self.lr_ax.yaxis):
            axis.set_minor_locator(NullLocator())
        for axis in (self.loss_ax.xaxis, self.acc_ax.xaxis):
            axis.set_major_locator(MaxNLocator(6, integer=True))

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def run(schedule, learning_rate, epochs):
        """One training (cached): returns (history, rates per step)."""
        spe = steps_per_epoch(TrainingExplorer.N_TRAIN, TrainingExplorer.BATCH)
        lr = budget_schedule(schedule, learning_rate, epochs, spe)
        _, history, log = train_digits(lr, epochs, batch_size=TrainingExplorer.BATCH,
                                       callbacks=budget_callbacks(schedule, epochs),
                                       n_train=TrainingExplorer.N_TRAIN, seed=0)
        return history, log.rates

    def draw(self, schedule, learning_rate, epochs):
        learning_rate = float(f"{learning_rate:.6g}")   # one cache entry per slider position
        color = SCHEDULE_COLORS[schedule]
        summary, problems = [], []
        losses, accuracies, rates_all = [], [], []
        for role, name in (("baseline", "constant"), ("schedule", schedule)):
            history, rates = self.run(name, learning_rate, epochs)
            h = history.history
            x = np.arange(1, len(h.get("loss", [])) + 1)
            for key in ("loss", "val_loss", "val_accuracy"):
                y = np.asarray(h.get(key, []), dtype=float)
                self.lines[role, key].set_data(x, y)
                self.record(f"{role} {key}", y)
            self.lines[role, "rate"].set_data(np.arange(len(rates)) / self.spe, rates)
            self.record(f"{role} rate", rates)
            if role == "schedule":
                for key in ("loss", "val_loss", "val_accuracy", "rate"):
                    self.lines[role, key].set_color(color)
            losses += [*h.get("loss", []), *h.get("val_loss", [])]
            accuracies += h.get("val_accuracy", [])
            rates_all += list(rates)
            label = "constant rate" if role == "baseline" else name
            if h.get("val_accuracy"):
                summary.append(f"{label}: val acc {h['val_accuracy'][-1]:.3f}, "
                               f"val loss {h['val_loss'][-1]:.3f}")
            if history.diverged_at is not None:
                problems.append(f"{label} diverged (loss NaN/inf) in epoch "
                                f"{history.diverged_at[0] + 1}; its curves end there")
            elif len(h.get("loss", [])) > 1 and h["loss"][-1] > h["loss"][0]:
                problems.append(f"{label} is unstable: its loss ended above the first epoch's "
                                "(rate too high)")
        self.legend.get_texts()[1].set_text(schedule)
        for handle in (self.legend.legend_handles[1],):
            handle.set_color(color)
        for ax in (self.loss_ax, self.acc_ax):
            ax.set_xlim(0, epochs + 0.5)
        if losses:
            low, high = max(min(losses), 1e-4), max(max(losses), 1e-3)
            self.loss_ax.set_ylim(low / 1.5, high * 1.5)
        if accuracies:
            self.acc_ax.set_ylim(max(0.0, min(min(accuracies), 0.85) - 0.03), 1.005)
        if rates_all:
            self.lr_ax.set_ylim(min(rates_all) / 2.0, max(rates_all) * 3.0)
        self.loss_ax.set_title(f"{schedule} vs constant rate {learning_rate:.3g} "
                               f"({epochs} epochs x {self.spe} steps)")
        text = "; ".join(problems)
        self.warning.set_text(text)
        self.set_status(" | ".join(summary + ([text] if text else [])))


@register(NOTEBOOK, TrainingExplorer)
def training_explorer(**kwargs):
    """Explorer: digits network trained with the chosen schedule vs a constant-rate baseline."""
    return TrainingExplorer(**kwargs)


# ------------------------------------------------------------------------ callback timeline

def plot_callback_timeline(axes, history, *, reductions=(), would_stop_at=None,
                           saved_epochs=(), kept_epoch=None, monitor="val_loss"):
    """One training run as a timeline of the events its callbacks reacted to.

    ``axes``: three axes sharing the epoch axis (losses, learning rate, events). Epochs are
    drawn 1-based, as the progress bar counts them; the callbacks' own records are 0-based
    (``reductions`` holds (epoch, old_lr, new_lr); ``would_stop_at``, ``saved_epochs`` and
    ``kept_epoch`` are epochs). Returns a dict of the arrays drawn.
    """
    loss_ax, lr_ax, event_ax = axes
    values = history.history
    epochs = np.arange(1, len(values[monitor]) + 1)
    drawn = {"loss": np.asarray(values["loss"]), monitor: np.asarray(values[monitor]),
             "learning_rate": np.asarray(values["learning_rate"])}
    loss_ax.plot(epochs, values["loss"], color=ROLE_COLORS["train"], label="training loss")
    loss_ax.plot(epochs, values[monitor], color=ROLE_COLORS["val"], label=f"{monitor} (monitored)")
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("loss (cross-entropy)")
    # the rate used during epoch e (1-based) spans e - 1 .. e: a drop decided at the end of
    # epoch e shows at x = e, on the event's line
    lr_ax.stairs(values["learning_rate"], np.arange(len(epochs) + 1), color=ROLE_COLORS["lr"],
                 lw=1.8, baseline=None)
    lr_ax.set_yscale("log")
    lr_ax.set_ylabel("learning rate")
    fired = [epoch for epoch, _, _ in reductions]
    for ax in axes:
        for epoch in fired:
            ax.axvline(epoch + 1, color=EVENT_COLORS["reduce"], ls="--", lw=1.0, alpha=0.8)
        if would_stop_at is not None:
            ax.axvline(would_stop_at + 1, color=EVENT_COLORS["stop"], lw=1.4)
            ax.axvspan(would_stop_at + 1, epochs[-1] + 0.5, color=PALETTE["grey"], alpha=0.12,
                       lw=0)
    if kept_epoch is not None:
        loss_ax.plot(kept_epoch + 1, values[monitor][kept_epoch], "*", ms=14,
                     color=EVENT_COLORS["checkpoint"], mec="black", label="checkpoint kept")
    loss_ax.legend(loc="upper right")
    rows = {"ModelCheckpoint saved": ([e + 1 for e in saved_epochs], EVENT_COLORS["checkpoint"],
                                      "o"),
            "ReduceLROnPlateau fired": ([e + 1 for e in fired], EVENT_COLORS["reduce"], "v"),
            "EarlyStopping: stop": ([] if would_stop_at is None else [would_stop_at + 1],
                                    EVENT_COLORS["stop"], "X")}
    for row, (name, (xs, color, marker)) in enumerate(rows.items()):
        event_ax.plot(xs, np.full(len(xs), row), marker, color=color, ms=8, ls="none")
    if kept_epoch is not None:
        event_ax.plot(kept_epoch + 1, 0, "*", ms=16, color=EVENT_COLORS["checkpoint"], mec="black")
    event_ax.set_yticks(range(len(rows)), list(rows))
    event_ax.set_ylim(-0.6, len(rows) - 0.4)
    event_ax.grid(axis="y", alpha=0.0)
    event_ax.set_xlabel("epoch (1-based, as the progress bar counts)")
    event_ax.set_xlim(0, epochs[-1] + 0.5)
    return drawn


# ------------------------------------------------------------------------ range-test figure

def plot_range_test(ax, result, *, chosen=None, title=None):
    """Loss against learning rate (log axis) of a :class:`RangeTest`; marks the minimum and,
    if given, the ``chosen`` rate. Returns the arrays drawn."""
    ax.plot(result.rates, result.losses, color=PALETTE["grey"], lw=1.0, marker=".", ms=4,
            label="batch loss")
    ax.plot(result.rates, result.smoothed, color=ROLE_COLORS["train"], lw=2.2,
            label="smoothed (moving average)")
    ax.set_xscale("log")
    ax.axvline(result.rate_at_minimum, color=PALETTE["vermillion"], ls="--", lw=1.2,
               label=f"lowest smoothed loss: {result.rate_at_minimum:.2g}")
    if chosen is not None:
        ax.axvline(chosen, color=PALETTE["green"], lw=2.0, label=f"chosen max rate: {chosen:.2g}")
    ax.set_xlabel("learning rate (log scale), growing at every step")
    ax.set_ylabel("loss (cross-entropy)")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left")
    return {"rates": result.rates, "losses": result.losses, "smoothed": result.smoothed}
