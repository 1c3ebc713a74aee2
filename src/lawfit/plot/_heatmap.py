"""ARE heatmaps of estimation designs: number of training models x fraction of training."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap

from lawfit.data import check_columns

__all__ = ["are_heatmap", "are_heatmaps"]

# Green (good) to red (bad), as in the Hitchhiker paper's Figure 1.
_CMAP = LinearSegmentedColormap.from_list("are", ["#1a9850", "#fee08b", "#d73027"])


def are_heatmap(are: pd.DataFrame, ax=None, vmax: float = 0.15, annotate: bool | None = None):
    """One family's ARE by ``n_train_models`` (rows) and ``train_fraction`` (columns).

    ``are`` holds one family's rows of :func:`lawfit.evaluate.estimate`'s table for one
    method and setting; several rows per cell are averaged. Colours saturate at ``vmax``;
    cells show the ARE in percent when the grid is small (``annotate``). Empty cells are
    designs that were not fitted or failed.
    """
    check_columns(are, ["n_train_models", "train_fraction", "are"], argument="are")
    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    grid = are.pivot_table(index="n_train_models", columns="train_fraction", values="are",
                           aggfunc="mean", dropna=False)
    values = grid.to_numpy(float)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=_CMAP, vmin=0.0, vmax=vmax,
                      aspect="auto", origin="lower")
    ax.set_xticks(range(grid.shape[1]), [f"{p:g}" for p in grid.columns], fontsize=7)
    step = max(1, grid.shape[0] // 10)
    ax.set_yticks(range(0, grid.shape[0], step), [str(k) for k in grid.index[::step]], fontsize=7)
    ax.set_xlabel("fraction of training used")
    ax.set_ylabel("models used")
    if grid.size <= 100 if annotate is None else annotate:
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value):
                ax.text(j, i, f"{100 * value:.0f}" if value < 10 else ">999", ha="center",
                        va="center", fontsize=6)
    return image


def are_heatmaps(are: pd.DataFrame, title: str = "", ncols: int = 4, vmax: float = 0.15):
    """A figure of :func:`are_heatmap` panels, one per family with a finite ARE, and a shared
    colour bar."""
    check_columns(are, ["family", "are"], argument="are")
    finite = are[np.isfinite(are["are"].to_numpy(float))]
    families = sorted(finite["family"].unique())
    ncols = max(1, min(ncols, len(families)))
    nrows = max(1, math.ceil(len(families) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.6 * nrows + 0.6),
                             squeeze=False, layout="constrained")
    image = None
    for ax, family in zip(axes.flat, families, strict=False):
        image = are_heatmap(are[are["family"] == family], ax=ax, vmax=vmax)
        ax.set_title(family, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
    for ax in axes.flat[len(families):]:
        ax.axis("off")
    fig.supxlabel("fraction of training used")
    fig.supylabel("models used")
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label=f"ARE (saturates at {vmax:.0%})")
    if title:
        fig.suptitle(title)
    return fig
