"""The figures of lawfit.plot: each renders to PNG and SVG and holds the artists its data call
for (one curve, band and point set per group; one box per family x method; ...)."""

import io

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

import lawfit
from lawfit import plot
from lawfit.bayes import Posterior
from lawfit.data import InputError
from lawfit.evaluate import compute_optimal
from lawfit.fitting._objective import get_objective


def rendered(artist) -> None:
    """Save the artist's figure as PNG and SVG and check both are drawings, not empty files."""
    fig = getattr(artist, "figure", artist)
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=60)
    fig.savefig(svg, format="svg")
    assert png.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(io.BytesIO(png.getvalue()), format="png")
    assert pixels[..., :3].std() > 0.05  # not a blank canvas
    assert b"<svg" in svg.getvalue()[:1000]


def groups_frame(n_groups: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    size = np.logspace(6, 10, 8)
    rows = [pd.DataFrame({"run": f"r{g}", "size": size,
                          "loss": (1.5 + 0.2 * g + 50 * size**-0.2) * np.exp(0.01 * rng.standard_normal(8))})
            for g in range(n_groups)]
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def grouped_fit():
    """A fit result built from the parameters that generated the data (no solver run: the
    figures, not the fit, are under test), with 24 perturbed resamples per group."""
    frame = groups_frame()
    params = pd.DataFrame({"run": ["r0", "r1", "r2"], "E": [1.5, 1.7, 1.9], "A": 50.0,
                           "alpha": 0.2, "status": "converged"})
    rng = np.random.default_rng(5)
    boot = params.loc[np.repeat([0, 1, 2], 24)].reset_index(drop=True)
    boot["E"] *= np.exp(0.01 * rng.standard_normal(len(boot)))
    boot["alpha"] *= np.exp(0.02 * rng.standard_normal(len(boot)))
    boot.insert(1, "resample", np.tile(np.arange(24), 3))
    result = lawfit.FitResult(params, lawfit.laws.get("power_law"), {"x": "size"}, "loss", ["run"],
                              get_objective("log-mse"), 0.95, boot)
    return frame, result


def test_fitted_laws_draws_each_group_with_its_band(grouped_fit):
    frame, result = grouped_fit
    ax = plot.fitted_laws(result, frame)
    assert len(ax.lines) == 3  # one fitted law per group
    points = [c for c in ax.collections if c.get_offsets().shape[0] == 8]
    assert len(points) == 3  # every group's 8 points
    bands = [c for c in ax.collections if c not in points]
    assert len(bands) == 3
    for line, band in zip(ax.lines, bands, strict=True):
        x, y = line.get_data()
        ys = band.get_paths()[0].vertices[:, 1]
        assert ys.min() <= y.min() * 1.001 and ys.max() >= y.max() * 0.999  # band around the law
    # the curve is the group's fitted law
    r1 = frame[frame["run"] == "r1"]
    x, y = ax.lines[1].get_data()
    expected = result.predict(pd.DataFrame({"run": "r1", "size": x}))
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    assert x.min() == pytest.approx(r1["size"].min())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["r0", "r1", "r2"]
    rendered(ax)


def test_fitted_laws_checks_its_arguments(grouped_fit):
    frame, result = grouped_fit
    with pytest.raises(InputError, match="along must be one of"):
        plot.fitted_laws(result, frame, along="N")
    with pytest.raises(InputError, match="ci must be in"):
        plot.fitted_laws(result, frame, ci=95)
    with pytest.raises(InputError, match="'run' not found"):
        plot.fitted_laws(result, frame.drop(columns="run"))


def forecast_table() -> pd.DataFrame:
    at = np.array([1e11, 1e12, 1e13])
    rows = []
    for g, offset in (("a", 0.0), ("b", 0.3)):
        median = 1.6 + offset + 50 * at**-0.2
        rows.append(pd.DataFrame({"run": g, "size": at, "median": median,
                                  "lo_50": median * 0.98, "hi_50": median * 1.02,
                                  "lo_95": median * 0.9, "hi_95": median * 1.1}))
    return pd.concat(rows, ignore_index=True)


def test_forecast_intervals_draws_medians_and_every_level():
    table = forecast_table()
    train = groups_frame(2).replace({"run": {"r0": "a", "r1": "b"}})
    ax = plot.forecast_intervals(table, "size", by="run", data=train, y="loss")
    medians = [c for c in ax.collections if c.get_label() in ("a", "b")]
    assert len(medians) == 2
    np.testing.assert_allclose(medians[0].get_offsets()[:, 1], table["median"][:3])
    bars = [c for c in ax.collections if type(c).__name__ == "LineCollection"]
    assert len(bars) == 4  # 2 levels x 2 groups
    # the widest bar of group a spans lo_95..hi_95
    ys = np.concatenate([seg[:, 1] for seg in bars[0].get_segments()])
    assert ys.min() == pytest.approx(table["lo_95"][:3].min())
    assert ys.max() == pytest.approx(table["hi_95"][:3].max())
    training = [c for c in ax.collections if c not in medians and c not in bars]
    assert [len(c.get_offsets()) for c in training] == [8, 8]
    rendered(ax)
    with pytest.raises(InputError, match="no interval columns"):
        plot.forecast_intervals(table[["run", "size", "median"]], "size")
    with pytest.raises(InputError, match="column 'tokens' not found"):
        plot.forecast_intervals(table, "tokens")


def test_method_comparison_has_one_box_per_family_and_method():
    rng = np.random.default_rng(2)
    are = pd.DataFrame({"family": np.repeat(["f1", "f2", "f3"], 20),
                        "method": np.tile(np.repeat(["colpret", "huber-grid"], 10), 3),
                        "are": rng.uniform(0.001, 0.2, 60)})
    are.loc[5, "are"] = np.inf
    are = are[~((are["family"] == "f3") & (are["method"] == "colpret"))]
    ax = plot.method_comparison(are)
    assert len(ax.patches) == 5  # 3 families x 2 methods, less the missing one
    strips = ax.collections
    assert sorted(len(c.get_offsets()) for c in strips) == [9, 10, 10, 10, 10]
    assert "1 failed fits left out" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["f1", "f2", "f3"]
    rendered(ax)
    with pytest.raises(InputError, match="column 'are' not found"):
        plot.method_comparison(are.drop(columns="are"))


def test_pair_plot_from_posterior_draws_and_tables():
    rng = np.random.default_rng(3)
    draws = {"E": rng.normal(1.7, 0.05, (2, 2, 50)), "A": rng.lognormal(6, 0.2, (2, 2, 50)),
             "alpha": rng.normal(0.3, 0.02, (2, 2, 50)), "sigma": rng.uniform(0, 1, (2, 2, 50))}
    fig = plot.pair_plot(draws, params=["E", "A", "alpha"], group=1, log=["A"])
    axes = np.array(fig.axes).reshape(3, 3)
    for i in range(3):
        assert len(axes[i, i].patches) == 30  # histogram bars
        np.testing.assert_allclose(sum(p.get_height() for p in axes[i, i].patches), 100)
    lower = [axes[1, 0], axes[2, 0], axes[2, 1]]
    assert all(len(ax.collections) == 1 for ax in lower)
    np.testing.assert_allclose(axes[2, 0].collections[0].get_offsets()[:, 1],
                               draws["alpha"][1].reshape(-1))
    assert not any(ax.axison for ax in (axes[0, 1], axes[0, 2], axes[1, 2]))
    rendered(fig)
    posterior = Posterior(law=lawfit.laws.get("power_law"), x={"x": "size"}, y="loss", by=["run"],
                          groups=pd.DataFrame({"run": ["a", "b"]}), draws=draws, box=np.zeros((2, 1)),
                          sampler=lawfit.bayes.Laplace())
    from_posterior = plot.pair_plot(posterior, group=0)  # the law's E, A, alpha; not sigma
    assert [ax.get_xlabel() for ax in from_posterior.axes[-3:]] == ["E", "A", "alpha"]
    np.testing.assert_allclose(from_posterior.axes[3].collections[0].get_offsets()[:, 0],
                               draws["E"][0].reshape(-1))
    table = pd.DataFrame({k: v[0].reshape(-1) for k, v in draws.items()})
    assert len(plot.pair_plot(table).axes) == 16
    with pytest.raises(InputError, match="no draws of 'B'"):
        plot.pair_plot(draws, params=["E", "B"])


def test_calibration_plots_coverage_against_level():
    reports = {"bayes": {"cover_50": 0.48, "cover_80": 0.77, "cover_95": 0.93, "crps": 0.01},
               "bootstrap": {"cover_50": 0.2, "cover_80": 0.35, "cover_95": 0.5}}
    ax = plot.calibration(reports)
    assert len(ax.lines) == 3  # the diagonal and one line per report
    np.testing.assert_allclose(ax.lines[2].get_xydata(), [[0.5, 0.2], [0.8, 0.35], [0.95, 0.5]])
    rendered(ax)
    table = pd.DataFrame(reports).T
    assert len(plot.calibration(table).lines) == 3
    assert len(plot.calibration(reports["bayes"]).lines) == 2
    with pytest.raises(InputError, match="no cover_XX"):
        plot.calibration({"crps": 0.1})


def test_frontier_from_compute_optimal_with_intervals():
    params = pd.DataFrame({"family": ["x", "y"], "E": [1.82, 1.69], "A": [482.0, 406.4],
                           "B": [2085.0, 410.7], "alpha": [0.348, 0.34], "beta": [0.366, 0.28]})
    rng = np.random.default_rng(4)
    draws = params.loc[np.repeat([0, 1], 20)].reset_index(drop=True)
    draws[["alpha", "beta"]] *= np.exp(0.01 * rng.standard_normal((40, 2)))
    rows = compute_optimal(params, [1e20, 1e22, 1e24], law="chinchilla", by="family", draws=draws)
    ax = plot.frontier(rows)
    assert len(ax.lines) == 4  # N* and D* per family
    np.testing.assert_allclose(ax.lines[0].get_ydata(), rows["N_opt"][:3])
    np.testing.assert_allclose(ax.lines[3].get_ydata(), rows["D_opt"][3:])
    assert len(ax.collections) == 4  # an interval band for each
    rendered(ax)
    bare = plot.frontier(rows[["family", "C", "N_opt", "D_opt"]])
    assert len(bare.collections) == 0
    with pytest.raises(InputError, match="column 'D_opt' not found"):
        plot.frontier(rows[["C", "N_opt"]])


def test_fitted_laws_without_groups_draws_a_curve_per_level_of_the_other_input():
    law = lawfit.laws.get("chinchilla")
    truth = {"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.3}
    n, d = np.meshgrid([1e7, 1e8, 1e9], [1e9, 1e10, 1e11])
    data = pd.DataFrame({"params": n.ravel(), "tokens": d.ravel()})
    data["loss"] = np.asarray(law.predict(truth, {"N": data["params"].values, "D": data["tokens"].values}))
    result = lawfit.FitResult(pd.DataFrame([{**truth, "status": "converged"}]), law,
                              {"N": "params", "D": "tokens"}, "loss", [], get_objective("huber-log"))
    ax = plot.fitted_laws(result, data, along="D")
    assert [line.get_label() for line in ax.lines] == ["N = 1e+07", "N = 1e+08", "N = 1e+09"]
    for line, points, size in zip(ax.lines, ax.collections, [1e7, 1e8, 1e9], strict=True):
        mine = data[data["params"] == size].sort_values("tokens")
        np.testing.assert_allclose(points.get_offsets()[:, 0], np.sort(mine["tokens"]))
        y = line.get_ydata()  # the law through its level's points, end to end
        np.testing.assert_allclose([y[0], y[-1]], mine["loss"].to_numpy()[[0, -1]], rtol=1e-9)
    assert ax.get_xlabel() == "D (tokens)"
