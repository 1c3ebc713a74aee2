"""One fit as arrays: the data, the parameter space, and the functions solvers minimise."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from lawfit.fitting._objective import Objective
from lawfit.laws import Law, decode_inputs
from lawfit.laws.bijection import to_natural

__all__ = [
    "Functions",
    "Problem",
    "functions",
    "natural_params",
    "predict_points",
]


class Problem(NamedTuple):
    """One fit's data and parameter space. Every field is an array leaf.

    ``x`` maps input names to (P,) arrays, encoded by :func:`lawfit.laws.encode_inputs`; ``target`` is y,
    or log y for log objectives; ``weight`` is (P,), zero for padding; ``lower``/``upper`` are (K,) bounds in natural
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


def predict_points(law: Law, theta: jax.Array, x: dict, log: bool) -> jax.Array:
    """The law (or its log) at every point of ``x`` for natural parameters ``theta`` (K,)."""
    params = dict(zip(law.param_names, theta, strict=True))
    one = law.log_predict_one if log else law.fn
    return jax.vmap(lambda xi: one(params, decode_inputs(law, xi)))(x)


def functions(law: Law, objective: Objective, problem: Problem) -> Functions:
    """The objective ``sum_i w_i rho(r_i)`` of ``problem`` as solver :class:`Functions`."""
    has_weight = problem.weight > 0
    safe_weight = jnp.where(has_weight, problem.weight, 0.0)
    root_weight = jnp.sqrt(jnp.where(has_weight, problem.weight, 1.0))
    one = law.log_predict_one if objective.log_space else law.fn

    def value(u):
        theta = natural_params(law, problem, u)
        r = problem.target - predict_points(law, theta, problem.x, objective.log_space)
        return jnp.sum(jnp.where(has_weight, safe_weight * objective.rho(r), 0.0))

    def gauss_newton(u):
        def pseudo(v, xi, ti):
            p = dict(zip(law.param_names, natural_params(law, problem, v), strict=True))
            s = objective.pseudo_residual(ti - one(p, decode_inputs(law, xi)))
            return s, s

        jac, s = jax.vmap(jax.jacfwd(pseudo, has_aux=True), in_axes=(None, 0, 0))(
            u, problem.x, problem.target
        )
        s = jnp.where(has_weight, root_weight * s, 0.0)
        jac = jnp.where(has_weight[:, None], root_weight[:, None] * jac, 0.0)
        return 0.5 * jnp.dot(s, s), jac.T @ s, jac.T @ jac

    return Functions(value, jax.value_and_grad(value), gauss_newton)
