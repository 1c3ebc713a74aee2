"""Gradients through fits (implicit function theorem) against finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lawfit import laws
from lawfit.fitting import MSE, HuberLog, fit_params

X = np.logspace(6, 11, 14)
Y = (1.5 + 40.0 * X**-0.2) * np.exp(2e-3 * np.random.default_rng(3).standard_normal(14))
START = np.array([1.5, 40.0, 0.2])


def _fit(y, objective, x=X):
    return fit_params(laws.power_law, {"x": x}, y, start=START, objective=objective)


@pytest.mark.parametrize("objective", [MSE(), HuberLog(0.05)])
def test_gradient_of_parameters_wrt_data(objective):
    y = jnp.asarray(Y)
    jac = jax.jacrev(lambda v: _fit(v, objective))(y)
    h = 1e-6
    for i in (0, 5, 13):
        bump = np.zeros_like(Y)
        bump[i] = h
        fd = (np.asarray(_fit(y + bump, objective)) - np.asarray(_fit(y - bump, objective))) / (2 * h)
        np.testing.assert_allclose(jac[:, i], fd, rtol=2e-4, atol=1e-7)


def test_gradient_of_a_forecast():
    """d(prediction at 100x the largest x)/d(observed losses), as used for influence."""

    def forecast(y):
        theta = _fit(y, MSE())
        params = dict(zip(laws.power_law.param_names, theta, strict=True))
        return laws.power_law.fn(params, {"x": 1e13})

    grad = jax.grad(forecast)(jnp.asarray(Y))
    h = 1e-6
    bump = np.zeros_like(Y)
    bump[-1] = h
    fd = (forecast(jnp.asarray(Y + bump)) - forecast(jnp.asarray(Y - bump))) / (2 * h)
    assert float(grad[-1]) == pytest.approx(float(fd), rel=1e-4)
    assert np.all(np.isfinite(grad))


def test_fit_params_jits_and_vmaps():
    ys = jnp.stack([jnp.asarray(Y), jnp.asarray(Y) * 1.01])
    batched = jax.jit(jax.vmap(lambda v: _fit(v, MSE())))(ys)
    one = _fit(jnp.asarray(Y) * 1.01, MSE())
    np.testing.assert_allclose(batched[1], one, rtol=1e-8)
