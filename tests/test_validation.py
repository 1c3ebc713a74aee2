"""Validation at the pandas boundary: every bad input is one InputError naming the argument,
the column and the rows; extreme but valid magnitudes fit."""

import os

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import lawfit
from lawfit import InputError
from lawfit.data import numeric_column, read_table

ONE_START = np.array([[1.0, 30.0, 0.3]])
ND = {"N": "params", "D": "tokens"}


def chinchilla_frame(n: int = 12) -> pd.DataFrame:
    """n points of Chinchilla's law with labelled rows (r0, r1, ...) and a group column."""
    rng = np.random.default_rng(0)
    params = np.logspace(7, 10, n)
    tokens = 20 * params * rng.uniform(0.5, 2.0, n)
    law = lawfit.laws.get("chinchilla")
    truth = dict(E=1.8, A=480.0, B=2100.0, alpha=0.35, beta=0.37)
    loss = np.asarray(law.predict(truth, {"N": jnp.asarray(params), "D": jnp.asarray(tokens)}))
    return pd.DataFrame(
        {"family": np.repeat(["a", "b"], n // 2), "params": params, "tokens": tokens, "loss": loss,
         "w": 1.0},
        index=[f"r{i}" for i in range(n)],
    )


def _set(frame, row, column, value):
    frame = frame.astype({column: object})
    frame.loc[row, column] = value
    return frame


def fit_nd(frame, **kw):
    kw.setdefault("starts", np.array([[1.5, 300.0, 1000.0, 0.3, 0.3]]))
    return lawfit.fit(frame, "chinchilla", ND, "loss", **kw)


# --- columns -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(x={"N": "nparams", "D": "tokens"}), r"x: column 'nparams' not found; the data has: family, params"),
        (dict(y="val_loss"), r"y: column 'val_loss' not found"),
        (dict(by="size"), r"by: column 'size' not found"),
        (dict(weights="weight"), r"weights: column 'weight' not found"),
        (dict(x={"N": "params"}), r"x: law 'chinchilla' takes inputs N, D; missing \['D'\]"),
        (dict(x={"N": "params", "D": "tokens", "C": "c"}), r"unknown \['C'\]"),
        (dict(x={"N": 3, "D": "tokens"}), r"x: the column for input 'N' must be a name; got 3"),
        (dict(x="params"), r"x: law 'chinchilla' has inputs N, D; map each to a column"),
        (dict(y=["loss"]), r"y must be a column name"),
    ],
)
def test_missing_or_mistyped_columns(kwargs, pattern):
    args = dict(x=ND, y="loss") | kwargs
    x, y = args.pop("x"), args.pop("y")
    with pytest.raises(InputError, match=pattern):
        lawfit.fit(chinchilla_frame(), "chinchilla", x, y, **args)


@pytest.mark.parametrize(
    ("column", "values", "kind"),
    [
        ("params", lambda f: f["params"] > 1e8, "booleans"),
        ("tokens", lambda f: pd.to_datetime(f["tokens"]), "dates"),
        ("loss", lambda f: f["loss"].astype(complex), "complex numbers"),
    ],
)
def test_column_of_the_wrong_type(column, values, kind):
    """Booleans, dates and complex numbers are not silently cast to floats."""
    frame = chinchilla_frame()
    frame[column] = values(frame)
    with pytest.raises(InputError, match=rf"column '{column}' holds {kind}"):
        fit_nd(frame)


# --- bad cells -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "pattern"),
    [
        ("params", "1.3B", r"column 'params' \(input N\) is not a number at row r3"),
        ("tokens", np.nan, r"column 'tokens' \(input D\) is missing \(NaN\) at row r3"),
        ("tokens", None, r"column 'tokens' \(input D\) is missing \(NaN\) at row r3"),
        ("loss", np.inf, r"column 'loss' \(y\) is infinite at row r3"),
        ("loss", "-inf", r"column 'loss' \(y\) is infinite at row r3"),
        ("params", 0.0, r"column 'params' \(input N\) must be > 0 at row r3"),
        ("params", -7e9, r"column 'params' \(input N\) must be > 0 at row r3"),
        ("tokens", 0, r"column 'tokens' \(input D\) must be > 0 at row r3"),
        ("loss", 0.0, r"column 'loss' \(y\) must be > 0 for the huber-log loss at row r3"),
        ("loss", -2.1, r"column 'loss' \(y\) must be > 0 for the huber-log loss at row r3"),
        ("params", True, r"column 'params' \(input N\) is not a number at row r3"),
        ("params", [1e9], r"column 'params' \(input N\) is not a number at row r3"),
        ("w", -1.0, r"column 'w' \(weights\) must be >= 0 at row r3"),
        ("w", "heavy", r"column 'w' \(weights\) is not a number at row r3"),
    ],
)
def test_bad_cell_names_column_and_row(column, value, pattern):
    frame = _set(chinchilla_frame(), "r3", column, value)
    with pytest.raises(InputError, match=pattern):
        fit_nd(frame, weights="w")


def test_every_bad_row_is_listed():
    """Several problems: one message, each with its rows (the first five, then a count)."""
    frame = chinchilla_frame()
    for row in ["r1", "r2", "r4", "r5", "r6", "r7", "r8"]:
        frame = _set(frame, row, "params", "n/a?")
    frame = _set(frame, "r9", "loss", np.nan)
    with pytest.raises(InputError) as info:
        fit_nd(frame)
    assert str(info.value) == (
        "data: column 'params' (input N) is not a number at rows r1, r2, r4, r5, r6 and 2 more; "
        "column 'loss' (y) is missing (NaN) at row r9"
    )


def test_duplicated_rows():
    """Exact repeats raise with their rows; 'drop' fits as if they were absent."""
    frame = chinchilla_frame()
    doubled = pd.concat([frame, frame.iloc[[2, 5]].rename(index=lambda r: r + "_again")])
    with pytest.raises(InputError, match=r"2 duplicated rows \(same params, tokens, loss\) at rows r2_again, r5_again"):
        fit_nd(doubled)
    dropped = fit_nd(doubled, duplicates="drop").params
    pd.testing.assert_frame_equal(dropped, fit_nd(frame).params)


def test_too_few_points_and_constant_inputs():
    frame = chinchilla_frame()
    with pytest.raises(InputError, match=r"group \{'family': 'a'\}: 4 points with positive weight, fewer than the 5"):
        fit_nd(frame.drop(index=["r0", "r1"]), by="family")
    with pytest.raises(InputError, match=r"data: 0 points with positive weight"):
        fit_nd(frame.assign(w=0.0), weights="w")
    with pytest.raises(InputError, match=r"data: input N \(column 'params'\) is constant \(1e\+09 in every row\)"):
        fit_nd(frame.assign(params=1e9))
    with pytest.raises(InputError, match=r"fewer than the 3 free parameters"):
        lawfit.fit(frame.iloc[:2], "power_law", "params", "loss")


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(law="chinchila"), r"law: unknown law 'chinchila'; registered laws: .*chinchilla"),
        (
            dict(loss="l2"),
            r"loss: loss must be one of huber-log, mse, log-mse, msle, asymmetric-log, "
            r"huber-log-scale; got 'l2'",
        ),
        (dict(on_invalid="ignore"), r"on_invalid must be 'raise' or 'skip'"),
        (dict(duplicates="merge"), r"duplicates must be"),
        (dict(precision="float16"), r"precision must be"),
        (dict(bootstrap=-1), r"bootstrap must be a non-negative integer"),
        (dict(bootstrap=2.5), r"bootstrap must be a non-negative integer"),
        (dict(seed=-3), r"seed must be a non-negative integer"),
        (dict(delta=0.0), r"delta must be a positive number"),
        (dict(delta="small"), r"delta must be a positive number"),
        (dict(max_steps=0), r"max_steps must be a positive integer"),
        (dict(chunk=0), r"chunk must be a positive integer"),
        (dict(solver="newton"), r"solver must be auto, lm or lbfgs"),
        (dict(starts=0), r"starts: need at least one start"),
        (dict(starts=np.ones((2, 3))), r"starts: need finite values of shape \(S, 5\)"),
        (dict(bounds={"gamma": (0, 1)}), r"bounds: 'gamma' is not a parameter"),
        (dict(bounds={"E": (2, 1)}), r"bounds: 'E' needs lower < upper"),
        (dict(fixed={"E": -1.0}), r"fixed: the value of 'E' lies outside its bounds"),
        (dict(checkpoint="fits.csv"), r"checkpoint 'fits.csv': expected a .parquet path"),
        (dict(progress="yes"), r"progress must be callable"),
    ],
)
def test_options_are_checked_on_entry(kwargs, pattern):
    args = dict(law="chinchilla") | kwargs
    law = args.pop("law")
    args.setdefault("starts", "grid")
    with pytest.raises(InputError, match=pattern):
        lawfit.fit(chinchilla_frame(), law, ND, "loss", **args)


def test_data_must_be_a_frame_or_a_path():
    with pytest.raises(InputError, match=r"data must be a DataFrame or a path.*got ndarray"):
        lawfit.fit(np.ones((5, 2)), "power_law", "x", "y")


# --- files ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    good = chinchilla_frame().reset_index(drop=True)
    good.to_parquet(folder / "good.parquet")
    parquet = (folder / "good.parquet").read_bytes()
    files = {
        "corrupt.parquet": parquet[: len(parquet) // 2],
        "text.parquet": b"params,tokens,loss\n1,2,3\n",
        "junk.csv": bytes(range(256)) * 8,
        "parquet_named.csv": parquet,
        "empty.csv": b"",
        "header_only.csv": b"params,tokens,loss\n",
        "latin1.csv": "family,params\nna\xefve,1\n".encode("latin-1"),
        "ragged.csv": b"params,tokens,loss\n1,2,3,4,5\n",
        "data.xlsx": b"PK\x03\x04",
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    (folder / "folder.csv").mkdir()
    return folder


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("corrupt.parquet", r"cannot read data file '.*corrupt\.parquet': "),
        ("text.parquet", r"cannot read data file '.*text\.parquet': "),
        ("junk.csv", r"data file '.*junk\.csv' is binary, not CSV text"),
        ("parquet_named.csv", r"is a Parquet file; give it a \.parquet extension"),
        ("empty.csv", r"cannot read data file '.*empty\.csv': No columns to parse"),
        ("header_only.csv", r"data file '.*header_only\.csv' has no rows or no columns"),
        ("latin1.csv", r"it is not UTF-8 text .*save it as UTF-8"),
        ("ragged.csv", r"some rows have more fields than the header"),
        ("data.xlsx", r"data file '.*data\.xlsx': expected a \.csv or \.parquet extension"),
        ("folder.csv", r"data file '.*folder\.csv' is a directory"),
        ("missing.csv", r"data file '.*missing\.csv' does not exist"),
    ],
)
def test_unreadable_file_is_an_input_error(bad_files, name, pattern):
    with pytest.raises(InputError, match=pattern):
        read_table(bad_files / name)
    with pytest.raises(InputError, match=pattern):
        lawfit.fit(os.fspath(bad_files / name), "chinchilla", ND, "loss")


def test_utf16_and_blank_cells_read_as_numbers(tmp_path):
    """A UTF-16 CSV (Excel's 'Unicode text') reads; blank cells of a numeric column are NaN
    (and then a validation error naming the row), blank text cells are empty strings."""
    path = tmp_path / "utf16.csv"
    path.write_bytes("family,params,loss\na,1e9,2.5\n,,2.4\n".encode("utf-16"))
    frame = read_table(path)
    assert frame["params"].dtype == np.float64 and np.isnan(frame["params"][1])
    assert frame["family"].tolist() == ["a", ""]
    _, problem = numeric_column(frame, "params", role="input N")
    assert problem.tolist() == ["", "column 'params' (input N) is missing (NaN)"]


# --- magnitudes ------------------------------------------------------------------------


def test_inputs_from_1e3_to_1e15_fit():
    """Inputs spanning twelve decades (x^alpha overflows float32 and loses float64
    precision if formed directly) recover the parameters of noise-free data."""
    x = np.logspace(3, 15, 13)
    truth = dict(E=1.7, A=80.0, alpha=0.3)
    frame = pd.DataFrame({"x": x, "y": truth["E"] + truth["A"] * x ** -truth["alpha"]})
    row = lawfit.fit(frame, "power_law", "x", "y", loss="log-mse").params.iloc[0]
    assert row["status"] == "converged"
    for name, value in truth.items():
        assert row[name] == pytest.approx(value, rel=1e-6), name

    n, d = np.meshgrid(np.logspace(3, 15, 7), np.logspace(4, 15, 7))
    truth = dict(E=1.8, A=480.0, B=2100.0, alpha=0.35, beta=0.37)
    law = lawfit.laws.get("chinchilla")
    loss = np.asarray(law.predict(truth, {"N": jnp.asarray(n.ravel()), "D": jnp.asarray(d.ravel())}))
    frame = pd.DataFrame({"params": n.ravel(), "tokens": d.ravel(), "loss": loss})
    row = fit_nd(frame, loss="log-mse").params.iloc[0]
    assert row["status"] == "converged"
    for name, value in truth.items():
        assert row[name] == pytest.approx(value, rel=1e-6), name


@pytest.mark.parametrize(
    ("build", "pattern"),
    [
        (lambda: lawfit.fitting.Bootstrap(10, ci=95), r"ci must be in \(0, 1\)"),
        (lambda: lawfit.fitting.Bootstrap(-1), r"bootstrap must be a non-negative integer"),
        (lambda: lawfit.fitting.MultiStart("random"), r"starts must be 'grid', 'hoffmann'"),
        (lambda: lawfit.fitting.MultiStart(polish=0), r"MultiStart.polish must be a positive integer"),
        (lambda: lawfit.fitting.MultiStart(lanes=2.5), r"MultiStart.lanes must be a positive integer"),
        (lambda: lawfit.fitting.MultiStart(screen_ftol=-1.0), r"MultiStart.screen_ftol must be positive"),
        (lambda: lawfit.fitting.MultiStart(screen_precision="half"), r"MultiStart.screen_precision must be"),
    ],
)
def test_settings_objects_check_their_options_when_built(build, pattern):
    with pytest.raises(InputError, match=pattern):
        build()
    with pytest.raises(TypeError, match="polsh"):
        lawfit.fitting.MultiStart(polsh=2)
