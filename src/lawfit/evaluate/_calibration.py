"""Calibration of probabilistic forecasts: coverage, MSCE, CRPS, ARE of the median, width.

For predictive draws X (in loss units) and an observation y: coverage at level l is the share
of observations inside the central l-interval; MSCE is the mean over levels
{.5, .6, .7, .8, .9, .95, .99} of (coverage - l)^2; CRPS = E|X - y| - E|X - X'|/2
(Gneiting & Raftery 2007, eq. 21), computed exactly from sorted draws; ARE = |median - y|/y.
A forecast whose draws are not all finite (e.g. from a posterior flagged ``nonfinite``) is
``failed``: it covers nothing, and its ARE, CRPS and widths are left out of the averages.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["MSCE_LEVELS", "calibration_points", "calibration_report"]

MSCE_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def _crps(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    s = np.sort(draws, axis=1)
    m = s.shape[1]
    i = np.arange(1, m + 1)[None, :]
    spread = (2 * (2 * i - m - 1) * s).sum(axis=1) / (m * m)  # E|X - X'|
    return np.abs(s - y[:, None]).mean(axis=1) - 0.5 * spread


def calibration_points(log_draws, observed, levels: Sequence[float] = MSCE_LEVELS) -> pd.DataFrame:
    """Per observation: ``cover_XX`` (inside the central interval), ``width_XX`` (loss units),
    ``crps``, ``are`` (of the median), ``pit`` and ``failed`` (draws not all finite: no
    coverage, NaN elsewhere), from ``log_draws`` (n, M) of log loss."""
    log_draws = np.asarray(log_draws, float)
    y = np.asarray(observed, float)
    if log_draws.ndim != 2 or log_draws.shape[0] != len(y):
        raise ValueError(f"log_draws must be (n, M) with n = {len(y)}; got {log_draws.shape}")
    failed = ~np.isfinite(log_draws).all(axis=1)
    log_draws = np.where(failed[:, None], np.nan, log_draws)
    out = {}
    for level in levels:
        lo, hi = np.exp(np.quantile(log_draws, [(1 - level) / 2, (1 + level) / 2], axis=1))
        key = f"{100 * level:g}"
        out[f"cover_{key}"] = ((y >= lo) & (y <= hi)).astype(float)
        out[f"width_{key}"] = hi - lo
    out["crps"] = _crps(np.exp(log_draws), y)
    out["are"] = np.abs(np.exp(np.median(log_draws, axis=1)) - y) / y
    out["pit"] = np.where(failed, np.nan, (log_draws < np.log(y)[:, None]).mean(axis=1))
    out["failed"] = failed
    return pd.DataFrame(out)


def calibration_report(log_draws=None, observed=None, *, weights=None, points=None) -> dict:
    """Summary of a forecast: ``cover_50/80/95``, ``mean_abs_cover_error`` (mean over those
    three of |coverage - level|), ``msce``, ``crps``, ``median_are``, ``width_50/80/95`` and
    ``failed`` (the share of failed forecasts: counted as misses in the coverages, left out of
    CRPS, ARE and widths).

    Give ``log_draws`` (n, M) and ``observed`` (n,), or ``points`` from
    :func:`calibration_points` (e.g. several forecasts concatenated); ``weights`` (n,)
    reweight observations (e.g. 1/size so that each family counts once).
    """
    if points is None:
        points = calibration_points(log_draws, observed)
    w = np.ones(len(points)) if weights is None else np.asarray(weights, float)
    w = w / w.sum()
    cover = {lv: float(np.sum(w * points[f"cover_{100 * lv:g}"])) for lv in MSCE_LEVELS}
    failed = points["failed"].to_numpy(bool) if "failed" in points else np.zeros(len(w), bool)
    kept = np.where(failed, 0.0, w)
    kept = kept / kept.sum() if kept.sum() > 0 else kept * np.nan
    are = np.where(failed, np.inf, points["are"].to_numpy())
    order = np.argsort(are)
    median_are = float(are[order][np.searchsorted(np.cumsum(kept[order]), 0.5)])
    return {
        "cover_50": cover[0.5],
        "cover_80": cover[0.8],
        "cover_95": cover[0.95],
        "mean_abs_cover_error": float(np.mean([abs(cover[lv] - lv) for lv in (0.5, 0.8, 0.95)])),
        "msce": float(np.mean([(cover[lv] - lv) ** 2 for lv in MSCE_LEVELS])),
        "crps": float(np.nansum(kept * points["crps"])),
        "median_are": median_are,
        **{f"width_{k}": float(np.nansum(kept * points[f"width_{k}"])) for k in ("50", "80", "95")},
        "failed": float(np.sum(w[failed])),
    }
