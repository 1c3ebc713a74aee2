"""Posterior predictive draws at target inputs and the interval table that summarises them.

For each posterior draw s and target x*,

    log L* = log f(theta_s; x*) + delta(x*) + sigma_s * t_{df_s},

delta the backtest-learned discrepancy (:mod:`lawfit.bayes._discrepancy`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lawfit.bayes._discrepancy import Discrepancy, signed_distance
from lawfit.bayes._posterior import Posterior
from lawfit.data import InputError, check_columns, numeric_column

__all__ = ["LEVELS", "forecast_table", "interval_columns", "predictive", "target_inputs"]

#: Default central interval levels of a forecast.
LEVELS = (0.5, 0.8, 0.95)


def interval_columns(levels: Sequence[float]) -> list[str]:
    """``lo_50, hi_50, ...`` for the levels, in order."""
    return [f"{side}_{_pct(level)}" for level in levels for side in ("lo", "hi")]


def _pct(level: float) -> str:
    text = f"{100 * level:.10g}"
    return text.replace(".", "_")


def target_inputs(at, mapping: Mapping[str, str], by_cols) -> dict[str, np.ndarray]:
    """The target inputs (name -> values) of ``at``, checked to be positive numbers."""
    if not isinstance(at, pd.DataFrame):
        raise InputError(f"at must be a DataFrame of targets; got {type(at).__name__}")
    check_columns(at, list(mapping.values()), argument="at")
    check_columns(at, by_cols, argument="at (by)")
    targets = {}
    for name, column in mapping.items():
        values, problem = numeric_column(at.reset_index(drop=True), column, role=f"input {name}")
        bad = (problem != "") | ~(np.nan_to_num(values, nan=-1.0) > 0)
        if bad.any():
            raise InputError(
                f"at: column {column!r} (input {name}) must hold positive numbers; "
                f"bad at row {int(np.argmax(bad))}"
            )
        targets[name] = values
    return targets


def predictive(
    post: Posterior,
    at: pd.DataFrame,
    discrepancy: Discrepancy | None = None,
    *,
    per_draw: int = 4,
    rng: np.random.Generator | int = 0,
    targets: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """(len(at), M) draws of log y at the rows of ``at`` from the posteriors ``post``
    (each row from its ``by`` group): log f(theta_s; x*) + delta(x*) + sigma_s * t_{df_s},
    delta ~ N(0, tau(x*)) the discrepancy (module docstring). Any :class:`Posterior` works,
    e.g. one from :func:`lawfit.bayes.hierarchical_posterior`; summarise with
    :func:`forecast_table`."""
    law, discrepancy = post.law, discrepancy or Discrepancy()
    rng = np.random.default_rng(rng)
    frame = at.reset_index(drop=True)
    if targets is None:
        targets = target_inputs(frame, post.x, post.by)
    where = post.group_index(frame) if post.by else np.zeros(len(frame), int)
    samples = np.zeros((len(frame), len(post.draws["sigma"][0].reshape(-1)) * per_draw))
    for g in np.unique(where):
        sel = np.flatnonzero(where == g)
        xs = {n: v[sel] for n, v in targets.items()}
        mu = post.log_mean_draws(g, xs)
        a = signed_distance(post.box[g], xs, law.inputs)
        tau = discrepancy.scale(np.maximum(a, 0.0), a)
        sigma, df = (post.draws[k][g].reshape(-1) for k in ("sigma", "df"))
        mu, sigma, df = (np.repeat(v, per_draw, axis=0) for v in (mu, sigma, df))
        noise = sigma[:, None] * rng.standard_t(df[:, None], size=mu.shape)
        samples[sel] = (mu + tau[None, :] * rng.standard_normal(mu.shape) + noise).T
    return samples


def forecast_table(at: pd.DataFrame, samples: np.ndarray, levels=LEVELS) -> pd.DataFrame:
    """The forecast table of :func:`forecast` from predictive draws of log y."""
    return _table(at, samples, [float(v) for v in levels])


def _table(at: pd.DataFrame, samples: np.ndarray, levels) -> pd.DataFrame:
    out = at.reset_index(drop=True).copy()
    out["median"] = np.exp(np.median(samples, axis=1))
    for level in levels:
        lo, hi = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=1)
        out[f"lo_{_pct(level)}"] = np.exp(lo)
        out[f"hi_{_pct(level)}"] = np.exp(hi)
    return out
