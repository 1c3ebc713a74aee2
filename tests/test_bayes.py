"""Bayesian fits: the model from a law spec, batched NUTS, diagnostics, forecasts."""

import dataclasses
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import lawfit
from lawfit.bayes import (
    NUTS,
    Data,
    Laplace,
    SampleStatus,
    borrowed_priors,
    diagnose,
    forecast,
    hyper,
    interval_columns,
    learn_discrepancy,
    natural,
    posterior,
    potential,
)
from lawfit.bayes._diagnostics import diagnose_many
from lawfit.bayes._model import cast, numpyro_potential, pivoted
from lawfit.bayes._prepare import prepare, start_points
from lawfit.evaluate import simulate
from lawfit.laws import encode_inputs

TRUE = {"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.3}
SMALL = NUTS(chains=2, warmup=300, samples=300)
AT_COLUMNS = ["D", "family", "N"]


def _grid_frame(params, seed, noise=0.005, sizes=(1e7, 3e7, 1e8, 3e8, 1e9, 3e9),
                tokens=(1e9, 3e9, 1e10, 3e10, 1e11)):
    n, d = np.meshgrid(sizes, tokens)
    return simulate("chinchilla", params, {"N": n, "D": d}, noise=noise, seed=seed, y="loss")


@pytest.fixture(scope="module")
def frame():
    parts = [_grid_frame(TRUE, 1).assign(family="a"), _grid_frame(dict(TRUE, alpha=0.3), 2).assign(family="b")]
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def fc(frame):
    """One batched call (backtests and final posteriors of both families), shared by the
    sampling tests: compiling the vmapped NUTS kernel takes minutes on a shared 2-core CPU,
    so they are in the slow set."""
    train = frame[frame["N"] < 3e9]
    at = frame[frame["N"] == 3e9][AT_COLUMNS].iloc[::-1]
    return forecast(train, "chinchilla", {"N": "N", "D": "D"}, "loss", at=at, by="family",
                    levels=(0.5, 0.9), sampler=SMALL)


@pytest.fixture(scope="module")
def post(fc):
    return fc.posterior


def test_potential_equals_numpyro_and_pivots_invert():
    law = lawfit.laws.get("chinchilla")
    frame = _grid_frame(TRUE, 0)
    data = Data(encode_inputs(law, {k: jnp.asarray(frame[k].to_numpy()) for k in ("N", "D")}),
                jnp.log(jnp.asarray(frame["loss"].to_numpy())), jnp.ones(len(frame), bool))
    h = hyper(law, np.log(frame[["N", "D"]].to_numpy()).mean(0))
    h = type(h)(*(jnp.asarray(v) for v in h))
    rng = np.random.default_rng(0)
    for _ in range(3):
        w = jnp.asarray(rng.normal(size=7) * 0.5)
        ours, theirs = potential(law)(w, data, h), numpyro_potential(law, w, data, h)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    theta = jnp.asarray([TRUE[p] for p in law.param_names])
    np.testing.assert_allclose(natural(law, pivoted(law, theta, h), h)[0], theta, rtol=1e-12)


def test_map_fit_beyond_float32_starts_from_the_prior(frame, recwarn):
    law = lawfit.laws.get("chinchilla")
    batch = prepare(frame, law, {"N": "N", "D": "D"}, "loss", "family", None, 0.05, 0,
                    pad_groups=False)
    theta_map = batch.theta_map.copy()
    theta_map[1, law.param_names.index("A")] = 1e40  # finite in float64, inf in float32
    d, h = cast(batch.data, np.float32), cast(batch.hyper, np.float32)
    starts = start_points(law, d, h, theta_map, 0.05, np.float32)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    assert np.isfinite(starts).all()
    np.testing.assert_array_equal(starts[1, 0], starts[1, 1])  # the prior medians' start
    assert not np.array_equal(starts[0, 0], starts[0, 1])


def test_laplace_at_a_saddle_is_flagged_and_stays_narrow():
    """A search stopped where the Hessian has a negative eigenvalue: ``ok`` is False and that
    direction gets the typical curvature of the others, not a 1e4-wide one."""
    from lawfit.bayes._laplace import laplace

    def saddle(w, scale):
        return scale * w[0] ** 2 - 1e-3 * w[1] ** 2 + 0.5 * w[2] ** 2

    lap = laplace(saddle, (jnp.asarray([1.0, 4.0]),), jnp.zeros((2, 1, 3)))
    assert not np.asarray(lap.ok).any()
    sd = np.sqrt(np.sum(np.asarray(lap.sqrt_cov) ** 2, axis=-1))
    typical = np.sqrt([2.0 * 1.0, 2.0 * 4.0])  # geometric mean of the positive eigenvalues
    np.testing.assert_allclose(sd[:, 1], 1 / np.sqrt(typical), rtol=1e-6)
    np.testing.assert_allclose(sd[:, 2], 1.0, rtol=1e-6)
    wide = laplace(saddle, (jnp.asarray([1.0, 4.0]),), jnp.zeros((2, 1, 3)), ridges="floor")
    sd = np.sqrt(np.sum(np.asarray(wide.sqrt_cov) ** 2, axis=-1))
    np.testing.assert_allclose(sd[:, 1], 1 / np.sqrt(1e-8 * np.array([2.0, 8.0])), rtol=1e-6)
    with pytest.raises(lawfit.InputError, match=r"^ridges"):
        laplace(saddle, (jnp.asarray([1.0, 4.0]),), jnp.zeros((2, 1, 3)), ridges="wide")
    from lawfit.bayes._posterior import laplace_status

    status = laplace_status(np.array([0.5, 0.5, np.inf]), np.array([True, False, False]))
    assert [SampleStatus(int(v)).label for v in status] == ["ok", "indefinite", "nonfinite"]


def test_prior_predictive_is_sane():
    """Spec priors are weakly informative: a mid-size run's prior predictive loss is mostly
    between 1 and 20 nats, centred at a few nats, and rarely below 0.5 (E's prior)."""
    law = lawfit.laws.get("chinchilla")
    key = jax.random.PRNGKey(0)
    draws = {p.name: p.prior.distribution().sample(k, (4000,))
             for p, k in zip(law.params, jax.random.split(key, 5), strict=True)}
    loss = np.asarray(law.predict(draws, {"N": 1e9, "D": 2e10}))
    assert np.all(np.isfinite(loss)) and np.all(loss > 0)
    inside = np.mean((loss > 1.0) & (loss < 20.0))
    assert inside > 0.6, inside
    assert 1.5 < np.median(loss) < 6.0
    assert np.mean(loss < 0.5) < 0.02


@pytest.mark.slow
def test_posterior_recovers_and_reports(post):
    table = post.params
    assert list(table["family"]) == ["a", "b"]
    assert (table["status"] == "ok").all(), table[["r_hat", "ess_bulk", "divergences"]]
    assert (table["r_hat"] < 1.05).all()
    for (_, row), alpha in zip(table.iterrows(), (0.34, 0.3), strict=True):
        assert row["alpha_lo"] < alpha < row["alpha_hi"]
        assert row["E_lo"] < TRUE["E"] < row["E_hi"]
    assert post.draws["alpha"].shape == (2, 2, 300)
    idata = post.to_arviz(1)
    assert set(idata.posterior.data_vars) >= {"alpha", "beta", "E", "sigma", "df"}


def test_bad_run_is_flagged():
    rng = np.random.default_rng(0)
    apart = rng.normal(size=(4, 200, 3)) + np.array([0.0, 0.0, 5.0, 5.0])[:, None, None]
    assert diagnose(apart, np.zeros((4, 200), bool))[3] is SampleStatus.NOT_MIXED
    mixed = rng.normal(size=(4, 200, 3))
    assert diagnose(mixed, np.zeros((4, 200), bool))[3] is SampleStatus.OK
    divergent = np.zeros((4, 200), bool)
    divergent[:, :10] = True
    assert diagnose(mixed, divergent)[3] is SampleStatus.DIVERGENT
    sticky = np.repeat(rng.normal(size=(4, 4, 3)), 50, axis=1)  # 4 distinct values per chain
    assert diagnose(sticky, np.zeros((4, 200), bool))[3] in (
        SampleStatus.LOW_ESS, SampleStatus.NOT_MIXED)
    batch = np.stack([apart, mixed, mixed, sticky, mixed])
    batch[4, 0, 0, 0] = np.nan
    flags = np.zeros((5, 4, 200), bool)
    flags[2] = divergent
    many = diagnose_many(batch, flags)
    for g in range(4):  # the batched diagnostics are the loop's
        one = diagnose(batch[g], flags[g])
        np.testing.assert_allclose([many.r_hat[g], many.ess_bulk[g], many.divergences[g]],
                                   one[:3], rtol=1e-9)
        assert many.status[g] == one[3]
    assert many.status[4] == SampleStatus.NONFINITE and np.isnan(many.r_hat[4])
    # the message names the site that flagged the posterior
    lost = mixed.copy()
    lost[0, :, 1] += 5.0  # one chain of site "b" elsewhere
    lost_many = diagnose_many(np.stack([lost, sticky]), np.zeros((2, 4, 200), bool))
    assert lost_many.r_hat_site[0] == 1
    assert f"; R-hat {lost_many.r_hat[0]:.2f} at b" in lost_many.messages(["a", "b", "c"])[0]
    assert " at " in lost_many.messages(["a", "b", "c"])[1]  # low_ess or not_mixed
    # one chain: R-hat over its two halves
    one_chain = apart[1:3].reshape(1, 400, 3)  # its first half near 0, its second near 5
    assert diagnose(one_chain, np.zeros((1, 400), bool))[3] is SampleStatus.NOT_MIXED


@pytest.mark.slow
def test_bad_sampler_settings_are_flagged(frame):
    """Two warm-up steps and one-leapfrog trees cannot mix: diagnostics must say so."""
    bad = posterior(frame[frame["family"] == "a"], "chinchilla", {"N": "N", "D": "D"}, "loss",
                    sampler=NUTS(chains=4, warmup=2, samples=30, max_tree_depth=1))
    assert bad.groups["status"].iloc[0] != "ok"


@pytest.mark.slow
def test_forecast_table_shape_and_intervals(fc, frame):
    at = frame[frame["N"] == 3e9][AT_COLUMNS].iloc[::-1]
    t = fc.table
    assert list(t.columns) == [*AT_COLUMNS, "median", *interval_columns((0.5, 0.9))]
    np.testing.assert_array_equal(t[AT_COLUMNS].to_numpy(), at.to_numpy())
    assert (t["lo_90"] < t["lo_50"]).all() and (t["lo_50"] < t["median"]).all()
    assert (t["median"] < t["hi_50"]).all() and (t["hi_50"] < t["hi_90"]).all()
    truth = at.merge(frame, on=AT_COLUMNS)["loss"].to_numpy()
    assert np.median(np.abs(t["median"] - truth) / truth) < 0.02
    assert fc.samples.shape[0] == len(at)
    assert len(fc.backtests) >= 2 and fc.discrepancy.tau0 > 0


@pytest.mark.slow
def test_backtest_draws_relearn_the_discrepancy(fc):
    # the kept backtests give back the forecast's discrepancy; a subset (one family's: the
    # other families' discrepancy for a family without backtests of its own) gives another
    assert len(fc.backtest_draws) == len(fc.backtests)
    assert set(fc.backtests["family"]) == {"a", "b"}
    assert learn_discrepancy(list(fc.backtest_draws)) == fc.discrepancy
    only_b = [b for b, f in zip(fc.backtest_draws, fc.backtests["family"], strict=True) if f == "b"]
    assert 0 < len(only_b) < len(fc.backtest_draws)
    assert learn_discrepancy(only_b) != fc.discrepancy


@pytest.mark.slow
def test_borrowed_priors_pull_toward_donors(post):
    pri = borrowed_priors(post, [True, True])
    assert set(pri) == {"E", "alpha", "beta"}
    # The two donor families were simulated with alpha 0.34 and 0.30 (TRUE, frame): mean 0.32.
    assert abs(np.exp(pri["alpha"].loc) - 0.32) < 0.05
    assert pri["alpha"].scale >= 0.05
    assert borrowed_priors(post, [True, False]) == {}
    unmixed = dataclasses.replace(post, groups=post.groups.assign(status=["ok", "not_mixed"]))
    assert borrowed_priors(unmixed, [True, True]) == {}  # an unmixed donor gives nothing
    assert set(borrowed_priors(unmixed, [True, True], trusted=("ok", "not_mixed"))) == set(pri)




def _similar_families():
    """Three families on data "x" with nearby exponents, one on "y"."""
    sizes, tokens = (1e7, 3e7, 1e8, 3e8), (1e9, 1e10, 1e11)
    parts = [_grid_frame(dict(TRUE, alpha=alpha), seed, sizes=sizes, tokens=tokens).assign(
        family=name, data=data) for seed, (name, data, alpha) in enumerate(
        [("x1", "x", 0.30), ("x2", "x", 0.32), ("x3", "x", 0.34), ("y1", "y", 0.50)])]
    return pd.concat(parts, ignore_index=True)


def test_borrow_gives_each_group_priors_from_its_similar_others():
    """``borrow=`` (leave-one-group-out empirical Bayes): three families on data "x" borrow
    from each other, the only family on "y" keeps the spec's priors; forecast(borrow=...)
    is forecast(group_priors=similar_group_priors(...)). Laplace posteriors keep it fast."""
    frame = _similar_families()
    kw = dict(sampler=Laplace(chains=1, samples=200))
    priors = lawfit.bayes.similar_group_priors(frame, "chinchilla", {"N": "N", "D": "D"},
                                               "loss", by="family", similar="data", **kw)
    assert priors["y1"] == {}
    for name in ("x1", "x2", "x3"):
        assert set(priors[name]) == {"E", "alpha", "beta"}
        # donors simulated with alpha 0.30, 0.32, 0.34 (_similar_families)
        assert 0.29 < np.exp(priors[name]["alpha"].loc) < 0.35
    assert np.exp(priors["x1"]["alpha"].loc) > np.exp(priors["x3"]["alpha"].loc)  # not itself
    args = (frame, "chinchilla", {"N": "N", "D": "D"}, "loss")
    at = frame[AT_COLUMNS].head(2)
    with pytest.raises(lawfit.InputError, match=r"^borrow: column 'nope' not found"):
        forecast(*args, at=at, by="family", borrow="nope")
    with pytest.raises(lawfit.InputError, match=r"^borrow: column 'N' varies within a group"):
        forecast(*args, at=at, by="family", borrow="N")
    with pytest.raises(lawfit.InputError, match=r"^borrow: borrowing between groups needs by"):
        forecast(*args, at=at, borrow="data")
    with pytest.raises(lawfit.InputError, match=r"^borrow: .* needs method='bayes'"):
        forecast(*args, at=at, by="family", borrow="data", method="bootstrap")


@pytest.mark.slow
def test_forecast_borrow_is_forecast_with_similar_group_priors():
    frame = _similar_families()
    train, at = frame[frame["N"] < 3e8], frame[frame["N"] == 3e8][AT_COLUMNS]
    args = (train, "chinchilla", {"N": "N", "D": "D"}, "loss")
    kw = dict(sampler=NUTS(chains=2, warmup=100, samples=100))
    borrowed = forecast(*args, at=at, by="family", borrow=["data"], **kw)
    priors = lawfit.bayes.similar_group_priors(*args, by="family", similar="data", **kw)
    by_hand = forecast(*args, at=at, by="family", group_priors=priors, **kw)
    pd.testing.assert_frame_equal(borrowed.table, by_hand.table)


def test_group_priors_reach_only_their_group(frame):
    """A tight prior on one family's alpha moves that family's (Laplace) posterior only;
    predictive() then forecasts from any Posterior."""
    tight = {"a": {"alpha": lawfit.Prior("lognormal", float(np.log(0.45)), 0.005)}}
    post = posterior(frame, "chinchilla", {"N": "N", "D": "D"}, "loss", by="family",
                     sampler=Laplace(chains=1, samples=400), group_priors=tight)
    alpha = post.params.set_index("family")["alpha"]
    assert abs(alpha["a"] - 0.45) < 0.01
    assert abs(alpha["b"] - 0.3) < 0.03
    at = frame[frame["N"] == 3e9][AT_COLUMNS].head(3)
    samples = lawfit.bayes.predictive(post, at, per_draw=2, rng=0)
    assert samples.shape == (3, 800) and np.all(np.isfinite(samples))
    table = lawfit.bayes.forecast_table(at, samples, (0.5, 0.9))
    assert list(table.columns) == [*AT_COLUMNS, "median", *interval_columns((0.5, 0.9))]


@pytest.mark.parametrize(
    "group_priors, needle",
    [({"zzz": {}}, "group_priors: groups not in the data"),
     ({"a": {"gamma": lawfit.Prior("normal", 0.0, 1.0)}}, "'gamma'"),
     ({"a": {"alpha": lawfit.Prior("normal", 0.3, 0.1)}}, "family 'lognormal'")],
)
def test_bad_group_priors_are_named(frame, group_priors, needle):
    with pytest.raises(lawfit.InputError, match=needle):
        posterior(frame, "chinchilla", {"N": "N", "D": "D"}, "loss", by="family",
                  sampler=Laplace(), group_priors=group_priors)


@pytest.mark.parametrize(
    "settings, needle",
    [(dict(max_tree_depth=0), r"^max_tree_depth must be an integer from 1 to 15"),
     (dict(max_tree_depth=16), r"^max_tree_depth"), (dict(max_tree_depth=8.5), r"^max_tree_depth"),
     (dict(warmup=0), r"^warmup must be an integer of at least 1"),
     (dict(chains=True), r"^chains must be an integer"),
     (dict(samples=1), r"^samples must be an integer of at least 2"),
     (dict(target_accept=1.0), r"^target_accept must be in \(0, 1\)")],
)
def test_bad_sampler_settings_are_named(settings, needle):
    """Settings are checked where they are built, and the message names the option."""
    with pytest.raises(lawfit.InputError, match=needle):
        NUTS(**settings)
    if set(settings) <= {"chains", "samples"}:  # Laplace's options
        with pytest.raises(lawfit.InputError, match=needle):
            Laplace(**settings)


def test_sampler_options_are_not_keywords_of_the_calls(frame):
    """No option sprawl: a sampler option passed to the call, or misspelled in the settings,
    is an error at the call that names it, not silently forwarded."""
    args = (frame, "chinchilla", {"N": "N", "D": "D"}, "loss")
    with pytest.raises(TypeError, match="chains"):
        posterior(*args, by="family", chains=2)
    with pytest.raises(TypeError, match="warmup"):
        forecast(*args, at=frame.head(1), by="family", warmup=10)
    with pytest.raises(TypeError, match="max_treedepth"):
        NUTS(max_treedepth=10)
    with pytest.raises(lawfit.InputError, match=r"^sampler must be lawfit\.bayes\.NUTS"):
        posterior(*args, by="family", sampler={"chains": 2})
    with pytest.raises(lawfit.InputError,
                       match=r"^sampler must be lawfit\.bayes\.NUTS\(\.\.\.\); got Laplace"):
        lawfit.bayes.hierarchical_posterior(*args, by="family", sampler=Laplace())



def test_discrepancy_growth_is_bounded():
    """Backtests whose misfit grows sharply toward the edge of the data (a -> 0) would drive
    lam without bound; the learned lam stays within lam_max (default LAM_MAX), so forecasts
    stay finite. lam_max is a leaf: other bounds reuse the compiled search; 0 means no
    growth; a bound that is not a number >= 0 is refused by name."""
    from lawfit.bayes import LAM_MAX, Backtest, learn_discrepancy
    from lawfit.bayes._discrepancy import _best_discrepancy

    rng = np.random.default_rng(0)
    a = np.linspace(-1.0, 0.0, 40)
    y = 0.5 * np.exp(20 * a) * rng.standard_normal(40)  # misfit grows e^20 per decade
    test = Backtest(mu=np.zeros((50, 40)), sigma=np.full(50, 1e-3), df=np.full(50, 30.0),
                    y=y, d=np.zeros(40), a=a)
    disc = learn_discrepancy([test])
    assert LAM_MAX - 0.1 < disc.lam <= LAM_MAX
    assert np.isfinite(disc.scale(3.0, 3.0))
    compiled = _best_discrepancy._cache_size()
    for bound in (0.5, 1.5):
        assert bound - 0.1 < learn_discrepancy([test], lam_max=bound).lam <= bound
    assert learn_discrepancy([test], lam_max=0).lam == 0.0
    assert _best_discrepancy._cache_size() == compiled
    for bad in (-1.0, float("nan"), "two"):
        with pytest.raises(lawfit.InputError, match=r"^lam_max must be a finite number >= 0"):
            learn_discrepancy([test], lam_max=bad)


def test_discrepancy_recovers_a_known_growth():
    """Backtests whose misfit is N(0, 0.02 + 0.05 d): the learned (tau0, kappa) recover it;
    zero-weight backtests (as in the padding to a compiled shape) change nothing."""
    from lawfit.bayes import Backtest, learn_discrepancy

    rng = np.random.default_rng(1)
    tests = []
    for _ in range(12):
        d = rng.uniform(0.0, 2.0, 60)
        y = (0.02 + 0.05 * d) * rng.standard_normal(60)
        tests.append(Backtest(mu=np.zeros((50, 60)), sigma=np.full(50, 1e-4),
                              df=np.full(50, 1e3), y=y, d=d, a=-d))
    disc = learn_discrepancy(tests)
    assert abs(disc.tau0 - 0.02) < 0.01 and abs(disc.kappa - 0.05) < 0.015
    assert abs(disc.lam) < 0.3 and disc.score > disc.score_none
    junk = Backtest(mu=np.ones((50, 60)), sigma=np.full(50, 1e-4), df=np.full(50, 1e3),
                    y=np.zeros(60), d=np.zeros(60), a=np.zeros(60))
    padded = learn_discrepancy([*tests, junk, junk], weights=[1.0] * 12 + [0.0, 0.0])
    np.testing.assert_allclose(padded[:3], disc[:3], rtol=1e-6, atol=1e-9)


@pytest.mark.slow
def test_a_two_size_family_borrows_the_discrepancy():
    """Two sizes leave no backtest, so a family alone gets no discrepancy; forecast with a
    finished family, it gets the one learned from that family's backtests (README table (c)
    measures what this does on ColPret)."""
    def family(seed, sizes, name):
        n, d = np.meshgrid(sizes, (1e9, 3e9, 1e10, 3e10, 1e11))
        f = simulate("chinchilla", TRUE, {"N": n, "D": d}, noise=0.005, seed=seed, y="loss")
        # the law's misfit grows with scale, so the backtests learn a discrepancy
        return f.assign(loss=f["loss"] + 0.02 * np.log10(f["N"] / 1e7) ** 2, family=name)

    finished = family(1, (1e7, 3e7, 1e8, 3e8, 1e9, 3e9), "a")
    scarce = family(3, (1e7, 3e7), "c")
    at = pd.DataFrame({"family": "c", "N": [1e9, 3e9], "D": [1e11, 1e11]})
    x = {"N": "N", "D": "D"}
    with pytest.warns(lawfit.bayes.NoBacktestWarning, match="no backtest"):
        alone = forecast(scarce, "chinchilla", x, "loss", at=at, by="family", axis="N",
                         sampler=SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error", lawfit.bayes.NoBacktestWarning)
        both = forecast(pd.concat([finished, scarce]), "chinchilla", x, "loss", at=at,
                        by="family", axis="N", sampler=SMALL)
    assert alone.discrepancy == lawfit.bayes.Discrepancy() and alone.backtests.empty
    assert set(both.backtests["family"]) == {"a"} and both.discrepancy.kappa > 0
    assert both.discrepancy.score > both.discrepancy.score_none
    width = {k: (f.table["hi_95"] - f.table["lo_95"]).to_numpy() for k, f in
             (("alone", alone), ("both", both))}
    assert (width["both"] > width["alone"]).all()


def test_law_without_priors_gets_a_posterior():
    """The README's custom law: ``a`` is declared without a prior; it gets the documented
    default (unbounded: a wide normal around its grid) and the posterior has finite draws."""
    import math

    law = lawfit.Law(
        name="loglinear_no_prior", inputs=("C",),
        params=(lawfit.Param("a", grid=(2.0, 4.0)),
                lawfit.Param("b", lower=0.0, grid=(0.01, 0.1),
                             prior=lawfit.Prior("lognormal", math.log(0.05), 1.0))),
        fn=lambda p, x: p["a"] - p["b"] * jnp.log(x["C"]),
    )
    assert law.params[0].prior == lawfit.Prior("normal", 3.0, 3.0)
    c = np.logspace(18, 22, 12)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"C": c, "loss": (5.0 - 0.05 * np.log(c)) * np.exp(0.005 * rng.standard_normal(12))})
    post = posterior(frame, law, {"C": "C"}, "loss", sampler=Laplace(samples=50))
    for name in ("a", "b"):
        assert np.all(np.isfinite(post.draws[name]))
    assert float(np.median(post.draws["b"])) == pytest.approx(0.05, rel=0.2)


def _bowl(w, centre):
    return jnp.sum((w - centre) ** 2)


def test_laplace_kernel_is_cached_per_shape():
    """One jitted Laplace kernel per potential and settings (a bounded LRU cache), compiled
    once per batch size: 1, 3, then 1 and 3 posteriors again compile twice in all."""
    from lawfit.bayes import laplace
    from lawfit.bayes._laplace import _compiled

    def run(b):
        centre = jnp.arange(2.0 * b).reshape(b, 2)
        return laplace(_bowl, (centre,), jnp.zeros((b, 2, 2)), steps=50)

    misses = _compiled.cache_info().misses
    run(1), run(3)
    kernel = _compiled(_bowl, 50, 1e-8, "typical")
    assert _compiled.cache_info().misses == misses + 1 and _compiled.cache_info().maxsize == 32
    assert kernel._cache_size() == 2
    out = run(1)
    run(3)
    assert kernel._cache_size() == 2 and _compiled.cache_info().misses == misses + 1
    np.testing.assert_allclose(out.mode, [[0.0, 1.0]], atol=1e-6)


def test_bootstrap_forecast_needs_two_converged_resamples(monkeypatch):
    """Regression: a group with fewer than two converged bootstrap refits was forecast from
    its non-converged ones as if they had converged. Its forecasts are now NaN and its row of
    ``Forecast.groups`` says why; a group whose refits converged is unaffected. The fit is
    replaced by a table of hand-made resamples (non-converged ones far off)."""
    law = lawfit.laws.get("chinchilla")
    train = pd.concat([_grid_frame(TRUE, seed, sizes=(1e7, 1e8, 1e9), tokens=(1e9, 1e10))
                       .assign(family=name) for seed, name in enumerate("ab")], ignore_index=True)
    at = pd.DataFrame({"family": ["b", "a"], "N": [1e10, 1e10], "D": [1e11, 1e11]})
    n_boot = 4
    params = pd.DataFrame([dict(family=f, **TRUE, status="converged", message="") for f in "ab"])
    resamples = [dict(family=f, resample=r, **dict(TRUE, alpha=TRUE["alpha"] + 0.01 * r),
                      status="converged" if f == "a" or r == 0 else "max_steps")
                 for f in "ab" for r in range(n_boot)]
    for row in resamples:
        if row["status"] != "converged":
            row["E"] = 50.0  # a non-converged refit, far from the data
    fitted = lawfit.FitResult(params, law, {"N": "N", "D": "D"}, "loss", ["family"],
                              objective=None, bootstrap=pd.DataFrame(resamples))
    monkeypatch.setattr(lawfit.bayes._bootstrap, "map_fit", lambda *a, **k: fitted)
    fc = forecast(train, "chinchilla", {"N": "N", "D": "D"}, "loss", at=at, by="family",
                  method="bootstrap", bootstrap=n_boot)
    assert list(fc.groups["status"]) == ["ok", "too_few_converged"]
    assert fc.groups["message"][1] == ("1 of 4 bootstrap refits converged; a forecast needs "
                                       "at least 2")
    assert np.isnan(fc.samples[0]).all() and np.isnan(fc.table.iloc[0, 3:]).all()
    assert np.isfinite(fc.samples[1]).all() and fc.table["median"][1] < 3.0


def test_backtests_cut_along_the_input_the_forecast_extrapolates():
    """The default backtest axis: the one input along which targets go beyond their own
    group's training data (each target judged against its group), else the product."""
    from lawfit.bayes._forecast import _extrapolated_axis
    from lawfit.data import GroupedData

    train = pd.DataFrame({"family": ["a"] * 4 + ["b"] * 4, "N": [1e7, 1e7, 1e8, 1e8] * 2,
                          "D": [1e9, 1e10] * 4, "loss": 3.0})
    law = lawfit.laws.get("chinchilla")
    grouped = GroupedData.from_frame(train, {"N": "N", "D": "D"}, "loss", by=["family"],
                                     positive_inputs=law.positive_inputs)

    def axis(family, n, d):
        at = pd.DataFrame({"family": family, "N": n, "D": d})
        return _extrapolated_axis(law, grouped, at, {"N": at["N"].to_numpy(float),
                                                     "D": at["D"].to_numpy(float)})

    assert axis(["a", "b"], [1e9, 1e8], [1e10, 1e9]) == "N"  # the largest model left out
    assert axis(["b"], [1e8], [1e11]) == "D"
    assert axis(["a", "b"], [1e9, 1e8], [1e10, 1e11]) == "product"  # each beyond in one
    assert axis(["a"], [1e8], [1e10]) == "product"  # inside the data
    power = lawfit.laws.get("power_law")
    one = GroupedData.from_frame(train, {"x": "N"}, "loss", positive_inputs=power.positive_inputs,
                                 duplicates="keep")
    assert _extrapolated_axis(power, one, train, {"x": train["N"].to_numpy(float)}) == "x"
