"""The bootstrap forecast, for comparison with the Bayesian one: Huber fits to resampled
points, each plus a resampled training residual (the Hoffmann et al. 2022 / Besiroglu et al.
2024 recipe made predictive)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lawfit.data import InputError
from lawfit.fitting import fit as map_fit
from lawfit.laws import Law
from lawfit.precision import computing

__all__ = ["MIN_CONVERGED", "bootstrap_forecast"]

#: Fewest converged resamples a group's bootstrap forecast is drawn from.
MIN_CONVERGED = 2
_MAX_GRID = 512  # larger start grids (Hoffmann's 4,500) are replaced by Latin-hypercube starts


def bootstrap_forecast(data: pd.DataFrame, law: Law, mapping: dict, y: str, by_cols: list[str],
                       at: pd.DataFrame, targets: dict, n_boot: int, seed: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, pd.DataFrame]:
    """(n_targets, R) log-loss draws: a converged bootstrap refit's prediction plus a
    resampled training residual; and one row per group: the ``by`` columns, ``status``
    (``ok``; ``too_few_converged`` where fewer than :data:`MIN_CONVERGED` resamples
    converged; else the status of the group's fit, e.g. ``invalid_input``) and ``message``.
    A group not ``ok`` gets NaN draws."""
    if not (isinstance(n_boot, int) and n_boot >= 2):
        raise InputError(f"bootstrap must be an integer of at least 2; got {n_boot!r}")
    starts = "grid" if len(law.start_grid()) <= _MAX_GRID else 64
    res = map_fit(data, law, mapping, y, by=by_cols or None, starts=starts, bootstrap=n_boot,
                  seed=seed, duplicates="keep", on_invalid="skip")
    train_g, target_g = _group_of_rows(res.params, by_cols, data, at)
    thetas, groups = _converged_resamples(law, res, by_cols, n_boot)
    frame = data.reset_index(drop=True)
    resid = np.log(pd.to_numeric(frame[y]).to_numpy(float)) - np.log(res.predict(frame))
    samples = np.full((len(at), n_boot), np.nan)
    for g in np.unique(target_g):
        theta = thetas[g]
        if theta is None:
            continue
        sel = np.flatnonzero(target_g == g)
        xs = {n: v[sel] for n, v in targets.items()}
        with computing("float64"):
            mean = np.log(np.asarray(law.predict(
                {p: theta[:, j, None] for j, p in enumerate(law.param_names)},
                {n: v[None, :] for n, v in xs.items()})))
        r = resid[train_g == g]
        draws = mean[rng.integers(0, len(mean), n_boot)] + rng.choice(r, size=(n_boot, 1))
        samples[sel] = draws.T
    return samples, groups


def _group_of_rows(params: pd.DataFrame, by_cols, data: pd.DataFrame, at: pd.DataFrame):
    """The group (row of ``params``) of each training row and of each target row."""
    if not by_cols:
        return np.zeros(len(data), int), np.zeros(len(at), int)
    keys = params[by_cols].reset_index()
    train_g = keys.merge(data.reset_index(drop=True)[by_cols], on=by_cols, how="right")
    target_g = at.reset_index(drop=True)[by_cols].merge(keys, on=by_cols, how="left")
    if target_g["index"].isna().any():
        raise InputError("at: rows whose by-group is not in the training data")
    return train_g["index"].to_numpy(int), target_g["index"].to_numpy(int)


def _converged_resamples(law: Law, res, by_cols, n_boot: int):
    """Per group, the (R', K) parameters of its converged resamples (None where fewer than
    :data:`MIN_CONVERGED` converged or the group was not fitted), and the groups' table of
    :func:`bootstrap_forecast`."""
    boot = res.bootstrap
    thetas, status, message = [], [], []
    first = 0  # the long bootstrap table holds the fitted groups only, n_boot rows each
    for _, row in res.params.iterrows():
        if row["status"] == "invalid_input" or boot is None or boot.empty:
            thetas.append(None)
            status.append(row["status"])
            message.append(row["message"] or "the group was not fitted")
            continue
        rows = boot.iloc[first : first + n_boot]
        first += n_boot
        ok = rows["status"].to_numpy() == "converged"
        if ok.sum() < MIN_CONVERGED:
            thetas.append(None)
            status.append("too_few_converged")
            message.append(f"{int(ok.sum())} of {n_boot} bootstrap refits converged; a "
                           f"forecast needs at least {MIN_CONVERGED}")
            continue
        thetas.append(rows[list(law.param_names)].to_numpy(float)[ok])
        status.append("ok")
        message.append("")
    groups = res.params[by_cols].reset_index(drop=True).assign(status=status, message=message)
    return thetas, groups
