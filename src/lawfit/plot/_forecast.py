"""Forecasts at target inputs: the predictive median and central intervals, over the data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lawfit.data import InputError, check_columns
from lawfit.plot._axes import interval_levels, new_axes, numeric, plain_log_axis

__all__ = ["forecast_intervals"]


def forecast_intervals(table: pd.DataFrame, x: str, *, by: str | Sequence[str] | None = None,
                       data: pd.DataFrame | None = None, y: str | None = None, ax=None):
    """The predictive median (points) and each central interval (error bars, widest palest)
    of a forecast table against its column ``x``, one colour per ``by`` group; with ``data``
    and ``y``, the training points of the same groups behind them (hollow).

    ``table`` is :attr:`lawfit.bayes.Forecast.table` (or a ``lawfit forecast`` output): the
    target's columns, ``median`` and ``lo_XX`` / ``hi_XX`` per level. Returns the axes.
    """
    by_cols = [by] if isinstance(by, str) else list(by or [])
    check_columns(table, [x, "median", *by_cols], argument="table")
    levels = interval_levels(table)
    if not levels:
        raise InputError("table: no interval columns (lo_XX and hi_XX pairs, e.g. lo_95, hi_95)")
    if data is not None:
        if y is None:
            raise InputError("y: give the loss column of data")
        check_columns(data, [x, y, *by_cols], argument="data")
    ax = new_axes(ax, (6.0, 4.5))
    groups = table.groupby(by_cols, sort=False) if by_cols else [((), table)]
    for i, (key, rows) in enumerate(groups):
        color = f"C{i % 10}"
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(str(k) for k in key) or "forecast"
        at = numeric(rows, x, argument="table")
        median = numeric(rows, "median", argument="table")
        for j, (_level, lo_col, hi_col) in enumerate(levels):
            lo, hi = rows[lo_col].to_numpy(float), rows[hi_col].to_numpy(float)
            ax.errorbar(at, median, yerr=[median - lo, hi - median], fmt="none", ecolor=color,
                        elinewidth=2 + 2 * (len(levels) - 1 - j), alpha=0.25 + 0.5 * j / len(levels),
                        capsize=0)
        ax.scatter(at, median, s=24, color=color, zorder=3, label=label, edgecolors="k",
                   linewidths=0.5)
        if data is not None:
            mask = np.ones(len(data), bool)
            for column, value in zip(by_cols, key, strict=True):
                mask &= (data[column] == value).to_numpy()
            ax.scatter(data.loc[mask, x].to_numpy(float), data.loc[mask, y].to_numpy(float),
                       s=10, facecolors="none", edgecolors=color, alpha=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_axis(ax.yaxis)
    ax.set_xlabel(x)
    ax.set_ylabel(y or "forecast")
    shown = ", ".join(f"{level:.0%}" for level, _, _ in levels)
    ax.set_title(f"forecast: median and central {shown} intervals", fontsize=9)
    ax.legend(fontsize=7)
    return ax
