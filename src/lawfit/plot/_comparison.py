"""Method comparison: the spread of absolute relative errors by method, per family."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lawfit.data import InputError, check_columns
from lawfit.plot._axes import new_axes, plain_log_axis

__all__ = ["method_comparison"]


def method_comparison(are: pd.DataFrame, ax=None, strip: bool = True):
    """Box plots of ARE (in percent, log scale) by method within each family, with the
    individual values as jittered points (``strip``).

    ``are`` has columns ``family``, ``method`` and ``are`` (|predicted - observed| /
    observed, e.g. ``lawfit hitchhiker``'s ``are.csv``); non-finite AREs (failed fits) are
    left out and counted in the title. Returns the axes.
    """
    check_columns(are, ["family", "method", "are"], argument="are")
    values = pd.to_numeric(are["are"], errors="coerce").to_numpy(float)
    finite = np.isfinite(values) & (values > 0)
    kept = are.assign(are=values)[finite]
    if kept.empty:
        raise InputError("are: no finite, positive ARE to plot")
    families = sorted(kept["family"].astype(str).unique())
    methods = sorted(kept["method"].astype(str).unique())
    ax = new_axes(ax, (max(4.0, 0.9 * len(families) * max(1, len(methods)) + 1.5), 4.0))
    width = 0.8 / len(methods)
    rng = np.random.default_rng(0)  # jitter only: fixed so that a figure is reproducible
    for j, method in enumerate(methods):
        color = f"C{j % 10}"
        rows = kept[kept["method"].astype(str) == method]
        positions, samples = [], []
        for i, family in enumerate(families):
            sample = 100 * rows.loc[rows["family"].astype(str) == family, "are"].to_numpy(float)
            if len(sample):
                positions.append(i + (j - (len(methods) - 1) / 2) * width)
                samples.append(sample)
        box = ax.boxplot(samples, positions=positions, widths=0.85 * width, patch_artist=True,
                         showfliers=not strip, manage_ticks=False)
        for patch in box["boxes"]:
            patch.set(facecolor=color, alpha=0.35, edgecolor=color)
        for median in box["medians"]:
            median.set(color=color, lw=1.5)
        if strip:
            for position, sample in zip(positions, samples, strict=True):
                jitter = rng.uniform(-0.3, 0.3, len(sample)) * width
                ax.scatter(position + jitter, sample, s=6, color=color, alpha=0.6, lw=0)
        ax.plot([], [], color=color, lw=6, alpha=0.5, label=method)
    ax.set_xticks(range(len(families)), families, rotation=30 if len(families) > 4 else 0,
                  ha="right" if len(families) > 4 else "center", fontsize=8)
    ax.set_yscale("log")
    plain_log_axis(ax.yaxis)
    ax.set_ylabel("ARE (%)")
    dropped = int((~finite).sum())
    ax.set_title("ARE by method and family" + (f" ({dropped} failed fits left out)" if dropped else ""),
                 fontsize=9)
    ax.legend(fontsize=7)
    return ax
