"""Successive halving and Hyperband: many cheap trials, the best promoted to bigger budgets.

The objective takes a budget: ``objective(params, budget) -> float``, e.g. the validation
loss after ``budget`` epochs. Successive halving trains ``n`` configurations with a small
budget, keeps the best ``1/eta`` of them, multiplies the budget by ``eta`` and repeats until
the survivors get the full budget. Hyperband runs several such brackets, from "many
configurations, tiny budgets" to "few configurations, full budget", because how early a
bad configuration can be recognised depends on the problem.

Each promotion trains again from scratch with the bigger budget, so an objective stays a
plain function of ``(params, budget)``.
"""
from __future__ import annotations

import math

import numpy as np

from .._validation import check_number, check_positive, check_seed
from .executors import TrialRunner
from .result import SearchResult
from .space import as_space

__all__ = ["successive_halving", "hyperband", "halving_budgets"]


def _check_budgets(max_budget, min_budget, eta):
    max_budget = check_positive("max_budget", max_budget)
    min_budget = check_number("min_budget", min_budget, low=0, high=max_budget,
                              low_inclusive=False)
    eta = check_number("eta", eta, low=2, integer=True)
    return max_budget, min_budget, eta


def _n_rungs(max_budget, min_budget, eta):
    """s_max + 1: how many times the budget can be multiplied by eta from min to max, plus one."""
    return int(math.floor(math.log(max_budget / min_budget) / math.log(eta) + 1e-9)) + 1


def halving_budgets(max_budget, n_rungs, eta):
    """The budgets of ``n_rungs`` rungs ending at ``max_budget``: max_budget * eta**(i - n_rungs + 1).

    Rounded to integers (at least 1) when ``max_budget`` is an integer (epochs)."""
    budgets = [max_budget * float(eta) ** (i - n_rungs + 1) for i in range(n_rungs)]
    if float(max_budget).is_integer():
        return [max(1, int(round(b))) for b in budgets]
    return budgets


def _halve(runner, configs, budgets, eta, info):
    """Run the rungs of one bracket; returns the trials of its last rung."""
    survivors = list(configs)
    trials = []
    for rung, budget in enumerate(budgets):
        trials = runner.run_all([(p, budget, {**info, "rung": rung}) for p in survivors])
        if rung + 1 < len(budgets):
            keep = max(1, len(survivors) // eta)
            order = np.argsort([t.score for t in trials], kind="stable")[:keep]
            survivors = [trials[i].params for i in order]
    return trials


def successive_halving(objective, space, max_budget, min_budget=1, eta=3, n_configs=None,
                       seed=None, executor=None, n_parallel=None):
    """Successive halving: ``n_configs`` random configurations at ``min_budget``, the best
    ``1/eta`` promoted to ``eta`` times the budget, until ``max_budget``.

    ``objective(params, budget) -> float``. ``n_configs`` defaults to eta^(rungs - 1), so
    exactly one configuration reaches the full budget. Trials carry ``info["rung"]``.
    """
    space = as_space(space)
    max_budget, min_budget, eta = _check_budgets(max_budget, min_budget, eta)
    n_rungs = _n_rungs(max_budget, min_budget, eta)
    n_configs = (eta ** (n_rungs - 1) if n_configs is None
                 else check_positive("n_configs", n_configs, integer=True))
    rng = check_seed("seed", seed)
    runner = TrialRunner(objective, executor, n_parallel)
    _halve(runner, space.sample(rng, n_configs), halving_budgets(max_budget, n_rungs, eta),
           eta, {"bracket": 0})
    return SearchResult(runner.trials, "successive_halving", runner.elapsed, max_budget)


def hyperband(objective, space, max_budget, min_budget=1, eta=3, seed=None, executor=None,
              n_parallel=None, n_iterations=1):
    """Hyperband: successive halving in brackets s = s_max, ..., 0.

    Bracket s starts ceil((s_max + 1) / (s + 1) * eta^s) random configurations at budget
    max_budget * eta^-s; bracket 0 is plain random search at the full budget. Each bracket
    costs about the same total budget. ``n_iterations`` runs the whole set of brackets that
    many times (with new configurations). Trials carry ``info["bracket"]``, ``info["rung"]``
    and ``info["iteration"]``.
    """
    space = as_space(space)
    max_budget, min_budget, eta = _check_budgets(max_budget, min_budget, eta)
    n_iterations = check_positive("n_iterations", n_iterations, integer=True)
    s_max = _n_rungs(max_budget, min_budget, eta) - 1
    rng = check_seed("seed", seed)
    runner = TrialRunner(objective, executor, n_parallel)
    for iteration in range(n_iterations):
        for s in range(s_max, -1, -1):
            n = int(math.ceil((s_max + 1) / (s + 1) * eta ** s))
            budgets = halving_budgets(max_budget, s + 1, eta)
            _halve(runner, space.sample(rng, n), budgets, eta,
                   {"bracket": s, "iteration": iteration})
    return SearchResult(runner.trials, "hyperband", runner.elapsed, max_budget)
