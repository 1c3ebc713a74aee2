"""The pandas front end of Bayesian fits: one posterior per group, all in one batched call."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from lawfit.bayes._diagnostics import SampleStatus, diagnose
from lawfit.bayes._laplace import laplace
from lawfit.bayes._model import Data, Hyper, hyper, log_mean, natural, pivoted, potential
from lawfit.bayes._nuts import nuts
from lawfit.data import InputError, check_columns
from lawfit.fit import fit as map_fit
from lawfit.laws import Law, Prior
from lawfit.laws import get as get_law

__all__ = ["Posterior", "posterior"]

_MAX_GRID = 512  # larger start grids (Hoffmann's 4,500) are replaced by Latin-hypercube starts


@dataclass(frozen=True)
class Posterior:
    """What :func:`posterior` returns.

    Attributes:
        law, x, y, by: what was fitted (``x`` maps law inputs to columns).
        groups: one row per group: the ``by`` columns, ``n_points``, ``r_hat`` (largest
            rank-normalised split R-hat over the unconstrained sites), ``ess_bulk`` (smallest),
            ``divergences``, ``status`` and ``message`` (see :class:`SampleStatus`).
        draws: ``param -> (G, C, S)`` natural-unit draws per group, chain and sample, plus
            ``sigma`` (noise sd on log loss) and ``df`` (its Student-t degrees of freedom).
        box: (G, I) log10 of the largest training value of each input, and of the inputs'
            product when there are several (compute, for N and D): the training range that
            forecasts measure extrapolation from.
        method: ``"nuts"`` or ``"laplace"``.
    """

    law: Law
    x: dict[str, str]
    y: str
    by: list[str]
    groups: pd.DataFrame
    draws: dict[str, np.ndarray] = field(repr=False)
    box: np.ndarray = field(repr=False)
    method: str = "nuts"

    def params(self, ci: float = 0.95) -> pd.DataFrame:
        """Per group: posterior median and central ``ci`` interval of each parameter, then
        the diagnostics columns of :attr:`groups`."""
        rows = self.groups[self.by].copy()
        for name in (*self.law.param_names, "sigma", "df"):
            flat = self.draws[name].reshape(len(rows), -1)
            rows[name] = np.median(flat, axis=1)
            rows[f"{name}_lo"] = np.quantile(flat, (1 - ci) / 2, axis=1)
            rows[f"{name}_hi"] = np.quantile(flat, (1 + ci) / 2, axis=1)
        diag = self.groups.drop(columns=self.by)
        return pd.concat([rows.reset_index(drop=True), diag.reset_index(drop=True)], axis=1)

    def group_index(self, frame: pd.DataFrame) -> np.ndarray:
        """The group of each row of ``frame`` (which needs the ``by`` columns)."""
        if not self.by:
            return np.zeros(len(frame), int)
        check_columns(frame, self.by, argument="by")
        keys = self.groups[self.by].assign(_g=np.arange(len(self.groups)))
        merged = frame[self.by].reset_index(drop=True).merge(keys, on=self.by, how="left")
        if merged["_g"].isna().any():
            missing = frame[self.by][merged["_g"].isna().to_numpy()].drop_duplicates().head(5)
            raise InputError(f"by: groups not in the posterior: {missing.to_dict('records')}")
        return merged["_g"].to_numpy(int)

    def to_arviz(self, group: int = 0):
        """One group's draws as an ``arviz.InferenceData`` (needs the ``arviz`` package)."""
        try:
            import arviz as az
        except ImportError:  # pragma: no cover - arviz is in the dev extra
            raise ImportError(
                "to_arviz needs arviz: pip install arviz (or lawfit[dev])"
            ) from None
        posterior_ = {name: np.asarray(v[group]) for name, v in self.draws.items()}
        return az.from_dict(posterior=posterior_)


def _prior_median(p) -> float:
    prior = p.prior
    if prior.family == "lognormal":
        return math.exp(prior.loc)
    if prior.family == "uniform":
        return 0.5 * (prior.loc + prior.scale)
    return prior.loc


def _bucket(n: int) -> int:
    return max(8, 1 << max(0, math.ceil(math.log2(max(n, 1)))))


def posterior(
    data: pd.DataFrame,
    law: str | Law,
    x: Mapping[str, str] | str,
    y: str,
    *,
    by: str | Sequence[str] | None = None,
    priors: Mapping[str, Prior] | None = None,
    method: str = "nuts",
    chains: int = 4,
    warmup: int = 500,
    samples: int = 500,
    max_tree_depth: int = 8,
    target_accept: float = 0.9,
    noise: float = 0.05,
    seed: int = 0,
    precision: str = "float32",
) -> Posterior:
    """Posteriors of ``law`` on log ``y``, one per group of ``by``, in one batched call.

    The model is :func:`lawfit.bayes.make_model` (the spec's priors, Student-t noise on log
    loss, pivots at each group's geometric means). Each group's mode and Laplace approximation
    start from lawfit's MAP fit (Huber on log loss) and from the prior medians; NUTS then runs
    ``chains`` chains from Laplace draws, preconditioned by it.

    Args:
        data, law, x, y, by: as in :func:`lawfit.fit` (validated the same way).
        priors: parameter -> :class:`lawfit.Prior` replacing the spec's (same family), e.g.
            empirical-Bayes priors from other families (:func:`lawfit.bayes.borrowed_priors`).
        method: ``"nuts"`` or ``"laplace"`` (draws from the Laplace approximation: fast, for
            a first look; its intervals are not calibrated).
        chains, warmup, samples, max_tree_depth, target_accept: NUTS settings.
        noise: HalfNormal scale of the noise sd on log loss.
        seed: PRNG seed; precision: ``"float32"`` (default) or ``"float64"``.
    """
    law_ = get_law(law) if isinstance(law, (str, Law)) else law
    if method not in ("nuts", "laplace"):
        raise InputError(f"method must be 'nuts' or 'laplace'; got {method!r}")
    if precision not in ("float32", "float64"):
        raise InputError(f"precision must be 'float32' or 'float64'; got {precision!r}")
    for name, value in (("chains", chains), ("warmup", warmup), ("samples", samples)):
        if not (isinstance(value, int) and value >= (2 if name == "samples" else 1)):
            raise InputError(f"{name} must be a positive integer; got {value!r}")
    if not 0 < target_accept < 1:
        raise InputError(f"target_accept must be in (0, 1); got {target_accept!r}")
    unknown = set(priors or {}) - set(law_.param_names)
    if unknown:
        raise InputError(f"priors: {sorted(unknown)} are not parameters of {law_.name!r}")
    starts = "grid" if len(law_.start_grid()) <= _MAX_GRID else 64
    fitted = map_fit(data, law_, x, y, by=by, starts=starts, duplicates="keep", seed=seed)
    by_cols = fitted.by
    frame = data.reset_index(drop=True)
    if by_cols:
        index_of = list(frame.groupby(by_cols, sort=True, dropna=False).indices.values())
    else:
        index_of = [np.arange(len(frame))]
    inputs = {n: pd.to_numeric(frame[c]).to_numpy(float) for n, c in fitted.x.items()}
    obs = np.log(pd.to_numeric(frame[y]).to_numpy(float))

    n_groups, k = len(index_of), len(law_.params)
    g_pad, p_pad = _bucket(n_groups), _bucket(max(len(i) for i in index_of))
    xs = {n: np.ones((g_pad, p_pad)) for n in law_.inputs}
    ys, mask = np.zeros((g_pad, p_pad)), np.zeros((g_pad, p_pad), bool)
    hypers, box = [], np.zeros((n_groups, len(law_.inputs) + (len(law_.inputs) > 1)))
    for g in range(g_pad):
        idx = index_of[min(g, n_groups - 1)]
        pos = np.resize(np.arange(len(idx)), p_pad)  # padding repeats real points
        for n in law_.inputs:
            xs[n][g] = inputs[n][idx][pos]
        ys[g] = obs[idx][pos]
        mask[g, : len(idx)] = g < n_groups
        logs = np.stack([np.log(inputs[n][idx]) for n in law_.inputs])
        hypers.append(hyper(law_, logs.mean(axis=1), priors, noise))
        if g < n_groups:
            tops = list(logs.max(axis=1)) + ([logs.sum(axis=0).max()] if len(logs) > 1 else [])
            box[g] = np.asarray(tops) / math.log(10.0)
    h = Hyper(*(np.stack(v) for v in zip(*hypers, strict=True)))

    theta_map = fitted.params[list(law_.param_names)].to_numpy(float)
    theta_map = theta_map[np.minimum(np.arange(g_pad), n_groups - 1)]
    theta_prior = np.array([_prior_median(p) for p in law_.params])
    dtype = jnp.float64 if precision == "float64" else jnp.float32
    with jax.enable_x64(precision == "float64"):
        cast = lambda a: jnp.asarray(a, dtype) if np.asarray(a).dtype != bool else jnp.asarray(a)  # noqa: E731
        d = Data({n: cast(v) for n, v in xs.items()}, cast(ys), jnp.asarray(mask))
        h = Hyper(*(cast(v) for v in h))
        resid = ys - np.asarray(jax.vmap(lambda t, xg: log_mean(law_, t, xg))(
            jnp.asarray(np.nan_to_num(theta_map, nan=1.0)), d.x))
        scale = np.array([np.median(np.abs(r[m] - np.median(r[m]))) for r, m in zip(resid, mask, strict=True)])
        noise0 = np.log(np.clip(1.4826 * np.nan_to_num(scale, nan=noise), 1e-3, 1.0))
        u_map = np.asarray(pivoted(law_, jnp.asarray(np.nan_to_num(theta_map, nan=1.0), dtype), h))
        u_prior = np.asarray(pivoted(law_, jnp.broadcast_to(cast(theta_prior), (g_pad, k)), h))
        u_map = np.where(np.isfinite(theta_map), u_map, u_prior)
        tail = np.stack([noise0, np.full(g_pad, math.log(3.0))], axis=1)
        starts_ = np.stack([np.concatenate([u_map, tail], 1), np.concatenate([u_prior, tail], 1)], 1)
        pot = potential(law_)
        lap = laplace(pot, (d, h), cast(starts_))
        key = jax.random.key(seed)
        if method == "nuts":
            out = nuts(pot, (d, h), lap.mode, lap.sqrt_cov, key=key, chains=chains,
                       warmup=warmup, samples=samples, max_tree_depth=max_tree_depth,
                       target_accept=target_accept)
            z, diverging = np.asarray(out.z), np.asarray(out.diverging)
        else:
            w = jax.random.normal(key, (g_pad, chains, samples, k + 2), dtype)
            z = np.asarray(lap.mode[:, None, None] + jnp.einsum("gij,gcsj->gcsi", lap.sqrt_cov, w))
            diverging = np.zeros(z.shape[:3], bool)
        theta = np.asarray(jax.vmap(lambda zg, hg: natural(law_, zg[..., :k], hg)[0])(
            jnp.asarray(z), h))
    z, theta, diverging = z[:n_groups], theta[:n_groups], diverging[:n_groups]
    draws = {name: theta[..., j] for j, name in enumerate(law_.param_names)}
    draws["sigma"] = np.exp(z[..., k])
    draws["df"] = np.exp(z[..., k + 1]) + 2.0

    rows = []
    lap_ok = np.asarray(lap.ok)[:n_groups]
    for g in range(n_groups):
        if method == "nuts":
            r_hat, ess, n_div, status = diagnose(z[g], diverging[g])
        else:
            r_hat, ess, n_div = np.nan, np.nan, 0
            status = SampleStatus.OK if lap_ok[g] else SampleStatus.NONFINITE
        rows.append(dict(n_points=len(index_of[g]), r_hat=r_hat, ess_bulk=ess,
                         divergences=n_div, status=status.label, message=status.message))
    keys = fitted.params[by_cols].reset_index(drop=True)
    groups = pd.concat([keys, pd.DataFrame(rows)], axis=1)
    return Posterior(law_, dict(fitted.x), y, by_cols, groups, draws, box, method)
