"""Posterior modes and Laplace approximations, batched: the samplers' starting point.

The mode is found by L-BFGS (optax) on the potential from several starts per posterior (the
MAP fit of lawfit's engine and the prior medians); the Laplace approximation
N(mode, H^-1), H the Hessian of the potential at the mode, gives NUTS its starting points and
an affine preconditioner. It is a fast summary, not a calibrated interval (Laplace 1774;
MacKay 2003, ch. 27).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

__all__ = ["Laplace", "laplace", "minimise"]


class Laplace(NamedTuple):
    """Per posterior (B,): ``mode`` (B, d) unconstrained, ``value`` (B,) the potential there
    (inf when no start gave a finite one), ``sqrt_cov`` (B, d, d) a square root of the
    regularised inverse Hessian, ``ok`` (B,) whether the Hessian was positive definite."""

    mode: jax.Array
    value: jax.Array
    sqrt_cov: jax.Array
    ok: jax.Array


def minimise(f, w0, steps):
    """``steps`` L-BFGS (optax) iterations on ``f`` from ``w0`` in a ``lax.scan``; a step to a
    non-finite point is refused. Returns the last iterate and ``f`` there."""
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(f)

    def body(carry, _):
        w, state = carry
        value, grad = value_and_grad(w, state=state)
        updates, state = opt.update(grad, state, w, value=value, grad=grad, value_fn=f)
        w_new = optax.apply_updates(w, updates)
        w_new = jnp.where(jnp.all(jnp.isfinite(w_new)), w_new, w)
        return (w_new, state), None

    (w, _), _ = lax.scan(body, (w0, opt.init(w0)), None, length=steps)
    return w, f(w)


def laplace(potential, args, starts, *, steps: int = 200, floor: float = 1e-8) -> Laplace:
    """Modes and Laplace approximations of B posteriors in one call.

    Args:
        potential: ``potential(w, *args_b)``, minus the log density of one posterior.
        args: a pytree whose leaves have a leading axis B.
        starts: (B, S, d) unconstrained starts; the lowest potential reached is kept.
        steps: L-BFGS iterations per start.
        floor: eigenvalues of the Hessian below ``floor`` times the largest (or negative)
            are raised to it, so the covariance is always defined; ``ok`` reports it.
    """

    return Laplace(*_compiled(potential, steps, floor)(args, starts))


@functools.lru_cache(maxsize=32)
def _compiled(potential, steps, floor):
    def one(args_b, starts_b):
        f = lambda w: potential(w, *args_b)  # noqa: E731
        modes, values = jax.vmap(lambda w0: minimise(f, w0, steps))(starts_b)
        values = jnp.where(jnp.isfinite(values), values, jnp.inf)
        best = jnp.argmin(values)
        mode, value = modes[best], values[best]
        hess = jax.hessian(f)(mode)
        hess = 0.5 * (hess + hess.T)
        eig, vec = jnp.linalg.eigh(jnp.where(jnp.isfinite(hess), hess, 0.0))
        ok = jnp.all(eig > 0) & jnp.all(jnp.isfinite(hess))
        eig = jnp.maximum(eig, floor * jnp.maximum(jnp.max(jnp.abs(eig)), 1.0))
        return mode, value, vec * (1.0 / jnp.sqrt(eig))[None, :], ok

    return jax.jit(jax.vmap(one))
