"""Bounds as bijections between a parameter's natural interval and the real line.

One formula serves every kind of bound, selected by which bounds are finite, so the bounds
are ordinary array leaves: changing them never recompiles. Each branch is exactly the
bijection NumPyro's ``biject_to`` gives for the matching constraint, so a MAP fit and a
NumPyro model share one parameterisation:

=====================  ===============================  ==============================
bounds                 natural = T(u)                   NumPyro constraint
=====================  ===============================  ==============================
(-inf, inf)            u                                ``real``
(lo, inf)              lo + exp(u)                      ``greater_than(lo)``
(-inf, hi)             hi - exp(u)                      ``less_than(hi)``
(lo, hi)               lo + (hi - lo) * sigmoid(u)      ``interval(lo, hi)``
=====================  ===============================  ==============================

Branches are evaluated on safe inputs (the "double where" idiom), so an unused branch
never leaks an inf or a NaN gradient into the used one. Each map is one jitted program:
called eagerly on arrays (starts, results), it compiles once per shape instead of once per
elementwise operation.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import nn
from jax.typing import ArrayLike

__all__ = ["log_abs_det_jacobian", "to_natural", "to_unconstrained"]


def _cases(lower: ArrayLike, upper: ArrayLike):
    lower, upper = jnp.asarray(lower), jnp.asarray(upper)
    has_lo, has_hi = jnp.isfinite(lower), jnp.isfinite(upper)
    safe_lo = jnp.where(has_lo, lower, 0.0)
    safe_hi = jnp.where(has_hi, upper, 0.0)
    span = jnp.where(has_lo & has_hi, safe_hi - safe_lo, 1.0)
    return has_lo, has_hi, safe_lo, safe_hi, span


@jax.jit
def to_natural(u: ArrayLike, lower: ArrayLike, upper: ArrayLike):
    """Map unconstrained ``u`` to the interval (lower, upper); see the module table."""
    u = jnp.asarray(u)
    has_lo, has_hi, lo, hi, span = _cases(lower, upper)
    both, only_lo, only_hi = has_lo & has_hi, has_lo & ~has_hi, has_hi & ~has_lo
    one_sided = only_lo | only_hi
    exp_u = jnp.exp(jnp.where(one_sided, u, 0.0))
    return jnp.where(
        both,
        lo + span * nn.sigmoid(u),
        jnp.where(only_lo, lo + exp_u, jnp.where(only_hi, hi - exp_u, u)),
    )


@jax.jit
def to_unconstrained(x: ArrayLike, lower: ArrayLike, upper: ArrayLike):
    """Inverse of :func:`to_natural`; values on or beyond a bound map to +-inf or NaN."""
    x = jnp.asarray(x)
    has_lo, has_hi, lo, hi, span = _cases(lower, upper)
    both, only_lo, only_hi = has_lo & has_hi, has_lo & ~has_hi, has_hi & ~has_lo
    gap = jnp.where(only_lo, x - lo, jnp.where(only_hi, hi - x, 1.0))
    frac = jnp.where(both, (x - lo) / span, 0.5)
    return jnp.where(
        both,
        jnp.log(frac) - jnp.log1p(-frac),
        jnp.where(only_lo | only_hi, jnp.log(gap), x),
    )


@jax.jit
def log_abs_det_jacobian(u: ArrayLike, lower: ArrayLike, upper: ArrayLike):
    """log |dT/du| of :func:`to_natural`, for densities in the unconstrained space."""
    u = jnp.asarray(u)
    has_lo, has_hi, _, _, span = _cases(lower, upper)
    both, one_sided = has_lo & has_hi, has_lo ^ has_hi
    return jnp.where(
        both,
        jnp.log(span) + nn.log_sigmoid(u) + nn.log_sigmoid(-u),
        jnp.where(one_sided, u, 0.0),
    )
