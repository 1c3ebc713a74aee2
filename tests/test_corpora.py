"""Bundled corpora and the corpus schema (no fitting here)."""

import numpy as np
import pandas as pd
import pytest

import lawfit
from lawfit.data import CORPUS_COLUMNS, InputError, bundled_path, read_table, validate_corpus


@pytest.fixture(scope="module")
def hitchhiker():
    return lawfit.load("hitchhiker")


def test_bundled_files_are_compact():
    for name in ("hitchhiker.parquet", "porian_points.parquet", "porian_optima.parquet",
                 "revisiting.parquet"):
        path = bundled_path(name)
        assert path.is_file()
        assert path.stat().st_size < 500_000, name


# Counts below are properties of the source tables as bundled, documented in
# src/lawfit/data/bundled/PROVENANCE.md: ColPret's `perf` table (Choshen et al. 2025) for
# hitchhiker, Alabdulmohsin et al. 2022's benchmark files for revisiting, Porian et al. 2024's
# IsoFLOP points and optima for porian; model sizes are the sizes the sources name.


def test_hitchhiker_schema_and_quirks(hitchhiker):
    assert list(hitchhiker.columns) == list(CORPUS_COLUMNS)
    assert len(hitchhiker) == 17_228
    models = hitchhiker.groupby("family")["model"].nunique()
    assert models["OPT"] == 6 and models["gpt3"] == 8 and models["pythia"] == 7
    assert models["olmo"] == 2 and models["chinchilla"] == 43
    # OPT trajectories are raw perplexity (ColPret renames ppl to loss, no log).
    opt = hitchhiker[hitchhiker["family"] == "OPT"]
    assert opt["loss"].min() == pytest.approx(9.77, abs=0.01)  # OPT-175B's last perplexity in perf
    # Pythia: the fitted loss is log2 of the LAMBADA perplexity in `value`.
    lambada = hitchhiker[(hitchhiker["family"] == "pythia")
                         & (hitchhiker["metric"] == "lambada_openai ppl")]
    assert len(lambada) > 100
    np.testing.assert_allclose(lambada["loss"], np.log2(lambada["value"]), rtol=1e-12)
    assert hitchhiker.loc[hitchhiker["model"] == "OLMo-1B ", "N"].iloc[0] == 1e9


def test_hitchhiker_overtrain_filter(hitchhiker):
    everything = lawfit.load("hitchhiker", overtrain="all")
    runs = everything[everything["family"] == "overtrain-C4"].drop_duplicates("model")
    assert runs["model"].nunique() == 34
    multiplier = runs["model"].str.rsplit("-", n=1).str[-1].astype(float)
    best = runs.loc[multiplier.groupby(runs["N"]).idxmax(), "model"]
    kept = hitchhiker.loc[hitchhiker["family"] == "overtrain-C4", "model"].unique()
    assert sorted(kept) == sorted(best)
    with pytest.raises(InputError, match="overtrain"):
        lawfit.load("hitchhiker", overtrain="some")


def test_revisiting_drops_duplicates_and_keeps_split():
    frame = lawfit.load("revisiting")
    assert len(frame) == 20_282 - 687  # the source's rows less its exact duplicates
    assert not frame.duplicated(["family", "model", "D", "loss"]).any()
    assert frame["training"].dtype == bool and (~frame["training"]).any()
    lm = frame[frame["family"] == "LM/val_loss"]
    assert sorted(lm["N"].unique()) == pytest.approx([1.68e7, 1.34e8, 2.62e8, 4.53e8, 1.07e9])
    assert frame.loc[frame["family"].str.startswith("IC/"), "N"].isna().all()


def test_porian_points_and_optima():
    points = lawfit.load("porian")
    assert len(points) == 1_745 and points["family"].nunique() == 15
    np.testing.assert_allclose(points["loss"], points["value"])
    optima = lawfit.load("porian", table="optima")
    assert len(optima) == 177
    assert set(optima["family"]) <= set(points["family"])
    with pytest.raises(InputError, match="table"):
        lawfit.load("porian", table="runs")


def _tiny() -> pd.DataFrame:
    return pd.DataFrame({"family": ["f"] * 3, "model": ["a", "a", "b"], "N": [1e6, 1e6, 2e6],
                         "D": [1e9, 2e9, 1e9], "loss": [3.0, 2.9, 2.8], "my_note": ["x", "y", "z"]})


def test_validate_corpus_fills_optional_columns_and_keeps_extra():
    out = validate_corpus(_tiny())
    assert list(out.columns) == [*CORPUS_COLUMNS, "my_note"]
    assert out["C"].isna().all() and out["metric"].isna().all()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.drop(columns="loss"), "'loss' not found"),
        (lambda f: f.assign(D=[1e9, 0.0, 1e9]), r"column 'D' must be > 0; not at row 1"),
        (lambda f: f.assign(N=[1e6, 3e6, 2e6]), r"column 'N' takes 2 values for model 'a'"),
        (lambda f: f.assign(N=["1e6", "big", "2e6"]), r"column 'N' \(corpus\) is not a number"),
        (lambda f: f.assign(loss=[3.0, np.nan, 2.8]), r"column 'loss' \(corpus\) is missing"),
        (lambda f: f.assign(family=["f", "", "f"]), r"column 'family' is empty at row 1"),
        (lambda f: f.assign(family=["f", "g", "f"]), r"column 'family' takes 2 values"),
        (lambda f: f.assign(C=[1.0, np.inf, 1.0]), r"column 'C' \(corpus\) is infinite"),
    ],
)
def test_validate_corpus_names_the_column(change, message):
    with pytest.raises(InputError, match=message):
        validate_corpus(change(_tiny()))


def test_own_csv_round_trip(tmp_path):
    path = tmp_path / "runs.csv"
    _tiny().to_csv(path, index=False)
    out = validate_corpus(read_table(path))
    assert out["loss"].tolist() == [3.0, 2.9, 2.8]
