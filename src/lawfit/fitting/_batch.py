"""Array-level fitting: G groups x S starts x R bootstrap resamples in compiled calls.

:func:`fit_batch` turns padded arrays into tasks for :func:`solve_tasks`, keeps the best start
of each group, then refits R resampled weight vectors per group from that optimum. Starts,
bounds, weights, delta and fixed values are array leaves, so new numbers reuse the compiled
kernel; shapes are bucketed by the caller.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from lawfit.fitting._engine import Tasks, solve_tasks
from lawfit.fitting._lm import LevenbergMarquardt
from lawfit.fitting._objective import HuberLog, Objective
from lawfit.fitting._problem import Problem, encode_inputs, functions, natural_params
from lawfit.fitting._solver import Solver
from lawfit.fitting._status import Status
from lawfit.laws import Law
from lawfit.laws.bijection import to_natural, to_unconstrained

__all__ = [
    "BatchFit",
    "bootstrap_counts",
    "fit_batch",
    "fit_params",
    "implicit_params",
    "move_inside",
]


class BatchFit(NamedTuple):
    """Results per group (G,): natural ``params`` (G, K), ``objective``, ``steps``, ``status``,
    ``n_converged`` (starts that converged); with R > 0 resamples also ``boot_params``
    (G, R, K) and ``boot_status`` (G, R); ``u`` (G, K) holds the unconstrained optimum."""

    params: np.ndarray
    u: np.ndarray
    objective: np.ndarray
    steps: np.ndarray
    status: np.ndarray
    n_converged: np.ndarray
    boot_params: np.ndarray | None = None
    boot_status: np.ndarray | None = None


def move_inside(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Start values moved just inside open bounds (1% of the scale, or of the width)."""
    values = np.asarray(values, dtype=float)
    lower, upper = np.broadcast_to(lower, values.shape), np.broadcast_to(upper, values.shape)
    has_lo, has_hi = np.isfinite(lower), np.isfinite(upper)
    pad_lo = np.where(has_lo, 1e-2 * np.maximum(1.0, np.abs(np.where(has_lo, lower, 0))), 0.0)
    pad_hi = np.where(has_hi, 1e-2 * np.maximum(1.0, np.abs(np.where(has_hi, upper, 0))), 0.0)
    width = np.where(has_lo & has_hi, upper - lower, np.inf)
    pad_lo, pad_hi = np.minimum(pad_lo, 1e-2 * width), np.minimum(pad_hi, 1e-2 * width)
    return np.minimum(np.maximum(values, lower + pad_lo), upper - pad_hi)


def bootstrap_counts(key: jax.Array, valid: jax.Array) -> jax.Array:
    """How many times each valid point is drawn when n_valid points are drawn with replacement."""
    n_points = valid.shape[0]
    draws = jax.random.categorical(key, jnp.where(valid, 0.0, -jnp.inf), shape=(n_points,))
    counted = jnp.arange(n_points) < jnp.sum(valid)
    return jnp.zeros(n_points, jnp.result_type(float)).at[draws].add(counted)


_resample_weights = jax.jit(
    lambda keys, weight: jax.vmap(
        lambda k, w: jax.vmap(lambda kk: w * bootstrap_counts(kk, w > 0))(k)
    )(keys, weight)
)


def _best_of_starts(objective, status, n_groups, n_starts, keep):
    """Indices (G, keep) of each group's best starts, best first, and converged counts."""
    obj = objective.reshape(n_groups, n_starts)
    st = status.reshape(n_groups, n_starts)
    usable = np.isfinite(obj) & (st != Status.NONFINITE)
    order = np.argsort(np.where(usable, obj, np.inf), axis=1, kind="stable")[:, :keep]
    return order, (st == Status.CONVERGED).sum(axis=1)


def fit_batch(
    law: Law,
    x: dict,
    y,
    weight,
    *,
    starts,
    lower,
    upper,
    free=None,
    fixed_values=None,
    objective: Objective | None = None,
    solver: Solver | None = None,
    bootstrap: int = 0,
    seed=0,
    lanes: int = 256,
    screen_ftol: float = 1e-8,
    screen_dtype="auto",
    polish: int = 4,
    dtype=None,
) -> BatchFit:
    """Fit G padded problems from S starts each, then R bootstrap refits per group.

    Args:
        law: the law.
        x: input name -> (G, P) arrays; padding entries must hold harmless values.
        y: (G, P) observations; weight: (G, P) non-negative weights, 0 marks padding.
        starts: (S, K) or (G, S, K) natural-unit starts, moved inside the bounds.
        lower, upper: (K,) or (G, K) natural bounds.
        free: (K,) or (G, K) mask of fitted parameters; ``fixed_values`` (same shape, natural)
            gives the others.
        objective, solver: default Huber on log residuals (delta 1e-3), Levenberg-Marquardt.
        bootstrap: R resamples per group, each refit from the group's optimum.
        seed: bootstrap seed, an int or one per group ((G,) ints: a group's resamples then do
            not depend on which other groups share the batch); lanes: fits advanced together.
        screen_ftol: with several starts, each runs to this relative reduction of the objective
            (a screening tolerance like scipy's L-BFGS-B default), then the best start of each
            group is polished with ``solver``'s own tolerances.
        screen_dtype: float dtype of that screening pass: ``"auto"`` (float32 when ``dtype`` is
            wider: several times faster on CPUs, and the polish restores full precision),
            ``None`` (same as ``dtype``) or a dtype.
        polish: how many of each group's best screened starts are polished (the best result
            is kept), as insurance against near-ties that the screen ranks wrongly.
        dtype: float dtype of the computation (default: JAX's default float).
    """
    objective = HuberLog() if objective is None else objective
    solver = LevenbergMarquardt() if solver is None else solver
    dtype = jnp.result_type(float) if dtype is None else dtype
    y = np.asarray(y, float)
    weight = np.asarray(weight, float)
    n_groups, n_points = y.shape
    k = len(law.params)
    lower = np.broadcast_to(np.asarray(lower, float), (n_groups, k))
    upper = np.broadcast_to(np.asarray(upper, float), (n_groups, k))
    free = np.ones((n_groups, k), bool) if free is None else np.broadcast_to(free, (n_groups, k))
    starts = np.asarray(starts, float)
    if starts.ndim == 2:
        starts = np.broadcast_to(starts, (n_groups, *starts.shape))
    n_starts = starts.shape[1]
    if fixed_values is not None:
        fixed_values = np.broadcast_to(np.asarray(fixed_values, float), (n_groups, k))
        starts = np.where(free[:, None, :], starts, fixed_values[:, None, :])
    starts = move_inside(starts, lower[:, None, :], upper[:, None, :])
    u_starts = np.asarray(to_unconstrained(starts, lower[:, None, :], upper[:, None, :]))

    target = objective.observed(np.where(weight > 0, y, 1.0), np)
    as_dtype = lambda a: jnp.asarray(a, dtype)  # noqa: E731
    problems = Problem(
        x=encode_inputs(law, {name: as_dtype(v) for name, v in x.items()}),
        target=as_dtype(target),
        weight=as_dtype(weight),
        lower=as_dtype(lower),
        upper=as_dtype(upper),
        free=jnp.asarray(free),
        anchor=as_dtype(u_starts[:, 0, :]),
    )
    groups = np.repeat(np.arange(n_groups, dtype=np.int32), n_starts)
    tasks = Tasks(
        group=jnp.asarray(groups),
        weight=jnp.asarray(groups),
        start=as_dtype(u_starts.reshape(-1, k)),
    )
    screen, screen_problems, screen_tasks = solver, problems, tasks
    if n_starts > 1:
        screen = dataclasses.replace(solver, ftol=max(float(solver.ftol), screen_ftol))
        if isinstance(screen_dtype, str):
            screen_dtype = jnp.float32 if jnp.finfo(dtype).bits > 32 else None
        if screen_dtype is not None:
            cast = lambda a: a.astype(screen_dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a  # noqa: E731
            screen_problems = jax.tree.map(cast, problems)
            screen_tasks = jax.tree.map(cast, tasks)
    sol = jax.device_get(
        solve_tasks(law, objective, screen, screen_problems, screen_problems.weight, screen_tasks, lanes)
    )
    keep = min(max(polish, 1), n_starts) if n_starts > 1 else 1
    best, n_converged = _best_of_starts(sol.objective, sol.status, n_groups, n_starts, keep)
    pick = (np.arange(n_groups)[:, None] * n_starts + best).ravel()
    u_best, f_best = sol.u[pick].astype(float), sol.objective[pick].astype(float)
    steps, status = sol.steps[pick], sol.status[pick]
    if n_starts > 1:
        # The polish starts at the screened points and never accepts an increase, so its
        # objectives (evaluated in the full dtype) are the ones to compare and report.
        rows = np.repeat(np.arange(n_groups, dtype=np.int32), keep)
        polish_tasks = Tasks(group=jnp.asarray(rows), weight=jnp.asarray(rows), start=as_dtype(u_best))
        polished = jax.device_get(
            solve_tasks(law, objective, solver, problems, problems.weight, polish_tasks, lanes)
        )
        finite = np.isfinite(polished.objective)
        f_best = np.where(finite, polished.objective, np.inf)
        u_best = np.where(finite[:, None], polished.u, u_best)
        status = np.where(finite, polished.status, Status.NONFINITE)
        steps = steps + polished.steps
    choice = np.arange(n_groups) * keep + np.argmin(f_best.reshape(n_groups, keep), axis=1)
    u_best, f_best, steps, status = u_best[choice], f_best[choice], steps[choice], status[choice]
    params = np.asarray(to_natural(u_best, lower, upper))
    params = np.where(free, params, np.asarray(to_natural(u_starts[:, 0, :], lower, upper)))
    result = BatchFit(
        params=params,
        u=u_best,
        objective=f_best,
        steps=steps,
        status=np.where(np.isfinite(f_best), status, Status.NONFINITE),
        n_converged=n_converged,
    )
    if bootstrap <= 0:
        return result

    seeds = np.asarray(seed, dtype=np.uint32)
    if seeds.ndim == 0:
        keys = jax.random.split(jax.random.key(seeds), (n_groups, bootstrap))
    else:
        keys = jax.vmap(lambda s: jax.random.split(jax.random.key(s), bootstrap))(seeds)
    weights = _resample_weights(keys, problems.weight).reshape(n_groups * bootstrap, n_points)
    groups = np.repeat(np.arange(n_groups, dtype=np.int32), bootstrap)
    boot_tasks = Tasks(
        group=jnp.asarray(groups),
        weight=jnp.arange(n_groups * bootstrap, dtype=jnp.int32),
        start=as_dtype(np.repeat(u_best, bootstrap, axis=0)),
    )
    boot = jax.device_get(solve_tasks(law, objective, solver, problems, weights, boot_tasks, lanes))
    boot_params = np.asarray(
        to_natural(boot.u.reshape(n_groups, bootstrap, k), lower[:, None], upper[:, None])
    )
    return result._replace(
        boot_params=np.where(free[:, None, :], boot_params, params[:, None, :]),
        boot_status=boot.status.reshape(n_groups, bootstrap),
    )


def implicit_params(law: Law, objective: Objective, problem: Problem, u_star: jax.Array):
    """Natural parameters at the optimum ``u_star``, differentiable in the problem's data.

    The optimum solves grad_u F(u; data) = 0; :func:`jax.lax.custom_root` differentiates it by
    the implicit function theorem, du*/d(data) = -H^-1 d(grad F)/d(data), H the Hessian.
    Fixed parameters satisfy u - anchor = 0 instead, so gradients reach fixed values too.
    """

    def optimality(u):
        grad = jax.grad(functions(law, objective, problem).value)(u)
        return jnp.where(problem.free, grad, u - problem.anchor)

    def solve(_, guess):
        return guess

    def tangent_solve(linear, rhs):
        return jnp.linalg.solve(jax.jacfwd(linear)(rhs), rhs)

    u = lax.custom_root(optimality, lax.stop_gradient(u_star), solve, tangent_solve)
    return natural_params(law, problem, u)


def fit_params(
    law: Law,
    x: dict,
    y,
    weight=None,
    *,
    start,
    lower=None,
    upper=None,
    free=None,
    objective: Objective | None = None,
    solver: Solver | None = None,
):
    """Fit one problem from one start; the natural parameters are differentiable in
    ``x``, ``y`` and ``weight`` (implicit differentiation, :func:`implicit_params`).

    Works under :func:`jax.jit`, :func:`jax.grad` and :func:`jax.vmap`. ``start`` is in
    natural units and must lie inside the bounds (default: the law's).
    """
    objective = HuberLog() if objective is None else objective
    solver = LevenbergMarquardt() if solver is None else solver
    y = jnp.asarray(y)
    weight = jnp.ones_like(y) if weight is None else jnp.asarray(weight, y.dtype)
    lower = jnp.asarray(law.lower if lower is None else lower, y.dtype)
    upper = jnp.asarray(law.upper if upper is None else upper, y.dtype)
    free = jnp.ones(len(law.params), bool) if free is None else jnp.asarray(free)
    u0 = to_unconstrained(jnp.asarray(start, y.dtype), lower, upper)
    target = objective.observed(jnp.where(weight > 0, y, 1.0))
    problem = Problem(
        x=encode_inputs(law, {name: jnp.asarray(v, y.dtype) for name, v in x.items()}),
        target=target,
        weight=weight,
        lower=lower,
        upper=upper,
        free=free,
        anchor=u0,
    )
    stopped = jax.tree.map(lax.stop_gradient, problem)
    tasks = Tasks(jnp.zeros(1, jnp.int32), jnp.zeros(1, jnp.int32), lax.stop_gradient(u0)[None])
    batched = jax.tree.map(lambda a: a[None], stopped)
    sol = solve_tasks(law, objective, solver, batched, batched.weight, tasks, 1)
    return implicit_params(law, objective, problem, sol.u[0])
