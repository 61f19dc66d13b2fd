"""Bayesian optimisation: a Gaussian process of the scores, expected improvement to pick the next trial.

Each step: fit the Gaussian process to the (point, score) pairs seen so far (in the unit
cube of the space, log dimensions on their log scale); compute the expected improvement over
the best score; run the point where it is largest; repeat. With several workers, trials
that are still running are added to the data with a made-up score (the *constant liar*), so
the next proposal goes somewhere else instead of waiting.
"""
from __future__ import annotations

import time

import numpy as np

from .._validation import check_choice, check_non_negative, check_positive, check_seed
from .acquisition import expected_improvement, expected_improvement_grad
from .executors import TrialRunner
from .gp import GaussianProcess
from .optimize import minimize_box_batch
from .result import SearchResult
from .space import as_space

__all__ = ["BayesianOptimizer", "bayesian_optimization", "latin_hypercube"]


def latin_hypercube(rng, n, d):
    """``n`` points (n, d) in the unit cube, one in each of ``n`` equal slices of every axis."""
    cells = np.stack([rng.permutation(n) for _ in range(d)], axis=1)
    return (cells + rng.random((n, d))) / n


class BayesianOptimizer:
    """Ask/tell Bayesian optimisation over a search space.

    ``params = bo.ask()`` proposes a point (a dict), ``bo.tell(params, score)`` reports its
    score. Between the two the point is *pending*; pending points get the constant liar's
    score when the next one is asked for.

    Parameters
    ----------
    space : dict or Space
    seed : None, int or Generator
    n_initial : int or None
        Points of the initial design (a Latin hypercube) before the model takes over;
        default ``n_columns + 3``, at least 5.
    xi : float >= 0
        Required improvement, in units of the score (0: plain expected improvement).
    liar : "min", "mean" or "max"
        The made-up score given to pending points: the best, the average or the worst so far.
    n_candidates : int
        Random points at which EI is evaluated before the best few are polished.
    n_refine : int
        Candidates polished by gradient ascent on log EI.
    fit_hyperparameters : bool
        Fit the GP's hyperparameters before every proposal (warm-started from the previous
        fit, plus ``n_restarts`` random starts).
    gp_options : dict
        Options of the :class:`GaussianProcess`. By default its hyperparameters get the
        weak prior ``"weak"`` and length scales between 0.05 and 5 (in the unit cube): with
        a handful of points, plain maximum likelihood jumps between extremes (every point
        unrelated, or a dimension ignored) and the search wanders.
    """

    def __init__(self, space, seed=None, n_initial=None, xi=0.0, liar="min",
                 n_candidates=2000, n_refine=5, fit_hyperparameters=True, gp_options=None,
                 n_restarts=0):
        self.space = as_space(space)
        self.rng = check_seed("seed", seed)
        d = self.space.n_columns
        self.n_initial = (max(5, d + 3) if n_initial is None
                          else check_positive("n_initial", n_initial, integer=True))
        self.xi = check_non_negative("xi", xi)
        self.liar = check_choice("liar", liar, ("min", "mean", "max"))
        self.n_candidates = check_positive("n_candidates", n_candidates, integer=True)
        self.n_refine = check_positive("n_refine", n_refine, integer=True)
        self.fit_hyperparameters = bool(fit_hyperparameters)
        options = {"prior": "weak", "bounds": {"length_scales": (0.05, 5.0)}, **(gp_options or {})}
        self.gp = GaussianProcess(length_scales=np.full(d, 0.5), signal_variance=1.0,
                                  noise_variance=1e-4, **options)
        self.n_restarts = n_restarts
        self._initial = self.space.decode(self._unit_points(latin_hypercube(self.rng, self.n_initial, d)))
        self.observed = []      # list of (params, unit vector, score)
        self.pending = []       # list of (params, unit vector)
        self.ask_seconds = []   # time spent in each ask (the "time per suggestion")

    def _unit_points(self, u):
        """Turn free unit points into valid ones: one-hot for the choice columns."""
        u = np.array(u, dtype=float)
        for name, dim in self.space.items():
            if not dim.numeric:
                cols = self.space._slices[name]
                pick = self.rng.integers(dim.width, size=len(u))
                u[:, cols] = np.eye(dim.width)[pick]
        return u

    # -- ask / tell -----------------------------------------------------------------
    def ask(self):
        """The next point to try (dict); it stays pending until :meth:`tell`."""
        start = time.perf_counter()
        n_seen = len(self.observed) + len(self.pending)
        finite = [s for _, _, s in self.observed if np.isfinite(s)]
        if n_seen < self.n_initial or not finite:
            params = (self._initial[n_seen] if n_seen < self.n_initial
                      else self.space.sample(self.rng, 1)[0])
        else:
            params = self._propose()
        self.pending.append((params, self.space.encode([params])[0]))
        self.ask_seconds.append(time.perf_counter() - start)
        return params

    def tell(self, params, score):
        """Record the score of a point returned by :meth:`ask` (lower is better)."""
        for i, (pending, x) in enumerate(self.pending):
            if pending == params:
                del self.pending[i]
                break
        else:
            x = self.space.encode([params])[0]
        self.observed.append((dict(params), x, float(score)))

    # -- the model ------------------------------------------------------------------
    def _data(self):
        X = np.array([x for _, x, _ in self.observed])
        y = np.array([s for _, _, s in self.observed], dtype=float)
        finite = np.isfinite(y)
        y[~finite] = np.max(y[finite])   # a failed trial counts as the worst one seen
        return X, y

    def fit_model(self):
        """Fit the Gaussian process to the observed scores; returns it."""
        X, y = self._data()
        self.gp.fit(X, y, optimize=self.fit_hyperparameters, n_restarts=self.n_restarts, rng=self.rng)
        return self.gp

    def _propose(self):
        gp = self.fit_model()
        X, y = self._data()
        best = float(np.min(y))
        if self.pending:
            lie = {"min": np.min, "mean": np.mean, "max": np.max}[self.liar](y)
            Xp = np.array([x for _, x in self.pending])
            gp.condition(np.vstack([X, Xp]), np.concatenate([y, np.full(len(Xp), lie)]))
        x = self._maximize_ei(gp, best, self.xi, X[np.argsort(y)[:5]])
        return self.space.decode(x[None, :])[0]

    def _maximize_ei(self, gp, best, margin, incumbents):
        """EI on random candidates and around the best points, then polish the top few."""
        d = self.space.n_columns
        numeric = self.space.numeric_columns
        rng = self.rng
        candidates = self._unit_points(rng.random((self.n_candidates, d)))
        local = np.repeat(incumbents, 50, axis=0)
        local[:, numeric] += rng.normal(0.0, 0.05, size=(len(local), int(numeric.sum())))
        candidates = np.clip(np.vstack([candidates, local]), 0.0, 1.0)
        mean, std = gp.predict(candidates)
        ei = expected_improvement(mean, std, best, margin)
        order = np.argsort(-ei)[: self.n_refine]
        if not numeric.any():
            return candidates[order[0]]
        refined, values = self._refine(gp, candidates[order], best, margin)
        i = int(np.argmin(values))
        return refined[i] if -values[i] > np.log(max(ei[order[0]], 1e-300)) else candidates[order[0]]

    def _refine(self, gp, starts, best, margin):
        """Maximise log EI over the numeric columns from each row of ``starts`` (choices
        held fixed); returns the points and their values of -log EI."""
        numeric = self.space.numeric_columns
        full = starts.copy()

        def negative_log_ei(z):
            full[:, numeric] = z
            mean, std, d_mean, d_std = gp.predict(full, return_grad=True)
            ei, grad = expected_improvement_grad(mean, std, d_mean, d_std, best, margin)
            ok = ei > 1e-300
            safe = np.where(ok, ei, 1.0)
            value = np.where(ok, -np.log(safe), 1e3)
            return value, np.where(ok[:, None], -grad[:, numeric] / safe[:, None], 0.0)

        z, values = minimize_box_batch(negative_log_ei, starts[:, numeric], 0.0, 1.0)
        full[:, numeric] = z
        return full.copy(), values


def bayesian_optimization(objective, space, n_trials=30, seed=None, executor=None,
                          n_initial=None, xi=0.0, liar="min", n_parallel=None, **options):
    """Bayesian optimisation with a Matern 5/2 Gaussian process and expected improvement.

    Parameters
    ----------
    objective : callable ``objective(params) -> float`` (lower is better)
    space : dict name -> Real/Integer/Choice
    n_trials : int
        Trainings in total, the initial design included.
    seed : None, int or Generator
    executor : None ("panda"), "caviar" or a concurrent.futures.Executor
    n_initial, xi, liar, options : see :class:`BayesianOptimizer`
    n_parallel : int or None
        Trials running at once (default: the executor's workers); pending trials are
        handled by the constant liar.

    Returns
    -------
    SearchResult
        ``result.suggest_seconds`` holds the time spent proposing each trial.
    """
    n_trials = check_positive("n_trials", n_trials, integer=True)
    optimizer = BayesianOptimizer(space, seed=seed, n_initial=n_initial, xi=xi, liar=liar,
                                  **options)
    runner = TrialRunner(objective, executor, n_parallel)
    for i in range(n_trials):
        while not runner.has_room:
            trial = runner.collect()
            optimizer.tell(trial.params, trial.score)
        phase = "initial" if i < optimizer.n_initial else "model"
        runner.submit(optimizer.ask(), info={"phase": phase})
    while runner.n_pending:
        trial = runner.collect()
        optimizer.tell(trial.params, trial.score)
    result = SearchResult(runner.trials, "bayesian_optimization", runner.elapsed)
    result.suggest_seconds = list(optimizer.ask_seconds)
    result.optimizer = optimizer
    return result
