"""Learning-rate schedules: functions from the step number to a learning rate.

A schedule is passed as an optimizer's ``learning_rate``; the optimizer calls it with its
step count (``iterations``, from 0) before each step, as Keras does. Every schedule also
accepts a NumPy array of steps and returns an array of rates of the same shape, so a whole
curve is plotted in one call::

    schedule = ExponentialDecay(0.01, decay_steps=20, decay_rate=0.1)
    schedule(0)                    # 0.01
    schedule(np.arange(100))       # array of shape (100,)

Steps are counted from 0 and must be >= 0. A step can be a mini-batch or an epoch; which
one is up to the caller (``LearningRateScheduler`` calls a schedule once per epoch).
"""
from __future__ import annotations

import numbers

import numpy as np

from course_lib._validation import check_fraction, check_non_negative, check_number, check_positive

__all__ = [
    "LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PowerDecay",
    "PiecewiseConstantDecay", "StepDecay", "OneCycle", "CosineDecay", "CosineDecayRestarts",
    "PolynomialDecay", "serialize", "deserialize",
]


def _check_steps(step):
    """The step(s) as a float64 array (0-d for a scalar); rejects negative or non-finite steps."""
    if isinstance(step, (bool, np.bool_)) or isinstance(step, str):
        raise TypeError(f"step must be a number or an array of numbers; got {step!r}.")
    try:
        steps = np.asarray(step, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"step must be a number or an array of numbers; got {type(step).__name__}.") from None
    if steps.size and not np.all(np.isfinite(steps)):
        raise ValueError("step must be finite; got NaN or inf.")
    if steps.size and steps.min() < 0:
        raise ValueError(f"step must be >= 0 (steps are counted from 0); got {steps.min()!r}.")
    return steps


def _check_steps_length(name, value):
    """A positive number of steps; kept an int when given as one (for a readable repr)."""
    number = check_positive(name, value)
    return int(value) if isinstance(value, numbers.Integral) else number


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


class LearningRateSchedule:
    """Base class. Subclasses implement ``rate(steps)``, the schedule's formula written for a
    1-D float64 array of steps >= 0 (the method a notebook prints), and ``get_config()``;
    ``__call__`` checks the step and handles scalars and arrays.

    A scalar step is computed as a 1-D array of one step, through the same NumPy loops as
    an array of steps: NumPy's scalar arithmetic and its vectorised (SIMD) loops may round
    ``pow`` differently, and ``schedule(k)`` must equal ``schedule(steps)[k]`` exactly.
    """

    def __call__(self, step):
        """The learning rate at ``step``: a float for a scalar step, an array for an array."""
        steps = _check_steps(step)
        flat = np.array(steps, dtype=np.float64).reshape(-1)   # a contiguous 1-D copy
        with np.errstate(over="ignore"):   # a growing rate may overflow to inf; the optimizer reports it
            rates = np.broadcast_to(np.asarray(self.rate(flat), dtype=np.float64), flat.shape)
        if steps.ndim == 0:
            return float(rates[0])
        return rates.reshape(steps.shape).copy()

    def rate(self, steps):
        """The learning rate at each of ``steps`` (a 1-D float64 array of steps >= 0)."""
        raise NotImplementedError

    def get_config(self) -> dict:
        """Constructor arguments (JSON-serialisable)."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = object.__hash__


class ExponentialDecay(LearningRateSchedule):
    """lr0 * decay_rate^(step / decay_steps): divided by 1/decay_rate every decay_steps.

    With ``staircase=True`` the exponent is floor(step / decay_steps), so the rate drops in
    jumps. Géron's exponential scheduling eta0 * 0.1^(t/s) is ``ExponentialDecay(eta0, s, 0.1)``.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate = check_positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _check_steps_length("decay_steps", decay_steps)
        self.decay_rate = check_positive("decay_rate", decay_rate)
        self.staircase = _check_bool("staircase", staircase)

    def rate(self, steps):
        p = steps / self.decay_steps
        if self.staircase:
            p = np.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase}


class InverseTimeDecay(LearningRateSchedule):
    """lr0 / (1 + decay_rate * step / decay_steps) (Keras); floor(step / decay_steps) if staircase."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate = check_positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _check_steps_length("decay_steps", decay_steps)
        self.decay_rate = check_non_negative("decay_rate", decay_rate)
        self.staircase = _check_bool("staircase", staircase)

    def rate(self, steps):
        p = steps / self.decay_steps
        if self.staircase:
            p = np.floor(p)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase}


class PowerDecay(LearningRateSchedule):
    """Power scheduling: lr0 / (1 + step / decay_steps)^power.

    After k * decay_steps steps the rate is lr0 / (k + 1)^power; with the usual
    ``power=1`` it is ``InverseTimeDecay(lr0, decay_steps, 1.0)``.
    """

    def __init__(self, initial_learning_rate, decay_steps, power=1.0):
        self.initial_learning_rate = check_positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _check_steps_length("decay_steps", decay_steps)
        self.power = check_non_negative("power", power)

    def rate(self, steps):
        return self.initial_learning_rate / (1.0 + steps / self.decay_steps) ** self.power

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "power": self.power}


class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate on each interval between boundaries (Keras semantics).

    values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <= boundaries[i],
    values[-1] once step > boundaries[-1]. Needs len(values) == len(boundaries) + 1.
    Géron's "0.01 for 5 epochs, 0.005 for 10, then 0.001" (epochs 0-4, 5-14, 15-) is
    ``PiecewiseConstantDecay([4, 14], [0.01, 0.005, 0.001])``.
    """

    def __init__(self, boundaries, values):
        boundaries = [check_number(f"boundaries[{i}]", b) for i, b in enumerate(boundaries)]
        values = [check_positive(f"values[{i}]", v) for i, v in enumerate(values)]
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"values must have one more entry than boundaries; got {len(values)} "
                             f"values for {len(boundaries)} boundaries.")
        for i in range(1, len(boundaries)):
            if boundaries[i] <= boundaries[i - 1]:
                raise ValueError(f"boundaries must be strictly increasing; got {boundaries!r}.")
        self.boundaries = boundaries
        self.values = values
        self._boundaries = np.array(boundaries, dtype=np.float64)
        self._values = np.array(values, dtype=np.float64)

    def rate(self, steps):
        # side="left": a step equal to a boundary still belongs to the interval before it
        return self._values[np.searchsorted(self._boundaries, steps, side="left")]

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values)}


class StepDecay(LearningRateSchedule):
    """lr0 * factor^floor(step / drop_every): multiplied by ``factor`` every ``drop_every`` steps.

    The two common recipes, with steps counted in epochs: halve every 5 epochs,
    ``StepDecay(lr0, 5, 0.5)``, or divide by 10 every 20, ``StepDecay(lr0, 20, 0.1)``.
    """

    def __init__(self, initial_learning_rate, drop_every, factor):
        self.initial_learning_rate = check_positive("initial_learning_rate", initial_learning_rate)
        self.drop_every = _check_steps_length("drop_every", drop_every)
        self.factor = check_fraction("factor", factor, include_zero=False, include_one=True)

    def rate(self, steps):
        return self.initial_learning_rate * self.factor ** np.floor(steps / self.drop_every)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "drop_every": self.drop_every,
                "factor": self.factor}


class OneCycle(LearningRateSchedule):
    """The 1cycle schedule (Smith, 2018), piecewise linear in three phases.

    With c = (1 - anneal_fraction) * total_steps (the cycle) and h = c / 2:

    - steps 0 .. h: up from ``initial_learning_rate`` to ``max_learning_rate``;
    - steps h .. c: back down to ``initial_learning_rate``;
    - steps c .. total_steps: down to ``final_learning_rate`` (the last ``anneal_fraction``
      of training, a few orders of magnitude lower);
    - after ``total_steps``: stays at ``final_learning_rate``.

    Defaults: ``initial_learning_rate = max_learning_rate / 10``,
    ``final_learning_rate = initial_learning_rate / 1000``.
    """

    def __init__(self, max_learning_rate, total_steps, initial_learning_rate=None,
                 final_learning_rate=None, anneal_fraction=0.1):
        self.max_learning_rate = check_positive("max_learning_rate", max_learning_rate)
        self.total_steps = _check_steps_length("total_steps", total_steps)
        if initial_learning_rate is None:
            initial_learning_rate = self.max_learning_rate / 10.0
        self.initial_learning_rate = check_number(
            "initial_learning_rate", initial_learning_rate, low=0.0, low_inclusive=False,
            high=self.max_learning_rate)
        if final_learning_rate is None:
            final_learning_rate = self.initial_learning_rate / 1000.0
        self.final_learning_rate = check_positive("final_learning_rate", final_learning_rate)
        self.anneal_fraction = check_fraction("anneal_fraction", anneal_fraction, include_zero=False)

    @property
    def cycle_steps(self) -> float:
        """Length of the up-and-down part, (1 - anneal_fraction) * total_steps."""
        return (1.0 - self.anneal_fraction) * self.total_steps

    @property
    def peak_step(self) -> float:
        """The step where the rate is largest, the middle of the cycle."""
        return self.cycle_steps / 2.0

    def rate(self, steps):
        knots = [0.0, self.peak_step, self.cycle_steps, self.total_steps]
        rates = [self.initial_learning_rate, self.max_learning_rate,
                 self.initial_learning_rate, self.final_learning_rate]
        return np.interp(steps, knots, rates)   # constant (the last rate) after total_steps

    def get_config(self):
        return {"max_learning_rate": self.max_learning_rate, "total_steps": self.total_steps,
                "initial_learning_rate": self.initial_learning_rate,
                "final_learning_rate": self.final_learning_rate,
                "anneal_fraction": self.anneal_fraction}


class CosineDecay(LearningRateSchedule):
    """Cosine decay (Loshchilov & Hutter, 2016), after an optional linear warm-up (Keras semantics).

    Without ``warmup_target`` the rate falls from lr0 = ``initial_learning_rate`` to
    ``alpha * lr0`` along half a cosine over ``decay_steps`` steps, then stays there:

        lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(t, decay_steps) / decay_steps)) + alpha)

    With ``warmup_target`` the rate first rises linearly from ``initial_learning_rate`` (often
    0) to ``warmup_target`` over ``warmup_steps`` steps (step ``warmup_steps - 1`` is the last
    warm-up step); the cosine then starts at ``warmup_target``, its step counted from the end
    of the warm-up, and ends at ``alpha * warmup_target``.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
                 warmup_steps=0):
        self.decay_steps = _check_steps_length("decay_steps", decay_steps)
        self.alpha = check_fraction("alpha", alpha, include_one=True)
        if warmup_target is None:
            self.initial_learning_rate = check_positive("initial_learning_rate", initial_learning_rate)
            if warmup_steps != 0:
                raise ValueError(f"warmup_steps needs a warmup_target (the rate the warm-up rises "
                                 f"to); got warmup_steps={warmup_steps!r} with warmup_target=None.")
        else:
            warmup_target = check_positive("warmup_target", warmup_target)
            self.initial_learning_rate = check_number(
                "initial_learning_rate", initial_learning_rate, low=0.0, high=warmup_target)
        self.warmup_target = warmup_target
        self.warmup_steps = check_non_negative("warmup_steps", warmup_steps, integer=True)

    def rate(self, steps):
        peak = self.initial_learning_rate if self.warmup_target is None else self.warmup_target
        t = np.minimum(steps, self.warmup_steps + self.decay_steps)
        t_decay = t - self.warmup_steps                  # steps since the warm-up ended
        cosine = 0.5 * (1.0 + np.cos(np.pi * (t_decay / self.decay_steps)))
        decayed = peak * ((1.0 - self.alpha) * cosine + self.alpha)
        if self.warmup_steps == 0:
            return decayed
        lr0 = self.initial_learning_rate
        warmup = (peak - lr0) * (t / self.warmup_steps) + lr0     # a straight line from lr0 to peak
        return np.where(t < self.warmup_steps, warmup, decayed)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts, SGDR (Loshchilov & Hutter, 2016; Keras semantics).

    The first period lasts ``first_decay_steps`` steps and falls from lr0 to ``alpha * lr0``
    along half a cosine; then the rate jumps back up (a restart). Period i lasts
    ``first_decay_steps * t_mul**i`` steps and starts from ``lr0 * m_mul**i``. With
    f = t / first_decay_steps, period i begins where f reaches 1 + t_mul + ... + t_mul**(i-1).

    Keras finds i as floor(log(1 - f (1 - t_mul)) / log(t_mul)); at a restart that quotient
    is a whole number, and the rounding of the two logarithms (which differs between CPUs)
    can leave it just below, putting the restart step at the bottom of the previous period
    (Keras in float64 does so at step 121 of CosineDecayRestarts(1.0, 1, t_mul=3.0)). Adding
    1e-9 before the floor puts every restart
    step at the top of its period; between two steps i grows by far more than 1e-9.
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
        self.initial_learning_rate = check_positive("initial_learning_rate", initial_learning_rate)
        self.first_decay_steps = _check_steps_length("first_decay_steps", first_decay_steps)
        # shorter and shorter periods would add up to a finite length, after which no period is left
        self.t_mul = check_number("t_mul", t_mul, low=1.0)
        self.m_mul = check_positive("m_mul", m_mul)
        self.alpha = check_fraction("alpha", alpha, include_one=True)

    def rate(self, steps):
        fraction = steps / self.first_decay_steps        # in units of the first period
        if self.t_mul == 1.0:
            i_restart = np.floor(fraction)
            fraction = fraction - i_restart
        else:
            i_restart = np.floor(np.log(1.0 - fraction * (1.0 - self.t_mul)) / np.log(self.t_mul)
                                 + 1e-9)
            sum_r = (1.0 - self.t_mul ** i_restart) / (1.0 - self.t_mul)   # periods before
            fraction = (fraction - sum_r) / self.t_mul ** i_restart
        cosine = 0.5 * self.m_mul ** i_restart * (1.0 + np.cos(np.pi * fraction))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha}


class PolynomialDecay(LearningRateSchedule):
    """From lr0 to ``end_learning_rate`` along (1 - t / decay_steps)^power (Keras semantics):

        (lr0 - end_learning_rate) * (1 - min(t, decay_steps) / decay_steps)^power + end_learning_rate

    ``power=1`` is a straight line. With ``cycle=True`` the decay starts again from a
    lower height: the decay length becomes the first multiple of ``decay_steps`` that is
    >= t (``decay_steps`` itself at t = 0), so the rate reaches the end rate at every multiple.
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False):
        self.initial_learning_rate = check_positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _check_steps_length("decay_steps", decay_steps)
        self.end_learning_rate = check_non_negative("end_learning_rate", end_learning_rate)
        self.power = check_non_negative("power", power)
        self.cycle = _check_bool("cycle", cycle)

    def rate(self, steps):
        if self.cycle:
            cycles = np.where(steps == 0, 1.0, np.ceil(steps / self.decay_steps))
            decay_steps = self.decay_steps * cycles
        else:
            decay_steps = self.decay_steps
            steps = np.minimum(steps, decay_steps)
        p = steps / decay_steps
        lr0, end = self.initial_learning_rate, self.end_learning_rate
        return (lr0 - end) * (1 - p) ** self.power + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle}


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, InverseTimeDecay, PowerDecay,
                                            PiecewiseConstantDecay, StepDecay, OneCycle,
                                            CosineDecay, CosineDecayRestarts, PolynomialDecay)}


def serialize(schedule: LearningRateSchedule) -> dict:
    """``{"class_name": ..., "config": ...}``, JSON-serialisable."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"schedule must be a LearningRateSchedule; got {type(schedule).__name__}.")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict) -> LearningRateSchedule:
    """The schedule described by ``serialize``'s output."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(f"config must be a dict with 'class_name' and 'config'; got {config!r}.")
    name = config["class_name"]
    if name not in _SCHEDULES:
        allowed = ", ".join(repr(n) for n in _SCHEDULES)
        raise ValueError(f"class_name must be one of {allowed}; got {name!r}.")
    return _SCHEDULES[name].from_config(config.get("config", {}))
