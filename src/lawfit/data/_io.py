"""Reading and atomically writing tables (CSV or Parquet, chosen by extension)."""

from __future__ import annotations

import os
import tempfile

import pandas as pd

from lawfit.data._validate import InputError

__all__ = ["read_table", "write_table"]

_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".txt")


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV or Parquet file (by extension) into a DataFrame, or raise :class:`InputError`."""
    path = os.fspath(path)
    lower = path.lower()
    if not os.path.exists(path):
        raise InputError(f"data file {path!r} does not exist")
    if os.path.isdir(path):
        raise InputError(f"data file {path!r} is a directory")
    if not lower.endswith(_PARQUET + _CSV):
        raise InputError(f"data file {path!r}: expected a .csv or .parquet extension")
    try:
        frame = pd.read_parquet(path) if lower.endswith(_PARQUET) else pd.read_csv(path)
    except Exception as err:  # every reader failure becomes one clear message
        text = str(err).strip()
        reason = text.splitlines()[0] if text else type(err).__name__
        raise InputError(f"cannot read data file {path!r}: {reason}") from None
    if frame.shape[1] == 0 or frame.empty:
        raise InputError(f"data file {path!r} has no rows or no columns")
    return frame


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``frame`` to ``path`` atomically: a temporary file in the same folder, then a rename,
    so a reader never sees a half-written file and an interrupted write leaves the old one."""
    path = os.fspath(path)
    lower = path.lower()
    if not lower.endswith(_PARQUET + _CSV):
        raise InputError(f"output {path!r}: expected a .csv or .parquet extension")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"output {path!r}: folder {folder!r} does not exist")
    handle, tmp = tempfile.mkstemp(prefix=".lawfit-", suffix=os.path.basename(path), dir=folder)
    os.close(handle)
    try:
        if lower.endswith(_PARQUET):
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
