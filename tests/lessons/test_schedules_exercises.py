"""The five exercises of notebook 04 (schedules and callbacks): references, the library's
own behaviour, and the feedback for each kind of wrong answer; for the experiment (1cycle's
peak chosen by validation), the runs it scores."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import schedules
from course_lib.callbacks import ReduceLROnPlateau
from course_lib.lessons.digits import digits
from course_lib.lessons.schedules import exercises as ex
from course_lib.lessons.schedules import runs
from course_lib.lessons.schedules import warmup_exercise as wx
from course_lib.lessons.schedules.peak_choice import PEAK_BATCH, PEAK_EPOCHS
from course_lib.optimizers import SGD


class CallbackHost:
    """Just what a callback touches: an optimizer, the stop flag and the weights (none)."""

    def __init__(self, lr=0.1):
        self.optimizer = SGD(lr)
        self.stop_training = False

    def get_weights(self):
        return []

    def set_weights(self, weights):
        pass


# ----------------------------------------------------------------------------- exercise 1

def test_one_cycle_reference_matches_the_library():
    for kwargs in ({"max_lr": 0.1, "total_steps": 1200, "initial_lr": 0.01, "final_lr": 1e-5,
                    "anneal_fraction": 0.1},
                   {"max_lr": 0.5, "total_steps": 101, "initial_lr": 0.05, "final_lr": 5e-4,
                    "anneal_fraction": 0.2}):
        library = schedules.OneCycle(kwargs["max_lr"], kwargs["total_steps"],
                                     initial_learning_rate=kwargs["initial_lr"],
                                     final_learning_rate=kwargs["final_lr"],
                                     anneal_fraction=kwargs["anneal_fraction"])
        steps = np.arange(kwargs["total_steps"] + 20)
        reference = [ex.one_cycle_reference(int(t), **kwargs) for t in steps]
        assert np.allclose(reference, library(steps))


def test_one_cycle_accepts_the_reference_and_an_equivalent_solution():
    assert ex.check_one_cycle(ex.one_cycle_reference).passed

    def with_interp(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
        c = (1 - anneal_fraction) * total_steps
        return float(np.interp(step, [0, c / 2, c, total_steps],
                               [initial_lr, max_lr, initial_lr, final_lr]))
    assert ex.check_one_cycle(with_interp).passed


@pytest.mark.parametrize("mistake, scalar", [
    (0, ex._peak_at_half_of_training), (1, ex._symmetric_triangle), (2, ex._no_annealing),
    (3, ex._anneal_to_zero), (4, ex._warm_up_from_zero), (5, ex._keeps_going_after_the_end),
    (6, ex._rounded_phases)])
def test_one_cycle_rejects_each_known_mistake_with_its_advice(mistake, scalar):
    result = ex.check_one_cycle(scalar)
    assert not result.passed
    assert result.message == ex.ONE_CYCLE.mistakes[mistake].explanation


def test_one_cycle_rejects_other_wrong_versions():
    def stub(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
        raise NotImplementedError
    assert "not implemented yet" in ex.check_one_cycle(stub).message

    def constant(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
        return max_lr
    message = ex.check_one_cycle(constant).message
    # where and in which direction, never the expected value
    assert ("case '30 epochs of 40 steps, max 0.1' at index (0,): your value 0.1 is too large"
            in message)
    assert "0.01" not in message

    def cosine(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
        phase = math.pi * min(step, total_steps) / total_steps
        return final_lr + (max_lr - final_lr) * (1 + math.cos(phase)) / 2
    assert "your value" in ex.check_one_cycle(cosine).message

    def crashes(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
        return max_lr / (step - step)
    assert "raised ZeroDivisionError" in ex.check_one_cycle(crashes).message
    assert "expected a function" in ex.check_one_cycle(0.1).message


# A learner's 1cycle that rises and falls symmetrically and never anneals, in several forms:
# the triangle over the whole run or over the cycle, with final_lr or initial_lr after the end.
def _triangle_over_run_then_final(step, max_lr, total_steps, initial_lr, final_lr,
                                  anneal_fraction=0.1):
    if step > total_steps:
        return final_lr
    return float(np.interp(step, [0, total_steps / 2, total_steps], [initial_lr, max_lr, initial_lr]))


def _triangle_over_cycle_then_final(step, max_lr, total_steps, initial_lr, final_lr,
                                    anneal_fraction=0.1):
    cycle = (1 - anneal_fraction) * total_steps
    if step > total_steps:
        return final_lr
    return float(np.interp(step, [0, cycle / 2, cycle], [initial_lr, max_lr, initial_lr]))


def _triangle_with_integer_half(step, max_lr, total_steps, initial_lr, final_lr,
                                anneal_fraction=0.1):
    half = total_steps // 2
    if step <= half:
        return initial_lr + (max_lr - initial_lr) * step / half
    return max(initial_lr, max_lr - (max_lr - initial_lr) * (step - half) / half)


@pytest.mark.parametrize("variant", [_triangle_over_run_then_final,
                                     _triangle_over_cycle_then_final,
                                     _triangle_with_integer_half])
def test_one_cycle_names_a_symmetric_cycle_without_annealing(variant):
    result = ex.check_one_cycle(variant)
    assert not result.passed
    assert result.message == ex.SYMMETRIC_WITHOUT_ANNEALING
    assert "anneal" in result.message and "final_lr" in result.message


def test_symmetric_message_does_not_hide_the_other_advice():
    # the exact known mistakes keep their own, more specific, messages
    assert ex.check_one_cycle(ex._symmetric_triangle).message == ex.ONE_CYCLE.mistakes[1].explanation
    assert ex.check_one_cycle(ex._no_annealing).message == ex.ONE_CYCLE.mistakes[2].explanation
    assert ex.check_one_cycle(ex.one_cycle_reference).passed

    def asymmetric(step, max_lr, total_steps, initial_lr, final_lr, anneal_fraction=0.1):
        # up fast, down slowly, no annealing: not symmetric, so the general feedback
        return float(np.interp(step, [0, total_steps / 4, total_steps],
                               [initial_lr, max_lr, initial_lr]))
    assert ex.check_one_cycle(asymmetric).message != ex.SYMMETRIC_WITHOUT_ANNEALING
    assert ex.check_one_cycle(ex._anneal_to_zero).message != ex.SYMMETRIC_WITHOUT_ANNEALING


# ----------------------------------------------------------------------------- exercise 4

WARMUP_SETTINGS = [
    dict(initial_lr=0.01, peak_lr=0.1, warmup_steps=120, decay_steps=1080, alpha=0.001),
    dict(initial_lr=0.0, peak_lr=1.0, warmup_steps=5, decay_steps=20, alpha=0.2),
    dict(initial_lr=0.05, peak_lr=0.5, warmup_steps=1, decay_steps=10, alpha=0.0),
]


@pytest.mark.parametrize("kwargs", WARMUP_SETTINGS)
def test_warmup_cosine_reference_is_keras_cosine_decay(kwargs):
    library = schedules.CosineDecay(kwargs["initial_lr"], kwargs["decay_steps"], kwargs["alpha"],
                                    warmup_target=kwargs["peak_lr"],
                                    warmup_steps=kwargs["warmup_steps"])
    steps = np.arange(kwargs["warmup_steps"] + kwargs["decay_steps"] + 30)
    reference = [wx.warmup_cosine_reference(int(t), **kwargs) for t in steps]
    np.testing.assert_allclose(reference, library(steps), rtol=1e-12, atol=1e-15)


def test_warmup_cosine_accepts_the_reference_and_the_library():
    assert ex.check_warmup_cosine(wx.warmup_cosine_reference).passed

    def with_the_library(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha=0.0):
        return schedules.CosineDecay(initial_lr, decay_steps, alpha, warmup_target=peak_lr,
                                     warmup_steps=warmup_steps)(step)
    assert ex.check_warmup_cosine(with_the_library).passed


@pytest.mark.parametrize("mistake, scalar", [
    (0, wx._warmup_ends_a_step_early), (1, wx._warmup_over_one_step_less),
    (2, wx._without_alpha), (3, wx._alpha_as_a_rate), (4, wx._cosine_from_step_zero),
    (5, wx._cosine_not_capped)])
def test_warmup_cosine_rejects_each_known_mistake_with_its_advice(mistake, scalar):
    result = ex.check_warmup_cosine(scalar)
    assert not result.passed
    assert result.message == wx.WARMUP_COSINE.mistakes[mistake].explanation


def test_warmup_cosine_mistakes_are_the_slips_they_name():
    kwargs = WARMUP_SETTINGS[0]
    ref = wx.warmup_cosine_reference
    # off by one: the peak one step early
    assert wx._warmup_ends_a_step_early(119, **kwargs) == pytest.approx(0.1)
    assert ref(119, **kwargs) < 0.1 and ref(120, **kwargs) == pytest.approx(0.1)
    # forgetting alpha: ends at 0 instead of alpha * peak
    assert wx._without_alpha(1200, **kwargs) == pytest.approx(0.0, abs=1e-15)
    assert ref(1200, **kwargs) == pytest.approx(1e-4)
    # the cosine from step 0: already below the peak when the warm-up ends
    assert wx._cosine_from_step_zero(120, **kwargs) < 0.1


def test_warmup_cosine_other_wrong_versions():
    def stub(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha=0.0):
        raise NotImplementedError
    assert "not implemented yet" in ex.check_warmup_cosine(stub).message

    def linear_decay(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha=0.0):
        if step < warmup_steps:
            return initial_lr + (peak_lr - initial_lr) * step / warmup_steps
        t = min(step - warmup_steps, decay_steps)
        return peak_lr * ((1 - alpha) * (1 - t / decay_steps) + alpha)
    message = ex.check_warmup_cosine(linear_decay).message
    assert "your value" in message and "too" in message
    assert not any(m.explanation == message for m in wx.WARMUP_COSINE.mistakes)
    assert "expected a function" in ex.check_warmup_cosine(0.1).message


# ----------------------------------------------------------------------------- exercise 2

def _run_plateau(val_losses, initial_lr=0.1, **kwargs):
    """ReduceLROnPlateau driven by hand: (the rate of each epoch, the epochs it fired at)."""
    model = CallbackHost(initial_lr)
    callback = ReduceLROnPlateau(**kwargs)
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for epoch, value in enumerate(val_losses):
        rates.append(model.optimizer.current_learning_rate)
        callback.on_epoch_end(epoch, {"val_loss": value})
    return rates, [epoch for epoch, _, _ in callback.reductions]


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=40),
       factor=st.sampled_from([0.1, 0.5, 0.9]), patience=st.integers(0, 4),
       cooldown=st.integers(0, 3), min_lr=st.sampled_from([0.0, 0.01, 0.05]),
       min_delta=st.sampled_from([0.0, 1e-4, 0.05]))
def test_plateau_reference_matches_the_library_callback(values, factor, patience, cooldown,
                                                        min_lr, min_delta):
    kwargs = dict(factor=factor, patience=patience, cooldown=cooldown, min_lr=min_lr,
                  min_delta=min_delta)
    assert np.allclose(ex.plateau_reference(values, 0.1, **kwargs),
                       _run_plateau(values, 0.1, **kwargs)[0])


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=30),
       patience=st.integers(0, 4))
def test_cooldown_of_one_changes_nothing_as_section_7_says(values, patience):
    # Keras counts the cooldown down first; the epoch in which it ends already counts.
    assert _run_plateau(values, patience=patience, cooldown=1) == \
        _run_plateau(values, patience=patience, cooldown=0)


def test_cooldown_of_two_leaves_one_epoch_uncounted():
    plateau = [1.0] * 9                    # epoch 0 is the best; nothing improves after it
    assert _run_plateau(plateau, patience=1)[1] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert _run_plateau(plateau, patience=1, cooldown=2)[1] == [1, 3, 5, 7]
    assert _run_plateau(plateau, patience=2, cooldown=2)[1] == [2, 5, 8]


def test_plateau_rejects_other_wrong_versions():
    def never_reduces(val_losses, initial_lr, factor=0.1, patience=10, cooldown=0, min_lr=0.0,
                      min_delta=0.0):
        return [initial_lr] * len(val_losses)
    message = ex.check_plateau(never_reduces).message
    assert message.startswith("case 'hand-made, patience 2, factor 0.5' at index (4,)")

    def every_patience_epochs(val_losses, initial_lr, factor=0.1, patience=10, cooldown=0,
                              min_lr=0.0, min_delta=0.0):
        return [initial_lr * factor ** (e // max(patience, 1)) for e in range(len(val_losses))]
    assert "your value" in ex.check_plateau(every_patience_epochs).message

    def too_short(val_losses, initial_lr, **kwargs):
        return ex.plateau_reference(val_losses, initial_lr, **kwargs)[:-1]
    assert "shape" in ex.check_plateau(too_short).message


# ----------------------------------------------------------------------------- exercise 3

def _synthetic_range_test():
    rates = 1e-4 * 10 ** (np.arange(40) / 8)           # 1e-4 .. ~7.5
    centre = np.log10(0.5)                             # the loss is lowest at rate 0.5
    losses = 1.0 + (np.log10(rates) - centre) ** 2 / 4
    return runs.RangeTest(rates, losses, runs.smooth(losses))


def test_max_rate_accepts_the_rule_of_ten_and_a_range():
    result = _synthetic_range_test()
    at_min = result.rate_at_minimum
    assert ex.check_max_rate(ex.pick_max_rate_reference, result).passed
    low, high = ex.MAX_RATE.band(result)
    assert low == pytest.approx(at_min / 30) and high == pytest.approx(at_min / 6)
    # choices read off the curve, not fixed numbers
    assert ex.check_max_rate(lambda r, l: r[np.argmin(ex.smooth(l))] / 20, result).passed
    assert ex.check_max_rate(lambda r, l: r[np.argmin(ex.smooth(l))] / 7, result).passed


def test_max_rate_refuses_a_fixed_number_that_fits_one_test():
    result = _synthetic_range_test()
    at_min = result.rate_at_minimum
    check = ex.check_max_rate(lambda r, l: at_min / 10, result)   # right for this test only
    assert not check.passed and "do not return a fixed number" in check.message
    assert "accepted" not in check.message                        # no range given away


@pytest.mark.parametrize("choice, words", [
    (lambda at_min: at_min, "at or past the bottom"),
    (lambda at_min: at_min * 2, "at or past the bottom"),
    (lambda at_min: at_min / 2, "close to the bottom"),
    (lambda at_min: at_min / 5, "close to the bottom"),
    (lambda at_min: at_min / 100, "barely falls"),
    (lambda at_min: 1e-6, "below the first rate"),
    (lambda at_min: 100.0, "beyond the last rate"),
    (lambda at_min: -0.1, "positive number"),
    (lambda at_min: float("nan"), "positive number"),
    (lambda at_min: "0.1", "return one number"),
    (lambda at_min: [0.1], "return one number"),
])
def test_max_rate_rejects_wrong_choices_with_specific_advice(choice, words):
    result = _synthetic_range_test()
    value = choice(result.rate_at_minimum)
    check = ex.check_max_rate(lambda rates, losses: value, result)
    assert not check.passed and words in check.message


def test_max_rate_stub_and_errors():
    result = _synthetic_range_test()

    def stub(rates, losses):
        raise NotImplementedError
    assert "not implemented yet" in ex.check_max_rate(stub, result).message
    assert "raised IndexError" in ex.check_max_rate(lambda r, l: r[1000], result).message
    assert "expected a function" in ex.check_max_rate(0.05, result).message


def test_max_rate_on_a_real_range_test():
    result = runs.lr_range_test(1e-4, 10.0)
    assert ex.check_max_rate(ex.pick_max_rate_reference, result).passed
    assert not ex.check_max_rate(lambda r, l: result.rate_at_minimum, result).passed


# ------------------------------------------------------------- exercise 5: 1cycle's peak

def test_the_peak_experiment_scores_the_notebooks_own_1cycle_runs():
    # Section 8's schedule, trained as the notebook trains it: the checker reuses these runs.
    spe = runs.steps_per_epoch(len(digits().x_train), PEAK_BATCH)
    schedule = schedules.OneCycle(max_learning_rate=0.1, total_steps=PEAK_EPOCHS * spe)
    _, history, _ = runs.train_digits(schedule, PEAK_EPOCHS, batch_size=PEAK_BATCH, seed=3)
    assert len(history.history["val_loss"]) == PEAK_EPOCHS
    assert ex.one_cycle_val_loss(0.1, 3) == history.history["val_loss"][-1]


def test_a_peak_that_diverges_scores_nan_and_is_refused():
    assert math.isnan(ex.one_cycle_val_loss(1.0, 0))
    result = ex.check_peak_rate_choice(1.0, seed=0)
    assert not result.passed and "diverged" in result.message


def test_the_peak_solution_passes_and_a_far_too_small_peak_fails():
    assert ex.check_peak_rate_choice(ex.choose_peak_rate_solution(seed=0), seed=0).passed
    result = ex.check_peak_rate_choice(0.001, seed=0)
    assert not result.passed and "lower by more than" in result.message
