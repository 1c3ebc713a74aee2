"""Pair plots of parameter draws: marginals on the diagonal, pairs below it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lawfit.data import InputError

__all__ = ["pair_plot"]


def _draw_columns(draws, group: int, params: Sequence[str] | None) -> dict[str, np.ndarray]:
    """Parameter -> flat draws of one group, from a Posterior, a mapping or a table."""
    from lawfit.bayes import Posterior

    if isinstance(draws, Posterior):
        params = list(params or draws.law.param_names)
        draws = draws.draws
    if isinstance(draws, pd.DataFrame):
        names = list(params or [c for c in draws.columns if pd.api.types.is_float_dtype(draws[c])])
        table = draws
    elif isinstance(draws, Mapping):
        names = list(params or draws)
        table = None
    else:
        raise InputError(f"draws: expected a Posterior, a mapping or a table; got {type(draws).__name__}")
    out = {}
    for name in names:
        if (table is not None and name not in table.columns) or (table is None and name not in draws):
            raise InputError(f"params: no draws of {name!r}")
        if table is not None:
            values = table[name].to_numpy(float)
        else:
            values = np.asarray(draws[name], float)
            if values.ndim == 3:
                if not 0 <= group < values.shape[0]:
                    raise InputError(f"group: {group} is not in 0..{values.shape[0] - 1}")
                values = values[group]
        out[name] = values.reshape(-1)
    if len(out) < 2:
        raise InputError(f"params: a pair plot needs two parameters or more; got {list(out)}")
    return out


def pair_plot(draws, params: Sequence[str] | None = None, group: int = 0,
              max_points: int = 2000, log: Sequence[str] = ()):
    """A K x K grid: each parameter's histogram on the diagonal (up to 30 bins, a third
    of the draws for few) and every pair's draws as a scatter below it (upper triangle left
    empty).

    ``draws``: a :class:`lawfit.bayes.Posterior` (its parameters, group ``group``), its
    ``draws`` dict (arrays of shape (G, C, S) are taken at ``group``; other shapes are one
    group's draws), or a table with one column per parameter (e.g. one group's bootstrap
    resamples). At most ``max_points`` draws (evenly thinned) per scatter; parameters in
    ``log`` on a log scale. Returns the figure.
    """
    from matplotlib.figure import Figure

    columns = _draw_columns(draws, group, params)
    names = list(columns)
    k = len(names)
    n_bins = int(np.clip(len(next(iter(columns.values()))) // 3, 5, 30))
    fig = Figure(figsize=(1.9 * k + 0.6, 1.9 * k + 0.4), layout="constrained")
    axes = fig.subplots(k, k, squeeze=False)
    for i, row_name in enumerate(names):
        for j, col_name in enumerate(names):
            ax = axes[i, j]
            x = columns[col_name]
            finite_x = x[np.isfinite(x)]
            if i == j:
                if col_name in log:
                    finite_x = finite_x[finite_x > 0]
                    bins = np.geomspace(finite_x.min(), finite_x.max(), n_bins + 1) if len(finite_x) else n_bins
                    ax.set_xscale("log")
                else:
                    bins = n_bins
                ax.hist(finite_x, bins=bins, color="C0", alpha=0.7)
                ax.set_yticks([])
            elif i > j:
                y = columns[row_name]
                keep = np.isfinite(x) & np.isfinite(y)
                step = max(1, int(np.ceil(keep.sum() / max_points)))
                ax.scatter(x[keep][::step], y[keep][::step], s=3 if keep.sum() > 300 else 10,
                           alpha=0.4 if keep.sum() > 300 else 0.8, color="C0", lw=0)
                if col_name in log:
                    ax.set_xscale("log")
                if row_name in log:
                    ax.set_yscale("log")
            else:
                ax.axis("off")
            ax.tick_params(labelsize=6)
            if i == k - 1:
                ax.set_xlabel(col_name, fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(row_name, fontsize=8)
    n = len(next(iter(columns.values())))
    fig.suptitle(f"{n} draws", fontsize=9)
    return fig
