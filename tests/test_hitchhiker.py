"""The Hitchhiker protocol: designs, the colpret method against scipy's curve_fit, the CLI."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import curve_fit
from typer.testing import CliRunner

import lawfit
from lawfit.cli import app
from lawfit.data import InputError
from lawfit.evaluate import (
    DATABLATIONS,
    Backtested,
    Bayesian,
    Designs,
    Method,
    designs,
    estimate,
    findings,
    get_method,
    leaderboard,
    method_names,
    register_method,
)
from lawfit.evaluate._hitchhiker import _choose
from lawfit.fitting import LBFGS, HuberLog, LevenbergMarquardt

# ---------------------------------------------------------------------------------------
# An independent reference: ColPret's fit (scipy curve_fit, trf) and data selection.

P0 = (6.255414, 7.3049974, 0.6254804, 0.3526596, 0.3526596)  # (a, b, e, alpha, beta)


def _law(X, a, b, e, alpha, beta):
    return np.exp(e) + np.exp(a) / X[0] ** alpha + np.exp(b) / X[1] ** beta


def _borrowed_law(X, b, e, beta):
    return _law(X, P0[0], b, e, P0[3], beta)


def reference_are(corpus, family, k, cut, borrow=False):
    """ColPret's ARE for the k smallest non-target models at p = 1 (tests >= 0.7 max)."""
    fam = corpus[corpus["family"] == family]
    order = fam.drop_duplicates("model").sort_values("N", kind="stable")["model"].tolist()
    train = fam[fam["model"].isin(order[:k])]
    train = train[(train["D"] < train["D"].max()) & (train["D"] > cut)]
    test = fam[fam["model"] == order[-1]]
    test = test[test["D"] >= 0.7 * test["D"].max()]
    X = np.vstack([train["N"], train["D"]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if borrow:
            popt, _ = curve_fit(_borrowed_law, X, train["loss"], p0=(P0[1], P0[2], P0[4]),
                                bounds=([-np.inf, -np.inf, 0.0], [np.inf] * 3))
            fn = _borrowed_law
        else:
            popt, _ = curve_fit(_law, X, train["loss"], p0=P0,
                                bounds=([-np.inf] * 3 + [0.0, 0.0], [np.inf] * 5))
            fn = _law
    pred = fn(np.vstack([test["N"], test["D"]]), *popt)
    return float(np.mean(np.abs(test["loss"] - pred) / test["loss"]))


@pytest.fixture(scope="module")
def corpus():
    return lawfit.load("hitchhiker")


# ---------------------------------------------------------------------------------------
# Design enumeration on a small synthetic family (no fitting).


def _family(n_models=4, name="toy", losses=None):
    rows = []
    for m in range(n_models):
        for d in (5e9, 1e10, 3e10, 4e10):
            loss = 2.0 + 1.0 / (m + 1) + 1e10 / d if losses is None else losses
            rows.append({"family": name, "model": f"{name}{m}", "N": 1e8 * 2**m, "D": d,
                         "loss": loss})
    return pd.DataFrame(rows)


def test_designs_follow_colpret_selection():
    frame = _family()
    out = designs(frame, fractions=(0.5, 1.0), min_tokens=(0.0, 1e10))
    table = out.table
    # k = 2..3, 2 fractions, 2 cuts, all/final
    assert len(table) == 2 * 2 * 2 * 2
    assert set(table["target"]) == {"toy3"} and (table["n_test"] == 2).all()  # 3e10, 4e10
    d = frame["D"].to_numpy()
    for row, train in zip(table.itertuples(), out.train, strict=True):
        models = set(frame["model"].iloc[train])
        assert models <= {f"toy{i}" for i in range(row.n_train_models)}
        # strict: D < p * T, and D > cut
        assert (d[train] < row.train_fraction * 4e10).all() and (d[train] > row.min_tokens).all()
        if row.checkpoints == "final":
            assert len(train) == len(models)
    full = table[(table["n_train_models"] == 3) & (table["train_fraction"] == 1.0)
                 & (table["min_tokens"] == 0.0) & (table["checkpoints"] == "all")]
    assert full["n_train"].item() == 9  # 3 models x 3 checkpoints below T = 4e10
    cut = table[(table["n_train_models"] == 2) & (table["train_fraction"] == 0.5)
                & (table["min_tokens"] == 1e10) & (table["checkpoints"] == "all")]
    assert cut["n_train"].item() == 0  # 1e10 < D < 0.5 * 4e10: none


def test_designs_test_final_borrow_and_skips():
    frame = pd.concat([_family(), _family(2, "pair"), _family(3, "high", losses=11.0)])
    out = designs(frame, fractions=(1.0,), min_tokens=(0.0,), checkpoints=("all",),
                  test="final", borrow=("datablations", "toy"))
    table = out.table
    assert "high" not in set(table["family"])  # target loss above 10: skipped, as ColPret
    assert (table["n_test"] == 1).all()
    pair = table[table["family"] == "pair"]
    assert sorted(pair["borrow"]) == ["datablations", "toy"] and (pair["n_train_models"] == 1).all()
    toy = table[table["family"] == "toy"]
    assert sorted(toy["borrow"].unique()) == ["", "datablations"]  # never from itself
    with pytest.raises(InputError, match="families"):
        designs(frame, families=["nope"])
    with pytest.raises(InputError, match="borrow"):
        designs(frame, borrow=["nope"])
    with pytest.raises(InputError, match="fractions"):
        designs(frame, fractions=(0.0,))
    with pytest.raises(InputError, match="column 'D'"):
        designs(frame.assign(D=-1.0))


def test_lm_scaling_is_validated():
    with pytest.raises(ValueError, match="scaling"):
        LevenbergMarquardt(scaling="jacobian")


# ---------------------------------------------------------------------------------------
# One small batched run shared by the tests below (OPT: both cuts; OLMo: borrowing).

SMALL = dict(families=["OPT"], fractions=(1.0,), min_tokens=(0.0, 1e10), checkpoints=("all",))


@pytest.fixture(scope="module")
def small(corpus):
    """OPT, k = 2..5 smaller models, p = 1, both cuts, all checkpoints: 8 designs."""
    return estimate(designs(corpus, **SMALL), ["colpret", "huber-grid"])


@pytest.fixture(scope="module")
def borrowed(corpus):
    """OLMo (two models) from OLMo-1B alone, A and alpha from datablations."""
    return estimate(designs(corpus, families=["olmo"], fractions=(1.0,), min_tokens=(0.0,),
                            checkpoints=("all",), borrow=("datablations",)), ["colpret"])


def _pick(are, family, method, cut, borrow=""):
    rows = are[(are["family"] == family) & (are["method"] == method)
               & (are["min_tokens"] == cut) & (are["borrow"] == borrow)]
    return rows.loc[rows["n_train_models"].idxmax()]


# The paper's figures: Choshen et al. 2025 ("A Hitchhiker's Guide to Scaling Law Estimation")
# report OPT's ARE from all smaller models as about 17%, and about 7% without checkpoints
# below 1e10 tokens; the exact check is against the scipy reference computed in the test.
@pytest.mark.parametrize("cut, paper", [(0.0, 0.17), (1e10, 0.07)])
def test_colpret_reproduces_the_papers_code_on_opt(corpus, small, cut, paper):
    row = _pick(small.are, "OPT", "colpret", cut)
    expected = reference_are(corpus, "OPT", 5, cut)
    assert row["status"] == "converged"
    assert row["are"] == pytest.approx(expected, rel=1e-3)
    assert row["are"] == pytest.approx(paper, rel=0.1)


def test_borrowing_fixes_a_and_alpha(corpus, borrowed):
    row = _pick(borrowed.are, "olmo", "colpret", 0.0, borrow="datablations")
    assert row["n_train_models"] == 1
    assert row["A"] == pytest.approx(DATABLATIONS["A"]) and row["alpha"] == DATABLATIONS["alpha"]
    assert row["are"] == pytest.approx(reference_are(corpus, "olmo", 1, 0.0, borrow=True), rel=1e-3)
    assert row["are"] == pytest.approx(0.01, rel=0.1)  # the paper's "about 1%"


def test_huber_grid_minimises_its_own_objective(corpus, small):
    """The Huber-grid optimum beats the colpret optimum on the Huber objective."""
    are = small.are
    for cut in (0.0, 1e10):
        fits = {m: _pick(are, "OPT", m, cut) for m in ("colpret", "huber-grid")}
        out = designs(corpus, families=["OPT"], n_train_models=[5], fractions=(1.0,),
                      min_tokens=(cut,), checkpoints=("all",))
        train = corpus.iloc[out.train[0]]

        def huber(row, train=train):
            pred = (row["E"] + row["A"] / train["N"] ** row["alpha"]
                    + row["B"] / train["D"] ** row["beta"])
            r = np.abs(np.log(train["loss"]) - np.log(pred))
            return np.sum(np.where(r <= 1e-3, 0.5 * r**2, 1e-3 * (r - 0.5e-3)))

        assert fits["huber-grid"]["status"] == "converged"
        assert huber(fits["huber-grid"]) <= huber(fits["colpret"]) * (1 + 1e-9)


def test_leaderboard_shape(small):
    board = leaderboard(small)
    assert set(board["method"]) == {"colpret", "huber-grid"}
    assert set(board["family"]) == {"all", "OPT"}
    overall = board[board["family"] == "all"].set_index("method")
    assert (overall["n_fits"] == 8).all()
    assert overall["win_rate"].sum() == pytest.approx(1.0)
    assert overall["seconds"].to_dict() == pytest.approx(small.seconds)
    assert ((board["failure_rate"] >= 0) & (board["failure_rate"] <= 1)).all()


def test_leaderboard_intervals_and_paired_wins(small):
    """Bootstrap intervals bracket the estimates; beats_reference is the paired share of
    designs where the method's ARE is below colpret's, counted here independently."""
    board = leaderboard(small, resamples=500).set_index(["family", "method"])
    for stat in ("median_are", "mean_are"):
        assert (board[f"{stat}_lo"] <= board[stat]).all()
        assert (board[stat] <= board[f"{stat}_hi"]).all()
        assert (board[f"{stat}_lo"] < board[f"{stat}_hi"]).all()
    wide = small.are.pivot_table(index=["n_train_models", "min_tokens"], columns="method",
                                 values="are")
    expected = (wide["huber-grid"] < wide["colpret"]).mean()
    assert board.loc[("all", "huber-grid"), "beats_reference"] == pytest.approx(expected)
    assert np.isnan(board.loc[("all", "colpret"), "beats_reference"])
    assert leaderboard(small, reference="none")["beats_reference"].isna().all()


# ---------------------------------------------------------------------------------------
# The method registry.


def test_epoch_method_is_hoffmanns_4500_start_grid():
    method = get_method("epoch")
    law = lawfit.laws.get("chinchilla")
    assert method.starts.shape == (4500, 5) and len(np.unique(method.starts, axis=0)) == 4500
    assert (method.starts > law.lower).all() and (method.starts < law.upper).all()
    assert [len(np.unique(c)) for c in method.starts.T] == [5, 6, 6, 5, 5]


@pytest.mark.parametrize(
    "method, message",
    [
        (Method("x", HuberLog(1e-3), LBFGS(), np.ones((2, 4)), np.zeros(5), np.ones(5)),
         "starts must be an (S, 5) array"),
        (Method("x", HuberLog(1e-3), LBFGS(), np.ones((2, 5)), np.zeros(4), np.ones(5)),
         "lower must have 5 values"),
        (Method("colpret", HuberLog(1e-3), LBFGS(), np.ones((2, 5)), np.zeros(5), np.ones(5)),
         "registered already"),
        (Method("x", HuberLog(1e-3), LBFGS(), np.ones((2, 5)), np.zeros(5), np.ones(5), 1.5),
         "e_below_loss must be in (0, 1]"),
        (Method("x", HuberLog(1e-3), LBFGS(), np.ones((2, 4)), np.zeros(4), np.ones(4),
                law=lawfit.laws.get("shared_exponent")), "lacks ['beta']"),
        (Bayesian("x", noise=0.0), "noise must be > 0"),
    ],
)
def test_register_method_checks_the_method(method, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        register_method(method)


def test_e_below_loss_bounds_e_by_each_designs_smallest_training_loss(corpus):
    """A bound that binds (half the smallest loss, below the free fits' E): every fit
    converges with E under its own design's bound, and at it where the free fit lies above."""
    out = designs(corpus, **SMALL)
    free = get_method("bounded-e")
    half = free._replace(name="half-e", e_below_loss=0.5)
    are = estimate(out, [free, half], shapes=1).are
    bound = 0.5 * np.array([corpus["loss"].iloc[rows].min() for rows in out.train])
    fits = {m: are[are["method"] == m].reset_index(drop=True) for m in ("bounded-e", "half-e")}
    assert (fits["half-e"]["status"] == "converged").all()
    assert (fits["half-e"]["E"] < bound).all()
    assert (fits["bounded-e"]["E"] < 2 * bound).all()
    above = fits["bounded-e"]["E"] > bound
    assert above.any()
    np.testing.assert_allclose(fits["half-e"]["E"][above], bound[above], rtol=1e-3)


def test_findings_recount_the_papers_findings():
    """Each finding from a hand-made table: paired shares and medians counted by hand."""
    base = dict(family="f", method="m", status="converged", train_fraction=1.0, borrow="",
                checkpoints="all", min_tokens=0.0)
    rows = [  # k = 5, cut 0 vs 1e10: the cut wins once of twice; final loses to all once
        {**base, "n_train_models": 5, "are": 0.10},
        {**base, "n_train_models": 5, "are": 0.05, "min_tokens": 1e10},
        {**base, "n_train_models": 6, "are": 0.02},
        {**base, "n_train_models": 6, "are": 0.04, "min_tokens": 1e10},
        {**base, "n_train_models": 6, "are": 0.03, "checkpoints": "final"},
        {**base, "n_train_models": 2, "are": 0.50, "train_fraction": 0.5},
        {**base, "n_train_models": 2, "are": np.nan, "status": "max_steps"},
    ]
    found = findings(pd.DataFrame(rows)).set_index(["finding", "setting"])["value"]
    assert found[("token cut 1e+10", "share of paired designs")] == 0.5
    assert found[("all checkpoints", "share of paired designs")] == 1.0
    assert found[("training models", "5+")] == pytest.approx(np.median([0.1, 0.05, 0.02, 0.04,
                                                                         0.03]))
    assert found[("training models", "2")] == 0.5
    assert found[("training fraction", "0.5")] == 0.5


def test_shared_exponent_fits_one_exponent_no_better_than_the_free_law(corpus):
    """The law-form variant reports beta = alpha, and its optimum of the log-squared error
    is no lower than log-grid's on the nested five-parameter law (same data, same starts)."""
    out = designs(corpus, **SMALL)
    are = estimate(out, ["shared-exponent", "log-grid"], shapes=1).are
    fits = {m: are[are["method"] == m].reset_index(drop=True)
            for m in ("shared-exponent", "log-grid")}
    assert (fits["shared-exponent"]["status"] == "converged").all()
    np.testing.assert_array_equal(fits["shared-exponent"]["alpha"], fits["shared-exponent"]["beta"])
    law = lawfit.laws.get("chinchilla")

    def loss(row, rows):
        data = corpus.iloc[rows]
        pred = law.predict({p: row[p] for p in law.param_names},
                           {"N": data["N"].to_numpy(), "D": data["D"].to_numpy()})
        return float(np.sum((np.log(data["loss"].to_numpy()) - np.log(np.asarray(pred))) ** 2))

    for i, rows in enumerate(out.train):
        shared, free = loss(fits["shared-exponent"].iloc[i], rows), loss(fits["log-grid"].iloc[i], rows)
        assert free <= shared * (1 + 1e-6)
    assert (fits["shared-exponent"]["are"] != fits["log-grid"]["are"]).all()


def test_bayes_reports_each_designs_posterior_median(corpus):
    """Two designs in one call give the medians of their own posteriors (lawfit.bayes
    called here on the same rows, keyed so that they come in the other order); a borrowing
    design's A and alpha stay near the donor's."""
    out = designs(corpus, families=["olmo", "OPT"], fractions=(1.0,), min_tokens=(1e10,),
                  checkpoints=("all",), n_train_models=[2, 3], borrow=["datablations"])
    are = estimate(out, ["bayes"], shapes=1).are
    assert (are.loc[are["status"] != "invalid_input", "status"] == "converged").all()
    own = np.flatnonzero((out.table["borrow"] == "").to_numpy() & (are["status"] == "converged"))
    assert len(own) == 2
    names = ["E", "A", "B", "alpha", "beta"]
    frame = pd.concat([corpus.iloc[out.train[i]].assign(key=key)
                       for i, key in zip(own, ["z", "a"], strict=True)])
    post = lawfit.bayes.posterior(frame, "chinchilla", {"N": "N", "D": "D"}, "loss", by="key",
                                  sampler=lawfit.bayes.Laplace(chains=1, samples=400))
    logs = [np.log(np.stack([post.draws[p][g].ravel() for p in names])) for g in (1, 0)]
    alone = np.stack([np.median(v, axis=1) for v in logs])  # z, a: the designs' order
    spread = np.stack([v.std(axis=1) for v in logs])
    batched = np.log(are.loc[own, names].to_numpy(float))
    # equal up to the Monte Carlo error of medians of 400 draws (0.06 sd), and not the
    # other design's
    assert (np.abs(batched - alone) < 0.25 * spread).all()
    assert (np.abs(batched - alone[::-1]) > 0.25 * spread).any()
    lent = are[(are["borrow"] == "datablations") & (are["status"] == "converged")]
    assert len(lent)
    np.testing.assert_allclose(lent["A"], DATABLATIONS["A"], rtol=0.2)
    np.testing.assert_allclose(lent["alpha"], DATABLATIONS["alpha"], rtol=0.2)


# ---------------------------------------------------------------------------------------
# backtested: the candidate with the lower backtest error, refitted on all training rows.


def _backtest(corpus, out, holdout=0.7):
    """An independent backtest: per design, the largest training model's checkpoints with
    D >= holdout * its largest D held out, the other training rows kept."""
    train, test = [], []
    for rows in out.train:
        frame = corpus.iloc[rows]
        last = frame[frame["N"] == frame["N"].max()]
        held = last.index[last["D"] >= holdout * last["D"].max()].to_numpy()
        train.append(np.setdiff1d(rows, held))
        test.append(held)
    table = out.table.assign(n_train=[len(t) for t in train], n_test=[len(t) for t in test])
    return Designs(table, train, test, corpus)


@pytest.fixture(scope="module")
def backtested(corpus):
    """OPT, no cut: backtested and its candidates on the designs and on an independent
    backtest."""
    out = designs(corpus, families=["OPT"], fractions=(1.0,), min_tokens=(0.0,),
                  checkpoints=("all",))
    names = [c.name for c in get_method("backtested").candidates]
    full = estimate(out, ["backtested", *names], shapes=1)
    trial = estimate(_backtest(corpus, out), names, shapes=1)
    return full.are, trial.are, names


def test_backtested_is_registered_and_lawfit_is_bayes():
    method = get_method("backtested")
    assert "backtested" in method_names() and isinstance(method, Backtested)
    assert all(isinstance(c, Method) for c in method.candidates) and len(method.candidates) > 1
    assert get_method("lawfit") == get_method("bayes")._replace(name="lawfit")


def test_backtested_keeps_the_candidate_with_the_lower_backtest_error(backtested):
    are, trial, names = backtested
    chosen = are[are["method"] == "backtested"].set_index("n_train_models")
    scores = trial.pivot(index="n_train_models", columns="method", values="are")[names]
    assert (chosen["status"] == "converged").all()
    assert (chosen["chosen"] == scores.idxmin(axis=1).reindex(chosen.index)).all()
    for k, row in chosen.iterrows():
        fit = are[(are["method"] == row["chosen"]) & (are["n_train_models"] == k)].iloc[0]
        np.testing.assert_allclose(row[["E", "A", "B", "alpha", "beta"]].to_numpy(float),
                                   fit[["E", "A", "B", "alpha", "beta"]].to_numpy(float))


def test_choose_falls_back_to_the_first_converged_candidate():
    full_ok = np.array([[True, False, True, False], [True, True, True, False]])
    backtest = np.array([[0.2, 0.1, np.nan, 0.1], [0.1, 0.3, np.nan, 0.2]])
    # lower score; the only converged full fit; no backtest; nothing converged
    np.testing.assert_array_equal(_choose(full_ok, backtest), [1, 1, 0, 0])


def test_register_method_checks_backtested_candidates():
    bad = Method("x", HuberLog(1e-3), LBFGS(), np.ones((2, 4)), np.zeros(5), np.ones(5))
    with pytest.raises(ValueError, match=re.escape("starts must be an (S, 5) array")):
        register_method(Backtested("bt", (bad,)))
    with pytest.raises(ValueError, match="holdout"):
        register_method(Backtested("bt", (get_method("colpret"),), holdout=1.5))


def test_cli_runs_backtested(tmp_path):
    out = tmp_path / "hh"
    result = CliRunner().invoke(app, [
        "hitchhiker", "--families", "OPT", "--methods", "backtested", "--min-tokens", "0",
        "--fractions", "1", "--checkpoints", "all", "--no-figures", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    are = pd.read_csv(out / "are.csv")
    assert set(are["method"]) == {"backtested"} and (are["status"] == "converged").all()
    assert set(are["chosen"]) <= {c.name for c in get_method("backtested").candidates}
    assert are["flat"].dtype == bool  # the flat-direction warning, per fit
    assert "backtested:" in result.output


METHOD_FILE = """
import numpy as np
from lawfit.evaluate import COLPRET_START, Method, register_method
from lawfit.fitting import LBFGS, HuberLog
from lawfit.laws import chinchilla

start = np.array([[COLPRET_START[p] for p in chinchilla.param_names]])
register_method(Method("huber-one-start", HuberLog(1e-3), LBFGS(ftol=1e-9, max_steps=500),
                       start, chinchilla.lower, chinchilla.upper), overwrite=True)
"""


def test_cli_runs_registered_methods_from_a_module(corpus, tmp_path):
    """A --module file registers a method; `--methods` runs it next to the built-in ones.
    mse-grid minimises colpret's objective from 8 starts: never a worse least-squares fit."""
    module = tmp_path / "my_methods.py"
    module.write_text(METHOD_FILE)
    out = tmp_path / "hh"
    result = CliRunner().invoke(app, [
        "hitchhiker", "--families", "OPT", "--methods", "colpret,mse-grid,huber-one-start",
        "--min-tokens", "0", "--fractions", "1", "--checkpoints", "all", "--no-figures",
        "--module", str(module), "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    are = pd.read_csv(out / "are.csv")
    assert sorted(set(are["method"])) == ["colpret", "huber-one-start", "mse-grid"]
    assert (are["status"] == "converged").all()
    out_designs = designs(corpus, families=["OPT"], fractions=(1.0,), min_tokens=(0.0,),
                          checkpoints=("all",))
    for k, train in zip(out_designs.table["n_train_models"], out_designs.train, strict=True):
        rows = corpus.iloc[train]
        fits = are[are["n_train_models"] == k].set_index("method")

        def sse(row, rows=rows):
            pred = row["E"] + row["A"] / rows["N"] ** row["alpha"] + row["B"] / rows["D"] ** row["beta"]
            return float(np.sum((rows["loss"] - pred) ** 2))

        assert sse(fits.loc["mse-grid"]) <= sse(fits.loc["colpret"]) * (1 + 1e-6)


# ---------------------------------------------------------------------------------------
# CLI (same settings as the shared run, so its kernels are already compiled).


def test_cli_writes_tables_and_figures(tmp_path):
    out = tmp_path / "hh"
    result = CliRunner().invoke(app, [
        "hitchhiker", "--families", "OPT", "--methods", "colpret,huber-grid",
        "--min-tokens", "0,1e10", "--fractions", "1", "--checkpoints", "all", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    are = pd.read_csv(out / "are.csv")
    assert list(are.columns[:6]) == ["family", "method", "n_train_models", "train_fraction",
                                     "min_tokens", "are"]
    assert len(are) == 2 * 8
    board = pd.read_csv(out / "leaderboard.csv")
    assert {"family", "method", "mean_are", "median_are", "failure_rate", "seconds"} <= set(board)
    assert {"median_are_lo", "median_are_hi", "beats_reference"} <= set(board)
    found = pd.read_csv(out / "findings.csv")
    assert set(found["method"]) == {"colpret", "huber-grid"}
    assert set(found["finding"]) == {"token cut 1e+10", "training models", "training fraction"}
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["heatmap_colpret_cut0.png", "heatmap_colpret_cut1e+10.png",
                    "heatmap_huber-grid_cut0.png", "heatmap_huber-grid_cut1e+10.png",
                    "methods.png"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--methods", "bogus"], "unknown method 'bogus'"),
        (["--families", "nope"], "families"),
        (["--min-tokens", "zero"], "--min-tokens"),
        (["--test", "late"], "--test"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path, args, message):
    result = CliRunner().invoke(app, ["hitchhiker", "--out", str(tmp_path / "x"), *args])
    assert result.exit_code == 2
    assert message in result.output


# ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_colpret_reproduces_every_headline_family(corpus):
    """OPT ~17% / ~7%, Pythia ~160% / ~9%, GPT-3 ~1.6%, OLMo ~1% (borrowing), within 10% of
    scipy's curve_fit on the same selection (the issue's acceptance check). The approximate
    figures are those Choshen et al. 2025 report; the reference is computed in the test."""
    cases = [("OPT", 0.0, 0.17), ("OPT", 1e10, 0.07), ("pythia", 0.0, 1.6), ("pythia", 1e10, 0.09),
             ("gpt3", 0.0, 0.016)]
    run = estimate(designs(corpus, families=["OPT", "pythia", "gpt3", "olmo"], fractions=(1.0,),
                           min_tokens=(0.0, 1e10), checkpoints=("all",),
                           borrow=("datablations",)), ["colpret"])
    for family, cut, paper in cases:
        row = _pick(run.are, family, "colpret", cut)
        k = int(row["n_train_models"])
        assert row["are"] == pytest.approx(reference_are(corpus, family, k, cut), rel=0.1)
        assert row["are"] == pytest.approx(paper, rel=0.15)
    olmo = _pick(run.are, "olmo", "colpret", 0.0, borrow="datablations")
    assert olmo["are"] == pytest.approx(reference_are(corpus, "olmo", 1, 0.0, borrow=True), rel=0.1)
