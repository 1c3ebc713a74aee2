"""Objectives: a per-point penalty rho(r) on residuals, summed with per-point weights.

Every objective is ``sum_i w_i rho(r_i)`` with ``r_i = t(y_i) - t(yhat_i)`` and ``t`` the
identity, ``log`` or ``log1p`` (:meth:`Objective.observed`, :meth:`Objective.predicted`).
Sums, not means: averaging shrinks the objective by 1/n and makes L-BFGS stop at its start
on small residuals, the failure Besiroglu et al. 2024 (arXiv:2404.10102) diagnosed in
Hoffmann et al.'s fit. For Gauss-Newton solvers each objective also gives the
pseudo-residual ``s = sign(r) sqrt(2 rho(r))``, so that ``0.5 * sum(w s^2)`` is the same
objective (the Huber-as-least-squares form of Triggs et al.).

One objective is not a plain sum: :class:`HuberLogScale` minimises over a scale too (Huber's
concomitant scale). :meth:`Objective.at` turns it, at given residuals, into a per-point
objective plus a constant, which is what solvers evaluate.

Numbers (``delta``, ``overestimate_weight``, ``epsilon``) are pytree leaves, so changing them
never recompiles.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax import lax

__all__ = [
    "MSE",
    "MSLE",
    "AsymmetricLogMSE",
    "HuberLog",
    "HuberLogScale",
    "LogMSE",
    "Objective",
    "get_objective",
]


class Objective(abc.ABC):
    """Abstract base of the objectives: ``rho`` and ``pseudo_residual`` on residuals ``r``.

    Class attributes: ``name`` (for ``loss=``); ``log_space``: residuals of log y, predicted
    through the law's stable ``log_fn``; ``y_lower``: observations must exceed it (None: any);
    ``per_point``: the objective is ``sum w rho(r)`` (else see :meth:`at`);
    ``default_solver``: what ``solver="auto"`` picks.
    """

    log_space: ClassVar[bool]
    name: ClassVar[str]
    y_lower: ClassVar[float | None] = None
    per_point: ClassVar[bool] = True
    default_solver: ClassVar[str] = "lm"

    @abc.abstractmethod
    def rho(self, r):
        """Penalty of one residual."""

    @abc.abstractmethod
    def pseudo_residual(self, r):
        """sign(r) sqrt(2 rho(r))."""

    def observed(self, y, xp=jnp):
        """t(y): the transformed observations (``xp`` is numpy or jax.numpy)."""
        return xp.log(y) if self.log_space else y

    def predicted(self, law, params, x):
        """t(yhat) for one point: the law's ``log_fn`` in log space, else t of its value."""
        return law.log_predict_one(params, x) if self.log_space else law.fn(params, x)

    def at(self, r, weight):
        """``(per_point, constant)``: a per-point objective and a constant whose sum
        ``constant + sum(weight * per_point.rho(r))`` is this objective at residuals ``r``
        (``weight`` zero on padding). A per-point objective is itself plus 0."""
        del r, weight
        return self, 0.0


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class HuberLog(Objective):
    """Huber loss on log residuals: rho(r) = r^2/2 if |r| <= delta else delta(|r| - delta/2).

    Hoffmann et al. 2022 (App. D.2) with delta = 1e-3; Besiroglu et al. 2024 sum it.
    """

    delta: float = 1e-3
    log_space: ClassVar[bool] = True
    name: ClassVar[str] = "huber-log"
    y_lower: ClassVar[float | None] = 0.0
    default_solver: ClassVar[str] = "lbfgs"

    def __post_init__(self):
        if isinstance(self.delta, (int, float)) and not self.delta > 0:
            raise ValueError(f"delta must be positive; got {self.delta}")

    def rho(self, r):
        a = jnp.abs(r)
        return jnp.where(a <= self.delta, 0.5 * r**2, self.delta * (a - 0.5 * self.delta))

    def pseudo_residual(self, r):
        a = jnp.abs(r)
        linear = jnp.sqrt(self.delta * (2.0 * jnp.maximum(a, self.delta) - self.delta))
        return jnp.where(a <= self.delta, r, jnp.sign(r) * linear)


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class MSE(Objective):
    """Squared error on the raw value: rho(r) = r^2 (a summed least-squares fit)."""

    log_space: ClassVar[bool] = False
    name: ClassVar[str] = "mse"

    def rho(self, r):
        return r**2

    def pseudo_residual(self, r):
        return jnp.sqrt(2.0) * r


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class LogMSE(Objective):
    """Squared error on log values: rho(r) = r^2 with r = log y - log yhat."""

    log_space: ClassVar[bool] = True
    name: ClassVar[str] = "log-mse"
    y_lower: ClassVar[float | None] = 0.0

    def rho(self, r):
        return r**2

    def pseudo_residual(self, r):
        return jnp.sqrt(2.0) * r


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class MSLE(Objective):
    """Squared error of log(1 + y): rho(r) = r^2 with r = log1p(y) - log1p(yhat).

    The mean squared log error Caballero et al. 2023 (arXiv:2210.14891) fit broken neural
    scaling laws with, summed rather than averaged; needs y > -1 (and yhat > -1).
    """

    log_space: ClassVar[bool] = False
    name: ClassVar[str] = "msle"
    y_lower: ClassVar[float | None] = -1.0

    def observed(self, y, xp=jnp):
        return xp.log1p(y)

    def predicted(self, law, params, x):
        return jnp.log1p(law.fn(params, x))

    def rho(self, r):
        return r**2

    def pseudo_residual(self, r):
        return jnp.sqrt(2.0) * r


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class AsymmetricLogMSE(Objective):
    """Squared log error weighted ``overestimate_weight`` (w > 1) where the law over-predicts.

    rho(r) = w r^2 if r < 0 (yhat > y) else r^2, with r = log y - log yhat. Asymmetric least
    squares (Newey & Powell 1987, Econometrica 55(4)): the fit is the 1/(1+w) expectile of the
    log loss, a curve near the lower envelope of the runs, for fits that must not promise a
    loss no run reached (the over-estimate penalty of kyo-takano/chinchilla, docs/changes.md,
    and of the OLMo model-ladder fits). w = 1 is ``log-mse``.
    """

    overestimate_weight: float = 4.0
    log_space: ClassVar[bool] = True
    name: ClassVar[str] = "asymmetric-log"
    y_lower: ClassVar[float | None] = 0.0

    def __post_init__(self):
        w = self.overestimate_weight
        if isinstance(w, (int, float)) and not w >= 1:
            raise ValueError(f"overestimate_weight must be >= 1; got {w}")

    def rho(self, r):
        return jnp.where(r < 0, self.overestimate_weight, 1.0) * r**2

    def pseudo_residual(self, r):
        return jnp.sqrt(2.0 * jnp.where(r < 0, self.overestimate_weight, 1.0)) * r


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class _ScaledHuber(Objective):
    """sigma H(r / sigma) for a fixed scale: :class:`HuberLogScale` at its optimal scale."""

    scale: float
    epsilon: float
    log_space: ClassVar[bool] = True
    name: ClassVar[str] = "huber-log-scale"

    def rho(self, r):
        a = jnp.abs(r)
        bound = self.epsilon * self.scale
        return jnp.where(a <= bound, r**2 / self.scale, self.epsilon * (2.0 * a - bound))

    def pseudo_residual(self, r):
        return jnp.sign(r) * jnp.sqrt(2.0 * self.rho(r))


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class HuberLogScale(Objective):
    """Huber on log residuals with a learned scale (Huber's concomitant scale).

    min over sigma > 0 of sum_i w_i [sigma + sigma H(r_i / sigma)], H(z) = z^2 for |z| <=
    epsilon, 2 epsilon |z| - epsilon^2 beyond: jointly convex in (yhat, sigma) (Owen 2007,
    "A robust hybrid of lasso and ridge regression", eq. 8; Huber 1981 sec. 7.7 "proposal 2";
    scikit-learn's HuberRegressor). Unlike ``huber-log``, whose delta is a fixed threshold on
    log residuals, the threshold epsilon * sigma follows the noise level of the data.

    The scale is not a fit parameter: it is profiled out. At residuals r the optimal sigma
    solves sum_inliers w (1 - r^2/sigma^2) + sum_outliers w (1 - epsilon^2) = 0; bisection
    in log sigma finds the inlier set and sigma^2 = sum_I w r^2 / (W_I + W_O (1 - epsilon^2))
    follows in closed form, differentiable in r. Envelope theorem: the gradient at fixed
    optimal sigma is the profiled objective's, so Gauss-Newton solvers use sigma H(r/sigma)
    per point plus the constant W sigma. ``epsilon`` > 1 (1.345: 95% efficiency under normal
    noise); the objective is in units of sigma, not comparable with ``huber-log``'s.
    """

    epsilon: float = 1.345
    log_space: ClassVar[bool] = True
    name: ClassVar[str] = "huber-log-scale"
    y_lower: ClassVar[float | None] = 0.0
    per_point: ClassVar[bool] = False
    default_solver: ClassVar[str] = "lbfgs"

    def __post_init__(self):
        if isinstance(self.epsilon, (int, float)) and not self.epsilon > 1:
            raise ValueError(f"epsilon must be > 1; got {self.epsilon}")

    def rho(self, r):
        raise TypeError("huber-log-scale is not a per-point objective; use Objective.at")

    def pseudo_residual(self, r):
        raise TypeError("huber-log-scale is not a per-point objective; use Objective.at")

    def scale(self, r, weight):
        """The optimal sigma for residuals ``r`` (``weight`` zero on padding)."""
        eps2 = self.epsilon**2
        has = weight > 0
        a = lax.stop_gradient(jnp.where(has, jnp.abs(r), 0.0))
        total = jnp.sum(weight)
        tiny = jnp.finfo(a.dtype).tiny ** 0.25
        hi = jnp.log(jnp.max(a) + tiny)

        def slope(log_sigma):  # d/dsigma of the objective; increasing in sigma
            inlier = a <= self.epsilon * jnp.exp(log_sigma)
            z2 = (a * jnp.exp(-log_sigma)) ** 2
            return jnp.sum(weight * jnp.where(inlier, 1.0 - z2, 1.0 - eps2))

        def body(_, bracket):
            lo, up = bracket
            mid = 0.5 * (lo + up)
            below = slope(mid) < 0
            return jnp.where(below, mid, lo), jnp.where(below, up, mid)

        _, up = lax.fori_loop(0, 60, body, (hi - 60.0, hi))
        sigma_b = lax.stop_gradient(jnp.exp(up))
        inlier = has & (a <= self.epsilon * sigma_b)
        w_in = jnp.sum(jnp.where(inlier, weight, 0.0))
        num = jnp.sum(jnp.where(inlier, weight * r**2, 0.0))
        den = w_in + (total - w_in) * (1.0 - eps2)
        safe_den = jnp.where(den > 0, den, 1.0)
        return jnp.sqrt(jnp.maximum(jnp.where(den > 0, num / safe_den, 0.0), tiny**2))

    def at(self, r, weight):
        sigma = self.scale(r, weight)
        return _ScaledHuber(sigma, self.epsilon), jnp.sum(weight) * sigma


_BY_NAME = {
    "huber-log": HuberLog,
    "mse": MSE,
    "log-mse": LogMSE,
    "msle": MSLE,
    "asymmetric-log": AsymmetricLogMSE,
    "huber-log-scale": HuberLogScale,
}


def get_objective(name: str | Objective, delta: float = 1e-3) -> Objective:
    """The objective called ``name``: ``huber-log`` (with ``delta``), ``mse``, ``log-mse``,
    ``msle``, ``asymmetric-log`` or ``huber-log-scale`` (default settings; pass an instance
    for others, e.g. ``AsymmetricLogMSE(overestimate_weight=2.0)``)."""
    if isinstance(name, Objective):
        return name
    if name not in _BY_NAME:
        raise ValueError(f"loss must be one of {', '.join(_BY_NAME)}; got {name!r}")
    return HuberLog(float(delta)) if name == "huber-log" else _BY_NAME[name]()
