"""Where trials run: one after the other ("panda") or side by side ("caviar").

Every strategy hands its trials to a :class:`TrialRunner`, which submits them to a
``concurrent.futures.Executor``:

* ``None`` or ``"panda"``: :class:`SequentialExecutor`, each trial runs in this process
  when submitted: one model nursed at a time;
* ``"caviar"``: loky's reusable process pool with one worker per core. loky pickles with
  cloudpickle, so an objective defined in a notebook cell works too (the standard
  ``ProcessPoolExecutor`` cannot ship such functions under the ``spawn`` start method);
* any other ``Executor``, e.g. ``dask.distributed.Client(...).get_executor()`` for a cluster.

Results are collected oldest first, so a seeded search makes the same decisions however
fast each worker happens to be.
"""
from __future__ import annotations

import math
import numbers
import os
import time
from collections import deque
from concurrent.futures import Executor, Future

from .._validation import check_positive
from .result import Trial

__all__ = ["SequentialExecutor", "caviar_executor", "resolve_executor", "TrialRunner"]


class SequentialExecutor(Executor):
    """An executor that runs each call immediately, in this process ("panda")."""

    _max_workers = 1

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # handed back through the future, like a real pool
            future.set_exception(err)
        return future


def caviar_executor(max_workers=None):
    """loky's reusable process pool (one worker per core by default): "caviar"."""
    try:
        from loky import get_reusable_executor
    except ImportError:  # pragma: no cover - loky is a test dependency
        raise ImportError("executor='caviar' needs the loky package: pip install loky") from None
    if max_workers is None:
        workers = os.cpu_count() or 1
    else:
        workers = check_positive("max_workers", max_workers, integer=True)
    return get_reusable_executor(max_workers=workers, timeout=300)


def resolve_executor(executor):
    """``None``/"panda" -> sequential, "caviar" -> loky pool, an Executor -> itself."""
    if executor is None or executor == "panda" or executor == "sequential":
        return SequentialExecutor()
    if executor == "caviar":
        return caviar_executor()
    if isinstance(executor, Executor) or hasattr(executor, "submit"):
        return executor
    raise TypeError(f"executor must be None, 'panda', 'caviar' or a concurrent.futures.Executor; "
                    f"got {executor!r}.")


def _n_workers(executor):
    workers = getattr(executor, "_max_workers", None)
    return int(workers) if workers else (os.cpu_count() or 1)


def evaluate(objective, params, budget):
    """Run the objective once (in a worker) and time it: returns ``(score, seconds)``."""
    start = time.perf_counter()
    score = objective(dict(params)) if budget is None else objective(dict(params), budget)
    seconds = time.perf_counter() - start
    if isinstance(score, bool) or not isinstance(score, numbers.Real):
        raise TypeError(f"the objective must return a number (lower is better); got {score!r} "
                        f"for params {params!r}.")
    score = float(score)
    return (score if math.isfinite(score) or score == math.inf else math.inf), seconds


class TrialRunner:
    """Submits trials to an executor, keeps at most ``n_parallel`` pending, collects results.

    Parameters
    ----------
    objective : callable
        ``objective(params) -> float``, or ``objective(params, budget) -> float``.
    executor : None, "panda", "caviar" or Executor
    n_parallel : int or None
        Trials pending at once; default: the executor's number of workers (1 for panda).
    """

    def __init__(self, objective, executor=None, n_parallel=None):
        if not callable(objective):
            raise TypeError(f"objective must be callable; got {type(objective).__name__}.")
        self.objective = objective
        self.executor = resolve_executor(executor)
        self.n_parallel = (_n_workers(self.executor) if n_parallel is None
                           else check_positive("n_parallel", n_parallel, integer=True))
        self.trials = []
        self._pending = deque()
        self._submitted = 0
        self.start = time.perf_counter()

    @property
    def n_pending(self):
        return len(self._pending)

    @property
    def has_room(self):
        return len(self._pending) < self.n_parallel

    def submit(self, params, budget=None, info=None):
        """Start one trial (waiting first for the oldest if ``n_parallel`` are pending)."""
        while not self.has_room:
            self.collect()
        future = self.executor.submit(evaluate, self.objective, params, budget)
        self._pending.append((self._submitted, params, budget, dict(info or {}), future))
        self._submitted += 1

    def collect(self):
        """Wait for the oldest pending trial; record and return it as a :class:`Trial`."""
        index, params, budget, info, future = self._pending.popleft()
        score, seconds = future.result()
        trial = Trial(params=dict(params), score=score, budget=budget, seconds=seconds,
                      finished=time.perf_counter() - self.start, index=index, info=info)
        self.trials.append(trial)
        return trial

    def run_all(self, jobs):
        """Run ``jobs``, a list of ``(params, budget, info)``; return their trials in order."""
        first = len(self.trials)
        for params, budget, info in jobs:
            self.submit(params, budget, info)
        while self._pending:
            self.collect()
        return self.trials[first:]

    @property
    def elapsed(self):
        return time.perf_counter() - self.start
