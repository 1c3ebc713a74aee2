"""Sharing strength across families: a hierarchical model and empirical-Bayes priors.

Hierarchical model (:func:`hierarchical_posterior`). Groups g = 1..G (model families) each
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

Empirical-Bayes priors (:func:`borrowed_priors`). A family fitted from one or two small
models cannot pin its exponents down, but other families can: their posterior medians of a
parameter, on the scale of its prior (log for a lognormal prior), give a prior Normal(mean,
sd * sqrt(1 + 1/n)) across the n donor families (Robbins 1956; Efron & Morris 1973, the
plug-in estimate of a random-effects prior). E is borrowed only from families that share
the target's data (and tokenizer): declare similarity by passing ``donors`` per parameter.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
from numpyro.distributions import constraints
from numpyro.infer.util import potential_energy

from lawfit.bayes._diagnostics import SampleStatus, diagnose_many
from lawfit.bayes._laplace import laplace
from lawfit.bayes._model import (
    NOISE_SITES,
    Data,
    Hyper,
    data_log_mean,
    log_noise_and_likelihood,
    natural,
    potential,
    prior_logpdf,
)
from lawfit.bayes._nuts import nuts
from lawfit.bayes._posterior import Posterior, cast, check_settings, prepare, start_points
from lawfit.data import InputError, check_columns
from lawfit.laws import Law, Prior
from lawfit.laws import get as get_law
from lawfit.laws.bijection import log_abs_det_jacobian, to_natural

__all__ = [
    "Population",
    "borrowed_priors",
    "hierarchical_posterior",
    "hierarchical_potential",
    "hierarchical_site_values",
    "make_hierarchical_model",
    "numpyro_hierarchical_potential",
]

#: Smallest prior scale a borrowed prior gets (on its log or natural scale).
MIN_SCALE = 0.05
#: Smallest population sd a hierarchical fit starts from.
MIN_START_SCALE = 0.05
#: L-BFGS iterations for the joint mode (its funnel-shaped, ill-conditioned potential needs
#: more than the independent posteriors' 200).
JOINT_STEPS = 1000


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


def _split(law: Law, pooled: tuple[str, ...], w, pop: Population):
    """The flat vector ``w`` as (cluster centres per pooled parameter, log s (P,), group
    blocks (G, K + 2))."""
    sizes = [loc.shape[0] for loc in pop.loc]
    ends = np.cumsum(sizes)
    centres = [w[end - size : end] for size, end in zip(sizes, ends, strict=True)]
    n_centres = int(ends[-1])
    log_s = w[n_centres : n_centres + len(pooled)]
    blocks = w[n_centres + len(pooled) :].reshape(pop.cluster[0].shape[0], len(law.params) + 2)
    return centres, log_s, blocks


def _group_values(law: Law, pooled: tuple[str, ...], centred: tuple[str, ...], centres, log_s,
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
        centres, log_s, blocks = _split(law, pooled, w, pop)
        lp = sum(jnp.sum(_log_centre_prior(law, name, centres[j], pop, j))
                 for j, name in enumerate(pooled))
        lp = lp + jnp.sum(population_scale_prior(pop.spread).log_prob(jnp.exp(log_s)) + log_s)
        u = _group_values(law, pooled, centred, centres, log_s, blocks, pop)
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
    centres, log_s, blocks = _split(law, pooled, w, pop)
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


def _pooled(law: Law, pool) -> tuple[str, ...]:
    pivoted_ = {c for c, _, _ in law.pivots}
    if pool is None:
        return tuple(p for p in law.param_names if p not in pivoted_)
    pool = [pool] if isinstance(pool, str) else list(pool)
    unknown = [p for p in pool if p not in law.param_names]
    if unknown:
        raise InputError(f"pool: {unknown} are not parameters of {law.name!r}")
    if set(pool) & pivoted_:
        raise InputError(
            f"pool: {sorted(set(pool) & pivoted_)} are pivoted coefficients, whose values "
            "depend on each family's pivot; pool exponents or E"
        )
    if not pool:
        raise InputError("pool: name at least one parameter (or use lawfit.posterior)")
    return tuple(p for p in law.param_names if p in pool)  # law order


def _cluster_columns(pooled: tuple[str, ...], cluster) -> dict[str, list[str]]:
    cluster = dict(cluster or {})
    stray = [p for p in cluster if p not in pooled]
    if stray:
        raise InputError(f"cluster: {stray} are not pooled parameters (pooled: {list(pooled)})")
    out = {}
    for name, cols in cluster.items():
        out[name] = [] if cols is None else [cols] if isinstance(cols, str) else list(cols)
    return out


def _clusters(data: pd.DataFrame, by_cols: list[str], pooled, columns) -> list[np.ndarray]:
    """Per pooled parameter, (G,) the cluster of each group (groups in ``by`` order): groups
    sharing the values of its ``cluster`` columns, numbered in sorted order."""
    grouped = data.groupby(by_cols, sort=True, dropna=False)
    out = []
    for name in pooled:
        cols = columns.get(name, [])
        if not cols:
            out.append(np.zeros(grouped.ngroups, int))
            continue
        varying = grouped[cols].nunique(dropna=False).max(axis=1) > 1
        if varying.any():
            raise InputError(
                f"cluster: columns {cols} (for {name!r}) vary within the groups "
                f"{list(varying.index[varying][:5])}; they must describe whole families"
            )
        firsts = grouped[cols].first()
        out.append(firsts.groupby(cols, sort=True, dropna=False).ngroup().to_numpy(int))
    return out


def _initial(law: Law, pooled, centred, u0: np.ndarray, cluster: list[np.ndarray]):
    """(2, d) starts from per-group unconstrained values ``u0`` (G, K + 2): cluster means
    m, s the pooled residual sd (floored), z = (u - m) / s (u if centred); and the same
    with every group at its cluster's mean."""
    centres, log_s, blocks = [], [], u0.copy()
    for j, name in enumerate(pooled):
        k = law.param_names.index(name)
        c = cluster[j]
        m = np.bincount(c, weights=u0[:, k]) / np.bincount(c)
        resid = u0[:, k] - m[c]
        s = max(math.sqrt(np.mean(resid**2)), MIN_START_SCALE)
        centres.append(m)
        log_s.append(math.log(s))
        if name not in centred:
            blocks[:, k] = resid / s
    shrunk = blocks.copy()
    for j, name in enumerate(pooled):
        shrunk[:, law.param_names.index(name)] = centres[j][cluster[j]] if name in centred else 0.0
    head = np.concatenate([*centres, np.asarray(log_s)])
    return np.stack([np.concatenate([head, b.reshape(-1)]) for b in (blocks, shrunk)])


def hierarchical_posterior(
    data: pd.DataFrame,
    law: str | Law,
    x: Mapping[str, str] | str,
    y: str,
    *,
    by: str | Sequence[str],
    pool: str | Sequence[str] | None = None,
    cluster: Mapping[str, str | Sequence[str] | None] | None = None,
    priors: Mapping[str, Prior] | None = None,
    chains: int = 4,
    warmup: int = 1000,
    samples: int = 500,
    max_tree_depth: int = 8,
    target_accept: float = 0.9,
    noise: float = 0.05,
    seed: int = 0,
    precision: str = "float32",
    population_scale: float = 0.3,
    centred: str | Sequence[str] | None = None,
) -> Posterior:
    """One joint posterior of all groups of ``by`` with partial pooling (module docstring).

    Starts from each group's independent posterior mode (:func:`lawfit.bayes.posterior`'s
    Laplace step, itself started from lawfit's MAP fit): cluster means m, residual sd s,
    offsets z = (u - m) / s; refines the joint mode by L-BFGS, then runs NUTS whitened by
    its Laplace approximation. Diagnostics of a group cover its own sites and the population's, so a
    population that did not mix flags every group.

    Args:
        data, law, x, y, by: as in :func:`lawfit.bayes.posterior`; ``by`` (the families) is
            required and must give at least two groups.
        pool: parameters drawn from a population (default: those not pivoted, i.e. the
            exponents and E for Chinchilla's law); pivoted coefficients cannot be pooled.
        cluster: pooled parameter -> column(s) of ``data`` constant within each group; the
            groups sharing their values are pooled together, e.g. ``{"E": ["data",
            "tokenizer"]}``. Parameters not named (or named with ``None``) are pooled across
            all groups.
        priors: parameter -> :class:`lawfit.Prior` replacing the spec's (same family): of
            the cluster centres for a pooled parameter, of each group's value otherwise.
        population_scale: prior mean tau of each population sd s_k (Gamma(2, 2 / tau)), on the
            unconstrained scale (log for a positive parameter: 0.3 allows families' exponents
            to differ by about 30%).
        centred: pooled parameters sampled centred (u_gk ~ N(m_kc, s_k) directly), which
            suits parameters each group's data pin down well; the others are non-centred
            (``()``: all non-centred, for families whose data barely constrain them). Default
            ``None``: all centred. Measured on 8 simulated families with 2-6 sizes each:
            centred split R-hat 1.05-1.08, all non-centred 1.47 (the inverse funnel when each
            family's data pin u_gk down: z and s then lie on a curved ridge).
        chains, warmup, samples, max_tree_depth, target_accept, noise, seed, precision: as
            in :func:`lawfit.bayes.posterior`; the joint posterior's dense mass matrix needs a
            longer warm-up (on 8 simulated families, 500 steps left split R-hat at 1.18,
            1,000 brought it to 1.02).

    Returns:
        A :class:`Posterior` (``method="nuts"``) with one row per group and
        :attr:`Posterior.population` set.
    """
    law_ = get_law(law) if isinstance(law, (str, Law)) else law
    check_settings(law_, priors, chains, warmup, samples, target_accept, precision,
                   max_tree_depth)
    pooled = _pooled(law_, pool)
    columns = _cluster_columns(pooled, cluster)
    if centred is None:
        centred = pooled
    centred = (centred,) if isinstance(centred, str) else tuple(centred)
    if set(centred) - set(pooled):
        raise InputError(f"centred: {sorted(set(centred) - set(pooled))} are not pooled "
                         f"parameters (pooled: {list(pooled)})")
    if not (isinstance(population_scale, (int, float)) and population_scale > 0):
        raise InputError(f"population_scale must be positive; got {population_scale!r}")
    by_cols = [by] if isinstance(by, str) else list(by or [])
    if not by_cols:
        raise InputError("by: a hierarchical model needs the column(s) naming the families")
    check_columns(data, by_cols, argument="by")
    check_columns(data, sorted({c for cols in columns.values() for c in cols}),
                  argument="cluster")
    n_groups = data.groupby(by_cols, dropna=False).ngroups
    if n_groups < 2:
        raise InputError(f"by: a hierarchical model needs at least 2 groups; got {n_groups}")

    clusters = _clusters(data, by_cols, pooled, columns)
    batch = prepare(data, law_, x, y, by_cols, priors, noise, seed, pad_groups=False)
    at = [law_.param_names.index(name) for name in pooled]
    h0 = batch.hyper
    pop = Population(
        tuple(clusters),
        tuple(np.full(c.max() + 1, h0.loc[0, k]) for c, k in zip(clusters, at, strict=True)),
        tuple(np.full(c.max() + 1, h0.scale[0, k]) for c, k in zip(clusters, at, strict=True)),
        h0.lower[0, at], h0.upper[0, at], np.full(len(pooled), float(population_scale)),
    )
    dtype = jnp.float64 if precision == "float64" else jnp.float32
    with jax.enable_x64(precision == "float64"):
        d, h, pop = cast(batch.data, dtype), cast(h0, dtype), cast(pop, dtype)
        independent = laplace(potential(law_), (d, h),
                              cast(start_points(law_, d, h, batch.theta_map, noise, dtype), dtype))
        starts = cast(_initial(law_, pooled, centred, np.asarray(independent.mode), clusters)[None], dtype)
        pot = hierarchical_potential(law_, pooled, centred)
        args = jax.tree_util.tree_map(lambda a: a[None], (d, h, pop))
        # The joint mode of a hierarchical model sits in a funnel, often on a ridge; there,
        # overdispersed starts ("floor") mixed on simulated families in 3 seeds of 4, the
        # typical-curvature ones in 1 of 6.
        lap = laplace(pot, args, starts, steps=JOINT_STEPS, ridges="floor")
        out = nuts(pot, args, lap.mode, lap.sqrt_cov, key=jax.random.PRNGKey(seed),
                   chains=chains, warmup=warmup, samples=samples,
                   max_tree_depth=max_tree_depth, target_accept=target_accept)
        w = out.z[0]

        def unpack(w1):
            centres, log_s, blocks = _split(law_, pooled, w1, pop)
            theta = natural(law_, _group_values(law_, pooled, centred, centres, log_s, blocks, pop), h)[0]
            t_centres = [to_natural(m, pop.lower[j], pop.upper[j]) for j, m in enumerate(centres)]
            return theta, blocks[:, -2:], t_centres, jnp.exp(log_s)

        theta, noise_draws, t_centres, s = jax.tree_util.tree_map(
            np.asarray, jax.vmap(jax.vmap(unpack))(w))
        w, diverging = np.asarray(w), np.asarray(out.diverging)[0]

    k = len(law_.params)
    draws = {name: np.moveaxis(theta[..., j], -1, 0) for j, name in enumerate(law_.param_names)}
    draws["sigma"] = np.moveaxis(np.exp(noise_draws[..., 0]), -1, 0)
    draws["df"] = np.moveaxis(np.exp(noise_draws[..., 1]), -1, 0) + 2.0
    population = {}
    for j, name in enumerate(pooled):
        population[name] = np.moveaxis(t_centres[j], -1, 0)
        population[f"{name}_scale"] = s[..., j]

    n_global = w.shape[-1] - n_groups * (k + 2)
    blocks = w[..., n_global:].reshape(*w.shape[:-1], n_groups, k + 2)
    shared = np.broadcast_to(w[..., None, :n_global], (*w.shape[:-1], n_groups, n_global))
    sites = np.moveaxis(np.concatenate([shared, blocks], axis=-1), -2, 0)  # (G, C, S, sites)
    diag = diagnose_many(sites, np.broadcast_to(diverging, (n_groups, *diverging.shape)))
    messages = diag.messages(_site_names(law_, pooled, centred, clusters))
    rows = []
    for g in range(n_groups):
        rows.append(dict(n_points=len(batch.index_of[g]), r_hat=diag.r_hat[g],
                         ess_bulk=diag.ess_bulk[g], divergences=int(diag.divergences[g]),
                         status=SampleStatus(int(diag.status[g])).label, message=messages[g],
                         **{f"{name}_cluster": int(c[g]) for name, c in zip(pooled, clusters,
                                                                              strict=True)}))
    keys = batch.fitted.params[batch.fitted.by].reset_index(drop=True)
    groups = pd.concat([keys, pd.DataFrame(rows)], axis=1)
    return Posterior(law_, dict(batch.fitted.x), y, batch.fitted.by, groups, draws, batch.box,
                     "nuts", population)


def _site_names(law: Law, pooled, centred, clusters) -> list[str]:
    """Names of a group's diagnosed sites: the population's (cluster centres, then the
    population sds), then the group's own (``_z`` for a non-centred pooled parameter)."""
    names = []
    for name, c in zip(pooled, clusters, strict=True):
        n_clusters = int(c.max()) + 1
        names += [f"{name} population centre" + (f" (cluster {i})" if n_clusters > 1 else "")
                  for i in range(n_clusters)]
    names += [f"{name} population sd" for name in pooled]
    names += [f"{p}_z" if p in pooled and p not in centred else p for p in law.param_names]
    return [*names, *NOISE_SITES]


def borrowed_priors(
    post: Posterior,
    donors: Sequence[bool] | Mapping[str, Sequence[bool]],
    params: Sequence[str] | None = None,
    *,
    trusted: Sequence[str] = ("ok", "low_ess"),
) -> dict[str, Prior]:
    """Empirical-Bayes priors from the groups of ``post`` marked as donors.

    Args:
        post: posteriors of other families (the same law).
        donors: a boolean per group of ``post``, or parameter -> such a mask (e.g. for E,
            only the families trained on the same data and tokenizer).
        params: parameters to borrow (default: those not pivoted, whose values are
            comparable across families: exponents and E).
        trusted: the statuses of donors whose medians are used; by default a donor whose
            chains did not mix (``not_mixed``), diverged or were not finite gives nothing.
    """
    law = post.law
    pivoted_ = {c for c, _, _ in law.pivots}
    params = [p.name for p in law.params if p.name not in pivoted_] if params is None else params
    usable = post.groups["status"].isin(list(trusted)).to_numpy()
    out = {}
    for name in params:
        spec = law.params[law.param_names.index(name)].prior
        mask = usable & np.asarray(donors[name] if isinstance(donors, Mapping) else donors, bool)
        if mask.sum() < 2 or spec.family == "uniform":
            continue
        medians = np.median(post.draws[name][mask].reshape(mask.sum(), -1), axis=1)
        values = np.log(medians) if spec.family == "lognormal" else medians
        scale = max(float(np.std(values, ddof=1)), MIN_SCALE) * np.sqrt(1 + 1 / len(values))
        out[name] = Prior(spec.family, float(np.mean(values)), float(scale))
    return out
