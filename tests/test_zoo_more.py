"""The laws of laws/_zoo_more.py against their papers' formulas written out in numpy."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from lawfit import laws

X = np.logspace(1, 10, 23)


def _bnsl_eq1(p, x, n):
    """Caballero et al. 2023, eq. (1), term by term."""
    out = p["b"] * x ** -p["c0"]
    for i in range(1, n + 1):
        out = out * (1 + (x / p[f"d{i}"]) ** (1 / p[f"f{i}"])) ** (-p[f"c{i}"] * p[f"f{i}"])
    return p["a"] + out


@pytest.mark.parametrize("n", [1, 2, 3])
def test_bnsl_n_is_the_papers_equation(n):
    p = {"a": 0.05, "b": 7.0, "c0": 0.2}
    for i, (c, d, f) in enumerate([(0.4, 1e3, 0.3), (-0.2, 1e6, 0.1), (0.5, 1e8, 1.2)][:n], 1):
        p |= {f"c{i}": c, f"d{i}": d, f"f{i}": f}
    law = laws.bnsl_n(n)
    assert law.name == ("bnsl" if n == 1 else f"bnsl{n}") and len(law.params) == 3 + 3 * n
    np.testing.assert_allclose(law.predict(p, {"x": X}), _bnsl_eq1(p, X, n), rtol=1e-12)


def test_bnsl_n_returns_the_registered_laws():
    assert laws.bnsl_n(1) is laws.bnsl
    assert laws.bnsl_n(2) is laws.get("bnsl2")
    assert laws.bnsl_n(3) is laws.get("bnsl3") is laws.bnsl_n(3)
    for bad in (0, 1.5, True, "3"):
        with pytest.raises(ValueError, match="n_breaks must be an integer >= 1"):
            laws.bnsl_n(bad)


def test_error_link_is_gadre_eq4():
    p = {"eps": 0.78, "k": 5.0, "gamma": 0.9}
    loss = np.linspace(2.0, 5.0, 7)
    expected = p["eps"] - p["k"] * np.exp(-p["gamma"] * loss)
    np.testing.assert_allclose(laws.error_link.predict(p, {"L": loss}), expected, rtol=1e-13)


def test_kaplan_ns_is_kaplan_eq_1_6():
    p = {"N_c": 6.5e13, "alpha_N": 0.077, "S_c": 2.1e3, "alpha_S": 0.76}
    n, s = np.array([1e6, 3e8, 1e11]), np.array([1e3, 5e4, 1e6])
    expected = (p["N_c"] / n) ** p["alpha_N"] + (p["S_c"] / s) ** p["alpha_S"]
    np.testing.assert_allclose(laws.kaplan_ns.predict(p, {"N": n, "S_min": s}), expected,
                               rtol=1e-13)


def test_kaplan_ns_log_form_stays_finite_in_float32():
    params = {"N_c": jnp.float32(1e30), "alpha_N": jnp.float32(3.0), "S_c": jnp.float32(2e3),
              "alpha_S": jnp.float32(0.76)}
    out = laws.kaplan_ns.log_fn(params, {"N": jnp.float32(1e6), "S_min": jnp.float32(1e4)})
    assert out.dtype == jnp.float32 and np.isfinite(out)
    assert float(out) == pytest.approx(3.0 * math.log(1e24), rel=1e-5)


def test_critical_batch_is_kaplan_eq_1_4():
    p = {"B_star": 2e8, "alpha_B": 0.21}
    loss = np.array([1.5, 2.5, 4.0])
    expected = p["B_star"] / loss ** (1 / p["alpha_B"])
    np.testing.assert_allclose(laws.critical_batch.predict(p, {"L": loss}), expected, rtol=1e-13)


@pytest.mark.parametrize("name", ["bnsl3", "error_link", "kaplan_ns", "critical_batch"])
def test_new_laws_are_documented_and_have_priors(name):
    law = laws.get(name)
    assert law.formula and law.reference
    assert all(p.prior is not None and p.doc for p in law.params)
    grid = law.start_grid()
    assert np.all((grid > law.lower) & (grid < law.upper))
