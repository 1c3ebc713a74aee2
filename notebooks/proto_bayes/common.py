"""Shared pieces of the calibrated-forecast prototype (lawfit, notebooks/proto_bayes).

Everything works on y = log(loss).  The law is the Chinchilla form written with pivots:

    mu(N, D) = logsumexp(log E,  log A' - alpha * (log N - log N0),  log B' - beta * (log D - log D0))

with N0, D0 the geometric means of the *training* N and D, so A' and B' are the reducible-loss
terms at the pivot (A = A' N0^alpha, B = B' D0^beta).  All five parameters are sampled in
unconstrained (log) space.

Predictive for a target point x*:

    log L* = mu_s(x*) + u_new + delta + eps
    u_new ~ N(0, tau_u_s)                  (new-model offset; only with per-model random effects)
    delta ~ N(0, tau0 + kappa * d(x*))     (discrepancy; d = decades beyond the training box)
    eps   ~ StudentT(nu_s, 0, sigma_s)     (point noise; Normal in the naive model)

u_new and delta are drawn once per draw and shared by all checkpoints of one target model, eps
per point.  (tau0, kappa) are *not* fitted on the target: they come from `learn_discrepancy`, a
maximum-log-score fit on backtests built from training data only.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
from numpyro.infer import MCMC, NUTS
from scipy import optimize, special, stats

jax.config.update("jax_enable_x64", os.environ.get("PROTO_X64", "0") == "1")
numpyro.set_host_device_count(1)

CHIN_CSV = "/work/shared/corpora/chinchilla/svg_extracted_data.csv"
COLPRET_PARQUET = "/work/shared/corpora/hitchhiker/hitchhiker_perf.parquet"
LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
LN10 = np.log(10.0)


# ----------------------------------------------------------------------------- data


def load_chinchilla() -> pd.DataFrame:
    df = pd.read_csv(CHIN_CSV)
    df = df[df.loss < sorted(df.loss)[-5]].copy()  # Epoch's outlier rule -> 240 rows
    out = pd.DataFrame(
        {
            "N": df["Model Size"].to_numpy(float),
            "C": df["Training FLOP"].to_numpy(float),
            "loss": df["loss"].to_numpy(float),
        }
    )
    out["D"] = out.C / (6 * out.N)
    out["model"] = np.arange(len(out))  # every Chinchilla point is its own run
    return out.reset_index(drop=True)


def load_colpret(min_tokens: float = 0.0) -> dict[str, pd.DataFrame]:
    """Families (scaled_set) with >= 3 distinct sizes. Columns N, D, C, loss, model (int id)."""
    df = pd.read_parquet(COLPRET_PARQUET)
    df = df[df.scaled_set.notna() & df.perf.notna() & (df.perf > 0)]
    fams = {}
    for fam, g in df.groupby("scaled_set"):
        if g.num_params.nunique() < 3:
            continue
        g = g[g.tokens_seen >= min_tokens]
        out = pd.DataFrame(
            {
                "N": g.num_params.to_numpy(float),
                "D": g.tokens_seen.to_numpy(float),
                "loss": g.perf.to_numpy(float),
                "name": g.model_name.to_numpy(),
            }
        )
        out["C"] = 6 * out.N * out.D
        # one "model" = one size within the family (several names share a size only in
        # chinchilla/overtrain, where each is a separate single-point run; keep names there)
        out["model"] = pd.factorize(out["name"])[0]
        fams[fam] = out.sort_values(["N", "D"]).reset_index(drop=True)
    return fams


def thin_checkpoints(df: pd.DataFrame, k: int, rng: np.random.Generator | None = None):
    """Keep at most k checkpoints per model, evenly spaced in log D (always keeps the last)."""
    keep = []
    for _, g in df.groupby("model"):
        if len(g) <= k:
            keep.append(g.index.to_numpy())
            continue
        ld = np.log(g.D.to_numpy())
        grid = np.linspace(ld.min(), ld.max(), k)
        idx = np.unique(np.abs(ld[:, None] - grid[None, :]).argmin(0))
        keep.append(g.index.to_numpy()[idx])
    return df.loc[np.sort(np.concatenate(keep))]


# ----------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Cfg:
    name: str
    likelihood: str = "normal"  # "normal" | "studentt"
    random_effects: bool = False  # per-model offset u_m ~ N(0, tau_u)
    # noise model: "" (homoscedastic) | "C": log sigma linear in log10 C | "plane": linear in
    # log10 N and log10 D | "ratio": plane + quadratic in log10(D/N) (misfit away from the
    # compute-optimal ridge).  All coordinates are decades from the training pivots.
    hetero: str = ""
    discrepancy: bool = False  # add backtest-learned tau0 + kappa * d at prediction time
    # prior scales
    exp_sd: float = 0.5
    e_sd: float = 0.5
    coef_sd: float = 1.5
    sigma_scale: float = 0.05
    tau_u_scale: float = 0.05


PAD_SIZES = (64, 128, 256, 512, 1024)
M_PAD = 48


def _pad(n):
    for p in PAD_SIZES:
        if n <= p:
            return p
    raise ValueError(n)


@dataclass
class Prepared:
    args: dict
    logN0: float
    logD0: float
    n: int
    n_models: int
    model_ids: np.ndarray  # original model id per row
    y_min: float
    train_max: dict = field(default_factory=dict)


def prepare(train: pd.DataFrame) -> Prepared:
    """Arrays (padded to a bucket size so NUTS is compiled once per bucket) and priors' centres."""
    n = len(train)
    P = _pad(n)
    logN = np.log(train.N.to_numpy())
    logD = np.log(train.D.to_numpy())
    y = np.log(train.loss.to_numpy())
    logN0, logD0 = logN.mean(), logD.mean()
    mids, inv = np.unique(train.model.to_numpy(), return_inverse=True)
    if len(mids) > M_PAD:  # many single-point runs (Chinchilla): random effects are not used
        inv = np.zeros(n, int)
    lc = np.log10(6.0) + (logN + logD) / LN10
    lmin = float(train.loss.min())
    lmed = float(np.median(train.loss))
    e_loc = np.log(0.8 * lmin)
    red = max(lmed - 0.8 * lmin, 0.05 * lmed)
    coef_loc = np.log(0.5 * red)

    def pad(a, v=0.0):
        return np.concatenate([a, np.full(P - n, v, dtype=np.asarray(a).dtype)])

    args = dict(
        xn=jnp.asarray(pad(logN - logN0)),
        xd=jnp.asarray(pad(logD - logD0)),
        xc=jnp.asarray(pad(lc - lc.mean())),
        y=jnp.asarray(pad(y, y.mean())),
        mask=jnp.asarray(pad(np.ones(n, bool), False)),
        mid=jnp.asarray(pad(inv.astype(np.int32), 0)),
        e_loc=jnp.asarray(e_loc),
        coef_loc=jnp.asarray(coef_loc),
    )
    prep = Prepared(args, logN0, logD0, n, int(inv.max()) + 1, mids, lmin)
    prep.train_max = dict(
        N=np.log10(train.N.max()), D=np.log10(train.D.max()), C=np.log10(train.C.max())
    )
    prep.lc_mean = lc.mean()
    return prep


def mu_fn(p, xn, xd):
    return jnp.logaddexp(
        jnp.logaddexp(p["logE"], p["logA"] - p["alpha"] * xn), p["logB"] - p["beta"] * xd
    )


def _log_noise_mult(cfg, un, ud, uc, sample=False, draws=None):
    """log(sigma(x)/sigma0); un, ud, uc in decades from the training pivots."""
    def g(name):
        if sample:
            return numpyro.sample(name, dist.Normal(0.0, 0.5))
        return draws[name][:, None]

    if cfg.hetero == "":
        return 0.0 * un
    if cfg.hetero == "C":
        return g("gamma") * uc
    out = g("gamma_N") * un + g("gamma_D") * ud
    if cfg.hetero == "ratio":
        rr = ud - un  # log10(D/N) minus its value at the pivot
        out = out + g("gamma_r") * rr**2
    return out


def make_model(cfg: Cfg):
    def model(xn, xd, xc, y, mask, mid, e_loc, coef_loc):
        logE = numpyro.sample("logE", dist.Normal(e_loc, cfg.e_sd))
        logA = numpyro.sample("logA", dist.Normal(coef_loc, cfg.coef_sd))
        logB = numpyro.sample("logB", dist.Normal(coef_loc, cfg.coef_sd))
        log_alpha = numpyro.sample("log_alpha", dist.Normal(np.log(0.33), cfg.exp_sd))
        log_beta = numpyro.sample("log_beta", dist.Normal(np.log(0.33), cfg.exp_sd))
        p = dict(logE=logE, logA=logA, logB=logB, alpha=jnp.exp(log_alpha), beta=jnp.exp(log_beta))
        mu = mu_fn(p, xn, xd)
        sigma = numpyro.sample("sigma", dist.HalfNormal(cfg.sigma_scale))
        scale = sigma * jnp.exp(_log_noise_mult(cfg, xn / LN10, xd / LN10, xc, sample=True))
        if cfg.random_effects:
            tau_u = numpyro.sample("tau_u", dist.HalfNormal(cfg.tau_u_scale))
            z = numpyro.sample("z", dist.Normal(0.0, 1.0).expand([M_PAD]).to_event(1))
            mu = mu + tau_u * z[mid]
        if cfg.likelihood == "studentt":
            nu = numpyro.sample("nu", dist.Gamma(2.0, 0.1))
            lik = dist.StudentT(nu + 1.0, mu, scale)  # nu + 1 > 1 keeps the mean finite
        else:
            lik = dist.Normal(mu, scale)
        with numpyro.handlers.mask(mask=mask):
            numpyro.sample("obs", lik, obs=y)

    return model


_RUNNERS: dict = {}


def _init_unconstrained(cfg: Cfg, args) -> dict:
    """Start every chain near the prior centre (jittered per chain in `fit_nuts`)."""
    z = dict(logE=float(args["e_loc"]), logA=float(args["coef_loc"]), logB=float(args["coef_loc"]),
             log_alpha=np.log(0.33), log_beta=np.log(0.33), sigma=np.log(0.01))
    for k in {"": [], "C": ["gamma"], "plane": ["gamma_N", "gamma_D"],
              "ratio": ["gamma_N", "gamma_D", "gamma_r"]}[cfg.hetero]:
        z[k] = 0.0
    if cfg.random_effects:
        z["tau_u"] = np.log(0.01)
        z["z"] = np.zeros(M_PAD)
    if cfg.likelihood == "studentt":
        z["nu"] = np.log(5.0)
    return z


def _get_runner(cfg: Cfg, args, chains, warmup, samples):
    """A jitted function (keys, init, args) -> draws, compiled once per (cfg, padded size).

    numpyro's MCMC re-jits its collection loop at every .run() (about 6 s here), so we drive the
    functional NUTS kernel (numpyro.infer.hmc.hmc) ourselves inside one jax.jit(vmap(scan))."""
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import initialize_model

    key = (cfg, int(args["y"].shape[0]), chains, warmup, samples)
    if key in _RUNNERS:
        return _RUNNERS[key]
    model = make_model(cfg)
    _, pot_gen, post_gen, _ = initialize_model(jax.random.PRNGKey(0), model, dynamic_args=True,
                                               model_kwargs=args)
    init_kernel, sample_kernel = hmc(potential_fn_gen=pot_gen, algo="NUTS")

    def one_chain(rng, z0, a):
        state = init_kernel(z0, warmup, dense_mass=True, target_accept_prob=0.9,
                            max_tree_depth=8, model_kwargs=a, rng_key=rng)

        def body(st, _):
            st = sample_kernel(st, model_kwargs=a)
            return st, (st.z, st.diverging, st.num_steps)

        state, (zs, div, ns) = jax.lax.scan(body, state, None, length=warmup + samples)
        zs = jax.tree.map(lambda x: x[warmup:], zs)
        cons = jax.vmap(post_gen(**a))(zs)
        return cons, div[warmup:], ns[warmup:]

    run = jax.jit(jax.vmap(one_chain, in_axes=(0, 0, None)))
    _RUNNERS[key] = run
    return run


def fit_nuts(cfg: Cfg, prep: Prepared, seed=0, chains=4, warmup=500, samples=500):
    """NUTS (dense mass, target accept 0.9), `chains` vectorised chains."""
    run = _get_runner(cfg, prep.args, chains, warmup, samples)
    rng = np.random.default_rng(seed)
    z0 = _init_unconstrained(cfg, prep.args)
    z0 = {k: jnp.asarray(np.asarray(v, np.float32)[None] + 0.1 * rng.standard_normal(
        (chains,) + np.shape(v)), dtype=jnp.float32) for k, v in z0.items()}
    t0 = time.time()
    cons, div, ns = run(jax.random.split(jax.random.PRNGKey(seed), chains), z0, prep.args)
    draws = {k: np.asarray(v) for k, v in cons.items()}
    elapsed = time.time() - t0
    diag = diagnostics(draws)
    diag.update(divergences=int(np.asarray(div).sum()), seconds=elapsed,
                mean_steps=float(np.asarray(ns).mean()))
    flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in draws.items()}
    return flat, diag


def diagnostics(draws_by_chain):
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    rh, ess = [], []
    for k, v in draws_by_chain.items():
        if k == "z":  # padded random effects; report only the used ones via tau_u
            continue
        rh.append(float(np.nanmax(split_gelman_rubin(v))))
        ess.append(float(np.nanmin(effective_sample_size(v))))
    return dict(rhat_max=max(rh), ess_min=min(ess))


def law_mean(draws, prep: Prepared, N, D):
    """(S, n) draws of mu at targets."""
    xn = np.log(N)[None, :] - prep.logN0
    xd = np.log(D)[None, :] - prep.logD0
    a = np.exp(draws["log_alpha"])[:, None]
    b = np.exp(draws["log_beta"])[:, None]
    t = np.stack(
        [np.broadcast_to(draws["logE"][:, None], (len(a), xn.shape[1])),
         draws["logA"][:, None] - a * xn, draws["logB"][:, None] - b * xd]
    )
    return special.logsumexp(t, axis=0)


def distance(prep: Prepared, N, D):
    """Decades beyond the training box along N, D or C (0 inside it)."""
    lN, lD = np.log10(N), np.log10(D)
    lC = np.log10(6.0) + lN + lD
    tm = prep.train_max
    return np.maximum.reduce([np.zeros_like(lN), lN - tm["N"], lD - tm["D"], lC - tm["C"]])


def predictive_parts(draws, prep: Prepared, cfg: Cfg, N, D):
    """Per-draw location (S,n), point-noise scale (S,n), df (S,) and new-model offset sd (S,)."""
    mu = law_mean(draws, prep, N, D)
    S = mu.shape[0]
    scale = np.broadcast_to(draws["sigma"][:, None], mu.shape).copy()
    un = ((np.log(N) - prep.logN0) / LN10)[None, :]
    ud = ((np.log(D) - prep.logD0) / LN10)[None, :]
    uc = (np.log10(6.0 * N * D) - prep.lc_mean)[None, :]
    scale = scale * np.exp(_log_noise_mult(cfg, un, ud, uc, draws=draws))
    df = draws["nu"] + 1.0 if cfg.likelihood == "studentt" else np.full(S, np.inf)
    tau_u = draws["tau_u"] if cfg.random_effects else np.zeros(S)
    return mu, scale, df, tau_u


def sample_predictive(parts, tau_d, groups, rng=None, per_draw=1):
    """Samples (S*per_draw, n) of log-loss.  tau_d: (n,) discrepancy sd (see disc_sd).
    The new-model offset and the discrepancy are shared within `groups` (a target model)."""
    rng = rng or np.random.default_rng(0)
    mu, scale, df, tau_u = parts
    mu = np.repeat(mu, per_draw, 0)
    scale = np.repeat(scale, per_draw, 0)
    df = np.repeat(df, per_draw, 0)
    tau_u = np.repeat(tau_u, per_draw, 0)
    S, n = mu.shape
    gids, ginv = np.unique(groups, return_inverse=True)
    zg = rng.standard_normal((S, len(gids)))[:, ginv]
    zd = rng.standard_normal((S, len(gids)))[:, ginv]
    tau_d = np.asarray(tau_d)[None, :]
    if np.isinf(df).all():
        eps = rng.standard_normal((S, n))
    else:
        eps = rng.standard_t(df[:, None], size=(S, n))
    return mu + tau_u[:, None] * zg + tau_d * zd + scale * eps


def disc_sd(disc: dict | None, d, a=None):
    """Discrepancy sd: (tau0 + kappa * d) * exp(lam * a).

    d: decades beyond the training box; a: optional absolute position of the target (e.g. log10 C
    minus a fixed reference), so the discrepancy may grow with scale itself (lam, default 0)."""
    if not disc:
        return np.zeros_like(d)
    out = disc["tau0"] + disc["kappa"] * d
    if disc.get("lam", 0.0) and a is not None:
        out = out * np.exp(disc["lam"] * a)
    return out


def approx_logpdf(parts, y, tau_d):
    """log mean_s p(y | draw s), offsets folded into the scale (StudentT with inflated scale)."""
    mu, scale, df, tau_u = parts
    tot = np.sqrt(scale**2 + tau_u[:, None] ** 2 + tau_d[None, :] ** 2)
    dfb = np.broadcast_to(df[:, None], mu.shape)
    lp = np.where(
        np.isinf(dfb),
        stats.norm.logpdf(y[None, :], mu, tot),
        stats.t.logpdf(y[None, :], np.where(np.isinf(dfb), 1.0, dfb), mu, tot),
    )
    return special.logsumexp(lp, axis=0) - np.log(mu.shape[0])


def learn_discrepancy(backtests, weights=None, thin=200, with_lam=False):
    """Maximum weighted log score of the backtest points over tau0, kappa >= 0 (and lam).

    backtests: list of (parts, d, y) or (parts, d, y, a); weights: one per backtest (each point
    of backtest b gets weight w_b / n_b).  Returns the fitted dict and log scores with and
    without the term."""
    if weights is None:
        weights = np.ones(len(backtests))
    th = []
    for rec in backtests:
        parts, d, y = rec[:3]
        a = rec[3] if len(rec) > 3 else np.zeros_like(d)
        mu, scale, df, tau_u = parts
        S = mu.shape[0]
        idx = np.linspace(0, S - 1, min(thin, S)).astype(int)
        th.append(((mu[idx], scale[idx], df[idx], tau_u[idx]), d, y, a))

    def unpack(theta):
        disc = dict(tau0=float(np.exp(theta[0])), kappa=float(np.exp(theta[1])))
        disc["lam"] = float(theta[2]) if with_lam else 0.0
        return disc

    def score(theta):
        disc = unpack(theta)
        tot = 0.0
        for (parts, d, y, a), w in zip(th, weights):
            tot += w * approx_logpdf(parts, y, disc_sd(disc, d, a)).mean()
        return -tot

    best = None
    for t0 in (1e-3, 1e-2, 3e-2):
        for k0 in (1e-3, 1e-2, 5e-2):
            x0 = [np.log(t0), np.log(k0)] + ([0.0] if with_lam else [])
            r = optimize.minimize(score, x0, method="Nelder-Mead",
                                  options=dict(xatol=1e-3, fatol=1e-6, maxiter=600))
            if best is None or r.fun < best.fun:
                best = r
    disc = unpack(best.x)
    disc["logscore"] = -float(best.fun)
    disc["logscore_none"] = -score(np.array([-30.0, -30.0] + ([0.0] if with_lam else [])))
    return disc


# ----------------------------------------------------------------------------- metrics


def crps_samples(samples, y):
    """CRPS per point from samples (S, n) via the sorted-sample formula."""
    s = np.sort(samples, axis=0)
    S = s.shape[0]
    t1 = np.abs(s - y[None, :]).mean(0)
    i = np.arange(1, S + 1)[:, None]
    t2 = (2 * (2 * i - S - 1) * s).sum(0) / (S * S)  # = E|X - X'|
    return t1 - 0.5 * t2


def point_metrics(log_samples, loss):
    """Per-point quantities; log_samples (S, n) of log-loss, loss (n,) observed."""
    y = np.log(loss)
    out = {}
    for lv in LEVELS:
        lo, hi = np.quantile(log_samples, [(1 - lv) / 2, (1 + lv) / 2], axis=0)
        out[f"cov{lv}"] = ((y >= lo) & (y <= hi)).astype(float)
        out[f"wid{lv}"] = np.exp(hi) - np.exp(lo)
        out[f"rwid{lv}"] = (np.exp(hi) - np.exp(lo)) / loss
    med = np.exp(np.median(log_samples, axis=0))
    out["are"] = np.abs(loss - med) / loss
    out["crps"] = crps_samples(np.exp(log_samples), loss)  # loss units
    out["rcrps"] = out["crps"] / loss  # relative
    out["pit"] = (log_samples < y[None, :]).mean(0)
    return pd.DataFrame(out)


def summarise(pm: pd.DataFrame, w=None) -> dict:
    """Weighted summary (w: per-point weights, e.g. 1/n_family for family-equal weighting)."""
    w = np.ones(len(pm)) if w is None else np.asarray(w, float)
    w = w / w.sum()
    res = {}
    for lv in LEVELS:
        res[f"cov{int(lv * 100)}"] = float((w * pm[f"cov{lv}"]).sum())
    res["mean|dcov|"] = float(np.mean([abs(res[f"cov{k}"] - k / 100) for k in (50, 80, 95)]))
    res["MSCE"] = float(np.mean([(res[f"cov{int(lv * 100)}"] - lv) ** 2 for lv in LEVELS]))
    o = np.argsort(pm["are"].to_numpy())
    cw = np.cumsum(w[o])
    res["medARE%"] = 100 * float(pm["are"].to_numpy()[o][np.searchsorted(cw, 0.5)])
    res["CRPS"] = float((w * pm["crps"]).sum())
    res["rCRPS%"] = 100 * float((w * pm["rcrps"]).sum())
    res["wid80"] = float((w * pm["wid0.8"]).sum())
    res["wid95"] = float((w * pm["wid0.95"]).sum())
    res["rwid80%"] = 100 * float((w * pm["rwid0.8"]).sum())
    res["rwid95%"] = 100 * float((w * pm["rwid0.95"]).sum())
    return res


# ----------------------------------------------------------------------------- bootstrap


def _huber_obj(p, lN, lD, y, delta):
    a, b, e, al, be = p
    t = np.stack([a - al * lN, b - be * lD, np.full_like(lN, e)])
    m = special.logsumexp(t, axis=0)
    r = m - y
    w = np.exp(t - m[None])  # softmax weights, d m / d t
    dr = np.where(np.abs(r) <= delta, r, delta * np.sign(r))
    f = np.where(np.abs(r) <= delta, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta)).sum()
    g = np.array([(dr * w[0]).sum(), (dr * w[1]).sum(), (dr * w[2]).sum(),
                  (-dr * w[0] * lN).sum(), (-dr * w[1] * lD).sum()])
    return f, g


def huber_fit(lN, lD, y, starts, delta=1e-3):
    best = None
    for s in starts:
        r = optimize.minimize(_huber_obj, s, args=(lN, lD, y, delta), jac=True, method="L-BFGS-B",
                              bounds=[(-20, 60), (-20, 60), (-5, 5), (0, 3), (0, 3)])
        if best is None or r.fun < best.fun:
            best = r
    return best.x


def default_starts(y):
    e0 = np.log(0.8 * np.exp(y.min()))
    return [np.array([a, b, e, al, be]) for a in (0, 5, 10, 20) for b in (0, 5, 10, 20)
            for e in (e0 - 1, e0) for al in (0.3, 0.7) for be in (0.3, 0.7)]


def bootstrap_predict(train: pd.DataFrame, N, D, B=200, seed=0, delta=1e-3):
    """Point bootstrap of the Huber fit (Hoffmann/Epoch recipe), plus a resampled training
    residual so the interval is a *predictive* interval.  Returns (B*per, n) log-loss samples."""
    rng = np.random.default_rng(seed)
    lN, lD, y = np.log(train.N.to_numpy()), np.log(train.D.to_numpy()), np.log(train.loss.to_numpy())
    full = huber_fit(lN, lD, y, default_starts(y), delta)
    preds = []
    for _ in range(B):
        i = rng.integers(0, len(y), len(y))
        p = huber_fit(lN[i], lD[i], y[i], [full], delta)
        a, b, e, al, be = p
        m_tr = special.logsumexp(np.stack([a - al * lN[i], b - be * lD[i], np.full(len(i), e)]), 0)
        res = y[i] - m_tr
        m = special.logsumexp(np.stack([a - al * np.log(N), b - be * np.log(D),
                                        np.full(len(N), e)]), 0)
        preds.append(m[None, :] + rng.choice(res, size=(5, 1)))  # same residual for a draw
    return np.concatenate(preds, 0), full


def fmt_table(rows: list[dict], cols) -> str:
    df = pd.DataFrame(rows)
    return df[[c for c in cols if c in df.columns]].to_string(index=False, float_format=lambda v: f"{v:.3f}")
