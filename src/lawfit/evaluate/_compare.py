"""Law comparison: every applicable law of the zoo fitted to the same data, ranked by a held-out
extrapolation backtest and by information criteria.

Backtest: each group's points are split at a cut on a scale (by default the largest ``cut`` =
20% of the scale values are held out); the law is fitted to the points below the cut and
scored on the held-out points by ARE = mean |y - y_hat| / y.

Information criteria of the full-data fit, from a Gaussian likelihood on log residuals
r_i = log y_i - log y_hat_i with the noise scale profiled out (sigma^2 = sum r_i^2 / n):
log L = -n/2 (log(2 pi sigma^2) + 1), k = n_params + 1 (the law's parameters and sigma),
AIC = 2k - 2 log L (Akaike 1974), BIC = k log n - 2 log L (Schwarz 1978). They are
evaluated at the fitted parameters, which are this likelihood's maximum when
``loss="log-mse"``; with the default Huber loss they are close to it for data without
outliers.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lawfit.data import GroupedData, InputError, check_columns, numeric_column, read_table
from lawfit.fitting import Status, UnconvergedFitWarning, fit, predict
from lawfit.laws import Law
from lawfit.laws import get as get_law
from lawfit.laws import names as law_names

__all__ = ["COMPARISON_COLUMNS", "LawComparison", "compare_laws"]

#: Columns of :attr:`LawComparison.table` after the group columns.
COMPARISON_COLUMNS = ("law", "n_params", "n_points", "n_heldout", "are_backtest", "aic", "bic",
                      "status", "rank_are", "rank_aic", "rank_bic")

_SPLIT = "__lawfit_split__"  # the group column that tells the full-data fit from the backtest's
_FULL, _BACKTEST = "full", "backtest"
_CONVERGED = Status.CONVERGED.label


@dataclass(frozen=True)
class LawComparison:
    """What :func:`compare_laws` returns.

    Attributes:
        table: one row per group x law: the ``by`` columns, then :data:`COMPARISON_COLUMNS`:
            ``n_params``, ``n_points`` (all points), ``n_heldout`` (points above the cut),
            ``are_backtest`` (mean |y - y_hat| / y on the held-out points, from the fit
            below the cut), ``aic``, ``bic`` (full-data fit, module docstring), ``status``
            (``converged`` when both fits converged, else ``full_<status>`` or
            ``backtest_<status>`` of the fit that did not; its scores are NaN), and each
            score's rank within the group (1 = best; NaN where the score is). Sorted by group
            and ``rank_are``.
        points: one row per data point x law: the ``by`` columns, ``law``, ``scale`` (the
            value cut), ``observed``, ``held_out`` and ``backtest_prediction`` (the law fitted
            below the cut, at every point).
        fits: law name -> its full-data fit (a :attr:`lawfit.FitResult.params` table), e.g.
            for :func:`lawfit.fitting.predict`.
        by: the group columns; ``scale``: what the scale is (for labels).
    """

    table: pd.DataFrame
    points: pd.DataFrame
    fits: dict[str, pd.DataFrame]
    by: list[str]
    scale: str


def compare_laws(
    data: pd.DataFrame | str | os.PathLike,
    x: Mapping[str, str],
    y: str,
    *,
    laws: Sequence[str | Law] | None = None,
    by: str | Sequence[str] | None = None,
    cut: float = 0.2,
    cut_column: str | None = None,
    cut_value: float | None = None,
    loss: str = "huber-log",
    delta: float = 1e-3,
    starts="grid",
    max_steps: int | None = None,
    seed: int = 0,
    duplicates: str = "raise",
) -> LawComparison:
    """Fit each law to the same data and rank them by backtest ARE, AIC and BIC.

    Args:
        data: a DataFrame, or a CSV or Parquet path.
        x: input name -> column for every input of the compared laws, e.g.
            ``{"N": "params", "D": "tokens", "x": "C"}``.
        y: the observed column (must be > 0: scores are relative and on log scale).
        laws: the laws (names or :class:`Law`); default every registered law whose inputs
            are all in ``x``.
        by: group columns; each group is compared separately (all groups of a law are
            fitted in one :func:`lawfit.fit` call, with the backtest fits).
        cut: the fraction of each group's largest scale values held out, in (0, 1). The
            scale is ``cut_column`` if given, else the product of the columns of the inputs
            the laws' predictions decrease in (e.g. N D, proportional to compute).
        cut_column, cut_value: hold out the rows with ``cut_column > cut_value`` instead.
        loss, delta, starts, max_steps, seed: passed to :func:`lawfit.fit`.
        duplicates: rows repeated in all of by/x/y: ``"raise"``, ``"drop"`` or ``"keep"``.

    Returns:
        A :class:`LawComparison`.
    """
    frame = read_table(data) if isinstance(data, (str, os.PathLike)) else data
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"data must be a DataFrame or a path; got {type(frame).__name__}")
    if not isinstance(x, Mapping) or not x:
        raise InputError("x must map the laws' inputs to columns, e.g. {'N': 'params'}")
    chosen = _laws(laws, x)
    by_cols = [by] if isinstance(by, str) else list(by or [])
    if _SPLIT in frame.columns:
        raise InputError(f"data: column name {_SPLIT!r} is reserved")
    check_columns(frame, list(x.values()), argument="x")
    check_columns(frame, [y], argument="y")
    check_columns(frame, by_cols, argument="by")
    check_columns(frame, [cut_column] if cut_column else [], argument="cut_column")
    mapping = {name: x[name] for name in dict.fromkeys(n for law in chosen for n in law.inputs)}
    if not frame.index.is_unique:
        frame = frame.reset_index(drop=True)
    grouped = GroupedData.from_frame(
        frame, mapping, y, by=by_cols, positive_inputs=any(law.positive_inputs for law in chosen),
        y_lower=(0.0, "for relative errors and log residuals"), duplicates=duplicates,
    )
    frame = frame.iloc[_row_order(frame, grouped)].reset_index(drop=True)
    owner = np.repeat(np.arange(grouped.n_groups), grouped.sizes)
    scale, scale_name = _scale(frame, grouped, chosen, cut_column)
    held = _held_out(scale, owner, cut, cut_value, cut_column)
    both = pd.concat([frame.assign(**{_SPLIT: _FULL}), frame[~held].assign(**{_SPLIT: _BACKTEST})],
                     ignore_index=True)

    rows, points, fits = [], [], {}
    observed = grouped.target
    for law in chosen:
        law_x = {n: mapping[n] for n in law.inputs}
        result = fit(both, law, law_x, y, by=[*by_cols, _SPLIT], loss=loss, delta=delta,
                     starts=starts, max_steps=max_steps, seed=seed, on_invalid="skip",
                     duplicates="keep")
        params = result.params
        full = params[params[_SPLIT] == _FULL].drop(columns=_SPLIT).reset_index(drop=True)
        fits[law.name] = full
        back = params[params[_SPLIT] == _BACKTEST].drop(columns=_SPLIT)
        back = _every_group(back, grouped, by_cols, law)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnconvergedFitWarning)
            fitted = predict(full, frame, law=law, x=law_x, by=by_cols)["prediction"].to_numpy()
            extrapolated = predict(back, frame, law=law, x=law_x,
                                   by=by_cols)["prediction"].to_numpy()
        table = grouped.keys[by_cols].copy() if by_cols else pd.DataFrame(index=range(1))
        table.insert(len(by_cols), "law", law.name)
        table["n_params"] = len(law.param_names)
        table["n_points"] = grouped.sizes
        table["n_heldout"] = np.bincount(owner, weights=held, minlength=grouped.n_groups).astype(int)
        table["are_backtest"] = _group_mean(np.abs(observed - extrapolated) / observed, owner,
                                            held, grouped.n_groups)
        table["aic"], table["bic"] = _criteria(np.log(observed) - np.log(fitted), owner,
                                               grouped.n_groups, len(law.param_names) + 1)
        table["status"] = _status(_aligned(full, grouped, by_cols), _aligned(back, grouped, by_cols))
        rows.append(table)
        point = frame[by_cols].copy()
        point.insert(len(by_cols), "law", law.name)
        point["scale"], point["observed"], point["held_out"] = scale, observed, held
        point["backtest_prediction"] = extrapolated
        points.append(point)
    return LawComparison(_ranked(pd.concat(rows, ignore_index=True), by_cols),
                         pd.concat(points, ignore_index=True), fits, by_cols, scale_name)


def _laws(laws, x: Mapping[str, str]) -> list[Law]:
    mapped = set(x)
    if laws is None:
        chosen = [get_law(n) for n in law_names() if set(get_law(n).inputs) <= mapped]
        if not chosen:
            raise InputError(f"x: no registered law takes only the inputs {sorted(mapped)}")
        return chosen
    if isinstance(laws, (str, Law)) or not len(laws):
        raise InputError(f"laws: expected a list of law names; got {laws!r}")
    chosen = []
    for item in laws:
        try:
            law = get_law(item)
        except ValueError as err:
            raise InputError(f"laws: {err}") from None
        missing = [n for n in law.inputs if n not in mapped]
        if missing:
            raise InputError(f"laws: {law.name!r} takes inputs {missing} that x does not map")
        chosen.append(law)
    if len({law.name for law in chosen}) != len(chosen):
        raise InputError(f"laws: a law is listed twice in {[law.name for law in chosen]}")
    return chosen


def _row_order(frame: pd.DataFrame, grouped: GroupedData) -> np.ndarray:
    """Positions in ``frame`` (whose index is unique) of ``grouped``'s rows."""
    return frame.index.get_indexer(grouped.labels)


def _scale(frame, grouped: GroupedData, laws: list[Law], cut_column):
    """Each row's scale, and its description."""
    if cut_column is not None:
        values, problem = numeric_column(frame, cut_column, role="cut_column")
        if (problem != "").any():
            raise InputError(f"cut_column: {problem[problem != ''].iloc[0]}")
        return values, cut_column
    scale_inputs = dict.fromkeys(n for law in laws for n in (law.decreasing_in or law.inputs))
    columns: dict[str, str] = {}  # column -> the first input it fills
    for name in scale_inputs:
        columns.setdefault(grouped.x[name], name)
    scale = np.prod([grouped.inputs[n] for n in columns.values()], axis=0)
    return scale, " x ".join(columns)


def _held_out(scale, owner, cut, cut_value, cut_column) -> np.ndarray:
    if cut_value is not None:
        if cut_column is None:
            raise InputError("cut_value: needs cut_column (the column it is a value of)")
        if not (isinstance(cut_value, (int, float)) and math.isfinite(cut_value)):
            raise InputError(f"cut_value: must be a finite number; got {cut_value!r}")
        return scale > cut_value
    if not (isinstance(cut, (int, float)) and 0 < cut < 1):
        raise InputError(f"cut: must be a fraction in (0, 1); got {cut!r}")
    threshold = pd.Series(scale).groupby(owner).transform(
        lambda v: np.quantile(v, 1.0 - cut, method="higher")).to_numpy()
    return scale >= threshold


def _every_group(params: pd.DataFrame, grouped: GroupedData, by_cols, law: Law) -> pd.DataFrame:
    """The backtest fits with a NaN row for a group with no point below the cut."""
    if not by_cols:
        if len(params):
            return params
        return pd.DataFrame({**{p: [np.nan] for p in law.param_names}, "status": ["invalid_input"]})
    keys = grouped.keys[by_cols]
    merged = keys.merge(params, on=by_cols, how="left")
    merged["status"] = merged["status"].fillna(Status.INVALID_INPUT.label)
    return merged


def _aligned(params: pd.DataFrame, grouped: GroupedData, by_cols) -> np.ndarray:
    """The ``status`` column in the order of ``grouped``'s groups."""
    if not by_cols:
        return params["status"].to_numpy(object)
    return grouped.keys[by_cols].merge(params, on=by_cols, how="left")["status"].to_numpy(object)


def _status(full: np.ndarray, back: np.ndarray) -> np.ndarray:
    return np.where(full != _CONVERGED, "full_" + full.astype(str),
                    np.where(back != _CONVERGED, "backtest_" + back.astype(str), _CONVERGED))


def _group_mean(values, owner, mask, n_groups) -> np.ndarray:
    """Mean of ``values[mask]`` per group (NaN for a group with none, or a NaN value)."""
    total = np.bincount(owner[mask], weights=values[mask], minlength=n_groups)
    count = np.bincount(owner[mask], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _criteria(residual, owner, n_groups, k) -> tuple[np.ndarray, np.ndarray]:
    """AIC and BIC per group (module docstring); NaN where a residual is."""
    n = np.bincount(owner, minlength=n_groups)
    rss = np.bincount(owner, weights=residual**2, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_lik = -0.5 * n * (np.log(2 * np.pi * rss / n) + 1.0)
    return 2 * k - 2 * log_lik, k * np.log(n) - 2 * log_lik


def _ranked(table: pd.DataFrame, by_cols) -> pd.DataFrame:
    groups = (table.groupby(by_cols, sort=False, dropna=False) if by_cols
              else table.groupby(np.zeros(len(table))))
    for score, column in (("are", "are_backtest"), ("aic", "aic"), ("bic", "bic")):
        table[f"rank_{score}"] = groups[column].rank(method="min")
    return table.sort_values([*by_cols, "rank_are", "law"], na_position="last",
                             kind="stable").reset_index(drop=True)
