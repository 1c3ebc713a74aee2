"""Calibration of lawfit's forecasts: the README tables of ``## Bayesian forecasts``.

(a) Chinchilla: Epoch's 240 points, train on C < 1e21 FLOPs, forecast the larger runs.
(b) ColPret (``lawfit.load("hitchhiker")``): leave the largest model out of every family with
    >= 3 model sizes; forecast its checkpoints. Checkpoints before 10% of a model's own final
    token count are dropped from every model (warm-up: no power law describes them); training
    models are thinned to <= 30 checkpoints evenly spaced in log D. Families count equally.
    Compared: the Bayesian forecast (backtest-learned discrepancy), the naive posterior (no
    discrepancy), the Huber bootstrap, and the hierarchical model (exponents pooled across
    families, E among families sharing data and metric) with the same discrepancy.
(c) Borrowing: families with >= ``--min-sizes`` sizes (default 3), fitted from their two
    smallest models only, forecast every larger model. Two sizes leave no backtest, so alone
    a family gets no discrepancy (naive); borrowed, each family gets the discrepancy learned
    from the other families' backtests (all their models, itself left out). With it: spec
    priors vs empirical-Bayes priors from the other families' posteriors (all their models) -
    exponents borrowed from every other family, from those evaluated on the same metric(s),
    or from those on the same data and metric (E from the same data and metric), or exponents
    and E from those on the same corpus, deduplicated or not, and metric (pythia's pile and
    pile-deduped suites) - vs the hierarchical model (exponents pooled per metric, E per data
    and metric), and the ceiling no prior borrowing can beat: the family's own posterior from
    all its models as its prior ("oracle", not available in practice).

Run: ``python benchmarks/calibration.py [--quick] [--only a,b,c] [--min-sizes 3]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd

import lawfit
from lawfit import Prior
from lawfit.bayes import (
    NUTS,
    borrowed_priors,
    forecast,
    hierarchical_posterior,
    learn_discrepancy,
    posterior,
    predictive,
)
from lawfit.evaluate import calibration_points, calibration_report

X = {"N": "N", "D": "D"}
COLS = ["cover_50", "cover_80", "cover_95", "mean_abs_cover_error", "msce", "median_are", "crps",
        "failed"]


def show(title, rows):
    table = pd.DataFrame(rows).set_index("method")
    print(f"\n{title}\n" + table.to_string(float_format=lambda v: f"{v:.3f}"), flush=True)
    return table


def chinchilla(sampler):
    df = lawfit.load("chinchilla")
    mp = lawfit.fit(df, "chinchilla", X, "loss", starts="hoffmann").params.iloc[0]
    post = posterior(df, "chinchilla", X, "loss", sampler=sampler).params.iloc[0]
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
        fc = forecast(train, "chinchilla", X, "loss", at=test[["N", "D"]], **kw, sampler=sampler)
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
    metrics = df.groupby("family")["metric"].transform(lambda m: "|".join(sorted(set(m.astype(str)))))
    df["metrics"] = metrics
    df["similar"] = df["data"].astype(str) + " / " + metrics  # same data and same metric(s)
    # the same corpus whether deduplicated or not (pythia's pile and pile-deduped suites)
    corpus = df["data"].astype(str).str.lower().str.removesuffix("-deduped")
    df["corpus"] = corpus + " / " + metrics
    return df[df["D"] >= 0.1 * final].reset_index(drop=True)


def thin(frame, k=30):
    keep = [np.zeros(0, int)]
    for _, g in frame.groupby("model"):
        ld = np.log(g["D"].to_numpy())
        grid = np.linspace(ld.min(), ld.max(), min(k, len(g)))
        keep.append(g.index.to_numpy()[np.unique(np.abs(ld[:, None] - grid).argmin(0))])
    return frame.loc[np.sort(np.concatenate(keep))]


def weights(test):
    return 1.0 / test.groupby("family")["family"].transform("size").to_numpy()


SIMILAR = ["similar"]  # E is pooled/borrowed only among families sharing data and metric
METRIC = ["metrics"]  # in (c), exponents only among families evaluated on the same metric(s)


def report(samples, test, method, seconds=float("nan")):
    pts = calibration_points(samples, test["loss"].to_numpy())
    rep = calibration_report(points=pts, weights=weights(test))
    print(f"  {method}: " + ", ".join(f"{c} {rep[c]:.3f}" for c in COLS)
          + f" ({seconds:.0f} s)", flush=True)
    return dict(method=method, **{c: rep[c] for c in COLS}, seconds=seconds)


def colpret(sampler):
    df = colpret_families()
    largest = df.groupby("family")["N"].transform("max")
    train, test = thin(df[df["N"] < largest]), df[df["N"] == largest].reset_index(drop=True)
    at = test[["family", "N", "D"]]
    rows, disc = [], None
    for name, kw in (("bayes + discrepancy", {}), ("naive (no discrepancy)", dict(discrepancy=False)),
                     ("bootstrap (Huber, 400x)", dict(method="bootstrap"))):
        t0 = time.time()
        fc = forecast(train, "chinchilla", X, "loss", at=at, by="family", axis="N", **kw,
                      sampler=sampler)
        rows.append(report(fc.samples, test, name, time.time() - t0))
        if name.startswith("bayes"):
            disc = fc.discrepancy
            print(f"  learned discrepancy: {disc}")
            print_status("independent posteriors", fc.posterior)
    t0 = time.time()
    hier = hierarchical_posterior(train, "chinchilla", X, "loss", by="family",
                                  cluster={"E": SIMILAR}, sampler=joint(sampler))
    rows.append(report(predictive(hier, at, disc), test, "hierarchical + discrepancy",
                       time.time() - t0))
    print_status("hierarchical posterior", hier)
    n_fam = test["family"].nunique()
    show(f"(b) ColPret leave-largest-model-out, {n_fam} families, {len(test)} points", rows)
    return disc


def family_are(samples, test):
    pts = calibration_points(samples, test["loss"].to_numpy())
    return pts["are"].groupby(test["family"].to_numpy()).median()


def joint(sampler):
    """The hierarchical model's settings: a warm-up of at least 1,000 steps."""
    return dataclasses.replace(sampler, warmup=max(1000, sampler.warmup))


def print_status(label, post):
    g = post.groups
    print(f"  {label}: status {g['status'].value_counts().to_dict()}, "
          f"max r_hat {g['r_hat'].max():.2f}, min ess_bulk {g['ess_bulk'].min():.0f}", flush=True)


def own_priors(post, family, params=("alpha", "beta", "E")):
    """The family's own posterior (all its models) as a lognormal prior: the oracle."""
    g = int(np.flatnonzero((post.groups["family"] == family).to_numpy())[0])
    logs = {p: np.log(post.draws[p][g].reshape(-1)) for p in params}
    return {p: Prior("lognormal", float(v.mean()), float(v.std())) for p, v in logs.items()}


def borrowing(sampler, min_sizes):
    """Families with >= ``min_sizes`` sizes, each fitted from its two smallest models. Two
    sizes leave no backtest, so a family alone gets no discrepancy (the naive row); borrowed
    from the other families, it gets theirs, learned from their backtests (all their models,
    the family itself left out). On top of that: spec priors, empirical-Bayes priors from the
    other families' posteriors (all their models; exponents from every other family, from
    those on the same metric, or from those on the same data and metric, E from those on the
    same data and metric; or both from those on the same corpus and metric), the hierarchical
    model (the other families' data in it), and the family's own full posterior (the
    ceiling). Then each prior rule against the spec's priors on the families it borrows
    for."""
    df = colpret_families()
    sizes = df.groupby("family")["N"].nunique()
    fams = sorted(sizes[sizes >= min_sizes].index)
    rank = df.groupby("family")["N"].rank(method="dense")
    scarce = df["family"].isin(fams)
    train = thin(df[scarce & (rank <= 2)])
    test = df[scarce & (rank > 2)].reset_index(drop=True)
    at = test[["family", "N", "D"]]
    t0 = time.time()
    everything = forecast(thin(df), "chinchilla", X, "loss", at=at, by="family", axis="N",
                          sampler=sampler)
    donors = everything.posterior
    print_status(f"donor posteriors, every family and model ({time.time() - t0:.0f} s)", donors)
    t0 = time.time()
    backtest_family = everything.backtests["family"].to_numpy()
    others_disc = {fam: learn_discrepancy([b for b, f in zip(everything.backtest_draws,
                                                             backtest_family, strict=True)
                                           if f != fam]) for fam in fams}
    print(f"  discrepancies learned from the other families' backtests ({time.time() - t0:.0f}"
          " s): tau0, kappa, lam from " + ", ".join(
              f"{min(d[i] for d in others_disc.values()):.3f}-"
              f"{max(d[i] for d in others_disc.values()):.3f}" for i in range(3)), flush=True)
    info = df.groupby("family")[["metrics", "similar", "corpus"]].first()
    family = donors.groups["family"]
    rules = {"all": {}, "metric": {}, "data": {}, "corpus": {}, "oracle": {}}
    for fam in fams:
        others = (family != fam).to_numpy()
        same = {c: others & (family.map(info[c]) == info.loc[fam, c]).to_numpy()
                for c in ("metrics", "similar", "corpus")}
        for rule, exponents, e in (("all", others, same["similar"]),
                                   ("metric", same["metrics"], same["similar"]),
                                   ("data", same["similar"], same["similar"]),
                                   ("corpus", same["corpus"], same["corpus"])):
            rules[rule][fam] = borrowed_priors(donors, {"alpha": exponents, "beta": exponents,
                                                        "E": e})
        rules["oracle"][fam] = own_priors(donors, fam)
    for rule in ("metric", "data", "corpus"):
        print(f"  families with same-{rule} donors for the exponents: "
              f"{sum('alpha' in p for p in rules[rule].values())} of {len(fams)}")
    out, per_family, samples = [], {}, {}
    arms = (("spec priors", "spec", {}),
            ("borrowed from all other families", "all", dict(group_priors=rules["all"])),
            ("borrowed from same-metric families", "metric", dict(group_priors=rules["metric"])),
            ("borrowed from same-data-and-metric families", "data",
             dict(group_priors=rules["data"])),
            ("borrowed from same-corpus-and-metric families", "corpus",
             dict(group_priors=rules["corpus"])),
            ("oracle: own posterior from all models", "oracle",
             dict(group_priors=rules["oracle"])))
    for arm, short, kw in arms:
        t0 = time.time()
        fc = forecast(train, "chinchilla", X, "loss", at=at, by="family", discrepancy=False,
                      **kw, sampler=sampler)
        if short == "spec":
            out.append(report(fc.samples, test, "alone: spec priors, no discrepancy (naive)"))
            per_family["naive"] = family_are(fc.samples, test)
        draws = with_discrepancies(fc.posterior, at, others_disc)
        out.append(report(draws, test, arm, time.time() - t0))
        per_family[short] = family_are(draws, test)
        samples[short] = draws
    others = thin(df[~scarce])  # empty when every family is scarce (min_sizes 3)
    t0 = time.time()
    hier = hierarchical_posterior(
        pd.concat([train, others]), "chinchilla", X, "loss", by="family",
        cluster={"alpha": METRIC, "beta": METRIC, "E": SIMILAR}, sampler=joint(sampler))
    draws = with_discrepancies(hier, at, others_disc)
    out.append(report(draws, test, "hierarchical (per-metric populations)", time.time() - t0))
    per_family["hierarchical"] = family_are(draws, test)
    print_status("hierarchical posterior (c)", hier)
    table = show(f"(c) Two smallest models per family ({len(fams)} families with >= {min_sizes}"
                 " sizes)", out)
    print(f"  per family, median ARE:\n{pd.DataFrame(per_family).to_string(float_format=fmt)}")
    show("(c) on the families each rule borrows for (exponents), spec priors vs borrowed",
         where_borrowed(rules, samples, per_family, test))
    return table


def with_discrepancies(post, at, discrepancies):
    """Predictive draws at ``at``, each family's rows with its own discrepancy."""
    out = None
    for i, (fam, rows) in enumerate(at.groupby("family").indices.items()):
        draws = predictive(post, at.iloc[rows], discrepancies[fam], rng=i)
        out = np.zeros((len(at), draws.shape[1])) if out is None else out
        out[rows] = draws
    return out


def where_borrowed(rules, samples, per_family, test):
    """Each borrowing rule against the spec's priors on the families it gives an exponent
    prior to (>= 2 trusted donors): the same families in both rows."""
    rows = []
    for rule in ("all", "metric", "data", "corpus"):
        fams = [f for f, p in rules[rule].items() if "alpha" in p]
        keep = test["family"].isin(fams).to_numpy()
        for arm in ("spec", rule):
            row = report(samples[arm][keep], test[keep], f"{rule}: {arm} ({len(fams)} families)")
            are = per_family[arm][fams]
            row["mean_family_are"] = are.mean()
            row["better"] = int((are < per_family["spec"][fams]).sum())
            row["worse"] = int((are > per_family["spec"][fams]).sum())
            rows.append(row)
    return rows


def fmt(v):
    return f"{v:.3f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer NUTS iterations")
    ap.add_argument("--only", default="a,b,c")
    ap.add_argument("--min-sizes", type=int, default=3,
                    help="(c): families with at least this many model sizes")
    args = ap.parse_args()
    n = 300 if args.quick else 500
    sampler = NUTS(warmup=n, samples=n, target_accept=0.95)
    t0 = time.time()
    parts = args.only.split(",")
    if "a" in parts:
        chinchilla(sampler)
    if "b" in parts:
        colpret(sampler)
    if "c" in parts:
        borrowing(sampler, args.min_sizes)
    print(f"\ntotal {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
