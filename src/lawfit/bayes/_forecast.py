"""Forecasts: predictive intervals of the observation at target inputs.

Bayesian (default): for each posterior draw s and target x*,

    log L* = log f(theta_s; x*) + delta(x*) + sigma_s * t_{df_s},

delta the backtest-learned discrepancy (:mod:`lawfit.bayes._discrepancy`). The backtest
posteriors and the final ones are sampled together in one batched call. Bootstrap (for
comparison): Huber fits to resampled points, each plus a resampled training residual, the
Hoffmann / Besiroglu et al. recipe made predictive.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import jax
import numpy as np
import pandas as pd

from lawfit.bayes._discrepancy import Backtest, Discrepancy, learn_discrepancy, signed_distance
from lawfit.bayes._hierarchical import borrowed_priors
from lawfit.bayes._posterior import Posterior, group_key, posterior
from lawfit.data import InputError, check_choice, check_columns, numeric_column
from lawfit.fitting import fit as map_fit
from lawfit.fitting._api import _input_columns
from lawfit.laws import Law
from lawfit.laws import get as get_law

__all__ = [
    "Forecast",
    "NoBacktestWarning",
    "forecast",
    "forecast_table",
    "interval_columns",
    "predictive",
    "similar_group_priors",
]

LEVELS = (0.5, 0.8, 0.95)


class NoBacktestWarning(UserWarning):
    """Issued by :func:`forecast` when the training data leave no backtest, so the forecast
    has no discrepancy term and its intervals will be too narrow beyond the data."""


def interval_columns(levels: Sequence[float]) -> list[str]:
    """``lo_50, hi_50, ...`` for the levels, in order."""
    return [f"{side}_{_pct(level)}" for level in levels for side in ("lo", "hi")]


def _pct(level: float) -> str:
    text = f"{100 * level:.10g}"
    return text.replace(".", "_")


@dataclass(frozen=True)
class Forecast:
    """What :func:`forecast` returns.

    Attributes:
        table: one row per target row, in order: the target's columns, ``median``, then
            ``lo_XX, hi_XX`` per level (loss units).
        samples: (n_targets, M) predictive draws of log loss (what the table summarises).
        discrepancy: the learned :class:`Discrepancy` (zeros without one).
        posterior: the final posteriors (None for the bootstrap).
        backtests: one row per backtest: the group's ``by`` columns, group (its index), cut
            (log10 of the axis), points fitted and scored, the posterior's status.
        backtest_draws: one :class:`Backtest` per row of ``backtests`` (its draws and scored
            points), to learn a discrepancy from a subset of them, e.g. from the other groups
            only: ``learn_discrepancy([b for b, keep in zip(fc.backtest_draws, mask) if
            keep])``.
    """

    table: pd.DataFrame
    samples: np.ndarray = field(repr=False)
    discrepancy: Discrepancy
    posterior: Posterior | None = field(default=None, repr=False)
    backtests: pd.DataFrame | None = field(default=None, repr=False)
    backtest_draws: tuple[Backtest, ...] = field(default=(), repr=False)


def _axis_values(law: Law, x: dict, axis: str) -> np.ndarray:
    if axis == "product":
        return np.sum([np.log10(x[n]) for n in law.inputs], axis=0)
    return np.log10(x[axis])


def forecast(
    data: pd.DataFrame,
    law: str | Law,
    x: Mapping[str, str] | str,
    y: str,
    *,
    at: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    levels: Sequence[float] = LEVELS,
    method: str = "bayes",
    discrepancy: bool | Discrepancy = True,
    axis: str | None = None,
    cuts: Sequence[float] = (0.5, 1.0, 1.5),
    bootstrap: int = 400,
    per_draw: int = 4,
    group_priors: Mapping[object, Mapping] | None = None,
    borrow: str | Sequence[str] | None = None,
    seed: int = 0,
    **sampler,
) -> Forecast:
    """Predictive median and central intervals of ``y`` at the rows of ``at``.

    Args:
        data, law, x, y, by: the training data, as in :func:`lawfit.fit`; ``at`` has the same
            input columns (and ``by`` columns); each row is forecast from its group.
        levels: central interval levels in (0, 1).
        method: ``"bayes"`` (posterior predictive with the discrepancy) or ``"bootstrap"``.
        discrepancy: whether to add the backtest-learned discrepancy (False: the naive model),
            or a :class:`Discrepancy` to use as is (e.g. learned on other families).
        axis: the scale along which backtests cut the training data: an input name, or
            ``"product"`` (the inputs' product, compute for N and D; default for several
            inputs).
        cuts: backtest cuts, in decades below each group's largest ``axis`` value; each
            backtest fits the points below its cut and scores the next decade above it.
        bootstrap: resamples for ``method="bootstrap"``.
        per_draw: predictive draws per posterior draw.
        group_priors: group key -> {parameter: Prior}, priors for that group only (its
            backtests included), as in :func:`lawfit.bayes.posterior`.
        borrow: column(s), constant within each group, that declare groups similar (e.g.
            ``["data", "metric"]``): each group then gets empirical-Bayes priors on its
            exponents and E from the posteriors of the *other* groups sharing its values
            (:func:`similar_group_priors`; a group with fewer than two such donors whose
            chains mixed keeps the spec's priors); ``group_priors`` still win per parameter.
        seed: PRNG seed; ``sampler``: passed to :func:`lawfit.bayes.posterior`.
    """
    try:
        law = get_law(law)
    except ValueError as err:
        raise InputError(f"law: {err}") from None
    check_choice(method, ("bayes", "bootstrap"), argument="method")
    levels = [float(v) for v in levels]
    if not levels or any(not 0 < v < 1 for v in levels):
        raise InputError(f"levels must lie in (0, 1); got {levels}")
    axis = axis or ("product" if len(law.inputs) > 1 else law.inputs[0])
    if axis != "product" and axis not in law.inputs:
        raise InputError(f"axis must be 'product' or one of {law.inputs}; got {axis!r}")
    by_cols = [by] if isinstance(by, str) else list(by or [])
    mapping = _input_columns(law, x)
    targets = _targets(at, mapping, by_cols)
    rng = np.random.default_rng(seed)
    if borrow is not None and method != "bayes":
        raise InputError("borrow: borrowing sets priors, so it needs method='bayes'")
    if method == "bootstrap":
        samples = _bootstrap(data, law, mapping, y, by_cols, at, targets, bootstrap, seed, rng)
        return Forecast(_table(at, samples, levels), samples, Discrepancy())

    frame = data.reset_index(drop=True)
    check_columns(frame, [*mapping.values(), y, *by_cols], argument="data")
    if borrow is not None:
        borrowed = similar_group_priors(frame, law, mapping, y, by=by_cols, similar=borrow,
                                        seed=seed, **sampler)
        group_priors = {k: {**borrowed.get(k, {}), **(group_priors or {}).get(k, {})}
                        for k in {*borrowed, *(group_priors or {})}}
    train_x = {n: pd.to_numeric(frame[c], errors="coerce").to_numpy(float)
               for n, c in mapping.items()}
    groups = (frame.groupby(by_cols, sort=True, dropna=False).indices if by_cols
              else {(): np.arange(len(frame))})
    learn = discrepancy is True
    pieces, plans = [], []
    for g, idx in enumerate(groups.values()):
        pieces.append(frame.iloc[idx].assign(_fit=len(plans)))
        plans.append((g, None, idx))
        if not learn:
            continue
        v = _axis_values(law, {n: a[idx] for n, a in train_x.items()}, axis)
        for cut in np.max(v) - np.asarray(cuts, float):
            fit_idx, score_idx = idx[v < cut], idx[(v >= cut) & (v < cut + 1.0)]
            varied = all(len(np.unique(train_x[n][fit_idx])) > 1 for n in law.inputs)
            if len(fit_idx) >= len(law.params) + 2 and varied and len(score_idx):
                pieces.append(frame.iloc[fit_idx].assign(_fit=len(plans)))
                plans.append((g, cut, score_idx))
    combined = pd.concat(pieces, ignore_index=True)
    keys = [group_key(k) for k in groups]
    group_values = [k if isinstance(k, tuple) else (k,) for k in groups]
    unknown = set(group_priors or {}) - set(keys)
    if unknown:
        raise InputError(f"group_priors: groups not in the data: {sorted(map(str, unknown))[:5]}")
    fit_priors = {i: (group_priors or {}).get(keys[g], {}) for i, (g, _, _) in enumerate(plans)}
    post = posterior(combined, law, mapping, y, by="_fit", seed=seed,
                     group_priors={i: p for i, p in fit_priors.items() if p}, **sampler)
    final = {g: i for i, (g, cut, _) in enumerate(plans) if cut is None}

    disc = discrepancy if isinstance(discrepancy, Discrepancy) else Discrepancy()
    rows = []
    if learn:
        tests = []
        obs = np.log(pd.to_numeric(frame[y], errors="coerce").to_numpy(float))
        for i, (g, cut, idx) in enumerate(plans):
            if cut is None:
                continue
            xs = {n: a[idx] for n, a in train_x.items()}
            mu = post.log_mean_draws(i, xs)
            d = np.maximum(signed_distance(post.box[i], xs, law.inputs), 0.0)
            a = signed_distance(post.box[final[g]], xs, law.inputs)
            sigma, df = (post.draws[k][i].reshape(-1) for k in ("sigma", "df"))
            tests.append(Backtest(mu, sigma, df, obs[idx], d, a))
            rows.append(dict(zip(by_cols, group_values[g], strict=True), group=g, cut=cut,
                             n_fit=int(post.groups["n_points"][i]), n_scored=len(idx),
                             status=post.groups["status"][i]))
        if not tests:
            warnings.warn(NoBacktestWarning(
                "forecast: the training data leave no backtest (each needs points below a cut "
                f"with every input varied, at least {len(law.params) + 2}, and points in the "
                "decade above it; e.g. a group with only two sizes), so the intervals have no "
                "discrepancy term and will be too narrow beyond the data: forecast together "
                "with finished groups (by=, CLI --by), whose backtests then set it, or pass "
                "discrepancy= learned from them (learn_discrepancy over their "
                "Forecast.backtest_draws)"), stacklevel=2)
        disc = learn_discrepancy(tests)

    final_post = _subset(post, [final[g] for g in range(len(groups))], by_cols, groups)
    samples = predictive(final_post, at, disc, per_draw=per_draw, rng=rng, targets=targets)
    backtests = pd.DataFrame(
        rows, columns=[*by_cols, "group", "cut", "n_fit", "n_scored", "status"])
    return Forecast(_table(at, samples, levels), samples, disc, final_post, backtests,
                    tuple(tests) if learn else ())


def similar_group_priors(
    data: pd.DataFrame,
    law: str | Law,
    x: Mapping[str, str] | str,
    y: str,
    *,
    by: str | Sequence[str],
    similar: str | Sequence[str],
    seed: int = 0,
    **sampler,
) -> dict[object, dict]:
    """Leave-one-group-out empirical-Bayes priors: the posteriors of every group of ``by``
    (all its data), then for each group :func:`lawfit.bayes.borrowed_priors` from the other
    groups with the same values of the ``similar`` columns (exponents and E, from donors
    whose chains mixed). Returns group key -> {parameter: Prior} (empty where fewer than two
    donors qualify), the ``group_priors`` of :func:`lawfit.bayes.posterior` and
    :func:`forecast`."""
    by_cols = [by] if isinstance(by, str) else list(by or [])
    similar = [similar] if isinstance(similar, str) else list(similar)
    if not by_cols:
        raise InputError("borrow: borrowing between groups needs by (the group columns)")
    if not similar:
        raise InputError("borrow: name at least one column declaring groups similar")
    check_columns(data, similar, argument="borrow")
    varying = data.groupby(by_cols, dropna=False)[similar].nunique(dropna=False).max()
    if (varying > 1).any():
        column = varying.index[int(np.argmax(varying.to_numpy() > 1))]
        raise InputError(f"borrow: column {column!r} varies within a group of {by_cols}; "
                         "similarity columns must be constant within each group")
    donors = posterior(data, law, x, y, by=by_cols, seed=seed, **sampler)
    keys = donors.groups[by_cols]
    values = data.groupby(by_cols, dropna=False)[similar].first().astype(str).reset_index()
    values = keys.merge(values, on=by_cols, how="left")[similar].to_numpy()
    out = {}
    for g, row in enumerate(keys.itertuples(index=False)):
        same = (values == values[g]).all(axis=1) & (np.arange(len(keys)) != g)
        out[group_key(tuple(row))] = borrowed_priors(donors, same)
    return out


def _targets(at, mapping: Mapping[str, str], by_cols) -> dict[str, np.ndarray]:
    """The target inputs (name -> values) of ``at``, checked to be positive numbers."""
    if not isinstance(at, pd.DataFrame):
        raise InputError(f"at must be a DataFrame of targets; got {type(at).__name__}")
    check_columns(at, list(mapping.values()), argument="at")
    check_columns(at, by_cols, argument="at (by)")
    targets = {}
    for name, column in mapping.items():
        values, problem = numeric_column(at.reset_index(drop=True), column, role=f"input {name}")
        bad = (problem != "") | ~(np.nan_to_num(values, nan=-1.0) > 0)
        if bad.any():
            raise InputError(
                f"at: column {column!r} (input {name}) must hold positive numbers; "
                f"bad at row {int(np.argmax(bad))}"
            )
        targets[name] = values
    return targets


def predictive(
    post: Posterior,
    at: pd.DataFrame,
    discrepancy: Discrepancy | None = None,
    *,
    per_draw: int = 4,
    rng: np.random.Generator | int = 0,
    targets: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """(len(at), M) draws of log y at the rows of ``at`` from the posteriors ``post``
    (each row from its ``by`` group): log f(theta_s; x*) + delta(x*) + sigma_s * t_{df_s},
    delta ~ N(0, tau(x*)) the discrepancy (module docstring). Any :class:`Posterior` works,
    e.g. one from :func:`lawfit.bayes.hierarchical_posterior`; summarise with
    :func:`forecast_table`."""
    law, discrepancy = post.law, discrepancy or Discrepancy()
    rng = np.random.default_rng(rng)
    frame = at.reset_index(drop=True)
    if targets is None:
        targets = _targets(frame, post.x, post.by)
    where = post.group_index(frame) if post.by else np.zeros(len(frame), int)
    samples = np.zeros((len(frame), len(post.draws["sigma"][0].reshape(-1)) * per_draw))
    for g in np.unique(where):
        sel = np.flatnonzero(where == g)
        xs = {n: v[sel] for n, v in targets.items()}
        mu = post.log_mean_draws(g, xs)
        a = signed_distance(post.box[g], xs, law.inputs)
        tau = discrepancy.scale(np.maximum(a, 0.0), a)
        sigma, df = (post.draws[k][g].reshape(-1) for k in ("sigma", "df"))
        mu, sigma, df = (np.repeat(v, per_draw, axis=0) for v in (mu, sigma, df))
        noise = sigma[:, None] * rng.standard_t(df[:, None], size=mu.shape)
        samples[sel] = (mu + tau[None, :] * rng.standard_normal(mu.shape) + noise).T
    return samples


def forecast_table(at: pd.DataFrame, samples: np.ndarray, levels=LEVELS) -> pd.DataFrame:
    """The forecast table of :func:`forecast` from predictive draws of log y."""
    return _table(at, samples, [float(v) for v in levels])


def _subset(post: Posterior, rows: list[int], by_cols: list[str], groups: dict) -> Posterior:
    keys = pd.DataFrame([k if isinstance(k, tuple) else (k,) for k in groups], columns=by_cols)
    table = pd.concat([keys, post.groups.iloc[rows].drop(columns=post.by).reset_index(drop=True)],
                      axis=1)
    draws = {k: v[rows] for k, v in post.draws.items()}
    return replace(post, by=by_cols, groups=table, draws=draws, box=post.box[rows])


def _table(at: pd.DataFrame, samples: np.ndarray, levels) -> pd.DataFrame:
    out = at.reset_index(drop=True).copy()
    out["median"] = np.exp(np.median(samples, axis=1))
    for level in levels:
        lo, hi = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=1)
        out[f"lo_{_pct(level)}"] = np.exp(lo)
        out[f"hi_{_pct(level)}"] = np.exp(hi)
    return out


def _bootstrap(data, law, mapping, y, by_cols, at, targets, n_boot, seed, rng) -> np.ndarray:
    """(n_targets, R) log-loss draws: bootstrap refits plus a resampled training residual."""
    if n_boot < 2:
        raise InputError(f"bootstrap must be at least 2; got {n_boot}")
    starts = "grid" if len(law.start_grid()) <= 512 else 64
    # a group too small to fit gets NaN forecasts (its status in the fit says why)
    res = map_fit(data, law, mapping, y, by=by_cols or None, starts=starts, bootstrap=n_boot,
                  seed=seed, duplicates="keep", on_invalid="skip")
    if res.bootstrap is None or res.bootstrap.empty:
        return np.full((len(at), n_boot), np.nan)
    frame = data.reset_index(drop=True)
    resid = np.log(pd.to_numeric(frame[y]).to_numpy(float)) - np.log(res.predict(frame))
    if by_cols:
        train_g = res.params[by_cols].reset_index().merge(frame[by_cols], on=by_cols, how="right")
        train_g = train_g["index"].to_numpy(int)
        keys = res.params[by_cols].reset_index()
        target_g = at.reset_index(drop=True)[by_cols].merge(keys, on=by_cols, how="left")
        if target_g["index"].isna().any():
            raise InputError("at: rows whose by-group is not in the training data")
        target_g = target_g["index"].to_numpy(int)
    else:
        train_g, target_g = np.zeros(len(frame), int), np.zeros(len(at), int)
    samples = np.zeros((len(at), n_boot))
    boot = res.bootstrap
    fitted = res.params["status"].to_numpy() != "invalid_input"
    for g in np.unique(target_g):
        sel = np.flatnonzero(target_g == g)
        if not fitted[g]:
            samples[sel] = np.nan
            continue
        first = int(fitted[:g].sum()) * n_boot  # the long table holds fitted groups only
        rows = boot.iloc[first : first + n_boot]
        theta = rows[list(law.param_names)].to_numpy(float)
        ok = rows["status"].to_numpy() == "converged"
        theta = theta[ok] if ok.sum() >= 2 else theta
        xs = {n: v[sel] for n, v in targets.items()}
        with jax.enable_x64(True):
            mean = np.log(np.asarray(law.predict(
                {p: theta[:, j, None] for j, p in enumerate(law.param_names)},
                {n: v[None, :] for n, v in xs.items()})))
        r = resid[train_g == g]
        draws = mean[rng.integers(0, len(mean), n_boot)] + rng.choice(r, size=(n_boot, 1))
        samples[sel] = draws.T
    return samples
