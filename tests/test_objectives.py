"""Objectives against scipy, the pseudo-residual identity 0.5 s^2 = rho, and the learned
Huber scale against a scalar minimisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import huber

import lawfit
from lawfit import laws
from lawfit.evaluate import simulate
from lawfit.fitting import (
    MSE,
    MSLE,
    AsymmetricLogMSE,
    HuberLog,
    HuberLogScale,
    LogMSE,
)
from lawfit.fitting._objective import _ScaledHuber, get_objective

R = np.linspace(-0.05, 0.05, 101)


def test_huber_matches_scipy():
    np.testing.assert_allclose(HuberLog(1e-3).rho(R), huber(1e-3, R), rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize(
    "objective",
    [HuberLog(1e-3), HuberLog(0.02), MSE(), LogMSE(), MSLE(), AsymmetricLogMSE(3.0),
     _ScaledHuber(0.01, 1.345)],
)
def test_pseudo_residual_squares_to_rho(objective):
    s = objective.pseudo_residual(R)
    np.testing.assert_allclose(0.5 * s**2, objective.rho(R), rtol=1e-12, atol=1e-18)
    assert np.all(np.sign(s) == np.sign(R))


def test_pseudo_residual_gradient_is_finite_at_the_kink():
    g = jax.grad(lambda r: HuberLog(1e-3).pseudo_residual(r))(jnp.array([1e-3, -1e-3, 0.0, 0.2]).sum())
    assert np.isfinite(g)


def test_delta_is_a_leaf_and_validated():
    assert jax.tree.leaves(HuberLog(0.5)) == [0.5]
    with pytest.raises(ValueError, match="delta must be positive"):
        HuberLog(0.0)
    with pytest.raises(ValueError, match="loss must be one of"):
        get_objective("l1")


def test_asymmetric_weights_over_estimates():
    objective = AsymmetricLogMSE(overestimate_weight=3.0)
    # r = log y - log yhat < 0 is an over-estimate
    np.testing.assert_allclose(objective.rho(-R), np.where(R > 0, 3.0, 1.0) * R**2, rtol=1e-12)
    assert isinstance(get_objective("asymmetric-log"), AsymmetricLogMSE)
    with pytest.raises(ValueError, match="overestimate_weight must be >= 1"):
        AsymmetricLogMSE(0.5)


def test_msle_transforms_with_log1p():
    objective = get_objective("msle")
    y = np.array([0.0, 0.5, 3.0])
    np.testing.assert_allclose(objective.observed(y, np), np.log1p(y))
    pred = objective.predicted(laws.get("power_law_no_e"), {"A": 2.0, "alpha": 1.0}, {"x": 4.0})
    assert float(pred) == pytest.approx(np.log1p(0.5), rel=1e-14)


def _concomitant(sigma, r, w, eps):
    z = np.abs(r) / sigma
    h = np.where(z <= eps, z**2, 2 * eps * z - eps**2)
    return np.sum(w * (sigma + sigma * h))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learned_scale_minimises_the_concomitant_objective(seed):
    rng = np.random.default_rng(seed)
    r = 0.01 * rng.standard_normal(40)
    r[:5] *= 30.0  # outliers
    w = rng.uniform(0.5, 2.0, 40)
    w[-3:] = 0.0  # padding
    objective = get_objective("huber-log-scale")
    sigma = float(objective.scale(jnp.asarray(r), jnp.asarray(w)))
    ref = minimize_scalar(lambda s: _concomitant(s, r, w, 1.345), bounds=(1e-6, 1.0),
                          method="bounded", options={"xatol": 1e-12})
    assert sigma == pytest.approx(ref.x, rel=1e-6)
    per_point, constant = objective.at(jnp.asarray(r), jnp.asarray(w))
    total = float(constant + jnp.sum(w * per_point.rho(jnp.asarray(r))))
    assert total == pytest.approx(_concomitant(ref.x, r, w, 1.345), rel=1e-9)
    # the profiled objective's gradient in r: the envelope theorem's, at fixed sigma
    grad = jax.grad(lambda v: (lambda p, c: c + jnp.sum(w * p.rho(v)))(*objective.at(v, w)))(r)
    fixed = jax.grad(lambda v: jnp.sum(w * _ScaledHuber(sigma, 1.345).rho(v)))(r)
    np.testing.assert_allclose(grad, fixed, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="epsilon must be > 1"):
        HuberLogScale(1.0)


@pytest.mark.slow
def test_learned_scale_resists_outliers_where_least_squares_does_not():
    truth = dict(E=1.5, A=50.0, alpha=0.2)
    frame = simulate(laws.power_law, truth, {"x": np.logspace(6, 12, 30)}, noise=1e-2,
                     multiplicative=True, seed=1)
    frame.loc[[3, 9, 17], "y"] *= 1.3
    fits = {loss: lawfit.fit(frame, "power_law", "x", "y", loss=loss).params.iloc[0]
            for loss in ("huber-log-scale", "log-mse")}
    assert fits["huber-log-scale"]["status"] == "converged"
    err = {loss: abs(row["E"] - truth["E"]) for loss, row in fits.items()}
    assert err["huber-log-scale"] < 0.01 < err["log-mse"]
    # Levenberg-Marquardt, on the per-point form at the current scale, reaches the same optimum
    lm = lawfit.fit(frame, "power_law", "x", "y", loss="huber-log-scale", solver="lm")
    row = lm.params.iloc[0]
    assert row["status"] == "converged"
    assert row["objective"] == pytest.approx(fits["huber-log-scale"]["objective"], rel=1e-6)
