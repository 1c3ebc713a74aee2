"""Build lawfit's bundled corpora (``src/lawfit/data/bundled/*.parquet``) from the shared copies.

Run once by a maintainer: ``python benchmarks/reference/build_corpora.py [SHARED_CORPORA_DIR]``.
Nothing in the package reads the shared folder; the transformations are listed in
``src/lawfit/data/bundled/PROVENANCE.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "src" / "lawfit" / "data" / "bundled"
SHARED = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "corpora"


def _write(frame: pd.DataFrame, name: str) -> None:
    for column in frame.columns:
        if frame[column].dtype == object or str(frame[column].dtype).startswith("string"):
            frame[column] = frame[column].astype("category")
    path = OUT / name
    frame.to_parquet(path, compression="zstd", compression_level=19, index=False)
    print(f"{name}: {len(frame):,} rows, {path.stat().st_size / 1e3:.0f} kB")


def hitchhiker() -> None:
    src = SHARED / "hitchhiker"
    perf = pd.read_parquet(src / "hitchhiker_perf.parquet")
    # Unfamilied models are never fitted; the one-model Mamba family (44,174 checkpoints of
    # doubtful units, SOURCE.md quirk 5) cannot be split into training and target models.
    perf = perf[perf["scaled_set"].notna() & (perf["scaled_set"] != "llm360Mamba")]
    long = pd.read_parquet(
        src / "hitchhiker_long.parquet",
        columns=["model_name", "tokens_seen", "metric", "value", "step", "used_in_colpret_perf"],
    )
    long = long[long["used_in_colpret_perf"]].drop(columns="used_in_colpret_perf")
    # step: per checkpoint; value: the raw metric where perf is a single metric.
    steps = long.groupby(["model_name", "tokens_seen"], as_index=False)["step"].first()
    values = long.groupby(["model_name", "tokens_seen", "metric"], as_index=False)["value"].first()
    frame = perf.merge(steps, on=["model_name", "tokens_seen"], how="left")
    frame = frame.merge(
        values.rename(columns={"metric": "loss_metrics"}),
        on=["model_name", "tokens_seen", "loss_metrics"],
        how="left",
    )
    assert len(frame) == len(perf)
    out = pd.DataFrame(
        {
            "family": frame["scaled_set"].astype(str),
            "model": frame["model_name"].astype(str),
            "architecture": frame["arch"].astype(str),
            "data": frame["data"].astype(str),
            "N": frame["num_params"].astype(float),
            "D": frame["tokens_seen"].astype(float),
            "C": frame["flops"].astype(float),
            "seed": frame["seed"].astype(str),
            "step": frame["step"].astype(float),
            "metric": frame["loss_metrics"].astype(str),
            "value": np.where(frame["n_loss_metrics"] == 1, frame["value"], np.nan),
            "loss": frame["perf"].astype(float),
        }
    )
    _write(out, "hitchhiker.parquet")


def porian() -> None:
    src = SHARED / "porian"
    data = {"rw": "RefinedWeb", "owt2": "OpenWebText2"}
    points = pd.read_csv(src / "isoflop_points.csv")
    family = points["dataset"] + ": " + points["label"]
    out = pd.DataFrame(
        {
            "family": family,
            "model": family + " N=" + points["N"].map(lambda n: f"{n:.0f}"),
            "architecture": "dec",
            "data": points["dataset"].map(data),
            "N": points["N"].astype(float),
            "D": points["D"].astype(float),
            "C": points["flops"].astype(float),
            "seed": pd.NA,
            "step": np.nan,
            "metric": points["loss_split"] + " loss",
            "value": points["loss"].astype(float),
            "loss": points["loss"].astype(float),
        }
    )
    _write(out, "porian_points.parquet")
    optima = pd.read_csv(src / "isoflop_optima.csv")
    optima = optima.assign(family=optima["dataset"] + ": " + optima["label"])
    keep = ["family", "dataset", "loss_split", "flops", "N_star", "D_star", "loss_star", "rho_star",
            "n_star_std", "t_star_std", "loss_star_std"]
    _write(optima[keep].rename(columns={"flops": "C"}), "porian_optima.parquet")


def revisiting() -> None:
    src = SHARED / "revisiting"
    raw = pd.concat(
        [pd.read_csv(src / "benchmark.lang.csv"), pd.read_csv(src / "benchmark.vision.csv")],
        ignore_index=True,
    )
    raw = raw.drop_duplicates().reset_index(drop=True)  # the 687 repeated LM 1.68e7 rows
    size = pd.to_numeric(raw["Model"].str.replace("M", "e6", regex=False), errors="coerce")
    lm = raw["Domain"] == "LM"
    family = np.where(lm, raw["Domain"] + "/" + raw["Task"],
                      raw["Domain"] + "/" + raw["Task"] + "/" + raw["Model"])
    out = pd.DataFrame(
        {
            "family": family,
            "model": raw["Domain"] + "/" + raw["Task"] + "/" + raw["Model"],
            "architecture": raw["Model"].where(size.isna(), "dec"),
            "data": pd.NA,
            "N": size.astype(float),
            "D": raw["Seen Examples"].astype(float),
            "C": np.nan,
            "seed": pd.NA,
            "step": np.nan,
            "metric": raw["Task"],
            "value": raw["Loss"].astype(float),
            "loss": raw["Loss"].astype(float),
            "training": raw["Training"].astype(bool),
        }
    )
    _write(out, "revisiting.parquet")


if __name__ == "__main__":
    hitchhiker()
    porian()
    revisiting()
