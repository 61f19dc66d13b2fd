"""Fuzz every registered explorer: no value a control allows may raise, warn or draw NaN/inf.

Every control of every explorer in ``course_lib.widgets.registry()`` is set to each end of its
range alone, then all controls at their ends together, then to random values (Hypothesis,
derandomized so CI is reproducible). Each redraw must raise nothing, emit no warning of any
kind, produce a PNG, and record only finite numbers in ``Explorer.drawn_data()``.

Retraining explorers (up to 1 s a redraw) get fewer combinations than formula explorers.
A new explorer is covered as soon as it is registered; nothing here names one.
"""
from __future__ import annotations

import itertools
import math
import os
import random
import warnings
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from course_lib.lessons.explorer import Explorer, registry
from course_lib.lessons.controls import allowed_values, extreme_values

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: (extreme combinations, random examples) per explorer kind. COURSE_FUZZ_EXAMPLES=n asks
#: for n random examples per explorer instead, for a deeper run than the default suite.
_EXAMPLES = os.environ.get("COURSE_FUZZ_EXAMPLES")
FORMULA_BUDGET = (16, int(_EXAMPLES or 15))
RETRAINING_BUDGET = (4, int(_EXAMPLES or 3))


# -- the values a control allows ----------------------------------------------------------------

@dataclass(frozen=True)
class Domain:
    """What a control allows: its extreme values (tried first) and a strategy for the rest."""

    extremes: tuple
    strategy: st.SearchStrategy


def control_domain(control):
    """The :class:`Domain` of an ipywidgets control (``course_lib.lessons.controls`` says
    what it allows); ``TypeError`` for unbounded kinds."""
    return Domain(extreme_values(control), st.sampled_from(allowed_values(control)))


# -- the checks ---------------------------------------------------------------------------------

def _non_finite_count(array):
    """Number of NaN/inf entries in a drawn array; non-numeric data counts as 0."""
    array = np.asarray(array)
    if array.dtype.kind in "fc":
        return int(np.size(array) - np.count_nonzero(np.isfinite(array)))
    if array.dtype.kind == "O":  # ragged data: check each numeric piece
        return sum(_non_finite_count(item) for item in array.ravel()
                   if isinstance(item, (float, complex, np.ndarray, list, tuple)))
    return 0


def check_redraw(explorer, values, label):
    """Redraw ``explorer`` with ``values``; AssertionError on an exception, a warning, a
    missing PNG or non-finite drawn data. ``label`` names the explorer in messages."""
    shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
    count = explorer.redraw_count
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            explorer.update(**values)
        except Exception as error:  # any exception, including a warning turned error
            raise AssertionError(f"{label}: update({shown}) raised "
                                 f"{type(error).__name__}: {error}") from error
    assert explorer.redraw_count == count + 1, f"{label}: update({shown}) did not redraw"
    assert bytes(explorer.image.value[:8]) == PNG_SIGNATURE, \
        f"{label}: no PNG after update({shown})"
    drawn = explorer.drawn_data()
    assert drawn, (f"{label} records no data with Explorer.record(); the NaN check would "
                   f"test nothing")
    bad = {name: n for name, n in ((name, _non_finite_count(a)) for name, a in drawn.items()) if n}
    assert not bad, f"{label}: update({shown}) drew NaN/inf in " + ", ".join(
        f"{name!r} ({n} values)" for name, n in bad.items())


def single_extremes(domains, defaults):
    """Each control at each of its extremes, the others at their defaults (list of dicts)."""
    return [{**defaults, name: value}
            for name, domain in domains.items() for value in domain.extremes]


def combined_extremes(domains, limit, seed=0):
    """Combinations of extremes: all if at most ``limit``, else all-first, all-last and a
    seeded sample (list of dicts of every control)."""
    names = list(domains)
    if not names:
        return []
    sizes = [len(domains[n].extremes) for n in names]
    if math.prod(sizes) <= limit:
        combos = itertools.product(*(domains[n].extremes for n in names))
        return [dict(zip(names, combo)) for combo in combos]
    rng = random.Random(seed)
    chosen = {tuple(0 for _ in names), tuple(s - 1 for s in sizes)}
    while len(chosen) < limit:
        chosen.add(tuple(rng.randrange(s) for s in sizes))
    return [{n: domains[n].extremes[i] for n, i in zip(names, combo)} for combo in sorted(chosen)]


# -- the explorers under test ---------------------------------------------------------------------

SPECS = registry()
NO_EXPLORERS = pytest.param(None, marks=pytest.mark.skip(
    reason="no explorer is registered yet (add one in course_lib/widgets/<topic>.py with "
           "@register); nothing was fuzzed"))


def spec_params():
    return [pytest.param(s, id=f"{s.notebook}:{s.name}") for s in SPECS] or [NO_EXPLORERS]


_BUILT = {}


def built(spec):
    """The explorer of ``spec`` (built once per session, without warnings) and its defaults."""
    key = (spec.notebook, spec.name)
    if key not in _BUILT:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            explorer = spec.factory()
        assert isinstance(explorer, Explorer), f"{key} did not return an Explorer"
        _BUILT[key] = explorer, explorer.values()
    return _BUILT[key]


def label_of(spec):
    return f"{spec.notebook}:{spec.name}"


def budget(spec):
    return RETRAINING_BUDGET if spec.retraining else FORMULA_BUDGET


@pytest.mark.parametrize("spec", spec_params())
def test_defaults_draw_cleanly(spec):
    explorer, defaults = built(spec)
    assert explorer.retraining == spec.retraining, (
        f"{label_of(spec)} is registered with retraining={spec.retraining} but the explorer "
        f"says {explorer.retraining}: its budget and continuous_update would be wrong")
    check_redraw(explorer, defaults, label_of(spec))


@pytest.mark.parametrize("spec", spec_params())
def test_every_control_at_its_extremes(spec):
    explorer, defaults = built(spec)
    domains = {name: control_domain(c) for name, c in explorer.controls.items()}
    for values in single_extremes(domains, defaults):
        check_redraw(explorer, values, label_of(spec))


@pytest.mark.parametrize("spec", spec_params())
def test_extremes_in_combination(spec):
    explorer, _ = built(spec)
    domains = {name: control_domain(c) for name, c in explorer.controls.items()}
    for values in combined_extremes(domains, limit=budget(spec)[0]):
        check_redraw(explorer, values, label_of(spec))


@pytest.mark.parametrize("spec", spec_params())
def test_random_values_in_combination(spec):
    explorer, _ = built(spec)
    domains = {name: control_domain(c) for name, c in explorer.controls.items()}
    examples = budget(spec)[1]
    # Shrinking a failure of a retraining explorer would take minutes; report it as found.
    phases = (Phase.explicit, Phase.generate) if spec.retraining else tuple(Phase)

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=phases, suppress_health_check=list(HealthCheck))
    @given(st.fixed_dictionaries({name: d.strategy for name, d in domains.items()}))
    def redraw_cleanly(values):
        check_redraw(explorer, values, label_of(spec))

    redraw_cleanly()


# -- the harness itself: it must catch what it claims to catch -----------------------------------

class _Toy(Explorer):
    """A curve y = a * x**2 whose flaws are switched on by ``flaw`` (for the checks' tests)."""

    def __init__(self, flaw):
        super().__init__({
            "a": widgets.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.25),
            "n": widgets.IntSlider(value=3, min=1, max=5),
            "kind": widgets.Dropdown(options=["plain", "log"], value="plain"),
        })
        self.flaw = flaw
        self.ax = self.figure.add_subplot()
        (self.line,) = self.ax.plot([0, 1], [0, 1])

    def draw(self, a, n, kind):
        x = np.linspace(0.0, 1.0, 5 * n)
        y = a * x ** 2
        if self.flaw == "nan at max" and a == 2.0:
            y = np.full_like(x, np.nan)
        if self.flaw == "warns at min" and a == 0.0:
            y = np.log(y)  # log(0): RuntimeWarning
        if self.flaw == "raises for log" and kind == "log" and n == 5:
            raise ValueError("log of a long curve")
        if self.flaw == "records nothing":
            self.line.set_data(x, y)
            return
        self.line.set_data(self.record("x", x), self.record("y", y))


def _run_all_extremes(explorer):
    domains = {name: control_domain(c) for name, c in explorer.controls.items()}
    defaults = explorer.values()
    for values in single_extremes(domains, defaults) + combined_extremes(domains, limit=64):
        check_redraw(explorer, values, "toy")


def test_a_sound_explorer_passes_every_check():
    _run_all_extremes(_Toy(flaw=None))


@pytest.mark.parametrize("flaw, message", [
    ("nan at max", r"drew NaN/inf in 'y' \(15 values\)"),
    ("warns at min", r"a=0\.0.*raised RuntimeWarning"),
    ("raises for log", r"n=5, kind='log'.*raised ValueError: log of a long curve"),
    ("records nothing", r"records no data"),
])
def test_each_flaw_is_caught_with_the_values_that_cause_it(flaw, message):
    with pytest.raises(AssertionError, match=message):
        _run_all_extremes(_Toy(flaw=flaw))


def test_a_redraw_that_does_not_happen_is_caught():
    class Frozen(_Toy):
        def redraw(self):  # never redraws after the first time
            if not self.redraw_count:
                super().redraw()
    explorer = Frozen(flaw=None)
    explorer.redraw()
    with pytest.raises(AssertionError, match="did not redraw"):
        check_redraw(explorer, {"a": 0.5}, "frozen")


def test_non_finite_values_are_found_in_ragged_data():
    assert _non_finite_count(np.array([1.0, np.inf, np.nan])) == 2
    ragged = np.empty(2, dtype=object)
    ragged[:] = [np.array([1.0, np.nan]), np.array([np.inf, 2.0, 3.0])]
    assert _non_finite_count(ragged) == 2
    assert _non_finite_count(np.array(["a", "b"])) == 0
    assert _non_finite_count(np.array([1, 2])) == 0


@pytest.mark.parametrize("control, extremes", [
    (widgets.IntSlider(value=4, min=2, max=7, step=2), (2, 7)),
    (widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.25), (0.0, 1.0)),
    (widgets.FloatLogSlider(value=1e-3, base=10, min=-5, max=-1, step=0.5), (1e-5, 1e-1)),
    (widgets.IntRangeSlider(value=(3, 5), min=0, max=9), ((0, 0), (0, 9), (9, 9))),
    (widgets.FloatRangeSlider(value=(0.2, 0.4), min=0.0, max=1.0, step=0.1),
     ((0.0, 0.0), (0.0, 1.0), (1.0, 1.0))),
    (widgets.SelectionSlider(options=["a", "b", "c"], value="b"), ("a", "b", "c")),
    (widgets.SelectionRangeSlider(options=["a", "b", "c"], index=(0, 1)),
     (("a", "a"), ("a", "c"), ("c", "c"))),
    (widgets.Dropdown(options=[("one", 1), ("two", 2)], value=1), (1, 2)),
    (widgets.ToggleButtons(options=["SGD", "Adam"]), ("SGD", "Adam")),
    (widgets.RadioButtons(options=list(range(20)), value=3), (0, 19)),
    (widgets.Checkbox(value=True), (False, True)),
    (widgets.ToggleButton(value=False), (False, True)),
    (widgets.BoundedFloatText(value=1.0, min=-2.0, max=3.0), (-2.0, 3.0)),
    (widgets.SelectMultiple(options=["x", "y"]), ((), ("x", "y"))),
], ids=lambda v: type(v).__name__ if isinstance(v, widgets.Widget) else "")
def test_control_domains(control, extremes):
    domain = control_domain(control)
    if all(isinstance(e, float) for e in extremes):
        assert domain.extremes == pytest.approx(extremes)
    else:
        assert domain.extremes == extremes

    @settings(max_examples=30, deadline=None, derandomize=True, database=None)
    @given(domain.strategy)
    def allowed_as_is(value):
        control.value = value  # a value outside the domain would be clipped or refused
        if isinstance(value, float):
            assert control.value == pytest.approx(value)
        else:
            assert control.value == value

    for value in domain.extremes:
        allowed_as_is.hypothesis.inner_test(value)
    allowed_as_is()


def test_grid_values_are_the_ones_a_slider_can_reach():
    control = widgets.IntSlider(min=2, max=7, step=2)

    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(control_domain(control).strategy)
    def on_grid(value):
        assert value in (2, 4, 6)

    on_grid()


@pytest.mark.parametrize("control", [widgets.Text(), widgets.IntText(), widgets.FloatText()],
                         ids=lambda c: type(c).__name__)
def test_unbounded_controls_are_refused_with_a_reason(control):
    with pytest.raises(TypeError, match="not bounded"):
        control_domain(control)


def test_sweep_covers_the_range_forward_and_back():
    from course_lib.lessons.controls import sweep
    assert sweep(widgets.IntSlider(min=0, max=100, step=1), 5) == [0, 25, 50, 75, 100]
    assert sweep(widgets.ToggleButtons(options=["a", "b", "c"]), 6) == ["a", "b", "c", "b", "a", "b"]
    values = sweep(widgets.FloatLogSlider(base=10, min=-4, max=0, step=0.5), 20)
    assert len(values) == 20 and min(values) == pytest.approx(1e-4) and max(values) == pytest.approx(1.0)
