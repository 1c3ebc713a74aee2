"""L-BFGS: optax's L-BFGS preconditioner with a backtracking Armijo line search.

Each step evaluates one trial point u + t d. An accepted trial (Armijo: f(u + t d) <= f(u)
+ c1 t g.d) updates the curvature memory through :func:`optax.scale_by_lbfgs` and gives
the next direction; a rejected one shrinks t by safeguarded quadratic interpolation. One
evaluation per step keeps every lane of a batch in lock step (Nocedal & Wright 2006,
"Numerical Optimization", Alg. 7.5 with Alg. 3.1 backtracking). A pair with non-positive
curvature resets the memory, so the direction is always one of descent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from lawfit.fit._lm import _check_positive, _floor
from lawfit.fit._solver import Solver
from lawfit.fit._status import Status

__all__ = ["LBFGS"]


class LBFGSState(NamedTuple):
    """Current point (``f = inf`` until evaluated), direction, step length and memory."""

    u: jax.Array
    f: jax.Array
    g: jax.Array
    direction: jax.Array
    t: jax.Array
    memory: optax.ScaleByLBFGSState
    converged: jax.Array
    stalled: jax.Array


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class LBFGS(Solver):
    """Limited-memory BFGS for any objective (``memory`` pairs, static).

    Attributes:
        ftol: relative reduction of the objective on an accepted step below which to stop.
        gtol: infinity norm of the gradient below which to stop.
        max_steps: step cap (each step is one objective-and-gradient evaluation).
        c1: Armijo sufficient-decrease constant.
        memory: number of curvature pairs kept (static: changing it recompiles).
    """

    ftol: float = 1e-12
    gtol: float = 1e-14
    max_steps: int = 1000
    c1: float = 1e-4
    memory: int = field(default=10, metadata=dict(static=True))

    def __post_init__(self):
        _check_positive(self, ("ftol", "gtol", "c1"))
        if self.memory < 1:
            raise ValueError(f"LBFGS.memory must be >= 1; got {self.memory}")

    @property
    def _preconditioner(self):
        return optax.scale_by_lbfgs(memory_size=self.memory)

    def init(self, u0):
        dtype = u0.dtype
        false = jnp.asarray(False)
        return LBFGSState(
            u=u0,
            f=jnp.asarray(jnp.inf, dtype),
            g=jnp.zeros_like(u0),
            direction=jnp.zeros_like(u0),
            t=jnp.asarray(1.0, dtype),
            memory=self._preconditioner.init(u0),
            converged=false,
            stalled=false,
        )

    def step(self, fns, state):
        u, f, g, d, t = state.u, state.f, state.g, state.direction, state.t
        dtype = u.dtype
        eps = jnp.finfo(dtype).eps
        fresh = ~jnp.isfinite(f)
        trial = u + jnp.where(fresh, 0.0, t * d)
        f_t, g_t = fns.value_and_grad(trial)
        finite = jnp.isfinite(f_t) & jnp.all(jnp.isfinite(g_t))
        slope = jnp.dot(g, d)
        accept = finite & (fresh | (f_t <= f + self.c1 * t * slope))

        # Next direction from the memory, reset when the new pair has no positive curvature.
        precond = self._preconditioner
        s, y = trial - u, g_t - g
        curved = fresh | (jnp.dot(s, y) > eps * jnp.linalg.norm(s) * jnp.linalg.norm(y))
        memory = jax.tree.map(
            lambda kept, reset: jnp.where(curved, kept, reset), state.memory, precond.init(trial)
        )
        step_dir, memory = precond.update(g_t, memory, trial)
        d_new = -step_dir
        downhill = jnp.dot(g_t, d_new) < 0
        d_new = jnp.where(downhill, d_new, -g_t / jnp.maximum(jnp.linalg.norm(g_t), eps))

        # Backtracking: minimiser of the quadratic through f, slope and f_t, kept in [0.1t, 0.5t].
        curvature = f_t - f - slope * t
        t_quad = -slope * t * t / (2.0 * jnp.where(curvature > 0, curvature, 1.0))
        t_back = jnp.where(finite & (curvature > 0), jnp.clip(t_quad, 0.1 * t, 0.5 * t), 0.1 * t)

        ftol = _floor(self.ftol, dtype)
        small_reduction = ~fresh & (jnp.abs(f - f_t) <= ftol * jnp.abs(f_t))
        small_grad = jnp.max(jnp.abs(g_t)) <= self.gtol
        tiny_step = t * jnp.linalg.norm(d) <= eps * (jnp.linalg.norm(u) + eps)
        converged = (accept & (small_reduction | small_grad)) | (~fresh & ~accept & tiny_step)

        def pick(new, old):
            return jax.tree.map(lambda a, b: jnp.where(accept, a, b), new, old)

        return LBFGSState(
            u=pick(trial, u),
            f=pick(f_t, f),
            g=pick(g_t, g),
            direction=pick(d_new, d),
            t=jnp.where(accept, 1.0, t_back),
            memory=pick(memory, state.memory),
            converged=converged,
            stalled=fresh & ~finite,
        )

    def terminate(self, state):
        done = state.converged | state.stalled
        status = jnp.where(
            state.converged,
            Status.CONVERGED,
            jnp.where(jnp.isfinite(state.f), Status.STALLED, Status.NONFINITE),
        )
        return done, status

    def params(self, state):
        return state.u

    def value(self, state):
        return state.f
