"""Posterior modes and Laplace approximations, batched: the samplers' starting point.

The mode is found in float64 by lawfit's L-BFGS solver (:class:`lawfit.fitting.LBFGS`: one
evaluation per step, stopping on a tolerance, so vmapped lanes stay in lock step) on the
potential from several starts per posterior (the MAP fit of lawfit's engine and the prior
medians); the Laplace approximation N(mode, H^-1), H the Hessian of the potential at the
mode, gives NUTS its starting points and an affine preconditioner. It is a fast summary, not
a calibrated interval (Laplace 1774; MacKay 2003, ch. 27).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from lawfit.bayes._model import cast
from lawfit.data import check_choice
from lawfit.fitting import LBFGS, Functions, solve
from lawfit.precision import computing

__all__ = ["LaplaceApproximation", "laplace", "lbfgs_minimum"]


class LaplaceApproximation(NamedTuple):
    """Per posterior (B,): ``mode`` (B, d) unconstrained, ``value`` (B,) the potential there
    (inf when no start gave a finite one), ``sqrt_cov`` (B, d, d) a square root of the
    regularised inverse Hessian, ``ok`` (B,) whether the Hessian was positive definite."""

    mode: jax.Array
    value: jax.Array
    sqrt_cov: jax.Array
    ok: jax.Array


def lbfgs_minimum(f, w0, steps):
    """At most ``steps`` evaluations of ``f`` and its gradient by L-BFGS from ``w0`` (in a
    ``lax.while_loop`` that stops at convergence). Returns the best point and ``f`` there."""
    fns = Functions(value=f, value_and_grad=jax.value_and_grad(f), gauss_newton=None)
    solution = solve(LBFGS(max_steps=steps), fns, w0)
    return solution.u, solution.objective


def laplace(potential, args, starts, *, steps: int = 500, floor: float = 1e-8,
            ridges: str = "typical") -> LaplaceApproximation:
    """Modes and Laplace approximations of B posteriors in one call.

    Args:
        potential: ``potential(w, *args_b)``, minus the log density of one posterior.
        args: a pytree whose leaves have a leading axis B.
        starts: (B, S, d) unconstrained starts; the lowest potential reached is kept.
        steps: at most this many L-BFGS evaluations per start.
        floor: eigenvalues of the Hessian below ``floor`` times the largest are raised to
            it, so the covariance is always defined; ``ok`` reports whether the Hessian was
            positive definite.
        ridges: what non-positive eigenvalues (a ridge or saddle where the search stopped)
            become: ``"typical"``, the geometric mean of the positive ones, so no direction
            is absurdly wide (chains start from draws of it); ``"floor"``, ``floor`` times
            the largest, a direction ~1e4 times wider, i.e. overdispersed starts along it.
    """

    check_choice(ridges, ("typical", "floor"), argument="ridges")
    dtype = starts.dtype
    with computing("float64"):  # float32 line searches stall short of the mode
        out = _compiled(potential, steps, floor, ridges)(*cast((args, starts), jnp.float64))
        return cast(LaplaceApproximation(*out), dtype)


@functools.lru_cache(maxsize=32)
def _compiled(potential, steps, floor, ridges):
    """The jitted, vmapped mode search and Laplace fit for ``potential``. Bounded caches: the
    last 32 (potential, settings) keep their jitted function (LRU), and each compiles once
    per input shape, kept in JAX's own LRU-bounded caches."""
    def one(args_b, starts_b):
        f = lambda w: potential(w, *args_b)  # noqa: E731
        modes, values = jax.vmap(lambda w0: lbfgs_minimum(f, w0, steps))(starts_b)
        values = jnp.where(jnp.isfinite(values), values, jnp.inf)
        best = jnp.argmin(values)
        mode, value = modes[best], values[best]
        hess = jax.hessian(f)(mode)
        hess = 0.5 * (hess + hess.T)
        eig, vec = jnp.linalg.eigh(jnp.where(jnp.isfinite(hess), hess, 0.0))
        ok = jnp.all(eig > 0) & jnp.all(jnp.isfinite(hess))
        positive = eig > 0
        log_eig = jnp.log(jnp.where(positive, eig, 1.0))  # 0 where not positive
        typical = jnp.exp(jnp.sum(log_eig) / jnp.maximum(jnp.sum(positive), 1))
        eig = jnp.where(positive | (ridges == "floor"), eig, typical)
        eig = jnp.maximum(eig, floor * jnp.maximum(jnp.max(jnp.abs(eig)), 1.0))
        return mode, value, vec * (1.0 / jnp.sqrt(eig))[None, :], ok

    return jax.jit(jax.vmap(one))
