"""The experiments of the notebook on hyperparameter search, and their numbers.

* grid vs random search on a toy 2-D loss: :func:`toy_objective`, :func:`projection_points`,
  :func:`projection_summary`;
* the scale of a search: :data:`SCALE_RANGES`, :func:`scale_dimension`, :func:`decade_shares`;
* Bayesian optimisation of a 1-D function, step by step: :func:`bo_steps`;
* babysitting the digits network: :func:`babysit`;
* the benchmark's results, shipped with the library: :func:`load_bench_results` and the
  curves and numbers the notebook reads from them (:func:`comparison_curves`,
  :func:`best_within`, :func:`variance_explained`).

Nothing here draws; ``figures.py`` and ``explorers.py`` show these numbers.
"""
from __future__ import annotations

import functools
import json
import math
import time
from importlib import resources

import numpy as np

from ..._validation import check_choice, check_number, check_positive
from ...search import GaussianProcess, Real, SearchResult, expected_improvement
from ...search.digits import DigitsObjective
from ...search.functions import forrester_curve

# ------------------------------------------------------------------ grid vs random projection

#: The optimum of the toy objective of the projection figure, in the unit square.
TOY_OPTIMUM = (0.63, 0.37)
IMPORTANCE = ("only x1 matters", "only x2 matters", "both matter")
#: Budgets of the projection explorer: square numbers, so that a full k x k grid fits.
PROJECTION_TRIALS = (4, 9, 16, 25, 36, 49)


def toy_objective(x1, x2, important="only x1 matters"):
    """A 2-D loss on the unit square whose dependence on each parameter is chosen.

    Each parameter adds a narrow dip around its optimum; an unimportant parameter's dip
    is scaled by 0.02, so it barely changes the loss. Vectorised over arrays.
    """
    check_choice("important", important, IMPORTANCE)
    w1 = 0.02 if important == "only x2 matters" else 1.0
    w2 = 0.02 if important == "only x1 matters" else 1.0
    dip1 = np.exp(-0.5 * ((np.asarray(x1) - TOY_OPTIMUM[0]) / 0.07) ** 2)
    dip2 = np.exp(-0.5 * ((np.asarray(x2) - TOY_OPTIMUM[1]) / 0.07) ** 2)
    return 1.0 - (w1 * dip1 + w2 * dip2) / (w1 + w2)


@functools.lru_cache(maxsize=None)
def toy_loss_map(important, n=120):
    """:func:`toy_objective` at the centres of an n x n grid of the unit square, array
    (n, n) with x2 along the rows (the background of the projection figure), computed once."""
    u = (np.arange(n) + 0.5) / n
    loss = toy_objective(u[None, :], u[:, None], important)
    loss.setflags(write=False)
    return loss


def projection_points(n_trials, seed=0):
    """The trials of both strategies for a budget of ``n_trials``: ``(grid, random)``,
    arrays (k*k, 2) in the unit square, with k = floor(sqrt(n_trials)) so that both use the
    same number of trials; the grid sits at the centres of k x k equal cells."""
    n_trials = check_positive("n_trials", n_trials, integer=True)
    k = max(1, int(math.isqrt(n_trials)))
    centres = (np.arange(k) + 0.5) / k
    grid = np.array([(a, b) for a in centres for b in centres])
    rng = np.random.default_rng(seed)
    return grid, rng.random((k * k, 2))


def distinct_values(points, axis):
    """How many different values the trials give to parameter ``axis`` (0 or 1)."""
    return len(np.unique(np.round(np.asarray(points)[:, axis], 12)))


def projection_summary(points, important):
    """``(distinct x1, distinct x2, best loss)`` of a set of trials on the toy objective."""
    values = toy_objective(points[:, 0], points[:, 1], important)
    return distinct_values(points, 0), distinct_values(points, 1), float(np.min(values))


# ------------------------------------------------------------------------------ the scale

#: The ranges of the scale explorer: name -> ((low, high, near one), decade edges, axis label).
SCALE_RANGES = {
    "learning rate 1e-4 .. 1": ((1e-4, 1.0, False), (1e-4, 1e-3, 1e-2, 1e-1, 1.0), "learning rate"),
    "beta 0.9 .. 0.999": ((0.9, 0.999, True), (0.9, 0.99, 0.999), "beta"),
}


def scale_dimension(range_name, scale):
    """The ``Real`` dimension for a range of :data:`SCALE_RANGES` sampled on ``scale``
    ("linear" or "log"; for beta, "log" means 1 - beta on a log scale)."""
    check_choice("range_name", range_name, tuple(SCALE_RANGES))
    check_choice("scale", scale, ("linear", "log"))
    (low, high, near_one), _, _ = SCALE_RANGES[range_name]
    log = scale == "log"
    return Real(low, high, log=log, one_minus=log and near_one)


def decade_shares(samples, edges):
    """Fraction of ``samples`` in each interval ``[edges[i], edges[i+1])`` (last one closed)."""
    samples = np.asarray(samples, dtype=float)
    counts, _ = np.histogram(samples, bins=np.asarray(edges, dtype=float))
    return counts / max(len(samples), 1)


# ------------------------------------------------------------------ Bayesian optimisation 1-D

#: The grid on which the 1-D Bayesian optimisation is computed and drawn.
BO_GRID = np.linspace(0.0, 1.0, 241)
#: The first three trials of the 1-D demonstration (fixed, so every learner sees the same start).
BO_START = (0.15, 0.5, 0.9)


def bo_steps(length_scale=0.15, xi=0.0, n_steps=12):
    """Bayesian optimisation of the Forrester curve on [0, 1], with fixed GP hyperparameters.

    Starts from :data:`BO_START`; at every step fits a Matern 5/2 GP (signal variance 1,
    noise 1e-6, scores standardised), computes the expected improvement on
    :data:`BO_GRID`, and evaluates its maximiser. Returns a list of ``n_steps + 1`` dicts
    with ``x``, ``y`` (the trials so far), ``mean``, ``std``, ``ei`` (on the grid) and
    ``next`` (the point chosen next).
    """
    length_scale = check_number("length_scale", length_scale, low=0, low_inclusive=False)
    xi = check_number("xi", xi, low=0)
    n_steps = check_positive("n_steps", n_steps, integer=True)
    # Rounded so that slider values that differ in their last bits share one cache entry.
    return _bo_steps(round(length_scale, 6), round(xi, 6), n_steps)


@functools.lru_cache(maxsize=64)
def _bo_steps(length_scale, xi, n_steps):
    xs = list(BO_START)
    states = []
    for _ in range(n_steps + 1):
        x = np.array(xs)
        y = forrester_curve(x)
        gp = GaussianProcess(length_scales=length_scale, signal_variance=1.0, noise_variance=1e-6)
        gp.fit(x[:, None], y, optimize=False)
        mean, std = gp.predict(BO_GRID[:, None])
        ei = expected_improvement(mean, std, float(np.min(y)), xi)
        nxt = float(BO_GRID[int(np.argmax(ei))])
        states.append({"x": x, "y": y, "mean": mean, "std": std, "ei": ei, "next": nxt})
        xs.append(nxt)
    return states


# ------------------------------------------------------------------------------ babysitting

#: The network the babysitting explorer trains: 12 epochs on 600 training digits.
BABYSITTING_OBJECTIVE = DigitsObjective(epochs=12, n_train=600)


def babysit(learning_rate=1e-3, hidden_units=64, l2=1e-4, dropout=0.2, batch_size=64, epochs=12):
    """Train the digits network once (cached per setting): a dict with the per-epoch
    ``loss``, ``val_loss``, ``val_accuracy``, the final ``score`` (validation loss),
    ``diverged_at`` and ``seconds``."""
    # Values rounded as the sliders show them, so that one setting is one cache entry.
    return _babysit(float(f"{learning_rate:.3g}"), int(hidden_units), float(f"{l2:.3g}"),
                    round(float(dropout), 2), int(batch_size), int(epochs))


@functools.lru_cache(maxsize=256)
def _babysit(learning_rate, hidden_units, l2, dropout, batch_size, epochs):
    params = {"learning_rate": learning_rate, "hidden_units": hidden_units, "l2": l2,
              "dropout": dropout}
    objective = DigitsObjective(epochs=epochs, n_train=BABYSITTING_OBJECTIVE.n_train,
                                batch_size=batch_size)
    start = time.perf_counter()
    model, history = objective.train(params)
    seconds = time.perf_counter() - start
    h = history.history
    return {"loss": np.array(h.get("loss", [])), "val_loss": np.array(h.get("val_loss", [])),
            "val_accuracy": np.array(h.get("val_accuracy", [])),
            "score": objective.validation_loss(model),
            "diverged_at": getattr(history, "diverged_at", None), "seconds": seconds}


# ------------------------------------------------------------------ the benchmark's results

#: The results of ``bench/search.py``, shipped inside this package (package data).
BENCH_RESULTS = "search_comparison.json"


def load_bench_results():
    """The results of the benchmark ``bench/search.py`` (a new dict at every call).

    ``"functions"``: best-so-far curves on Branin and Hartmann-6 per method and seed;
    ``"digits"``: every trial of every strategy on the digits network, per seed
    (``SearchResult.to_dict()`` dicts); ``"meta"``: the machine and versions they ran with.
    """
    text = resources.files(__package__).joinpath(BENCH_RESULTS).read_text(encoding="utf-8")
    return json.loads(text)


def step_curve(xs, best, grid):
    """Resample a best-so-far step curve (values ``best`` reached at ``xs``) on ``grid``:
    NaN before the first result and after the last one (where the run had ended)."""
    xs, best = np.asarray(xs, dtype=float), np.asarray(best, dtype=float)
    idx = np.searchsorted(xs, grid, side="right") - 1
    inside = (idx >= 0) & (np.asarray(grid) <= xs[-1] + 1e-9)
    return np.where(inside, best[np.clip(idx, 0, None)], np.nan)


def comparison_curves(runs, x="trainings", grid=None):
    """Best-so-far curves of stored runs (``SearchResult.to_dict()`` dicts) resampled on
    a common ``grid``: returns ``(grid, array (n_runs, len(grid)))``."""
    curves = [SearchResult.from_dict(run).best_so_far(x) for run in runs]
    if grid is None:
        top = max(xs[-1] for xs, _ in curves)
        grid = np.linspace(0, top, 200)
    return grid, np.array([step_curve(xs, best, grid) for xs, best in curves])


def best_within(run, budget, x="trainings"):
    """The best score a stored run (``SearchResult.to_dict()``) had found when ``x``
    (trainings or seconds) reached ``budget``; inf if nothing had finished yet."""
    xs, best = SearchResult.from_dict(run).best_so_far(x)
    done = xs <= budget + 1e-9
    return float(best[done][-1]) if done.any() else float("inf")


def variance_explained(values, scores, bins=5):
    """Share of the variance of ``scores`` explained by binning ``values`` into ``bins``
    equal-count groups (the correlation ratio eta^2, between 0 and 1): how much knowing one
    hyperparameter tells about the score."""
    values = np.asarray(values, dtype=float)
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(values, kind="stable")
    groups = np.array_split(scores[order], bins)
    total = np.sum((scores - scores.mean()) ** 2)
    between = sum(len(g) * (g.mean() - scores.mean()) ** 2 for g in groups if len(g))
    return float(between / total) if total > 0 else 0.0
