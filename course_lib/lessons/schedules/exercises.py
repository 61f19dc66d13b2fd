"""Exercises of the notebook on learning-rate schedules and callbacks.

1. ``one_cycle(step, ...)``: the 1cycle learning rate at one optimizer step.
2. ``plateau_learning_rates(val_losses, ...)``: the rate ReduceLROnPlateau sets for every
   epoch, given the validation losses the run produced.
3. ``pick_max_rate(rates, losses)``: read the learning-rate range test and choose 1cycle's
   maximum rate; checked against the range test the notebook ran.
4. ``warmup_cosine(step, ...)``: a linear warm-up, then cosine decay, at one step (the
   exercise itself is in :mod:`.warmup_exercise`).
5. An experiment: choose 1cycle's peak rate by validation (the runs are in
   :mod:`.peak_choice`).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..exercise import Case, CheckResult, Exercise, Mistake
from .runs import smooth

# ----------------------------------------------------------------------------- 1cycle


def one_cycle_reference(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
    """The 1cycle rate at ``step`` (an int >= 0); returns a float.

    With c = (1 - anneal_fraction) * total_steps and h = c / 2: linear from initial_lr to
    max_lr over steps 0..h, back to initial_lr over h..c, then linear to final_lr over
    c..total_steps; final_lr after that.
    """
    cycle = (1.0 - anneal_fraction) * total_steps
    half = cycle / 2.0
    if step <= half:
        return initial_lr + (max_lr - initial_lr) * step / half
    if step <= cycle:
        return max_lr + (initial_lr - max_lr) * (step - half) / half
    if step <= total_steps:
        return initial_lr + (final_lr - initial_lr) * (step - cycle) / (total_steps - cycle)
    return final_lr


def _peak_at_half_of_training(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
    cycle = (1.0 - anneal_fraction) * total_steps
    half = total_steps / 2.0
    if step <= half:
        return initial_lr + (max_lr - initial_lr) * step / half
    if step <= cycle:
        return max_lr + (initial_lr - max_lr) * (step - half) / (cycle - half)
    if step <= total_steps:
        return initial_lr + (final_lr - initial_lr) * (step - cycle) / (total_steps - cycle)
    return final_lr


def _symmetric_triangle(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
    half = total_steps / 2.0
    if step <= half:
        return initial_lr + (max_lr - initial_lr) * step / half
    if step <= total_steps:
        return max_lr + (initial_lr - max_lr) * (step - half) / half
    return initial_lr


def _no_annealing(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
    cycle = (1.0 - anneal_fraction) * total_steps
    if step <= cycle:
        return one_cycle_reference(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction)
    return initial_lr


def _anneal_to_zero(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
    return one_cycle_reference(step, max_lr, total_steps, initial_lr, 0.0, anneal_fraction)


def _warm_up_from_zero(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
    cycle = (1.0 - anneal_fraction) * total_steps
    half = cycle / 2.0
    if step <= half:
        return max_lr * step / half
    return one_cycle_reference(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction)


def _keeps_going_after_the_end(step, max_lr, total_steps, initial_lr, final_lr,
                               anneal_fraction=0.1):
    cycle = (1.0 - anneal_fraction) * total_steps
    if step <= total_steps:
        return one_cycle_reference(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction)
    return initial_lr + (final_lr - initial_lr) * (step - cycle) / (total_steps - cycle)


def _rounded_phases(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
    cycle = int((1.0 - anneal_fraction) * total_steps)
    half = cycle // 2
    if step <= half:
        return initial_lr + (max_lr - initial_lr) * step / half
    if step <= cycle:
        return max_lr + (initial_lr - max_lr) * (step - half) / (cycle - half)
    if step <= total_steps:
        return initial_lr + (final_lr - initial_lr) * (step - cycle) / (total_steps - cycle)
    return final_lr


def _as_array(value):
    """A list of numbers as a float array (for feedback by index); anything else unchanged."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return value


def _returning_array(fn):
    """``fn`` with its result turned into an array when it is a list of numbers."""
    def wrapped(*args, **kwargs):
        return _as_array(fn(*args, **kwargs))
    wrapped.__name__ = getattr(fn, "__name__", "fn")
    return wrapped


def _over_steps(scalar_fn):
    """Call a learner's scalar ``fn(step, **params)`` at every step of a case (an array)."""
    def evaluate(steps, params):
        return _as_array([scalar_fn(int(step), **params) for step in steps])
    evaluate.__name__ = getattr(scalar_fn, "__name__", "fn")
    return evaluate


def _one_cycle_cases():
    long_run = dict(max_lr=0.1, total_steps=1200, initial_lr=0.01, final_lr=1e-5,
                    anneal_fraction=0.1)
    odd = dict(max_lr=0.5, total_steps=101, initial_lr=0.05, final_lr=5e-4, anneal_fraction=0.2)
    short_anneal = dict(max_lr=2.0, total_steps=40, initial_lr=0.2, final_lr=0.01,
                        anneal_fraction=0.05)
    return [
        Case("30 epochs of 40 steps, max 0.1",
             ([0, 1, 100, 270, 539, 540, 541, 600, 800, 1079, 1080, 1081, 1150, 1199, 1200, 1500],
              long_run)),
        Case("101 steps, cycle ending at step 80.8", (list(range(0, 111, 3)), odd)),
        Case("40 steps, short annealing", (list(range(0, 45)), short_anneal)),
    ]


ONE_CYCLE = Exercise(
    "one_cycle(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction)",
    _over_steps(one_cycle_reference),
    _one_cycle_cases(),
    mistakes=[
        Mistake("the rate peaks at total_steps / 2. The peak is the middle of the cycle, "
                "c / 2 with c = (1 - anneal_fraction) * total_steps: the last anneal_fraction "
                "of training is the separate annealing phase.",
                _over_steps(_peak_at_half_of_training)),
        Mistake("this is a symmetric triangle over the whole run: the annealing phase is "
                "missing. Go up over the first c/2 steps, down to initial_lr at "
                "c = (1 - anneal_fraction) * total_steps, then down to final_lr over the rest.",
                _over_steps(_symmetric_triangle)),
        Mistake("after the cycle the rate stays at initial_lr. The last anneal_fraction of "
                "training goes linearly from initial_lr down to final_lr.",
                _over_steps(_no_annealing)),
        Mistake("the annealing phase ends at 0 instead of final_lr.",
                _over_steps(_anneal_to_zero)),
        Mistake("the warm-up starts from 0. It starts from initial_lr (usually max_lr / 10).",
                _over_steps(_warm_up_from_zero)),
        Mistake("after total_steps the rate keeps falling (and becomes negative). Past the "
                "end of training it stays at final_lr.",
                _over_steps(_keeps_going_after_the_end)),
        Mistake("the phase lengths were rounded to whole steps (int or //). Keep "
                "c = (1 - anneal_fraction) * total_steps and c / 2 as real numbers: a "
                "schedule is a function of the step, and the boundaries need not be integers.",
                _over_steps(_rounded_phases)),
    ],
    rtol=1e-9, atol=1e-12,
)


SYMMETRIC_WITHOUT_ANNEALING = (
    "your rate rises and falls symmetrically but never anneals: 1cycle is not only a triangle. "
    "Its last anneal_fraction of training is a third phase that goes from initial_lr down to "
    "final_lr (about 1000 times lower), so the rate at total_steps is final_lr, far below "
    "initial_lr.")


def _symmetric_without_annealing(fn):
    """Whether ``fn`` draws a symmetric rise and fall and stays at or above initial_lr at the
    end of training (any peak position, any value after the end): a 1cycle without its
    annealing phase, in whichever of its several forms."""
    params = dict(max_lr=0.1, total_steps=200, initial_lr=0.01, final_lr=1e-5, anneal_fraction=0.1)
    try:
        rates = np.array([float(fn(step, **params)) for step in range(201)])
    except Exception:   # the learner's code may raise anything; the main check reports it
        return False
    if not np.all(np.isfinite(rates)) or rates[-1] < 0.5 * params["initial_lr"]:
        return False
    peak = int(np.argmax(rates))
    if not 0 < peak < 200 or not math.isclose(rates[peak], params["max_lr"], rel_tol=0.05):
        return False
    reach = min(peak, 200 - peak)
    before, after = rates[peak - reach:peak + 1], rates[peak:peak + reach + 1][::-1]
    return bool(np.allclose(before, after, rtol=0.02, atol=1e-4))


def check_one_cycle(fn):
    """Check ``fn(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction)``."""
    if not callable(fn):
        return CheckResult(ONE_CYCLE.title, False, f"expected a function; got {type(fn).__name__}.")
    result = ONE_CYCLE.check(_over_steps(fn))
    known = {mistake.explanation for mistake in ONE_CYCLE.mistakes}
    if (not result.passed and result.message not in known and "raised" not in result.message
            and "not implemented" not in result.message and _symmetric_without_annealing(fn)):
        return CheckResult(ONE_CYCLE.title, False, SYMMETRIC_WITHOUT_ANNEALING)
    return result


# ----------------------------------------------------------------------------- plateau


def plateau_reference(val_losses, initial_lr, factor=0.1, patience=10, cooldown=0, min_lr=0.0,
                      min_delta=0.0):
    """The learning rate used in each epoch by ReduceLROnPlateau(monitor="val_loss").

    val_losses : sequence of length E (epoch e's value is known at the end of epoch e).
    Returns a list of E floats: the rate during epoch e. An epoch improves when its value is
    below the best so far by more than min_delta. After ``patience`` epochs in a row without
    improvement the rate is multiplied by ``factor`` (never below min_lr) from the next epoch
    on. Then, as in Keras, each of the next ``cooldown`` epochs first counts the cooldown down
    by one and holds the count at 0; the epoch in which the cooldown reaches 0 already counts
    (so ``cooldown=1`` changes nothing and ``cooldown=2`` leaves one epoch uncounted).
    """
    lr = float(initial_lr)
    best = math.inf
    wait = 0
    cooldown_left = 0
    rates = []
    for value in val_losses:
        rates.append(lr)                      # the rate this epoch trained with
        if cooldown_left > 0:
            cooldown_left -= 1
            wait = 0
        if value < best - min_delta:
            best = value
            wait = 0
        elif cooldown_left == 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr)
                cooldown_left = cooldown
                wait = 0
    return rates


def _plateau_variant(*, same_epoch=False, compare_previous=False, no_reset=False,
                     ignore_min_lr=False, ignore_cooldown=False, strict_patience=False,
                     reset_best=False, late_after_cooldown=False):
    """A wrong version of the plateau logic, for the checker's known mistakes."""
    def wrong(val_losses, initial_lr, factor=0.1, patience=10, cooldown=0, min_lr=0.0,
              min_delta=0.0):
        lr, best, wait, cooldown_left, rates = float(initial_lr), math.inf, 0, 0, []
        previous = math.inf
        for value in val_losses:
            if not same_epoch:
                rates.append(lr)
            was_cooling = cooldown_left > 0 and not ignore_cooldown
            if was_cooling:
                cooldown_left -= 1
                wait = 0
            in_cooldown = was_cooling if late_after_cooldown else cooldown_left > 0
            in_cooldown = in_cooldown and not ignore_cooldown
            reference = previous if compare_previous else best
            previous = value
            if value < reference - min_delta:
                best = value
                wait = 0
            elif not in_cooldown:
                wait += 1
                if (wait > patience if strict_patience else wait >= patience) and (
                        ignore_min_lr or lr > min_lr):
                    lr = lr * factor if ignore_min_lr else max(lr * factor, min_lr)
                    cooldown_left = cooldown
                    if not no_reset:
                        wait = 0
                    if reset_best:
                        best = math.inf
            if same_epoch:
                rates.append(lr)
        return rates
    return wrong


def _plateau_cases():
    rng = np.random.default_rng(3)
    # a realistic validation curve: falls, then flattens and wobbles
    epochs = np.arange(40)
    realistic = 0.05 + 0.6 * np.exp(-epochs / 4.0) + 0.01 * rng.standard_normal(40)
    return [
        Case("hand-made, patience 2, factor 0.5",
             ([1.0, 0.8, 0.85, 0.9, 0.7, 0.75, 0.72, 0.71, 0.74, 0.76, 0.77, 0.69, 0.7],
              0.1), dict(factor=0.5, patience=2)),
        Case("never improves after epoch 0, min_lr 0.02 (patience 1)",
             ([0.5] + [0.6] * 9, 0.1), dict(factor=0.5, patience=1, min_lr=0.02)),
        Case("cooldown 2, patience 1",
             ([1.0, 1.1, 1.2, 1.3, 0.9, 1.0, 1.0, 1.1, 1.2, 1.3, 1.4], 0.1),
             dict(factor=0.1, patience=1, cooldown=2)),
        Case("a noisy validation curve, patience 3, min_delta 0.005",
             (realistic.round(4).tolist(), 0.05), dict(factor=0.5, patience=3, min_delta=0.005)),
    ]


PLATEAU = Exercise(
    "plateau_learning_rates(val_losses, initial_lr, factor, patience, cooldown, min_lr, min_delta)",
    _returning_array(plateau_reference),
    _plateau_cases(),
    mistakes=[
        Mistake("your rates are one epoch early: the reduction is decided at the END of epoch "
                "e (when its validation loss is known) and applies from epoch e + 1. Append the "
                "epoch's rate before deciding.",
                _returning_array(_plateau_variant(same_epoch=True))),
        Mistake("you compare each value with the previous epoch's. An improvement means "
                "beating the best value so far (by more than min_delta).",
                _returning_array(_plateau_variant(compare_previous=True))),
        Mistake("after a reduction the waiting counter must start again from 0; otherwise "
                "the rate drops at every following epoch.",
                _returning_array(_plateau_variant(no_reset=True))),
        Mistake("the rate went below min_lr. Use max(lr * factor, min_lr), and stop reducing "
                "once lr has reached min_lr.",
                _returning_array(_plateau_variant(ignore_min_lr=True))),
        Mistake("cooldown is ignored: after a reduction, each of the next `cooldown` epochs "
                "counts the cooldown down by one and keeps wait at 0.",
                _returning_array(_plateau_variant(ignore_cooldown=True))),
        Mistake("counting resumes one epoch late after a cooldown. Count the cooldown down "
                "first; the epoch in which it reaches 0 already counts as an epoch without "
                "improvement (Keras: cooldown=1 changes nothing, cooldown=2 skips one epoch).",
                _returning_array(_plateau_variant(late_after_cooldown=True))),
        Mistake("you reduce after patience + 1 epochs. Reduce when the count of epochs "
                "without improvement reaches patience (wait >= patience).",
                _returning_array(_plateau_variant(strict_patience=True))),
        Mistake("the best value was forgotten after a reduction. Keras keeps it: the next "
                "improvement must still beat the best value seen in the whole run.",
                _returning_array(_plateau_variant(reset_best=True))),
    ],
    rtol=1e-9, atol=1e-15,
)


def check_plateau(fn):
    """Check ``fn(val_losses, initial_lr, factor, patience, cooldown, min_lr, min_delta)``."""
    if not callable(fn):
        return CheckResult(PLATEAU.title, False, f"expected a function; got {type(fn).__name__}.")
    return PLATEAU.check(_returning_array(fn))


# ----------------------------------------------------------------------------- range test


class RangeChoiceExercise:
    """Choose 1cycle's maximum rate from a learning-rate range test; accepts a range.

    The accepted range comes from the run itself: between ``low_divisor`` and
    ``high_divisor`` times below the rate at which the smoothed loss was lowest (about ten
    times below it is the usual rule). Anything else gets advice that depends on where the
    choice falls on the curve.
    """

    title = "pick_max_rate(rates, losses)"

    def __init__(self, low_divisor=30.0, high_divisor=6.0):
        self.low_divisor, self.high_divisor = float(low_divisor), float(high_divisor)

    def band(self, range_test):
        """(lowest, highest) accepted rate for a range test (an object with ``rates`` and
        ``smoothed`` arrays, such as ``course_lib.lessons.schedules.runs.RangeTest``)."""
        at_minimum = float(range_test.rates[int(np.argmin(range_test.smoothed))])
        return at_minimum / self.low_divisor, at_minimum / self.high_divisor

    def check(self, fn, range_test):
        """Run ``fn(rates, losses)`` on the test's arrays and judge the rate it returns; then
        on the same curve moved ten times to the right and to the left, so that a fixed number
        read off one plot does not pass."""
        if not callable(fn):
            return self._verdict(False, f"expected a function; got {type(fn).__name__}.")
        rates = np.array(range_test.rates, dtype=float)
        losses = np.array(range_test.losses, dtype=float)
        smoothed = np.array(range_test.smoothed, dtype=float)
        for factor in (1.0, 10.0, 0.1):
            try:
                choice = fn(rates * factor, losses.copy())
            except NotImplementedError:
                return self._verdict(False, "not implemented yet: replace the `raise "
                                            "NotImplementedError` line with your code, then run "
                                            "this cell again.")
            except Exception as err:  # the learner's code may raise anything
                return self._verdict(False, f"your function raised {type(err).__name__}: {err}.")
            if (isinstance(choice, (bool, np.bool_))
                    or not isinstance(choice, (numbers.Real, np.floating))):
                return self._verdict(False, "return one number (a learning rate); got "
                                            f"{type(choice).__name__}.")
            choice = float(choice)
            if not (math.isfinite(choice) and choice > 0):
                return self._verdict(False, f"a learning rate is a positive number; got {choice!r}.")
            advice = self._advice(choice, rates * factor, smoothed)
            if advice is None:
                continue
            if factor == 1.0:
                return self._verdict(False, f"{choice:.3g} {advice}")
            side = "right" if factor > 1 else "left"
            return self._verdict(False, f"on the same range test moved ten times to the {side}, "
                                        f"your function still chose {choice:.3g}, which {advice} "
                                        "Read the rate from `rates` and `losses`; do not return a "
                                        "fixed number.")
        at_minimum = float(rates[int(np.argmin(smoothed))])
        return self._verdict(True, f"your choices follow the curve; on this test the smoothed "
                                   f"loss was lowest at rate {at_minimum:.3g}.")

    def _advice(self, choice, rates, smoothed):
        """Why ``choice`` is not a good peak for this curve, or None when it is."""
        at_minimum = float(rates[int(np.argmin(smoothed))])
        low, high = at_minimum / self.low_divisor, at_minimum / self.high_divisor
        if choice > rates.max():
            return (f"is beyond the last rate of the test ({rates.max():.3g}): the loss had "
                    "already blown up there.")
        if choice >= at_minimum:
            return ("is at or past the bottom of the curve, where the loss is about to blow "
                    "up; 1cycle would peak at an unstable rate. Take a rate about ten times "
                    "lower.")
        if choice > high:
            return ("is close to the bottom of the curve: too little margin before the loss "
                    "blows up (the test's loss also fell partly because training progressed "
                    "during it). Take about ten times below the minimum.")
        if choice < rates.min():
            return "is below the first rate of the test."
        if choice < low:
            return ("is where the loss barely falls yet: 1cycle would spend its budget "
                    "learning slowly. Pick a rate where the loss falls fast, about ten times "
                    "below the minimum.")
        return None

    def _verdict(self, passed, message):
        return CheckResult(self.title, passed, message)


MAX_RATE = RangeChoiceExercise()


def pick_max_rate_reference(rates, losses):
    """One tenth of the rate at the lowest (smoothed) loss of the range test."""
    return float(rates[int(np.argmin(smooth(losses)))] / 10.0)


def check_max_rate(fn, range_test):
    """Check ``fn(rates, losses) -> max_rate`` against the range test that was run."""
    return MAX_RATE.check(fn, range_test)


__all__ = ["ONE_CYCLE", "PLATEAU", "MAX_RATE", "check_one_cycle", "check_plateau",
           "check_max_rate", "one_cycle_reference", "plateau_reference", "pick_max_rate_reference"]


# ----------------------------------------------------------------------------- warm-up + cosine

# Imported after _over_steps, which warmup_exercise uses; the reference is published here
# with the other exercises' (the notebook's solution cell shows it from this module).
from .warmup_exercise import WARMUP_COSINE, warmup_cosine_reference  # noqa: E402,F401


def check_warmup_cosine(fn):
    """Check ``fn(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha)``."""
    if not callable(fn):
        return CheckResult(WARMUP_COSINE.title, False,
                           f"expected a function; got {type(fn).__name__}.")
    return WARMUP_COSINE.check(_over_steps(fn))


# ----------------------------------------------------------------------------- experiment: 1cycle's peak

from .peak_choice import (PEAK_RATE_CHOICE, choose_peak_rate_solution,  # noqa: E402,F401
                          one_cycle_val_loss)


def check_peak_rate_choice(max_learning_rate, seed=0):
    """Score a learner's peak rate for 1cycle on the checker's own runs (the seeds
    ``seeds_from(seed)``, validation loss after the notebook's 30 epochs)."""
    return PEAK_RATE_CHOICE.check(max_learning_rate, seed)


__all__ += ["PEAK_RATE_CHOICE", "check_peak_rate_choice", "choose_peak_rate_solution",
            "one_cycle_val_loss"]
