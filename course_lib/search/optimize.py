"""A small box-constrained quasi-Newton minimiser (projected BFGS), in NumPy.

Used twice by Bayesian optimisation: to fit the Gaussian process's hyperparameters (maximise
the log marginal likelihood over a few log-scales) and to polish the best candidates of the
expected improvement. Both problems have at most a dozen variables, so a dense inverse
Hessian is cheap.
"""
from __future__ import annotations

import numpy as np

__all__ = ["minimize_box"]


def minimize_box(fun, x0, lower, upper, max_iter=50, tol=1e-6):
    """Minimise ``fun`` over the box ``lower <= x <= upper``.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (value, gradient)`` for ``x`` of shape (d,); gradient shape (d,).
    x0, lower, upper : arrays (d,)
    max_iter : int
        Iterations (each is one line search of a few evaluations).
    tol : float
        Stop when the projected gradient's largest entry is below ``tol``.

    Returns
    -------
    x : array (d,), value : float
        The best point found and its value.

    The search direction is ``-H g`` on the free variables (those not held at a bound by
    the gradient), with ``H`` the BFGS approximation of the inverse Hessian; a backtracking
    line search along the projected path keeps every iterate inside the box.
    """
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    x = np.clip(np.asarray(x0, dtype=float), lower, upper)
    f, g = fun(x)
    if not np.isfinite(f):
        return x, f
    d = x.size
    H = np.eye(d)
    for _ in range(max_iter):
        at_low = (x <= lower) & (g > 0)
        at_high = (x >= upper) & (g < 0)
        free = ~(at_low | at_high)
        if np.max(np.abs(g[free]), initial=0.0) < tol:
            break
        direction = -(H @ np.where(free, g, 0.0))
        direction[~free] = 0.0
        slope = float(g @ direction)
        if slope >= 0:  # the curvature model went wrong: restart from steepest descent
            H = np.eye(d)
            direction = np.where(free, -g, 0.0)
            slope = float(g @ direction)
        step = 1.0
        for _ in range(30):
            x_new = np.clip(x + step * direction, lower, upper)
            f_new, g_new = fun(x_new)
            if np.isfinite(f_new) and f_new <= f + 1e-4 * float(g @ (x_new - x)):
                break
            step *= 0.5
        else:
            break
        s, y = x_new - x, g_new - g
        sy = float(s @ y)
        if sy > 1e-12:
            rho = 1.0 / sy
            V = np.eye(d) - rho * np.outer(s, y)
            H = V @ H @ V.T + rho * np.outer(s, s)
        converged = abs(f - f_new) <= 1e-10 * max(1.0, abs(f))
        x, f, g = x_new, f_new, g_new
        if converged:
            break
    return x, float(f)


def minimize_box_batch(fun, X0, lower=0.0, upper=1.0, max_iter=40, min_step=1e-4):
    """Minimise ``fun`` from several starting points at once, inside a box.

    ``fun(X) -> (values (k,), gradients (k, d))`` evaluates ``k`` independent points in
    one vectorised call. Each point moves along its normalised negative gradient with its
    own step length, grown by 1.5 after a success and halved after a failure (a point that
    would get worse stays put). Returns ``(X, values)``, the best points and their values.
    """
    X = np.clip(np.array(X0, dtype=float), lower, upper)
    f, g = fun(X)
    steps = np.full(len(X), 0.05)
    for _ in range(max_iter):
        active = steps > min_step
        if not active.any():
            break
        norm = np.linalg.norm(g, axis=1, keepdims=True)
        direction = -g / np.where(norm > 0, norm, 1.0)
        X_try = np.clip(X + steps[:, None] * direction, lower, upper)
        f_try, g_try = fun(X_try)
        better = active & np.isfinite(f_try) & (f_try < f)
        X[better], f[better], g[better] = X_try[better], f_try[better], g_try[better]
        steps = np.where(better, steps * 1.5, steps * 0.5)
    return X, f
