"""Law comparison (``lawfit.evaluate.compare_laws``, ``lawfit compare``)."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import lawfit
from lawfit.cli import app
from lawfit.data import InputError
from lawfit.evaluate import COMPARISON_COLUMNS, compare_laws, simulate

TRUTH = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}
X = {"N": "N", "D": "D", "x": "N"}  # power_law sees N only: a misfit when D varies
LAWS = ["chinchilla", "power_law"]
OPTIONS = {"starts": 16}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    n, d = np.meshgrid(np.logspace(7, 9.5, 6), np.logspace(9, 11.5, 6))
    return simulate("chinchilla", TRUTH, {"N": n, "D": d}, noise=0.01, y="loss")


@pytest.fixture(scope="module")
def comparison(data):
    return compare_laws(data, X, "loss", laws=LAWS, **OPTIONS)


def test_chinchilla_ranks_above_a_power_law_misfit(comparison):
    table = comparison.table.set_index("law")
    assert list(comparison.table.columns) == list(COMPARISON_COLUMNS)
    assert (table["status"] == "converged").all()
    assert table.loc["chinchilla", "are_backtest"] < table.loc["power_law", "are_backtest"]
    assert table.loc["chinchilla", "bic"] < table.loc["power_law", "bic"]
    assert table.loc["chinchilla", ["rank_are", "rank_aic", "rank_bic"]].tolist() == [1, 1, 1]
    assert list(comparison.table["law"]) == ["chinchilla", "power_law"]  # sorted by rank_are
    assert table.loc["chinchilla", "are_backtest"] < 0.02  # 1% noise, true law


def test_held_out_points_are_the_largest_scale_values(comparison, data):
    points = comparison.points[comparison.points["law"] == "chinchilla"]
    scale = points["scale"].to_numpy()
    held = points["held_out"].to_numpy(bool)
    assert comparison.scale == "N x D"
    np.testing.assert_allclose(np.sort(scale), np.sort(data["N"] * data["D"]), rtol=1e-12)
    assert scale[held].min() > scale[~held].max()
    assert 0.15 * len(data) <= held.sum() <= 0.35 * len(data)
    assert comparison.table["n_heldout"].eq(held.sum()).all()
    observed, predicted = points["observed"].to_numpy(), points["backtest_prediction"].to_numpy()
    are = np.mean(np.abs(observed[held] - predicted[held]) / observed[held])
    row = comparison.table.set_index("law").loc["chinchilla"]
    assert row["are_backtest"] == pytest.approx(are, rel=1e-12)


def test_information_criteria_of_the_full_fit(comparison, data):
    # Gaussian on log residuals, sigma profiled: -2 log L = n (log(2 pi RSS / n) + 1), k = K + 1
    for law_name, row in comparison.table.set_index("law").iterrows():
        law = lawfit.laws.get(law_name)
        params = comparison.fits[law_name].iloc[0]
        inputs = {name: data[X[name]].to_numpy() for name in law.inputs}
        fitted = np.asarray(law.predict({p: params[p] for p in law.param_names}, inputs))
        rss, n, k = np.sum(np.log(data["loss"] / fitted) ** 2), len(data), len(law.param_names) + 1
        minus_2ll = n * (np.log(2 * np.pi * rss / n) + 1)
        assert row["aic"] == pytest.approx(2 * k + minus_2ll, rel=1e-9)
        assert row["bic"] == pytest.approx(k * np.log(n) + minus_2ll, rel=1e-9)


def test_groups_and_a_cut_value_on_a_column(data):
    frame = data.assign(C=6 * data["N"] * data["D"])
    frame = pd.concat([frame.assign(family="a"), frame.assign(family="b", loss=1.1 * frame["loss"])],
                      ignore_index=True)
    result = compare_laws(frame, X, "loss", laws=LAWS, by="family", cut_column="C",
                          cut_value=1e20, **OPTIONS)
    assert list(result.table[["family", "law"]].itertuples(index=False, name=None)) == [
        ("a", "chinchilla"), ("a", "power_law"), ("b", "chinchilla"), ("b", "power_law")]
    assert (result.table["n_heldout"] == (data["N"] * data["D"] * 6 > 1e20).sum()).all()
    assert result.scale == "C"
    points = result.points[result.points["law"] == "chinchilla"]
    assert (points["held_out"] == (points["scale"] > 1e20)).all()
    np.testing.assert_allclose(np.sort(points["scale"]), np.sort(frame["C"]), rtol=1e-12)
    assert set(result.fits["chinchilla"]["family"]) == {"a", "b"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"laws": ["kaplan_ns"]}, r"laws: 'kaplan_ns' takes inputs \['S_min'\] that x does not map"),
        ({"laws": ["chinchila"]}, r"laws: unknown law 'chinchila'"),
        ({"cut": 1.5}, r"cut: must be a fraction in \(0, 1\)"),
        ({"cut_value": 3.0}, r"cut_value: needs cut_column"),
        ({"by": "family"}, r"by: column 'family' not found"),
    ],
)
def test_bad_options_are_input_errors(data, kwargs, message):
    with pytest.raises(InputError, match=message):
        compare_laws(data, X, "loss", **{"laws": LAWS, **kwargs})


def test_no_law_takes_only_the_mapped_inputs(data):
    with pytest.raises(InputError, match=r"x: no registered law takes only the inputs \['T'\]"):
        compare_laws(data.assign(T=1.0), {"T": "T"}, "loss")


def test_cli_compare_end_to_end(tmp_path, data, comparison):
    data.to_csv(tmp_path / "runs.csv", index=False)
    out = tmp_path / "cmp"
    base = ["compare", str(tmp_path / "runs.csv"), "--x", "N=N,D=D,x=N", "--y", "loss",
            "--starts", "16", "--out", str(out)]
    done = CliRunner().invoke(app, [*base, "--laws", "chinchilla,power_law"])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["law"]) == ["chinchilla", "power_law"]
    np.testing.assert_allclose(table["are_backtest"], comparison.table["are_backtest"], rtol=1e-9)
    np.testing.assert_allclose(table["bic"], comparison.table["bic"], rtol=1e-9)
    assert (out / "compare.png").stat().st_size > 10_000
    assert len(pd.read_csv(out / "points.csv")) == 2 * len(data)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--laws", "kaplan_ns"], "--laws: 'kaplan_ns' takes inputs ['S_min']"),
        (["--cut", "0"], "--cut: must be a fraction in (0, 1)"),
        (["--cut", "0.3", "--cut-value", "1e20", "--cut-column", "N"], "--cut: give either"),
        (["--cut-value", "1e20"], "--cut-value needs --cut-column"),
        (["--cut-column", "C"], "--cut-column: column 'C' not found"),
        (["--by", "family"], "--by: column 'family' not found"),
    ],
)
def test_cli_errors_exit_2_naming_the_option(tmp_path, data, args, message):
    data.to_csv(tmp_path / "runs.csv", index=False)
    done = CliRunner().invoke(app, ["compare", str(tmp_path / "runs.csv"), "--x", "N=N,D=D,x=N",
                                    "--y", "loss", "--out", str(tmp_path / "cmp"), *args])
    assert done.exit_code == 2
    assert message in done.output
    assert not (tmp_path / "cmp").exists()
