"""Calibration of lawfit's forecasts: the README tables of ``## Bayesian forecasts``.

(a) Chinchilla: Epoch's 240 points, train on C < 1e21 FLOPs, forecast the larger runs.
(b) ColPret (``lawfit.load("hitchhiker")``): leave the largest model out of every family with
    >= 3 model sizes; forecast its checkpoints. Checkpoints before 10% of a model's own final
    token count are dropped from every model (warm-up: no power law describes them); training
    models are thinned to <= 30 checkpoints evenly spaced in log D. Families count equally.
(c) Borrowing: families with >= 4 sizes, fitted from their two smallest models only, forecast
    every larger model; spec priors vs empirical-Bayes priors from the other families.

Each compares the Bayesian forecast (backtest-learned discrepancy), the naive posterior (no
discrepancy) and the Huber bootstrap. Run: ``python benchmarks/calibration.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import lawfit
from lawfit.bayes import borrowed_priors, forecast, posterior
from lawfit.evaluate import calibration_points, calibration_report

X = {"N": "N", "D": "D"}
COLS = ["cover_50", "cover_80", "cover_95", "mean_abs_cover_error", "msce", "median_are", "crps"]


def show(title, rows):
    table = pd.DataFrame(rows).set_index("method")
    print(f"\n{title}\n" + table.to_string(float_format=lambda v: f"{v:.3f}"), flush=True)
    return table


def chinchilla(sampler):
    df = lawfit.load("chinchilla")
    mp = lawfit.fit(df, "chinchilla", X, "loss", starts="hoffmann").params.iloc[0]
    post = posterior(df, "chinchilla", X, "loss", **sampler).params().iloc[0]
    print("Chinchilla, all 240 points: posterior median [95% interval] vs MAP (Huber)")
    for p in ("E", "A", "B", "alpha", "beta"):
        print(f"  {p:6s} {post[p]:10.4g} [{post[p + '_lo']:.4g}, {post[p + '_hi']:.4g}]"
              f"   MAP {mp[p]:.4g}")
    print(f"  r_hat {post['r_hat']:.3f}  ess_bulk {post['ess_bulk']:.0f}  "
          f"divergences {post['divergences']}  status {post['status']}")
    train, test = df[df.C < 1e21], df[df.C >= 1e21]
    rows = []
    for name, kw in (("bayes + discrepancy", {}), ("naive (no discrepancy)", dict(discrepancy=False)),
                     ("bootstrap (Huber, 400x)", dict(method="bootstrap"))):
        t0 = time.time()
        fc = forecast(train, "chinchilla", X, "loss", at=test[["N", "D"]], **kw, **sampler)
        rep = calibration_report(fc.samples, test.loss.to_numpy())
        rows.append(dict(method=name, **{c: rep[c] for c in COLS}, seconds=time.time() - t0))
        if name.startswith("bayes"):
            print(f"  learned discrepancy: {fc.discrepancy}")
    return show(f"(a) Chinchilla C < 1e21 -> {len(test)} larger runs", rows)


def colpret_families():
    df = lawfit.load("hitchhiker")
    df = df[df["loss"] > 0]
    sizes = df.groupby("family")["N"].nunique()
    df = df[df["family"].isin(sizes[sizes >= 3].index)].copy()
    df["model"] = df["family"] + "/" + df["model"].astype(str)
    final = df.groupby("model")["D"].transform("max")
    return df[df["D"] >= 0.1 * final].reset_index(drop=True)


def thin(frame, k=30):
    keep = []
    for _, g in frame.groupby("model"):
        ld = np.log(g["D"].to_numpy())
        grid = np.linspace(ld.min(), ld.max(), min(k, len(g)))
        keep.append(g.index.to_numpy()[np.unique(np.abs(ld[:, None] - grid).argmin(0))])
    return frame.loc[np.sort(np.concatenate(keep))]


def weights(test):
    return 1.0 / test.groupby("family")["family"].transform("size").to_numpy()


def colpret(sampler):
    df = colpret_families()
    largest = df.groupby("family")["N"].transform("max")
    train, test = thin(df[df["N"] < largest]), df[df["N"] == largest].reset_index(drop=True)
    rows, disc = [], None
    for name, kw in (("bayes + discrepancy", {}), ("naive (no discrepancy)", dict(discrepancy=False)),
                     ("bootstrap (Huber, 400x)", dict(method="bootstrap"))):
        t0 = time.time()
        fc = forecast(train, "chinchilla", X, "loss", at=test[["family", "N", "D"]], by="family",
                      axis="N", **kw, **sampler)
        pts = calibration_points(fc.samples, test["loss"].to_numpy())
        rep = calibration_report(points=pts, weights=weights(test))
        rows.append(dict(method=name, **{c: rep[c] for c in COLS}, seconds=time.time() - t0))
        if name.startswith("bayes"):
            disc, post = fc.discrepancy, fc.posterior
            print(f"  learned discrepancy: {disc}")
            print("  final posteriors by status:", post.groups["status"].value_counts().to_dict(),
                  f"max r_hat {post.groups['r_hat'].max():.2f}")
            print(post.groups.to_string())
    n_fam = test["family"].nunique()
    return show(f"(b) ColPret leave-largest-model-out, {n_fam} families, {len(test)} points",
                rows), disc, post


def borrowing(sampler, disc, donors_post):
    df = colpret_families()
    sizes = df.groupby("family")["N"].nunique()
    fams = sorted(sizes[sizes >= 4].index)
    info = df.groupby("family")[["data"]].first()
    rows = {"spec priors": [], "borrowed priors": []}
    for fam in fams:
        g = df[df["family"] == fam]
        small = np.sort(g["N"].unique())[:2]
        train, test = thin(g[g["N"].isin(small)]), g[~g["N"].isin(small)].reset_index(drop=True)
        others = donors_post.groups["family"] != fam
        same_data = others & (donors_post.groups["family"].map(info["data"]) == info.loc[fam, "data"])
        priors = borrowed_priors(donors_post, {"alpha": others, "beta": others, "E": same_data})
        for arm, pri in (("spec priors", None), ("borrowed priors", priors)):
            fc = forecast(train, "chinchilla", X, "loss", at=test[["N", "D"]], discrepancy=disc,
                          priors=pri, **sampler)
            pts = calibration_points(fc.samples, test["loss"].to_numpy()).assign(family=fam)
            rows[arm].append(pts)
    out = []
    for arm, pts in rows.items():
        pts = pd.concat(pts, ignore_index=True)
        rep = calibration_report(points=pts, weights=weights(pts))
        out.append(dict(method=arm, **{c: rep[c] for c in COLS}))
    return show(f"(c) Two smallest models per family ({len(fams)} families with >= 4 sizes)", out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer NUTS iterations")
    ap.add_argument("--only", default="a,b,c")
    args = ap.parse_args()
    n = 200 if args.quick else 500
    sampler = dict(warmup=n, samples=n)
    t0 = time.time()
    parts = args.only.split(",")
    if "a" in parts:
        chinchilla(sampler)
    if "b" in parts or "c" in parts:
        _, disc, post = colpret(sampler)
        if "c" in parts:
            borrowing(sampler, disc, post)
    print(f"\ntotal {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
