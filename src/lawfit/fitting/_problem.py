"""One fit as arrays: the data, the parameter space, and the functions solvers minimise."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from lawfit.fitting._objective import Objective
from lawfit.laws import Law, decode_inputs
from lawfit.laws.bijection import to_natural

__all__ = [
    "Functions",
    "Problem",
    "functions",
    "natural_params",
]


class Problem(NamedTuple):
    """One fit's data and parameter space. Every field is an array leaf.

    ``x`` maps input names to (P,) arrays, encoded by :func:`lawfit.laws.encode_inputs`; ``target`` is the
    objective's transform of y (:meth:`Objective.observed`: y, log y or log(1 + y));
    ``weight`` is (P,), zero for padding; ``lower``/``upper`` are (K,) bounds in natural
    units; ``free`` is a (K,) mask, and fixed parameters take their unconstrained value from
    ``anchor`` (K,).
    """

    x: dict
    target: jax.Array
    weight: jax.Array
    lower: jax.Array
    upper: jax.Array
    free: jax.Array
    anchor: jax.Array


class Functions(NamedTuple):
    """What solvers evaluate at unconstrained ``u``.

    ``value(u) -> f``: the objective. ``value_and_grad(u) -> (f, g)``: the objective and its gradient.
    ``gauss_newton(u) -> (f, g, H)``: f = 0.5|s|^2 for pseudo-residuals s, g = J^T s and
    H = J^T J, with J = ds/du, accumulated point by point so no (P, K) array is kept.
    """

    value: object
    value_and_grad: object
    gauss_newton: object


def natural_params(law: Law, problem: Problem, u: jax.Array) -> jax.Array:
    """(K,) natural parameters for unconstrained ``u``, fixed entries taken from the anchor."""
    return to_natural(jnp.where(problem.free, u, problem.anchor), problem.lower, problem.upper)


def functions(law: Law, objective: Objective, problem: Problem) -> Functions:
    """The objective of ``problem`` as solver :class:`Functions`: ``sum_i w_i rho(r_i)``, or
    for an objective that is not per point (:meth:`Objective.at`) the per-point objective
    it equals at the current residuals plus its constant."""
    has_weight = problem.weight > 0
    safe_weight = jnp.where(has_weight, problem.weight, 0.0)
    root_weight = jnp.sqrt(jnp.where(has_weight, problem.weight, 1.0))

    def residuals(theta):
        params = dict(zip(law.param_names, theta, strict=True))
        pred = jax.vmap(lambda xi: objective.predicted(law, params, decode_inputs(law, xi)))
        return problem.target - pred(problem.x)

    def value(u):
        r = residuals(natural_params(law, problem, u))
        per_point, constant = objective.at(r, safe_weight)
        return constant + jnp.sum(jnp.where(has_weight, safe_weight * per_point.rho(r), 0.0))

    def gauss_newton(u):
        if objective.per_point:
            per_point, constant = objective, 0.0
        else:  # the per-point form at u, held fixed (its gradient is the objective's)
            r = residuals(natural_params(law, problem, u))
            per_point, constant = jax.tree.map(lax.stop_gradient, objective.at(r, safe_weight))

        def pseudo(v, xi, ti):
            p = dict(zip(law.param_names, natural_params(law, problem, v), strict=True))
            s = per_point.pseudo_residual(ti - objective.predicted(law, p, decode_inputs(law, xi)))
            return s, s

        jac, s = jax.vmap(jax.jacfwd(pseudo, has_aux=True), in_axes=(None, 0, 0))(
            u, problem.x, problem.target
        )
        s = jnp.where(has_weight, root_weight * s, 0.0)
        jac = jnp.where(has_weight[:, None], root_weight[:, None] * jac, 0.0)
        return constant + 0.5 * jnp.dot(s, s), jac.T @ s, jac.T @ jac

    return Functions(value, jax.value_and_grad(value), gauss_newton)
