"""Predictions from a table of fitted parameters, one row per group (a ``FitResult.params`` or
a saved ``lawfit fit`` output): the one home of prediction from a fit, used by
:meth:`FitResult.predict` and ``lawfit predict``.

With parameter draws (bootstrap resamples, e.g. ``lawfit fit --draws``), the interval at
level c of a target is the (1 - c)/2 and (1 + c)/2 percentiles of f(theta_r; x) over the
group's converged draws theta_r (the percentile bootstrap, Efron & Tibshirani 1993, ch. 13).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import jax.numpy as jnp
import numpy as np
import pandas as pd

from lawfit.data import (
    InputError,
    check_columns,
    describe_problems,
    input_columns,
    numeric_column,
    row_list,
)
from lawfit.fitting._status import Status
from lawfit.laws import Law
from lawfit.laws import get as get_law
from lawfit.precision import computing

__all__ = ["FIT_COLUMNS", "UnconvergedFitWarning", "group_columns", "predict"]

#: Columns of a fit's parameter table that are neither parameters nor groups.
FIT_COLUMNS = ("objective", "status", "steps", "n_points", "n_converged", "message", "warning")

_CONVERGED = Status.CONVERGED.label


class UnconvergedFitWarning(UserWarning):
    """Targets of a group whose fit did not converge were predicted as NaN."""


def group_columns(params: pd.DataFrame, law: str | Law) -> list[str]:
    """A parameter table's group columns: all but the parameters, their ``_se``/``_lo``/``_hi``
    columns and a fit's own columns (:data:`FIT_COLUMNS`)."""
    names = get_law(law).param_names
    own = set(names) | set(FIT_COLUMNS) | {f"{p}_{s}" for p in names for s in ("se", "lo", "hi")}
    return [c for c in params.columns if c not in own]


def predict(
    params: pd.DataFrame,
    at: pd.DataFrame,
    *,
    law: str | Law,
    x: Mapping[str, str] | str | None = None,
    by: str | Sequence[str] | None = None,
    draws: pd.DataFrame | None = None,
    ci: float = 0.95,
) -> pd.DataFrame:
    """The law's prediction at every row of ``at`` from its group's parameters.

    Args:
        params: one row per group: the ``by`` columns and one column per parameter; a
            ``status`` column (as a fit writes) marks groups whose fit did not converge.
        at: the targets: the input columns and the ``by`` columns.
        law: the fitted law (a name or a :class:`Law`).
        x: law input -> column of ``at`` (default: columns named as the inputs).
        by: the group columns (default: :func:`group_columns` of ``params``).
        draws: parameter draws (``by`` columns, parameter columns and optionally ``status``;
            only ``converged`` rows are used), e.g. :attr:`FitResult.bootstrap`.
        ci: the interval level with ``draws``.

    Returns:
        ``at``'s columns and ``prediction``; with ``draws`` also ``lo_XX`` and ``hi_XX``
        (``XX`` = 100 ``ci``). A target of a group whose fit did not converge gets NaN, and
        one :class:`UnconvergedFitWarning` names those groups; a target group absent from
        ``params`` is an :class:`InputError` naming its rows.
    """
    law = _law(law)
    if not isinstance(params, pd.DataFrame):
        raise InputError(f"params: expected a DataFrame of parameters; got {type(params).__name__}")
    if not isinstance(at, pd.DataFrame):
        raise InputError(f"at: expected a DataFrame of targets; got {type(at).__name__}")
    if not 0 < ci < 1:
        raise InputError(f"ci must be in (0, 1); got {ci!r}")
    names = list(law.param_names)
    check_columns(params, names, argument="params")
    by_cols = group_columns(params, law) if by is None else [by] if isinstance(by, str) else list(by)
    check_columns(params, by_cols, argument="by")
    mapping = input_columns({n: n for n in law.inputs} if x is None else x, law.inputs,
                            law=law.name)
    check_columns(at, [*mapping.values(), *by_cols], argument="at")
    taken = {"prediction"} | ({_bound("lo", ci), _bound("hi", ci)} if draws is not None else set())
    clash = sorted(taken & set(at.columns))
    if clash:
        raise InputError(f"at: already has column(s) {clash}, which the predictions would replace")
    inputs = _inputs(at, mapping, law)
    row = _group_rows(params, at, by_cols)
    table = params.reset_index(drop=True)

    converged = (table["status"] == _CONVERGED).to_numpy() if "status" in table else np.ones(len(table), bool)
    used = converged[row]
    if not used.all():
        failed = table.loc[np.unique(row[~used]), by_cols]
        groups = failed.head(5).to_dict("records") if by_cols else "the single fit"
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        warnings.warn(
            f"{_count(int((~used).sum()), 'target')} of groups whose fit did not converge "
            "predicted as NaN: "
            f"{groups}{more}",
            UnconvergedFitWarning,
            stacklevel=2,
        )
    theta = {p: np.where(used, table[p].to_numpy(float)[row], np.nan) for p in names}
    out = at.copy()
    out["prediction"] = _evaluate(law, theta, inputs)
    if draws is not None:
        lo, hi = _intervals(law, draws, at, by_cols, inputs, ci)
        out[_bound("lo", ci)] = np.where(used, lo, np.nan)
        out[_bound("hi", ci)] = np.where(used, hi, np.nan)
    return out


def _law(law) -> Law:
    try:
        return get_law(law)
    except ValueError as err:
        raise InputError(f"law: {err}") from None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _bound(side: str, ci: float) -> str:
    """``lo_95`` / ``hi_95`` (``lo_97_5`` for 0.975), as lawfit's forecast tables name them."""
    return f"{side}_{f'{100 * ci:.10g}'.replace('.', '_')}"


def _inputs(at: pd.DataFrame, mapping: Mapping[str, str], law: Law) -> dict[str, np.ndarray]:
    """The target inputs as floats; a non-number (or a value <= 0 for a law that takes logs)
    is an :class:`InputError` naming the column and rows of ``at``."""
    frame = at.reset_index(drop=True)
    labels = np.asarray(at.index)
    inputs = {}
    for name, column in mapping.items():
        values, problem = numeric_column(frame, column, role=f"input {name}")
        problem = problem.to_numpy()
        if law.positive_inputs:
            problem = np.where((problem == "") & ~(np.nan_to_num(values, nan=1.0) > 0),
                               f"column {column!r} (input {name}) must be > 0", problem)
        if (problem != "").any():
            raise InputError("at: " + describe_problems(problem, labels))
        inputs[name] = values
    return inputs


def _group_rows(params: pd.DataFrame, at: pd.DataFrame, by_cols: list[str]) -> np.ndarray:
    """The row of ``params`` holding each target's group."""
    if not by_cols:
        if len(params) != 1:
            raise InputError(f"params: {len(params)} rows but no by columns naming their groups")
        return np.zeros(len(at), np.int64)
    if params.duplicated(by_cols).any():
        raise InputError(f"params: several rows for one group of {by_cols}; pass one row per group "
                         "(parameter draws go in draws)")
    keys = params[by_cols].reset_index(drop=True).assign(_row=np.arange(len(params)))
    merged = _merge(at[by_cols].reset_index(drop=True), keys, by_cols)
    missing = merged["_row"].isna().to_numpy()
    if missing.any():
        groups = at.loc[missing, by_cols].drop_duplicates().head(3).to_dict("records")
        raise InputError(f"at: groups {groups} not in params, at "
                         f"{row_list(np.asarray(at.index)[missing])}")
    return merged["_row"].to_numpy(np.int64)


def _merge(left: pd.DataFrame, right: pd.DataFrame, by_cols: list[str]) -> pd.DataFrame:
    try:
        return left.merge(right, on=by_cols, how="left", sort=False)
    except (ValueError, TypeError):
        raise InputError(f"by: columns {by_cols} hold values of different types in at and in "
                         "params") from None


def _evaluate(law: Law, theta: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]):
    with computing("float64"):
        out = law.predict({p: jnp.asarray(v) for p, v in theta.items()},
                          {n: jnp.asarray(v) for n, v in inputs.items()})
        return np.asarray(out, float)


def _intervals(law, draws, at, by_cols, inputs, ci) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bounds of the prediction over each target group's converged draws (NaN for
    a group without any)."""
    if not isinstance(draws, pd.DataFrame):
        raise InputError(f"draws: expected a DataFrame of parameter draws; got {type(draws).__name__}")
    names = list(law.param_names)
    check_columns(draws, [*by_cols, *names], argument="draws")
    if "status" in draws.columns:
        draws = draws[draws["status"] == _CONVERGED]
    targets = at[by_cols].reset_index(drop=True).assign(_target=np.arange(len(at)))
    pairs = (_merge(targets, draws[[*by_cols, *names]], by_cols) if by_cols
             else targets.merge(draws[names], how="cross"))
    pairs = pairs.dropna(subset=names)
    index = pairs["_target"].to_numpy(np.int64)
    values = _evaluate(law, {p: pairs[p].to_numpy(float) for p in names},
                       {n: v[index] for n, v in inputs.items()})
    per_target = pd.Series(values).groupby(index)
    alpha = (1.0 - ci) / 2.0
    lo = per_target.quantile(alpha).reindex(range(len(at))).to_numpy(float)
    hi = per_target.quantile(1.0 - alpha).reindex(range(len(at))).to_numpy(float)
    return lo, hi
