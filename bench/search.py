"""Benchmark of course_lib.search: simple regret on test functions, and the digits comparison.

Part "functions": Branin (2-D) and Hartmann-6 (6-D), 20 seeds, 50 trials each; the median
simple regret (best score found minus the known minimum) after 30 and 50 trials, for
course_lib's random search and Bayesian optimisation, next to Optuna's TPESampler and
GPSampler when Optuna is installed (an optional dependency: ``pip install optuna``; its
GPSampler also needs ``torch``), and the time each method spends proposing a trial.

Part "digits": the strategies of the notebook on the digits network (learning rate, hidden
units, L2, dropout), several seeds each; every trial is stored so that the notebook can draw
best-so-far curves against the number of trainings and the wall time without training.

Every job runs with one BLAS (and torch) thread, two jobs at a time on the two cores. The
time per suggestion is reported as CPU time (``time.process_time``, robust to other load on
the machine) and as wall time, both without the objective's own time. Results go to
``course_lib/lessons/search/search_comparison.json``, package data that the notebook loads
(``course_lib.lessons.search.runs.load_bench_results``);
``tests/lessons/test_search_notebook.py`` reruns parts of it and checks that the numbers are
reproduced up to the rounding differences between machines.

    python bench/search.py                 # both parts (about 5 minutes on 2 idle cores)
    python bench/search.py --part functions --seeds 5
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

#: Where the results go: package data of the notebook's lessons, read by load_bench_results.
RESULTS = os.path.join(ROOT, "course_lib", "lessons", "search", "search_comparison.json")
FUNCTIONS = ("branin", "hartmann6")
N_TRIALS = 50
CHECKPOINTS = (30, 50)
COURSE_METHODS = ("course_random", "course_bo")
OPTUNA_METHODS = ("optuna_tpe", "optuna_gp")

# The digits comparison: strategy -> keyword arguments.
DIGITS_SEEDS = 5
DIGITS_EPOCHS = 12
DIGITS_STRATEGIES = {
    "grid_search": {"points_per_dim": 2},
    "random_search": {"n_trials": 30},
    "coarse_to_fine": {"n_trials": 30, "n_rounds": 3},
    "bayesian_optimization": {"n_trials": 30},
    "hyperband": {"max_budget": DIGITS_EPOCHS, "eta": 3, "n_iterations": 3},
}


def optuna_available():
    """``(tpe_ok, gp_ok, reason)``: Optuna is optional, and its GP sampler needs torch."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        return False, False, "optuna is not installed (pip install optuna)"
    try:
        import torch  # noqa: F401
    except ImportError:
        return True, False, "torch is not installed: Optuna's GPSampler needs it"
    return True, True, ""


def _one_thread():
    from threadpoolctl import threadpool_limits
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    return threadpool_limits(limits=1)


def run_function_job(method, function, seed, n_trials=N_TRIALS):
    """One run of a method on a test function: the best-so-far curve (n_trials,) and the
    mean time spent proposing a trial (seconds)."""
    from course_lib.search import bayesian_optimization, random_search
    from course_lib.search.functions import TEST_FUNCTIONS

    objective, space, _ = TEST_FUNCTIONS[function]
    with _one_thread():
        start, start_cpu = time.perf_counter(), time.process_time()
        if method == "course_random":
            result = random_search(objective, space, n_trials=n_trials, seed=seed)
            scores = result.scores
        elif method == "course_bo":
            result = bayesian_optimization(objective, space, n_trials=n_trials, seed=seed)
            scores = result.scores
        else:
            scores = _run_optuna(method, objective, space, seed, n_trials)
        total, total_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        objective_seconds, objective_cpu = _time_objective(objective, space, n_trials)
    return {"best_so_far": np.minimum.accumulate(scores).tolist(),
            "suggest_seconds": max(total - objective_seconds, 0.0) / n_trials,
            "suggest_cpu_seconds": max(total_cpu - objective_cpu, 0.0) / n_trials}


def _time_objective(objective, space, n):
    """Wall and CPU seconds of ``n`` objective calls alone (subtracted from a run's time)."""
    from course_lib.search import Space
    points = Space(space).sample(np.random.default_rng(0), n)
    start, start_cpu = time.perf_counter(), time.process_time()
    for p in points:
        objective(p)
    return time.perf_counter() - start, time.process_time() - start_cpu


def _run_optuna(method, objective, space, seed, n_trials):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler = (optuna.samplers.TPESampler(seed=seed) if method == "optuna_tpe"
               else optuna.samplers.GPSampler(seed=seed))
    study = optuna.create_study(sampler=sampler)

    def wrapped(trial):
        return objective({name: trial.suggest_float(name, dim.low, dim.high, log=dim.log)
                          for name, dim in space.items()})

    study.optimize(wrapped, n_trials=n_trials)
    return np.array([t.value for t in study.trials])


def run_digits_job(strategy, seed):
    """One run of a strategy on the digits network; returns ``SearchResult.to_dict()``."""
    from course_lib import search
    from course_lib.search.digits import DIGITS_SPACE, DigitsObjective

    objective = DigitsObjective(epochs=DIGITS_EPOCHS)
    with _one_thread():
        result = search.STRATEGIES[strategy](objective, DIGITS_SPACE, seed=seed,
                                             **DIGITS_STRATEGIES[strategy])
    return result.to_dict()


def _pool(workers):
    from loky import get_reusable_executor
    return get_reusable_executor(max_workers=workers, timeout=600)


def bench_functions(seeds, workers):
    tpe_ok, gp_ok, reason = optuna_available()
    methods = list(COURSE_METHODS) + [m for m, ok in zip(OPTUNA_METHODS, (tpe_ok, gp_ok)) if ok]
    if reason:
        print(f"note: {reason}; its samplers are left out.")
    pool = _pool(workers)
    jobs = {(m, f, s): pool.submit(run_function_job, m, f, s)
            for f in FUNCTIONS for m in methods for s in range(seeds)}
    from course_lib.search.functions import TEST_FUNCTIONS
    out = {}
    for f in FUNCTIONS:
        minimum = TEST_FUNCTIONS[f][2]
        out[f] = {"minimum": minimum, "methods": {}}
        for m in methods:
            runs = [jobs[(m, f, s)].result() for s in range(seeds)]
            out[f]["methods"][m] = {key: [r[key] for r in runs] for key in
                                    ("best_so_far", "suggest_seconds", "suggest_cpu_seconds")}
            print(summary_line(f, m, out[f]["methods"][m], minimum), flush=True)
    return out


def summary_line(function, method, data, minimum):
    curves = np.array(data["best_so_far"])
    cells = "  ".join(f"regret@{n}: {np.median(curves[:, n - 1] - minimum):.4g}"
                      for n in CHECKPOINTS)
    return (f"{function:<10} {method:<14} {cells}  per suggestion: "
            f"{1000 * np.mean(data['suggest_cpu_seconds']):.1f} ms CPU, "
            f"{1000 * np.mean(data['suggest_seconds']):.1f} ms wall")


def bench_digits(seeds, workers):
    pool = _pool(workers)
    jobs = {(name, s): pool.submit(run_digits_job, name, s)
            for name in DIGITS_STRATEGIES for s in range(seeds)}
    out = {"epochs": DIGITS_EPOCHS, "strategies": DIGITS_STRATEGIES, "runs": {}}
    for name in DIGITS_STRATEGIES:
        out["runs"][name] = [jobs[(name, s)].result() for s in range(seeds)]
        best = [min(t["score"] for t in run["trials"]) for run in out["runs"][name]]
        wall = [run["wall_seconds"] for run in out["runs"][name]]
        print(f"digits {name:<22} median best val loss {np.median(best):.4f}  "
              f"median wall {np.median(wall):.1f} s", flush=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("functions", "digits", "all"), default="all")
    parser.add_argument("--seeds", type=int, default=20, help="seeds of the function part")
    parser.add_argument("--digits-seeds", type=int, default=DIGITS_SEEDS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)
    data = {}
    if os.path.exists(args.out):
        with open(args.out) as handle:
            data = json.load(handle)
    data["meta"] = {"machine": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "numpy": np.__version__,
                    "n_trials": N_TRIALS, "workers": args.workers,
                    "date": time.strftime("%Y-%m-%d")}
    try:
        import optuna
        data["meta"]["optuna"] = optuna.__version__
    except ImportError:
        pass
    if args.part in ("functions", "all"):
        data["functions"] = bench_functions(args.seeds, args.workers)
    if args.part in ("digits", "all"):
        data["digits"] = bench_digits(args.digits_seeds, args.workers)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(data, handle, separators=(",", ":"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
