"""``lawfit demo``: the whole job writes its tables and the HTML report; bad options fail at
once, naming the option."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from lawfit.cli import app
from lawfit.cli._demo import OPTIMAL_BUDGETS, hitchhiker_demo_data
from lawfit.data import load


def demo(*args):
    return CliRunner().invoke(app, ["demo", *map(str, args)])


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--families", "pythia,nonesuch"], "--families: unknown nonesuch; valid: "),
        (["--sampler", "mcmc"], "--sampler must be one of laplace, nuts"),
        (["--bootstrap", "-1"], "--bootstrap must be >= 0"),
    ],
)
def test_bad_options_fail_before_fitting(args, named, tmp_path):
    result = demo(*args, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert named in result.output
    assert not (tmp_path / "out").exists()


def test_held_out_rows_are_each_familys_largest_model_past_the_warm_up():
    rows, train, held_out = hitchhiker_demo_data(load("hitchhiker"), ["pythia", "lambda"])
    final = rows.groupby(["family", "model"])["D"].transform("max")
    assert (rows["D"] >= 0.1 * final).all()
    largest = rows.groupby("family")["N"].max()
    assert (held_out["N"].to_numpy() == largest[held_out["family"]].to_numpy()).all()
    assert (train["N"].to_numpy() < largest[train["family"]].to_numpy()).all()
    assert train.groupby(["family", "model"]).size().max() <= 30
    assert set(held_out["family"]) == set(train["family"]) == {"pythia", "lambda"}


@pytest.mark.slow
def test_demo_writes_the_tables_and_the_report(tmp_path):
    out = tmp_path / "demo_out"
    result = demo("--bootstrap", 8, "--families", "lambda", "--out", out)
    assert result.exit_code == 0, result.output
    assert "Compute-optimal at C = 5.88e+23 FLOPs" in result.output

    params = pd.read_csv(out / "chinchilla_params.csv")
    assert len(params) == 1 and params["status"].iloc[0] == "converged"
    assert abs(params["alpha"].iloc[0] - 0.3473) < 1e-3  # Epoch AI's optimum
    optimal = pd.read_csv(out / "chinchilla_optimal.csv")
    assert list(optimal["C"]) == list(OPTIMAL_BUDGETS)
    assert {"N_opt", "D_opt", "tokens_per_param_lo", "tokens_per_param_hi"} <= set(optimal.columns)
    assert len(pd.read_csv(out / "chinchilla_bootstrap.csv")) == 8

    refit = pd.read_csv(out / "hitchhiker_params.csv")
    assert list(refit["family"]) == ["lambda"]
    forecast = pd.read_csv(out / "hitchhiker_forecast.csv")
    _, _, held_out = hitchhiker_demo_data(load("hitchhiker"), ["lambda"])
    assert len(forecast) == len(held_out) and set(forecast["family"]) == {"lambda"}
    assert (forecast["lo_95"] <= forecast["median"]).all()
    assert (forecast["median"] <= forecast["hi_95"]).all()
    assert forecast["are"].between(0, 0.5).all()

    html = (out / "report.html").read_text()
    for section in ("Fitted parameters", "Parameter draws", "Forecast",
                    "Compute-optimal allocation", "chinchilla_fit.png"):
        assert section in html
    assert "Not recognised" not in html
