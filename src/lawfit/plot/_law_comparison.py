"""Law comparison figure: backtest ARE per law, and the data with each law's extrapolation."""

from __future__ import annotations

import numpy as np

from lawfit.data import InputError
from lawfit.plot._axes import plain_log_axis

__all__ = ["law_comparison"]


def law_comparison(comparison, group: tuple | None = None):
    """A figure of one group of a :class:`lawfit.evaluate.LawComparison`: (left) each law's
    backtest ARE as a bar (BIC rank written on it), (right) the data against the scale,
    held-out points filled, with each law's prediction from its fit below the cut.

    ``group``: the group's key (a tuple of ``by`` values; default the first group).
    Returns the figure.
    """
    from matplotlib.figure import Figure

    by = comparison.by
    table, points = comparison.table, comparison.points
    if by:
        key = tuple(table[by].iloc[0]) if group is None else tuple(group)
        if len(key) != len(by):
            raise InputError(f"group: expected a value for each of {by}; got {group!r}")
        table = table[(table[by] == list(key)).all(axis=1)]
        points = points[(points[by] == list(key)).all(axis=1)]
        if table.empty:
            raise InputError(f"group: {dict(zip(by, key, strict=True))} is not in the comparison")
    fig = Figure(figsize=(10.0, 4.0), layout="constrained")
    bars, data = fig.subplots(1, 2, width_ratios=(1, 1.6))
    laws = list(table["law"])
    colors = {law: f"C{i % 10}" for i, law in enumerate(laws)}
    are = 100 * table["are_backtest"].to_numpy(float)
    position = np.arange(len(laws))
    bars.bar(position, np.nan_to_num(are), color=[colors[law] for law in laws])
    for i, (value, rank) in enumerate(zip(are, table["rank_bic"], strict=True)):
        text = "failed" if not np.isfinite(value) else f"BIC #{int(rank)}" if np.isfinite(rank) else ""
        bars.annotate(text, (i, np.nan_to_num(value)), ha="center", va="bottom", fontsize=7)
    bars.set_xticks(position, laws, rotation=30, ha="right", fontsize=8)
    bars.set_ylabel("backtest ARE (%)")
    bars.set_title("held-out extrapolation error", fontsize=9)

    first = points[points["law"] == laws[0]]
    order = np.argsort(first["scale"].to_numpy(), kind="stable")
    scale, observed = first["scale"].to_numpy()[order], first["observed"].to_numpy()[order]
    held = first["held_out"].to_numpy(bool)[order]
    data.scatter(scale[~held], observed[~held], s=14, facecolors="none", edgecolors="k",
                 label="fitted")
    data.scatter(scale[held], observed[held], s=14, color="k", label="held out")
    for law in laws:
        rows = points[points["law"] == law]
        rows = rows.iloc[np.argsort(rows["scale"].to_numpy(), kind="stable")]
        data.plot(rows["scale"], rows["backtest_prediction"], ".", ms=4, alpha=0.7,
                  color=colors[law], label=law)
    if held.any() and (~held).any():
        data.axvline(np.sqrt(scale[~held].max() * scale[held].min()), color="0.5", lw=0.8, ls="--")
    data.set_xscale("log")
    data.set_yscale("log")
    plain_log_axis(data.yaxis)
    data.set_xlabel(comparison.scale)
    data.set_ylabel("observed / predicted")
    title = "data and each law's extrapolation from below the cut"
    if by:
        title += f" ({', '.join(f'{b}={v}' for b, v in zip(by, key, strict=True))})"
    data.set_title(title, fontsize=9)
    data.legend(fontsize=7)
    return fig
