"""Where the new figures come from: a :class:`matplotlib.figure.Figure` made inside the function
(no pyplot state, no backend chosen at import), or the caller's axes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lawfit.data import InputError

__all__ = ["interval_levels", "new_axes", "numeric", "plain_log_axis"]


def new_axes(ax, figsize: tuple[float, float]):
    """``ax`` itself, or the single axes of a new constrained-layout figure of ``figsize``."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained").subplots()


def plain_log_axis(axis) -> None:
    """Log-scale tick labels written plainly (2.2, not 2.2 x 10^0)."""
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(plain)


_INTERVAL = re.compile(r"^lo_(\d+(?:_\d+)?)$")


def interval_levels(table: pd.DataFrame) -> list[tuple[float, str, str]]:
    """The central intervals of a forecast table, widest first: ``(level, lo column, hi column)``
    for each ``lo_XX`` / ``hi_XX`` pair (``XX`` the level in percent, ``_`` for a decimal
    point, as :func:`lawfit.bayes.interval_columns` writes them)."""
    found = []
    for column in table.columns:
        match = _INTERVAL.match(str(column))
        if match and f"hi_{match.group(1)}" in table.columns:
            level = float(match.group(1).replace("_", ".")) / 100
            found.append((level, column, f"hi_{match.group(1)}"))
    return sorted(found, reverse=True)


def numeric(table: pd.DataFrame, column: str, *, argument: str) -> np.ndarray:
    """A column as floats, or an :class:`InputError` naming ``argument`` and the column."""
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(float)
    if np.isnan(values).all() and len(values):
        raise InputError(f"{argument}: column {column!r} holds no numbers")
    return values
