"""Self-checking exercises.

An :class:`Exercise` knows a reference solution, a few test cases and the typical wrong
versions a learner writes (each with the advice that fixes it). ``exercise.check(fn)`` runs
the learner's function on every case and answers with specific feedback:

* the function is still a stub -> how to start;
* it raises -> which case, which error;
* the output has the wrong shape -> the shapes;
* the output matches a known mistake -> that mistake's explanation;
* otherwise -> the first case and element that differ, with the expected value.

The topic modules of this package (one per notebook) define the course's exercises; tests
check that each accepts its reference solution and rejects its known mistakes.
"""
from __future__ import annotations

import copy
import html
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class Case:
    """One input to an exercise: positional ``args`` (deep-copied for each call)."""

    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass
class Mistake:
    """A typical wrong version of the solution and the advice that fixes it."""

    explanation: str
    implementation: Callable[..., Any]


class CheckResult:
    """The verdict of a check: ``passed`` and a human-readable ``message``."""

    def __init__(self, exercise, passed, message):
        self.exercise = exercise
        self.passed = bool(passed)
        self.message = message

    def __bool__(self):
        return self.passed

    def __repr__(self):
        mark = "PASSED" if self.passed else "NOT YET"
        return f"[{mark}] {self.exercise}: {self.message}"

    def _repr_html_(self):
        colour = "#009E73" if self.passed else "#D55E00"
        mark = "&#10004; Correct" if self.passed else "&#10008; Not yet"
        return (f'<div style="border-left:4px solid {colour};padding:4px 8px">'
                f'<b style="color:{colour}">{mark}</b> &mdash; <b>{html.escape(self.exercise)}</b>'
                f'<br>{html.escape(self.message)}</div>')


class Exercise:
    """An exercise: reference solution, cases, known mistakes, and a comparison.

    Parameters
    ----------
    title : str
        Shown in the feedback.
    reference : callable
        The solution; its outputs on the cases are the expected answers.
    cases : list of Case
    mistakes : list of Mistake
        Typical wrong versions; when the learner's outputs equal one of them, its
        explanation is the feedback.
    rtol, atol : float
        Tolerances for comparing arrays (``numpy.allclose``).
    """

    def __init__(self, title, reference, cases, mistakes=(), rtol=1e-6, atol=1e-8):
        if not cases:
            raise ValueError("cases must hold at least one Case.")
        self.title = title
        self.reference = reference
        self.cases = list(cases)
        self.mistakes = list(mistakes)
        self.rtol, self.atol = rtol, atol

    def _run(self, fn, case):
        return fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))

    def _outputs(self, fn):
        return [self._run(fn, case) for case in self.cases]

    def _same(self, got, expected):
        try:
            if isinstance(expected, (tuple, list)):
                return (isinstance(got, (tuple, list)) and len(got) == len(expected)
                        and all(self._same(g, e) for g, e in zip(got, expected)))
            got_a, exp_a = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
            return got_a.shape == exp_a.shape and np.allclose(got_a, exp_a, rtol=self.rtol,
                                                              atol=self.atol, equal_nan=True)
        except (TypeError, ValueError):
            return False

    def check(self, fn):
        """Run ``fn`` on every case and return a :class:`CheckResult` with specific feedback."""
        if not callable(fn):
            return CheckResult(self.title, False, f"expected a function; got {type(fn).__name__}.")
        expected = self._outputs(self.reference)
        got = []
        for case in self.cases:
            try:
                got.append(self._run(fn, case))
            except NotImplementedError:
                return CheckResult(self.title, False,
                                   "not implemented yet: replace the `raise NotImplementedError` "
                                   "line with your code, then run this cell again.")
            except Exception as err:  # the learner's code may raise anything
                where = traceback.extract_tb(err.__traceback__)[-1]
                return CheckResult(self.title, False,
                                   f"your function raised {type(err).__name__}: {err} "
                                   f"(case '{case.name}', line {where.lineno}).")
        if all(self._same(g, e) for g, e in zip(got, expected)):
            return CheckResult(self.title, True,
                               f"all {len(self.cases)} cases match the reference solution.")
        for mistake in self.mistakes:
            try:
                wrong = self._outputs(mistake.implementation)
            except Exception:
                continue
            if all(self._same(g, w) for g, w in zip(got, wrong)):
                return CheckResult(self.title, False, mistake.explanation)
        for case, g, e in zip(self.cases, got, expected):
            if not self._same(g, e):
                return CheckResult(self.title, False, self._describe(case, g, e))
        return CheckResult(self.title, False, "the outputs differ from the reference.")

    def _describe(self, case, got, expected):
        if isinstance(expected, (tuple, list)):
            if not isinstance(got, (tuple, list)) or len(got) != len(expected):
                return (f"case '{case.name}': expected {len(expected)} results "
                        f"({type(expected).__name__}); got {type(got).__name__}.")
            for i, (g, e) in enumerate(zip(got, expected)):
                if not self._same(g, e):
                    return f"result {i}: " + self._describe(case, g, e)
        try:
            got_a = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return f"case '{case.name}': expected numbers; got {type(got).__name__}."
        exp_a = np.asarray(expected, dtype=float)
        if got_a.shape != exp_a.shape:
            return f"case '{case.name}': expected shape {exp_a.shape}; got shape {got_a.shape}."
        if not np.all(np.isfinite(got_a)):
            return f"case '{case.name}': your output contains NaN or inf."
        bad = np.argwhere(~np.isclose(got_a, exp_a, rtol=self.rtol, atol=self.atol))
        index = tuple(int(i) for i in bad[0]) if got_a.ndim else ()
        where = f" at index {index}" if index else ""
        return (f"case '{case.name}'{where}: expected {exp_a[index]:.6g}, got {got_a[index]:.6g} "
                f"({len(bad)} of {exp_a.size} values differ).")


__all__ = ["Case", "Mistake", "Exercise", "CheckResult"]
