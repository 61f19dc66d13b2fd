"""Hyperparameter search: spaces, strategies, one result type, any executor.

A space is a dict ``name -> Real(low, high, log=False) | Integer(low, high, log=False) |
Choice(options)``; an objective is ``objective(params: dict) -> float`` to minimise (the
budget-based strategies call ``objective(params, budget)``). Every strategy is called as
``strategy(objective, space, n_trials=..., seed=None, executor=None, ...)`` and returns a
:class:`SearchResult` with ``.trials`` (params, score, budget, seconds), ``.best_params``,
``.best_score`` and ``.best_so_far()`` curves.

Modules, one concept each: ``space`` (dimensions and scales), ``result`` (trials and
curves), ``executors`` (panda and caviar), ``strategies`` (grid, random, coarse-to-fine),
``gp`` (the Gaussian process), ``acquisition`` (expected improvement), ``optimize`` (a small
box-constrained quasi-Newton), ``bayesian`` (Bayesian optimisation), ``halving`` (successive
halving, Hyperband), ``functions`` (test functions), ``digits`` (the digits network as an
objective).
"""
from .acquisition import expected_improvement, normal_cdf, normal_pdf
from .bayesian import (GP_PRIOR, BayesianOptimizer, bayesian_optimization, latin_hypercube,
                       squash, squash_parameters, unsquash)
from .executors import SequentialExecutor, TrialRunner, caviar_executor, resolve_executor
from .gp import GaussianProcess, matern52
from .halving import halving_budgets, hyperband, successive_halving
from .result import SearchResult, Trial
from .space import Choice, Integer, Real, Space, as_space
from .strategies import coarse_to_fine, grid_search, grid_size, random_search

#: The strategies by name, in the order the notebook introduces them.
STRATEGIES = {
    "grid_search": grid_search,
    "random_search": random_search,
    "coarse_to_fine": coarse_to_fine,
    "bayesian_optimization": bayesian_optimization,
    "successive_halving": successive_halving,
    "hyperband": hyperband,
}

__all__ = [
    "Real", "Integer", "Choice", "Space", "as_space",
    "Trial", "SearchResult",
    "SequentialExecutor", "TrialRunner", "caviar_executor", "resolve_executor",
    "grid_search", "grid_size", "random_search", "coarse_to_fine",
    "GaussianProcess", "matern52", "expected_improvement", "normal_cdf", "normal_pdf",
    "BayesianOptimizer", "bayesian_optimization", "latin_hypercube", "squash", "unsquash",
    "squash_parameters",
    "GP_PRIOR",
    "successive_halving", "hyperband", "halving_budgets", "STRATEGIES",
]
