"""Reading and atomically writing tables (CSV or Parquet, chosen by extension).

CSV round trips keep dtypes as far as text can: :func:`write_table` writes missing numbers
as ``nan`` and :func:`read_table` reads an empty cell of a text column as the empty string
(so a ``message`` column of ``""`` stays a string column), while an empty cell of a numeric
column is still NaN.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import uuid
import warnings
from gzip import open as gzip_open

import numpy as np
import pandas as pd

from lawfit.data._validate import InputError

__all__ = ["as_table", "read_table", "write_table"]

_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".txt")
# pandas' default missing-value markers, less the empty string (see the module docstring).
_NA = ["nan", "NaN", "NA", "N/A", "n/a", "NULL", "null", "None", "<NA>", "-nan", "-NaN", "#N/A"]
_SNIFF = 4096
#: Separators other than the comma that a one-column CSV is checked for.
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "vertical bar"}


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
    _check_header(path, encoding, frame)
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


def _check_header(path: str, encoding: str, frame: pd.DataFrame) -> None:
    """Refuse a header that pandas would silently change: repeated column names (pandas
    renames the second ``x`` to ``x.1``) and a one-column header holding another
    separator (a ``;``- or tab-separated file read as comma-separated)."""
    if frame.shape[1] == 1:
        name = str(frame.columns[0])
        for sep, word in _OTHER_DELIMITERS.items():
            if sep in name:
                raise InputError(
                    f"data file {path!r} has one column, {name!r}: it looks {word}-separated "
                    f"({sep!r}); lawfit reads comma-separated CSV, so save it with commas "
                    f"(pandas: pd.read_csv(path, sep={sep!r}).to_csv(new_path, index=False))"
                )
    if not any(str(c) != str(c).split(".")[0] for c in frame.columns):
        return  # no ``name.k`` column: nothing was renamed
    opener = gzip_open if path.lower().endswith(".gz") else open
    with opener(path, "rt", encoding=encoding, newline="") as handle:
        header = next(csv.reader(io.StringIO(handle.readline())), [])
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputError(
                f"data file {path!r}: column {name!r} appears more than once in the header; "
                "rename or drop the copies"
            )
        seen.add(name)


def as_table(data, *, argument: str = "data") -> pd.DataFrame:
    """A DataFrame as is, or a CSV/Parquet path read by :func:`read_table`; anything else is
    an :class:`InputError` naming ``argument``."""
    if isinstance(data, (str, os.PathLike)):
        return read_table(data)
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            f"{argument} must be a DataFrame or a path to a CSV or Parquet file; "
            f"got {type(data).__name__}"
        )
    return data


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

    The file gets the permissions of the file it replaces (or the umask's for a new one); a
    symlink is written through (its target is replaced, the link kept); a write that fails
    raises :class:`InputError` naming ``path``.
    """
    path = os.fspath(path)
    lower = path.lower()
    if not lower.endswith(_PARQUET + _CSV):
        raise InputError(f"output {path!r}: expected a .csv or .parquet extension")
    shown, path = path, os.path.realpath(path)  # through a symlink: replace its target
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"output {shown!r}: folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise InputError(f"output {shown!r} is a directory")
    tmp = os.path.join(folder, f".lawfit-{uuid.uuid4().hex[:12]}-{os.path.basename(path)}")
    try:  # created as open() would create it: mode 0o666 less the umask
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as err:
        raise InputError(f"cannot write output {shown!r}: {_first_line(err)}") from None
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
            raise InputError(f"cannot write output {shown!r}: {_first_line(err)}") from err
        raise
