"""The pandas front end of Bayesian fits: one posterior per group, all in one batched call."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from lawfit.bayes._diagnostics import SampleStatus, diagnose_many
from lawfit.bayes._laplace import laplace
from lawfit.bayes._model import (
    NOISE_SITES,
    Data,
    Hyper,
    cast,
    data_log_mean,
    hyper,
    log_mean,
    natural,
    pivoted,
    potential,
)
from lawfit.bayes._nuts import nuts
from lawfit.data import InputError, check_choice, check_columns
from lawfit.fitting import fit as map_fit
from lawfit.laws import Law, Prior
from lawfit.laws import get as get_law

__all__ = ["Posterior", "posterior"]

#: Deepest NUTS tree accepted (2^15 leapfrog steps per draw).
MAX_TREE_DEPTH = 15
_MAX_GRID = 512  # larger start grids (Hoffmann's 4,500) are replaced by Latin-hypercube starts


@dataclass(frozen=True)
class Posterior:
    """What :func:`posterior` returns.

    Attributes:
        law, x, y, by: what was fitted (``x`` maps law inputs to columns).
        groups: one row per group: the ``by`` columns, ``n_points``, ``r_hat`` (largest
            rank-normalised split R-hat over the unconstrained sites), ``ess_bulk`` (smallest),
            ``divergences``, ``status`` and ``message`` (see :class:`SampleStatus`).
        draws: ``param -> (G, C, S)`` natural-unit draws per group, chain and sample, plus
            ``sigma`` (noise sd on log loss) and ``df`` (its Student-t degrees of freedom).
        box: (G, I) log10 of the largest training value of each input, and of the inputs'
            product when there are several (compute, for N and D): the training range that
            forecasts measure extrapolation from.
        method: ``"nuts"`` or ``"laplace"``.
        population: ``None`` for independent posteriors; from
            :func:`lawfit.bayes.hierarchical_posterior`, per pooled parameter ``p``:
            ``p`` -> (clusters, C, S) natural-unit draws of each cluster's population centre
            T(m) (the median of the population, e.g. of the lognormal for a positive
            parameter), and ``p_scale`` -> (C, S) its population sd s on the unconstrained
            scale; ``groups`` then has a ``p_cluster`` column (each group's cluster).
    """

    law: Law
    x: dict[str, str]
    y: str
    by: list[str]
    groups: pd.DataFrame
    draws: dict[str, np.ndarray] = field(repr=False)
    box: np.ndarray = field(repr=False)
    method: str = "nuts"
    population: dict[str, np.ndarray] | None = field(default=None, repr=False)

    def params(self, ci: float = 0.95) -> pd.DataFrame:
        """Per group: posterior median and central ``ci`` interval of each parameter, then
        the diagnostics columns of :attr:`groups`."""
        rows = self.groups[self.by].copy()
        for name in (*self.law.param_names, "sigma", "df"):
            flat = self.draws[name].reshape(len(rows), -1)
            rows[name] = np.median(flat, axis=1)
            rows[f"{name}_lo"] = np.quantile(flat, (1 - ci) / 2, axis=1)
            rows[f"{name}_hi"] = np.quantile(flat, (1 + ci) / 2, axis=1)
        diag = self.groups.drop(columns=self.by)
        return pd.concat([rows.reset_index(drop=True), diag.reset_index(drop=True)], axis=1)

    def group_index(self, frame: pd.DataFrame) -> np.ndarray:
        """The group of each row of ``frame`` (which needs the ``by`` columns)."""
        if not self.by:
            return np.zeros(len(frame), int)
        check_columns(frame, self.by, argument="by")
        keys = self.groups[self.by].assign(_g=np.arange(len(self.groups)))
        merged = frame[self.by].reset_index(drop=True).merge(keys, on=self.by, how="left")
        if merged["_g"].isna().any():
            missing = frame[self.by][merged["_g"].isna().to_numpy()].drop_duplicates().head(5)
            raise InputError(f"by: groups not in the posterior: {missing.to_dict('records')}")
        return merged["_g"].to_numpy(int)

    def log_mean_draws(self, group: int, x: Mapping[str, np.ndarray]) -> np.ndarray:
        """(C*S, n) draws of log f(theta; x) for one group at points ``x`` (input -> (n,))."""
        theta = np.stack([self.draws[p][group].reshape(-1) for p in self.law.param_names], 1)
        with jax.enable_x64(True):
            xs = {n: jnp.asarray(np.asarray(x[n], float)) for n in self.law.inputs}
            out = jax.vmap(lambda t: log_mean(self.law, t, xs))(jnp.asarray(theta, jnp.float64))
            return np.asarray(out)

    def to_arviz(self, group: int = 0):
        """One group's draws as an ``arviz.InferenceData`` (needs the ``arviz`` package)."""
        try:
            import arviz as az
        except ImportError:  # pragma: no cover - arviz is in the dev extra
            raise ImportError(
                "to_arviz needs arviz: pip install arviz (or lawfit[dev])"
            ) from None
        posterior_ = {name: np.asarray(v[group]) for name, v in self.draws.items()}
        return az.from_dict(posterior=posterior_)


def _prior_median(p) -> float:
    prior = p.prior
    if prior.family == "lognormal":
        return math.exp(prior.loc)
    if prior.family == "uniform":
        return 0.5 * (prior.loc + prior.scale)
    return prior.loc


def _bucket(n: int) -> int:
    return max(8, 1 << max(0, math.ceil(math.log2(max(n, 1)))))


def check_settings(law: Law, priors, chains, warmup, samples, target_accept, precision,
                   max_tree_depth) -> None:
    """Raise :class:`InputError` for sampler settings or priors :func:`posterior` rejects."""
    check_choice(precision, ("float32", "float64"), argument="precision")
    for name, value in (("chains", chains), ("warmup", warmup), ("samples", samples)):
        if not (isinstance(value, int) and value >= (2 if name == "samples" else 1)):
            raise InputError(f"{name} must be a positive integer; got {value!r}")
    if not (isinstance(max_tree_depth, int) and 1 <= max_tree_depth <= MAX_TREE_DEPTH):
        raise InputError(f"max_tree_depth must be an integer from 1 to {MAX_TREE_DEPTH} (at most "
                         f"2^depth leapfrog steps per draw); got {max_tree_depth!r}")
    if not 0 < target_accept < 1:
        raise InputError(f"target_accept must be in (0, 1); got {target_accept!r}")
    check_priors(law, priors, argument="priors")


def check_priors(law: Law, priors, *, argument: str) -> None:
    """Raise :class:`InputError` unless ``priors`` maps parameters of ``law`` to Priors of
    their spec's family."""
    unknown = set(priors or {}) - set(law.param_names)
    if unknown:
        raise InputError(f"{argument}: {sorted(unknown)} are not parameters of {law.name!r}")
    for name, prior in (priors or {}).items():
        spec = law.params[law.param_names.index(name)].prior
        if not isinstance(prior, Prior) or prior.family != spec.family:
            raise InputError(f"{argument}: {name!r} needs a lawfit.Prior of family {spec.family!r}; "
                             f"got {prior!r}")


class Batch(NamedTuple):
    """Groups' data prepared for batched posteriors (numpy leaves, leading axis: slots).

    ``fitted`` is lawfit's MAP fit per group, ``index_of`` the rows of each group, ``data``
    and ``hyper`` per slot (slots past the groups copy the last group), ``theta_map`` (slots,
    K) the MAP parameters (NaN where a fit failed), ``box`` as in :class:`Posterior`."""

    fitted: object
    index_of: list
    data: Data
    hyper: Hyper
    theta_map: np.ndarray
    box: np.ndarray


def group_key(key):
    """A group's key as users write it: the value itself for one ``by`` column."""
    return key[0] if isinstance(key, tuple) and len(key) == 1 else key


def prepare(data, law: Law, x, y, by, priors, noise, seed, *, pad_groups: bool,
            group_priors=None) -> Batch:
    """MAP fits and padded per-group data of :func:`posterior` (points padded to a power of
    two; groups too when ``pad_groups``, so similar batches share one compilation).
    ``group_priors`` (group key -> parameter -> Prior) override ``priors`` per group."""
    starts = "grid" if len(law.start_grid()) <= _MAX_GRID else 64
    # Groups too small (or too narrow) for a MAP fit still get a posterior, started from the
    # prior medians; invalid rows are errors.
    fitted = map_fit(data, law, x, y, by=by, starts=starts, duplicates="keep", seed=seed,
                     on_invalid="skip")
    bad_rows = fitted.params["message"].str.contains("invalid row")
    if bad_rows.any():
        row = fitted.params[bad_rows].iloc[0]
        where = f"group {row[fitted.by].to_dict()}: " if fitted.by else ""
        raise InputError(f"{where}{row['message']}")
    frame = data.reset_index(drop=True)
    if fitted.by:
        indices = frame.groupby(fitted.by, sort=True, dropna=False).indices
        keys, index_of = [group_key(k) for k in indices], list(indices.values())
    else:
        keys, index_of = [None], [np.arange(len(frame))]
    group_priors = dict(group_priors or {})
    unknown_groups = set(group_priors) - set(keys)
    if unknown_groups:
        raise InputError(f"group_priors: groups not in the data: {sorted(map(str, unknown_groups))[:5]}")
    for own in group_priors.values():
        check_priors(law, own, argument="group_priors")
    inputs = {n: pd.to_numeric(frame[c]).to_numpy(float) for n, c in fitted.x.items()}
    obs = np.log(pd.to_numeric(frame[y]).to_numpy(float))

    n_groups = len(index_of)
    g_pad = _bucket(n_groups) if pad_groups else n_groups
    p_pad = _bucket(max(len(i) for i in index_of))
    xs = {n: np.ones((g_pad, p_pad)) for n in law.inputs}
    ys, mask = np.zeros((g_pad, p_pad)), np.zeros((g_pad, p_pad), bool)
    hypers, box = [], np.zeros((n_groups, len(law.inputs) + (len(law.inputs) > 1)))
    for g in range(g_pad):
        idx = index_of[min(g, n_groups - 1)]
        pos = np.resize(np.arange(len(idx)), p_pad)  # padding repeats real points
        for n in law.inputs:
            xs[n][g] = inputs[n][idx][pos]
        ys[g] = obs[idx][pos]
        mask[g, : len(idx)] = True  # padding groups copy the last group
        logs = np.stack([np.log(inputs[n][idx]) for n in law.inputs])
        own = {**(priors or {}), **group_priors.get(keys[min(g, n_groups - 1)], {})}
        hypers.append(hyper(law, logs.mean(axis=1), own, noise))
        if g < n_groups:
            tops = list(logs.max(axis=1)) + ([logs.sum(axis=0).max()] if len(logs) > 1 else [])
            box[g] = np.asarray(tops) / math.log(10.0)
    h = Hyper(*(np.stack(v) for v in zip(*hypers, strict=True)))
    theta_map = fitted.params[list(law.param_names)].to_numpy(float)
    theta_map = theta_map[np.minimum(np.arange(g_pad), n_groups - 1)]
    if law.positive_inputs:  # encoded as lawfit.laws.encode_inputs does
        xs = {n: np.log(v) for n, v in xs.items()}
    return Batch(fitted, index_of, Data(xs, ys, mask), h, theta_map, box)


def start_points(law: Law, d: Data, h: Hyper, theta_map, noise: float, dtype):
    """(B, 2, K + 2) unconstrained starts per posterior: its MAP fit (the prior medians where
    that failed) and the prior medians, each with log sigma from the residuals' MAD and
    log nu = log 3."""
    n, k = len(theta_map), len(law.params)
    # a MAP value the sampling precision cannot hold (e.g. A = 1e40 in float32) counts as failed
    theta_map = np.where(np.abs(theta_map) < np.finfo(dtype).max, theta_map, np.nan)
    fitted = np.isfinite(theta_map).all(axis=1)
    ys, mask = np.asarray(d.y), np.asarray(d.mask)
    theta_prior = np.array([_prior_median(p) for p in law.params])
    resid = ys - np.asarray(jax.vmap(lambda t, dg: data_log_mean(law, t, dg))(
        jnp.asarray(np.nan_to_num(theta_map, nan=1.0), dtype), d))
    scale = np.array([np.median(np.abs(r[m] - np.median(r[m])))
                      for r, m in zip(resid, mask, strict=True)])
    scale = np.where(fitted, scale, np.nan)
    noise0 = np.log(np.clip(1.4826 * np.nan_to_num(scale, nan=noise), 1e-3, 1.0))
    u_map = np.asarray(pivoted(law, jnp.asarray(np.nan_to_num(theta_map, nan=1.0), dtype), h))
    u_prior = np.asarray(pivoted(law, jnp.broadcast_to(jnp.asarray(theta_prior, dtype), (n, k)), h))
    u_map = np.where((fitted & np.isfinite(u_map).all(axis=1))[:, None], u_map, u_prior)
    tail = np.stack([noise0, np.full(n, math.log(3.0))], axis=1)
    return np.stack([np.concatenate([u_map, tail], 1), np.concatenate([u_prior, tail], 1)], 1)


@partial(jax.jit, static_argnames="law")
def natural_draws(law: Law, z, h: Hyper):
    """The law's parameters in natural units from unconstrained draws z (G, ..., K + 2)."""
    k = len(law.params)
    return jax.vmap(lambda zg, hg: natural(law, zg[..., :k], hg)[0])(z, h)


def laplace_status(value, ok):
    """Status of Laplace posteriors: ``nonfinite`` where no start reached a finite potential,
    ``indefinite`` where the Hessian at the mode was not positive definite, else ``ok``."""
    return np.select([~np.isfinite(value), ~ok],
                     [SampleStatus.NONFINITE, SampleStatus.INDEFINITE], SampleStatus.OK)


def posterior(
    data: pd.DataFrame,
    law: str | Law,
    x: Mapping[str, str] | str,
    y: str,
    *,
    by: str | Sequence[str] | None = None,
    priors: Mapping[str, Prior] | None = None,
    group_priors: Mapping[object, Mapping[str, Prior]] | None = None,
    method: str = "nuts",
    chains: int = 4,
    warmup: int = 500,
    samples: int = 500,
    max_tree_depth: int = 8,
    target_accept: float = 0.9,
    noise: float = 0.05,
    seed: int = 0,
    precision: str = "float32",
    chunk: int | None = None,
) -> Posterior:
    """Posteriors of ``law`` on log ``y``, one per group of ``by``, in one batched call.

    The model is :func:`lawfit.bayes.make_model` (the spec's priors, Student-t noise on log
    loss, pivots at each group's geometric means). Each group's mode and Laplace approximation
    start from lawfit's MAP fit (Huber on log loss) and from the prior medians; NUTS then runs
    ``chains`` chains from Laplace draws, preconditioned by it.

    Args:
        data, law, x, y, by: as in :func:`lawfit.fit` (validated the same way).
        priors: parameter -> :class:`lawfit.Prior` replacing the spec's (same family), e.g.
            empirical-Bayes priors from other families (:func:`lawfit.bayes.borrowed_priors`).
        group_priors: group key (the ``by`` value, a tuple for several columns) -> such a
            mapping, for that group only (over ``priors``): e.g. leave-one-family-out
            borrowed priors for every family in one call.
        method: ``"nuts"`` or ``"laplace"`` (draws from the Laplace approximation: fast, for
            a first look; its intervals are not calibrated).
        chains, warmup, samples, max_tree_depth, target_accept: NUTS settings.
        noise: HalfNormal scale of the noise sd on log loss.
        seed: PRNG seed; precision: ``"float32"`` (default) or ``"float64"``.
        chunk: posteriors sampled together in lockstep (:func:`lawfit.bayes.nuts`; default
            all at once).
    """
    law_ = get_law(law) if isinstance(law, (str, Law)) else law
    check_choice(method, ("nuts", "laplace"), argument="method")
    check_settings(law_, priors, chains, warmup, samples, target_accept, precision,
                   max_tree_depth)
    batch = prepare(data, law_, x, y, by, priors, noise, seed, pad_groups=True,
                    group_priors=group_priors)
    n_groups, k = len(batch.index_of), len(law_.params)
    g_pad = len(batch.theta_map)
    dtype = jnp.float64 if precision == "float64" else jnp.float32
    with jax.enable_x64(precision == "float64"):
        d, h = cast(batch.data, dtype), cast(batch.hyper, dtype)
        starts_ = cast(start_points(law_, d, h, batch.theta_map, noise, dtype), dtype)
        pot = potential(law_)
        lap = laplace(pot, (d, h), starts_)
        key = jax.random.PRNGKey(seed)
        if method == "nuts":
            out = nuts(pot, (d, h), lap.mode, lap.sqrt_cov, key=key, chains=chains,
                       warmup=warmup, samples=samples, max_tree_depth=max_tree_depth,
                       target_accept=target_accept, chunk=chunk)
            z, diverging = np.asarray(out.z), np.asarray(out.diverging)
        else:
            w = jax.random.normal(key, (g_pad, chains, samples, k + 2), dtype)
            z = np.asarray(lap.mode[:, None, None] + jnp.einsum("gij,gcsj->gcsi", lap.sqrt_cov, w))
            diverging = np.zeros(z.shape[:3], bool)
        theta = np.asarray(natural_draws(law_, jnp.asarray(z), h))
    z, theta, diverging = z[:n_groups], theta[:n_groups], diverging[:n_groups]
    draws = {name: theta[..., j] for j, name in enumerate(law_.param_names)}
    draws["sigma"] = np.exp(z[..., k])
    draws["df"] = np.exp(z[..., k + 1]) + 2.0

    if method == "nuts":
        diag = diagnose_many(z, diverging)
        r_hat, ess, n_div, status = diag.r_hat, diag.ess_bulk, diag.divergences, diag.status
        messages = diag.messages([*law_.param_names, *NOISE_SITES])
    else:
        r_hat = ess = np.full(n_groups, np.nan)
        n_div = np.zeros(n_groups, int)
        status = laplace_status(np.asarray(lap.value)[:n_groups], np.asarray(lap.ok)[:n_groups])
        messages = [SampleStatus(int(v)).message for v in status]
    rows = pd.DataFrame(dict(
        n_points=[len(i) for i in batch.index_of], r_hat=r_hat, ess_bulk=ess, divergences=n_div,
        status=[SampleStatus(int(v)).label for v in status], message=messages))
    by_cols = batch.fitted.by
    keys = batch.fitted.params[by_cols].reset_index(drop=True)
    groups = pd.concat([keys, rows], axis=1)
    return Posterior(law_, dict(batch.fitted.x), y, by_cols, groups, draws, batch.box, method)
