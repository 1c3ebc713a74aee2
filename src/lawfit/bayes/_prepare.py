"""Groups' data prepared for batched posteriors: MAP fits, padded arrays, priors, starts."""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from lawfit.bayes._model import Data, Hyper, data_log_mean, hyper, pivoted
from lawfit.data import InputError
from lawfit.fitting import fit as map_fit
from lawfit.laws import Law, Prior

__all__ = ["Batch", "check_priors", "group_key", "prepare", "start_points"]

_MAX_GRID = 512  # larger start grids (Hoffmann's 4,500) are replaced by Latin-hypercube starts


def _prior_median(p) -> float:
    prior = p.prior
    if prior.family == "lognormal":
        return math.exp(prior.loc)
    if prior.family == "uniform":
        return 0.5 * (prior.loc + prior.scale)
    return prior.loc


def _bucket(n: int) -> int:
    return max(8, 1 << max(0, math.ceil(math.log2(max(n, 1)))))


def check_priors(law: Law, priors, *, argument: str) -> None:
    """Raise :class:`InputError` unless ``priors`` maps parameters of ``law`` to Priors of
    their spec's family."""
    unknown = set(priors or {}) - set(law.param_names)
    if unknown:
        raise InputError(f"{argument}: {sorted(unknown)} are not parameters of {law.name!r}")
    for name, prior in (priors or {}).items():
        spec = law.params[law.param_names.index(name)].prior
        if not isinstance(prior, Prior) or (spec is not None and prior.family != spec.family):
            family = spec.family if spec is not None else "any"
            raise InputError(f"{argument}: {name!r} needs a lawfit.Prior of family {family!r}; "
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
    if law.positive_inputs:  # encoded as lawfit.fitting._problem.encode_inputs does
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
