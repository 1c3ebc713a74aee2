"""(a) Chinchilla: train on C < 1e21 (217 points), forecast C >= 1e21 (23 points).

Run:  /work/main/.venv/bin/python notebooks/proto_bayes/chinchilla.py
Writes results/chinchilla_table.csv and results/chinchilla_points.csv next to this file.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import (  # noqa: E402
    Cfg, disc_sd, distance, fit_nuts, fmt_table, learn_discrepancy, load_chinchilla, np, pd,
    point_metrics, predictive_parts, prepare, sample_predictive, summarise, bootstrap_predict,
    time,
)

CUT = 1e21
# Backtest cuts: fit below the cut, score the training points between the cut and CUT.
# Only training data (C < CUT) is touched.
INNER_CUTS = (10**19.5, 1e20, 10**20.5)
PER_DRAW = 2  # predictive samples per posterior draw (2000 draws -> 4000 samples)


def scale_coord(df):
    """Absolute scale of a target: log10 C relative to the (fixed) outer cut, for lam."""
    return np.log10(df.C.to_numpy()) - np.log10(CUT)


def backtest_records(cfg, train, cuts, seed=0):
    """[(parts, d, y)] for each inner cut, plus diagnostics."""
    recs, diags = [], []
    for c in cuts:
        inner, outer = train[train.C < c], train[train.C >= c]
        prep = prepare(inner)
        draws, diag = fit_nuts(cfg, prep, seed=seed)
        parts = predictive_parts(draws, prep, cfg, outer.N.to_numpy(), outer.D.to_numpy())
        d = distance(prep, outer.N.to_numpy(), outer.D.to_numpy())
        recs.append((parts, d, np.log(outer.loss.to_numpy()), scale_coord(outer)))
        diags.append(dict(cut=np.log10(c), n_fit=len(inner), n_score=len(outer), **diag))
    return recs, diags


def evaluate(name, cfg, train, test, disc=None, seed=0):
    prep = prepare(train)
    draws, diag = fit_nuts(cfg, prep, seed=seed)
    N, D = test.N.to_numpy(), test.D.to_numpy()
    parts = predictive_parts(draws, prep, cfg, N, D)
    d = distance(prep, N, D)
    # every Chinchilla point is its own run: offsets independent across points
    s = sample_predictive(parts, disc_sd(disc, d, scale_coord(test)), np.arange(len(test)),
                          rng=np.random.default_rng(seed), per_draw=PER_DRAW)
    pm = point_metrics(s, test.loss.to_numpy())
    return dict(method=name, **summarise(pm), **{f"fit_{k}": v for k, v in diag.items()}), pm


def main():
    t_all = time.time()
    df = load_chinchilla()
    train, test = df[df.C < CUT], df[df.C >= CUT]
    print(f"train {len(train)}  test {len(test)}  (test C {test.C.min():.3g}..{test.C.max():.3g})")
    rows, pms, notes = [], {}, []

    variants = [("naive (Normal, homosc., no discrepancy)", Cfg("naive"), None)]
    for lik in ("normal", "studentt"):
        for het in ("", "plane", "ratio"):
            for lam in (False, True):
                name = (f"{'Normal' if lik == 'normal' else 'Student-t'}, noise={het or 'const'}"
                        f", +disc{'(C)' if lam else ''}")
                variants.append((name, Cfg(f"{lik}-{het}", likelihood=lik, hetero=het), lam))
    bt_cache = {}
    for name, cfg, use_disc in variants:
        t0 = time.time()
        disc = None
        if use_disc is not None and cfg.name != "naive":
            if cfg not in bt_cache:
                bt_cache[cfg] = backtest_records(cfg, train, INNER_CUTS)
            recs, bdiag = bt_cache[cfg]
            disc = learn_discrepancy(recs, with_lam=use_disc)
            # backtest calibration (in-sample for the two hyper-parameters)
            bt_pm = []
            for parts, d, y, a in recs:
                s = sample_predictive(parts, disc_sd(disc, d, a), np.arange(len(y)),
                                      rng=np.random.default_rng(1), per_draw=PER_DRAW)
                bt_pm.append(point_metrics(s, np.exp(y)))
            bt = summarise(pd.concat(bt_pm),
                           w=np.concatenate([np.full(len(p), 1 / len(p)) for p in bt_pm]))
            notes.append(f"{name}: tau0={disc['tau0']:.4f} kappa={disc['kappa']:.4f}/decade "
                         f"lam={disc['lam']:.2f}/decade "
                         f"backtest cov50/80/95 = {bt['cov50']:.2f}/{bt['cov80']:.2f}/"
                         f"{bt['cov95']:.2f}; backtest fits: "
                         + "; ".join(f"1e{b['cut']:.1f} n={b['n_fit']} rhat={b['rhat_max']:.3f}"
                                     f" div={b['divergences']}" for b in bdiag))
        row, pm = evaluate(name, cfg, train, test, disc)
        row["tau0"] = disc["tau0"] if disc else 0.0
        row["kappa"] = disc["kappa"] if disc else 0.0
        row["lam"] = disc["lam"] if disc else 0.0
        row["bt_logscore"] = disc["logscore"] if disc else np.nan
        row["bt_logscore_nodisc"] = disc["logscore_none"] if disc else np.nan
        row["seconds"] = time.time() - t0
        rows.append(row)
        pms[name] = pm
        print(f"done {name} in {row['seconds']:.1f}s", flush=True)
    # The recipe is chosen by the backtest log score alone (never by the test points).
    best = max((r for r in rows if np.isfinite(r["bt_logscore"])), key=lambda r: r["bt_logscore"])
    best["method"] = "RECIPE* " + best["method"]

    # bootstrap of Huber fits (Epoch/Hoffmann), residual added -> predictive interval
    t0 = time.time()
    s, _ = bootstrap_predict(train, test.N.to_numpy(), test.D.to_numpy(), B=400)
    pm = point_metrics(s, test.loss.to_numpy())
    rows.append(dict(method="bootstrap Huber (400x, +resid)", **summarise(pm),
                     seconds=time.time() - t0))
    pms["bootstrap"] = pm

    out = HERE / "results"
    out.mkdir(exist_ok=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / "chinchilla_table.csv", index=False)
    pd.concat({k: v for k, v in pms.items()}, names=["method", "i"]).to_csv(
        out / "chinchilla_points.csv")
    cols = ["method", "cov50", "cov80", "cov95", "mean|dcov|", "MSCE", "medARE%", "CRPS",
            "wid80", "wid95", "tau0", "kappa", "lam", "bt_logscore", "fit_rhat_max", "fit_ess_min",
            "fit_divergences", "seconds"]
    print(fmt_table(rows, cols))
    for n in notes:
        print(n)
    print(f"total {time.time() - t_all:.0f}s")


if __name__ == "__main__":
    main()
