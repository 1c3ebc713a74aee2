"""Levenberg-Marquardt on pseudo-residuals, with Marquardt's diagonal scaling.

Each step solves (H + mu diag(H)) h = -g with H = J^T J and g = J^T s, accepts h when the
gain ratio rho = (f - f(u+h)) / (f - m(h)) is positive, and updates mu by Nielsen's rule
(Madsen, Nielsen & Tingleff 2004, "Methods for non-linear least squares problems", sec.
3.2): mu *= max(1/3, 1 - (2 rho - 1)^3) on success; mu *= nu, nu *= 2 on failure
(``scaling="identity"``: Levenberg's mu I in place of mu diag(H), i.e. unscaled variables as
in scipy's ``least_squares`` with ``x_scale=1``). A trial point where the objective is not
finite is a rejected step, so overflow far from the optimum only raises the damping. It
stops as MINPACK's ``lmder`` does: relative actual and predicted reductions below ``ftol``,
a relative step below ``xtol``, or a gradient below ``gtol``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp

from lawfit.fitting._solver import Solver, descent_termination

__all__ = ["LevenbergMarquardt"]


class LMState(NamedTuple):
    """The current point (``f = inf`` until the start is evaluated) and the damping."""

    u: jax.Array
    f: jax.Array
    g: jax.Array
    hess: jax.Array
    mu: jax.Array
    nu: jax.Array
    converged: jax.Array
    stalled: jax.Array


def _check_positive(owner, names):
    for name in names:
        value = getattr(owner, name)
        if isinstance(value, (int, float)) and not value > 0:
            raise ValueError(f"{type(owner).__name__}.{name} must be positive; got {value}")
    if isinstance(owner.max_steps, int) and owner.max_steps < 1:
        raise ValueError(f"{type(owner).__name__}.max_steps must be >= 1; got {owner.max_steps}")


def _floor(tol, dtype):
    return jnp.maximum(tol, 8 * jnp.finfo(dtype).eps)


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class LevenbergMarquardt(Solver):
    """Levenberg-Marquardt for objectives written as 0.5*|s(u)|^2 (the default solver).

    Attributes:
        ftol: relative reduction of the objective below which to stop.
        xtol: relative step size below which to stop.
        gtol: infinity norm of the gradient below which to stop.
        max_steps: step cap.
        tau: initial damping relative to the largest diagonal entry of J^T J.
        scaling: ``"marquardt"`` (damping mu diag(J^T J), invariant to rescaling the
            parameters) or ``"identity"`` (Levenberg's mu I; static).
    """

    ftol: float = 1e-10
    xtol: float = 1e-10
    gtol: float = 1e-14
    max_steps: int = 500
    tau: float = 1e-3
    scaling: str = field(default="marquardt", metadata=dict(static=True))

    def __post_init__(self):
        _check_positive(self, ("ftol", "xtol", "gtol", "tau"))
        if self.scaling not in ("marquardt", "identity"):
            raise ValueError(
                "LevenbergMarquardt.scaling must be 'marquardt' or 'identity'; "
                f"got {self.scaling!r}"
            )

    def init(self, u0):
        dtype = u0.dtype
        k = u0.shape[-1]
        false = jnp.asarray(False)
        return LMState(
            u=u0,
            f=jnp.asarray(jnp.inf, dtype),
            g=jnp.zeros(k, dtype),
            hess=jnp.zeros((k, k), dtype),
            mu=jnp.asarray(1.0, dtype),
            nu=jnp.asarray(2.0, dtype),
            converged=false,
            stalled=false,
        )

    def step(self, fns, state):
        u, f, g, hess, mu, nu = state.u, state.f, state.g, state.hess, state.mu, state.nu
        dtype = u.dtype
        fresh = ~jnp.isfinite(f)
        ftol, xtol = _floor(self.ftol, dtype), _floor(self.xtol, dtype)
        diag = jnp.diagonal(hess)
        big = jnp.maximum(jnp.max(diag), 1.0)
        scale = jnp.where(diag > jnp.finfo(dtype).eps * big, diag, big)
        if self.scaling == "identity":
            scale = jnp.ones_like(diag)
        h = jnp.linalg.solve(hess + mu * jnp.diag(scale), -g)
        h = jnp.where(fresh | ~jnp.all(jnp.isfinite(h)), 0.0, h)
        u_new = u + h
        f_new, g_new, hess_new = fns.gauss_newton(u_new)
        finite = (
            jnp.isfinite(f_new) & jnp.all(jnp.isfinite(g_new)) & jnp.all(jnp.isfinite(hess_new))
        )
        predicted = 0.5 * jnp.dot(h, mu * scale * h - g)
        actual = f - f_new
        rho = actual / predicted
        accept = finite & (fresh | (rho > 0))
        small_step = jnp.linalg.norm(h) <= xtol * (jnp.linalg.norm(u) + xtol)
        small_reduction = (jnp.abs(actual) <= ftol * f_new) & (predicted <= ftol * f_new)
        small_grad = jnp.max(jnp.abs(g_new)) <= self.gtol
        converged = accept & (small_grad | (~fresh & (small_reduction | small_step)))
        converged = converged | (~fresh & ~accept & small_step)
        stalled = (~accept & (nu > 2.0**60)) | (fresh & ~finite)
        shrink = jnp.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
        mu_new = jnp.where(
            fresh,
            self.tau * jnp.maximum(jnp.max(jnp.diagonal(hess_new)), jnp.finfo(dtype).tiny),
            jnp.where(accept, mu * shrink, mu * nu),
        )

        def pick(new, old):
            return jnp.where(accept, new, old)

        return LMState(
            u=pick(u_new, u),
            f=pick(f_new, f),
            g=pick(g_new, g),
            hess=pick(hess_new, hess),
            mu=mu_new,
            nu=jnp.where(accept, 2.0, 2.0 * nu),
            converged=converged,
            stalled=stalled,
        )

    def terminate(self, state):
        return descent_termination(state)

    def params(self, state):
        return state.u

    def value(self, state):
        return state.f
