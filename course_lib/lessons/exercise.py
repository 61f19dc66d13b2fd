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
import inspect
import textwrap
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
    inputs_unchanged : bool
        Whether a solution must leave its array arguments as they were (the default); a
        right answer that changed an input in place is then not accepted.
    """

    def __init__(self, title, reference, cases, mistakes=(), rtol=1e-6, atol=1e-8,
                 inputs_unchanged=True):
        if not cases:
            raise ValueError("cases must hold at least one Case.")
        self.title = title
        self.reference = reference
        self.cases = list(cases)
        self.mistakes = list(mistakes)
        self.rtol, self.atol = rtol, atol
        self.inputs_unchanged = bool(inputs_unchanged)

    def _run(self, fn, case):
        return fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))

    def _changed_argument(self, fn, case):
        """The name of the first argument ``fn`` modified in place on ``case``, or None."""
        args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
        fn(*args, **kwargs)
        named = [(f"argument {i + 1}", a, b) for i, (a, b) in enumerate(zip(args, case.args))]
        named += [(f"argument {k!r}", kwargs[k], case.kwargs[k]) for k in kwargs]
        for name, after, before in named:
            if isinstance(before, np.ndarray) and not np.array_equal(after, before, equal_nan=True):
                return name
        return None

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
            for case in self.cases if self.inputs_unchanged else ():
                changed = self._changed_argument(fn, case)
                if changed is not None:
                    return CheckResult(self.title, False,
                                       f"the results are right, but your function changed its "
                                       f"{changed} in place (case '{case.name}'); leave the "
                                       f"inputs as they are and return new arrays.")
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
        # Say where and in which direction, never the expected value itself.
        direction = "too large" if got_a[index] > exp_a[index] else "too small"
        return (f"case '{case.name}'{where}: your value {got_a[index]:.6g} is {direction} "
                f"({len(bad)} of {exp_a.size} values differ).")


class ValidationChoice:
    """An experiment-style exercise: choose one setting's value by looking at validation numbers.

    The learner runs their own small experiment and writes down a value. The checker does not
    compare it with a stored answer: it trains its own runs, at the learner's value and at
    every value of a grid spanning the allowed interval, on the seeds ``seeds_from(seed)``, and
    accepts a choice whose median validation loss is within ``margin`` of the best median of
    the grid (and that trains on most seeds). Feedback gives the learner's own numbers, never
    the best value or the accepted range.

    Parameters
    ----------
    title : str
    name : str
        The setting's name as the learner reads it (e.g. ``"learning rate"``).
    score : callable ``(value, seed) -> float``
        The validation loss of one run (NaN for a run that diverged); cached by the caller.
    grid : sequence of float
        The checker's candidates, within ``[low, high]``; its best must lie inside it.
    low, high : float
        The interval a choice may come from (told to the learner with the task).
    margin : float
        How far above the grid's best median a choice may lie, in validation-loss units,
        chosen from the spread between seeds.
    integer : bool
        Whether the setting is a whole number (e.g. a count of units).
    """

    def __init__(self, title, name, score, grid, *, low, high, margin, integer=False):
        if not callable(score):
            raise TypeError(f"score must be a function (value, seed) -> float; got {score!r}.")
        grid = tuple(float(v) for v in grid)
        if len(grid) < 3:
            raise ValueError(f"grid must hold at least 3 values; got {len(grid)}.")
        if not low < high or not all(low <= v <= high for v in grid):
            raise ValueError(f"grid must lie within [low, high] = [{low!r}, {high!r}]; got {grid}.")
        if not margin > 0:
            raise ValueError(f"margin must be positive; got {margin!r}.")
        self.title, self.name, self.score = title, name, score
        self.grid, self.low, self.high = grid, float(low), float(high)
        self.margin, self.integer = float(margin), bool(integer)

    def scores(self, value, seed=0):
        """The validation losses of ``value`` on the seeds ``seeds_from(seed)``: shape (seeds,)."""
        from .seeds import seeds_from
        return np.array([self.score(value, s) for s in seeds_from(seed)], dtype=float)

    def grid_medians(self, seed=0):
        """The median validation loss of each grid value (NaN where most runs diverged)."""
        medians = []
        for value in self.grid:
            runs = self.scores(value, seed)
            medians.append(np.median(runs) if np.sum(np.isfinite(runs)) > len(runs) / 2
                           else np.nan)
        return np.array(medians)

    def _invalid(self, value):
        kind = "a whole number" if self.integer else "a number"
        if value is None:
            return (f"not chosen yet: set your {self.name} ({kind} between {self.low:g} and "
                    f"{self.high:g}), then run this cell again.")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return f"your {self.name} must be {kind}; got {type(value).__name__} {value!r}."
        if not np.isfinite(value) or not self.low <= value <= self.high:
            return (f"your {self.name} must be between {self.low:g} and {self.high:g}; got "
                    f"{value!r}.")
        if self.integer and int(value) != value:
            return f"your {self.name} must be a whole number; got {value!r}."
        return None

    def check(self, value, seed=0):
        """Score the learner's ``value`` on the checker's own runs; a :class:`CheckResult`."""
        problem = self._invalid(value)
        if problem:
            return CheckResult(self.title, False, problem)
        value = int(value) if self.integer else float(value)
        runs = self.scores(value, seed)
        finite = np.isfinite(runs)
        if np.sum(finite) <= len(runs) / 2:
            return CheckResult(self.title, False,
                               f"at {self.name} {value:g} training diverged on {np.sum(~finite)} "
                               f"of {len(runs)} seeds: a setting that diverges is not a choice. "
                               f"Compare a few values on the validation set and choose again.")
        mine, best = float(np.median(runs[finite])), float(np.nanmin(self.grid_medians(seed)))
        if mine > best + self.margin:
            return CheckResult(self.title, False,
                               f"at {self.name} {value:g} the median validation loss over "
                               f"{len(runs)} seeds is {mine:.3g}; other values between "
                               f"{self.low:g} and {self.high:g} reach a median lower by more "
                               f"than {self.margin:g}. Compare a few values on the validation "
                               f"set (several seeds each) and choose again.")
        return CheckResult(self.title, True,
                           f"at {self.name} {value:g} the median validation loss over "
                           f"{len(runs)} seeds is {mine:.3g}, as low as the checker's own "
                           f"search finds (within {self.margin:g}).")


class Solution:
    """The reference solution of an exercise, shown folded; running its cell defines nothing.

    A solution cell that defined the function would replace the learner's own attempt when the
    notebook is run top to bottom; this one only displays the library's reference (the code
    the tests run), under a "Show the solution" fold in every front end.
    """

    def __init__(self, *solutions):
        if not solutions:
            raise TypeError("show_solution needs an Exercise or a reference function.")
        functions = []
        for item in solutions:
            if isinstance(item, Exercise):
                item = item.reference
            if not callable(item):
                raise TypeError(f"each solution must be an Exercise or a function; got "
                                f"{type(item).__name__}.")
            functions.append(item)
        self.title = ", ".join(f.__name__ for f in functions)
        self.source = "\n\n".join(textwrap.dedent(inspect.getsource(f)) for f in functions)

    def __repr__(self):
        return f"Solution ({self.title}):\n\n{self.source}"

    def _repr_html_(self):
        return (f"<details><summary><b>Show the solution</b> ({html.escape(self.title)}; try it "
                f"yourself first)</summary>\n<pre><code>{html.escape(self.source)}</code></pre>"
                f"</details>")


def show_solution(*solutions):
    """The folded reference solution: Exercises or reference functions (display it as a
    cell's last line)."""
    return Solution(*solutions)


__all__ = ["Case", "Mistake", "Exercise", "CheckResult", "ValidationChoice", "Solution",
           "show_solution"]
