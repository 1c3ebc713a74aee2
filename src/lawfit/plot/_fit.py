"""Figures of fitted laws: observed against predicted, and curves along one input."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from lawfit.fitting import FitResult

__all__ = ["curves", "parity"]

_PLAIN = FuncFormatter(lambda value, _: f"{value:g}")


def _log_loss_axis(axis) -> None:
    """Log scale with plain tick labels (2.2, not 2.2 x 10^0)."""
    axis.set_major_formatter(_PLAIN)
    axis.set_minor_formatter(_PLAIN)


def parity(result: FitResult, data: pd.DataFrame, ax=None):
    """Observed against predicted values (log-log for losses), one colour per group."""
    ax = ax or plt.subplots(figsize=(4.5, 4.5))[1]
    predicted = result.predict(data)
    observed = data[result.y].to_numpy(dtype=float)
    groups = data.groupby(result.by, sort=True).indices if result.by else {"": np.arange(len(data))}
    for label, idx in groups.items():
        ax.scatter(predicted[idx], observed[idx], s=10, alpha=0.7, label=str(label) if result.by else None)
    lo = np.nanmin([predicted.min(), observed.min()])
    hi = np.nanmax([predicted.max(), observed.max()])
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
    if result.law.output == "loss":
        ax.set_xscale("log")
        ax.set_yscale("log")
        _log_loss_axis(ax.xaxis)
        _log_loss_axis(ax.yaxis)
    ax.set_xlabel(f"predicted {result.y}")
    ax.set_ylabel(f"observed {result.y}")
    ax.set_title(f"{result.law.name}: observed vs predicted")
    if result.by and len(groups) <= 12:
        ax.legend(fontsize=7)
    return ax


def curves(result: FitResult, data: pd.DataFrame, along: str | None = None, levels: int = 6, ax=None):
    """The fitted law along input ``along`` at a few values of the other inputs, over the data.

    Points are coloured by the nearest level of the other input (quantiles of the data); for
    a one-input law there is one curve. Only for a fit without groups.
    """
    if result.by:
        raise ValueError("curves: plot one group at a time (filter the data and the result), or "
                         "every group with its bootstrap band by lawfit.plot.fitted_laws")
    law = result.law
    along = along or law.inputs[-1]
    if along not in law.inputs:
        raise ValueError(f"curves: along must be one of the law's inputs {law.inputs}; got {along!r}")
    ax = ax or plt.subplots(figsize=(6, 4.5))[1]
    x_along = data[result.x[along]].to_numpy(dtype=float)
    grid = np.geomspace(x_along.min(), x_along.max(), 200)
    params = result.params.iloc[0]
    others = [name for name in law.inputs if name != along]
    cmap = plt.get_cmap("viridis")
    observed = data[result.y].to_numpy(dtype=float)
    if not others:
        ax.scatter(x_along, observed, s=10, color="C0")
        ax.plot(grid, law.predict(params, {along: grid}), color="C1")
    else:
        other = others[0]
        values = data[result.x[other]].to_numpy(dtype=float)
        fixed = {name: np.median(data[result.x[name]]) for name in others[1:]}
        picks = np.quantile(values, np.linspace(0.05, 0.95, levels))
        nearest = np.argmin(np.abs(np.log(values)[:, None] - np.log(picks)[None, :]), axis=1)
        for i, level in enumerate(picks):
            color = cmap(i / max(levels - 1, 1))
            mask = nearest == i
            ax.scatter(x_along[mask], observed[mask], s=10, color=color)
            ax.plot(grid, law.predict(params, {along: grid, other: level, **fixed}), color=color,
                    label=f"{other} = {level:.3g}")
        ax.legend(fontsize=7)
    ax.set_xscale("log")
    if law.output == "loss":
        ax.set_yscale("log")
        _log_loss_axis(ax.yaxis)
    ax.set_xlabel(along)
    ax.set_ylabel(result.y)
    ax.set_title(f"{law.name}: {law.formula}", fontsize=9)
    return ax
