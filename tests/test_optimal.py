"""Compute-optimal allocation (``lawfit.evaluate.compute_optimal``, ``lawfit optimal``)."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import lawfit
from lawfit.cli import app
from lawfit.evaluate import compute_optimal

# Besiroglu et al. 2024 (Epoch AI's refit of Chinchilla), Table 1 / eq. 5.
BESIROGLU = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
# Hoffmann et al. 2022, eq. 10 (rounded published fit).
HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
CHINCHILLA_FLOPS = 5.88e23  # Chinchilla-70B's training compute (Hoffmann et al. 2022, Table 1)


def closed_form(p, compute, k=6.0):
    """Hoffmann et al. 2022 eq. 4: N* = G (C/k)^(beta/(alpha+beta)), computed independently."""
    a, b = p["alpha"], p["beta"]
    g = (a * p["A"] / (b * p["B"])) ** (1.0 / (a + b))
    n = g * (np.asarray(compute) / k) ** (b / (a + b))
    return n, np.asarray(compute) / k / n


@pytest.mark.parametrize(("params", "ratio"), [(BESIROGLU, 18.4), (HOFFMANN, 92.8)])
def test_tokens_per_parameter_of_published_fits(params, ratio):
    # The figures (≈ 18.4 and ≈ 92.8 tokens per parameter at 5.88e23 FLOPs).
    row = compute_optimal(params, CHINCHILLA_FLOPS).iloc[0]
    assert row["status"] == "ok"
    assert row["tokens_per_param"] == pytest.approx(ratio, abs=0.05)


def test_numerical_optimum_matches_closed_form():
    budgets = np.array([1e18, 1e21, 5.88e23, 1e26])
    table = compute_optimal(BESIROGLU, budgets)
    n, d = closed_form(BESIROGLU, budgets)
    np.testing.assert_allclose(table["N_opt"], n, rtol=1e-7)
    np.testing.assert_allclose(table["D_opt"], d, rtol=1e-7)
    np.testing.assert_allclose(table["N_opt"] * table["D_opt"] * 6, budgets, rtol=1e-12)
    law = lawfit.laws.get("chinchilla")
    expected = law.predict(BESIROGLU, {"N": n, "D": d})
    np.testing.assert_allclose(table["loss_opt"], expected, rtol=1e-10)


def test_flops_per_token_scales_the_budget():
    six = compute_optimal(HOFFMANN, 6e22).iloc[0]
    eight = compute_optimal(HOFFMANN, 8e22, flops_per_token=8.0).iloc[0]
    assert eight["N_opt"] == pytest.approx(six["N_opt"], rel=1e-9)


def test_groups_times_budgets_keep_group_columns():
    table = pd.DataFrame([{"family": "b", **BESIROGLU}, {"family": "h", **HOFFMANN}])
    out = compute_optimal(table, [1e21, 5.88e23], by="family")
    assert list(out["family"]) == ["b", "b", "h", "h"]
    assert list(out["C"]) == [1e21, 5.88e23, 1e21, 5.88e23]
    assert out.loc[3, "tokens_per_param"] == pytest.approx(92.8, abs=0.05)


def test_law_without_closed_form_shared_exponent():
    # E + A/N^a + B/D^a: the optimum balances the two terms, A/N* = B/D* at equal exponents.
    params = {"E": 1.7, "A": 400.0, "B": 1600.0, "alpha": 0.3}
    row = compute_optimal(params, 1e22, law="shared_exponent").iloc[0]
    assert row["status"] == "ok"
    ratio = (params["B"] / params["A"]) ** (1 / params["alpha"])  # D*/N* from A/N = B/D
    assert row["tokens_per_param"] == pytest.approx(ratio, rel=1e-6)


def test_no_interior_optimum_is_a_status():
    # beta -> large: the data term vanishes, so the loss keeps falling as N grows to C/6.
    row = compute_optimal({**HOFFMANN, "beta": 30.0, "B": 1e-30}, 1e20).iloc[0]
    assert row["status"] == "no_optimum"
    assert np.isnan(row["N_opt"])
    bad = compute_optimal({**HOFFMANN, "A": np.nan}, 1e20).iloc[0]
    assert bad["status"] == "invalid_params"


def test_intervals_from_draws_cover_the_point():
    rng = np.random.default_rng(0)
    draws = pd.DataFrame({k: v * np.exp(0.01 * rng.standard_normal(200)) for k, v in BESIROGLU.items()})
    draws["status"] = "converged"
    draws.loc[:9, "status"] = "max_steps"
    draws.loc[:9, "alpha"] = 50.0  # ignored: not converged
    row = compute_optimal(BESIROGLU, CHINCHILLA_FLOPS, draws=draws).iloc[0]
    assert row["tokens_per_param_lo"] < row["tokens_per_param"] < row["tokens_per_param_hi"]
    assert row["N_opt_lo"] < row["N_opt"] < row["N_opt_hi"]
    clean = compute_optimal(BESIROGLU, CHINCHILLA_FLOPS, draws=draws.iloc[10:]).iloc[0]
    assert row["tokens_per_param_hi"] == clean["tokens_per_param_hi"]


def test_bad_arguments_name_the_argument():
    with pytest.raises(lawfit.InputError, match="compute"):
        compute_optimal(BESIROGLU, -1.0)
    with pytest.raises(lawfit.InputError, match="params"):
        compute_optimal({"E": 1.0}, 1e21)
    with pytest.raises(lawfit.InputError, match="law"):
        compute_optimal({"E": 1.0, "A": 1.0, "alpha": 0.3}, 1e21, law="power_law")
    with pytest.raises(lawfit.InputError, match="inputs"):
        compute_optimal({}, 1e21, law="data_constrained")


def run(*args):
    return CliRunner().invoke(app, ["optimal", *map(str, args)])


def test_cli_params():
    values = ",".join(f"{k}={v}" for k, v in BESIROGLU.items())
    result = run("--compute", "5.88e23", "--params", values)
    assert result.exit_code == 0, result.output
    assert "18.38" in result.output


def test_cli_from_fit_output_with_groups(tmp_path):
    fit = pd.DataFrame([{"family": "b", **BESIROGLU, "status": "converged", "objective": 1.0},
                        {"family": "h", **HOFFMANN, "status": "converged", "objective": 1.0}])
    fit.to_csv(tmp_path / "params.csv", index=False)
    out = tmp_path / "optimal.csv"
    result = run("--compute", "5.88e23,1e24", "--fit", tmp_path / "params.csv", "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table["family"]) == ["b", "b", "h", "h"]
    assert table.loc[2, "tokens_per_param"] == pytest.approx(92.8, abs=0.05)
    plot = tmp_path / "frontier.png"
    drawn = run("--compute", "1e21,1e23,1e25", "--fit", tmp_path / "params.csv", "--plot", plot)
    assert drawn.exit_code == 0, drawn.output
    assert plot.read_bytes()[:4] == b"\x89PNG"
    refused = run("--compute", "1e21", "--fit", tmp_path / "params.csv", "--plot", tmp_path / "no" / "f.png")
    assert refused.exit_code == 2 and "--plot" in refused.output


def test_cli_errors_exit_2():
    assert run("--compute", "1e21").exit_code == 2
    result = run("--compute", "1e21", "--params", "E=1,A=x")
    assert result.exit_code == 2
    assert "--params" in result.output
