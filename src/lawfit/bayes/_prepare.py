"""Groups' data prepared for batched posteriors: MAP fits, padded arrays, priors, starts."""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from lawfit.bayes._model import Data, Hyper, data_log_mean, hyper, pivoted
from lawfit.data import GroupedData, InputError, Reason, bucket
from lawfit.fitting import IllConditionedWarning
from lawfit.fitting import fit as map_fit
from lawfit.laws import Law, Prior

__all__ = ["Batch", "check_priors", "group_constants", "group_key", "prepare", "start_points"]

_MAX_GRID = 512  # larger start grids (Hoffmann's 4,500) are replaced by Latin-hypercube starts


def _prior_median(p) -> float:
    prior = p.prior
    if prior.family == "lognormal":
        return math.exp(prior.loc)
    if prior.family == "uniform":
        return 0.5 * (prior.loc + prior.scale)
    return prior.loc


def check_priors(law: Law, priors, *, argument: str) -> None:
    """Raise :class:`InputError` unless ``priors`` maps parameters of ``law`` to Priors of
    their spec's family."""
    unknown = set(priors or {}) - set(law.param_names)
    if unknown:
        raise InputError(f"{argument}: {sorted(unknown)} are not parameters of {law.name!r}")
    for name, prior in (priors or {}).items():
        spec = law.params[law.param_names.index(name)].prior
        if not isinstance(prior, Prior) or prior.family != spec.family:
            raise InputError(f"{argument}: {name!r} needs a lawfit.Prior of family "
                             f"{spec.family!r}; got {prior!r}")


class Batch(NamedTuple):
    """Groups' data prepared for batched posteriors (numpy leaves, leading axis: slots).

    ``grouped`` the validated groups (:class:`lawfit.data.GroupedData`), ``data`` and
    ``hyper`` per slot (slots past the groups sample the last group again), ``theta_map``
    (slots, K) lawfit's MAP fit per slot (NaN where a fit failed), ``box`` as in
    :class:`Posterior`."""

    grouped: GroupedData
    data: Data
    hyper: Hyper
    theta_map: np.ndarray
    box: np.ndarray


def group_constants(data: pd.DataFrame, by_cols: list[str], columns: list[str], *,
                    argument: str, meaning: str) -> pd.DataFrame:
    """One row per group of ``by_cols``: its ``by`` values and those of ``columns``, each
    constant within every group (``meaning`` says why, in the :class:`InputError` naming
    ``argument`` and the first column that varies)."""
    for column in columns:
        if data[[*by_cols, column]].drop_duplicates().duplicated(by_cols).any():
            raise InputError(f"{argument}: column {column!r} varies within a group of "
                             f"{by_cols}; {meaning}")
    return data[[*by_cols, *columns]].drop_duplicates(by_cols)


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
    # The MAP fit only starts the sampler: the posterior's own diagnostics judge the result,
    # so the fit's IllConditionedWarning (naming a FitResult the caller never sees) is dropped.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        fitted = map_fit(data, law, x, y, by=by, starts=starts, duplicates="keep", seed=seed,
                         on_invalid="skip")
    grouped = GroupedData.from_frame(
        data, fitted.x, y, by=fitted.by, positive_inputs=law.positive_inputs,
        y_lower=(0.0, "for a model of log y"), row_checks=law.row_checks, duplicates="keep",
        on_invalid="skip")
    invalid = np.flatnonzero(grouped.reason == Reason.INVALID_ROWS)
    if len(invalid):
        where = f"{grouped.label(invalid[0])}: " if grouped.by else ""
        raise InputError(f"{where}{grouped.message(invalid[0])}")
    keys = [group_key(k) for k in grouped.key_tuples()]
    group_priors = dict(group_priors or {})
    unknown_groups = set(group_priors) - set(keys)
    if unknown_groups:
        raise InputError(f"group_priors: groups not in the data: {sorted(map(str, unknown_groups))[:5]}")
    for own in group_priors.values():
        check_priors(law, own, argument="group_priors")

    n_groups = grouped.n_groups
    g_pad = bucket(n_groups) if pad_groups else n_groups
    # extra slots sample the last group again, on its data: no lane of the lockstep sampler
    # runs a prior-only posterior
    slots = np.minimum(np.arange(g_pad), n_groups - 1)
    padded = grouped.pad(slots)
    hypers = []
    for g in slots:
        logs = np.stack([np.log(grouped.inputs[n][grouped.rows(g)]) for n in law.inputs])
        own = {**(priors or {}), **group_priors.get(keys[g], {})}
        hypers.append(hyper(law, logs.mean(axis=1), own, noise))
    h = Hyper(*(np.stack(v) for v in zip(*hypers, strict=True)))
    theta_map = fitted.params[list(law.param_names)].to_numpy(float)[slots]
    xs = padded.inputs
    if law.positive_inputs:  # the encoding of Data.x
        xs = {n: np.log(v) for n, v in xs.items()}
    data_ = Data(xs, np.log(padded.target), padded.mask)
    return Batch(grouped, data_, h, theta_map, _training_box(law, grouped))


def _training_box(law: Law, grouped: GroupedData) -> np.ndarray:
    """(G, I) :attr:`Posterior.box`: log10 of each input's largest training value, and of
    the inputs' product's when there are several."""
    box = np.zeros((grouped.n_groups, len(law.inputs) + (len(law.inputs) > 1)))
    for g in range(grouped.n_groups):
        logs = np.stack([np.log(grouped.inputs[n][grouped.rows(g)]) for n in law.inputs])
        tops = list(logs.max(axis=1)) + ([logs.sum(axis=0).max()] if len(logs) > 1 else [])
        box[g] = np.asarray(tops) / math.log(10.0)
    return box


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
