"""Fuzzing the loaders: whatever the bytes, read_table returns a DataFrame or raises
InputError, and numeric_column turns any column into floats plus per-row problems or
raises InputError. No other exception escapes."""

import io
import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lawfit.data import InputError, numeric_column, read_table

FUZZ = settings(max_examples=400, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
_counter = itertools.count()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def load_everything(path) -> None:
    """The boundary a user's file crosses: read it, then read every column as numbers."""
    try:
        frame = read_table(path)
    except InputError as err:
        assert str(err), "an InputError needs a message"
        assert str(path) in str(err), "the message names the file"
        return
    assert isinstance(frame, pd.DataFrame) and not frame.empty
    for column in frame.columns:
        try:
            values, problem = numeric_column(frame, column, role="y")
        except InputError as err:
            assert repr(column) in str(err)
            continue
        assert values.dtype == np.float64 and values.shape == (len(frame),)
        bad = ~np.isfinite(values)
        assert ((problem != "").to_numpy() == bad).all(), "every non-finite value is a problem"


def _write(folder, suffix, content: bytes):
    path = folder / f"f{next(_counter)}{suffix}"
    path.write_bytes(content)
    return path


@FUZZ
@given(content=st.binary(max_size=600), suffix=st.sampled_from([".csv", ".parquet", ".txt", ".csv.gz", ".pq"]))
def test_random_bytes(folder, content, suffix):
    load_everything(_write(folder, suffix, content))


_CELL = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "nan", "NA", "inf", "-inf", "1e400", "-1e-400", "1_000", "0x1f",
                     "True", "false", "1,5", "\"1\"", "'", "\"", "é", "\u2212" + "3", "１２",
                     "1e9 ", " 2.5", "NaN", "None", "#N/A", "1.2.3", "--1"]),
    st.text(max_size=8),
)


@st.composite
def csv_text(draw):
    """Ragged, quoted, mixed-type CSV: random header and cells, random separators."""
    n_cols = draw(st.integers(1, 4))
    header = draw(st.lists(st.text(min_size=0, max_size=5), min_size=n_cols, max_size=n_cols))
    rows = draw(st.lists(st.lists(_CELL, min_size=0, max_size=n_cols + 1), max_size=6))
    sep = draw(st.sampled_from([",", ",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return newline.join(sep.join(r) for r in [header, *rows])


@FUZZ
@given(text=csv_text(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252", "utf-32"]))
def test_mixed_type_csv_in_any_encoding(folder, text, encoding):
    try:
        content = text.encode(encoding)
    except UnicodeEncodeError:
        content = text.encode("utf-8")
    load_everything(_write(folder, ".csv", content))


@pytest.fixture(scope="module")
def valid_files():
    """A valid CSV and Parquet file's bytes, with mixed column types."""
    frame = pd.DataFrame({
        "family": ["a", "b", "c", "d"] * 8,
        "N": np.logspace(6, 12, 32),
        "loss": np.linspace(2.0, 4.0, 32),
        "note": ["", "x", "1e9", "nan"] * 8,
        "flag": [True, False] * 16,
    })
    parquet = io.BytesIO()
    frame.to_parquet(parquet)
    return {".csv": frame.to_csv(index=False).encode(), ".parquet": parquet.getvalue()}


@FUZZ
@given(suffix=st.sampled_from([".csv", ".parquet"]), cut=st.floats(0.0, 1.0),
       flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=4))
def test_truncated_or_corrupted_files(folder, valid_files, suffix, cut, flips):
    """A valid file cut short anywhere and with a few bytes overwritten."""
    content = bytearray(valid_files[suffix][: int(cut * len(valid_files[suffix]))])
    for where, value in flips:
        if content:
            content[int(where * (len(content) - 1))] = value
    load_everything(_write(folder, suffix, bytes(content)))


def test_boolean_column_in_a_file_is_an_input_error(folder, valid_files):
    """The fuzzed files hold a boolean column: it must be refused, not read as 0/1."""
    frame = read_table(_write(folder, ".parquet", valid_files[".parquet"]))
    with pytest.raises(InputError, match="column 'flag' holds booleans"):
        numeric_column(frame, "flag", role="y")
    values, problem = numeric_column(frame, "note", role="y")
    assert problem.tolist()[:4] == ["column 'note' (y) is missing (NaN)", "column 'note' (y) is not a number",
                                     "", "column 'note' (y) is missing (NaN)"]
    assert values[2] == 1e9
