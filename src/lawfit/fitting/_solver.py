"""The solver protocol and the driver that runs a solver in one ``lax.while_loop``.

A solver is a frozen dataclass whose numbers (tolerances, step cap) are pytree leaves and
whose structure (e.g. L-BFGS memory) is static, with ``init``, ``step`` and ``terminate``
(the optimistix pattern). ``init`` evaluates nothing: the first ``step`` evaluates the
start. So a finished fit's slot in a batch can be handed a new start for the price of one
step, which is how :mod:`lawfit.fitting._engine` keeps every lane of a batch busy.
"""

from __future__ import annotations

import abc
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from lawfit.fitting._problem import Functions
from lawfit.fitting._status import Status

__all__ = ["Solution", "Solver", "solve"]


class Solution(NamedTuple):
    """The outcome of fits: unconstrained parameters, objective, steps taken, status."""

    u: jax.Array
    objective: jax.Array
    steps: jax.Array
    status: jax.Array


class Solver(abc.ABC):
    """Abstract solver. Concrete solvers are frozen dataclasses with a ``max_steps`` leaf."""

    max_steps: int

    @abc.abstractmethod
    def init(self, u0: jax.Array):
        """The state at the start ``u0``; evaluates nothing."""

    @abc.abstractmethod
    def step(self, fns: Functions, state):
        """One iteration (the first evaluates the start)."""

    @abc.abstractmethod
    def terminate(self, state) -> tuple[jax.Array, jax.Array]:
        """Whether to stop, and the status to report if so."""

    @abc.abstractmethod
    def params(self, state) -> jax.Array:
        """The best unconstrained parameters so far."""

    @abc.abstractmethod
    def value(self, state) -> jax.Array:
        """The objective at :meth:`params` (``inf`` before the first step)."""


def descent_termination(state) -> tuple[jax.Array, jax.Array]:
    """``terminate`` for a state with ``converged``, ``stalled`` flags and objective ``f``:
    done when either flag is set; ``stalled`` reads ``nonfinite`` when ``f`` is not finite."""
    done = state.converged | state.stalled
    status = jnp.where(
        state.converged,
        Status.CONVERGED,
        jnp.where(jnp.isfinite(state.f), Status.STALLED, Status.NONFINITE),
    )
    return done, status


def finish(solver: Solver, state, done, steps) -> Solution:
    """The :class:`Solution` of a state: ``max_steps`` when not done, ``nonfinite`` if f is."""
    _, status = solver.terminate(state)
    value = solver.value(state)
    status = jnp.where(done, status, Status.MAX_STEPS)
    status = jnp.where(jnp.isfinite(value), status, Status.NONFINITE)
    return Solution(solver.params(state), value, steps, status)


def solve(solver: Solver, fns: Functions, u0: jax.Array) -> Solution:
    """Run ``solver`` on one problem from ``u0`` until it stops or takes ``max_steps``."""

    def cond(carry):
        state, steps = carry
        done, _ = solver.terminate(state)
        return (~done) & (steps < solver.max_steps)

    def body(carry):
        state, steps = carry
        return solver.step(fns, state), steps + 1

    state, steps = lax.while_loop(cond, body, (solver.init(u0), jnp.asarray(0)))
    done, _ = solver.terminate(state)
    return finish(solver, state, done, steps)
