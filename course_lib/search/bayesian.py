"""Bayesian optimisation: a Gaussian process of the scores, expected improvement to pick the next trial.

Each step: fit the Gaussian process to the (point, score) pairs seen so far (in the unit
cube of the space, log dimensions on their log scale); compute the expected improvement over
the best score; run the point where it is largest; repeat. With several workers, trials
that are still running are added to the data with a made-up score (the *constant liar*), so
the next proposal goes somewhere else instead of waiting.

Two choices tune the model for the few dozen trials a search can afford:

- the length scales get a log-normal prior centred on short scales (:data:`GP_PRIOR`): with
  twenty or thirty points, the likelihood alone often prefers long scales, a smooth and
  over-confident model that stops looking closely around the best trials;
- scores above the median are *squashed* (:func:`squash`): a diverged training with a huge loss
  would otherwise stretch the standardised scale so far that all the good trials look
  alike to the model.

Both were chosen on seeds and test functions apart from those of ``bench/search.py``.
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

__all__ = ["BayesianOptimizer", "bayesian_optimization", "latin_hypercube", "squash",
           "squash_parameters", "unsquash", "GP_PRIOR"]

#: Gaussian priors on the log-hyperparameters of the model (see :class:`GaussianProcess`):
#: log length scale ~ N(-2 + log(d) / 2, 0.7^2), so a median length scale of 0.33 of the unit
#: cube in 6 dimensions (0.19 in 2), most of the mass within a factor 4 of it;
#: log signal variance ~ N(0, 2^2); log noise variance ~ N(-6, 2^2) (scores standardised).
GP_PRIOR = (-2.0, 0.7, 0.0, 2.0, -6.0, 2.0)


def squash_parameters(y):
    """Centre and scale of :func:`squash` for the scores ``y``: their median, and a spread
    that a few extreme scores do not inflate (the interquartile range / 1.349, the standard
    deviation of a normal sample; the standard deviation if the quartiles coincide)."""
    q25, q50, q75 = np.quantile(np.asarray(y, dtype=float), [0.25, 0.5, 0.75])
    scale = (q75 - q25) / 1.349
    return float(q50), float(scale if scale > 0 else (np.std(y) or 1.0))


def squash(y, center=None, scale=None):
    """Scores above ``center`` pulled in on a log scale: ``c + s log(1 + (y - c) / s)``;
    scores at or below it unchanged. Monotone, so the best trial stays the best.
    ``center`` and ``scale`` default to :func:`squash_parameters` of ``y``."""
    y = np.asarray(y, dtype=float)
    if center is None or scale is None:
        default_center, default_scale = squash_parameters(y)
        center = default_center if center is None else center
        scale = default_scale if scale is None else scale
    above = np.maximum(y - center, 0.0)
    return np.where(y > center, center + scale * np.log1p(above / scale), y)


def unsquash(t, center, scale):
    """The inverse of :func:`squash`."""
    t = np.asarray(t, dtype=float)
    above = np.minimum(np.maximum(t - center, 0.0) / scale, 700.0)
    return np.where(t > center, center + scale * np.expm1(above), t)


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
        prior :data:`GP_PRIOR` (a maximum a posteriori fit) and length scales between 0.01
        and 100 (in the unit cube): with a handful of points, plain maximum likelihood jumps
        between extremes (every point unrelated, or a dimension ignored) and the search
        wanders.
    squash_scores : bool
        Model the scores after :func:`squash` above their median (:func:`squash_parameters`),
        so that a few very bad trials do not flatten the model where the
        good ones are.
    """

    def __init__(self, space, seed=None, n_initial=None, xi=0.0, liar="min",
                 n_candidates=2000, n_refine=5, fit_hyperparameters=True, gp_options=None,
                 n_restarts=0, squash_scores=True):
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
        self.squash_scores = bool(squash_scores)
        options = {"prior": GP_PRIOR, "bounds": {"length_scales": (0.01, 100.0)},
                   **(gp_options or {})}
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
    def _scores(self):
        """The observed scores, a failed trial counting as the worst one seen."""
        y = np.array([s for _, _, s in self.observed], dtype=float)
        finite = np.isfinite(y)
        if not finite.any():
            raise RuntimeError(f"the model needs at least one finite score; got {len(y)} "
                               f"trial(s), none finite.")
        y[~finite] = np.max(y[finite])
        return y

    def _data(self):
        X = np.array([x for _, x, _ in self.observed])
        y = self._scores()
        if self.squash_scores:
            y = squash(y)
        return X, y

    def predict(self, points):
        """The model's view of the score at ``points`` (a list of dicts): its median and the
        ends of its 95% band (arrays), in the units of the score (the squashing undone).

        Call :meth:`fit_model` first (or use the model as the last :meth:`ask` left it)."""
        if self.gp.X is None:
            raise RuntimeError("fit the model first: call fit_model() after a few tell()s.")
        mean, std = self.gp.predict(self.space.encode(points))
        if not self.squash_scores:
            return mean, mean - 2 * std, mean + 2 * std
        center, scale = squash_parameters(self._scores())
        return tuple(unsquash(v, center, scale) for v in (mean, mean - 2 * std, mean + 2 * std))

    def fit_model(self):
        """Fit the Gaussian process to the observed scores (squashed if ``squash_scores``);
        returns it."""
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
