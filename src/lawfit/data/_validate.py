"""Validation at the pandas boundary: every message names the argument, column and rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["InputError", "check_columns", "numeric_column", "row_list"]


class InputError(ValueError):
    """Bad user input. The message names the argument or column, and the rows at fault."""


def row_list(index: Iterable, limit: int = 5) -> str:
    """'rows 3, 7, 9 and 12 more' for error messages (row labels of the DataFrame)."""
    rows = list(index)
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


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


def numeric_column(frame: pd.DataFrame, column: str, *, role: str) -> tuple[np.ndarray, pd.Series]:
    """The column as float64 plus a per-row problem description ('' where fine).

    Text that is not a number, NaN and infinities are problems; ``role`` (e.g. ``"x N"``)
    says which argument the column fills, for messages.
    """
    raw = frame[column]
    if isinstance(raw, pd.DataFrame):
        raise InputError(f"{role}: column {column!r} appears more than once in the data")
    values = pd.to_numeric(raw, errors="coerce")
    values = values.astype(float)
    problem = pd.Series("", index=frame.index, dtype=object)
    text = values.isna() & raw.notna()
    if raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype):
        text = text & raw.astype(str).str.strip().ne("")
    problem[text] = f"{role} column {column!r} is not a number"
    problem[values.isna() & ~text] = f"{role} column {column!r} is missing (NaN)"
    problem[np.isinf(values.to_numpy())] = f"{role} column {column!r} is infinite"
    return values.to_numpy(dtype=float), problem
