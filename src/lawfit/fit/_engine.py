"""The batched kernel: many fits in one compiled ``lax.while_loop`` that keeps lanes busy.

A batch is a list of *tasks*, each one fit: a problem (group), a weight vector (the data's
weights or a bootstrap resample of them) and a start. ``lanes`` fits advance together, one
solver step each per iteration (``vmap``); when a fit stops, its result is written to its
slot and its lane takes the next task from the queue. So the cost follows the total number
of steps, not the slowest start times the number of tasks, and every fit follows exactly the
trajectory it would follow alone.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from lawfit.fit._objective import Objective
from lawfit.fit._problem import Problem, functions
from lawfit.fit._solver import Solution, Solver, finish
from lawfit.fit._status import Status
from lawfit.laws import Law

__all__ = ["Tasks", "solve_tasks"]


class Tasks(NamedTuple):
    """T fits: ``group`` (T,) indexes the problems, ``weight`` (T,) the weight rows and
    ``start`` (T, K) holds unconstrained starts."""

    group: jax.Array
    weight: jax.Array
    start: jax.Array


class _Carry(NamedTuple):
    lane_task: jax.Array
    lane_steps: jax.Array
    state: object
    next_task: jax.Array
    out: Solution


def _problem(problems: Problem, weights: jax.Array, tasks: Tasks, task) -> Problem:
    g = tasks.group[task]
    return Problem(
        x={k: v[g] for k, v in problems.x.items()},
        target=problems.target[g],
        weight=weights[tasks.weight[task]],
        lower=problems.lower[g],
        upper=problems.upper[g],
        free=problems.free[g],
        anchor=problems.anchor[g],
    )


@partial(jax.jit, static_argnames=("law", "lanes"))
def solve_tasks(
    law: Law,
    objective: Objective,
    solver: Solver,
    problems: Problem,
    weights: jax.Array,
    tasks: Tasks,
    lanes: int,
) -> Solution:
    """Solve every task; returns a :class:`Solution` with a leading task axis (T,).

    ``problems`` has a leading group axis (G, ...) on every field except ``weight``, which
    is unused: weights come from ``weights`` (W, P) through ``tasks.weight``.
    """
    n_tasks, k = tasks.start.shape
    lanes = max(1, min(lanes, n_tasks))
    dtype = tasks.start.dtype
    step_all = jax.vmap(lambda p, s: solver.step(functions(law, objective, p), s))
    problem_of = jax.vmap(lambda t: _problem(problems, weights, tasks, t))

    out = Solution(
        u=jnp.zeros((n_tasks, k), dtype),
        objective=jnp.full((n_tasks,), jnp.inf, dtype),
        steps=jnp.zeros((n_tasks,), jnp.int32),
        status=jnp.full((n_tasks,), Status.NONFINITE, jnp.int32),
    )
    lane_task = jnp.arange(lanes)
    carry = _Carry(
        lane_task=lane_task,
        lane_steps=jnp.zeros(lanes, jnp.int32),
        state=jax.vmap(solver.init)(tasks.start[lane_task]),
        next_task=jnp.asarray(lanes),
        out=out,
    )

    def cond(c: _Carry):
        return jnp.any(c.lane_task >= 0)

    def body(c: _Carry) -> _Carry:
        active = c.lane_task >= 0
        task = jnp.where(active, c.lane_task, 0)
        state = step_all(problem_of(task), c.state)
        steps = c.lane_steps + 1
        done, _ = jax.vmap(solver.terminate)(state)
        finished = active & (done | (steps >= solver.max_steps))
        result = jax.vmap(partial(finish, solver))(state, done, steps)
        slot = jnp.where(finished, task, n_tasks)
        out = jax.tree.map(
            lambda o, r: o.at[slot].set(r.astype(o.dtype), mode="drop"), c.out, result
        )
        new_task = c.next_task + jnp.cumsum(finished) - 1
        refill = finished & (new_task < n_tasks)
        fresh = jax.vmap(solver.init)(tasks.start[jnp.clip(new_task, 0, n_tasks - 1)])
        state = jax.tree.map(
            lambda f, s: jnp.where(refill.reshape((-1,) + (1,) * (s.ndim - 1)), f, s),
            fresh,
            state,
        )
        return _Carry(
            lane_task=jnp.where(finished, jnp.where(refill, new_task, -1), c.lane_task),
            lane_steps=jnp.where(finished, 0, steps),
            state=state,
            next_task=c.next_task + jnp.sum(finished),
            out=out,
        )

    return lax.while_loop(cond, body, carry).out
