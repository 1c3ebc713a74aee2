"""More laws from the papers: BNSL with any number of breaks, Gadre et al.'s loss-to-error
link, and Kaplan et al.'s learning-curve and critical-batch-size laws."""

from __future__ import annotations

import math

import jax.numpy as jnp

from lawfit.laws._law import Law, Param, Prior, get, register
from lawfit.laws._zoo import _lse, _make_bnsl

__all__ = ["bnsl_n", "critical_batch", "error_link", "kaplan_ns"]

_INF = math.inf


# --- Caballero et al. BNSL with n breaks -------------------------------------------------------


def bnsl_n(n_breaks: int) -> Law:
    """The broken neural scaling law with ``n_breaks`` breaks, registered as ``bnsl{n}``.

    y = a + b x^-c0 prod_{i=1}^n (1 + (x/d_i)^(1/f_i))^(-c_i f_i) (Caballero et al. 2023,
    arXiv:2210.14891, eq. 1; their figures use n = 3). ``bnsl_n(1)`` is ``bnsl`` and
    ``bnsl_n(2)`` is ``bnsl2``; a new ``n`` is built once and registered. The start grid is
    the product of every break's (c_i, d_i, f_i) grid: 8 * 12^n starts, thinned to 10,000 for n >= 3.
    """
    if isinstance(n_breaks, bool) or not isinstance(n_breaks, int) or n_breaks < 1:
        raise ValueError(f"n_breaks must be an integer >= 1; got {n_breaks!r}")
    name = "bnsl" if n_breaks == 1 else f"bnsl{n_breaks}"
    try:
        return get(name)
    except ValueError:
        return register(_make_bnsl(n_breaks))


bnsl_n(3)


# --- Gadre et al. loss -> downstream error ------------------------------------------------------

error_link = register(
    Law(
        name="error_link",
        inputs=("L",),
        params=(
            Param(
                "eps",
                0.0,
                1.0,
                (0.5, 0.75, 0.9),
                Prior("uniform", 0.0, 1.0),
                "error as the loss grows (chance-level error)",
            ),
            Param("k", 0.0, _INF, (1.0, 10.0, 100.0), Prior("lognormal", 1.5, 2.0), "scale"),
            Param(
                "gamma", 0.0, _INF, (0.3, 1.0, 3.0), Prior("lognormal", 0.0, 1.0), "decay rate"
            ),
        ),
        fn=lambda p, x: p["eps"] - p["k"] * jnp.exp(-p["gamma"] * x["L"]),
        formula="Err = eps - k exp(-gamma L)",
        reference="Gadre et al. 2024, arXiv:2403.08540, eq. (4)",
        output="error",
    )
)


# --- Kaplan et al. learning curve L(N, S_min) ---------------------------------------------------


def _kaplan_ns_log(p, x):
    return _lse(
        p["alpha_N"] * (jnp.log(p["N_c"]) - jnp.log(x["N"])),
        p["alpha_S"] * (jnp.log(p["S_c"]) - jnp.log(x["S_min"])),
    )


kaplan_ns = register(
    Law(
        name="kaplan_ns",
        inputs=("N", "S_min"),
        params=(
            Param(
                "N_c",
                0.0,
                _INF,
                (1e10, 1e12, 1e14, 1e16),
                Prior("lognormal", math.log(8.8e13), 3.0),
                "parameter scale",
            ),
            Param(
                "alpha_N",
                0.0,
                _INF,
                (0.03, 0.07, 0.15, 0.3),
                Prior("lognormal", math.log(0.076), 0.7),
                "parameter exponent",
            ),
            Param(
                "S_c",
                0.0,
                _INF,
                (1e2, 1e3, 1e4),
                Prior("lognormal", math.log(2.1e3), 3.0),
                "step scale",
            ),
            Param(
                "alpha_S",
                0.0,
                _INF,
                (0.3, 0.7, 1.0),
                Prior("lognormal", math.log(0.76), 0.7),
                "step exponent",
            ),
        ),
        fn=lambda p, x: jnp.exp(_kaplan_ns_log(p, x)),
        log_fn=_kaplan_ns_log,
        formula="L = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S",
        reference=(
            "Kaplan et al. 2020, arXiv:2001.08361, eqs. (1.6), (5.6); S_min is the number of "
            "steps at a batch far above B_crit: pass S_min = S / (1 + B_crit(L)/B) (eq. 5.4), "
            "or the plain step count S when B >> B_crit"
        ),
        decreasing_in=("N", "S_min"),
    )
)


# --- Kaplan et al. critical batch size B_crit(L) ------------------------------------------------


def _critical_batch_log(p, x):
    return jnp.log(p["B_star"]) - jnp.log(x["L"]) / p["alpha_B"]


critical_batch = register(
    Law(
        name="critical_batch",
        inputs=("L",),
        params=(
            Param(
                "B_star",
                0.0,
                _INF,
                (1e6, 1e8, 1e10),
                Prior("lognormal", math.log(2e8), 3.0),
                "critical batch (tokens) at L = 1",
            ),
            Param(
                "alpha_B",
                0.0,
                _INF,
                (0.1, 0.2, 0.4),
                Prior("lognormal", math.log(0.21), 0.7),
                "exponent",
            ),
        ),
        fn=lambda p, x: jnp.exp(_critical_batch_log(p, x)),
        log_fn=_critical_batch_log,
        formula="B_crit = B_star / L^(1/alpha_B)",
        reference="Kaplan et al. 2020, arXiv:2001.08361, eq. (1.4)",
        output="batch size",
        decreasing_in=("L",),
    )
)
