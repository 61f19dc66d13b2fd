"""Model-free strategies: grid search, random search, and coarse-to-fine random search.

Every strategy is called as ``strategy(objective, space, n_trials=..., seed=None,
executor=None, ...)`` and returns a :class:`~course_lib.search.result.SearchResult`.
"""
from __future__ import annotations

import math

from .._validation import check_number, check_positive, check_seed
from .executors import TrialRunner
from .result import SearchResult
from .space import as_space

__all__ = ["grid_search", "random_search", "coarse_to_fine", "grid_size"]


def grid_size(space, points_per_dim):
    """Number of trainings of a full grid (every combination): the cost of grid search."""
    return len(as_space(space).grid(points_per_dim))


def grid_search(objective, space, n_trials=None, seed=None, executor=None,
                points_per_dim=None, shuffle=True, n_parallel=None):
    """Try every combination of a few values per hyperparameter.

    Parameters
    ----------
    n_trials : int or None
        Budget; without ``points_per_dim``, the grid takes the largest number k of values
        per numeric dimension with k^(numeric dims) x (choice combinations) <= n_trials.
    points_per_dim : int or dict name -> int, optional
        Values per dimension (at the centres of equal cells of each scale).
    shuffle : bool
        Run the grid in a random order (from ``seed``) so that a best-so-far curve is not
        an artefact of the loop order; the set of trials is the same.
    """
    space = as_space(space)
    if points_per_dim is None:
        if n_trials is None:
            raise ValueError("grid_search needs n_trials or points_per_dim.")
        n_trials = check_positive("n_trials", n_trials, integer=True)
        n_numeric = sum(d.numeric for d in space.dimensions.values())
        n_choices = math.prod(d.width for d in space.dimensions.values() if not d.numeric)
        if n_choices > n_trials:
            raise ValueError(f"n_trials={n_trials} is smaller than the {n_choices} combinations "
                             f"of the choices alone.")
        k = 1
        while n_numeric and (k + 1) ** n_numeric * n_choices <= n_trials:
            k += 1
        points_per_dim = k
    points = space.grid(points_per_dim)
    if n_trials is not None and len(points) > n_trials:
        raise ValueError(f"the grid has {len(points)} points, more than n_trials={n_trials}; "
                         f"use fewer points_per_dim or a larger n_trials.")
    if shuffle:
        order = check_seed("seed", seed).permutation(len(points))
        points = [points[i] for i in order]
    runner = TrialRunner(objective, executor, n_parallel)
    runner.run_all([(p, None, {}) for p in points])
    return SearchResult(runner.trials, "grid_search", runner.elapsed)


def random_search(objective, space, n_trials=20, seed=None, executor=None, n_parallel=None):
    """Try ``n_trials`` points drawn independently, each dimension on its own scale."""
    space = as_space(space)
    n_trials = check_positive("n_trials", n_trials, integer=True)
    points = space.sample(check_seed("seed", seed), n_trials)
    runner = TrialRunner(objective, executor, n_parallel)
    runner.run_all([(p, None, {}) for p in points])
    return SearchResult(runner.trials, "random_search", runner.elapsed)


def coarse_to_fine(objective, space, n_trials=30, seed=None, executor=None, n_rounds=3,
                   zoom=0.3, n_parallel=None):
    """Random search in rounds, each one in a smaller box around the best point so far.

    Round 1 samples the whole space; every next round samples a space whose numeric
    dimensions keep the fraction ``zoom`` of the previous round's scale, centred on the
    best trial so far (choices keep all their options). The trials are split as evenly as
    possible over the rounds; ``trial.info`` holds ``round`` and the round's ``bounds``
    (name -> (low, high) of each numeric dimension).
    """
    space = as_space(space)
    n_trials = check_positive("n_trials", n_trials, integer=True)
    n_rounds = check_number("n_rounds", n_rounds, low=1, high=n_trials, integer=True)
    zoom = check_number("zoom", zoom, low=0.0, high=1.0, low_inclusive=False)
    rng = check_seed("seed", seed)
    runner = TrialRunner(objective, executor, n_parallel)
    sizes = [n_trials // n_rounds + (r < n_trials % n_rounds) for r in range(n_rounds)]
    current = space
    for r, size in enumerate(sizes):
        if r:
            best = min(runner.trials, key=lambda t: t.score)
            current = current.narrowed(best.params, zoom)
        bounds = {n: (d.low, d.high) for n, d in current.items() if d.numeric}
        info = {"round": r + 1, "bounds": bounds}
        runner.run_all([(p, None, info) for p in current.sample(rng, size)])
    return SearchResult(runner.trials, "coarse_to_fine", runner.elapsed)
