"""The values an explorer's controls allow, for the code that drives explorers.

The fuzz tests set every control to its extremes and to random allowed values; the latency
benchmark sweeps each control over its range. Both ask this module what a control allows,
so a new kind of control is taught to both at once.

Supported: Int/Float sliders and bounded text boxes, FloatLogSlider, Int/Float range
sliders, every selection widget (Dropdown, RadioButtons, ToggleButtons, Select,
SelectionSlider, SelectionRangeSlider, SelectMultiple) and booleans (Checkbox,
ToggleButton). Unbounded inputs (Text, IntText) allow any value and cannot be explored
exhaustively: an explorer should offer a bounded control instead.
"""
from __future__ import annotations

import itertools
import math

import ipywidgets as widgets
import numpy as np

#: Discrete controls with at most this many options count every option as an extreme.
ALL_OPTIONS_UP_TO = 12


def option_values(control):
    """The values (not labels) of a selection widget's options, in order."""
    values = getattr(control, "_options_values", None)
    if values is None:  # pragma: no cover (ipywidgets < 7)
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
    return tuple(values)


def _unique(values):
    return tuple(dict.fromkeys(values))


def _grid(low, high, step, integer=False, limit=1001):
    """``low + k * step`` within [low, high] (what a slider can reach), thinned to ``limit``
    evenly spread values with both ends kept; ``limit`` values from low to high if there is
    no step."""
    if step is None or step <= 0:
        values = np.linspace(low, high, limit)
    else:
        count = int(math.floor((high - low) / step + 1e-9))
        ks = np.unique(np.round(np.linspace(0, count, min(limit, count + 1))).astype(int))
        values = low + ks * step
    if integer:
        return [int(round(v)) for v in values]
    return [float(min(v, high)) for v in values]


def _unbounded(control):
    return TypeError(
        f"cannot explore a {type(control).__name__} control ({control.description!r}): it is "
        "not bounded. Use a slider, a bounded text box, a selection widget or a checkbox.")


def extreme_values(control):
    """The values at the ends of what ``control`` allows (every option of a short list)."""
    if isinstance(control, widgets.SelectionRangeSlider):
        values = option_values(control)
        return _unique([(values[0], values[0]), (values[0], values[-1]),
                        (values[-1], values[-1])])
    if isinstance(control, (widgets.IntRangeSlider, widgets.FloatRangeSlider)):
        low, high = control.min, control.max
        return _unique([(low, low), (low, high), (high, high)])
    if isinstance(control, widgets.FloatLogSlider):
        return _unique([control.base ** control.min, control.base ** control.max])
    if isinstance(control, (widgets.IntSlider, widgets.BoundedIntText,
                            widgets.FloatSlider, widgets.BoundedFloatText)):
        return _unique([control.min, control.max])
    if isinstance(control, widgets.SelectMultiple):
        return _unique([(), option_values(control)])
    if isinstance(control, widgets.widget_selection._Selection):
        values = option_values(control)
        if not values:
            raise TypeError(f"{type(control).__name__} {control.description!r} has no options.")
        return _unique(values if len(values) <= ALL_OPTIONS_UP_TO else (values[0], values[-1]))
    if isinstance(control, widgets.widget_bool._Bool):
        return (False, True)
    raise _unbounded(control)


def allowed_values(control, limit=1001):
    """Values ``control`` allows, in order, at most about ``limit`` of them evenly spread
    with the ends kept (sliders on their step grid; pairs ``(low, high)`` for range sliders;
    subsets for SelectMultiple)."""
    if isinstance(control, widgets.SelectionRangeSlider):
        values = option_values(control)
        idx = _grid(0, len(values) - 1, 1, True, max(2, int(math.sqrt(2 * limit))))
        return [(values[i], values[j]) for i, j in itertools.combinations_with_replacement(idx, 2)]
    if isinstance(control, (widgets.IntRangeSlider, widgets.FloatRangeSlider)):
        integer = isinstance(control, widgets.IntRangeSlider)
        ends = _grid(control.min, control.max, control.step, integer,
                     max(2, int(math.sqrt(2 * limit))))
        return list(itertools.combinations_with_replacement(ends, 2))
    if isinstance(control, widgets.FloatLogSlider):
        low, high, base = control.min, control.max, control.base
        return [min(max(base ** e, base ** low), base ** high)
                for e in _grid(low, high, control.step, limit=limit)]
    if isinstance(control, (widgets.IntSlider, widgets.BoundedIntText)):
        return _grid(control.min, control.max, getattr(control, "step", 1) or 1, True, limit)
    if isinstance(control, (widgets.FloatSlider, widgets.BoundedFloatText)):
        return _grid(control.min, control.max, getattr(control, "step", None), limit=limit)
    if isinstance(control, widgets.SelectMultiple):
        values = option_values(control)
        subsets = itertools.chain.from_iterable(
            itertools.combinations(values, k) for k in range(len(values) + 1))
        return list(itertools.islice(subsets, limit))
    if isinstance(control, widgets.widget_selection._Selection):
        return list(option_values(control)) or list(extreme_values(control))
    if isinstance(control, widgets.widget_bool._Bool):
        return [False, True]
    raise _unbounded(control)


def sweep(control, n):
    """``n`` values spread over the whole range of ``control``, visited forward then back
    again when there are fewer distinct values, as a learner sweeping a slider would."""
    values = allowed_values(control)
    if len(values) > n:
        values = [values[i] for i in np.unique(np.round(np.linspace(0, len(values) - 1, n)).astype(int))]
    if len(values) < 2:
        return values * n
    path = values + values[-2:0:-1]
    return [path[i % len(path)] for i in range(n)]
