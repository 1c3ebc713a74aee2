"""Objectives against scipy, and the pseudo-residual identity 0.5 s^2 = rho."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import huber

from lawfit.fitting import MSE, HuberLog, LogMSE
from lawfit.fitting._objective import get_objective

R = np.linspace(-0.05, 0.05, 101)


def test_huber_matches_scipy():
    np.testing.assert_allclose(HuberLog(1e-3).rho(R), huber(1e-3, R), rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize("objective", [HuberLog(1e-3), HuberLog(0.02), MSE(), LogMSE()])
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
