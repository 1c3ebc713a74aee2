"""Objectives: a per-point penalty rho(r) on residuals, summed with per-point weights.

Every objective is ``sum_i w_i rho(r_i)`` with ``r_i = t(y_i) - t(yhat_i)`` and ``t`` the
identity or ``log``. Sums, not means: averaging shrinks the objective by 1/n and makes
L-BFGS stop at its start on small residuals, the failure Besiroglu et al. 2024
(arXiv:2404.10102) diagnosed in Hoffmann et al.'s fit. For Gauss-Newton solvers each
objective also gives the pseudo-residual ``s = sign(r) sqrt(2 rho(r))``, so that
``0.5 * sum(w s^2)`` is the same objective (the Huber-as-least-squares form of Triggs et al.).

Numbers (``delta``) are pytree leaves, so changing them never recompiles.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp

__all__ = ["MSE", "HuberLog", "LogMSE", "Objective", "get_objective"]


class Objective(abc.ABC):
    """Abstract base of the objectives: ``rho`` and ``pseudo_residual`` on residuals ``r``."""

    log_space: ClassVar[bool]
    name: ClassVar[str]

    @abc.abstractmethod
    def rho(self, r):
        """Penalty of one residual."""

    @abc.abstractmethod
    def pseudo_residual(self, r):
        """sign(r) sqrt(2 rho(r))."""


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class HuberLog(Objective):
    """Huber loss on log residuals: rho(r) = r^2/2 if |r| <= delta else delta(|r| - delta/2).

    Hoffmann et al. 2022 (App. D.2) with delta = 1e-3; Besiroglu et al. 2024 sum it.
    """

    delta: float = 1e-3
    log_space: ClassVar[bool] = True
    name: ClassVar[str] = "huber-log"

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

    def rho(self, r):
        return r**2

    def pseudo_residual(self, r):
        return jnp.sqrt(2.0) * r


_BY_NAME = {"huber-log": HuberLog, "mse": MSE, "log-mse": LogMSE}


def get_objective(name: str | Objective, delta: float = 1e-3) -> Objective:
    """The objective called ``name`` (``huber-log``, ``mse``, ``log-mse``)."""
    if isinstance(name, Objective):
        return name
    if name not in _BY_NAME:
        raise ValueError(f"loss must be one of {', '.join(_BY_NAME)}; got {name!r}")
    return HuberLog(float(delta)) if name == "huber-log" else _BY_NAME[name]()
