"""Execution time of every notebook, run as nbval runs it, against the course's budgets.

Usage::

    python bench/notebooks.py                    # every notebook in notebooks/
    python bench/notebooks.py 00_start_here      # some of them (stems, file names or paths)

Each notebook runs in a fresh kernel from this environment, with ``notebooks/`` as the
working directory, top to bottom (``tools/execute_notebooks.py`` does the running; nothing
is written back). Prints each notebook's time (kernel start-up included, as a learner's
"Restart and run all") against 20 s, and the total against 180 s. ``--strict`` makes a
failing or over-budget notebook an exit status of 1.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_BUDGET = 20.0   # seconds per notebook
COURSE_BUDGET = 180.0    # seconds for all of them


def _executor():
    spec = importlib.util.spec_from_file_location(
        "course_tools_execute_notebooks", ROOT / "tools" / "execute_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="stems, file names or paths (default: all)")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds allowed per cell (default %(default)s)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 if a notebook fails or a budget is exceeded")
    args = parser.parse_args(argv)
    executor = _executor()
    try:
        paths = executor.notebook_paths(args.notebooks)
    except ValueError as error:
        parser.error(str(error))
    if not paths:
        print(f"no notebooks in {executor.NOTEBOOK_DIR}")
        return 0

    import nbformat
    from nbclient.exceptions import CellExecutionError

    width = max(len(p.name) for p in paths) + 2
    print(f"{'notebook':<{width}} {'total s':>8} {'kernel s':>9} {'cells s':>8} {'budget':>7}  "
          "verdict")
    total, problems = 0.0, []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        timings = {}
        try:
            seconds = executor.execute(nb, cwd=path.parent, timeout=args.timeout,
                                       timings=timings)
        except CellExecutionError as error:
            first_line = str(error).strip().splitlines()[-1] if str(error).strip() else "error"
            print(f"{path.name:<{width}} FAILED: {first_line}")
            problems.append(path.name)
            continue
        total += seconds
        verdict = "ok" if seconds <= NOTEBOOK_BUDGET else "OVER BUDGET"
        if verdict != "ok":
            problems.append(path.name)
        print(f"{path.name:<{width}} {seconds:>8.1f} {timings['kernel']:>9.1f} "
              f"{timings['cells']:>8.1f} {NOTEBOOK_BUDGET:>6.0f}s  {verdict}", flush=True)
    course_ok = total <= COURSE_BUDGET
    print(f"{'total':<{width}} {total:>8.1f} {'':>9} {'':>8} {COURSE_BUDGET:>6.0f}s  "
          f"{'ok' if course_ok else 'OVER BUDGET'} ({len(paths)} notebooks)")
    if problems:
        print("failing or over budget: " + ", ".join(problems))
    return 1 if args.strict and (problems or not course_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
