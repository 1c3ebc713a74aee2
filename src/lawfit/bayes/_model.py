"""A NumPyro model of log loss generated from a law's spec.

For observations y_i = log L_i at inputs x_i,

    y_i ~ StudentT(nu + 2, log f(theta; x_i), sigma),   sigma ~ HalfNormal(s),   nu ~ Gamma(2, 0.1)

(Juárez & Steel 2010's prior on the degrees of freedom, shifted so the noise has a variance).
Each parameter theta_k is sampled as an unconstrained u_k with theta_k = T_k(u_k), T_k the
bijection of :mod:`lawfit.laws.bijection` (the MAP fits use the same one), and gets its spec's
prior ``Param.prior`` in natural units plus log|T_k'(u_k)|. A pivoted coefficient (``Law.pivots``)
is sampled at the geometric mean x0 of its input, log c' = log c - exponent * log x0, a
unit-Jacobian change of variables that decorrelates it from its exponent. Prior numbers, bounds
and pivots are array leaves (:class:`Hyper`), so new values never recompile.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.scipy.special import gammaln
from numpyro.distributions import constraints
from numpyro.infer.util import potential_energy

from lawfit.laws import Law
from lawfit.laws.bijection import log_abs_det_jacobian, to_natural, to_unconstrained

__all__ = [
    "NOISE_SITES",
    "Data",
    "Hyper",
    "cast",
    "data_log_mean",
    "decoded_inputs",
    "hyper",
    "log_noise_and_likelihood",
    "log_prior",
    "make_model",
    "natural",
    "numpyro_potential",
    "pivoted",
    "potential",
    "prior_logpdf",
    "site_values",
]

#: Unconstrained sites after the law's parameters, in order: log sigma, log nu.
NOISE_SITES = ("sigma", "nu")
#: Default HalfNormal scale of the noise sd on log loss.
NOISE_SCALE = 0.05


class Data(NamedTuple):
    """One posterior's observations, padded: inputs name -> (P,) encoded as lawfit's fit
    engine stores them (logs for laws of positive inputs, so a law's own logarithms fold away
    in the sampler's inner loop; :func:`decoded_inputs` inverts it), ``y`` (P,) log
    observations, ``mask`` (P,) true for real points (padding repeats a real point)."""

    x: dict
    y: jax.Array
    mask: jax.Array


class Hyper(NamedTuple):
    """Prior numbers of one posterior (K parameters): ``loc``, ``scale`` per parameter in the
    sense of :class:`lawfit.Prior`, bounds, ``log_pivot`` per law input, noise scale."""

    loc: jax.Array
    scale: jax.Array
    lower: jax.Array
    upper: jax.Array
    log_pivot: jax.Array
    noise: jax.Array


def cast(tree, dtype):
    """Float leaves of a pytree as JAX arrays of ``dtype``; other leaves as JAX arrays."""
    def leaf(a):
        a = np.asarray(a)
        return jnp.asarray(a, dtype) if np.issubdtype(a.dtype, np.floating) else jnp.asarray(a)

    return jax.tree_util.tree_map(leaf, tree)


def hyper(law: Law, log_pivot, priors: dict | None = None, noise: float = NOISE_SCALE) -> Hyper:
    """The spec's priors (``priors`` overrides some: name -> :class:`lawfit.Prior` of the same
    family) as a :class:`Hyper`."""
    priors = priors or {}
    loc, scale = [], []
    for p in law.params:
        prior = priors.get(p.name, p.prior)
        if prior is None:
            raise ValueError(f"parameter {p.name!r} of {law.name!r} has no prior; pass one")
        if p.prior is not None and prior.family != p.prior.family:
            raise ValueError(f"prior for {p.name!r} must stay {p.prior.family}")
        loc.append(prior.loc)
        scale.append(prior.scale)
    return Hyper(
        np.asarray(loc, float),
        np.asarray(scale, float),
        law.lower.astype(float),
        law.upper.astype(float),
        np.asarray(log_pivot, float),
        np.asarray(noise, float),
    )


def _pivot_index(law: Law):
    names = law.param_names
    return [(names.index(c), names.index(e), law.inputs.index(x)) for c, e, x in law.pivots]


def natural(law: Law, u, h: Hyper):
    """Natural parameters (..., K) from sampled unconstrained values (..., K), undoing pivots;
    also returns the unpivoted unconstrained values."""
    u = jnp.asarray(u)
    theta = to_natural(u, h.lower, h.upper)  # exponents are never pivoted (Law checks)
    for c, e, i in _pivot_index(law):
        u = u.at[..., c].add(theta[..., e] * h.log_pivot[..., i])
    return to_natural(u, h.lower, h.upper), u


def pivoted(law: Law, theta, h: Hyper):
    """Inverse of :func:`natural`: the sampled unconstrained values of natural parameters."""
    u = to_unconstrained(jnp.asarray(theta), h.lower, h.upper)
    for c, e, i in _pivot_index(law):
        u = u.at[..., c].add(-theta[..., e] * h.log_pivot[..., i])
    return u


def prior_logpdf(family: str, value, loc, scale):
    """Log density of a :class:`lawfit.Prior` of ``family`` at natural ``value``."""
    if family == "normal":
        return dist.Normal(loc, scale).log_prob(value)
    if family == "lognormal":
        return dist.LogNormal(loc, scale).log_prob(value)
    inside = (value > loc) & (value < scale)
    return jnp.where(inside, -jnp.log(scale - loc), -jnp.inf)


def log_prior(law: Law, u, h: Hyper):
    """Log prior density of the sampled unconstrained values ``u`` (K,): the spec's priors at
    the natural values plus log|Jacobian| of the bijections (pivots have unit Jacobian)."""
    theta, u_nat = natural(law, u, h)
    total = jnp.sum(log_abs_det_jacobian(u_nat, h.lower, h.upper))
    for k, p in enumerate(law.params):
        total = total + prior_logpdf(p.prior.family, theta[k], h.loc[k], h.scale[k])
    return total, theta


def log_mean(law: Law, theta, x: dict):
    """log f(theta; x) for arrays of points ``x`` (name -> (P,))."""
    params = dict(zip(law.param_names, theta, strict=True))
    return jax.vmap(lambda xi: law.log_predict_one(params, xi))(x)


def decoded_inputs(law: Law, x: dict) -> dict:
    """The natural inputs of :attr:`Data.x` (``exp`` of the stored logs for a law of positive
    inputs; XLA folds a law's own ``log(exp(v))`` back to ``v``)."""
    return {k: jnp.exp(v) for k, v in x.items()} if law.positive_inputs else dict(x)


def data_log_mean(law: Law, theta, data: Data):
    """log f(theta; x) at the (encoded) points of ``data``."""
    return log_mean(law, theta, decoded_inputs(law, data.x))


def make_model(law: Law):
    """The NumPyro model ``model(data: Data, hyper: Hyper)`` of a law (module docstring).

    Sites: one unconstrained site per parameter (``ImproperUniform`` on the reals; its prior
    enters through a ``factor``), ``sigma``, ``nu`` and the masked observations ``obs``."""

    def model(data: Data, h: Hyper):
        real = dist.ImproperUniform(constraints.real, (), ())
        u = jnp.stack([numpyro.sample(name, real) for name in law.param_names])
        lp, theta = log_prior(law, u, h)
        numpyro.factor("prior", lp)
        sigma = numpyro.sample("sigma", dist.HalfNormal(h.noise))
        nu = numpyro.sample("nu", dist.Gamma(2.0, 0.1))
        mu = data_log_mean(law, theta, data)
        numpyro.sample("obs", dist.StudentT(nu + 2.0, mu, sigma).mask(data.mask), obs=data.y)

    return model


def site_values(law: Law, w) -> dict:
    """A flat unconstrained vector (K + 2,) as the model's site dict."""
    out = {name: w[k] for k, name in enumerate(law.param_names)}
    out.update(sigma=w[len(law.params)], nu=w[len(law.params) + 1])
    return out


@functools.lru_cache(maxsize=64)
def potential(law: Law):
    """``potential(w, data, hyper)``: minus the log joint density at the flat unconstrained
    vector ``w`` = (u_1..u_K, log sigma, log nu), written directly (equal to NumPyro's
    ``potential_energy`` of :func:`make_model`, tested) because it is evaluated millions of
    times inside vmapped samplers."""

    def fn(w, data: Data, h: Hyper):
        k = len(law.params)
        lp, theta = log_prior(law, w[:k], h)
        return -(lp + log_noise_and_likelihood(law, theta, w[k], w[k + 1], data, h))

    return fn


def log_noise_and_likelihood(law: Law, theta, log_sigma, log_nu, data: Data, h: Hyper):
    """The noise priors at (log sigma, log nu), with their Jacobians, plus the masked
    Student-t log likelihood of one posterior's observations at natural parameters ``theta``."""
    sigma, nu = jnp.exp(log_sigma), jnp.exp(log_nu)
    lp = dist.HalfNormal(h.noise).log_prob(sigma) + log_sigma
    lp = lp + dist.Gamma(2.0, 0.1).log_prob(nu) + log_nu
    log_lik = _student_t(data.y, data_log_mean(law, theta, data), sigma, nu + 2.0)
    return lp + jnp.sum(jnp.where(data.mask, log_lik, 0.0))


def _student_t(y, mu, sigma, df):
    z = (y - mu) / sigma
    return (
        gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * jnp.log(df * jnp.pi) - jnp.log(sigma)
        - 0.5 * (df + 1) * jnp.log1p(z * z / df)
    )


def numpyro_potential(law: Law, w, data: Data, h: Hyper):
    """NumPyro's own potential energy of :func:`make_model` (for tests and checks)."""
    return potential_energy(make_model(law), (data, h), {}, site_values(law, w))
