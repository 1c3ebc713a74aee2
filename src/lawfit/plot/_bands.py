"""The data with the fitted law of each group and its bootstrap band."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lawfit.data import InputError
from lawfit.fitting import FitResult
from lawfit.plot._axes import new_axes, plain_log_axis

__all__ = ["fitted_laws"]

#: Groups drawn at most (a legend entry and a colour each).
MAX_GROUPS = 20


def _group_rows(result: FitResult, data: pd.DataFrame) -> list[tuple[str, pd.Series, np.ndarray]]:
    """(label, parameter row, row indices of ``data``) per fitted group, in the table's order."""
    if not result.by:
        return [("", result.params.iloc[0], np.arange(len(data)))]
    missing = [c for c in result.by if c not in data.columns]
    if missing:
        raise InputError(f"data: group column {missing[0]!r} not found")
    index = data.groupby(result.by, sort=False).indices
    out = []
    for _, row in result.params.iterrows():
        key = tuple(row[c] for c in result.by)
        rows = index.get(key, index.get(key[0]) if len(key) == 1 else None)
        if rows is not None:
            out.append((", ".join(str(k) for k in key), row, rows))
    return out


def _resamples(result: FitResult, row: pd.Series) -> pd.DataFrame | None:
    """The converged bootstrap resamples of one group, or None without a bootstrap."""
    if result.bootstrap is None:
        return None
    boot = result.bootstrap[result.bootstrap["status"] == "converged"]
    for column in result.by:
        boot = boot[boot[column] == row[column]]
    return boot if len(boot) >= 2 else None


def _series(result: FitResult, data: pd.DataFrame, along: str, levels: int):
    """(label, parameter row, row indices, held inputs) per curve: one per group, the other
    inputs held at the group's median; for a fit without groups and several inputs, one per
    level of the first other input (its distinct values, or ``levels`` quantiles), each point
    with its nearest level."""
    law = result.law
    others = [name for name in law.inputs if name != along]
    values = {name: data[result.x[name]].to_numpy(float) for name in others}
    if result.by or not others:
        return [(label, row, rows, {n: float(np.median(values[n][rows])) for n in others})
                for label, row, rows in _group_rows(result, data)]
    first = others[0]
    distinct = np.unique(values[first])
    picks = distinct if len(distinct) <= levels else np.quantile(values[first], np.linspace(0.05, 0.95, levels))
    nearest = np.argmin(np.abs(np.log(values[first])[:, None] - np.log(picks)[None, :]), axis=1)
    row = result.params.iloc[0]
    held = {n: float(np.median(values[n])) for n in others[1:]}
    return [(f"{first} = {pick:.3g}", row, np.flatnonzero(nearest == i), {first: float(pick), **held})
            for i, pick in enumerate(picks) if (nearest == i).any()]


def fitted_laws(result: FitResult, data: pd.DataFrame, along: str | None = None,
                ci: float | None = None, levels: int = 5, ax=None):
    """Observed points and each group's fitted law along input ``along``, with the central
    ``ci`` band of the law over the bootstrap resamples (the fit's CI level by default) when
    the fit has a bootstrap.

    The band at each x is the pointwise percentile interval of f(theta_r; x) over resamples
    r (Efron & Tibshirani 1993, ch. 13). Inputs other than ``along`` are held at each
    group's median; without groups, a law of several inputs gets a curve per level of its
    first other input (``levels`` at most). One colour per curve (at most
    :data:`MAX_GROUPS`). Returns the axes.
    """
    law = result.law
    along = along or law.inputs[-1]
    if along not in law.inputs:
        raise InputError(f"along must be one of the law's inputs {law.inputs}; got {along!r}")
    ci = result.ci if ci is None else float(ci)
    if not 0 < ci < 1:
        raise InputError(f"ci must be in (0, 1); got {ci!r}")
    groups = _series(result, data, along, levels)
    if not groups:
        raise InputError("data: no rows of the fitted groups")
    if len(groups) > MAX_GROUPS:
        raise InputError(f"data: {len(groups)} groups; plot at most {MAX_GROUPS} at a time "
                         "(filter the data)")
    ax = new_axes(ax, (6.0, 4.5))
    observed = data[result.y].to_numpy(float)
    x_along = data[result.x[along]].to_numpy(float)
    for i, (label, row, rows, held) in enumerate(groups):
        color = f"C{i % 10}"
        ax.scatter(x_along[rows], observed[rows], s=12, color=color, alpha=0.8)
        grid = np.geomspace(x_along[rows].min(), x_along[rows].max(), 120)
        inputs = {along: grid, **{name: np.full_like(grid, value) for name, value in held.items()}}
        if np.all(np.isfinite(row[list(law.param_names)].to_numpy(float))):
            fitted = np.asarray(law.predict({p: float(row[p]) for p in law.param_names}, inputs))
            ax.plot(grid, fitted, color=color, lw=1.5, label=label or law.name)
        boot = _resamples(result, row)
        if boot is not None:
            theta = {p: boot[p].to_numpy(float)[:, None] for p in law.param_names}
            curves = np.asarray(law.predict(theta, {k: v[None, :] for k, v in inputs.items()}))
            lo, hi = np.nanquantile(curves, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
            ax.fill_between(grid, lo, hi, color=color, alpha=0.2, lw=0)
    ax.set_xscale("log")
    if law.output == "loss":
        ax.set_yscale("log")
        plain_log_axis(ax.yaxis)
    ax.set_xlabel(f"{along} ({result.x[along]})")
    ax.set_ylabel(result.y)
    band = f"; bands: {ci:.0%} bootstrap" if result.bootstrap is not None else ""
    ax.set_title(f"{law.name}: {law.formula}{band}", fontsize=9)
    if len(groups) > 1 or not groups[0][0]:
        ax.legend(fontsize=7)
    return ax
