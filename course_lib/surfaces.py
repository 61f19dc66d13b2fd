"""Two-dimensional loss surfaces for watching optimizers move.

Each ``Surface`` is a function f(x, y) with its analytic gradient, the box to draw it in,
and its minima. ``trajectory(optimizer, surface, start, steps)`` runs one of the course's
optimizers -- the very classes that train the networks -- on a point ``w = [x, y]``:

    from course_lib import optimizers, surfaces
    path = surfaces.trajectory(optimizers.SGD(0.1, momentum=0.9), surfaces.SURFACES["quadratic"])
    path.points      # (n + 1, 2): the start and the point after each step
    path.diverged    # True if the point ran away (then the path stops there)

``Descent`` is the loop behind it, the course's only one: it runs an optimizer from many
starts at once, or several optimizers side by side, and can be advanced step by step (a
race extended as a slider moves).
``settling_step`` is the course's one definition of "reached and stayed".

The surfaces:

- ``"quadratic"``: f = 0.5 * (x^2 + 10 y^2), an elongated bowl with condition number 10.
  Its largest curvature is L = 10, so gradient descent converges for lr < 2 / L = 0.2 and
  diverges for lr > 0.2.
- ``"rosenbrock"``: f = 0.5 * ((1 - x)^2 + 10 (y - x^2)^2), a curved, flat-bottomed valley
  with its minimum at (1, 1): the valley is easy to find and slow to follow.
- ``"saddle"``: f = 0.5 x^2 - 0.5 y^2 + 0.25 y^4, a saddle point at (0, 0) between two
  minima at (0, -1) and (0, 1). Started near the line y = 0, plain gradient descent
  crawls towards the saddle and lingers there; momentum and adaptive methods escape sooner.
- ``"multimodal"``: a shallow bowl with three Gaussian wells of different depths, so
  optimizers started at the same point can end in different minima. From many starts each
  optimizer mostly ends in the well nearest its start: momentum does not, in general, find
  the deepest one (notebook 03 counts it from 16 starts).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from course_lib._validation import check_array, check_choice, check_non_negative, check_number

__all__ = ["Surface", "SURFACES", "Trajectory", "Descent", "trajectory", "settling_step"]

#: How far a trajectory may leave the drawn box before it counts as diverged, in multiples
#: of the box's size. Generous, so that a wide but converging oscillation is not cut short.
ESCAPE_FACTOR = 1000.0


class Surface:
    """A 2-D test function with its analytic gradient.

    Args:
        name: short name, the key in ``SURFACES``.
        f: ``f(x, y) -> z``, vectorised: x and y arrays of one shape, z of that shape.
        grad: ``grad(x, y) -> (dz/dx, dz/dy)``, vectorised like ``f``.
        xlim, ylim: the (low, high) box in which to draw the surface.
        minima: list of (x, y) local minima, the global one first.
        default_start: (x, y) where trajectories start unless told otherwise.
        curvature_max: largest eigenvalue of the Hessian at the global minimum (``None`` if
            not given); gradient descent cannot settle there with lr > 2 / curvature_max.
        saddle_points: list of (x, y) saddle points.
        description: one sentence for figure captions.
    """

    def __init__(self, name, f, grad, xlim, ylim, minima, default_start, *,
                 curvature_max=None, saddle_points=(), description=""):
        self.name = name
        self._f = f
        self._grad = grad
        self.xlim = tuple(float(v) for v in xlim)
        self.ylim = tuple(float(v) for v in ylim)
        self.minima = [tuple(float(v) for v in m) for m in minima]
        self.default_start = tuple(float(v) for v in default_start)
        self.curvature_max = None if curvature_max is None else float(curvature_max)
        self.saddle_points = [tuple(float(v) for v in s) for s in saddle_points]
        self.description = description
        self._grids = {}

    def value(self, x, y):
        """f(x, y) for arrays x, y of one shape (or scalars); returns the same shape."""
        return self._f(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))

    def gradient(self, p):
        """Gradient at a point ``p`` of shape (2,) (or points of shape (..., 2)), same shape."""
        p = np.asarray(p, dtype=np.float64)
        gx, gy = self._grad(p[..., 0], p[..., 1])
        return np.stack([gx, gy], axis=-1)

    def loss(self, p) -> float:
        """f at a point ``p`` of shape (2,), as a float."""
        return float(self.value(p[0], p[1]))

    def grid(self, n=200):
        """``(X, Y, Z)``, each of shape (n, n), over ``xlim`` x ``ylim``, for contour plots.

        Cached per ``n``; the arrays are read-only so the cache cannot be changed by accident.
        """
        if n not in self._grids:
            xs = np.linspace(*self.xlim, n)
            ys = np.linspace(*self.ylim, n)
            arrays = list(np.meshgrid(xs, ys))
            arrays.append(self.value(*arrays))
            for a in arrays:
                a.flags.writeable = False
            self._grids[n] = tuple(arrays)
        return self._grids[n]

    def escape_box(self):
        """``((xlow, xhigh), (ylow, yhigh))``: leaving it counts as divergence."""
        def widen(lim):
            centre, size = (lim[0] + lim[1]) / 2.0, lim[1] - lim[0]
            return centre - ESCAPE_FACTOR * size, centre + ESCAPE_FACTOR * size
        return widen(self.xlim), widen(self.ylim)

    def __repr__(self):
        return f"Surface({self.name!r}, xlim={self.xlim}, ylim={self.ylim}, minima={self.minima})"


@dataclass
class Trajectory:
    """The path of one optimizer on one surface.

    Attributes:
        points: (n + 1, 2) array, the start and the point after each of the n steps taken.
        losses: (n + 1,) array, f at each point.
        diverged: True if a step left the escape box (or produced inf/NaN); the path then
            ends with the last point inside, so ``points`` has fewer than ``steps + 1`` rows.
        diverged_at: the number of the step (1-based) that left the box, else ``None``.
    """

    points: np.ndarray
    losses: np.ndarray
    diverged: bool = False
    diverged_at: int | None = None
    optimizer_name: str = field(default="")

    def steps_to_reach(self, point, tol=1e-3):
        """The first step after which the point is within ``tol`` of ``point`` (and stays
        within ``tol`` to the end), or ``None`` if it never settles there."""
        distance = np.linalg.norm(self.points - np.asarray(point, dtype=np.float64), axis=1)
        return settling_step(distance <= tol)


def settling_step(inside):
    """The first step from which ``inside`` holds to the end, or ``None`` if it does not hold
    at the last step.

    ``inside`` is a boolean array of shape (steps + 1,) or (steps + 1, k) (one column per
    run); the answer is an int (or None), or a list of them, one per column. This is the
    course's one definition of "reached and stayed": a loss below a threshold, a point
    within a tolerance of a minimum.
    """
    inside = np.asarray(inside, dtype=bool)
    if inside.ndim == 2:
        return [settling_step(inside[:, j]) for j in range(inside.shape[1])]
    if inside.ndim != 1 or inside.size == 0:
        raise ValueError(f"inside must be a non-empty 1-D or 2-D boolean array; got shape {inside.shape}.")
    if not inside[-1]:
        return None
    outside = np.flatnonzero(~inside)
    return 0 if outside.size == 0 else int(outside[-1]) + 1


class Descent:
    """Optimizers descending a surface from one start or several at once, step by step.

    This is the course's one loop that runs an optimizer on a surface; ``trajectory`` and
    the notebooks' races and comparisons are built on it::

        descent = Descent(optimizers.Adam(0.1), "rosenbrock", starts=[(-1.5, 2.5), (1.5, -0.5)])
        descent.advance(100)        # 100 steps taken; advance(150) later takes 50 more
        descent.trajectory(1)       # the path from the second start, a Trajectory

        race = Descent([optimizers.SGD(0.01), optimizers.Adam(0.01)], "rosenbrock")
        race.advance(100).trajectory(1)     # Adam's path, from the same start as SGD's

    The points of all runs form one (k, 2) array; the surface's gradient is computed for
    all of them at once. One optimizer updates the whole array: every course optimizer
    updates each coordinate on its own, so it runs k independent paths (clipping by a norm
    would couple them, hence the check). A list of optimizers gives one per run, each
    updating its own row. A run stops, without warnings, at the first step that leaves
    ``surface.escape_box()`` or is not finite; its path ends with the last point inside,
    and the other runs go on.

    Args:
        optimizer: a ``course_lib.optimizers.Optimizer``, or a list of them (one per run).
            Each is ``reset()`` first, so one instance can draw many paths (one at a time).
        surface: a ``Surface`` or the name of one in ``SURFACES``.
        starts: (x, y) or (k, 2) points; defaults to ``surface.default_start``. With a list
            of optimizers, one point is the start of every run.
    """

    def __init__(self, optimizer, surface, starts=None):
        if isinstance(surface, str):
            check_choice("surface", surface, tuple(SURFACES))
        self.surface = SURFACES[surface] if isinstance(surface, str) else surface
        starts = check_array("starts", self.surface.default_start if starts is None else starts)
        if starts.shape == (2,):
            starts = starts[None, :]
        if starts.ndim != 2 or starts.shape[1] != 2 or len(starts) == 0:
            raise ValueError("starts must be a point (x, y) or an array of points of shape "
                             f"(k, 2); got shape {starts.shape}.")
        self.shared = not isinstance(optimizer, (list, tuple))
        self.optimizers = [optimizer] if self.shared else list(optimizer)
        if not self.shared:
            if len(starts) == 1:
                starts = np.repeat(starts, len(self.optimizers), axis=0)
            if len(starts) != len(self.optimizers):
                raise ValueError(f"starts must hold one point, or one per optimizer; got "
                                 f"{len(starts)} starts for {len(self.optimizers)} optimizers.")
        elif len(starts) > 1 and (getattr(optimizer, "clipnorm", None)
                                  or getattr(optimizer, "global_clipnorm", None)):
            raise ValueError("an optimizer that clips by a norm couples the coordinates it "
                             "updates, so it cannot run several starts at once; got "
                             f"{len(starts)} starts. Give one optimizer per start instead.")
        for each in self.optimizers:
            each.reset()
        self.weights = starts.copy()          # what the optimizers move, one row per run
        self.rows = list(self.weights)        # views: row i is what optimizer i moves
        self.points = [starts.copy()]         # per step, a run that left keeps its last point
        self.stopped_at = np.zeros(len(starts), dtype=int)   # 0: still running
        self.box = self.surface.escape_box()

    @property
    def steps(self):
        """The number of steps taken so far."""
        return len(self.points) - 1

    def advance(self, steps):
        """Take steps until ``steps`` have been taken (none if that many already were).

        Returns the ``Descent`` itself, so ``Descent(...).advance(n).trajectory()`` reads
        as one sentence.
        """
        steps = int(check_non_negative("steps", steps, integer=True))
        (xlow, xhigh), (ylow, yhigh) = self.box
        with np.errstate(all="ignore"):   # a run that has left may overflow: it is ignored
            while self.steps < steps:
                running = self.stopped_at == 0
                point = self.points[-1].copy()
                if running.any():
                    gradient = self.surface.gradient(self.weights)
                    if self.shared:
                        self.optimizers[0].step([self.weights], [gradient])
                    else:
                        for i in np.flatnonzero(running):
                            self.optimizers[i].step([self.rows[i]], [gradient[i]])
                    x, y = self.weights[:, 0], self.weights[:, 1]
                    inside = (x >= xlow) & (x <= xhigh) & (y >= ylow) & (y <= yhigh)  # NaN: False
                    self.stopped_at[running & ~inside] = self.steps + 1
                    moved = running & inside
                    point[moved] = self.weights[moved]
                self.points.append(point)
        return self

    def trajectory(self, run=0, steps=None) -> "Trajectory":
        """The path of start number ``run`` over the first ``steps`` steps (all so far if
        ``None``), as a ``Trajectory``. Call ``advance`` first to take more steps."""
        run = int(check_number("run", run, low=0, high=len(self.stopped_at) - 1, integer=True))
        steps = self.steps if steps is None else int(check_number(
            "steps", steps, low=0, high=self.steps, integer=True))
        stop = int(self.stopped_at[run])
        diverged = 0 < stop <= steps
        points = np.array([p[run] for p in self.points[:stop if diverged else steps + 1]])
        losses = self.surface.value(points[:, 0], points[:, 1])
        optimizer = self.optimizers[0 if self.shared else run]
        return Trajectory(points, losses, diverged, stop if diverged else None,
                          getattr(optimizer, "display_name", type(optimizer).__name__))


def trajectory(optimizer, surface, start=None, steps=100) -> Trajectory:
    """Run ``optimizer`` for ``steps`` steps on ``surface`` from ``start``: a ``Trajectory``.

    Args:
        optimizer: a ``course_lib.optimizers.Optimizer``; it is ``reset()`` first, so one
            instance can draw many paths.
        surface: a ``Surface`` or the name of one in ``SURFACES``.
        start: (x, y); defaults to ``surface.default_start``.
        steps: number of optimizer steps (>= 0).

    One ``Descent`` from one start (see there for how a diverging run is stopped).
    """
    if start is not None:
        start = check_array("start", start, ndim=1)
        if start.shape != (2,):
            raise ValueError(f"start must be a point (x, y) of shape (2,); got shape {start.shape}.")
    return Descent(optimizer, surface, start).advance(steps).trajectory(0)


# -- the surfaces --------------------------------------------------------------------------

# Quadratic: f = 0.5 * (A x^2 + B y^2); Hessian diag(A, B), so L = B and kappa = B / A.
_QA, _QB = 1.0, 10.0


def _quadratic(x, y):
    return 0.5 * (_QA * x ** 2 + _QB * y ** 2)


def _quadratic_grad(x, y):
    return _QA * x, _QB * y


# Rosenbrock, scaled: f = S * ((1 - x)^2 + B (y - x^2)^2). The classic B = 100 needs
# learning rates near 1e-3 and thousands of steps; B = 10 and S = 0.5 keep the curved
# valley while common learning rates (0.001 .. 0.1) make visible progress.
_RS, _RB = 0.5, 10.0


def _rosenbrock(x, y):
    return _RS * ((1.0 - x) ** 2 + _RB * (y - x ** 2) ** 2)


def _rosenbrock_grad(x, y):
    valley = y - x ** 2
    return _RS * (-2.0 * (1.0 - x) - 4.0 * _RB * x * valley), _RS * (2.0 * _RB * valley)


def _rosenbrock_curvature_at_minimum():
    hessian = _RS * np.array([[2.0 + 8.0 * _RB, -4.0 * _RB], [-4.0 * _RB, 2.0 * _RB]])
    return float(np.linalg.eigvalsh(hessian).max())


# Saddle: f = 0.5 x^2 - 0.5 y^2 + 0.25 y^4. Hessian diag(1, -1) at (0, 0) (a saddle),
# diag(1, 2) at the minima (0, +-1), where f = -0.25. The quartic keeps f bounded below.
def _saddle(x, y):
    return 0.5 * x ** 2 - 0.5 * y ** 2 + 0.25 * y ** 4


def _saddle_grad(x, y):
    return x, y ** 3 - y


# Multimodal: f = 0.5 c (x^2 + y^2) - sum_i d_i exp(-|p - p_i|^2 / (2 s_i^2)).
# Rows: centre x, centre y, depth d, width s. The bowl term keeps far-away gradients
# pointing home; the minima sit close to (not exactly at) the centres.
_BOWL = 0.05
_WELLS = np.array([
    [1.6, 1.2, 1.6, 0.8],     # the deepest well: the global minimum
    [-1.7, 1.0, 1.2, 0.7],
    [0.3, -1.7, 1.0, 0.6],
])


def _multimodal(x, y):
    z = 0.5 * _BOWL * (x ** 2 + y ** 2)
    for cx, cy, depth, width in _WELLS:
        z = z - depth * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2.0 * width ** 2))
    return z


def _multimodal_grad(x, y):
    gx, gy = _BOWL * x, _BOWL * y
    for cx, cy, depth, width in _WELLS:
        pull = depth * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2.0 * width ** 2)) / width ** 2
        gx = gx + pull * (x - cx)
        gy = gy + pull * (y - cy)
    return gx, gy


def _hessian(grad, p, h=1e-5):
    """The (2, 2) Hessian at ``p`` by central differences of the analytic ``grad``, symmetrised."""
    p = np.asarray(p, dtype=np.float64)
    hessian = np.column_stack([
        (np.array(grad(*(p + h * e))) - np.array(grad(*(p - h * e)))) / (2.0 * h)
        for e in np.eye(2)])
    return 0.5 * (hessian + hessian.T)


def _newton_minimum(grad, start, iterations=50):
    """Refine a minimum with Newton's method."""
    p = np.array(start, dtype=np.float64)
    for _ in range(iterations):
        p = p - np.linalg.solve(_hessian(grad, p), np.array(grad(*p)))
    return p


def _hessian_max_eigenvalue(grad, p):
    return float(np.linalg.eigvalsh(_hessian(grad, p)).max())


def _make_multimodal():
    minima = [tuple(_newton_minimum(_multimodal_grad, well[:2])) for well in _WELLS]
    return Surface(
        "multimodal", _multimodal, _multimodal_grad, xlim=(-3.5, 3.5), ylim=(-3.5, 3.5),
        minima=minima, default_start=(-1.0, -0.75),
        curvature_max=_hessian_max_eigenvalue(_multimodal_grad, minima[0]),
        description="Three wells of different depths in a shallow bowl: where an optimizer "
                    "ends depends on its path.")


#: The course's surfaces by name.
SURFACES = {
    "quadratic": Surface(
        "quadratic", _quadratic, _quadratic_grad, xlim=(-4.0, 4.0), ylim=(-2.0, 2.0),
        minima=[(0.0, 0.0)], default_start=(-3.5, 1.5), curvature_max=max(_QA, _QB),
        description="An elongated bowl, f = 0.5 (x^2 + 10 y^2): condition number 10, "
                    "gradient descent diverges for lr > 0.2."),
    "rosenbrock": Surface(
        "rosenbrock", _rosenbrock, _rosenbrock_grad, xlim=(-2.0, 2.0), ylim=(-1.0, 3.0),
        minima=[(1.0, 1.0)], default_start=(-1.5, 2.5),
        curvature_max=_rosenbrock_curvature_at_minimum(),
        description="A curved, flat-bottomed valley (Rosenbrock): easy to find, slow to follow."),
    "saddle": Surface(
        "saddle", _saddle, _saddle_grad, xlim=(-2.5, 2.5), ylim=(-1.8, 1.8),
        minima=[(0.0, -1.0), (0.0, 1.0)], default_start=(-2.2, 0.01), curvature_max=2.0,
        saddle_points=[(0.0, 0.0)],
        description="A saddle point at the origin between two minima: started near y = 0, "
                    "gradient descent lingers at the saddle."),
    "multimodal": _make_multimodal(),
}
