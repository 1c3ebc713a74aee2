"""Figure of an IsoFLOP analysis: the curves with their parabolas and optima, and the
compute-optimal frontier N*(C) with its power law."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from lawfit.evaluate import IsoFLOPResult

__all__ = ["isoflop_figure"]


def isoflop_figure(result: IsoFLOPResult, group: tuple | str | None = None) -> Figure:
    """Left: loss against N per budget (points; those outside the window faded), the fitted
    parabolas and the optima (filled for status ``ok``, hollow otherwise). Right: N* against
    C with the power law N* = k_N C^a. ``group``: the ``by`` values of the group to draw
    (default: the first group); returns a :class:`matplotlib.figure.Figure`."""
    points, optima, exponents = result.points, result.optima, result.exponents
    if result.by:
        key = exponents.iloc[0][list(result.by)].tolist() if group is None else group
        key = tuple(key) if isinstance(key, list | tuple) else (key,)
        if len(key) != len(result.by):
            raise ValueError(f"group must give {len(result.by)} value(s) for {result.by}; "
                             f"got {group!r}")

        def pick(frame):
            mask = np.ones(len(frame), bool)
            for column, value in zip(result.by, key, strict=True):
                mask &= (frame[column] == value).to_numpy()
            return frame[mask]

        points, optima, exponents = pick(points), pick(optima), pick(exponents)
        if exponents.empty:
            raise ValueError(f"group {group!r} is not in the result")
        title = ", ".join(str(v) for v in key)
    elif group is not None:
        raise ValueError(f"the result has no groups; got group {group!r}")
    else:
        title = "IsoFLOP analysis"
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    curves_ax, frontier_ax = fig.subplots(1, 2)
    budgets = optima["C"].to_numpy()
    colours = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.9, max(len(budgets), 1)))
    for colour, (_, row) in zip(colours, optima.iterrows(), strict=False):
        curve = points[points["C"] == row["C"]]
        used = curve["used"].to_numpy(bool)
        curves_ax.scatter(curve["N"][used], curve["loss"][used], s=14, color=colour,
                          label=f"C = {row['C']:.3g}")
        curves_ax.scatter(curve["N"][~used], curve["loss"][~used], s=14, color=colour, alpha=0.25)
        if np.isfinite(row["curvature"]) and np.isfinite(row["N_opt"]):
            grid = np.geomspace(row["N_lo"], row["N_hi"], 100)
            parabola = row["loss_opt"] + row["curvature"] * np.log(grid / row["N_opt"]) ** 2
            curves_ax.plot(grid, parabola, color=colour, lw=1)
        if np.isfinite(row["N_opt"]):
            ok = row["status"] == "ok"
            curves_ax.scatter([row["N_opt"]], [row["loss_opt"]], marker="*", s=90, zorder=3,
                              color=colour if ok else "none", edgecolors="k", linewidths=0.6)
    curves_ax.set_xscale("log")
    curves_ax.set_xlabel("N (parameters)")
    curves_ax.set_ylabel("loss")
    curves_ax.set_title(f"{title}: IsoFLOP curves ({result.method})", fontsize=10)
    if len(budgets) <= 14:
        curves_ax.legend(fontsize=6, ncols=2)
    ok = optima["status"].to_numpy() == "ok"
    frontier_ax.scatter(budgets[ok], optima["N_opt"][ok], color="k", s=18, label="N* (ok)")
    frontier_ax.scatter(budgets[~ok], optima["N_opt"][~ok], facecolors="none", edgecolors="k",
                        s=18, label="N* (not used)")
    row = exponents.iloc[0]
    if np.isfinite(row["a"]):
        grid = np.geomspace(budgets.min(), budgets.max(), 50)
        interval = (f" [{row['a_lo']:.3f}, {row['a_hi']:.3f}]"
                    if np.isfinite(row["a_lo"]) else "")
        frontier_ax.plot(grid, row["k_N"] * grid ** row["a"], color="C3",
                         label=f"N* = {row['k_N']:.3g} C^{row['a']:.3f}{interval}")
    frontier_ax.set_xscale("log")
    frontier_ax.set_yscale("log")
    frontier_ax.set_xlabel("C (FLOPs)")
    frontier_ax.set_ylabel("N* (parameters)")
    frontier_ax.set_title("compute-optimal model size", fontsize=10)
    frontier_ax.legend(fontsize=7)
    return fig
