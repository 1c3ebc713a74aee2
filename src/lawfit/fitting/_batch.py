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
import pandas as pd
from jax import lax

from lawfit.data import InputError
from lawfit.fitting._engine import Tasks, solve_tasks
from lawfit.fitting._lm import LevenbergMarquardt
from lawfit.fitting._objective import HuberLog, Objective
from lawfit.fitting._problem import Problem, functions, natural_params
from lawfit.fitting._settings import MultiStart, as_multistart, move_inside
from lawfit.fitting._solver import Solver
from lawfit.fitting._status import Status
from lawfit.laws import Law, encode_inputs
from lawfit.laws.bijection import to_natural, to_unconstrained
from lawfit.precision import dtype_of

__all__ = [
    "BatchFit",
    "bootstrap_counts",
    "distinct_starts",
    "fit_batch",
    "fit_params",
    "implicit_params",
    "move_inside",
]


class BatchFit(NamedTuple):
    """Results per group (G,): natural ``params`` (G, K), ``objective``, ``steps``, ``status``,
    ``n_converged`` (starts that converged), ``n_starts`` (distinct starts fitted); with
    R > 0 resamples also ``boot_params`` (G, R, K) and ``boot_status`` (G, R); ``u`` (G, K)
    holds the unconstrained optimum."""

    params: np.ndarray
    u: np.ndarray
    objective: np.ndarray
    steps: np.ndarray
    status: np.ndarray
    n_converged: np.ndarray
    n_starts: np.ndarray | None = None
    boot_params: np.ndarray | None = None
    boot_status: np.ndarray | None = None


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


def distinct_starts(starts: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shared (S, K) starts as (G, S', K) per-group starts without those that differ only in
    fixed parameters, and (G,) counts of distinct starts.

    ``free`` (G, K). Per group the first of each set of starts equal in the free parameters
    is kept, in the original order; a group with fewer distinct starts than S' repeats its
    first one (only when groups fix different parameters). Loops over distinct masks only.
    """
    n_groups = free.shape[0]
    patterns, owner = np.unique(free, axis=0, return_inverse=True)
    if patterns.all():
        return np.broadcast_to(starts, (n_groups, *starts.shape)), np.full(n_groups, len(starts))
    kept = [np.sort(np.unique(starts[:, mask], axis=0, return_index=True)[1]) for mask in patterns]
    width = max(len(k) for k in kept)
    index = np.stack([np.pad(k, (0, width - len(k)), mode="edge") for k in kept])
    owner = owner.reshape(-1)
    return starts[index][owner], np.array([len(k) for k in kept])[owner]


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
    dtype=None,
) -> BatchFit:
    """Fit G padded problems from S starts each, then R bootstrap refits per group.

    Args:
        law: the law.
        x: input name -> (G, P) arrays; padding entries must hold harmless values.
        y: (G, P) observations; weight: (G, P) non-negative weights, 0 marks padding.
        starts: (S, K) or (G, S, K) natural-unit starts, moved inside the bounds, or a
            :class:`MultiStart` holding such an array and the screening, polish and lanes
            settings. Starts equal in every free parameter are fitted once.
        lower, upper: (K,) or (G, K) natural bounds.
        free: (K,) or (G, K) mask of fitted parameters; ``fixed_values`` (same shape, natural)
            gives the others.
        objective, solver: default Huber on log residuals (delta 1e-3), Levenberg-Marquardt.
        bootstrap: R resamples per group, each refit from the group's optimum.
        seed: bootstrap seed, an int or one per group ((G,) ints: a group's resamples then do
            not depend on which other groups share the batch).
        dtype: float dtype of the computation (default: JAX's default float).
    """
    search = as_multistart(starts)
    if isinstance(search.starts, (str, int, pd.DataFrame)):
        raise InputError("fit_batch: starts must be an array (see lawfit.fitting.start_values)")
    objective = HuberLog() if objective is None else objective
    solver = LevenbergMarquardt() if solver is None else solver
    dtype = jnp.result_type(float) if dtype is None else dtype
    y = np.asarray(y, float)
    weight = np.asarray(weight, float)
    n_groups = y.shape[0]
    k = len(law.params)
    lower = np.broadcast_to(np.asarray(lower, float), (n_groups, k))
    upper = np.broadcast_to(np.asarray(upper, float), (n_groups, k))
    free = np.ones((n_groups, k), bool) if free is None else np.broadcast_to(free, (n_groups, k))
    starts = np.asarray(search.starts, float)
    if starts.ndim == 2:
        starts, n_distinct = distinct_starts(starts, free)
    else:
        n_distinct = np.full(n_groups, starts.shape[1])
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
    u_best, f_best, steps, status, n_converged = _search(
        law, objective, solver, problems, u_starts, search, dtype
    )
    params = np.asarray(to_natural(u_best, lower, upper))
    params = np.where(free, params, np.asarray(to_natural(u_starts[:, 0, :], lower, upper)))
    result = BatchFit(
        params=params,
        u=u_best,
        objective=f_best,
        steps=steps,
        status=np.where(np.isfinite(f_best), status, Status.NONFINITE),
        n_converged=n_converged,
        n_starts=n_distinct,
    )
    if bootstrap <= 0:
        return result
    boot_u, boot_status = _bootstrap_refits(
        law, objective, solver, problems, u_best, bootstrap, seed, search.lanes, dtype
    )
    boot_params = np.asarray(to_natural(boot_u, lower[:, None], upper[:, None]))
    return result._replace(
        boot_params=np.where(free[:, None, :], boot_params, params[:, None, :]),
        boot_status=boot_status,
    )


def _search(law, objective, solver, problems, u_starts, search: MultiStart, dtype):
    """Screen every start, polish each group's best few, keep the best: (G,) results."""
    n_groups, n_starts, k = u_starts.shape
    as_dtype = lambda a: jnp.asarray(a, dtype)  # noqa: E731
    groups = np.repeat(np.arange(n_groups, dtype=np.int32), n_starts)
    tasks = Tasks(
        group=jnp.asarray(groups),
        weight_row=jnp.asarray(groups),
        start=as_dtype(u_starts.reshape(-1, k)),
    )
    screen, screen_problems, screen_tasks = solver, problems, tasks
    if n_starts > 1:
        screen = dataclasses.replace(solver, ftol=max(float(solver.ftol), search.screen_ftol))
        screen_dtype = search.screen_precision
        if screen_dtype == "auto":
            screen_dtype = jnp.float32 if jnp.finfo(dtype).bits > 32 else None
        elif screen_dtype is not None:
            screen_dtype = dtype_of(screen_dtype)
        if screen_dtype is not None:
            cast = lambda a: a.astype(screen_dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a  # noqa: E731
            screen_problems = jax.tree.map(cast, problems)
            screen_tasks = jax.tree.map(cast, tasks)
    lanes = search.lanes
    sol = jax.device_get(
        solve_tasks(law, objective, screen, screen_problems, screen_problems.weight, screen_tasks, lanes)
    )
    keep = min(search.polish, n_starts) if n_starts > 1 else 1
    best, n_converged = _best_of_starts(sol.objective, sol.status, n_groups, n_starts, keep)
    pick = (np.arange(n_groups)[:, None] * n_starts + best).ravel()
    u_best, f_best = sol.u[pick].astype(float), sol.objective[pick].astype(float)
    steps, status = sol.steps[pick], sol.status[pick]
    if n_starts > 1:
        # The polish starts at the screened points and never accepts an increase, so its
        # objectives (evaluated in the full dtype) are the ones to compare and report.
        rows = np.repeat(np.arange(n_groups, dtype=np.int32), keep)
        polish_tasks = Tasks(group=jnp.asarray(rows), weight_row=jnp.asarray(rows), start=as_dtype(u_best))
        polished = jax.device_get(
            solve_tasks(law, objective, solver, problems, problems.weight, polish_tasks, lanes)
        )
        finite = np.isfinite(polished.objective)
        f_best = np.where(finite, polished.objective, np.inf)
        u_best = np.where(finite[:, None], polished.u, u_best)
        status = np.where(finite, polished.status, Status.NONFINITE)
        steps = steps + polished.steps
    choice = np.arange(n_groups) * keep + np.argmin(f_best.reshape(n_groups, keep), axis=1)
    return u_best[choice], f_best[choice], steps[choice], status[choice], n_converged


def _bootstrap_refits(law, objective, solver, problems, u_best, bootstrap, seed, lanes, dtype):
    """(G, R, K) unconstrained optima and (G, R) statuses of R resampled refits per group."""
    n_groups, n_points = problems.weight.shape
    k = u_best.shape[1]
    seeds = np.asarray(seed, dtype=np.uint32)
    if seeds.ndim == 0:
        keys = jax.random.split(jax.random.key(seeds), (n_groups, bootstrap))
    else:
        keys = jax.vmap(lambda s: jax.random.split(jax.random.key(s), bootstrap))(seeds)
    weights = _resample_weights(keys, problems.weight).reshape(n_groups * bootstrap, n_points)
    groups = np.repeat(np.arange(n_groups, dtype=np.int32), bootstrap)
    boot_tasks = Tasks(
        group=jnp.asarray(groups),
        weight_row=jnp.arange(n_groups * bootstrap, dtype=jnp.int32),
        start=jnp.asarray(np.repeat(u_best, bootstrap, axis=0), dtype),
    )
    boot = jax.device_get(solve_tasks(law, objective, solver, problems, weights, boot_tasks, lanes))
    return boot.u.reshape(n_groups, bootstrap, k), boot.status.reshape(n_groups, bootstrap)


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
