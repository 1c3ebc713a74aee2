"""The pandas front end: validate a DataFrame, fit every group, return tidy tables."""

from __future__ import annotations

import hashlib
import math
import numbers
import os
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from lawfit.data import (
    InputError,
    check_choice,
    check_columns,
    numeric_column,
    read_table,
    row_list,
    write_table,
)
from lawfit.fitting._batch import fit_batch, move_inside
from lawfit.fitting._dask import fit_dask, is_dask_frame
from lawfit.fitting._diagnostics import IllConditionedWarning, diagnose, warning_messages
from lawfit.fitting._lbfgs import LBFGS
from lawfit.fitting._lm import LevenbergMarquardt
from lawfit.fitting._objective import Objective, get_objective
from lawfit.fitting._solver import Solver
from lawfit.fitting._status import Status
from lawfit.laws import Law
from lawfit.laws import get as get_law
from lawfit.laws.bijection import to_natural, to_unconstrained

__all__ = ["FitResult", "fit", "start_values"]

_MAX_TASKS = 1 << 16
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        params: one row per group: the ``by`` columns, one column per parameter (natural
            units), ``objective`` (summed loss at the optimum), ``status``, ``steps``,
            ``n_points``, ``n_converged`` (starts that converged), ``message`` (why a fit
            failed or was not run), ``warning`` (a parameter at or near a bound, or an
            ill-conditioned optimum; empty when fine); with a bootstrap also
            ``{param}_se``, ``{param}_lo``, ``{param}_hi`` (percentile CI).
        law, x, y, by: what was fitted (``x`` maps law inputs to columns).
        bootstrap: long table of resample fits (``by`` columns, ``resample``, parameters,
            ``status``), or None.
        objective: the objective used; ``ci``: the CI level.
    """

    params: pd.DataFrame
    law: Law
    x: dict[str, str]
    y: str
    by: list[str]
    objective: Objective
    ci: float = 0.95
    bootstrap: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.law.param_names

    def predict(self, data: pd.DataFrame, x: Mapping[str, str] | str | None = None) -> np.ndarray:
        """Predictions for every row of ``data`` from its group's fitted parameters.

        ``x`` maps inputs to columns of ``data`` (default: the fit's mapping). Rows of a
        group that was not fitted successfully get NaN and a warning naming the group; a
        group absent from the fit is an error.
        """
        mapping = self.x if x is None else _input_columns(self.law, x)
        check_columns(data, list(mapping.values()), argument="x")
        inputs = {}
        for name, column in mapping.items():
            values, problem = numeric_column(data, column, role=f"input {name}")
            _raise_problems(problem)
            inputs[name] = values
        if self.by:
            check_columns(data, self.by, argument="by")
            keys = data[self.by].reset_index(drop=True)
            merged = keys.merge(self.params, on=self.by, how="left", indicator=True)
            absent = merged["_merge"] == "left_only"
            if absent.any():
                missing = keys[absent.to_numpy()].drop_duplicates().head(5).to_dict("records")
                raise InputError(f"predict: groups not in the fit: {missing}")
            table = merged
        else:
            table = pd.concat([self.params] * len(data), ignore_index=True)
        failed = table["status"] != Status.CONVERGED.label
        if failed.any():
            groups = table.loc[failed, self.by].drop_duplicates().head(5).to_dict("records")
            warnings.warn(
                f"predict: {int(failed.sum())} rows belong to groups whose fit did not converge "
                f"({groups or 'the single group'}); their predictions use the best parameters "
                "found, or NaN where there are none",
                stacklevel=2,
            )
        with jax.enable_x64(True):
            params = {p: jnp.asarray(table[p].to_numpy(dtype=float)) for p in self.param_names}
            out = self.law.predict(params, {k: jnp.asarray(v) for k, v in inputs.items()})
            return np.asarray(out)

    def summary(self) -> str:
        """A readable table of the fitted parameters (with CIs when bootstrapped)."""
        lines = []
        for _, row in self.params.iterrows():
            head = ", ".join(f"{b}={row[b]}" for b in self.by)
            lines.append(
                f"{self.law.name}{' [' + head + ']' if head else ''}: {self.law.formula}\n"
                f"  status {row['status']}, objective {row['objective']:.6g}, "
                f"{row['n_points']} points"
            )
            has_ci = f"{self.param_names[0]}_lo" in self.params.columns
            pct = round(100 * self.ci)
            header = f"  {'param':<10}{'estimate':>14}"
            if has_ci:
                header += f"{'SE':>12}{f'{pct}% CI':>28}"
            lines.append(header)
            for p in self.param_names:
                line = f"  {p:<10}{_fmt(row[p]):>14}"
                if has_ci:
                    ci = f"({_fmt(row[p + '_lo'])}, {_fmt(row[p + '_hi'])})"
                    line += f"{_fmt(row[p + '_se']):>12}{ci:>28}"
                lines.append(line)
        return "\n".join(lines)


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return str(value)
    return f"{value:.6g}" if 1e-3 <= abs(value) < 1e6 or value == 0 else f"{value:.4e}"


def _input_columns(law: Law, x) -> dict[str, str]:
    if isinstance(x, str):
        if len(law.inputs) != 1:
            raise InputError(
                f"x: law {law.name!r} has inputs {', '.join(law.inputs)}; map each to a column, "
                f"e.g. x={{{', '.join(f'{n!r}: ...' for n in law.inputs)}}}"
            )
        return {law.inputs[0]: x}
    if not isinstance(x, Mapping) or not x:
        raise InputError("x must map the law's inputs to columns, e.g. {'N': 'params'}")
    mapping = {str(k): v for k, v in x.items()}
    if len(law.inputs) == 1 and len(mapping) == 1 and law.inputs[0] not in mapping:
        return {law.inputs[0]: next(iter(mapping.values()))}
    unknown = set(mapping) - set(law.inputs)
    missing = set(law.inputs) - set(mapping)
    if unknown or missing:
        raise InputError(
            f"x: law {law.name!r} takes inputs {', '.join(law.inputs)}"
            + (f"; unknown {sorted(unknown)}" if unknown else "")
            + (f"; missing {sorted(missing)}" if missing else "")
        )
    for name, column in mapping.items():
        if not isinstance(column, str):
            raise InputError(f"x: the column for input {name!r} must be a name; got {column!r}")
    return {name: mapping[name] for name in law.inputs}


def _solver(solver: str | Solver, max_steps: int | None, objective: Objective) -> Solver:
    """``"auto"``: Levenberg-Marquardt for least squares, L-BFGS for the Huber loss, whose
    Gauss-Newton model is poor where residuals exceed delta (LM then converges linearly)."""
    if isinstance(solver, Solver):
        return solver if max_steps is None else _replace(solver, max_steps=max_steps)
    if solver == "auto":
        solver = "lbfgs" if objective.name == "huber-log" else "lm"
    choices = {"lm": LevenbergMarquardt, "lbfgs": LBFGS}
    if solver not in choices:
        raise InputError(f"solver must be auto, lm or lbfgs, or a Solver; got {solver!r}")
    try:
        return choices[solver]() if max_steps is None else choices[solver](max_steps=int(max_steps))
    except ValueError as err:
        raise InputError(f"solver: {err}") from None


def _replace(obj, **changes):
    import dataclasses

    return dataclasses.replace(obj, **changes)


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


def start_values(law: Law, starts, lower, upper, seed: int = 0) -> np.ndarray:
    """(S, K) natural-unit starts: the law's grid, ``n`` Latin-hypercube draws, or an array.

    Random starts fill the box that the grid spans in the unconstrained space (one unit
    wider on each side), so they respect the bounds and the grid's scales.
    """
    if isinstance(starts, str):
        if starts not in ("grid", "hoffmann"):
            raise InputError(
                f"starts must be 'grid', 'hoffmann', an integer or an array; got {starts!r}"
            )
        return law.start_grid()
    if isinstance(starts, (int, np.integer)) and not isinstance(starts, bool):
        if starts < 1:
            raise InputError(f"starts: need at least one start; got {starts}")
        grid = move_inside(law.start_grid(), lower, upper)
        with jax.enable_x64(True):
            u = np.asarray(to_unconstrained(grid, lower, upper))
            lo, hi = u.min(axis=0) - 1.0, u.max(axis=0) + 1.0
            rng = np.random.default_rng(seed)
            strata = np.stack([rng.permutation(starts) for _ in range(len(lo))], axis=1)
            unit = (strata + rng.random((starts, len(lo)))) / starts
            return np.asarray(to_natural(lo + unit * (hi - lo), lower, upper))
    values = np.asarray(starts.to_numpy() if isinstance(starts, pd.DataFrame) else starts, float)
    if isinstance(starts, pd.DataFrame):
        check_columns(starts, list(law.param_names), argument="starts")
        values = starts[list(law.param_names)].to_numpy(dtype=float)
    values = np.atleast_2d(values)
    if values.shape[1] != len(law.params) or not np.all(np.isfinite(values)):
        raise InputError(
            f"starts: need finite values of shape (S, {len(law.params)}) in the order {law.param_names}"
        )
    return values


def _bucket(n: int) -> int:
    """Pad sizes to powers of two (at least 8) so few shapes are compiled."""
    return max(8, 1 << max(0, math.ceil(math.log2(max(n, 1)))))


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
    starts="grid",
    bootstrap: int = 0,
    ci: float = 0.95,
    seed: int = 0,
    solver: str | Solver = "auto",
    max_steps: int | None = None,
    bounds: Mapping[str, tuple] | None = None,
    fixed: Mapping[str, float] | pd.DataFrame | None = None,
    on_invalid: str = "raise",
    duplicates: str = "raise",
    precision: str = "float64",
    progress: Progress | None = None,
    checkpoint: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
) -> FitResult:
    """Fit ``law`` to ``data``, one fit per group of ``by``, from many starts in one kernel.

    Args:
        data: a DataFrame, or a path to a CSV or Parquet file.
        law: a registered law's name (see :func:`lawfit.laws.names`) or a :class:`Law`.
        x: law input -> column, e.g. ``{"N": "n_params", "D": "n_tokens"}``; a column name
            for a one-input law.
        y: the observed column (loss, or accuracy for a link law).
        by: column(s) defining groups; each group is fitted separately.
        weights: optional column of non-negative per-point weights.
        loss: ``huber-log`` (Huber on log residuals, ``delta``), ``mse`` or ``log-mse``; the
            objective is summed over points.
        starts: ``"grid"`` / ``"hoffmann"`` (the law's start grid; Hoffmann et al.'s 4,500
            starts for ``chinchilla``), an integer number of Latin-hypercube starts, or an
            (S, K) array; the best start of each group is kept.
        bootstrap: R resamples per group, each refit from the group's optimum; adds SEs and
            percentile CIs at level ``ci``.
        solver: ``"auto"`` (Levenberg-Marquardt for ``mse``/``log-mse``, L-BFGS for
            ``huber-log``), ``"lm"``, ``"lbfgs"``, or a solver instance.
        max_steps: step cap per fit.
        bounds: parameter -> (lower, upper) natural bounds (None for open); replaces the law's.
        fixed: parameter -> value held fixed, or a DataFrame of ``by`` columns and parameter
            columns giving per-group values (e.g. another family's fit, for borrowing).
        on_invalid: ``"raise"`` (default): any invalid row (text, NaN or infinity in a used
            column, an input <= 0 for a law that takes logs, y <= 0 for a log loss, a negative
            weight, a duplicated row under ``duplicates="raise"``) or any group with fewer
            points than free parameters or a constant input raises :class:`InputError`
            naming the columns and rows. ``"skip"``: such a group is reported with status
            ``invalid_input`` and a message, and every other group is fitted exactly as it
            would be alone.
        duplicates: rows repeated in all of by/x/y(/weights): ``"raise"``, ``"drop"`` or ``"keep"``.
        precision: ``"float64"`` (default) or ``"float32"``.
        progress: called as ``progress(groups_done, groups_total)`` after each kernel call.
        checkpoint: a ``.parquet`` path. After each kernel call the finished groups are
            saved there (the file is rewritten atomically); a later call with the same data
            and options fits only the groups not in it, and returns what an uninterrupted
            run returns. A checkpoint from other data or options is an :class:`InputError`.
        out: only for a Dask DataFrame ``data`` (see :func:`lawfit.fitting._dask.fit_dask`):
            the Parquet folder the parameters are written to, one file per partition.

    Returns:
        A :class:`FitResult` (for a Dask DataFrame, a lazy Dask DataFrame of the parameters
        read from ``out``). Its ``params`` table has a ``warning`` column (after
        ``message``), empty unless the fit is ill-conditioned or pinned at a bound (see
        :mod:`lawfit.fitting._diagnostics`); such fits are also summarised in one
        :class:`IllConditionedWarning`.
    """
    if is_dask_frame(data):
        options = {"weights": weights, "loss": loss, "delta": delta, "starts": starts,
                   "bootstrap": bootstrap, "ci": ci, "seed": seed, "solver": solver,
                   "max_steps": max_steps, "bounds": bounds, "fixed": fixed,
                   "on_invalid": on_invalid, "duplicates": duplicates, "precision": precision}
        return fit_dask(data, law, x, y, by=by, out=out, **options)
    if out is not None:
        raise InputError("out: only a Dask DataFrame's fit is written to a folder")
    if isinstance(data, (str, os.PathLike)):
        data = read_table(data)
    elif not isinstance(data, pd.DataFrame):
        raise InputError(
            f"data must be a DataFrame or a path to a CSV or Parquet file; got {type(data).__name__}"
        )
    try:
        law = get_law(law)
    except ValueError as err:
        raise InputError(f"law: {err}") from None
    check_choice(on_invalid, ("raise", "skip"), argument="on_invalid")
    check_choice(duplicates, ("raise", "drop", "keep"), argument="duplicates")
    check_choice(precision, ("float64", "float32"), argument="precision")
    if not (_is_int(bootstrap) and bootstrap >= 0):
        raise InputError(f"bootstrap must be a non-negative integer; got {bootstrap!r}")
    if not (_is_int(seed) and seed >= 0):
        raise InputError(f"seed must be a non-negative integer; got {seed!r}")
    if not (_is_real(ci) and 0 < ci < 1):
        raise InputError(f"ci must be in (0, 1); got {ci!r}")
    if not (_is_real(delta) and math.isfinite(delta) and delta > 0):
        raise InputError(f"delta must be a positive number; got {delta!r}")
    if max_steps is not None and not (_is_int(max_steps) and max_steps >= 1):
        raise InputError(f"max_steps must be a positive integer; got {max_steps!r}")
    if progress is not None and not callable(progress):
        raise InputError(f"progress must be callable; got {type(progress).__name__}")
    checkpoint = _checkpoint_path(checkpoint)
    try:
        objective = get_objective(loss, delta)
    except ValueError as err:
        raise InputError(f"loss: {err}") from None
    solver_ = _solver(solver, max_steps, objective)
    mapping = _input_columns(law, x)
    by_cols = [by] if isinstance(by, str) else list(by or [])
    if not isinstance(y, str):
        raise InputError(f"y must be a column name; got {y!r}")
    check_columns(data, list(mapping.values()), argument="x")
    check_columns(data, [y], argument="y")
    check_columns(data, by_cols, argument="by")
    if weights is not None:
        check_columns(data, [weights], argument="weights")
    lower, upper = _bounds(law, bounds)

    # --- per-row checks --------------------------------------------------------------
    frame = data.reset_index(drop=True)
    labels = np.asarray(data.index)  # the caller's row labels, for messages
    columns = {}
    problems = pd.Series("", index=frame.index, dtype=object)

    def note(mask, message):
        fresh = np.asarray(mask) & (problems.to_numpy() == "")
        problems[fresh] = message

    for name, column in mapping.items():
        values, problem = numeric_column(frame, column, role=f"input {name}")
        note(problem != "", problem)
        if law.positive_inputs:
            note(
                np.nan_to_num(values, nan=1.0) <= 0,
                f"column {column!r} (input {name}) must be > 0",
            )
        columns[name] = values
    y_values, problem = numeric_column(frame, y, role="y")
    note(problem != "", problem)
    if objective.log_space:
        note(
            np.nan_to_num(y_values, nan=1.0) <= 0,
            f"column {y!r} (y) must be > 0 for the {objective.name} loss",
        )
    w_values = np.ones(len(frame))
    if weights is not None:
        w_values, problem = numeric_column(frame, weights, role="weights")
        note(problem != "", problem)
        note(np.nan_to_num(w_values, nan=0.0) < 0, f"column {weights!r} (weights) must be >= 0")

    key_names = list(dict.fromkeys([*by_cols, *mapping.values(), y, *([weights] if weights else [])]))
    row_keys = pd.DataFrame(
        {
            **{f"by:{c}": frame[c] for c in by_cols},
            **{f"x:{n}": v for n, v in columns.items()},
            "y": y_values,
            "w": w_values,
        }
    )
    try:
        repeated = row_keys.duplicated(keep="first").to_numpy() & (problems.to_numpy() == "")
    except TypeError:
        raise InputError(
            f"by: columns {by_cols} hold values that cannot be grouped (such as lists)"
        ) from None
    if repeated.any():
        if duplicates == "raise" and on_invalid == "raise":
            n_repeated = int(repeated.sum())
            raise InputError(
                f"data: {n_repeated} duplicated row{'s' if n_repeated > 1 else ''} "
                f"(same {', '.join(key_names)}) at {row_list(labels[repeated])}; "
                "pass duplicates='drop' or 'keep'"
            )
        if duplicates == "raise":
            note(repeated, f"duplicated row (same {', '.join(key_names)} as an earlier row)")
        if duplicates == "drop":
            keep = ~repeated
            frame, problems, labels = frame[keep], problems[keep], labels[keep]
            columns = {k: v[keep] for k, v in columns.items()}
            y_values, w_values = y_values[keep], w_values[keep]
            frame = frame.reset_index(drop=True)
            problems = problems.reset_index(drop=True)

    if on_invalid == "raise":
        _raise_problems(problems, labels=labels)

    # --- groups ------------------------------------------------------------------------
    if by_cols:
        try:
            grouped = frame.groupby(by_cols, sort=True, dropna=False).indices
        except TypeError:
            raise InputError(
                f"by: columns {by_cols} hold values that cannot be grouped or sorted"
            ) from None
        keys = list(grouped)
        index_of = [np.asarray(grouped[k]) for k in keys]
        key_rows = [k if isinstance(k, tuple) else (k,) for k in keys]
    else:
        key_rows, index_of = [()], [np.arange(len(frame))]

    n_free_default = len(law.params)
    fixed_values, free = _fixed(law, fixed, by_cols, key_rows, lower, upper)
    messages = []
    bad_rows = problems.to_numpy()
    for g, idx in enumerate(index_of):
        bad = bad_rows[idx]
        reason = ""
        if (bad != "").any():
            n_bad = int((bad != "").sum())
            reason = f"{n_bad} invalid row{'s' if n_bad > 1 else ''}: " + _describe(
                bad, labels[idx]
            )
        else:
            n_free = int(free[g].sum()) if free is not None else n_free_default
            used = idx[w_values[idx] > 0]
            if len(used) < n_free:
                reason = (
                    f"{len(used)} points with positive weight, fewer than the {n_free} "
                    "free parameters"
                )
            else:
                for name, column in mapping.items():
                    if len(used) > 1 and np.ptp(columns[name][used]) == 0:
                        reason = (
                            f"input {name} (column {column!r}) is constant "
                            f"({columns[name][used[0]]:g} in every row), so the law's "
                            "dependence on it cannot be fitted"
                        )
                        break
        if reason and on_invalid == "raise":
            label = f"group {dict(zip(by_cols, key_rows[g], strict=True))}" if by_cols else "data"
            raise InputError(f"{label}: {reason}")
        messages.append(reason)

    start_grid = start_values(law, starts, lower, upper, seed)
    valid = [g for g, m in enumerate(messages) if not m]
    dtype = jnp.float64 if precision == "float64" else jnp.float32
    fingerprint = _fingerprint(
        law,
        objective,
        solver_,
        (mapping, y, by_cols, weights, int(bootstrap), int(seed), precision),
        [start_grid, lower, upper, fixed_values, free, columns, y_values, w_values],
        key_rows,
        index_of,
        messages,
    )
    k = len(law.params)
    results, pieces = _load_checkpoint(checkpoint, fingerprint, k, set(valid))
    total = len(valid)
    if results and progress is not None:
        progress(len(results), total)
    for chunk in _chunks(valid, index_of, len(start_grid), bootstrap):
        if all(g in results for g in chunk):
            continue
        p_pad = _bucket(max(len(index_of[g]) for g in chunk))
        g_pad = _bucket(len(chunk)) if len(chunk) > 1 else 1
        arrays = _pad(chunk, index_of, columns, y_values, w_values, p_pad, g_pad)
        sel = np.asarray(chunk + [chunk[0]] * (g_pad - len(chunk)))
        chunk_fixed = None if fixed_values is None else fixed_values[sel]
        chunk_free = None if free is None else free[sel]
        with jax.enable_x64(precision == "float64"):
            out = fit_batch(
                law,
                arrays["x"],
                arrays["y"],
                arrays["w"],
                starts=start_grid,
                lower=lower,
                upper=upper,
                free=chunk_free,
                fixed_values=chunk_fixed,
                objective=objective,
                solver=solver_,
                bootstrap=int(bootstrap),
                seed=np.array([_group_seed(seed, key_rows[g]) for g in sel], np.uint32),
                dtype=dtype,
            )
        diagnosis = diagnose(
            law,
            objective,
            arrays["x"],
            arrays["y"],
            arrays["w"],
            np.asarray(out.u, float),
            lower,
            upper,
            free=chunk_free,
        )
        notes = warning_messages(law, diagnosis)
        fresh = {}
        for i, g in enumerate(chunk):
            status = int(out.status[i])
            fresh[g] = _GroupFit(
                params=np.asarray(out.params[i], float),
                objective=float(out.objective[i]),
                steps=int(out.steps[i]),
                status=status,
                n_converged=int(out.n_converged[i]),
                # Diagnostics describe an optimum: not a point where the step cap struck.
                warning="" if status in (Status.NONFINITE, Status.MAX_STEPS) else notes[i],
                boot_params=None if out.boot_params is None else np.asarray(out.boot_params[i], float),
                boot_status=None if out.boot_status is None else np.asarray(out.boot_status[i]),
            )
        results.update(fresh)
        if checkpoint is not None:
            pieces.append(_checkpoint_frame(fingerprint, fresh))
            write_table(pd.concat(pieces, ignore_index=True), checkpoint)
        if progress is not None:
            progress(len(results), total)

    params, boot = _tables(
        law, by_cols, key_rows, index_of, w_values, messages, results, ci, bootstrap
    )
    _warn_ill_conditioned(params, by_cols)
    return FitResult(params, law, mapping, y, by_cols, objective, ci, boot)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _describe(problem: np.ndarray, labels: np.ndarray) -> str:
    """'column 'N' (input N) is not a number at rows 3, 7; ...' for the non-empty entries."""
    bad = problem != ""
    parts = []
    for message in dict.fromkeys(problem[bad]):
        parts.append(f"{message} at {row_list(labels[problem == message])}")
    return "; ".join(parts)


def _raise_problems(problem: pd.Series, argument: str = "data", labels=None) -> None:
    values = problem.to_numpy()
    if not (values != "").any():
        return
    labels = np.asarray(problem.index) if labels is None else np.asarray(labels)
    raise InputError(f"{argument}: " + _describe(values, labels))


def _warn_ill_conditioned(params: pd.DataFrame, by_cols: list[str]) -> None:
    """One :class:`IllConditionedWarning` naming (up to five of) the flagged groups."""
    flagged = params[params["warning"] != ""]
    if flagged.empty:
        return
    shown = []
    for _, row in flagged.head(5).iterrows():
        head = f"group {dict((b, row[b]) for b in by_cols)}: " if by_cols else ""
        shown.append(head + row["warning"])
    more = f" (and {len(flagged) - 5} more)" if len(flagged) > 5 else ""
    warnings.warn(
        f"{len(flagged)} of {len(params)} fits are ill-conditioned or at a bound{more}; "
        + " | ".join(shown)
        + "; see the 'warning' column of FitResult.params",
        IllConditionedWarning,
        stacklevel=3,
    )


class _GroupFit(NamedTuple):
    """One group's fit, as kept between kernel calls and in a checkpoint."""

    params: np.ndarray
    objective: float
    steps: int
    status: int
    n_converged: int
    warning: str
    boot_params: np.ndarray | None
    boot_status: np.ndarray | None


def _checkpoint_path(checkpoint) -> str | None:
    if checkpoint is None:
        return None
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise InputError(f"checkpoint must be a path; got {type(checkpoint).__name__}")
    path = os.fspath(checkpoint)
    if not path.lower().endswith(".parquet"):
        raise InputError(f"checkpoint {path!r}: expected a .parquet path")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"checkpoint {path!r}: folder {folder!r} does not exist")
    return path


def _fingerprint(law, objective, solver, options, arrays, key_rows, index_of, messages) -> str:
    """A short hash of everything that determines the raw fits: law, objective, solver and
    its tolerances, options, starts, bounds, fixed values and the validated data by group
    (not ``ci``: the tables are rebuilt from the raw fits)."""
    digest = hashlib.sha256()
    head = (law.name, law.formula, law.inputs, law.param_names, repr(objective), repr(solver))
    digest.update(repr((head, options, key_rows, messages)).encode())
    for item in arrays:
        for a in item.values() if isinstance(item, dict) else [item]:
            if a is not None:
                digest.update(np.ascontiguousarray(a).tobytes())
    group_of = np.zeros(sum(len(i) for i in index_of), np.int64)
    for g, idx in enumerate(index_of):
        group_of[idx] = g
    digest.update(group_of.tobytes())
    return digest.hexdigest()[:16]


def _checkpoint_frame(fingerprint: str, fits: dict[int, _GroupFit]) -> pd.DataFrame:
    """Finished groups as checkpoint rows (raw results, so tables rebuild exactly)."""
    groups = sorted(fits)
    rows = [fits[g] for g in groups]
    frame = pd.DataFrame(
        {
            "_fingerprint": [fingerprint] * len(groups),
            "_group": np.asarray(groups, np.int64),
            "params": [r.params for r in rows],
            "objective": np.asarray([r.objective for r in rows], float),
            "steps": np.asarray([r.steps for r in rows], np.int64),
            "status": np.asarray([r.status for r in rows], np.int64),
            "n_converged": np.asarray([r.n_converged for r in rows], np.int64),
            "warning": pd.Series([r.warning for r in rows], dtype=object),
        }
    )
    if rows and rows[0].boot_params is not None:
        frame["boot_params"] = [r.boot_params.ravel() for r in rows]
        frame["boot_status"] = [np.asarray(r.boot_status, np.int64) for r in rows]
    return frame


def _load_checkpoint(path, fingerprint, k, valid) -> tuple[dict[int, _GroupFit], list]:
    """Groups saved in the checkpoint at ``path`` (none when it does not exist)."""
    if path is None or not os.path.exists(path):
        return {}, []
    advice = "delete it to start afresh"
    try:
        table = pd.read_parquet(path)
        stamps = set(table["_fingerprint"])
        groups = table["_group"].to_numpy(np.int64)
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"checkpoint {path!r} cannot be read ({reason}); {advice}") from None
    if stamps - {fingerprint} or not set(groups.tolist()) <= valid:
        raise InputError(
            f"checkpoint {path!r} was written by a fit of other data or options (law, columns, "
            f"loss, starts, bootstrap, seed, ...); {advice}, or pass another checkpoint path"
        )
    results = {}
    params = table["params"].to_numpy()
    objective = table["objective"].to_numpy(float)
    steps, status = table["steps"].to_numpy(np.int64), table["status"].to_numpy(np.int64)
    n_converged, notes = table["n_converged"].to_numpy(np.int64), table["warning"].to_numpy()
    has_boot = "boot_params" in table.columns
    for i, g in enumerate(groups.tolist()):
        boot_status = np.asarray(table["boot_status"].iat[i], np.int64) if has_boot else None
        results[g] = _GroupFit(
            params=np.asarray(params[i], float),
            objective=float(objective[i]),
            steps=int(steps[i]),
            status=int(status[i]),
            n_converged=int(n_converged[i]),
            warning=str(notes[i]),
            boot_params=(
                np.asarray(table["boot_params"].iat[i], float).reshape(len(boot_status), k)
                if has_boot
                else None
            ),
            boot_status=boot_status,
        )
    return results, [table]


def _fixed(law, fixed, by_cols, key_rows, lower, upper):
    """Per-group (G, K) fixed values and free mask, or (None, None) when nothing is fixed."""
    if fixed is None or (isinstance(fixed, Mapping) and not fixed):
        return None, None
    n_groups, k = len(key_rows), len(law.params)
    values = np.full((n_groups, k), np.nan)
    if isinstance(fixed, pd.DataFrame):
        check_columns(fixed, by_cols, argument="fixed")
        names = [c for c in fixed.columns if c in law.param_names]
        if not names:
            raise InputError(f"fixed: no parameter columns of {law.name!r} ({law.param_names})")
        table = fixed.set_index(by_cols) if by_cols else fixed
        for g, key in enumerate(key_rows):
            lookup = key if len(key) != 1 else key[0]
            if by_cols and lookup not in table.index:
                raise InputError(f"fixed: no row for group {dict(zip(by_cols, key, strict=True))}")
            row = table.loc[lookup] if by_cols else table.iloc[0]
            for name in names:
                values[g, law.param_names.index(name)] = float(row[name])
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
    given = np.isfinite(values)
    outside = given & ((values <= lower) | (values >= upper))
    if outside.any():
        bad = law.param_names[int(np.argwhere(outside)[0][1])]
        raise InputError(f"fixed: the value of {bad!r} lies outside its bounds")
    return np.where(given, values, 1.0), ~given


def _group_seed(seed: int, key: tuple) -> int:
    """A group's bootstrap seed, from the user's seed and the group's key only."""
    return zlib.crc32(repr((int(seed), tuple(str(v) for v in key))).encode())


def _chunks(valid, index_of, n_starts, bootstrap):
    """Groups in calls of similar size (sorted by length) with bounded task counts."""
    order = sorted(valid, key=lambda g: len(index_of[g]))
    per_call = max(1, _MAX_TASKS // max(n_starts, bootstrap, 1))
    chunk, p_cur = [], None
    for g in order:
        p = _bucket(len(index_of[g]))
        if chunk and (p != p_cur or len(chunk) >= per_call):
            yield chunk
            chunk = []
        chunk.append(g)
        p_cur = p
    if chunk:
        yield chunk


def _pad(chunk, index_of, columns, y_values, w_values, p_pad, g_pad):
    """(g_pad, p_pad) arrays; padding repeats each group's first point with weight 0."""
    x = {name: np.ones((g_pad, p_pad)) for name in columns}
    y = np.ones((g_pad, p_pad))
    w = np.zeros((g_pad, p_pad))
    for i, g in enumerate(chunk):
        idx = index_of[g]
        n = len(idx)
        for name, values in columns.items():
            x[name][i, :n] = values[idx]
            x[name][i, n:] = values[idx[0]]
        y[i, :n] = y_values[idx]
        y[i, n:] = y_values[idx[0]]
        w[i, :n] = w_values[idx]
    for i in range(len(chunk), g_pad):  # padding groups: copies of the first, weight 0
        for name in columns:
            x[name][i] = x[name][0]
        y[i] = y[0]
    return {"x": x, "y": y, "w": w}


def _tables(law, by_cols, key_rows, index_of, w_values, messages, results, ci, bootstrap):
    """The params table (one row per group) and the long bootstrap table (or None)."""
    names = law.param_names
    rows, boot_rows = [], []
    alpha = (1.0 - ci) / 2.0
    for g, key in enumerate(key_rows):
        row = dict(zip(by_cols, key, strict=True))
        row["n_points"] = int((w_values[index_of[g]] > 0).sum())
        res = results.get(g)
        if res is None:
            row.update({p: np.nan for p in names})
            row.update(
                objective=np.nan,
                status=Status.INVALID_INPUT.label,
                steps=0,
                n_converged=0,
                message=messages[g],
                warning="",
            )
            if bootstrap:
                for p in names:
                    row.update({f"{p}_se": np.nan, f"{p}_lo": np.nan, f"{p}_hi": np.nan})
            rows.append(row)
            continue
        status = Status(int(res.status))
        ok = status is not Status.NONFINITE
        row.update({p: float(v) if ok else np.nan for p, v in zip(names, res.params, strict=True)})
        row.update(
            objective=float(res.objective) if ok else np.nan,
            status=status.label,
            steps=int(res.steps),
            n_converged=int(res.n_converged),
            message="" if status is Status.CONVERGED else status.message,
            warning=res.warning,
        )
        if bootstrap:
            good = res.boot_status == Status.CONVERGED
            samples = res.boot_params[good]
            for j, p in enumerate(names):
                column = samples[:, j] if len(samples) else np.array([np.nan])
                row[f"{p}_se"] = float(np.std(column, ddof=1)) if len(samples) > 1 else np.nan
                row[f"{p}_lo"] = float(np.quantile(column, alpha))
                row[f"{p}_hi"] = float(np.quantile(column, 1.0 - alpha))
            for r in range(res.boot_params.shape[0]):
                boot_rows.append(
                    {
                        **dict(zip(by_cols, key, strict=True)),
                        "resample": r,
                        **dict(zip(names, res.boot_params[r], strict=True)),
                        "status": Status(int(res.boot_status[r])).label,
                    }
                )
        rows.append(row)
    order = [
        *by_cols, *names, "objective", "status", "steps", "n_points", "n_converged", "message",
        "warning",
    ]
    if bootstrap:
        order += [f"{p}_{s}" for p in names for s in ("se", "lo", "hi")]
    params = pd.DataFrame(rows, columns=order)
    boot = pd.DataFrame(boot_rows) if bootstrap else None
    return params, boot
