"""Scipy reference implementation of the estimation protocol in "A Hitchhiker's Guide to
Scaling Law Estimation" (Choshen, Zhang, Andreas, ICML 2025; code: github.com/IBM/ColPret).

Standalone: numpy / pandas / scipy only. What it mirrors in ColPret (commit 16f23bbe):

* ``fitting_funcs.py``: ``chinchilla_power_law_fit`` and ``ChinchillaFit``:
  L = exp(e) + exp(a) / N**alpha + exp(b) / D**beta, with N = num_params and D = tokens_seen
  (raw counts, no rescaling). p0 = (a, b, e, alpha, beta) =
  (6.255414, 7.3049974, 0.6254804, 0.3526596, 0.3526596), the Muennighoff et al.
  (datablations) estimates. Bounds: alpha, beta >= 0; a, b, e free.
* ``util/fit_utils.py::fit``: ``scipy.optimize.curve_fit(func, X, perf, p0, bounds)``. Because of
  the bounds this is method="trf" with an unweighted linear (least-squares) loss on raw ``perf``
  (no log), a 2-point finite-difference Jacobian and the default max_nfev (100 * n_params). On a
  RuntimeError (no convergence) it retries once with method="dogbox", x_scale=p0. Any other
  failure gives no fit (ARE = NaN).
* ``util/fit_utils.py::mean_normalized_distance`` with abs=True: ARE = mean(|L - Lhat| / L).
* ``util/fit_utils.py::hist_fit`` and ``get_model_data``: one law per ``scaled_set``. Models are
  sorted by num_params; the target is the largest. The training models are the k smallest of
  the rest. A family is skipped when the target's best perf is above 10 (``at_least_loss=10``).

Two protocols are run.

``brief``: the protocol as usually stated. Train on every checkpoint of every smaller model
with tokens_seen >= cut. Test on the target's checkpoints with tokens_seen >= 0.7 * (the
target's max tokens_seen).

``colpret``: ColPret's ``get_model_data`` taken literally, at p = 1.
  - The training cut is strict: tokens_seen > cut, and cut = 0 means no cut.
  - The fraction cut is ``tokens_seen < p * T``, a strict inequality. T is the largest
    tokens_seen over *all* training models together, taken before the token cut; it is not
    per model. At p = 1 this drops the checkpoint(s) at exactly T. Where every model trains to
    the same length (Pythia, GPT-3, OPT), that is every model's final checkpoint.
  - The test set gets no token cut (``hist_fit`` leaves min_tokens out for the test set). It is
    tokens_seen >= 0.7 * the target's max.

Data quirk handled here. The perf parquet gives every over-training run a family
(``overtrain-*``: 34-35 models). ColPret's ``read_data.get_overtrain`` keeps ``scaled_set`` only
on the most over-trained run of each size (max ``compute_opt`` per (family, num_params)),
about 6 models per family. Pass ``--no-overtrain-filter`` to keep every run.

Run: ``python benchmarks/reference/colpret_scipy.py [perf.parquet] [--verbose]``
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

DEFAULT_PATH = "/work/shared/corpora/hitchhiker/hitchhiker_perf.parquet"

# (a, b, e, alpha, beta), as in ColPret's ChinchillaFit.guess
P0 = (6.255414, 7.3049974, 0.6254804, 0.3526596, 0.3526596)
BOUNDS = ([-np.inf, -np.inf, -np.inf, 0.0, 0.0], [np.inf] * 5)
AT_LEAST_LOSS = 10.0  # hist_fit(at_least_loss=10) in ColPret's fit.py
TEST_PERCENTAGE = 0.7
CUTS = (0.0, 1e10)


def chinchilla_law(N, D, a, b, e, alpha, beta):
    """L(N, D) = E + A / N**alpha + B / D**beta with A = e^a, B = e^b, E = e^e."""
    N = np.asarray(N, dtype=float)
    D = np.asarray(D, dtype=float)
    return np.exp(e) + np.exp(a) / N**alpha + np.exp(b) / D**beta


def _curve_fit_target(X, a, b, e, alpha, beta):
    return chinchilla_law(X[0], X[1], a, b, e, alpha, beta)


def colpret_fit(N, D, y, p0=P0, bounds=BOUNDS):
    """Fit (a, b, e, alpha, beta) the way ColPret's ``util/fit_utils.py::fit`` does.

    Returns a float array of 5 parameters, or None when the fit fails (ColPret then records
    no ARE).
    """
    X = np.vstack([np.asarray(N, dtype=float), np.asarray(D, dtype=float)])
    y = np.asarray(y, dtype=float)
    p0 = tuple(float(v) for v in p0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # OptimizeWarning (pcov) and overflow at wild trial points
        try:
            try:
                popt, _ = curve_fit(_curve_fit_target, X, y, p0=p0, bounds=bounds)
            except RuntimeError:
                popt, _ = curve_fit(_curve_fit_target, X, y, p0=p0, bounds=bounds,
                                    method="dogbox", x_scale=p0)
        except Exception:
            return None
    return np.asarray(popt, dtype=float)


def are(y_true, y_pred):
    """Absolute relative error: mean(|y - yhat| / y). This is ColPret's mean_normalized_distance."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    return float(np.mean(np.abs(y_true - y_pred) / y_true))


# ----------------------------------------------------------------------------------------
# data selection


def load_perf(path=DEFAULT_PATH, overtrain_filter=True):
    df = pd.read_parquet(path, columns=["scaled_set", "model_name", "num_params",
                                        "tokens_seen", "perf"])
    df = df.dropna(subset=["scaled_set", "num_params", "tokens_seen", "perf"])
    if overtrain_filter:
        df = _colpret_overtrain_families(df)
    return df.reset_index(drop=True)


def _colpret_overtrain_families(df):
    """Keep an overtrain-* model only if it has the largest compute_opt multiplier among
    runs of its size. The multiplier is the suffix after the last '-' in model_name
    (read_data.get_overtrain)."""
    is_ot = df["scaled_set"].str.startswith("overtrain")
    ot = df[is_ot].copy()
    if ot.empty:
        return df
    ot["_copt"] = ot["model_name"].str.rsplit("-", n=1).str[-1].astype(float)
    best = ot.groupby(["scaled_set", "num_params"])["_copt"].transform("max")
    ot = ot[ot["_copt"] == best].drop(columns="_copt")
    return pd.concat([df[~is_ot], ot])


def models_by_size(fam_df):
    m = fam_df[["model_name", "num_params"]].drop_duplicates().sort_values(
        "num_params", kind="stable")
    return list(m["model_name"])


def select_train(fam_df, models, cut, protocol, p=1.0):
    d = fam_df[fam_df["model_name"].isin(models)]
    if protocol == "brief":
        # fraction p of each model's own max tokens (p = 1: everything), tokens >= cut
        dmax = d.groupby("model_name")["tokens_seen"].transform("max")
        return d[(d["tokens_seen"] >= cut) & (d["tokens_seen"] <= p * dmax)]
    # colpret: get_model_data(models, max_percentage=p, min_tokens=cut)
    T = d["tokens_seen"].max()
    if cut:
        d = d[d["tokens_seen"] > cut]
    if p:
        d = d[d["tokens_seen"] < T * p]
    return d


def select_test(fam_df, target, test_percentage=TEST_PERCENTAGE):
    d = fam_df[fam_df["model_name"] == target]
    return d[d["tokens_seen"] >= test_percentage * d["tokens_seen"].max()]


def evaluate(train, test):
    """Fit on train and give (ARE on test, params); the ARE is NaN when the fit fails."""
    if train.empty or test.empty:
        return np.nan, None
    popt = colpret_fit(train["num_params"].values, train["tokens_seen"].values,
                       train["perf"].values)
    if popt is None:
        return np.nan, None
    pred = chinchilla_law(test["num_params"].values, test["tokens_seen"].values, *popt)
    if np.all(np.isnan(pred)):
        return np.nan, popt
    return are(test["perf"].values, pred), popt


def run_family(df, family, protocols=("brief", "colpret"), cuts=CUTS):
    fam = df[df["scaled_set"] == family]
    order = models_by_size(fam)
    target, smaller = order[-1], order[:-1]
    row = {"family": family, "n_models": len(order), "target": target,
           "skipped": fam.loc[fam["model_name"] == target, "perf"].min() > AT_LEAST_LOSS}
    test = select_test(fam, target)
    row["n_test"] = len(test)
    for proto in protocols:
        for cut in cuts:
            train = select_train(fam, smaller, cut, proto)
            a, popt = evaluate(train, test)
            key = f"{proto}@{cut:.0e}"
            row[f"ARE {key}"] = a
            row[f"n_train {key}"] = len(train)
            row[f"params {key}"] = popt
    return row


# ----------------------------------------------------------------------------------------


def _fmt_pct(x):
    return "   fail" if not np.isfinite(x) else f"{100 * x:7.2f}"


def print_table(rows, title, verbose=False):
    print(f"\n{title}")
    hdr = (f"{'family':<34}{'#m':>3} {'target':<24}{'#te':>4} | "
           f"{'brief c0':>8}{'(#tr)':>6}{'brief c10':>10}{'(#tr)':>6} | "
           f"{'colp c0':>8}{'colp c10':>9}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        name = r["family"] + (" [skip>10]" if r["skipped"] else "")
        print(f"{name:<34}{r['n_models']:>3} {str(r['target'])[:23]:<24}{r['n_test']:>4} | "
              f"{_fmt_pct(r['ARE brief@0e+00']):>8}{r['n_train brief@0e+00']:>6}"
              f"{_fmt_pct(r['ARE brief@1e+10']):>10}{r['n_train brief@1e+10']:>6} | "
              f"{_fmt_pct(r['ARE colpret@0e+00']):>8}{_fmt_pct(r['ARE colpret@1e+10']):>9}")
        if verbose:
            for key in ("brief@0e+00", "brief@1e+10"):
                p = r[f"params {key}"]
                if p is not None:
                    a, b, e, al, be = p
                    print(f"    {key}: A={np.exp(a):.4g} B={np.exp(b):.4g} E={np.exp(e):.4g} "
                          f"alpha={al:.4f} beta={be:.4f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path", nargs="?", default=DEFAULT_PATH)
    ap.add_argument("--min-models", type=int, default=3,
                    help="families with at least this many models (ColPret's hist_fit needs >= 3)")
    ap.add_argument("--no-overtrain-filter", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="print fitted A, B, E, alpha, beta")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    df = load_perf(args.path, overtrain_filter=not args.no_overtrain_filter)
    n_models = df.groupby("scaled_set")["model_name"].nunique()
    main_fams = sorted(n_models[n_models >= args.min_models].index)
    two_fams = sorted(n_models[(n_models == 2) & (args.min_models > 2)].index)

    print("ARE (%) on target checkpoints with tokens >= 0.7*max; train = all smaller models, p=1.")
    print("c0 = no token cut, c10 = drop checkpoints below 1e10 tokens. brief: train tokens >= cut,"
          " all checkpoints;\ncolp: ColPret get_model_data (tokens > cut, tokens < max over train"
          " models, so the final ckpt drops out)")
    rows = [run_family(df, f) for f in main_fams]
    print_table(rows, f"Families with >= {args.min_models} models", args.verbose)
    if two_fams:
        rows2 = [run_family(df, f) for f in two_fams]
        print_table(rows2, "2-model families (1 training model; ColPret's hist_fit fits none "
                           "of these)", args.verbose)
    print(f"\nruntime: {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
