"""The batched kernel: many fits in compiled ``lax.while_loop`` s that keep lanes busy.

A batch is a list of *tasks*, each one fit: a problem (group), a weight vector (the data's
weights or a bootstrap resample of them) and a start. ``lanes`` fits advance together, one
solver step each per iteration (``vmap``); when a fit stops, its result is written to its
slot and its lane takes the next task from the queue. So the cost follows the total number
of steps, not the slowest start times the number of tasks, and every fit follows exactly the
trajectory it would follow alone (up to rounding, which depends on the vectorised shapes).
The task list is cut into blocks that depend only on its length; with several devices the
blocks are shared out with :func:`jax.shard_map` (on a CPU, expose its cores as devices with
``XLA_FLAGS=--xla_force_host_platform_device_count=N``), so any number of devices gives the
same results, bit for bit.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from lawfit.fitting._objective import Objective
from lawfit.fitting._problem import Problem, functions
from lawfit.fitting._solver import Solution, Solver, finish
from lawfit.fitting._status import Status
from lawfit.laws import Law

__all__ = ["Tasks", "solve_tasks"]


class Tasks(NamedTuple):
    """T fits: ``group`` (T,) indexes the problems, ``weight_row`` (T,) the rows of the
    weight matrix and ``start`` (T, K) holds unconstrained starts."""

    group: jax.Array
    weight_row: jax.Array
    start: jax.Array


class _Carry(NamedTuple):
    lane_task: jax.Array
    lane_steps: jax.Array
    lane_problem: Problem
    state: object
    next_task: jax.Array
    out: Solution


def _problem(problems: Problem, weights: jax.Array, tasks: Tasks, task) -> Problem:
    g = tasks.group[task]
    return Problem(
        x={k: v[g] for k, v in problems.x.items()},
        target=problems.target[g],
        weight=weights[tasks.weight_row[task]],
        lower=problems.lower[g],
        upper=problems.upper[g],
        free=problems.free[g],
        anchor=problems.anchor[g],
    )


def _select(mask, new, old):
    """Per-lane choice between two pytrees with a leading lane axis."""
    return jax.tree.map(
        lambda a, b: jnp.where(mask.reshape((-1,) + (1,) * (a.ndim - 1)), a, b), new, old
    )


_BLOCKS = 8


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
    is unused: weights come from ``weights`` (W, P) through ``tasks.weight_row``. ``lanes`` fits
    advance together in each lane loop.

    The results do not depend on the number of devices, bit for bit. A fit's floating-point
    arithmetic depends on the shapes it is vectorised with and on which tasks share its lane
    loop, so the tasks are cut into at most ``_BLOCKS`` (8) contiguous blocks of
    ``max(lanes, ceil(T / 8))`` tasks, a partition that depends on T and ``lanes`` only.
    Every block runs the same lane loop on the same shapes; devices only share out whole
    blocks (padding blocks and padding tasks hold no work), so one device and several
    compute the same numbers.

    Compiled once per (law, lanes, shapes and dtypes of the leaves); numbers never
    recompile. The executables live in JAX's jit caches, which are LRU-bounded.
    """
    n_tasks = tasks.start.shape[0]
    block = min(n_tasks, max(lanes, -(-n_tasks // _BLOCKS)))
    n_blocks = -(-n_tasks // block)
    if n_blocks == 1:
        return _solve_local(law, objective, solver, problems, weights, tasks, n_tasks, lanes)
    n_devices = min(jax.device_count(), n_blocks)
    per_device = -(-n_blocks // n_devices)
    n_padded = per_device * n_devices * block
    blocked = jax.tree.map(
        lambda a: jnp.concatenate([a, jnp.repeat(a[:1], n_padded - n_tasks, axis=0)]).reshape(
            (per_device * n_devices, block, *a.shape[1:])
        ),
        tasks,
    )
    n_valid = jnp.clip(n_tasks - block * jnp.arange(per_device * n_devices), 0, block)
    mesh = jax.make_mesh((n_devices,), ("blocks",))
    blocked, n_valid = jax.reshard((blocked, n_valid), NamedSharding(mesh, P("blocks")))

    def local(t, n, p, w, o, s):
        return lax.map(lambda tn: _solve_local(law, o, s, p, w, tn[0], tn[1], lanes), (t, n))

    out = jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(P("blocks"), P("blocks"), P(), P(), P(), P()),
        out_specs=P("blocks"),
        check_vma=False,
    )(blocked, n_valid, problems, weights, objective, solver)
    out = jax.reshard(out, NamedSharding(mesh, P()))
    return jax.tree.map(lambda a: a.reshape((-1, *a.shape[2:]))[:n_tasks], out)


def _solve_local(
    law: Law,
    objective: Objective,
    solver: Solver,
    problems: Problem,
    weights: jax.Array,
    tasks: Tasks,
    n_valid,
    lanes: int,
) -> Solution:
    """The lane loop over the first ``n_valid`` tasks (the rest are padding, left unsolved).

    Lanes that finish wait until an eighth of them are free, then are refilled together, so
    new tasks' data is gathered once per refill. One loop runs until the queue is empty and
    every lane has stopped.
    """
    n_tasks, k = tasks.start.shape
    lanes = max(1, min(lanes, n_tasks))
    dtype = tasks.start.dtype
    step_all = jax.vmap(lambda p, s: solver.step(functions(law, objective, p), s))
    problem_of = jax.vmap(lambda t: _problem(problems, weights, tasks, t))

    def refill(c: _Carry) -> _Carry:
        idle = c.lane_task < 0
        new_task = c.next_task + jnp.cumsum(idle) - 1
        take = idle & (new_task < n_valid)
        safe = jnp.clip(new_task, 0, n_tasks - 1)
        return c._replace(
            lane_task=jnp.where(take, new_task, c.lane_task),
            lane_steps=jnp.where(take, 0, c.lane_steps),
            lane_problem=_select(take, problem_of(safe), c.lane_problem),
            state=_select(take, jax.vmap(solver.init)(tasks.start[safe]), c.state),
            next_task=c.next_task + jnp.sum(take),
        )

    def body(c: _Carry) -> _Carry:
        n_lanes = c.lane_task.shape[0]
        active = c.lane_task >= 0
        state = step_all(c.lane_problem, c.state)
        steps = c.lane_steps + active
        done, _ = jax.vmap(solver.terminate)(state)
        finished = active & (done | (steps >= solver.max_steps))
        result = jax.vmap(partial(finish, solver))(state, done, steps)
        slot = jnp.where(finished, c.lane_task, n_tasks)
        out = jax.tree.map(lambda o, r: o.at[slot].set(r.astype(o.dtype), mode="drop"), c.out, result)
        c = c._replace(lane_task=jnp.where(finished, -1, c.lane_task), lane_steps=steps, state=state, out=out)
        n_idle = jnp.sum(c.lane_task < 0)
        due = (c.next_task < n_valid) & ((n_idle >= max(1, n_lanes // 8)) | (n_idle == n_lanes))
        return lax.cond(due, refill, lambda c: c, c)

    def pending(c: _Carry):
        return jnp.any(c.lane_task >= 0) | (c.next_task < n_valid)

    first = jnp.arange(lanes)
    carry = _Carry(
        lane_task=jnp.where(first < n_valid, first, -1),
        lane_steps=jnp.zeros(lanes, jnp.int32),
        lane_problem=problem_of(first),
        state=jax.vmap(solver.init)(tasks.start[first]),
        next_task=jnp.asarray(lanes),
        out=Solution(
            u=jnp.zeros((n_tasks, k), dtype),
            objective=jnp.full((n_tasks,), jnp.inf, dtype),
            steps=jnp.zeros((n_tasks,), jnp.int32),
            status=jnp.full((n_tasks,), Status.NONFINITE, jnp.int32),
        ),
    )
    return lax.while_loop(pending, body, carry).out
