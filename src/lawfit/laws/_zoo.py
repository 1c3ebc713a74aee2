"""The built-in laws. Each is written for one point; log forms use log-sum-exp to stay finite."""

from __future__ import annotations

import math

import jax.numpy as jnp
from jax import lax, nn

from lawfit.laws._law import Law, Param, Prior, register

__all__ = [
    "bnsl",
    "chinchilla",
    "data_constrained",
    "kaplan_nd",
    "power_law",
    "revisiting_m4",
    "shared_exponent",
    "sigmoid_link",
]

_INF = math.inf


def _lse(*terms):
    """log(sum(exp(terms))), shifted by their (constant) maximum; fuses into one loop."""
    shift = terms[0]
    for term in terms[1:]:
        shift = jnp.maximum(shift, term)
    shift = lax.stop_gradient(shift)
    return shift + jnp.log(sum(jnp.exp(term - shift) for term in terms))


def _exp_grid(lo: float, hi: float, step: float) -> tuple[float, ...]:
    n = round((hi - lo) / step)
    return tuple(math.exp(lo + i * step) for i in range(n + 1))


# Hoffmann et al. (2022) start grid, Appendix D.2: e in {-1,...,1}, a, b in {0,...,25},
# alpha, beta in {0,...,2}; 5 * 6 * 6 * 5 * 5 = 4,500 starts.
_E_GRID = _exp_grid(-1.0, 1.0, 0.5)
_COEF_GRID = _exp_grid(0.0, 25.0, 5.0)
_EXP_GRID = (0.0, 0.5, 1.0, 1.5, 2.0)

_E_PRIOR = Prior("lognormal", math.log(1.8), 0.5)
_COEF_PRIOR = Prior("lognormal", math.log(400.0), 3.0)
_EXPONENT_PRIOR = Prior("lognormal", math.log(0.33), 0.5)


def _irreducible(grid=_E_GRID) -> Param:
    return Param("E", 0.0, _INF, grid, _E_PRIOR, "irreducible loss")


def _coefficient(name: str, grid=_COEF_GRID, doc: str = "") -> Param:
    return Param(name, 0.0, _INF, grid, _COEF_PRIOR, doc)


def _exponent(name: str, grid=_EXP_GRID, doc: str = "") -> Param:
    return Param(name, 0.0, _INF, grid, _EXPONENT_PRIOR, doc)


# --- Chinchilla -------------------------------------------------------------------------


def _chinchilla_log(p, x):
    return _lse(
        jnp.log(p["A"]) - p["alpha"] * jnp.log(x["N"]),
        jnp.log(p["B"]) - p["beta"] * jnp.log(x["D"]),
        jnp.log(p["E"]),
    )


chinchilla = register(
    Law(
        name="chinchilla",
        inputs=("N", "D"),
        params=(
            _irreducible(),
            _coefficient("A", doc="parameter-term coefficient"),
            _coefficient("B", doc="data-term coefficient"),
            _exponent("alpha", doc="parameter exponent"),
            _exponent("beta", doc="data exponent"),
        ),
        fn=lambda p, x: jnp.exp(_chinchilla_log(p, x)),
        log_fn=_chinchilla_log,
        formula="L = E + A/N^alpha + B/D^beta",
        reference="Hoffmann et al. 2022, arXiv:2203.15556, eq. (2); start grid of App. D.2",
        decreasing_in=("N", "D"),
        pivots=(("A", "alpha", "N"), ("B", "beta", "D")),
    )
)


# --- Gadre et al. shared exponent --------------------------------------------------------


def _shared_log(p, x):
    return _lse(
        jnp.log(p["A"]) - p["alpha"] * jnp.log(x["N"]),
        jnp.log(p["B"]) - p["alpha"] * jnp.log(x["D"]),
        jnp.log(p["E"]),
    )


shared_exponent = register(
    Law(
        name="shared_exponent",
        inputs=("N", "D"),
        params=(
            _irreducible(),
            _coefficient("A", doc="parameter-term coefficient"),
            _coefficient("B", doc="data-term coefficient"),
            _exponent("alpha", doc="exponent shared by N and D"),
        ),
        fn=lambda p, x: jnp.exp(_shared_log(p, x)),
        log_fn=_shared_log,
        formula="L = E + A/N^alpha + B/D^alpha",
        reference="Gadre et al. 2024, arXiv:2403.08540, eq. (3)",
        decreasing_in=("N", "D"),
        pivots=(("A", "alpha", "N"), ("B", "alpha", "D")),
    )
)


# --- one-input power laws (Kaplan's L(N), L(D), L(C)) ------------------------------------


def _make_power_law(name: str, irreducible: bool) -> Law:
    def log_fn(p, x):
        term = jnp.log(p["A"]) - p["alpha"] * jnp.log(x["x"])
        return _lse(term, jnp.log(p["E"])) if irreducible else term

    params = (
        *((_irreducible(),) if irreducible else ()),
        _coefficient("A", doc="coefficient"),
        _exponent("alpha", grid=(0.05, 0.2, 0.5, 1.0), doc="exponent"),
    )
    return Law(
        name=name,
        inputs=("x",),
        params=params,
        fn=lambda p, x: jnp.exp(log_fn(p, x)),
        log_fn=log_fn,
        formula=("L = E + A * x^-alpha" if irreducible else "L = A * x^-alpha"),
        reference="Kaplan et al. 2020, arXiv:2001.08361, eqs. (1.1)-(1.3) (x = N, D or C)",
        decreasing_in=("x",),
        pivots=(("A", "alpha", "x"),),
    )


power_law = register(_make_power_law("power_law", irreducible=True))
register(_make_power_law("power_law_no_e", irreducible=False))


# --- Kaplan's joint L(N, D) ----------------------------------------------------------------


def _kaplan_log(p, x):
    ratio = p["alpha_N"] / p["alpha_D"]
    inner = _lse(
        ratio * (jnp.log(p["N_c"]) - jnp.log(x["N"])),
        jnp.log(p["D_c"]) - jnp.log(x["D"]),
    )
    return p["alpha_D"] * inner


_SCALE_GRID = (1e10, 1e12, 1e14, 1e16)
kaplan_nd = register(
    Law(
        name="kaplan_nd",
        inputs=("N", "D"),
        params=(
            Param(
                "N_c",
                0.0,
                _INF,
                _SCALE_GRID,
                Prior("lognormal", math.log(8.8e13), 3.0),
                "parameter scale",
            ),
            Param(
                "D_c",
                0.0,
                _INF,
                _SCALE_GRID,
                Prior("lognormal", math.log(5.4e13), 3.0),
                "data scale",
            ),
            _exponent("alpha_N", grid=(0.03, 0.07, 0.15, 0.3), doc="parameter exponent"),
            _exponent("alpha_D", grid=(0.03, 0.07, 0.15, 0.3), doc="data exponent"),
        ),
        fn=lambda p, x: jnp.exp(_kaplan_log(p, x)),
        log_fn=_kaplan_log,
        formula="L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D",
        reference="Kaplan et al. 2020, arXiv:2001.08361, eq. (1.5)",
        decreasing_in=("N", "D"),
    )
)


# --- Muennighoff et al. data-constrained law ------------------------------------------------


def _data_constrained_log(p, x):
    n, d, u = x["N"], x["D"], x["U"]
    alpha, beta = p["alpha"], p["beta"]
    # Compute-optimal parameters for U unique tokens under the Chinchilla allocation:
    # N_opt(D) = G (D G)^(beta/alpha), G = (alpha A / (beta B))^(1/(alpha+beta)).
    log_g = (jnp.log(alpha * p["A"]) - jnp.log(beta * p["B"])) / (alpha + beta)
    log_n_opt = log_g + (beta / alpha) * (jnp.log(u) + log_g)
    log_un = jnp.minimum(jnp.log(n), log_n_opt)
    r_d = jnp.maximum(d / u - 1.0, 0.0)
    r_n = jnp.maximum(jnp.exp(jnp.log(n) - log_un) - 1.0, 0.0)
    # Effective data D' = U (1 + R_D* (1 - exp(-R_D/R_D*))), likewise N'.
    log_d_eff = jnp.log(u) + jnp.log1p(-p["R_D_star"] * jnp.expm1(-r_d / p["R_D_star"]))
    log_n_eff = log_un + jnp.log1p(-p["R_N_star"] * jnp.expm1(-r_n / p["R_N_star"]))
    return _lse(
        jnp.log(p["A"]) - alpha * log_n_eff,
        jnp.log(p["B"]) - beta * log_d_eff,
        jnp.log(p["E"]),
    )


# R_D*, R_N* start at 1, 10, 100 (Muennighoff et al. fit 15.4 and 5.3 on C4; other data
# and models need not be near them): 3 * 5 * 5 * 3 * 3 * 3 * 3 = 6,075 starts.
_HALF_LIFE_GRID = (1.0, 10.0, 100.0)


def _unique_within_seen(x):
    """U <= D: a run cannot see fewer tokens than it has unique ones."""
    return x["U"] > x["D"], "column {U} (input U) must be <= column {D} (input D)"


data_constrained = register(
    Law(
        name="data_constrained",
        inputs=("N", "D", "U"),
        params=(
            _irreducible(grid=_exp_grid(-1.0, 1.0, 1.0)),
            _coefficient("A", grid=_exp_grid(0.0, 20.0, 5.0), doc="parameter-term coefficient"),
            _coefficient("B", grid=_exp_grid(0.0, 20.0, 5.0), doc="data-term coefficient"),
            _exponent("alpha", grid=(0.2, 0.5, 1.0), doc="parameter exponent"),
            _exponent("beta", grid=(0.2, 0.5, 1.0), doc="data exponent"),
            Param(
                "R_D_star",
                0.0,
                _INF,
                _HALF_LIFE_GRID,
                Prior("lognormal", math.log(15.0), 1.0),
                "half-life of repeated data, in epochs",
            ),
            Param(
                "R_N_star",
                0.0,
                _INF,
                _HALF_LIFE_GRID,
                Prior("lognormal", math.log(5.0), 1.0),
                "half-life of excess parameters",
            ),
        ),
        fn=lambda p, x: jnp.exp(_data_constrained_log(p, x)),
        log_fn=_data_constrained_log,
        formula=(
            "L = E + A/N'^alpha + B/D'^beta, D' = U + U R_D*(1 - exp(-R_D/R_D*)), "
            "N' = U_N + U_N R_N*(1 - exp(-R_N/R_N*)), U_N = min(N, N_opt(U))"
        ),
        reference="Muennighoff et al. 2023, arXiv:2305.16264, eqs. (5)-(7)",
        decreasing_in=("N", "U"),
        row_checks=(_unique_within_seen,),
    )
)


# --- Caballero et al. broken neural scaling law -----------------------------------------------


def _make_bnsl(breaks: int) -> Law:
    def log_fn(p, x):
        log_x = jnp.log(x["x"])
        log_term = jnp.log(p["b"]) - p["c0"] * log_x
        for i in range(1, breaks + 1):
            c, d, f = p[f"c{i}"], p[f"d{i}"], p[f"f{i}"]
            log_term = log_term - c * f * nn.softplus((log_x - jnp.log(d)) / f)
        return _lse(jnp.log(p["a"]), log_term)

    params = [
        Param("a", 0.0, _INF, (1e-2, 1.0), Prior("lognormal", 0.0, 2.0), "limit as x -> inf"),
        Param(
            "b", 0.0, _INF, (1.0, 1e2), Prior("lognormal", 0.0, 3.0), "scale of the first segment"
        ),
        Param(
            "c0", -_INF, _INF, (0.1, 0.5), Prior("normal", 0.3, 1.0), "slope of the first segment"
        ),
    ]
    for i in range(1, breaks + 1):
        params += [
            Param(
                f"c{i}",
                -_INF,
                _INF,
                (0.0, 0.5),
                Prior("normal", 0.0, 1.0),
                f"slope change at break {i}",
            ),
            Param(
                f"d{i}",
                0.0,
                _INF,
                (1e3, 1e6, 1e9),
                Prior("lognormal", 13.8, 5.0),
                f"location of break {i}",
                placed_in="x",
            ),
            Param(
                f"f{i}",
                0.0,
                _INF,
                (0.3, 1.0),
                Prior("lognormal", 0.0, 1.0),
                f"sharpness of break {i}",
            ),
        ]
    return Law(
        name="bnsl" if breaks == 1 else f"bnsl{breaks}",
        inputs=("x",),
        params=tuple(params),
        fn=lambda p, x: jnp.exp(log_fn(p, x)),
        log_fn=log_fn,
        formula="y = a + b x^-c0 prod_i (1 + (x/d_i)^(1/f_i))^(-c_i f_i)",
        reference="Caballero et al. 2023, arXiv:2210.14891, eq. (1)",
    )


bnsl = register(_make_bnsl(1))
register(_make_bnsl(2))


# --- Alabdulmohsin et al. M4 ------------------------------------------------------------------


def _m4_excess(p, x):
    """w = eps_x - eps_inf solving w = f (b - w)^alpha, f = beta x^-c, b = eps_0 - eps_inf."""
    log_f = jnp.log(p["beta"]) - p["c"] * jnp.log(x["x"])
    b = p["eps_0"] - p["eps_inf"]
    alpha = p["alpha"]

    def h(t):  # increasing in t = w / b on (0, 1); zero at the solution
        return jnp.log(t) + jnp.log(b) - log_f - alpha * (jnp.log(b) + jnp.log1p(-t))

    def bisect(fun, t0):
        del t0

        def body(_, bracket):
            lo, hi = bracket
            mid = 0.5 * (lo + hi)
            go_right = fun(mid) < 0
            return jnp.where(go_right, mid, lo), jnp.where(go_right, hi, mid)

        lo, hi = lax.fori_loop(0, 60, body, (jnp.zeros_like(b), jnp.ones_like(b)))
        return 0.5 * (lo + hi)

    def tangent_solve(g, y):
        return y / g(jnp.ones_like(y))

    t = lax.custom_root(h, jnp.full_like(b, 0.5), bisect, tangent_solve)
    return t * b


revisiting_m4 = register(
    Law(
        name="revisiting_m4",
        inputs=("x",),
        params=(
            Param(
                "eps_inf",
                0.0,
                _INF,
                (1e-2, 0.5),
                Prior("lognormal", -1.0, 2.0),
                "error with infinite x",
            ),
            Param(
                "eps_0",
                0.0,
                _INF,
                (1.0, 3.0),
                Prior("lognormal", 0.5, 2.0),
                "error at random guessing",
            ),
            Param(
                "alpha",
                0.0,
                _INF,
                (0.5, 1.0),
                Prior("lognormal", 0.0, 1.0),
                "curvature of the transition",
            ),
            Param("beta", 0.0, _INF, (1.0, 10.0), Prior("lognormal", 1.0, 3.0), "scale"),
            Param("c", 0.0, _INF, (0.1, 0.5), _EXPONENT_PRIOR, "decay exponent"),
        ),
        fn=lambda p, x: p["eps_inf"] + _m4_excess(p, x),
        formula="(eps_x - eps_inf) / (eps_0 - eps_x)^alpha = beta x^-c, solved for eps_x",
        reference="Alabdulmohsin, Neyshabur, Zhai 2022, arXiv:2209.06640, eq. (M4)",
        decreasing_in=("x",),
    )
)


# --- loss -> downstream accuracy ------------------------------------------------------------

sigmoid_link = register(
    Law(
        name="sigmoid_link",
        inputs=("L",),
        params=(
            Param(
                "floor",
                0.0,
                1.0,
                (0.0, 0.25),
                Prior("uniform", 0.0, 1.0),
                "accuracy at high loss (chance)",
            ),
            Param(
                "ceiling", 0.0, 1.0, (0.8, 1.0), Prior("uniform", 0.0, 1.0), "accuracy at low loss"
            ),
            Param("k", 0.0, _INF, (1.0, 5.0, 20.0), Prior("lognormal", 1.5, 1.0), "steepness"),
            Param(
                "L0",
                -_INF,
                _INF,
                (2.0, 3.0, 4.0),
                Prior("normal", 3.0, 2.0),
                "loss at the midpoint",
            ),
        ),
        fn=lambda p, x: (
            p["floor"] + (p["ceiling"] - p["floor"]) * nn.sigmoid(-p["k"] * (x["L"] - p["L0"]))
        ),
        formula="acc = floor + (ceiling - floor) / (1 + exp(k (L - L0)))",
        reference="Bhagia et al. 2024 (model ladders), arXiv:2412.04403, eq. (2)",
        output="accuracy",
        decreasing_in=("L",),
    )
)
