"""Forecasts: predictive intervals of the observation at target inputs.

Bayesian (default), in stages: plan backtests (each group's points below a cut, scored on the
decade above it) -> sample the backtest posteriors and the final ones together in one batched
call -> learn the discrepancy from the backtests (:mod:`lawfit.bayes._discrepancy`) -> draw
the posterior predictive at the targets (:mod:`lawfit.bayes._predictive`). Bootstrap (for
comparison): :mod:`lawfit.bayes._bootstrap`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from lawfit.bayes._bootstrap import bootstrap_forecast
from lawfit.bayes._borrow import similar_group_priors
from lawfit.bayes._discrepancy import (
    LAM_MAX,
    Backtest,
    Discrepancy,
    check_lam_max,
    learn_discrepancy,
    signed_distance,
)
from lawfit.bayes._posterior import Posterior, posterior
from lawfit.bayes._predictive import LEVELS, forecast_table, predictive, target_inputs
from lawfit.bayes._prepare import group_key
from lawfit.bayes._sampler import DEFAULT_NUTS, Sampler, check_sampler
from lawfit.data import (
    GroupedData,
    InputError,
    Reason,
    as_table,
    check_choice,
    check_columns,
    input_columns,
    thin_runs,
)
from lawfit.laws import Law
from lawfit.laws import get as get_law

__all__ = ["THIN_PER_RUN", "Forecast", "NoBacktestWarning", "forecast"]

#: Default of :func:`forecast`'s ``thin``: training checkpoints kept per run.
THIN_PER_RUN = 30


class NoBacktestWarning(UserWarning):
    """Issued by :func:`forecast` when the training data leave no backtest, so the forecast
    has no discrepancy term and its intervals will be too narrow beyond the data."""


@dataclass(frozen=True)
class Forecast:
    """What :func:`forecast` returns.

    Attributes:
        table: one row per target row, in order: the target's columns, ``median``, then
            ``lo_XX, hi_XX`` per level (loss units).
        samples: (n_targets, M) predictive draws of log loss (what the table summarises).
        discrepancy: the learned :class:`Discrepancy` (zeros without one).
        groups: one row per training group: the ``by`` columns, ``status`` and ``message``
            of what its forecasts rest on: the final posterior's diagnostics (see
            :class:`lawfit.bayes.SampleStatus`), or for the bootstrap ``ok``,
            ``too_few_converged`` (fewer than two resamples converged) or the group's fit
            status (e.g. ``invalid_input``); a bootstrap group not ``ok`` has NaN forecasts.
        posterior: the final posteriors (None for the bootstrap).
        backtests: one row per backtest: the group's ``by`` columns, group (its index), cut
            (log10 of the axis), points fitted and scored, the posterior's status.
        backtest_draws: one :class:`Backtest` per row of ``backtests`` (its draws and scored
            points), to learn a discrepancy from a subset of them, e.g. from the other groups
            only: ``learn_discrepancy([b for b, keep in zip(fc.backtest_draws, mask) if
            keep])``.
        axis: the axis the backtests cut along (None for the bootstrap).
    """

    table: pd.DataFrame
    samples: np.ndarray = field(repr=False)
    discrepancy: Discrepancy
    groups: pd.DataFrame = field(repr=False)
    posterior: Posterior | None = field(default=None, repr=False)
    backtests: pd.DataFrame | None = field(default=None, repr=False)
    backtest_draws: tuple[Backtest, ...] = field(default=(), repr=False)
    axis: str | None = None


class _Plan(NamedTuple):
    """One posterior of a forecast's batch: its group, backtest ``cut`` (None: the final
    posterior, on all of the group's data) and the training rows it scores (a backtest) or
    fits (the final one)."""

    group: int
    cut: float | None
    rows: np.ndarray


def forecast(
    data: pd.DataFrame | str | os.PathLike,
    law: str | Law,
    x: Mapping[str, str] | str,
    y: str,
    *,
    at: pd.DataFrame | str | os.PathLike,
    by: str | Sequence[str] | None = None,
    levels: Sequence[float] = LEVELS,
    method: str = "bayes",
    sampler: Sampler = DEFAULT_NUTS,
    discrepancy: bool | Discrepancy = True,
    lam_max: float = LAM_MAX,
    axis: str | None = None,
    cuts: Sequence[float] = (0.5, 1.0, 1.5),
    bootstrap: int = 400,
    per_draw: int = 4,
    group_priors: Mapping[object, Mapping] | None = None,
    borrow: str | Sequence[str] | None = None,
    thin: int | None = THIN_PER_RUN,
    seed: int = 0,
) -> Forecast:
    """Predictive median and central intervals of ``y`` at the rows of ``at``.

    Args:
        data, law, x, y, by: the training data, as in :func:`lawfit.fit`; ``at`` has the same
            input columns (and ``by`` columns); each row is forecast from its group.
        levels: central interval levels in (0, 1).
        method: ``"bayes"`` (posterior predictive with the discrepancy) or ``"bootstrap"``.
        sampler: the posteriors' :class:`lawfit.bayes.NUTS` or :class:`lawfit.bayes.Laplace`
            settings (method ``"bayes"``).
        discrepancy: whether to add the backtest-learned discrepancy (False: the naive model),
            or a :class:`Discrepancy` to use as is (e.g. learned on other families).
        lam_max: bound on the learned discrepancy's growth lam with scale, per decade
            (:func:`learn_discrepancy`); beyond the data tau grows by up to e^lam_max per
            decade.
        axis: the scale along which backtests cut the training data: an input name, or
            ``"product"`` (the inputs' product, compute for N and D). Default: the input
            along which targets lie beyond their group's training data, when only one does
            (leave the largest model out: N), else ``"product"``; reported as
            :attr:`Forecast.axis`.
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
        thin: at most this many training checkpoints per run, evenly spaced in the input
            with the most distinct values, e.g. D (a run: the rows of a group sharing the
            other inputs; :func:`lawfit.data.thin_runs`); None keeps every row.
            ``Forecast.groups`` reports each group's ``n_rows`` and ``n_used``.
        seed: PRNG seed.
    """
    data, at = as_table(data), as_table(at, argument="at")
    try:
        law = get_law(law)
    except ValueError as err:
        raise InputError(f"law: {err}") from None
    check_choice(method, ("bayes", "bootstrap"), argument="method")
    check_sampler(sampler)
    lam_max = check_lam_max(lam_max)
    levels = [float(v) for v in levels]
    if not levels or any(not 0 < v < 1 for v in levels):
        raise InputError(f"levels must lie in (0, 1); got {levels}")
    if axis is not None and axis != "product" and axis not in law.inputs:
        raise InputError(f"axis must be 'product' or one of {law.inputs}; got {axis!r}")
    by_cols = [by] if isinstance(by, str) else list(by or [])
    mapping = input_columns(x, law.inputs, law=law.name)
    targets = target_inputs(at, mapping, by_cols)
    check_columns(data, [*mapping.values(), y, *by_cols], argument="data")
    data, used = _thinned(data, law, mapping, by_cols, thin)
    rng = np.random.default_rng(seed)
    if borrow is not None and method != "bayes":
        raise InputError("borrow: borrowing sets priors, so it needs method='bayes'")
    if method == "bootstrap":
        samples, groups = bootstrap_forecast(data, law, mapping, y, by_cols, at, targets,
                                             bootstrap, seed, rng)
        return Forecast(forecast_table(at, samples, levels), samples, Discrepancy(),
                        _with_counts(groups, used, by_cols))

    if borrow is not None:
        group_priors = _with_borrowed(data, law, mapping, y, by_cols, borrow, group_priors,
                                      sampler, seed)
    grouped = GroupedData.from_frame(data, mapping, y, by=by_cols,
                                     positive_inputs=law.positive_inputs, duplicates="keep",
                                     on_invalid="skip")
    # Invalid rows are errors, named here in the data's groups and rows (the batched
    # posterior below sees its own combined frame).
    invalid = np.flatnonzero(grouped.reason == Reason.INVALID_ROWS)
    if len(invalid):
        where = f"{grouped.label(invalid[0])}: " if grouped.by else ""
        raise InputError(f"{where}{grouped.message(invalid[0])}")
    axis = axis or _extrapolated_axis(law, grouped, at, targets)
    learn = discrepancy is True
    plans, combined = _plan_backtests(law, data, grouped, axis, cuts if learn else ())
    post = _sample_plans(law, mapping, y, grouped, plans, combined, group_priors, sampler, seed)
    final = {p.group: i for i, p in enumerate(plans) if p.cut is None}
    if learn:
        tests, rows = _score_backtests(law, data, y, grouped, plans, final, post)
        disc = learn_discrepancy(tests, lam_max=lam_max)
    else:
        tests, rows = [], []
        disc = discrepancy if isinstance(discrepancy, Discrepancy) else Discrepancy()
    final_post = _subset(post, [final[g] for g in range(grouped.n_groups)], grouped.keys)
    samples = predictive(final_post, at, disc, per_draw=per_draw, rng=rng, targets=targets)
    backtests = pd.DataFrame(
        rows, columns=[*by_cols, "group", "cut", "n_fit", "n_scored", "status"])
    groups = _with_counts(final_post.groups[[*by_cols, "status", "message"]], used, by_cols)
    return Forecast(forecast_table(at, samples, levels), samples, disc, groups, final_post,
                    backtests, tuple(tests), axis)


def _thinned(data: pd.DataFrame, law: Law, mapping, by_cols, thin):
    """``data`` with each run thinned to ``thin`` rows (see :func:`forecast`), and per group
    (by ``by_cols``) the rows given and used; :func:`thin_runs` validates ``thin``."""
    keep = np.ones(len(data), bool)
    if thin is not None and len(data):
        along = max(law.inputs, key=lambda n: data[mapping[n]].nunique())
        runs = [*by_cols, *(mapping[n] for n in law.inputs if n != along)]
        keep = thin_runs(data, runs, mapping[along], thin)
    key = data[by_cols] if by_cols else pd.DataFrame(index=data.index)
    counts = key.assign(n_rows=1, n_used=keep.astype(int))
    counts = counts.groupby(by_cols, dropna=False)[["n_rows", "n_used"]].sum().reset_index() \
        if by_cols else counts[["n_rows", "n_used"]].sum().to_frame().T
    return data[keep].reset_index(drop=True), counts


def _with_counts(groups: pd.DataFrame, counts: pd.DataFrame, by_cols) -> pd.DataFrame:
    """``groups`` with each group's ``n_rows`` and ``n_used`` training rows."""
    if not by_cols:
        return groups.assign(n_rows=int(counts["n_rows"].iloc[0]),
                             n_used=int(counts["n_used"].iloc[0]))
    return groups.merge(counts, on=by_cols, how="left")


def _with_borrowed(frame, law: Law, mapping, y, by_cols, borrow, group_priors, sampler, seed):
    """``group_priors`` over the empirical-Bayes priors each group borrows from its similar
    others (:func:`similar_group_priors`)."""
    borrowed = similar_group_priors(frame, law, mapping, y, by=by_cols, similar=borrow,
                                    sampler=sampler, seed=seed)
    own = group_priors or {}
    return {k: {**borrowed.get(k, {}), **own.get(k, {})} for k in {*borrowed, *own}}


def _extrapolated_axis(law: Law, grouped: GroupedData, at: pd.DataFrame, targets) -> str:
    """Backtest like the forecast extrapolates: the one input along which targets exceed
    their group's largest training value, or ``"product"`` when several (or none) do."""
    if len(law.inputs) == 1:
        return law.inputs[0]
    if grouped.by:
        keys = grouped.keys.assign(_g=np.arange(grouped.n_groups))
        where = at[list(grouped.by)].reset_index(drop=True).merge(
            keys, on=list(grouped.by), how="left")["_g"].to_numpy()
    else:
        where = np.zeros(len(at))
    known = ~np.isnan(where.astype(float))
    group = where[known].astype(int)
    filled = grouped.sizes > 0
    beyond = []
    for name in law.inputs:
        top = np.full(grouped.n_groups, np.inf)
        top[filled] = np.maximum.reduceat(grouped.inputs[name], grouped.offsets[:-1][filled])
        if np.any(targets[name][known] > top[group] * (1 + 1e-9)):
            beyond.append(name)
    return beyond[0] if len(beyond) == 1 else "product"


def _axis_values(law: Law, x: dict, axis: str) -> np.ndarray:
    if axis == "product":
        return np.sum([np.log10(x[n]) for n in law.inputs], axis=0)
    return np.log10(x[axis])


def _plan_backtests(law: Law, frame: pd.DataFrame, grouped: GroupedData, axis: str, cuts):
    """The posteriors of a forecast, each a :class:`_Plan`: per group its final posterior
    and a backtest per cut that leaves enough points below it (at least K + 2, with every
    input varied) and some in the decade above; and the training rows of all of them in one
    frame, the posterior of each row in column ``_fit``."""
    train_x = _inputs(frame, grouped.x)
    pieces, plans = [], []
    for g in range(grouped.n_groups):
        idx = grouped.labels[grouped.rows(g)]  # frame's positions (its index is a range)
        pieces.append(frame.iloc[idx].assign(_fit=len(plans)))
        plans.append(_Plan(g, None, idx))
        if not len(cuts):
            continue
        v = _axis_values(law, {n: a[idx] for n, a in train_x.items()}, axis)
        for cut in np.max(v) - np.asarray(cuts, float):
            fit_idx, score_idx = idx[v < cut], idx[(v >= cut) & (v < cut + 1.0)]
            varied = all(len(np.unique(train_x[n][fit_idx])) > 1 for n in law.inputs)
            if len(fit_idx) >= len(law.params) + 2 and varied and len(score_idx):
                pieces.append(frame.iloc[fit_idx].assign(_fit=len(plans)))
                plans.append(_Plan(g, float(cut), score_idx))
    return plans, pd.concat(pieces, ignore_index=True)


def _sample_plans(law: Law, mapping, y, grouped: GroupedData, plans, combined, group_priors,
                  sampler: Sampler, seed: int) -> Posterior:
    """All the plans' posteriors in one batched call, each with its group's priors."""
    keys = [group_key(k) for k in grouped.key_tuples()]
    unknown = set(group_priors or {}) - set(keys)
    if unknown:
        raise InputError(f"group_priors: groups not in the data: {sorted(map(str, unknown))[:5]}")
    own = {i: (group_priors or {}).get(keys[p.group], {}) for i, p in enumerate(plans)}
    return posterior(combined, law, mapping, y, by="_fit", sampler=sampler, seed=seed,
                     group_priors={i: p for i, p in own.items() if p})


def _score_backtests(law: Law, frame, y, grouped: GroupedData, plans, final, post: Posterior):
    """One :class:`Backtest` per backtest plan (its posterior's predictive at the scored
    points) and the rows of :attr:`Forecast.backtests`; warns when there is none."""
    train_x = _inputs(frame, grouped.x)
    obs = np.log(pd.to_numeric(frame[y], errors="coerce").to_numpy(float))
    group_values = grouped.key_tuples()
    tests, rows = [], []
    for i, plan in enumerate(plans):
        if plan.cut is None:
            continue
        xs = {n: a[plan.rows] for n, a in train_x.items()}
        mu = post.log_mean_draws(i, xs)
        d = np.maximum(signed_distance(post.box[i], xs, law.inputs), 0.0)
        a = signed_distance(post.box[final[plan.group]], xs, law.inputs)
        sigma, df = (post.draws[k][i].reshape(-1) for k in ("sigma", "df"))
        tests.append(Backtest(mu, sigma, df, obs[plan.rows], d, a))
        rows.append(dict(zip(grouped.by, group_values[plan.group], strict=True), group=plan.group,
                         cut=plan.cut, n_fit=int(post.groups["n_points"][i]),
                         n_scored=len(plan.rows), status=post.groups["status"][i]))
    if not tests:
        warnings.warn(NoBacktestWarning(
            "forecast: the training data leave no backtest (each needs points below a cut "
            f"with every input varied, at least {len(law.params) + 2}, and points in the "
            "decade above it; e.g. a group with only two sizes), so the intervals have no "
            "discrepancy term and will be too narrow beyond the data: forecast together "
            "with finished groups (by=, CLI --by), whose backtests then set it, or pass "
            "discrepancy= learned from them (learn_discrepancy over their "
            "Forecast.backtest_draws)"), stacklevel=3)
    return tests, rows


def _subset(post: Posterior, rows: list[int], keys: pd.DataFrame) -> Posterior:
    """The posteriors ``rows`` of ``post``, keyed by the groups' ``by`` columns ``keys``."""
    table = pd.concat([keys.reset_index(drop=True),
                       post.groups.iloc[rows].drop(columns=post.by).reset_index(drop=True)],
                      axis=1)
    draws = {k: v[rows] for k, v in post.draws.items()}
    return replace(post, by=list(keys.columns), groups=table, draws=draws, box=post.box[rows])


def _inputs(frame: pd.DataFrame, mapping) -> dict[str, np.ndarray]:
    """The law's inputs of every row of ``frame`` (NaN where not a number)."""
    return {n: pd.to_numeric(frame[c], errors="coerce").to_numpy(float)
            for n, c in mapping.items()}
