"""A hierarchical model of many families: its NumPyro model and its potential, written directly.

The model (driven by :func:`lawfit.bayes.hierarchical_posterior`). Groups g = 1..G (model families) each
follow the model of :mod:`lawfit.bayes._model`, but a pooled parameter k (by default the
non-pivoted ones: the exponents and E) is drawn from a population (Gelman et al. 2013,
*Bayesian Data Analysis*, 3rd ed., ch. 5). In the unconstrained space of the law's bijection
T_k (the space of the MAP fits), with group g in cluster c = c_k(g),

    u_gk = m_kc + s_k z_gk,    z_gk ~ N(0, 1),
    T_k(m_kc) ~ the spec's prior of theta_k (plus log|T_k'(m_kc)|),    s_k ~ Gamma(2, 2 / tau),

so a positive parameter (u = log theta) has a lognormal population with median T_k(m_kc).
Either parameterisation is available per parameter (Papaspiliopoulos et al. 2007; Betancourt
& Girolami 2015): non-centred, sampling the standardised z_gk, removes the funnel between s_k
and the u_gk when each group's data say little about its u_gk; centred, sampling u_gk ~
N(m_kc, s_k) itself, avoids the inverse funnel when the data pin u_gk down, which is the
usual case for families with several sizes and many checkpoints and therefore the default.
The Gamma(2, .) prior on s_k has zero density at s_k = 0 (Chung et al. 2013), so chains do
not collapse into the funnel's neck. Clusters say which groups are
alike: every group is in one cluster for an exponent, while E, the loss of the data itself,
is pooled only among families sharing data and tokenizer (``cluster={"E": ["data",
"tokenizer"]}``); a group alone in its cluster keeps its own E under the spec's prior. The
non-pooled parameters (pivoted coefficients) and the noise (sigma, nu) stay per group, with
the priors, pivots and Student-t likelihood of the independent model. The sampled vector is

    w = (m_1, ..., m_P, log s_1, ..., log s_P, b_1, ..., b_G),

m_k the (C_k,) cluster centres of pooled parameter k, and b_g = (v_g1..v_gK, log sigma_g,
log nu_g) with v_gk = z_gk for pooled non-centred k and the sampled (pivoted) u_gk otherwise.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints
from numpyro.infer.util import potential_energy

from lawfit.bayes._model import (
    Data,
    Hyper,
    data_log_mean,
    log_noise_and_likelihood,
    natural,
    prior_logpdf,
)
from lawfit.laws import Law
from lawfit.laws.bijection import log_abs_det_jacobian, to_natural

__all__ = [
    "Population",
    "group_values",
    "hierarchical_potential",
    "hierarchical_site_values",
    "make_hierarchical_model",
    "numpyro_hierarchical_potential",
    "population_scale_prior",
    "split",
]


class Population(NamedTuple):
    """Population hyperparameters, one entry per pooled parameter k (in ``pooled`` order):
    ``cluster[k]`` (G,) int, each group's cluster; ``loc[k]``, ``scale[k]`` (C_k,) the prior
    numbers of the cluster centres T_k(m_kc) (the spec's family); ``lower``, ``upper`` (P,)
    the bounds of T_k; ``spread`` (P,) the prior mean tau of s_k. Array leaves: new
    values never recompile; the number of clusters C_k is a shape."""

    cluster: tuple
    loc: tuple
    scale: tuple
    lower: jax.Array
    upper: jax.Array
    spread: jax.Array


def population_scale_prior(tau):
    """Gamma(2, 2 / tau): mean tau and zero density at s = 0, a boundary-avoiding prior
    (Chung et al. 2013) that keeps the sampler out of the funnel's neck at s -> 0, where a
    HalfNormal prior lets chains collapse onto complete pooling."""
    return dist.Gamma(2.0, 2.0 / tau)


def split(law: Law, pooled: tuple[str, ...], w, pop: Population):
    """The flat vector ``w`` as (cluster centres per pooled parameter, log s (P,), group
    blocks (G, K + 2))."""
    sizes = [loc.shape[0] for loc in pop.loc]
    ends = np.cumsum(sizes)
    centres = [w[end - size : end] for size, end in zip(sizes, ends, strict=True)]
    n_centres = int(ends[-1])
    log_s = w[n_centres : n_centres + len(pooled)]
    blocks = w[n_centres + len(pooled) :].reshape(pop.cluster[0].shape[0], len(law.params) + 2)
    return centres, log_s, blocks


def group_values(law: Law, pooled: tuple[str, ...], centred: tuple[str, ...], centres, log_s,
                  blocks, pop: Population):
    """(G, K) sampled unconstrained values u_g of the independent model (pivoted
    coefficients), u_gk = m_kc + s_k z_gk for the pooled parameters not ``centred``."""
    u = blocks[:, : len(law.params)]
    for j, name in enumerate(pooled):
        if name in centred:
            continue
        k = law.param_names.index(name)
        u = u.at[:, k].set(centres[j][pop.cluster[j]] + jnp.exp(log_s[j]) * blocks[:, k])
    return u


def _log_free_prior(law: Law, pooled: tuple[str, ...], theta, u_nat, h: Hyper):
    """(G,) spec priors plus log|Jacobian| of the parameters that are not pooled."""
    jac = log_abs_det_jacobian(u_nat, h.lower, h.upper)
    total = jnp.zeros(theta.shape[0], theta.dtype)
    for k, p in enumerate(law.params):
        if p.name not in pooled:
            total = total + jac[:, k] + prior_logpdf(p.prior.family, theta[:, k], h.loc[:, k],
                                                h.scale[:, k])
    return total


def _log_centre_prior(law: Law, name: str, m, pop: Population, j: int):
    """(C_k,) the spec's prior of the cluster centres T_k(m) plus log|T_k'(m)|."""
    family = law.params[law.param_names.index(name)].prior.family
    lo, hi = pop.lower[j], pop.upper[j]
    return (prior_logpdf(family, to_natural(m, lo, hi), pop.loc[j], pop.scale[j])
            + log_abs_det_jacobian(m, lo, hi))


@functools.lru_cache(maxsize=64)
def hierarchical_potential(law: Law, pooled: tuple[str, ...], centred: tuple[str, ...] = ()):
    """``potential(w, data, hyper, population)``: minus the log joint density of the
    hierarchical model (module docstring) at the flat vector ``w``; ``data`` and ``hyper``
    have a leading group axis G. Written directly, equal to NumPyro's ``potential_energy`` of
    :func:`make_hierarchical_model` (tested). One function per (law, pooled, centred), the
    last 64 kept (LRU), so the samplers' caches, keyed by it, find their kernels again."""
    pooled_index = [law.param_names.index(name) for name in pooled]
    k = len(law.params)

    def fn(w, data: Data, h: Hyper, pop: Population):
        centres, log_s, blocks = split(law, pooled, w, pop)
        lp = sum(jnp.sum(_log_centre_prior(law, name, centres[j], pop, j))
                 for j, name in enumerate(pooled))
        lp = lp + jnp.sum(population_scale_prior(pop.spread).log_prob(jnp.exp(log_s)) + log_s)
        u = group_values(law, pooled, centred, centres, log_s, blocks, pop)
        for j, (name, k_) in enumerate(zip(pooled, pooled_index, strict=True)):
            if name in centred:
                population = dist.Normal(centres[j][pop.cluster[j]], jnp.exp(log_s[j]))
            else:
                population = dist.Normal(0.0, 1.0)
            lp = lp + jnp.sum(population.log_prob(blocks[:, k_]))
        theta, u_nat = natural(law, u, h)
        lp = lp + jnp.sum(_log_free_prior(law, pooled, theta, u_nat, h))
        noise_lik = jax.vmap(functools.partial(log_noise_and_likelihood, law))
        return -(lp + jnp.sum(noise_lik(theta, blocks[:, k], blocks[:, k + 1], data, h)))

    return fn


def make_hierarchical_model(law: Law, pooled: tuple[str, ...], centred: tuple[str, ...] = ()):
    """The NumPyro model ``model(data, hyper, population)`` of the hierarchical model.

    Sites: per pooled parameter ``p``, ``p_mean`` (its cluster centres m, ``ImproperUniform``
    whose prior enters through a ``factor``), ``p_scale`` (s) and, in the ``group`` plate,
    ``p_z``; per other parameter its pivoted unconstrained value (as in
    :func:`lawfit.bayes.make_model`); ``sigma``, ``nu`` and the masked ``obs``."""

    def model(data: Data, h: Hyper, pop: Population):
        centre, spread = {}, {}
        for j, name in enumerate(pooled):
            m = numpyro.sample(f"{name}_mean",
                               dist.ImproperUniform(constraints.real, (), pop.loc[j].shape))
            numpyro.factor(f"{name}_mean_prior", jnp.sum(_log_centre_prior(law, name, m, pop, j)))
            centre[name] = m[pop.cluster[j]]
            spread[name] = numpyro.sample(f"{name}_scale", population_scale_prior(pop.spread[j]))
        with numpyro.plate("group", data.y.shape[0]):
            columns = []
            for name in law.param_names:
                if name in centred:
                    columns.append(numpyro.sample(name, dist.Normal(centre[name], spread[name])))
                elif name in centre:
                    z = numpyro.sample(f"{name}_z", dist.Normal(0.0, 1.0))
                    columns.append(centre[name] + spread[name] * z)
                else:
                    columns.append(numpyro.sample(
                        name, dist.ImproperUniform(constraints.real, (), ())))
            theta, u_nat = natural(law, jnp.stack(columns, -1), h)
            numpyro.factor("prior", _log_free_prior(law, pooled, theta, u_nat, h))
            sigma = numpyro.sample("sigma", dist.HalfNormal(h.noise))
            nu = numpyro.sample("nu", dist.Gamma(2.0, 0.1))
        mu = jax.vmap(lambda t, dg: data_log_mean(law, t, dg))(theta, data)
        numpyro.sample("obs", dist.StudentT(nu[:, None] + 2.0, mu, sigma[:, None])
                       .mask(data.mask), obs=data.y)

    return model


def hierarchical_site_values(law: Law, pooled: tuple[str, ...], centred: tuple[str, ...], w,
                             pop: Population) -> dict:
    """A flat vector ``w`` as the site dict of :func:`make_hierarchical_model`."""
    centres, log_s, blocks = split(law, pooled, w, pop)
    out = {}
    for j, name in enumerate(pooled):
        out[f"{name}_mean"], out[f"{name}_scale"] = centres[j], log_s[j]
    for k, name in enumerate(law.param_names):
        out[f"{name}_z" if name in pooled and name not in centred else name] = blocks[:, k]
    out.update(sigma=blocks[:, len(law.params)], nu=blocks[:, len(law.params) + 1])
    return out


def numpyro_hierarchical_potential(law: Law, pooled: tuple[str, ...], centred: tuple[str, ...], w,
                                   data: Data, h: Hyper, pop: Population):
    """NumPyro's own potential energy of :func:`make_hierarchical_model` (for tests)."""
    return potential_energy(make_hierarchical_model(law, pooled, centred), (data, h, pop), {},
                            hierarchical_site_values(law, pooled, centred, w, pop))
