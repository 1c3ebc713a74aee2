"""The compute-optimal frontier: N*(C) and D*(C) per group."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lawfit.data import InputError, check_columns
from lawfit.plot._axes import new_axes

__all__ = ["frontier"]


def frontier(optimal: pd.DataFrame, by: str | Sequence[str] | None = None, ax=None):
    """N* (solid) and D* (dashed) against the compute budget C, log-log, one colour per
    group, with the ``_lo`` / ``_hi`` interval as a band where the table has one.

    ``optimal`` is :func:`lawfit.evaluate.compute_optimal`'s table (or ``lawfit optimal``'s
    output): ``C``, ``N_opt``, ``D_opt``, optionally ``N_opt_lo`` ... ``D_opt_hi`` and
    ``status``; rows whose status is not ``ok`` are left out. ``by``: the group columns
    (default: the columns before ``C``). Returns the axes.
    """
    check_columns(optimal, ["C", "N_opt", "D_opt"], argument="optimal")
    if by is None:
        by_cols = list(optimal.columns[: list(optimal.columns).index("C")])
    else:
        by_cols = [by] if isinstance(by, str) else list(by)
        check_columns(optimal, by_cols, argument="by")
    rows = optimal[optimal["status"] == "ok"] if "status" in optimal.columns else optimal
    rows = rows[np.isfinite(rows[["C", "N_opt", "D_opt"]].to_numpy(float)).all(axis=1)]
    if rows.empty:
        raise InputError("optimal: no row with status ok and finite N_opt, D_opt")
    ax = new_axes(ax, (6.0, 4.5))
    groups = rows.groupby(by_cols, sort=False) if by_cols else [((), rows)]
    for i, (key, group) in enumerate(groups):
        color = f"C{i % 10}"
        key = key if isinstance(key, tuple) else (key,)
        name = ", ".join(str(k) for k in key)
        group = group.sort_values("C")
        budget = group["C"].to_numpy(float)
        for column, style in (("N_opt", "-"), ("D_opt", "--")):
            label = f"{column[0]}*" + (f" ({name})" if name else "")
            ax.plot(budget, group[column].to_numpy(float), ls=style, marker="o", ms=3,
                    color=color, label=label)
            if {f"{column}_lo", f"{column}_hi"} <= set(group.columns):
                ax.fill_between(budget, group[f"{column}_lo"].to_numpy(float),
                                group[f"{column}_hi"].to_numpy(float), color=color, alpha=0.15, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("compute C (FLOPs)")
    ax.set_ylabel("parameters N* / tokens D*")
    ax.set_title("compute-optimal allocation", fontsize=9)
    ax.legend(fontsize=7)
    return ax
