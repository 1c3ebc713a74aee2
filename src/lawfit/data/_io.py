"""Reading and atomically writing tables (CSV or Parquet, chosen by extension).

CSV round trips keep dtypes as far as text can: :func:`write_table` writes missing numbers
as ``nan`` and :func:`read_table` reads an empty cell of a text column as the empty string
(so a ``message`` column of ``""`` stays a string column), while an empty cell of a numeric
column is still NaN.
"""

from __future__ import annotations

import contextlib
import os
import uuid
import warnings

import numpy as np
import pandas as pd

from lawfit.data._validate import InputError

__all__ = ["read_table", "write_table"]

_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".txt")
# pandas' default missing-value markers, less the empty string (see the module docstring).
_NA = ["nan", "NaN", "NA", "N/A", "n/a", "NULL", "null", "None", "<NA>", "-nan", "-NaN", "#N/A"]
_SNIFF = 4096


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _read_csv(path: str) -> pd.DataFrame:
    encoding = "utf-8"
    if not path.lower().endswith(".gz"):
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            encoding = "utf-16"
        elif head.startswith(b"PAR1"):
            raise InputError(f"data file {path!r} is a Parquet file; give it a .parquet extension")
        elif b"\x00" in head:
            raise InputError(f"data file {path!r} is binary, not CSV text")
    try:
        with warnings.catch_warnings():  # rows longer than the header lose data: an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                path, encoding=encoding, index_col=False, keep_default_na=False, na_values=_NA
            )
    except UnicodeDecodeError as err:
        raise InputError(
            f"cannot read data file {path!r}: it is not UTF-8 text ({err.reason}); "
            "save it as UTF-8"
        ) from None
    except pd.errors.ParserWarning:
        raise InputError(
            f"cannot read data file {path!r}: some rows have more fields than the header"
        ) from None
    # An empty cell in an otherwise numeric column is a missing number, as pandas reads it.
    for column in frame.columns:
        raw = frame[column]
        if not pd.api.types.is_string_dtype(raw.dtype):
            continue
        text = raw.astype(object)
        blank = text.map(lambda v: isinstance(v, str) and v.strip() == "").to_numpy(dtype=bool)
        if not blank.any() or blank.all():
            continue
        numbers = pd.to_numeric(text[~blank], errors="coerce")
        if numbers.notna().all():
            filled = pd.to_numeric(text.where(~blank, np.nan), errors="coerce")
            frame[column] = filled.astype("float64")
    return frame


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV or Parquet file (by extension) into a DataFrame, or raise :class:`InputError`.

    Any failure to read (a missing, empty, binary, truncated or mis-encoded file, a
    directory, a wrong extension) is one :class:`InputError` naming the file.
    """
    path = os.fspath(path)
    lower = path.lower()
    if not os.path.exists(path):
        raise InputError(f"data file {path!r} does not exist")
    if os.path.isdir(path):
        raise InputError(f"data file {path!r} is a directory")
    if not lower.endswith(_PARQUET + _CSV):
        raise InputError(f"data file {path!r}: expected a .csv or .parquet extension")
    try:
        frame = pd.read_parquet(path) if lower.endswith(_PARQUET) else _read_csv(path)
    except InputError:
        raise
    except Exception as err:  # every reader failure becomes one clear message
        raise InputError(f"cannot read data file {path!r}: {_first_line(err)}") from None
    if frame.shape[1] == 0 or frame.empty:
        raise InputError(f"data file {path!r} has no rows or no columns")
    return frame


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``frame`` to ``path`` atomically: a temporary file in the same folder, flushed to
    disk, then renamed over ``path``, so a reader never sees a half-written file and an
    interrupted or failed write leaves the previous file and no temporary file.

    The file gets the permissions of the file it replaces (or the umask's for a new one);
    a write that fails raises :class:`InputError` naming ``path``.
    """
    path = os.fspath(path)
    lower = path.lower()
    if not lower.endswith(_PARQUET + _CSV):
        raise InputError(f"output {path!r}: expected a .csv or .parquet extension")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"output {path!r}: folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise InputError(f"output {path!r} is a directory")
    tmp = os.path.join(folder, f".lawfit-{uuid.uuid4().hex[:12]}-{os.path.basename(path)}")
    try:  # created as open() would create it: mode 0o666 less the umask
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as err:
        raise InputError(f"cannot write output {path!r}: {_first_line(err)}") from None
    try:
        if lower.endswith(_PARQUET):
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, na_rep="nan")
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, Exception) and not isinstance(err, InputError):
            raise InputError(f"cannot write output {path!r}: {_first_line(err)}") from err
        raise
