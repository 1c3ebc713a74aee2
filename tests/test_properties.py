"""Property tests: fits recover parameters drawn at random, laws are monotone where they
say so, and params tables survive CSV and Parquet round trips."""

import math
import warnings

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import lawfit
from lawfit.data import read_table, write_table
from lawfit.fitting._diagnostics import IllConditionedWarning

FAST = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def _unit(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


# --- recovery --------------------------------------------------------------------------

X_POWER = np.logspace(5, 11, 10)
N_GRID, D_GRID = (a.ravel() for a in np.meshgrid(np.logspace(7, 11, 5), np.logspace(8, 12, 5)))
L_GRID = np.linspace(1.8, 5.0, 30)


@st.composite
def power_law_case(draw):
    """E, alpha, and A set so the power term is 0.3-5 times E at the smallest x."""
    e, alpha, ratio = draw(_unit(0.5, 3.0)), draw(_unit(0.1, 0.7)), draw(_unit(0.3, 5.0))
    return "power_law", dict(E=e, A=ratio * e * X_POWER[0] ** alpha, alpha=alpha), {"x": X_POWER}


@st.composite
def chinchilla_case(draw):
    """Both terms 0.3-3 times E at the smallest N and D."""
    e, alpha, beta = draw(_unit(1.0, 3.0)), draw(_unit(0.2, 0.6)), draw(_unit(0.2, 0.6))
    ra, rb = draw(_unit(0.3, 3.0)), draw(_unit(0.3, 3.0))
    params = dict(E=e, A=ra * e * N_GRID.min() ** alpha, B=rb * e * D_GRID.min() ** beta,
                  alpha=alpha, beta=beta)
    return "chinchilla", params, {"N": N_GRID, "D": D_GRID}


@st.composite
def sigmoid_case(draw):
    """A transition inside the observed losses."""
    params = dict(floor=draw(_unit(0.05, 0.3)), ceiling=draw(_unit(0.6, 0.95)),
                  k=draw(_unit(1.5, 6.0)), L0=draw(_unit(2.5, 4.2)))
    return "sigmoid_link", params, {"L": L_GRID}


@FAST
@given(case=st.one_of(power_law_case(), chinchilla_case(), sigmoid_case()))
def test_fit_recovers_random_parameters(case):
    """Noise-free data from parameters drawn in plausible ranges: the default solver from
    the law's start grid (16 Latin-hypercube starts for Chinchilla's 5 parameters) finds
    them, the global optimum, to 1e-6."""
    name, truth, design = case
    law = lawfit.laws.get(name)
    y = np.asarray(law.predict(truth, {k: jnp.asarray(v) for k, v in design.items()}))
    frame = pd.DataFrame({**design, "y": y})
    loss = "mse" if law.output == "accuracy" else "log-mse"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        starts = 16 if name == "chinchilla" else "grid"
        row = lawfit.fit(frame, law, {k: k for k in design}, "y", loss=loss, starts=starts).params.iloc[0]
    assert row["status"] == "converged"
    for p, value in truth.items():
        assert row[p] == pytest.approx(value, rel=1e-6), p


# --- monotonicity ----------------------------------------------------------------------

DECREASING = [n for n in lawfit.laws.names() if lawfit.laws.get(n).decreasing_in]
_INPUT_RANGE = {"x": (1.0, 14.0), "N": (6.0, 12.0), "D": (7.0, 13.0), "U": (7.0, 12.0),
                "S_min": (2.0, 7.0)}


def _prior_value(param, z, q):
    """A value of ``param``'s prior at standard-normal quantile z (uniform quantile q)."""
    prior = param.prior
    if prior.family == "lognormal":
        return math.exp(prior.loc + prior.scale * z)
    if prior.family == "normal":
        return prior.loc + prior.scale * z
    return prior.loc + (prior.scale - prior.loc) * q


@settings(max_examples=40, deadline=None, derandomize=True)
@given(name=st.sampled_from(DECREASING), data=st.data())
def test_predictions_monotone_where_declared(name, data):
    """Parameters from the law's priors (within 2 SD), every input in ``decreasing_in``
    swept over many decades with the others fixed: predictions never increase."""
    law = lawfit.laws.get(name)
    params = {
        p.name: _prior_value(p, data.draw(_unit(-2.0, 2.0)), data.draw(_unit(0.01, 0.99)))
        for p in law.params
    }
    if name == "revisiting_m4":  # the law is defined for eps_0 > eps_inf only
        assume(params["eps_0"] > params["eps_inf"] * 1.01)
    if name == "sigmoid_link":  # accuracy falls with loss only when ceiling > floor
        assume(params["ceiling"] > params["floor"])
    fixed = {}
    for i in law.inputs:
        lo, hi = _INPUT_RANGE.get(i, (0.5, 8.0)) if i != "L" else (0.5, 8.0)
        value = data.draw(_unit(lo, hi))
        fixed[i] = 10.0**value if i != "L" else value
    for along in law.decreasing_in:
        sweep = np.linspace(0.5, 8.0, 60) if along == "L" else np.logspace(*_INPUT_RANGE[along], 60)
        inputs = {i: jnp.full(60, fixed[i]) for i in law.inputs} | {along: jnp.asarray(sweep)}
        pred = np.asarray(law.predict(params, inputs))
        assert np.all(np.isfinite(pred)), (along, params)
        rises = np.diff(pred) > 1e-12 * np.abs(pred[:-1])
        assert not rises.any(), (along, params, sweep[1:][rises][:3])


# --- table round trips -----------------------------------------------------------------

_NA_TOKENS = {"", "nan", "na", "n/a", "null", "none", "<na>", "-nan", "#n/a"}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(",;\"'\n\t "),
    max_size=30,
).filter(lambda s: s.strip().lower() not in _NA_TOKENS and not _is_number(s.strip()))
_FLOAT = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 5e-324, 1e308])


@st.composite
def params_tables(draw):
    """Tables shaped like FitResult.params: group keys, parameters (any float, NaN and
    infinities included), statuses, counts, messages that may be empty."""
    n = draw(st.integers(1, 6))
    rows = st.lists
    statuses = ["converged", "max_steps", "nonfinite", "stalled", "invalid_input"]
    frame = pd.DataFrame(
        {
            "family": draw(rows(_TEXT, min_size=n, max_size=n)),
            "size": draw(rows(st.integers(-(2**62), 2**62), min_size=n, max_size=n)),
            "E": draw(rows(_FLOAT, min_size=n, max_size=n)),
            "alpha": draw(rows(_FLOAT, min_size=n, max_size=n)),
            "objective": draw(rows(_FLOAT, min_size=n, max_size=n)),
            "status": draw(rows(st.sampled_from(statuses), min_size=n, max_size=n)),
            "steps": draw(rows(st.integers(0, 10_000), min_size=n, max_size=n)),
            "message": draw(rows(st.just("") | _TEXT, min_size=n, max_size=n)),
            "warning": draw(rows(st.just("") | _TEXT, min_size=n, max_size=n)),
        }
    )
    return frame.astype({"family": "str", "status": "str", "message": "str", "warning": "str"})


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("roundtrip")


@settings(max_examples=60, deadline=None, derandomize=True)
@given(table=params_tables(), suffix=st.sampled_from([".csv", ".parquet"]))
def test_params_table_round_trip(folder, table, suffix):
    """write_table then read_table gives back the same values and dtypes, bit for bit,
    including NaN, +-inf, -0.0, subnormals, empty messages and text with commas, quotes
    and newlines."""
    path = folder / f"params{suffix}"
    write_table(table, path)
    back = read_table(path)
    pd.testing.assert_frame_equal(back, table, check_exact=True)
    for column in ("E", "alpha", "objective"):  # -0.0 stays -0.0
        number = table[column].notna().to_numpy()
        assert np.array_equal(np.signbit(back[column])[number], np.signbit(table[column])[number])


def test_real_params_table_round_trip(folder):
    """A real FitResult.params (with an invalid group, empty messages and warnings)."""
    x = np.logspace(6, 10, 8)
    frame = pd.DataFrame({"g": np.repeat(["a", "b"], 8), "x": np.tile(x, 2),
                          "y": np.tile(1.5 + 50 * x**-0.2, 2)})
    frame.loc[3, "y"] = -1.0
    params = lawfit.fit(frame, "power_law", "x", "y", by="g", loss="log-mse",
                        starts=np.array([[1.0, 30.0, 0.3]]), on_invalid="skip").params
    assert params["status"].tolist() == ["invalid_input", "converged"]
    for suffix in (".csv", ".parquet"):
        write_table(params, folder / f"real{suffix}")
        pd.testing.assert_frame_equal(read_table(folder / f"real{suffix}"), params, check_exact=True)
