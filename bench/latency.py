"""Redraw latency of every explorer: from setting a control to the figure fully redrawn.

Usage::

    python bench/latency.py                      # every registered explorer
    python bench/latency.py 02_optimizers        # the explorers of some notebooks
    python bench/latency.py 02_optimizers:race_explorer --values 40 --per-control

For each explorer, every control in turn is set to ``--values`` values (default 20) spread
over its range, the other controls staying at their defaults. Each ``Explorer.update`` is
timed: it recomputes, redraws the figure and renders the PNG the learner sees, so the time
is the kernel side of a slider move (the browser only swaps the image). The first draw
after construction is reported apart (caches are cold then).

Prints p50 and p95 per explorer and flags those whose p95 is over budget: 100 ms, or 1 s for
explorers that retrain a network (``ExplorerSpec.budget_seconds``). ``--strict`` makes an
over-budget explorer an exit status of 1.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402

from course_lib.widgets import registry  # noqa: E402


def _spread(low, high, step, n, integer=False):
    """``n`` values from ``low`` to ``high`` on the slider's grid; fewer distinct values are
    visited forward then back again, as a learner sweeping the slider would."""
    if step and step > 0:
        count = int(math.floor((high - low) / step + 1e-9))
        ks = np.unique(np.round(np.linspace(0, count, min(n, count + 1))).astype(int))
        grid = [low + k * step for k in ks]
    else:
        grid = list(np.linspace(low, high, n))
    grid = [int(round(v)) if integer else float(min(v, high)) for v in grid]
    return _sweep(grid, n)


def _sweep(values, n):
    """``n`` values going through ``values`` forward, then backward, and so on."""
    values = list(values)
    if len(values) < 2:
        return values * n
    path = values + values[-2:0:-1]
    return [path[i % len(path)] for i in range(n)]


def _option_values(control):
    return tuple(getattr(control, "_options_values", None)
                 or [o[1] if isinstance(o, tuple) else o for o in control.options])


def values_for(control, n):
    """``n`` values an ipywidgets control allows, spread over its whole range."""
    if isinstance(control, widgets.SelectionRangeSlider):
        options = _option_values(control)
        idx = _spread(0, len(options) - 1, 1, n, integer=True)
        return [(options[min(i, j)], options[max(i, j)]) for i, j in zip(idx, reversed(idx))]
    if isinstance(control, (widgets.IntRangeSlider, widgets.FloatRangeSlider)):
        integer = isinstance(control, widgets.IntRangeSlider)
        ends = _spread(control.min, control.max, control.step, n, integer)
        return [tuple(sorted(pair)) for pair in zip(ends, reversed(ends))]
    if isinstance(control, widgets.FloatLogSlider):
        exponents = _spread(control.min, control.max, control.step, n)
        return [float(control.base ** e) for e in exponents]
    if isinstance(control, (widgets.IntSlider, widgets.BoundedIntText)):
        return _spread(control.min, control.max, getattr(control, "step", 1) or 1, n, True)
    if isinstance(control, (widgets.FloatSlider, widgets.BoundedFloatText)):
        return _spread(control.min, control.max, getattr(control, "step", None), n)
    if isinstance(control, widgets.SelectMultiple):
        options = _option_values(control)
        return _sweep([options[:k] for k in range(len(options) + 1)], n)
    if isinstance(control, widgets.widget_selection._Selection):
        return _sweep(_option_values(control), n)
    if isinstance(control, widgets.widget_bool._Bool):
        return _sweep([not control.value, control.value], n)
    raise TypeError(f"no value range for a {type(control).__name__} control "
                    f"({control.description!r})")


def measure(spec, n_values):
    """Time one explorer. Returns (first draw seconds, {control: [seconds, ...]})."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are the fuzz tests' business, not timing's
        start = time.perf_counter()
        explorer = spec.factory()
        explorer.redraw()
        first = time.perf_counter() - start
        defaults = explorer.values()
        times = {}
        for name, control in explorer.controls.items():
            samples = []
            for value in values_for(control, n_values):
                start = time.perf_counter()
                explorer.update(**{name: value})
                samples.append(time.perf_counter() - start)
            times[name] = samples
            explorer.update(**defaults)
    return first, times


def _ms(seconds):
    return f"{seconds * 1000:8.1f}"


def select(specs, names):
    """The specs named by notebook stems or ``notebook:factory``; ValueError if unknown."""
    if not names:
        return specs
    chosen = []
    for name in names:
        name = name[:-len(".ipynb")] if name.endswith(".ipynb") else Path(name).name
        matches = [s for s in specs if name in (s.notebook, f"{s.notebook}:{s.name}")]
        if not matches:
            known = ", ".join(sorted({s.notebook for s in specs})) or "none"
            raise ValueError(f"no registered explorer for {name!r}; notebooks with "
                             f"explorers: {known}")
        chosen += [m for m in matches if m not in chosen]
    return chosen


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook stems or notebook:factory")
    parser.add_argument("--values", type=int, default=20,
                        help="values per control (at least 20 for a p95; default %(default)s)")
    parser.add_argument("--per-control", action="store_true", help="also print each control")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any is over budget")
    args = parser.parse_args(argv)
    if args.values < 1:
        parser.error("--values must be at least 1")
    try:
        specs = select(registry(), args.names)
    except ValueError as error:
        parser.error(str(error))
    if not specs:
        print("no explorer is registered (course_lib/widgets/<topic>.py with @register)")
        return 0

    header = (f"{'explorer':<52} {'kind':<10} {'n':>4} {'first ms':>9} {'p50 ms':>8} "
              f"{'p95 ms':>8} {'max ms':>8} {'budget':>7}  verdict, slowest control")
    print(header)
    print("-" * len(header))
    over = []
    for spec in specs:
        label = f"{spec.notebook}:{spec.name}"
        try:
            first, times = measure(spec, args.values)
        except Exception as error:  # report and go on with the others
            print(f"{label:<52} FAILED: {type(error).__name__}: {error}")
            over.append(label)
            continue
        samples = np.array([t for ts in times.values() for t in ts])
        p50, p95 = np.percentile(samples, [50, 95])
        slowest = max(times, key=lambda name: np.percentile(times[name], 95))
        verdict = "ok" if p95 <= spec.budget_seconds else "OVER BUDGET"
        if verdict != "ok":
            over.append(label)
        kind = "retrain" if spec.retraining else "formula"
        print(f"{label:<52} {kind:<10} {samples.size:>4} {_ms(first):>9} {_ms(p50)} {_ms(p95)} "
              f"{_ms(samples.max())} {spec.budget_seconds * 1000:>5.0f}ms  {verdict}, "
              f"{slowest} (p95 {np.percentile(times[slowest], 95) * 1000:.0f} ms)")
        if args.per_control:
            for name, ts in times.items():
                q50, q95 = np.percentile(ts, [50, 95])
                print(f"    {name:<48} {'':<10} {len(ts):>4} {'':>9} {_ms(q50)} {_ms(q95)} "
                      f"{_ms(max(ts))}")
    print("-" * len(header))
    print(f"{len(specs) - len(over)} of {len(specs)} explorers within budget"
          + (f"; over budget or failing: {', '.join(over)}" if over else ""))
    return 1 if over and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
