"""One result type for every search strategy: the trials, the best one, best-so-far curves."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .._validation import check_choice

__all__ = ["Trial", "SearchResult"]


@dataclass(frozen=True)
class Trial:
    """One training (or objective evaluation).

    Attributes
    ----------
    params : dict
        The hyperparameters tried.
    score : float
        The objective's value (lower is better); ``inf`` if it returned NaN or inf.
    budget : float or None
        The budget given (epochs) for budget-based strategies, ``None`` otherwise.
    seconds : float
        How long the objective ran (in its worker).
    finished : float
        Wall-clock seconds from the start of the search until the result was collected.
    index : int
        Order of submission (0, 1, ...).
    info : dict
        Strategy-specific notes: ``round`` (coarse-to-fine), ``rung``/``bracket`` (halving).
    """

    params: dict
    score: float
    budget: float | None = None
    seconds: float = 0.0
    finished: float = 0.0
    index: int = 0
    info: dict = field(default_factory=dict)


class SearchResult:
    """The trials of a search, in the order their results were collected.

    ``best_trial`` is the trial with the lowest score (for Hyperband this is, as in the
    original paper, the smallest loss seen at any budget).
    """

    def __init__(self, trials, strategy, wall_seconds=None, max_budget=None):
        self.trials = list(trials)
        self.strategy = strategy
        self.max_budget = max_budget
        self.wall_seconds = (float(wall_seconds) if wall_seconds is not None
                             else max((t.finished for t in self.trials), default=0.0))
        if not self.trials:
            raise ValueError("a search result needs at least one trial.")

    # -- the best ---------------------------------------------------------------------
    @property
    def scores(self):
        """Array (n_trials,) of scores in collection order."""
        return np.array([t.score for t in self.trials], dtype=float)

    @property
    def best_trial(self):
        return self.trials[int(np.argmin(self.scores))]

    @property
    def best_params(self):
        return dict(self.best_trial.params)

    @property
    def best_score(self):
        return float(self.best_trial.score)

    def __len__(self):
        return len(self.trials)

    # -- curves -----------------------------------------------------------------------
    def best_so_far(self, x="trials"):
        """The best score after each trial: ``(x_values, best)``, two arrays (n_trials,).

        ``x`` chooses the horizontal axis: ``"trials"`` (1, 2, ...), ``"trainings"``
        (cumulative budget in units of full trainings: a 3-epoch trial of a 27-epoch budget
        counts 1/9) or ``"seconds"`` (wall-clock time when each result arrived).
        """
        check_choice("x", x, ("trials", "trainings", "seconds"))
        best = np.minimum.accumulate(self.scores)
        if x == "trials":
            xs = np.arange(1, len(best) + 1, dtype=float)
        elif x == "seconds":
            xs = np.array([t.finished for t in self.trials], dtype=float)
        else:
            full = self.max_budget
            xs = np.cumsum([1.0 if (t.budget is None or not full) else t.budget / full
                            for t in self.trials])
        return xs, best

    @property
    def total_trainings(self):
        """Cost in full trainings (budget-based trials count their fraction of the budget)."""
        return float(self.best_so_far("trainings")[0][-1])

    # -- display and storage ----------------------------------------------------------
    def table(self, n=10):
        """The ``n`` best trials as a text table."""
        order = np.argsort(self.scores, kind="stable")[:n]
        names = list(self.trials[0].params)
        head = "  ".join(f"{name:>14}" for name in names)
        lines = [f"{'score':>10}  {head}{'  budget' if self.max_budget else ''}"]
        for i in order:
            t = self.trials[i]
            cells = "  ".join(f"{_fmt(t.params[name]):>14}" for name in names)
            budget = f"  {_fmt(t.budget):>6}" if self.max_budget else ""
            lines.append(f"{t.score:>10.4g}  {cells}{budget}")
        return "\n".join(lines)

    def __repr__(self):
        return (f"SearchResult({self.strategy}: {len(self.trials)} trials, "
                f"best_score={self.best_score:.4g}, best_params={_fmt_params(self.best_params)})")

    def to_dict(self):
        """A JSON-serialisable dict (for committed benchmark results)."""
        return {"strategy": self.strategy, "wall_seconds": self.wall_seconds,
                "max_budget": self.max_budget,
                "trials": [{**asdict(t), "score": _json_float(t.score)} for t in self.trials]}

    @classmethod
    def from_dict(cls, data):
        trials = [Trial(**{**t, "score": float(t["score"])}) for t in data["trials"]]
        return cls(trials, data["strategy"], data["wall_seconds"], data.get("max_budget"))


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _fmt_params(params):
    return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in params.items()) + "}"


def _json_float(x):
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")
