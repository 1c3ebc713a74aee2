"""The hierarchical model: its potential, argument checks, and recovery on simulated data."""

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import lawfit
from lawfit import InputError
from lawfit.bayes import (
    NUTS,
    Data,
    Laplace,
    Population,
    hierarchical_posterior,
    hierarchical_potential,
    hyper,
)
from lawfit.bayes._hierarchical_model import numpyro_hierarchical_potential
from lawfit.evaluate import simulate
from lawfit.laws import encode_inputs

XY = dict(x={"N": "N", "D": "D"}, y="loss")
SIZES = (3e7, 1e8, 3e8, 1e9)
TOKENS = (1e9, 4e9, 2e10, 1e11)
E_OF_DATA = {"web": 1.8, "code": 1.3}


def _family(params, seed, sizes=SIZES, noise=0.01):
    n, d = np.meshgrid(sizes, TOKENS)
    return simulate("chinchilla", params, {"N": n, "D": d}, noise=noise, seed=seed, y="loss")


@pytest.mark.parametrize("centred", [(), ("E", "beta")])
def test_potential_equals_numpyro(centred):
    law = lawfit.laws.get("chinchilla")
    pooled = ("E", "alpha", "beta")
    truth = dict(E=1.8, A=400.0, B=1500.0, alpha=0.34, beta=0.3)
    frames = [_family(truth, g, sizes=SIZES[: 4 - g]) for g in range(3)]
    width = max(len(f) for f in frames)
    xs = {n: np.ones((3, width)) for n in law.inputs}
    ys, mask = np.zeros((3, width)), np.zeros((3, width), bool)
    for g, f in enumerate(frames):
        pos = np.resize(np.arange(len(f)), width)
        for n in law.inputs:
            xs[n][g] = f[n].to_numpy()[pos]
        ys[g], mask[g, : len(f)] = np.log(f["loss"].to_numpy()[pos]), True
    hypers = [hyper(law, np.log(f[["N", "D"]].to_numpy()).mean(0)) for f in frames]
    h = type(hypers[0])(*(jnp.asarray(np.stack(v)) for v in zip(*hypers, strict=True)))
    data = Data(encode_inputs(law, {n: jnp.asarray(v) for n, v in xs.items()}), jnp.asarray(ys),
                jnp.asarray(mask))
    e_cluster = np.array([0, 1, 1])
    pop = Population(
        (jnp.asarray(e_cluster), jnp.zeros(3, int), jnp.zeros(3, int)),
        (jnp.full(2, np.log(1.8)), jnp.full(1, np.log(0.33)), jnp.full(1, np.log(0.33))),
        (jnp.full(2, 0.5), jnp.full(1, 0.5), jnp.full(1, 0.5)),
        jnp.zeros(3), jnp.full(3, jnp.inf), jnp.full(3, 0.3),
    )
    dim = 4 + 3 + 3 * 7
    rng = np.random.default_rng(0)
    for _ in range(3):
        w = jnp.asarray(rng.normal(size=dim) * 0.5)
        ours = hierarchical_potential(law, pooled, centred)(w, data, h, pop)
        theirs = numpyro_hierarchical_potential(law, pooled, centred, w, data, h, pop)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        (dict(pool=["gamma"]), "pool"),
        (dict(pool=["A", "alpha"]), "pool"),
        (dict(pool=[]), "pool"),
        (dict(cluster={"A": "data"}), "cluster"),
        (dict(cluster={"E": "tokenizer"}), "cluster"),
        (dict(cluster={"E": "varies"}), "cluster"),
        (dict(by="data", cluster=None), "by"),
        (dict(by=None), "by"),
        (dict(population_scale=0.0), "population_scale"),
        (dict(priors={"gamma": lawfit.Prior("normal", 0.0, 1.0)}), "priors"),
        (dict(sampler=Laplace()), "sampler"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, argument):
    frame = pd.concat([_family(dict(E=1.8, A=400.0, B=1500.0, alpha=0.34, beta=0.3), g)
                       .assign(family=f"f{g}", data="web") for g in range(2)], ignore_index=True)
    frame["varies"] = np.arange(len(frame)) % 2
    kwargs = dict(dict(by="family", cluster={"E": "data"}), **kwargs)
    with pytest.raises(InputError, match=rf"^{argument}\b"):
        hierarchical_posterior(frame, "chinchilla", **XY, **kwargs)


def _population_frame(seed=0):
    """8 families: exponents from lognormal populations, A and B varied, E shared within
    two data sets; family f0 has only 2 model sizes."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for g in range(8):
        data = "web" if g % 2 == 0 else "code"
        params = dict(
            E=E_OF_DATA[data],
            A=400.0 * np.exp(0.3 * rng.normal()),
            B=1500.0 * np.exp(0.3 * rng.normal()),
            alpha=float(np.exp(np.log(0.33) + 0.1 * rng.normal())),
            beta=float(np.exp(np.log(0.30) + 0.1 * rng.normal())),
        )
        sizes = SIZES[:2] if g == 0 else SIZES
        noise = 0.005 if g % 4 < 2 else 0.01
        rows.append(_family(params, 100 + g, sizes=sizes, noise=noise)
                    .assign(family=f"f{g}", data=data))
        truth.append(dict(params, family=f"f{g}"))
    return pd.concat(rows, ignore_index=True), pd.DataFrame(truth)


# Trees up to depth 10: at the default 8 the funnel's chains stopped mixing (R-hat 1.13,
# 3 divergent transitions) once the MAP starts moved by rounding (CI of 2026-12-03, after the
# fitting kernel lost its tail compaction); deeper trees are the documented cure.
SETTINGS = NUTS(chains=4, warmup=1000, samples=300, max_tree_depth=10)


@pytest.fixture(scope="module")
def recovered():
    frame, truth = _population_frame()
    # float64: in float32 one chain of four got stuck in the funnel (R-hat 2.0, 8 divergent
    # transitions, CI of 2026-12-03); in float64 all mix (R-hat <= 1.03)
    post = hierarchical_posterior(frame, "chinchilla", **XY, by="family",
                                  cluster={"E": "data"}, sampler=SETTINGS, precision="float64")
    alone = lawfit.posterior(frame[frame["family"] == "f0"], "chinchilla", **XY, sampler=SETTINGS,
                             precision="float64")
    return post, alone, truth


@pytest.mark.slow
def test_hierarchical_recovers_population_draws(recovered):
    post, _, truth = recovered
    table = post.params
    print(table[["family", "alpha_lo", "alpha_hi", "beta_lo", "beta_hi", "E_lo", "E_hi",
                 "r_hat", "ess_bulk", "divergences", "status"]].to_string())
    inside = [
        (table[f"{p}_lo"] < truth[p]) & (truth[p] < table[f"{p}_hi"])
        for p in ("alpha", "beta", "E")
    ]
    n_inside = int(np.sum(np.concatenate(inside)))
    print(f"true values inside 95% intervals: {n_inside} of 24")
    assert (table["status"] == "ok").all(), table[["r_hat", "ess_bulk", "divergences"]]
    # consistent with 95% coverage at the 1% level: P(Binomial(24, 0.95) <= 19) = 0.006
    assert n_inside >= 20
    assert list(table["E_cluster"]) == [1, 0] * 4  # clusters numbered in sorted order
    assert post.population["E"].shape == (2, 4, 300)
    assert post.population["alpha_scale"].shape == (4, 300)
    print({name: np.median(v) for name, v in post.population.items() if name.endswith("scale")})
    centre = np.median(post.population["E"].reshape(2, -1), axis=1)
    np.testing.assert_allclose(centre, [E_OF_DATA["code"], E_OF_DATA["web"]], rtol=0.05)


@pytest.mark.slow
def test_hierarchical_borrows_strength(recovered):
    """Family f0 has 2 model sizes: alone, its alpha is barely identified; pooled, its
    interval shrinks toward the population's."""
    post, alone, _ = recovered
    pooled = post.params.set_index("family").loc["f0"]
    single = alone.params.iloc[0]
    width = pooled["alpha_hi"] - pooled["alpha_lo"]
    assert width < single["alpha_hi"] - single["alpha_lo"], (width, single)
