"""Diagnostics of fitted optima: parameters pinned at a bound, and flat directions.

Both come from the final unconstrained parameters ``u`` and the data, through the
Gauss-Newton matrix ``H = J^T J`` of the objective's pseudo-residuals (the matrix
Levenberg-Marquardt uses; ``0.5 |s|^2`` is the objective, so ``H`` is its curvature up to
second-order terms that vanish with the residuals):

* **Conditioning.** ``C = D^-1/2 H D^-1/2`` with ``D = diag(H)`` (Jacobi scaling) is the
  curvature with every parameter in its own units, so ``cond(C) = lambda_max / lambda_min``
  depends only on how correlated the parameters' effects are, not on their scales or on
  the bijection (a diagonal change of variables cancels). Beyond :data:`MAX_CONDITION` the
  eigenvector of ``lambda_min`` is a flat direction: the data cannot separate those
  parameters. A parameter whose diagonal entry is ~0 has no effect on the fit at all.
* **Bounds.** A bounded parameter is *at* its bound when ``|u|`` exceeds :data:`BOUND_U`
  (``exp(-15)`` ~ 3e-7: ``E -> 0`` or an exponent collapsing to 0 for ``lo + exp(u)``;
  within ``3e-7`` of the width for an interval). Solvers stop long before ``u -> -inf``
  once the objective stops changing, so a parameter is also reported *near* its bound when
  the data cannot tell it from the bound: with ``sigma^2 = sum(w s^2) / (n - k)`` and
  ``Cov(u) = sigma^2 H^-1``, the distance to the bound over its standard error is
  ``t = 1 / SE(u)`` for ``lo + exp(u)`` (``1 / (max(p, 1-p) SE(u))`` for an interval,
  ``p = sigmoid(u)``). Near means ``t < BOUND_SE`` with the full covariance *and*
  ``t < BOUND_SE_ALONE`` with the parameter's own variance ``sigma^2 / H_ii`` (the others
  held): the second condition keeps a coefficient that is merely correlated with an
  exponent (``A`` with ``alpha``: a large ``SE(log A)``, yet ``A = 0`` fits terribly) from
  being reported, while a floor ``E`` whose own effect is a few noise levels is.

Everything runs in float64 whatever the fit's precision; one compiled function per law
and padded shape.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lawfit.fitting._objective import Objective
from lawfit.fitting._problem import Problem, functions
from lawfit.laws import Law, encode_inputs
from lawfit.laws.bijection import to_natural
from lawfit.precision import computing

__all__ = [
    "BOUND_SE",
    "BOUND_SE_ALONE",
    "BOUND_U",
    "IMPLAUSIBLE_FACTOR",
    "MAX_CONDITION",
    "Diagnosis",
    "IllConditionedWarning",
    "diagnose_optima",
    "step_cap_messages",
    "warning_messages",
]

#: |u| beyond which a bounded parameter is numerically at its bound.
BOUND_U = 15.0
#: A bound within this many standard errors of the estimate makes it "near" the bound ...
BOUND_SE = 2.0
#: ... if moving the parameter alone to its bound also changes the fit by fewer than this
#: many standard errors.
BOUND_SE_ALONE = 10.0
#: Condition number of the Jacobi-scaled Gauss-Newton matrix beyond which a fit is flagged
#: (about 1/sqrt(float64 eps): half the digits of a solve with it are lost).
MAX_CONDITION = 1e8
#: Relative diagonal entry of H below which a parameter has no effect on the fit.
NO_EFFECT = 1e-16
#: A parameter of a fit stopped by the step cap is called implausible when its magnitude
#: exceeds this multiple of the largest magnitude on its start grid (or is not finite).
IMPLAUSIBLE_FACTOR = 5.0


class IllConditionedWarning(UserWarning):
    """Issued by :func:`lawfit.fit` when some fits are pinned at a bound or ill-conditioned."""


class Diagnosis(NamedTuple):
    """Per group (G,): ``condition`` number of the scaled curvature over the free parameters
    that have an effect (``inf`` when singular); per group and parameter (G, K): ``se_u``
    (standard error of ``u``; NaN where not estimable), ``at_bound`` (-1 at the lower, +1
    at the upper bound, 0 otherwise), ``near_bound`` (same coding, within ``BOUND_SE``
    standard errors), ``no_effect``, ``flat`` (the flattest direction, unit length), and
    the ``natural`` parameters with their ``lower``/``upper`` bounds, for messages."""

    condition: np.ndarray
    se_u: np.ndarray
    at_bound: np.ndarray
    near_bound: np.ndarray
    no_effect: np.ndarray
    flat: np.ndarray
    natural: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@partial(jax.jit, static_argnames=("law",))
def _curvature(law: Law, objective: Objective, problems: Problem, u: jax.Array):
    """Objective and Gauss-Newton matrix of every problem at its ``u``."""

    def one(problem, ui):
        f, _, hess = functions(law, objective, problem).gauss_newton(ui)
        return f, hess

    return jax.vmap(one)(problems, u)


def diagnose_optima(
    law: Law,
    objective: Objective,
    x: dict,
    y,
    weight,
    u,
    lower,
    upper,
    free=None,
) -> Diagnosis:
    """Diagnose G fits: padded data as for :func:`lawfit.fitting.fit_batch` (``x`` name -> (G, P),
    ``y``, ``weight`` (G, P)), optimum ``u`` (G, K) unconstrained (fixed entries hold the
    fixed values), bounds (K,) or (G, K), ``free`` (K,) or (G, K) mask."""
    y = np.asarray(y, float)
    weight = np.asarray(weight, float)
    u = np.asarray(u, float)
    n_groups, k = u.shape
    lower = np.broadcast_to(np.asarray(lower, float), (n_groups, k))
    upper = np.broadcast_to(np.asarray(upper, float), (n_groups, k))
    free = np.ones((n_groups, k), bool) if free is None else np.broadcast_to(free, (n_groups, k))
    target = objective.observed(np.where(weight > 0, y, 1.0), np)
    with computing("float64"):  # diagnostics always in float64
        f64 = lambda a: jnp.asarray(a, jnp.float64)  # noqa: E731
        problems = Problem(
            x=encode_inputs(law, {name: f64(np.asarray(v, float)) for name, v in x.items()}),
            target=f64(target),
            weight=f64(weight),
            lower=f64(lower),
            upper=f64(upper),
            free=jnp.asarray(free),
            anchor=f64(u),
        )
        f, hess = jax.device_get(_curvature(law, objective, problems, f64(u)))
        natural = np.asarray(to_natural(f64(u), f64(lower), f64(upper)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _summarise(np.asarray(f, float), np.asarray(hess, float), u, weight, free,
                          lower, upper, natural)


def _summarise(f, hess, u, weight, free, lower, upper, natural) -> Diagnosis:
    """The numpy half of :func:`diagnose_optima` (tiny K x K matrices per group)."""
    k = u.shape[1]
    diag = np.diagonal(hess, axis1=1, axis2=2)
    finite = np.isfinite(f) & np.all(np.isfinite(hess), axis=(1, 2))
    scale = np.max(np.where(free, np.abs(diag), 0.0), axis=1, keepdims=True)
    no_effect = free & finite[:, None] & (diag <= NO_EFFECT * scale)
    used = free & ~no_effect
    # Jacobi scaling; unused parameters become identity rows (eigenvalue 1 lies between a
    # correlation matrix's extremes, so it changes neither its largest nor smallest one).
    root = np.sqrt(np.where(used, diag, 1.0))
    scaled = hess / root[:, :, None] / root[:, None, :]
    pair = used[:, :, None] & used[:, None, :]
    eye = np.broadcast_to(np.eye(k), scaled.shape)
    scaled = np.where(pair, scaled, eye)
    scaled = np.where(finite[:, None, None], scaled, eye)
    eigval, eigvec = np.linalg.eigh(scaled)
    lam_min, lam_max = eigval[:, 0], eigval[:, -1]
    condition = np.where(lam_min > lam_max * np.finfo(float).eps, lam_max / lam_min, np.inf)
    # diag(H^-1) = sum_j V_ij^2 / lambda_j / d_i over the used block.
    inv_diag = np.sum(eigvec**2 / eigval[:, None, :], axis=2) / np.where(used, diag, 1.0)
    dof = np.sum(weight > 0, axis=1) - used.sum(axis=1)
    sigma2 = np.where(dof > 0, 2.0 * f / np.maximum(dof, 1), np.nan)
    se_u = np.sqrt(sigma2[:, None] * inv_diag)
    se_alone = np.sqrt(sigma2[:, None] / np.where(used, diag, np.nan))
    estimable = used & finite[:, None] & (condition <= MAX_CONDITION)[:, None]
    se_u = np.where(estimable, se_u, np.nan)
    condition = np.where(finite, condition, np.nan)

    has_lo, has_hi = np.isfinite(lower), np.isfinite(upper)
    both = has_lo & has_hi
    side = np.where(both, np.where(u < 0, -1, 1), np.where(has_lo, -1, np.where(has_hi, 1, 0)))
    # one-sided: natural = lo + exp(u) (or hi - exp(u)): at the bound as u -> -inf.
    toward = np.where(both, np.abs(u), -u)
    at_bound = np.where(free & (side != 0) & (toward > BOUND_U), side, 0)
    p = 0.5 * (1.0 + np.tanh(0.5 * u))  # sigmoid(u), without overflow
    stretch = np.where(both, np.maximum(p, 1.0 - p), 1.0)
    t = 1.0 / (stretch * se_u)
    t_alone = 1.0 / (stretch * se_alone)
    near = (side != 0) & (at_bound == 0) & np.isfinite(se_u) & (t < BOUND_SE)
    near &= t_alone < BOUND_SE_ALONE
    near_bound = np.where(near, side, 0)
    return Diagnosis(
        condition=condition,
        se_u=se_u,
        at_bound=at_bound.astype(np.int8),
        near_bound=near_bound.astype(np.int8),
        no_effect=no_effect,
        flat=eigvec[:, :, 0],
        natural=natural,
        lower=lower,
        upper=upper,
    )


def _g(value: float) -> str:
    return f"{value:.3g}"


def warning_messages(law: Law, diagnosis: Diagnosis) -> list[str]:
    """One message per group ('' when the fit is well conditioned and off its bounds)."""
    names = law.param_names
    out = []
    for g in range(diagnosis.condition.shape[0]):
        parts = []
        for j, name in enumerate(names):
            side = int(diagnosis.at_bound[g, j]) or int(diagnosis.near_bound[g, j])
            if not side:
                continue
            which = "lower" if side < 0 else "upper"
            bound = diagnosis.lower[g, j] if side < 0 else diagnosis.upper[g, j]
            value = diagnosis.natural[g, j]
            if diagnosis.at_bound[g, j]:
                parts.append(f"{name} is at its {which} bound {_g(bound)} ({name} = {_g(value)})")
            else:
                parts.append(
                    f"{name} = {_g(value)} is within {BOUND_SE:g} standard errors of its "
                    f"{which} bound {_g(bound)}"
                )
        idle = [
            n
            for j, n in enumerate(names)
            if diagnosis.no_effect[g, j] and not diagnosis.at_bound[g, j]
        ]
        if idle:
            parts.append(f"{', '.join(idle)} {'has' if len(idle) == 1 else 'have'} no effect on the fit")
        condition = diagnosis.condition[g]
        if condition > MAX_CONDITION:
            weights = np.abs(diagnosis.flat[g])
            along = [names[j] for j in np.argsort(-weights) if weights[j] >= 0.25]
            parts.append(
                f"ill-conditioned (condition number {_g(condition)}): the data barely "
                f"constrain the combination of {', '.join(along)}"
            )
        out.append("; ".join(parts))
    return out


def step_cap_messages(law: Law, params: np.ndarray, steps: np.ndarray) -> list[str]:
    """Warnings for fits stopped by the step cap, whose parameters are no optimum: the cap,
    and every parameter ``p`` with ``|p| > IMPLAUSIBLE_FACTOR * max |grid|`` (its start
    grid's largest magnitude; grids of zeros only are not checked) or not finite."""
    params = np.asarray(params, float)
    scale = np.array([max(abs(v) for v in p.grid) for p in law.params])
    limit = IMPLAUSIBLE_FACTOR * scale
    out = []
    for g in range(params.shape[0]):
        values = params[g]
        odd = [
            f"{name} = {_g(v)}"
            for name, v, lim in zip(law.param_names, values, limit, strict=True)
            if not np.isfinite(v) or (lim > 0 and abs(v) > lim)
        ]
        text = (
            f"stopped by the step cap (max_steps) after {int(steps[g])} steps: the parameters "
            "are not an optimum"
        )
        if odd:
            text += (
                f"; implausible {', '.join(odd)} (over {IMPLAUSIBLE_FACTOR:g}x the start "
                "grid's largest value)"
            )
        out.append(text + "; raise max_steps, add bounds or fix parameters")
    return out
