"""The pandas front end: :func:`fit` reads a table, fits every group, returns tidy tables.

``fit`` is a pipeline of stages, each in its own module: read, validate and group
(:class:`lawfit.data.GroupedData`) -> starts, bounds and fixed values -> a
:class:`~lawfit.fitting._checkpoint.Checkpoint` -> kernel calls over chunks of groups
(:mod:`lawfit.fitting._chunked`) -> result tables (:mod:`lawfit.fitting._tables`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from lawfit.data import (
    GroupedData,
    InputError,
    as_table,
    check_choice,
    check_columns,
    input_columns,
)
from lawfit.fitting._checkpoint import Checkpoint, fingerprint
from lawfit.fitting._chunked import Plan, fit_groups, group_seeds
from lawfit.fitting._dask import fit_dask, is_dask_frame
from lawfit.fitting._lbfgs import LBFGS
from lawfit.fitting._lm import LevenbergMarquardt
from lawfit.fitting._objective import Objective, get_objective
from lawfit.fitting._result import FitResult
from lawfit.fitting._settings import (
    Bootstrap,
    MultiStart,
    as_bootstrap,
    as_multistart,
    start_values,
)
from lawfit.fitting._solver import Solver
from lawfit.fitting._tables import tables, warn_ill_conditioned
from lawfit.laws import Law
from lawfit.laws import get as get_law
from lawfit.precision import PRECISIONS

__all__ = ["FitResult", "fit", "start_values"]

Progress = Callable[[int, int], None]


def fit(
    data: pd.DataFrame | str | os.PathLike,
    law: str | Law,
    x: Mapping[str, str] | str,
    y: str,
    *,
    by: str | Sequence[str] | None = None,
    weights: str | None = None,
    loss: str | Objective = "huber-log",
    delta: float = 1e-3,
    starts: MultiStart | str | int | np.ndarray | pd.DataFrame = "grid",
    bootstrap: Bootstrap | int = 0,
    seed: int = 0,
    solver: str | Solver = "auto",
    max_steps: int | None = None,
    bounds: Mapping[str, tuple] | None = None,
    fixed: Mapping[str, float] | pd.DataFrame | None = None,
    on_invalid: str = "raise",
    duplicates: str = "raise",
    precision: str = "float64",
    chunk: int | None = None,
    progress: Progress | None = None,
    checkpoint: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
) -> FitResult:
    """Fit ``law`` to ``data``, one fit per group of ``by``, from many starts in one kernel.

    Args:
        data: a DataFrame, or a path to a CSV or Parquet file; or a Dask DataFrame, fitted
            partition by partition on the Dask cluster (:mod:`lawfit.fitting._dask`).
        law: a registered law's name (see :func:`lawfit.laws.names`) or a :class:`Law`.
        x: law input -> column, e.g. ``{"N": "n_params", "D": "n_tokens"}``; a column name
            for a one-input law.
        y: the observed column (loss, or accuracy for a link law).
        by: column(s) defining groups; each group is fitted separately.
        weights: optional column of non-negative per-point weights.
        loss: ``huber-log`` (Huber on log residuals, ``delta``), ``mse``, ``log-mse``,
            ``msle`` (squared error of log(1 + y)), ``asymmetric-log`` (log-mse weighted 4x
            on over-estimates) or ``huber-log-scale`` (Huber with a learned scale); the
            objective is summed over points.
        starts: a :class:`MultiStart` (starts, screening, polish, lanes) or its ``starts``
            alone: ``"grid"`` / ``"hoffmann"`` (the law's start grid, with parameters
            declared ``placed_in`` an input placed in each group's range of it), an integer number of
            Latin-hypercube starts (drawn with ``seed``), or an (S, K) array; the best start
            of each group is kept. Starts equal in every free parameter are fitted once.
        bootstrap: a :class:`Bootstrap` or its number of resamples R per group, each refit
            from the group's optimum (seeded by ``seed`` and the group's key); adds SEs and
            percentile CIs.
        solver: ``"auto"`` (Levenberg-Marquardt for ``mse``/``log-mse``, L-BFGS for
            ``huber-log``), ``"lm"``, ``"lbfgs"``, or a solver instance.
        max_steps: step cap per fit.
        bounds: parameter -> (lower, upper) natural bounds (None for open); replaces the law's.
        fixed: parameter -> value held fixed, or a DataFrame of ``by`` columns and parameter
            columns giving per-group values (e.g. another family's fit, for borrowing).
        on_invalid: ``"raise"`` (default): any invalid row (text, NaN or infinity in a used
            column, an input <= 0 for a law that takes logs, y <= 0 for a log loss, a negative
            weight, a row breaking the law's row rules, a duplicated row under
            ``duplicates="raise"``) or any group with fewer points than free parameters or a
            constant input raises :class:`InputError` naming the columns and rows.
            ``"skip"``: such a group is reported with status ``invalid_input`` and a message,
            and every other group is fitted exactly as it would be alone.
        duplicates: rows repeated in all of by/x/y(/weights): ``"raise"``, ``"drop"`` or ``"keep"``.
        precision: ``"float64"`` (default) or ``"float32"`` (see :mod:`lawfit.precision`).
        chunk: groups per kernel call (default: as many as keep groups x starts, and groups
            x resamples, within 65,536 tasks). Results do not depend on it.
        progress: called as ``progress(groups_done, groups_total)`` after each kernel call.
        checkpoint: a ``.parquet`` path. After each kernel call the finished groups are
            saved there (the file is rewritten atomically); a later call with the same data
            and options fits only the groups not in it, and returns what an uninterrupted
            run returns. A checkpoint from other data or options is an :class:`InputError`.
        out: only with a Dask DataFrame: the folder the parameters are written to, one
            Parquet file per partition (resumable).

    Returns:
        A :class:`FitResult` (for a Dask DataFrame, a lazy Dask DataFrame of the parameters
        read back from ``out``); fits that are ill-conditioned or pinned at a bound have a
        ``warning`` in its ``params`` and are summarised in one ``IllConditionedWarning``.
    """
    if is_dask_frame(data):
        if checkpoint is not None or progress is not None:
            raise InputError("checkpoint, progress: not with a Dask DataFrame (out= resumes)")
        return fit_dask(data, law, x, y, by=by, out=out, weights=weights, loss=loss,
                        delta=delta, starts=starts, bootstrap=bootstrap, seed=seed,
                        solver=solver, max_steps=max_steps, bounds=bounds, fixed=fixed,
                        on_invalid=on_invalid, duplicates=duplicates, precision=precision,
                        chunk=chunk)
    if out is not None:
        raise InputError("out: only a Dask DataFrame's fit is written to a folder")
    data, law = as_table(data), _get_law(law)
    search, resampling = as_multistart(starts), as_bootstrap(bootstrap)
    _check_options(seed, delta, max_steps, chunk, progress, precision)
    objective = _objective(loss, delta)
    solver = _solver(solver, max_steps, objective)
    mapping, by_cols = input_columns(x, law.inputs, law=law.name), _by_columns(by)
    _check_data_columns(data, mapping, y, by_cols, weights)
    lower, upper = _bounds(law, bounds)

    grouped = GroupedData.from_frame(
        data, mapping, y, by=by_cols, weights=weights,
        positive_inputs=law.positive_inputs,
        y_lower=(None if objective.y_lower is None
                 else (objective.y_lower, f"for the {objective.name} loss")),
        min_points=lambda keys: _n_free(law, fixed, by_cols, keys, lower, upper),
        row_checks=law.row_checks, duplicates=duplicates, on_invalid=on_invalid,
    )
    fixed_values, free = _fixed(law, fixed, by_cols, grouped.keys, lower, upper)
    placed = isinstance(search.starts, str) and law.places_starts
    search = search.with_starts(start_values(law, search, lower, upper, seed))
    resamples = resampling.resamples
    seeds = group_seeds(seed, grouped.key_tuples(), resamples)
    plan = Plan(law, objective, solver, search, lower, upper, fixed_values, free, resamples,
                seeds, precision, placed)
    stamp = _fingerprint(plan, grouped, (mapping, y, by_cols, weights, resamples, seed))
    raw = fit_groups(plan, grouped, Checkpoint.at(checkpoint, stamp), chunk, progress)

    params, boot = tables(law, grouped, raw, resampling.ci, resamples)
    warn_ill_conditioned(params, by_cols)
    return FitResult(params, law, mapping, y, by_cols, objective, resampling.ci, boot)


def _fingerprint(plan: Plan, grouped: GroupedData, options: tuple) -> str:
    """The checkpoint stamp of a fit: its law, objective, solver, settings and data."""
    law, search = plan.law, plan.search
    head = (law.name, law.formula, law.inputs, law.param_names, repr(plan.objective),
            repr(plan.solver), (search.screen_ftol, search.screen_precision, search.polish),
            options, plan.precision, plan.placed)
    arrays = [search.starts, plan.lower, plan.upper, plan.fixed_values, plan.free]
    return fingerprint(head, grouped, arrays)


def _input_columns(law: Law, x) -> dict[str, str]:
    """``x`` checked against ``law``'s inputs (kept for lawfit.bayes until it takes GroupedData)."""
    return input_columns(x, law.inputs, law=law.name)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _get_law(law) -> Law:
    try:
        return get_law(law)
    except ValueError as err:
        raise InputError(f"law: {err}") from None


def _objective(loss, delta) -> Objective:
    try:
        return get_objective(loss, delta)
    except ValueError as err:
        raise InputError(f"loss: {err}") from None


def _check_options(seed, delta, max_steps, chunk, progress, precision) -> None:
    """Raise :class:`InputError` naming the first bad scalar option."""
    check_choice(precision, PRECISIONS, argument="precision")
    if not (_is_int(seed) and seed >= 0):
        raise InputError(f"seed must be a non-negative integer; got {seed!r}")
    if not (_is_real(delta) and math.isfinite(delta) and delta > 0):
        raise InputError(f"delta must be a positive number; got {delta!r}")
    if max_steps is not None and not (_is_int(max_steps) and max_steps >= 1):
        raise InputError(f"max_steps must be a positive integer; got {max_steps!r}")
    if chunk is not None and not (_is_int(chunk) and chunk >= 1):
        raise InputError(f"chunk must be a positive integer (groups per kernel call); got {chunk!r}")
    if progress is not None and not callable(progress):
        raise InputError(f"progress must be callable; got {type(progress).__name__}")


def _by_columns(by) -> list[str]:
    return [by] if isinstance(by, str) else list(by or [])


def _check_data_columns(data, mapping, y, by_cols, weights) -> None:
    if not isinstance(y, str):
        raise InputError(f"y must be a column name; got {y!r}")
    check_columns(data, list(mapping.values()), argument="x")
    check_columns(data, [y], argument="y")
    check_columns(data, by_cols, argument="by")
    if weights is not None:
        check_columns(data, [weights], argument="weights")


def _solver(solver: str | Solver, max_steps: int | None, objective: Objective) -> Solver:
    """``"auto"``: Levenberg-Marquardt for least squares, L-BFGS for the Huber loss, whose
    Gauss-Newton model is poor where residuals exceed delta (LM then converges linearly)."""
    if isinstance(solver, Solver):
        return solver if max_steps is None else dataclasses.replace(solver, max_steps=max_steps)
    if solver == "auto":
        solver = objective.default_solver
    choices = {"lm": LevenbergMarquardt, "lbfgs": LBFGS}
    if solver not in choices:
        raise InputError(f"solver must be auto, lm or lbfgs, or a Solver; got {solver!r}")
    try:
        return choices[solver]() if max_steps is None else choices[solver](max_steps=int(max_steps))
    except ValueError as err:
        raise InputError(f"solver: {err}") from None





def _bounds(law: Law, bounds: Mapping | None) -> tuple[np.ndarray, np.ndarray]:
    lower, upper = law.lower.copy(), law.upper.copy()
    for name, pair in (bounds or {}).items():
        if name not in law.param_names:
            raise InputError(
                f"bounds: {name!r} is not a parameter of {law.name!r} ({law.param_names})"
            )
        try:
            lo, hi = (
                -math.inf if pair[0] is None else float(pair[0]),
                math.inf if pair[1] is None else float(pair[1]),
            )
        except (TypeError, ValueError, IndexError):
            raise InputError(
                f"bounds: {name!r} needs a (lower, upper) pair; got {pair!r}"
            ) from None
        if not lo < hi:
            raise InputError(f"bounds: {name!r} needs lower < upper; got ({lo}, {hi})")
        i = law.param_names.index(name)
        lower[i], upper[i] = lo, hi
    return lower, upper


def _fixed_table(law, fixed, by_cols, keys):
    """(G, K) fixed values per group (NaN where free), from a mapping or a per-group table."""
    n_groups, k = len(keys), len(law.params)
    values = np.full((n_groups, k), np.nan)
    if isinstance(fixed, pd.DataFrame):
        check_columns(fixed, by_cols, argument="fixed")
        names = [c for c in fixed.columns if c in law.param_names]
        if not names:
            raise InputError(f"fixed: no parameter columns of {law.name!r} ({law.param_names})")
        if not by_cols:
            table = fixed[names].iloc[:1].reset_index(drop=True)
            table = pd.concat([table] * n_groups, ignore_index=True)
        else:
            table = keys.merge(fixed[[*by_cols, *names]].drop_duplicates(by_cols), on=by_cols,
                               how="left", indicator=True)
            absent = (table["_merge"] == "left_only").to_numpy()
            if absent.any():
                key = keys.iloc[int(np.argmax(absent))].to_dict()
                raise InputError(f"fixed: no row for group {key}")
        for name in names:
            values[:, law.param_names.index(name)] = table[name].to_numpy(dtype=float)
    elif isinstance(fixed, Mapping):
        for name, value in fixed.items():
            if name not in law.param_names:
                raise InputError(
                    f"fixed: {name!r} is not a parameter of {law.name!r} ({law.param_names})"
                )
            values[:, law.param_names.index(name)] = float(value)
    else:
        raise InputError(
            "fixed must map parameters to values, or be a DataFrame of per-group values"
        )
    return values


def _n_free(law, fixed, by_cols, keys, lower, upper) -> np.ndarray:
    """(G,) free parameters per group: the points each group needs."""
    free = _fixed(law, fixed, by_cols, keys, lower, upper)[1]
    return np.full(len(keys), len(law.params)) if free is None else free.sum(axis=1)


def _fixed(law, fixed, by_cols, keys, lower, upper):
    """Per-group (G, K) fixed values and free mask, or (None, None) when nothing is fixed."""
    if fixed is None or (isinstance(fixed, Mapping) and not fixed):
        return None, None
    values = _fixed_table(law, fixed, by_cols, keys)
    given = np.isfinite(values)
    outside = given & ((values <= lower) | (values >= upper))
    if outside.any():
        bad = law.param_names[int(np.argwhere(outside)[0][1])]
        raise InputError(f"fixed: the value of {bad!r} lies outside its bounds")
    return np.where(given, values, 1.0), ~given
