"""``lawfit forecast``: the command shape other tools rely on, and its errors."""

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawfit.cli import app
from lawfit.evaluate import simulate

runner = CliRunner()
PARAMS = {"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.3}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forecast")
    n, d = np.meshgrid([1e7, 3e7, 1e8, 3e8], [1e9, 3e9, 1e10, 3e10])
    train = simulate("chinchilla", PARAMS, {"N": n, "D": d}, noise=0.005, y="loss")
    train = train.rename(columns={"N": "params", "D": "tokens"}).assign(fam="x")
    at = pd.DataFrame({"tokens": [1e11, 2e10], "note": ["b", "a"], "params": [1e9, 3e9],
                       "fam": "x"})
    train.to_csv(folder / "train.csv", index=False)
    at.to_csv(folder / "at.csv", index=False)
    return folder


def _run(folder, *extra):
    return runner.invoke(app, [
        "forecast", str(folder / "train.csv"), "--law", "chinchilla", "--x",
        "N=params,D=tokens", "--y", "loss", "--at", str(folder / "at.csv"),
        "--out", str(folder / "pred.csv"), *extra,
    ])


def test_bootstrap_writes_the_relied_on_shape(files):
    result = _run(files, "--method", "bootstrap", "--bootstrap", "50", "--by", "fam")
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(files / "pred.csv")
    assert list(pred.columns) == ["tokens", "note", "params", "fam", "median",
                                  "lo_50", "hi_50", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert list(pred["note"]) == ["b", "a"]
    assert (pred["lo_95"] <= pred["lo_50"]).all() and (pred["hi_50"] <= pred["hi_95"]).all()
    assert (pred["lo_50"] <= pred["median"]).all() and (pred["median"] <= pred["hi_50"]).all()


def test_thin_keeps_a_few_checkpoints_per_run_and_says_so(files):
    """4 models x 4 checkpoints, --thin 2: each run keeps its first and last checkpoint."""
    result = _run(files, "--method", "bootstrap", "--bootstrap", "20", "--by", "fam", "--thin", "2")
    assert result.exit_code == 0, result.output
    assert "thinned the training data to 8 of 16 rows (at most 2 checkpoints per run" in result.output
    kept_all = _run(files, "--method", "bootstrap", "--bootstrap", "20", "--by", "fam", "--thin", "0")
    assert kept_all.exit_code == 0 and "thinned" not in kept_all.output
    bad = _run(files, "--method", "bootstrap", "--thin", "1")
    assert bad.exit_code == 2 and "thin: keep at least 2 rows per run" in bad.output


def test_plot_option_draws_the_forecast(files):
    plot = files / "forecast.svg"
    result = _run(files, "--method", "bootstrap", "--bootstrap", "50", "--by", "fam", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    assert plot.read_text().lstrip().startswith("<?xml") and "<svg" in plot.read_text()[:2000]
    bad = _run(files, "--plot", str(files / "forecast.jpg"))
    assert bad.exit_code == 2
    assert "--plot" in bad.output and ".png, .svg, .pdf" in bad.output


def test_levels_option(files):
    result = _run(files, "--method", "bootstrap", "--bootstrap", "20", "--levels", "0.9")
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(files / "pred.csv").columns)[-3:] == ["median", "lo_90", "hi_90"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--y", "nope"], "nope"),
        (["--x", "N=params,D=missing"], "missing"),
        (["--method", "magic"], "--method"),
        (["--levels", "0.5,1.5"], "levels"),
        (["--by", "fam", "--borrow", "nope"], "borrow: column 'nope' not found"),
        (["--by", "fam", "--borrow", "fam", "--method", "bootstrap"], "--borrow needs"),
        (["--max-tree-depth", "0"], "max_tree_depth must be an integer from 1 to 15"),
        (["--target-accept", "1.5"], "target_accept must be in (0, 1)"),
    ],
)
def test_bad_input_exits_2_naming_it(files, extra, needle):
    result = _run(files, *extra)
    assert result.exit_code == 2, result.output
    assert needle in result.output


@pytest.mark.slow
def test_bayes_default(files):
    result = _run(files, "--warmup", "150", "--samples", "150", "--chains", "2")
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(files / "pred.csv")
    assert len(pred) == 2 and (pred["lo_95"] < pred["median"]).all()
    assert (pred["median"] < pred["hi_95"]).all()
    assert re.search(r"kappa \S+ per decade, lam \S+ \(from [1-9]\d* backtests along product\)",
                     result.output)
    assert "no backtest" not in result.output


@pytest.mark.slow
def test_two_sizes_alone_warn_of_no_discrepancy(files, tmp_path):
    """A family with two sizes leaves no backtest: the forecast says its intervals have no
    discrepancy term, instead of handing back overconfident intervals silently."""
    train = pd.read_csv(files / "train.csv")
    train[train["params"] <= 3e7].to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "at.csv").write_text((files / "at.csv").read_text())
    result = _run(tmp_path, "--warmup", "150", "--samples", "150", "--chains", "2")
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "no backtest" in result.output
    assert "(from 0 backtests along " in result.output


@pytest.mark.slow
def test_flagged_posteriors_are_listed_with_the_failing_site(files):
    """40 draws cannot reach a bulk ESS of 100: the posterior is flagged, and the output
    names it, its status and the site with the smallest ESS."""
    result = _run(files, "--by", "fam", "--warmup", "20", "--samples", "20", "--chains", "2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-3].endswith("; 1 posterior(s) flagged by diagnostics")
    assert re.fullmatch(r"  fam=x: (low_ess|not_mixed|divergent): .* at (E|A|B|alpha|beta|sigma|nu)",
                        lines[-2])
    assert lines[-1].startswith("discrepancy sd")


def test_bootstrap_groups_without_a_forecast_are_listed(files, monkeypatch):
    """A group with fewer than two converged bootstrap refits gets NaN forecasts, and the
    output names it and why (the fit is replaced by hand-made resamples: one of four
    converged)."""
    import lawfit
    from lawfit.bayes import _bootstrap

    params = pd.DataFrame([dict(fam="x", **PARAMS, status="converged", message="")])
    resamples = pd.DataFrame([dict(fam="x", resample=r, **PARAMS,
                                   status="converged" if r == 0 else "max_steps")
                              for r in range(4)])
    fitted = lawfit.FitResult(params, lawfit.laws.get("chinchilla"),
                              {"N": "params", "D": "tokens"}, "loss", ["fam"], objective=None,
                              bootstrap=resamples)
    monkeypatch.setattr(_bootstrap, "map_fit", lambda *a, **k: fitted)
    result = _run(files, "--method", "bootstrap", "--bootstrap", "4", "--by", "fam")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-2].endswith("; 1 group(s) without a bootstrap forecast (NaN)")
    assert lines[-1] == ("  fam=x: too_few_converged: 1 of 4 bootstrap refits converged; a "
                         "forecast needs at least 2")
    assert pd.read_csv(files / "pred.csv")["median"].isna().all()
