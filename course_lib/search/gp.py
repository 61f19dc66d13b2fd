"""A Gaussian process regressor with a Matern 5/2 kernel, in NumPy.

The model behind Bayesian optimisation: given the scores ``y`` (n,) of the points ``X``
(n, d) tried so far (in the unit cube), it predicts at any new point a mean (the expected
score) and a standard deviation (how unsure it is). Its own hyperparameters, one length
scale per dimension, the signal variance and the noise variance, are fitted by maximising
the log marginal likelihood

    log p(y | X) = -1/2 y^T K^-1 y - 1/2 log det K - n/2 log 2 pi,   K = k(X, X) + noise I.
"""
from __future__ import annotations

import math

import numpy as np

from .._validation import check_array, check_seed
from .optimize import minimize_box

__all__ = ["matern52", "GaussianProcess"]

SQRT5 = math.sqrt(5.0)


def matern52(x1, x2, length_scales, signal_variance=1.0):
    """The Matern 5/2 kernel matrix between the rows of ``x1`` (n, d) and ``x2`` (m, d).

    k(x, x') = s^2 (1 + sqrt(5) r + 5/3 r^2) exp(-sqrt(5) r),  r = ||(x - x') / l||,

    with one length scale ``l`` per dimension (or one for all). Returns an array (n, m).
    Functions drawn from it are twice differentiable: smooth, but less rigid than the
    squared-exponential kernel's.
    """
    r = np.sqrt(_scaled_sq_dist(np.atleast_2d(x1), np.atleast_2d(x2), length_scales))
    return signal_variance * (1.0 + SQRT5 * r + 5.0 / 3.0 * r ** 2) * np.exp(-SQRT5 * r)


def _scaled_sq_dist(x1, x2, length_scales):
    a = x1 / length_scales
    b = x2 / length_scales
    sq = np.sum(a ** 2, axis=1)[:, None] + np.sum(b ** 2, axis=1)[None, :] - 2.0 * a @ b.T
    return np.maximum(sq, 0.0)


class GaussianProcess:
    """Gaussian process regression with a Matern 5/2 kernel.

    Parameters
    ----------
    length_scales : float or array (d,)
        Initial (or fixed, with ``fit(..., optimize=False)``) length scales, in input units.
    signal_variance, noise_variance : float
        Initial (or fixed) variances, in units of the standardised scores.
    normalize_y : bool
        Subtract the mean of ``y`` and divide by its standard deviation before fitting
        (the prior mean is then the average score).
    bounds : dict
        Allowed ranges of ``length_scales``, ``signal_variance`` and ``noise_variance`` for
        the fit, as ``(low, high)`` pairs.
    prior : None, "weak" or tuple
        None: maximum likelihood. "weak": maximise likelihood times a weak prior that keeps
        length scales between about 0.3 and 3, the signal variance near 1 and the noise
        small. A tuple ``(mean_log_l, sd_log_l, mean_log_s2, sd_log_s2, mean_log_noise,
        sd_log_noise)``: Gaussian priors on the log-hyperparameters.
    """

    DEFAULT_BOUNDS = {"length_scales": (1e-2, 1e1), "signal_variance": (5e-2, 2e1),
                      "noise_variance": (1e-6, 1.0)}

    def __init__(self, length_scales=0.3, signal_variance=1.0, noise_variance=1e-6,
                 normalize_y=True, bounds=None, prior=None):
        self.length_scales = np.atleast_1d(np.asarray(length_scales, dtype=float))
        if np.any(self.length_scales <= 0):
            raise ValueError(f"length_scales must be positive; got {length_scales!r}.")
        if signal_variance <= 0 or noise_variance <= 0:
            raise ValueError(f"signal_variance and noise_variance must be positive; got "
                             f"{signal_variance!r} and {noise_variance!r}.")
        self.signal_variance = float(signal_variance)
        self.noise_variance = float(noise_variance)
        self.normalize_y = bool(normalize_y)
        self.bounds = {**self.DEFAULT_BOUNDS, **(bounds or {})}
        self.prior = prior
        self.X = None

    # -- data ---------------------------------------------------------------------------
    def fit(self, X, y, optimize=True, n_restarts=2, rng=None, max_iter=60):
        """Condition on ``X`` (n, d), ``y`` (n,); with ``optimize``, first fit the
        hyperparameters by maximising the log marginal likelihood (from the current
        values and from ``n_restarts`` random starts). Returns ``self``."""
        X = check_array("X", X, ndim=2)
        y = check_array("y", y, ndim=1)
        if len(X) != len(y) or len(X) == 0:
            raise ValueError(f"X and y must hold the same, non-zero number of points; got "
                             f"{len(X)} and {len(y)}.")
        d = X.shape[1]
        if self.length_scales.size == 1 and d > 1:
            self.length_scales = np.full(d, self.length_scales[0])
        elif self.length_scales.size != d:
            raise ValueError(f"length_scales has {self.length_scales.size} values for {d} "
                             f"input dimensions.")
        self._set_data(X, y)
        if optimize:
            self._optimize(n_restarts, check_seed("rng", rng), max_iter)
        self._factorize()
        return self

    def condition(self, X, y):
        """Same hyperparameters, new data (used to add "lies" for pending trials)."""
        X = check_array("X", X, ndim=2)
        y = check_array("y", y, ndim=1)
        self._set_data(X, y)
        self._factorize()
        return self

    def _set_data(self, X, y):
        self.X, self.y = X, y
        if self.normalize_y:
            self.y_mean = float(np.mean(y))
            std = float(np.std(y))
            self.y_std = std if std > 0 else 1.0
        else:
            self.y_mean, self.y_std = 0.0, 1.0
        self._z = (y - self.y_mean) / self.y_std
        diff = X[:, None, :] - X[None, :, :]
        self._sq_diff = diff ** 2          # (n, n, d): reused by every likelihood evaluation

    # -- hyperparameters ----------------------------------------------------------------
    @property
    def theta(self):
        """Log-hyperparameters: [log l_1..log l_d, log signal_variance, log noise_variance]."""
        return np.log(np.concatenate([self.length_scales, [self.signal_variance,
                                                            self.noise_variance]]))

    @theta.setter
    def theta(self, value):
        value = np.exp(np.asarray(value, dtype=float))
        self.length_scales = value[:-2].copy()
        self.signal_variance, self.noise_variance = float(value[-2]), float(value[-1])

    def _theta_bounds(self, d):
        b = self.bounds
        low = np.log([b["length_scales"][0]] * d + [b["signal_variance"][0], b["noise_variance"][0]])
        high = np.log([b["length_scales"][1]] * d + [b["signal_variance"][1], b["noise_variance"][1]])
        return low, high

    def log_marginal_likelihood(self, theta=None, return_grad=False):
        """log p(y | X, theta) of the standardised scores (and its gradient in theta)."""
        if self.X is None:
            raise RuntimeError("call fit(X, y) first.")
        theta = self.theta if theta is None else np.asarray(theta, dtype=float)
        value, grad = self._lml_and_grad(theta)
        return (value, grad) if return_grad else value

    def _lml_and_grad(self, theta):
        n, d = self.X.shape
        lengths = np.exp(theta[:d])
        s2, noise = np.exp(theta[d]), np.exp(theta[d + 1])
        scaled = self._sq_diff / lengths ** 2                     # (n, n, d)
        r = np.sqrt(np.sum(scaled, axis=2))
        e = np.exp(-SQRT5 * r)
        k_f = s2 * (1.0 + SQRT5 * r + 5.0 / 3.0 * r ** 2) * e
        K = k_f + (noise + 1e-10) * np.eye(n)
        try:
            L = np.linalg.cholesky(K)
        except np.linalg.LinAlgError:
            return -np.inf, np.zeros_like(theta)
        L_inv = np.linalg.inv(L)
        K_inv = L_inv.T @ L_inv
        alpha = K_inv @ self._z
        value = (-0.5 * float(self._z @ alpha) - float(np.sum(np.log(np.diag(L))))
                 - 0.5 * n * math.log(2 * math.pi))
        W = np.outer(alpha, alpha) - K_inv                        # d lml / d K = W / 2
        # d K / d log l_j = s2 * 5/3 * (1 + sqrt5 r) exp(-sqrt5 r) * (x_j - x'_j)^2 / l_j^2
        A = W * (s2 * 5.0 / 3.0 * (1.0 + SQRT5 * r) * e)
        grad = np.empty(d + 2)
        grad[:d] = 0.5 * np.einsum("ab,abj->j", A, scaled)
        grad[d] = 0.5 * np.sum(W * k_f)
        grad[d + 1] = 0.5 * noise * np.trace(W)
        return value, grad

    def _log_prior(self, theta):
        """Log-density of a prior on the hyperparameters (up to a constant) and its gradient
        with respect to ``theta`` (the log-hyperparameters)."""
        d = len(theta) - 2
        if self.prior == "weak":
            # Length scales: -0.1 (l^2 + 1/l^2), flat between about 0.3 and 3, steep outside;
            # signal variance: log s2 - s2 (mode 1); noise: 0.1 log n - 30 n (small noise).
            ls, s2, noise = np.exp(theta[:d]), np.exp(theta[d]), np.exp(theta[d + 1])
            value = (-0.1 * float(np.sum(ls ** 2 + ls ** -2)) + (theta[d] - s2)
                     + (0.1 * theta[d + 1] - 30.0 * noise))
            grad = np.concatenate([-0.2 * (ls ** 2 - ls ** -2), [1.0 - s2, 0.1 - 30.0 * noise]])
            return float(value), grad
        m_l, s_l, m_s, s_s, m_n, s_n = self.prior
        mean = np.array([m_l + 0.5 * math.log(d)] * d + [m_s, m_n])
        sd = np.array([s_l] * d + [s_s, s_n])
        z = (theta - mean) / sd
        return -0.5 * float(z @ z), -z / sd

    def _optimize(self, n_restarts, rng, max_iter):
        d = self.X.shape[1]
        low, high = self._theta_bounds(d)
        starts = [np.clip(self.theta, low, high)]
        starts += [rng.uniform(low, high) for _ in range(n_restarts)]

        def negative(theta):
            value, grad = self._lml_and_grad(theta)
            if self.prior is not None:
                p_value, p_grad = self._log_prior(theta)
                value, grad = value + p_value, grad + p_grad
            return -value, -grad

        best_theta, best_value = self.theta, -np.inf
        for start in starts:
            theta, value = minimize_box(negative, start, low, high, max_iter=max_iter)
            if -value > best_value:
                best_theta, best_value = theta, -value
        if np.isfinite(best_value):
            self.theta = best_theta
        self.log_likelihood_ = best_value

    # -- prediction ---------------------------------------------------------------------
    def _factorize(self):
        n = len(self.X)
        K = matern52(self.X, self.X, self.length_scales, self.signal_variance)
        K[np.diag_indices(n)] += self.noise_variance + 1e-10
        jitter = 1e-10
        while True:
            try:
                L = np.linalg.cholesky(K)
                break
            except np.linalg.LinAlgError:  # nearly repeated points: add a little more noise
                jitter *= 10
                K[np.diag_indices(n)] += jitter
        self._L_inv = np.linalg.inv(L)
        self._alpha = self._L_inv.T @ (self._L_inv @ self._z)

    def predict(self, X, return_std=True, return_grad=False):
        """Posterior mean (m,) and standard deviation (m,) of the latent function at ``X``
        (m, d), in the units of ``y``. With ``return_grad``, also their gradients (m, d)."""
        if self.X is None:
            raise RuntimeError("call fit(X, y) before predict.")
        X = np.atleast_2d(np.asarray(X, dtype=float))
        k_star = matern52(X, self.X, self.length_scales, self.signal_variance)   # (m, n)
        mean = self.y_mean + self.y_std * (k_star @ self._alpha)
        if not return_std and not return_grad:
            return mean
        v = self._L_inv @ k_star.T                                             # (n, m)
        var = np.maximum(self.signal_variance - np.sum(v ** 2, axis=0), 1e-12)
        std = self.y_std * np.sqrt(var)
        if not return_grad:
            return mean, std
        # d k(x, x_i) / d x = -s2 * 5/3 * (1 + sqrt5 r) exp(-sqrt5 r) * (x - x_i) / l^2
        diff = X[:, None, :] - self.X[None, :, :]                               # (m, n, d)
        r = np.sqrt(np.sum((diff / self.length_scales) ** 2, axis=2))
        factor = -self.signal_variance * 5.0 / 3.0 * (1.0 + SQRT5 * r) * np.exp(-SQRT5 * r)
        dk = factor[:, :, None] * diff / self.length_scales ** 2                # (m, n, d)
        d_mean = self.y_std * np.einsum("mnd,n->md", dk, self._alpha)
        k_inv_k = (self._L_inv.T @ v).T                                          # (m, n)
        d_var = -2.0 * np.einsum("mn,mnd->md", k_inv_k, dk)
        d_std = self.y_std * d_var / (2.0 * np.sqrt(var))[:, None]
        return mean, std, d_mean, d_std

    def __repr__(self):
        ls = ", ".join(f"{v:.3g}" for v in self.length_scales)
        return (f"GaussianProcess(length_scales=[{ls}], signal_variance={self.signal_variance:.3g}, "
                f"noise_variance={self.noise_variance:.3g})")
