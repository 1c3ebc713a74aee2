"""Validation at the pandas boundary: every message names the argument, column and rows."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["InputError", "check_columns", "input_columns", "numeric_column", "row_list"]


class InputError(ValueError):
    """Bad user input. The message names the argument or column, and the rows at fault."""


def row_list(index: Iterable, limit: int = 5) -> str:
    """'rows 3, 7, 9 and 12 more' for error messages (row labels of the DataFrame)."""
    rows = list(index)
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def check_choice(value, choices: Sequence[str], *, argument: str) -> None:
    """Raise :class:`InputError` naming ``argument`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        quoted = [repr(c) for c in choices]
        allowed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        raise InputError(f"{argument} must be {allowed}; got {value!r}")


def check_columns(frame: pd.DataFrame, columns: Sequence[str], *, argument: str) -> None:
    """Raise :class:`InputError` naming ``argument`` when a column is missing."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame; got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        available = ", ".join(map(str, frame.columns[:20]))
        raise InputError(
            f"{argument}: column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))} not found; the data has: {available}"
        )


_TEXT = object()  # marker: a cell that is not a number
# Text that means "missing" (pandas' markers), read as NaN like an empty cell.
_MISSING = frozenset({"nan", "-nan", "na", "n/a", "null", "none", "<na>", "#n/a"})


def _to_float(value) -> float | object:
    """One cell as a float, NaN for a missing cell, or ``_TEXT``; booleans are not numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return np.nan
    if isinstance(value, (bool, np.bool_)):
        return _TEXT
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except OverflowError:  # an integer beyond float range
            return np.inf if value > 0 else -np.inf
    if isinstance(value, (str, bytes)):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if not text.strip() or text.strip().lower() in _MISSING:
            return np.nan
        if "_" in text:  # float() reads '1_000'; a table cell with '_' is text
            return _TEXT
        try:
            return float(text)
        except (ValueError, OverflowError):
            return _TEXT
    return _TEXT


def numeric_column(frame: pd.DataFrame, column: str, *, role: str) -> tuple[np.ndarray, pd.Series]:
    """The column as float64 plus a per-row problem description ('' where fine).

    Text that is not a number (booleans included), NaN and infinities are per-row
    problems; a column of booleans, dates or complex numbers is an error. ``role`` (e.g.
    ``"input N"``) says which argument the column fills, for messages such as
    ``column 'n_params' (input N) is not a number``.
    """
    raw = frame[column]
    if isinstance(raw, pd.DataFrame):
        raise InputError(f"{role}: column {column!r} appears more than once in the data")
    dtype = raw.dtype
    kind = None
    if pd.api.types.is_bool_dtype(dtype):
        kind = "booleans (True/False)"
    elif pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        kind = "dates or durations"
    elif isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype):
        kind = "periods or intervals"
    elif pd.api.types.is_complex_dtype(dtype):
        kind = "complex numbers"
    if kind is not None:
        raise InputError(f"{role}: column {column!r} holds {kind}, not real numbers")
    label = f"column {column!r} ({role})"
    problem = pd.Series("", index=frame.index, dtype=object)
    if pd.api.types.is_numeric_dtype(dtype):
        values = raw.astype("float64").to_numpy(dtype=float, na_value=np.nan)
        text = np.zeros(len(values), bool)
    elif isinstance(dtype, pd.StringDtype):  # strings only: vectorised
        values = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
        words = raw.fillna("").str.strip().str.lower()
        text = np.isnan(values) & (words.ne("") & ~words.isin(_MISSING)).to_numpy(dtype=bool)
    else:  # object, strings, categories: cell by cell, so no cell type can raise
        cells = [_to_float(v) for v in raw.astype(object).to_numpy()]
        text = np.array([c is _TEXT for c in cells], dtype=bool)
        values = np.array([np.nan if c is _TEXT else c for c in cells], dtype=float)
    problem[text] = f"{label} is not a number"
    problem[np.isnan(values) & ~text] = f"{label} is missing (NaN)"
    problem[np.isinf(values)] = f"{label} is infinite"
    return values, problem


def input_columns(x: Mapping[str, str] | str, inputs: Sequence[str], *, law: str) -> dict[str, str]:
    """The ``x`` argument checked against a law's ``inputs``: input name -> column, in the
    law's order (a bare column name is accepted for a one-input law; ``law`` names it)."""
    if isinstance(x, str):
        if len(inputs) != 1:
            raise InputError(
                f"x: law {law!r} has inputs {', '.join(inputs)}; map each to a column, "
                f"e.g. x={{{', '.join(f'{n!r}: ...' for n in inputs)}}}"
            )
        return {inputs[0]: x}
    if not isinstance(x, Mapping) or not x:
        raise InputError("x must map the law's inputs to columns, e.g. {'N': 'params'}")
    mapping = {str(k): v for k, v in x.items()}
    if len(inputs) == 1 and len(mapping) == 1 and inputs[0] not in mapping:
        return {inputs[0]: next(iter(mapping.values()))}
    unknown = set(mapping) - set(inputs)
    missing = set(inputs) - set(mapping)
    if unknown or missing:
        raise InputError(
            f"x: law {law!r} takes inputs {', '.join(inputs)}"
            + (f"; unknown {sorted(unknown)}" if unknown else "")
            + (f"; missing {sorted(missing)}" if missing else "")
        )
    for name, column in mapping.items():
        if not isinstance(column, str):
            raise InputError(f"x: the column for input {name!r} must be a name; got {column!r}")
    return {name: mapping[name] for name in inputs}
