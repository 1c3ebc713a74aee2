"""Prediction from a table of fitted parameters (``lawfit.fitting.predict``, ``FitResult.predict``,
``lawfit predict``)."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import lawfit
from lawfit.cli import app
from lawfit.data import InputError
from lawfit.fitting import UnconvergedFitWarning, group_columns, predict

LAW = lawfit.laws.get("power_law")


def runs(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = np.logspace(6, 10, 8)
    rows = []
    for g in range(3):
        loss = (1.5 + 0.1 * g + 50 * size**-0.2) * np.exp(0.01 * rng.standard_normal(8))
        rows.append(pd.DataFrame({"run": f"r{g}", "size": size, "loss": loss}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def fitted():
    return lawfit.fit(runs(), "power_law", {"x": "size"}, "loss", by="run", loss="log-mse",
                      starts=4, bootstrap=30)


TARGETS = pd.DataFrame({"run": ["r2", "r0", "r2"], "size": [1e11, 1e12, 3e12]})


def by_hand(params: pd.DataFrame, run: str, size: float) -> float:
    row = params.set_index("run").loc[run]
    return row["E"] + row["A"] * size ** -row["alpha"]


def test_predictions_are_the_law_at_each_targets_group(fitted):
    table = predict(fitted.params, TARGETS, law="power_law", x={"x": "size"})
    assert list(table.columns) == ["run", "size", "prediction"]
    expected = [by_hand(fitted.params, r, s) for r, s in zip(TARGETS.run, TARGETS["size"], strict=True)]
    np.testing.assert_allclose(table["prediction"], expected, rtol=1e-12)
    # FitResult.predict is the same function
    np.testing.assert_array_equal(fitted.predict(TARGETS), table["prediction"].to_numpy())


def test_group_columns_are_inferred_from_the_table(fitted):
    assert group_columns(fitted.params, "power_law") == ["run"]
    inferred = predict(fitted.params, TARGETS.rename(columns={"size": "x"}), law="power_law")
    np.testing.assert_array_equal(inferred["prediction"], fitted.predict(TARGETS))


def test_draws_give_percentile_intervals(fitted):
    table = predict(fitted.params, TARGETS, law="power_law", x="size", draws=fitted.bootstrap,
                    ci=0.8)
    assert list(table.columns[-3:]) == ["prediction", "lo_80", "hi_80"]
    boot = fitted.bootstrap[(fitted.bootstrap.run == "r0") & (fitted.bootstrap.status == "converged")]
    values = boot["E"] + boot["A"] * 1e12 ** -boot["alpha"]
    assert table.loc[1, "lo_80"] == pytest.approx(np.quantile(values, 0.1), rel=1e-12)
    assert table.loc[1, "hi_80"] == pytest.approx(np.quantile(values, 0.9), rel=1e-12)
    assert (table["lo_80"] < table["hi_80"]).all()


def test_missing_group_names_at_and_the_row(fitted):
    at = pd.DataFrame({"run": ["r0", "r7"], "size": [1e9, 1e9]}, index=[10, 11])
    with pytest.raises(InputError, match=r"^at: groups \[\{'run': 'r7'\}\] not in params, at row 11"):
        predict(fitted.params, at, law="power_law", x="size")


def test_unconverged_group_is_nan_with_one_warning(fitted):
    params = fitted.params.copy()
    params.loc[params.run == "r2", "status"] = "max_steps"
    with pytest.warns(UnconvergedFitWarning, match=r"2 targets .* \[\{'run': 'r2'\}\]") as caught:
        table = predict(params, TARGETS, law="power_law", x="size", draws=fitted.bootstrap)
    assert len(caught) == 1
    assert table.loc[[0, 2], ["prediction", "lo_95", "hi_95"]].isna().all().all()
    assert np.isfinite(table.loc[1, ["prediction", "lo_95", "hi_95"]].astype(float)).all()


def test_bad_targets_are_input_errors(fitted):
    with pytest.raises(InputError, match=r"at: column 'size' \(input x\) must be > 0 at row 1"):
        predict(fitted.params, TARGETS.assign(size=[1.0, 0.0, 2.0]), law="power_law", x="size")
    with pytest.raises(InputError, match=r"params: 3 rows but no by columns"):
        predict(fitted.params, TARGETS, law="power_law", x="size", by=[])
    with pytest.raises(InputError, match=r"at: column 'run' not found"):
        predict(fitted.params, TARGETS[["size"]], law="power_law", x="size")


def test_cli_fit_then_predict_with_draws(tmp_path):
    runs().to_csv(tmp_path / "runs.csv", index=False)
    TARGETS.to_csv(tmp_path / "at.csv", index=False)
    cli = CliRunner()
    fit = cli.invoke(app, ["fit", str(tmp_path / "runs.csv"), "--law", "power_law", "--x",
                           "x=size", "--y", "loss", "--by", "run", "--loss", "log-mse",
                           "--starts", "4", "--bootstrap", "20", "--out",
                           str(tmp_path / "params.csv"), "--draws", str(tmp_path / "draws.csv")])
    assert fit.exit_code == 0, fit.output
    out = tmp_path / "pred.csv"
    done = cli.invoke(app, ["predict", str(tmp_path / "params.csv"), "--at", str(tmp_path / "at.csv"),
                            "--law", "power_law", "--x", "x=size", "--draws",
                            str(tmp_path / "draws.csv"), "--out", str(out)])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(out)
    params = pd.read_csv(tmp_path / "params.csv")
    assert list(table.columns) == ["run", "size", "prediction", "lo_95", "hi_95"]
    np.testing.assert_allclose(table["prediction"], predict(params, TARGETS, law="power_law",
                                                            x="size")["prediction"], rtol=1e-12)
    assert ((table.lo_95 <= table.prediction) & (table.prediction <= table.hi_95)).all()

    pd.DataFrame({"run": ["r0", "zz"], "size": [1e9, 1e9]}).to_csv(tmp_path / "bad.csv", index=False)
    bad = cli.invoke(app, ["predict", str(tmp_path / "params.csv"), "--at", str(tmp_path / "bad.csv"),
                           "--law", "power_law", "--x", "x=size"])
    assert bad.exit_code == 2
    assert "--at: groups [{'run': 'zz'}] not in params, at row 1" in bad.output
    same = cli.invoke(app, ["predict", str(tmp_path / "params.csv"), "--at", str(tmp_path / "at.csv"),
                            "--law", "power_law", "--x", "x=size", "--out", str(tmp_path / "at.csv")])
    assert same.exit_code == 2 and "is an input file" in same.output

    params.loc[params.run == "r0", "status"] = "stalled"
    params.to_csv(tmp_path / "stalled.csv", index=False)
    warned = cli.invoke(app, ["predict", str(tmp_path / "stalled.csv"), "--at",
                              str(tmp_path / "at.csv"), "--law", "power_law", "--x", "x=size"])
    assert warned.exit_code == 0, warned.output
    lines = [line for line in warned.output.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1 and "{'run': 'r0'}" in lines[0]
