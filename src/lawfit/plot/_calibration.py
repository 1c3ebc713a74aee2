"""Calibration of interval forecasts: empirical against nominal coverage."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from lawfit.data import InputError
from lawfit.plot._axes import new_axes

__all__ = ["calibration"]

_COVER = re.compile(r"^cover_(\d+(?:\.\d+)?)$")


def _labelled_reports(reports) -> dict[str, Mapping]:
    if isinstance(reports, pd.DataFrame):
        labels = reports["label"] if "label" in reports.columns else reports.index
        return {str(label): row.to_dict() for label, (_, row) in zip(labels, reports.iterrows(), strict=True)}
    if isinstance(reports, Mapping):
        if reports and all(isinstance(v, Mapping) for v in reports.values()):
            return {str(k): v for k, v in reports.items()}
        return {"forecast": reports}
    raise InputError(f"reports: expected a calibration report (dict), a mapping of them or a "
                     f"table; got {type(reports).__name__}")


def calibration(reports, ax=None):
    """Empirical coverage of the central intervals against their nominal level, one line per
    report, with the diagonal of perfect calibration (points above it: intervals too wide;
    below: too narrow).

    ``reports``: one :func:`lawfit.evaluate.calibration_report` dict, a mapping label ->
    such dicts, or a table with one row per forecast (a ``label`` column or the index names
    them); every ``cover_XX`` key is a level XX%. Returns the axes.
    """
    labelled = _labelled_reports(reports)
    ax = new_axes(ax, (4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--", label="ideal")
    for i, (label, report) in enumerate(labelled.items()):
        pairs = sorted((float(m.group(1)) / 100, float(report[key]))
                       for key in report if (m := _COVER.match(str(key))))
        if not pairs:
            raise InputError(f"reports: {label!r} has no cover_XX entries (e.g. cover_95)")
        nominal, empirical = np.array(pairs).T
        ax.plot(nominal, empirical, marker="o", color=f"C{i % 10}", label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("nominal coverage")
    ax.set_ylabel("empirical coverage")
    ax.set_title("calibration of the intervals", fontsize=9)
    ax.legend(fontsize=7)
    return ax
