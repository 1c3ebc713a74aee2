"""The law zoo: reference values, bijections, registry and construction-time validation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.distributions import constraints
from numpyro.distributions.transforms import biject_to

from lawfit import laws
from lawfit.laws import Law, Param, Prior, bijection

# Muennighoff et al. 2023's fitted data-constrained law (their datablations code; the same
# constants ColPret starts from, in its variables e, a, b = log E, log A, log B).
MUENNIGHOFF = dict(
    zip(
        ("E", "A", "B", "alpha", "beta", "R_D_star", "R_N_star"),
        (
            math.exp(0.6254804),
            math.exp(6.255414),
            math.exp(7.3049974),
            0.3526596,
            0.3526596,
            15.387756,
            5.309743,
        ),
        strict=True,
    )
)


def _muennighoff_loss(n, d, u, E, A, B, alpha, beta, R_D_star, R_N_star):
    """Muennighoff et al. 2023, eq. 5, in plain floats: the reference for the JAX law."""
    # U_N: the Chinchilla-optimal size for U unique tokens, N_opt = G (U G)^(beta/alpha).
    g = (alpha * A / (beta * B)) ** (1 / (alpha + beta))
    u_n = min(n, g * (u * g) ** (beta / alpha))
    r_d, r_n = d / u - 1, max(n / u_n - 1, 0.0)
    d_eff = u + u * R_D_star * (1 - math.exp(-r_d / R_D_star))
    n_eff = u_n + u_n * R_N_star * (1 - math.exp(-r_n / R_N_star))
    return E + A / n_eff**alpha + B / d_eff**beta


@pytest.mark.parametrize(("n", "d", "u"), [(6.34e9, 242e9, 25e9), (8.67e9, 178e9, 25e9)])
def test_data_constrained_matches_muennighoff(n, d, u):
    out = laws.data_constrained.predict(MUENNIGHOFF, {"N": n, "D": d, "U": u})
    assert float(out) == pytest.approx(_muennighoff_loss(n, d, u, **MUENNIGHOFF), rel=1e-12)


def test_chinchilla_log_form_matches_plain_formula():
    p = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    n, d = np.array([1e8, 7e10]), np.array([2e9, 1.4e12])
    plain = p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]
    np.testing.assert_allclose(laws.chinchilla.predict(p, {"N": n, "D": d}), plain, rtol=1e-13)


def test_chinchilla_log_form_stays_finite_in_float32():
    p = {"E": 1.7, "A": math.exp(60.0), "B": 400.0, "alpha": 2.0, "beta": 0.3}
    params = {k: jnp.float32(v) for k, v in p.items()}
    out = laws.chinchilla.log_fn(params, {"N": jnp.float32(1e15), "D": jnp.float32(1e13)})
    assert out.dtype == jnp.float32 and np.isfinite(out)


def test_revisiting_m4_solves_its_implicit_equation():
    p = {"eps_inf": 0.1, "eps_0": 1.0, "alpha": 0.7, "beta": 5.0, "c": 0.4}
    x = np.array([1.0, 10.0, 1e3, 1e5])
    eps = np.asarray(laws.revisiting_m4.predict(p, {"x": x}))
    lhs = (eps - p["eps_inf"]) / (p["eps_0"] - eps) ** p["alpha"]
    np.testing.assert_allclose(lhs, p["beta"] * x ** -p["c"], rtol=1e-10)


def test_revisiting_m4_gradient_matches_finite_differences():
    p = {"eps_inf": 0.1, "eps_0": 1.0, "alpha": 0.7, "beta": 5.0, "c": 0.4}

    def f(c):
        return laws.revisiting_m4.predict({**p, "c": c}, {"x": 100.0})

    h = 1e-6
    assert float(jax.grad(f)(0.4)) == pytest.approx(float((f(0.4 + h) - f(0.4 - h)) / (2 * h)), rel=1e-6)


def test_bnsl_without_break_effect_is_a_power_law():
    p = {"a": 0.5, "b": 3.0, "c0": 0.3, "c1": 0.0, "d1": 1e4, "f1": 0.5}
    x = np.logspace(1, 8, 9)
    np.testing.assert_allclose(laws.bnsl.predict(p, {"x": x}), 0.5 + 3.0 * x**-0.3, rtol=1e-12)


@pytest.mark.parametrize(
    ("lower", "upper", "constraint"),
    [
        (-math.inf, math.inf, constraints.real),
        (0.0, math.inf, constraints.positive),
        (2.0, math.inf, constraints.greater_than(2.0)),
        (-math.inf, 1.5, constraints.less_than(1.5)),
        (-1.0, 3.0, constraints.interval(-1.0, 3.0)),
    ],
)
def test_bijection_is_numpyros_biject_to(lower, upper, constraint):
    u = jnp.linspace(-4.0, 4.0, 17)
    transform = biject_to(constraint)
    np.testing.assert_allclose(bijection.to_natural(u, lower, upper), transform(u), rtol=1e-12)
    x = transform(u)
    np.testing.assert_allclose(bijection.to_unconstrained(x, lower, upper), u, atol=1e-9)
    np.testing.assert_allclose(
        bijection.log_abs_det_jacobian(u, lower, upper),
        transform.log_abs_det_jacobian(u, x),
        rtol=1e-10,
        atol=1e-12,
    )


def test_bijection_gradients_are_finite_in_every_branch():
    lower = jnp.array([-jnp.inf, 0.0, -jnp.inf, -1.0])
    upper = jnp.array([jnp.inf, jnp.inf, 2.0, 3.0])
    grad = jax.grad(lambda u: bijection.to_natural(u, lower, upper).sum())(jnp.full(4, 50.0))
    assert np.all(np.isfinite(grad))


def test_registry_and_user_laws():
    assert {"chinchilla", "power_law", "kaplan_nd", "shared_exponent", "data_constrained", "bnsl",
            "revisiting_m4", "sigmoid_link"} <= set(laws.names())
    assert laws.get("chinchilla") is laws.chinchilla
    with pytest.raises(ValueError, match="unknown law 'nope'"):
        laws.get("nope")
    mine = Law(
        name="test_linear_in_log",
        inputs=("C",),
        params=(Param("a", grid=(1.0,)), Param("b", 0.0, math.inf, grid=(0.1,))),
        fn=lambda p, x: p["a"] - p["b"] * jnp.log(x["C"]),
    )
    assert laws.register(mine) is mine and laws.get("test_linear_in_log") is mine
    with pytest.raises(ValueError, match="registered already"):
        laws.register(Law("test_linear_in_log", ("C",), mine.params, fn=mine.fn))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(inputs=("N", "N")), "inputs must be distinct"),
        (dict(params=(Param("a"), Param("a"))), "parameter names must be distinct"),
        (dict(fn=lambda p, x: jnp.stack([p["a"], p["a"]])), "must return a scalar"),
        (dict(fn=lambda p, x: p["missing"]), "failed on scalars"),
        (dict(decreasing_in=("Q",)), "unknown inputs"),
    ],
)
def test_law_validation_at_construction(kwargs, message):
    base = dict(name="bad", inputs=("N",), params=(Param("a"),), fn=lambda p, x: p["a"] * x["N"])
    with pytest.raises(ValueError, match=message):
        Law(**{**base, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(name="status"), "identifier not in"),
        (dict(lower=1.0, upper=0.0), "must be <"),
        (dict(lower=0.0, grid=(-1.0,)), "leaves"),
        (dict(lower=-1.0, prior=Prior("lognormal", 0.0, 1.0)), "prior support"),
    ],
)
def test_param_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Param(**{"name": "p", **kwargs})


def test_start_grid_is_hoffmanns_4500_inside_bounds():
    # Hoffmann et al. 2022, Appendix D.2: log A, log B in {0, 5, ..., 25}, alpha, beta in
    # {0, 0.5, ..., 2} (0 moved just inside the bound), e in {-1, -0.5, ..., 1}: 4,500 starts.
    grid = laws.chinchilla.start_grid()
    assert grid.shape == (4500, 5)
    assert np.all(grid > 0)
    np.testing.assert_allclose(np.unique(np.log(grid[:, 1])), [0, 5, 10, 15, 20, 25])
    np.testing.assert_allclose(np.unique(grid[:, 3]), [0.01, 0.5, 1.0, 1.5, 2.0])


def test_priors_are_numpyro_distributions():
    for name in laws.names():
        for p in laws.get(name).params:
            d = p.prior.distribution()
            assert np.isfinite(d.log_prob(d.sample(jax.random.key(0))))


@pytest.mark.parametrize("name", laws.names())
def test_default_grid_spans_every_free_parameter(name):
    """A default start grid holds each parameter at >= 2 values (not at one published answer)
    and stays a reasonable number of starts."""
    law = laws.get(name)
    grid = law.start_grid()
    for k, p in enumerate(law.params):
        assert len(set(p.grid)) >= 2, p.name
        assert len(set(grid[:, k])) == len(set(p.grid)), p.name  # thinning keeps every value
    assert len(grid) <= 10_000 and len(np.unique(grid, axis=0)) == len(grid)


@pytest.mark.parametrize(
    "lower, upper, grid, expected",
    [
        (-math.inf, math.inf, (2.0, 4.0), Prior("normal", 3.0, 3.0)),
        (0.0, math.inf, (0.0, 1.0, math.e**2), Prior("lognormal", 1.0, 2.0)),
        (0.0, 1.0, (0.5,), Prior("uniform", 0.0, 1.0)),
        (-1.0, math.inf, (0.1,), Prior("normal", 0.1, 1.0)),
    ],
)
def test_param_without_prior_gets_its_documented_default(lower, upper, grid, expected):
    assert Param("p", lower, upper, grid).prior == expected
