"""A discrepancy term that grows with extrapolation, its scale learned by backtesting.

A forecast at x* adds to the law's posterior predictive a model discrepancy (Kennedy &
O'Hagan 2001)

    delta(x*) ~ Normal(0, tau(x*)),   tau(x*) = (tau0 + kappa * d(x*)) * exp(lam * a(x*)),

where a(x*) is the signed number of decades by which x* lies beyond the training data (along
each input and, for several inputs, their product: compute for N and D), and d = max(a_fit, 0)
the same distance from the data the posterior was fitted on. (tau0, kappa, lam) are not fitted
to the targets: they maximise the log predictive score of backtests built from the training
data alone (fit the points below a cut, score the next decade above it; Gneiting & Raftery
2007 on proper scoring rules). kappa lets intervals widen with extrapolation distance; lam lets
the law's misfit grow with scale itself, bounded to |lam| <= ``lam_max`` per decade because
the backtests see only a <= 0.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, logsumexp

from lawfit.bayes._laplace import lbfgs_minimum
from lawfit.data import InputError
from lawfit.precision import computing

__all__ = [
    "LAM_MAX", "Backtest", "Discrepancy", "check_lam_max", "learn_discrepancy", "signed_distance",
]

#: Default largest |lam| (per decade) the discrepancy learns (``lam_max``).
LAM_MAX = 1.0
#: L-BFGS evaluations per start when learning the discrepancy.
MAX_STEPS = 500
#: Backtests are padded to a multiple of this (zero weight), so that learning from a few
#: more or fewer (e.g. leaving one group's out) reuses the compiled search.
BUCKET = 16


class Discrepancy(NamedTuple):
    """tau(x) = (tau0 + kappa * d) * exp(lam * a); ``score`` is the backtests' mean log
    predictive density with it and ``score_none`` without (both per point)."""

    tau0: float = 0.0
    kappa: float = 0.0
    lam: float = 0.0
    score: float = math.nan
    score_none: float = math.nan

    def scale(self, d, a):
        """The discrepancy sd at distances ``d`` (>= 0) and signed positions ``a``."""
        return (self.tau0 + self.kappa * np.asarray(d)) * np.exp(self.lam * np.asarray(a))


class Backtest(NamedTuple):
    """One backtest: ``mu`` (S, n) posterior draws of the law's log mean at the scored points,
    ``sigma``, ``df`` (S,) the noise, ``y`` (n,) observed log loss, ``d`` (n,) distance from
    the fitted part, ``a`` (n,) signed position relative to the whole training data."""

    mu: np.ndarray
    sigma: np.ndarray
    df: np.ndarray
    y: np.ndarray
    d: np.ndarray
    a: np.ndarray


def signed_distance(box, x: dict, inputs) -> np.ndarray:
    """Decades beyond a training ``box`` (see :attr:`Posterior.box`): the largest of
    log10 x_i - box_i over inputs (and their product); negative inside the data."""
    logs = np.stack([np.log10(np.asarray(x[n], float)) for n in inputs])
    if len(inputs) > 1:
        logs = np.concatenate([logs, logs.sum(axis=0, keepdims=True)])
    return np.max(logs - np.asarray(box, float)[:, None], axis=0)


def _log_student_t(y, mu, scale, df):
    z = (y - mu) / scale
    return (
        gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * jnp.log(df * jnp.pi) - jnp.log(scale)
        - 0.5 * (df + 1) * jnp.log1p(z * z / df)
    )


def learn_discrepancy(
    backtests: list[Backtest], weights=None, *, lam_max: float = LAM_MAX, draws: int = 200,
    points: int = 60,
) -> Discrepancy:
    """Maximum mean log score over (tau0, kappa >= 0, |lam| <= ``lam_max``) of the pooled
    backtests.

    Each backtest has total weight ``weights[b]`` (default 1) spread over its points. The
    predictive density of a point is the mixture over draws of the Student-t noise widened by
    the discrepancy, StudentT(df_s, mu_s, sqrt(sigma_s^2 + tau^2)) (exact for Normal noise).
    At most ``draws`` draws and ``points`` points per backtest are used. ``lam_max`` is a
    number, not structure: changing it reuses the compiled search (0: no growth).
    """
    lam_max = check_lam_max(lam_max)
    if not backtests:
        return Discrepancy()
    weights = np.ones(len(backtests)) if weights is None else np.asarray(weights, float)
    n_max = max(min(points, len(b.y)) for b in backtests)
    s_max = min(draws, min(len(b.sigma) for b in backtests))
    arrays = {k: [] for k in ("mu", "sigma", "df", "y", "d", "a", "w")}
    for b, w in zip(backtests, weights, strict=True):
        js = np.unique(np.linspace(0, len(b.y) - 1, min(points, len(b.y))).astype(int))
        ss = np.linspace(0, len(b.sigma) - 1, s_max).astype(int)
        pad = n_max - len(js)
        take = np.concatenate([js, np.full(pad, js[0])])
        arrays["mu"].append(b.mu[np.ix_(ss, take)])
        arrays["sigma"].append(b.sigma[ss])
        arrays["df"].append(b.df[ss])
        arrays["y"].append(b.y[take])
        arrays["d"].append(b.d[take])
        arrays["a"].append(b.a[take])
        arrays["w"].append(np.concatenate([np.full(len(js), w / len(js)), np.zeros(pad)]))
    extra = -len(backtests) % BUCKET  # zero-weight copies: fewer distinct shapes to compile
    for k, v in arrays.items():
        v.extend([np.zeros_like(v[0]) if k == "w" else v[0]] * extra)
    starts = [[math.log(tau0), math.log(kappa), 0.0]
              for tau0 in (1e-3, 1e-2, 5e-2) for kappa in (1e-3, 3e-2)]
    with computing("float64"):
        arr = {k: jnp.asarray(np.stack(v), jnp.float64) for k, v in arrays.items()}
        thetas, scores, none = (np.asarray(v) for v in _best_discrepancy(
            jnp.asarray(starts), arr, jnp.asarray(lam_max, jnp.float64)))
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    best = int(np.argmax(scores))  # the first start wins ties, as in a loop over starts
    theta = thetas[best]
    return Discrepancy(
        float(np.exp(theta[0])), float(np.exp(theta[1])),
        float(_bounded_lam(theta[2], lam_max)), float(scores[best]), float(none),
    )


def check_lam_max(lam_max) -> float:
    """``lam_max`` as a float, checked to be a finite number >= 0."""
    try:
        value = float(lam_max)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise InputError(f"lam_max must be a finite number >= 0 (per decade); got {lam_max!r}")
    return value


def _score(theta, arr, lam_max):
    """Mean log predictive score of the backtests ``arr`` with the discrepancy ``theta``
    (log tau0, log kappa, unbounded lam)."""
    w = arr["w"] / jnp.sum(arr["w"])
    tau0, kappa, lam = jnp.exp(theta[0]), jnp.exp(theta[1]), _bounded_lam(theta[2], lam_max)
    tau = (tau0 + kappa * arr["d"]) * jnp.exp(lam * arr["a"])  # (B, n)
    scale = jnp.sqrt(arr["sigma"][:, :, None] ** 2 + tau[:, None, :] ** 2)
    lp = _log_student_t(arr["y"][:, None, :], arr["mu"], scale, arr["df"][:, :, None])
    lp = logsumexp(lp, axis=1) - jnp.log(arr["mu"].shape[1])  # (B, n)
    return jnp.sum(w * lp)


@jax.jit
def _best_discrepancy(starts, arr, lam_max):
    """From each start, argmax of the score by L-BFGS (the posterior-mode search of
    :mod:`lawfit.bayes._laplace`, on minus the score); the scores there, and the score with
    no discrepancy. Compiled once per shape of ``arr``: numbers (``lam_max`` too) are leaves."""
    def best(t0):
        return lbfgs_minimum(lambda t: -_score(t, arr, lam_max), t0, MAX_STEPS)[0]

    thetas = jax.vmap(best)(starts)
    scores = jax.vmap(_score, in_axes=(0, None, None))(thetas, arr, lam_max)
    return thetas, scores, _score(jnp.array([-40.0, -40.0, 0.0]), arr, lam_max)


def _bounded_lam(theta, lam_max):
    """lam = lam_max tanh(theta / lam_max): backtests score points inside the training data
    (a <= 0) only, so nothing there stops lam from growing without bound and blowing up tau
    beyond the data; the bound caps the growth at e^lam_max per decade (lam_max 0: lam 0)."""
    return lam_max * jnp.tanh(theta / jnp.maximum(lam_max, 1e-12))
