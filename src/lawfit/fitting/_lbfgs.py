"""L-BFGS: optax's L-BFGS preconditioner with a weak-Wolfe line search, one evaluation a step.

Each step evaluates one trial point u + t d of the current line search. The trial is
accepted when it satisfies the weak Wolfe conditions (Armijo: f_t <= f + c1 t g.d;
curvature: g_t.d >= c2 g.d). A trial that decreases f enough but is still steeply downhill
is remembered and the step is extrapolated (t *= 4): on a Huber objective, piecewise linear
far from the optimum, this is what lets L-BFGS take long steps. A trial that fails Armijo
falls back to the remembered point if there is one, else backtracks by safeguarded
quadratic interpolation. A line search that has backtracked to a step below the rounding of
``u`` has collapsed (scipy's ABNORMAL_TERMINATION_IN_LNSRCH): the fit stops as ``stalled``,
unless the full step promised a first-order reduction -g.d below ``max(ftol, 1e7 eps) |f|``
(scipy L-BFGS-B's default ``factr``) or the gradient is below ``gtol`` (then it is
``converged``). An accepted point updates the
curvature memory through :func:`optax.scale_by_lbfgs` (reset when the pair has no positive curvature) and gives the
next direction (Nocedal & Wright 2006, "Numerical Optimization", Algs. 3.5 and 7.5). One
evaluation per step keeps every lane of a batch in lock step.

Along a flat valley (e.g. E -> 0 traded against A and alpha -> 0 in a Chinchilla law) every
accepted step can lower f by more than ``ftol`` while the objective as a whole has stopped
moving. With ``window = W > 0`` the fit also stops as ``converged`` when ``W`` accepted steps
together lowered it by at most ``wtol`` relatively, f_{k-W} - f_k <= wtol |f_k| (the
windowed relative-change test of Gill, Murray & Wright 1981, "Practical Optimization",
Sec. 8.2.3); a fit still moving faster than that when ``max_steps`` is reached stays
``max_steps``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from lawfit.fitting._lm import _check_positive, _floor
from lawfit.fitting._solver import Solver, descent_termination

__all__ = ["LBFGS"]


class LBFGSState(NamedTuple):
    """Current point (``f = inf`` until evaluated), line search and curvature memory."""

    u: jax.Array
    f: jax.Array
    g: jax.Array
    direction: jax.Array
    t: jax.Array
    t_ok: jax.Array
    f_ok: jax.Array
    g_ok: jax.Array
    memory: optax.ScaleByLBFGSState
    converged: jax.Array
    stalled: jax.Array
    f_window: jax.Array
    since: jax.Array


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class LBFGS(Solver):
    """Limited-memory BFGS for any objective (``memory`` pairs, static).

    Attributes:
        ftol: relative reduction of the objective on an accepted step below which to stop.
        gtol: infinity norm of the gradient below which to stop.
        max_steps: step cap (each step is one objective-and-gradient evaluation).
        c1, c2: Armijo and curvature constants of the weak Wolfe conditions.
        window: accepted steps over which the relative change ``wtol`` is tested (0: off).
        wtol: relative reduction of the objective over ``window`` accepted steps below which
            to stop.
        memory: number of curvature pairs kept (static: changing it recompiles).
    """

    ftol: float = 1e-12
    gtol: float = 1e-14
    max_steps: int = 2000
    c1: float = 1e-4
    c2: float = 0.9
    window: int = 0
    wtol: float = 1e-8
    memory: int = field(default=10, metadata=dict(static=True))

    def __post_init__(self):
        _check_positive(self, ("ftol", "gtol", "c1", "c2", "wtol"))
        if isinstance(self.window, int) and self.window < 0:
            raise ValueError(f"LBFGS.window must be >= 0; got {self.window}")
        if self.memory < 1:
            raise ValueError(f"LBFGS.memory must be >= 1; got {self.memory}")

    @property
    def _preconditioner(self):
        return optax.scale_by_lbfgs(memory_size=self.memory)

    def init(self, u0):
        dtype = u0.dtype
        false = jnp.asarray(False)
        zero = jnp.asarray(0.0, dtype)
        return LBFGSState(
            u=u0,
            f=jnp.asarray(jnp.inf, dtype),
            g=jnp.zeros_like(u0),
            direction=jnp.zeros_like(u0),
            t=jnp.asarray(1.0, dtype),
            t_ok=zero,
            f_ok=zero,
            g_ok=jnp.zeros_like(u0),
            memory=self._preconditioner.init(u0),
            converged=false,
            stalled=false,
            f_window=jnp.asarray(jnp.inf, dtype),
            since=jnp.asarray(0),
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
        armijo = finite & (f_t <= f + self.c1 * t * slope)
        flat_enough = jnp.dot(g_t, d) >= self.c2 * slope
        have_ok = state.t_ok > 0

        # Outcomes: accept the trial, accept the remembered point, extrapolate or backtrack.
        take_trial = fresh & finite | (~fresh & armijo & (flat_enough | (t >= 1e10)))
        worse_than_ok = have_ok & (f_t > state.f_ok)
        take_ok = ~fresh & have_ok & (~armijo | worse_than_ok)
        extrapolate = ~fresh & armijo & ~take_trial & ~take_ok
        accept = take_trial | take_ok
        t_new_point = jnp.where(take_ok, state.t_ok, jnp.where(fresh, 0.0, t))
        u_a = u + t_new_point * d
        f_a = jnp.where(take_ok, state.f_ok, f_t)
        g_a = jnp.where(take_ok, state.g_ok, g_t)

        # Next direction from the memory, reset when the new pair has no positive curvature.
        precond = self._preconditioner
        s, y = u_a - u, g_a - g
        curved = fresh | (jnp.dot(s, y) > eps * jnp.linalg.norm(s) * jnp.linalg.norm(y))
        memory = jax.tree.map(
            lambda kept, reset: jnp.where(curved, kept, reset), state.memory, precond.init(u_a)
        )
        step_dir, memory = precond.update(g_a, memory, u_a)
        d_new = -step_dir
        downhill = jnp.dot(g_a, d_new) < 0
        d_new = jnp.where(downhill, d_new, -g_a / jnp.maximum(jnp.linalg.norm(g_a), eps))

        # Backtracking: minimiser of the quadratic through f, slope and f_t, kept in [0.1t, 0.5t].
        curvature = f_t - f - slope * t
        t_quad = -slope * t * t / (2.0 * jnp.where(curvature > 0, curvature, 1.0))
        t_back = jnp.where(finite & (curvature > 0), jnp.clip(t_quad, 0.1 * t, 0.5 * t), 0.1 * t)

        ftol = _floor(self.ftol, dtype)
        small_reduction = accept & ~fresh & (jnp.abs(f - f_a) <= ftol * jnp.abs(f_a))
        small_grad = accept & (jnp.max(jnp.abs(g_a)) <= self.gtol)
        collapsed = ~fresh & (t < 1) & (t * jnp.linalg.norm(d) <= eps * (jnp.linalg.norm(u) + eps))
        # no representable step lowers f: a minimum to the objective's rounding when the full
        # step promised at most scipy L-BFGS-B's default relative reduction (factr 1e7 * eps)
        negligible = small_grad | (-slope <= jnp.maximum(ftol, 1e7 * eps) * jnp.abs(f))
        line_search_failed = collapsed & ~negligible
        flat, f_window, since = self._window(state, accept, f_a)

        def pick(new, old):
            return jax.tree.map(lambda a, b: jnp.where(accept, a, b), new, old)

        return LBFGSState(
            u=pick(u_a, u),
            f=pick(f_a, f),
            g=pick(g_a, g),
            direction=pick(d_new, d),
            t=jnp.where(accept, 1.0, jnp.where(extrapolate, 4.0 * t, t_back)),
            t_ok=jnp.where(extrapolate, t, 0.0),
            f_ok=jnp.where(extrapolate, f_t, state.f_ok),
            g_ok=jnp.where(extrapolate, g_t, state.g_ok),
            memory=pick(memory, state.memory),
            converged=(small_reduction | small_grad | collapsed | flat) & ~line_search_failed,
            stalled=(fresh & ~finite) | line_search_failed,
            f_window=f_window,
            since=since,
        )

    def _window(self, state, accept, f_a):
        """Whether ``window`` accepted steps lowered f by at most ``wtol |f|``; the window's
        reference objective and accepted-step count after this step."""
        since = state.since + accept
        full = accept & (self.window > 0) & (since >= self.window)
        flat = full & (state.f_window - f_a <= self.wtol * jnp.abs(f_a))
        restart = full | (accept & ~jnp.isfinite(state.f_window))
        return flat, jnp.where(restart, f_a, state.f_window), jnp.where(restart, 0, since)

    def terminate(self, state):
        return descent_termination(state)

    def params(self, state):
        return state.u

    def value(self, state):
        return state.f
