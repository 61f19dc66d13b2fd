"""Exercise 4 of the notebook on learning-rate schedules: ``warmup_cosine(step, ...)``, a
linear warm-up followed by cosine decay (Keras's ``CosineDecay`` with ``warmup_target``) at
one optimizer step, with the feedback for each common slip. Its checker,
``check_warmup_cosine``, is in :mod:`.exercises` with the notebook's other checkers.
"""
from __future__ import annotations

import math

from ..exercise import Case, Exercise, Mistake
from .exercises import _over_steps


def warmup_cosine_reference(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha=0.0):
    """The rate at ``step`` (an int >= 0) of a linear warm-up followed by cosine decay.

    Steps 0 .. warmup_steps - 1: from initial_lr towards peak_lr, a straight line that would
    reach peak_lr at step warmup_steps. From step warmup_steps on, t = step - warmup_steps
    counts the cosine's steps: peak_lr * ((1 - alpha) * 0.5 * (1 + cos(pi * t / decay_steps))
    + alpha), with t capped at decay_steps (the rate then stays at alpha * peak_lr).
    """
    if step < warmup_steps:
        return initial_lr + (peak_lr - initial_lr) * step / warmup_steps
    t = min(step - warmup_steps, decay_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * t / decay_steps))
    return peak_lr * ((1.0 - alpha) * cosine + alpha)


def _warmup_ends_a_step_early(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha=0.0):
    if step < warmup_steps:
        return initial_lr + (peak_lr - initial_lr) * (step + 1) / warmup_steps
    return warmup_cosine_reference(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha)


def _warmup_over_one_step_less(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha=0.0):
    if step < warmup_steps:
        return initial_lr + (peak_lr - initial_lr) * step / max(warmup_steps - 1, 1)
    return warmup_cosine_reference(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha)


def _without_alpha(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha=0.0):
    return warmup_cosine_reference(step, initial_lr, peak_lr, warmup_steps, decay_steps, 0.0)


def _alpha_as_a_rate(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha=0.0):
    if step < warmup_steps:
        return warmup_cosine_reference(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha)
    t = min(step - warmup_steps, decay_steps)
    return (peak_lr - alpha) * 0.5 * (1.0 + math.cos(math.pi * t / decay_steps)) + alpha


def _cosine_from_step_zero(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha=0.0):
    if step < warmup_steps:
        return warmup_cosine_reference(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha)
    t = min(step, decay_steps)
    return peak_lr * ((1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * t / decay_steps)) + alpha)


def _cosine_not_capped(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha=0.0):
    if step < warmup_steps:
        return warmup_cosine_reference(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha)
    t = step - warmup_steps
    return peak_lr * ((1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * t / decay_steps)) + alpha)


def _warmup_cases():
    budget = dict(initial_lr=0.01, peak_lr=0.1, warmup_steps=120, decay_steps=1080, alpha=0.001)
    from_zero = dict(initial_lr=0.0, peak_lr=1.0, warmup_steps=5, decay_steps=20, alpha=0.2)
    one_step = dict(initial_lr=0.05, peak_lr=0.5, warmup_steps=1, decay_steps=10, alpha=0.0)
    return [
        Case("30 epochs of 40 steps: 120 warm-up steps, then 1080 of cosine",
             ([0, 1, 60, 119, 120, 121, 300, 660, 1000, 1199, 1200, 1500], budget)),
        Case("warm-up of 5 steps from 0, alpha 0.2", (list(range(0, 36)), from_zero)),
        Case("a single warm-up step", (list(range(0, 16)), one_step)),
    ]


WARMUP_COSINE = Exercise(
    "warmup_cosine(step, initial_lr, peak_lr, warmup_steps, decay_steps, alpha)",
    _over_steps(warmup_cosine_reference),
    _warmup_cases(),
    mistakes=[
        Mistake("the warm-up is one step ahead: your rate reaches peak_lr at step "
                "warmup_steps - 1. Step 0 uses initial_lr itself (the first step has no "
                "warm-up behind it), so the line is initial_lr + (peak_lr - initial_lr) * "
                "step / warmup_steps and peak_lr comes at step warmup_steps, where the cosine "
                "starts.", _over_steps(_warmup_ends_a_step_early)),
        Mistake("the warm-up reaches peak_lr one step early: you divided by warmup_steps - 1. "
                "Divide by warmup_steps, so that the line would reach peak_lr at step "
                "warmup_steps, the first step of the cosine.",
                _over_steps(_warmup_over_one_step_less)),
        Mistake("alpha is missing: your cosine ends at 0. It ends at alpha * peak_lr: "
                "the cosine part is (1 - alpha) * 0.5 * (1 + cos(...)) + alpha, times peak_lr.",
                _over_steps(_without_alpha)),
        Mistake("alpha was used as a rate: it is a fraction of peak_lr. The cosine ends at "
                "alpha * peak_lr, so multiply the whole (1 - alpha) * cosine + alpha by peak_lr.",
                _over_steps(_alpha_as_a_rate)),
        Mistake("the cosine is counted from step 0, so it starts already part-way down. "
                "Count its steps from the end of the warm-up: t = step - warmup_steps.",
                _over_steps(_cosine_from_step_zero)),
        Mistake("after decay_steps of cosine your rate rises again (the cosine goes on). "
                "Cap t at decay_steps: once the decay is over the rate stays at alpha * peak_lr.",
                _over_steps(_cosine_not_capped)),
    ],
    rtol=1e-9, atol=1e-12,
)
