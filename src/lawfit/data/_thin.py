"""Thinning dense training trajectories: at most k checkpoints per run, evenly spaced.

A run is a model trained once: the rows that share every column of ``runs`` (the group and
every input but the one its checkpoints advance along, e.g. N for checkpoints in D). Dense
logs (thousands of checkpoints of one model) add little information to a posterior beyond a
few dozen well-spread ones, yet every point costs every sampler step. Spacing them evenly in
``along`` itself (the default) keeps the weight the full log gives to late training, as
checkpoints are usually saved every so many steps; evenly in log spreads them over the early
part too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lawfit.data._validate import InputError

__all__ = ["thin_runs"]


def thin_runs(
    frame: pd.DataFrame, runs: Sequence[str], along: str, per_run: int, *, spacing: str = "linear"
) -> np.ndarray:
    """Boolean mask over ``frame``'s rows keeping at most ``per_run`` rows of each run.

    Within a run of n > ``per_run`` rows, the kept rows are those nearest to ``per_run``
    points evenly spaced in ``along`` (``spacing="linear"``) or in its log (``"log"``)
    between the run's smallest and largest values (so both ends are kept; ties and repeats
    can leave fewer). Runs with at most ``per_run`` rows are kept whole, and so are rows whose
    ``along`` is not a positive number (validation names them later).
    """
    if not (isinstance(per_run, int) and per_run >= 2):
        raise InputError(f"thin: keep at least 2 rows per run; got {per_run!r}")
    if spacing not in ("linear", "log"):
        raise InputError(f"spacing: 'linear' or 'log'; got {spacing!r}")
    raw = pd.to_numeric(frame[along], errors="coerce").to_numpy(float)
    usable = np.isfinite(raw) & (raw > 0)
    keep = ~usable
    frame = frame[usable]
    n = len(frame)
    if n == 0:
        return keep
    run = frame.groupby(list(runs), sort=False, dropna=False).ngroup().to_numpy() if runs else (
        np.zeros(n, np.int64))
    # Linear values divided by the largest: the end-to-end axis below keeps its precision.
    value = np.log(raw[usable]) if spacing == "log" else raw[usable] / raw[usable].max()
    order = np.lexsort((value, run))
    run_sorted, value_sorted = run[order], value[order]
    first = np.flatnonzero(np.r_[True, run_sorted[1:] != run_sorted[:-1]])
    count = np.diff(np.r_[first, n])
    low, high = value_sorted[first], value_sorted[first + count - 1]
    # Runs laid end to end on one axis (each shifted past the previous one), so one
    # searchsorted finds every target's neighbours within its own run.
    shift = np.cumsum(np.r_[0.0, (high - low + 1.0)[:-1]]) - low
    axis = value_sorted + np.repeat(shift, count)
    dense = np.flatnonzero(count > per_run)
    fraction = np.linspace(0.0, 1.0, per_run)
    targets = (low[dense, None] + (high - low)[dense, None] * fraction + shift[dense, None]).ravel()
    lo_row = np.repeat(first[dense], per_run)
    hi_row = lo_row + np.repeat(count[dense], per_run) - 1
    right = np.clip(np.searchsorted(axis, targets), lo_row, hi_row)
    left = np.clip(right - 1, lo_row, hi_row)
    nearest = np.where(np.abs(axis[left] - targets) <= np.abs(axis[right] - targets), left, right)
    keep_sorted = np.repeat(count <= per_run, count)
    keep_sorted[nearest] = True
    kept = np.zeros(n, bool)
    kept[order] = keep_sorted
    keep[usable] = kept
    return keep
