"""Redraw latency of every explorer: from setting a control to the figure fully redrawn.

Usage::

    python bench/latency.py                      # every registered explorer
    python bench/latency.py 03_optimizers        # the explorers of some notebooks
    python bench/latency.py 03_optimizers:race_explorer --values 40 --per-control

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
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from course_lib.lessons.explorer import registry  # noqa: E402
from course_lib.lessons.controls import sweep  # noqa: E402


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
            for value in sweep(control, n_values):
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
        print("no explorer is registered (course_lib/lessons/<topic>/explorers.py with @register)")
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
