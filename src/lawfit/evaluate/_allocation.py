"""Compute-optimal allocation: the model size N* and token count D* that minimise a fitted
law's loss at a compute budget C = k N D (k = 6 FLOPs per parameter per token by default)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from lawfit.data import InputError, check_columns
from lawfit.fitting import FitResult
from lawfit.laws import Law
from lawfit.laws import get as get_law

__all__ = ["compute_optimal", "optimal_size"]

_GRID = 257  # log-spaced model sizes scanned before the golden-section refinement
_GOLDEN = 80  # refinement steps: the bracket shrinks by 0.618^80, below float64 resolution
_OUTPUTS = ("N_opt", "D_opt", "tokens_per_param", "loss_opt")


def _loss_along_budget(law: Law, theta: dict, log_budget, extra: dict, log_n):
    """log L(N, D) at N = e^log_n, D = budget / N (budget = C / k)."""
    x = {"N": jnp.exp(log_n), "D": jnp.exp(log_budget - log_n), **extra}
    return law.log_predict_one(theta, x)


@partial(jax.jit, static_argnames="law")
def _optimum(law: Law, theta: dict, log_budget, extra: dict):
    """log N* for one parameter set and budget: a scan of log N over [0, log budget] (N and
    D at least 1), golden-section search around the best grid point, one Newton step. Also returns
    whether the optimum is interior (not at either end of the scan)."""
    f = partial(_loss_along_budget, law, theta, log_budget, extra)
    grid = jnp.linspace(0.0, log_budget, _GRID)
    values = jax.vmap(f)(grid)
    best = jnp.argmin(jnp.where(jnp.isfinite(values), values, jnp.inf))
    lo = grid[jnp.maximum(best - 1, 0)]
    hi = grid[jnp.minimum(best + 1, _GRID - 1)]
    ratio = (jnp.sqrt(5.0) - 1.0) / 2.0

    def shrink(_, bracket):
        a, b = bracket
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        left = f(c) <= f(d)
        return jnp.where(left, a, c), jnp.where(left, d, b)

    a, b = jax.lax.fori_loop(0, _GOLDEN, shrink, (lo, hi))
    log_n = 0.5 * (a + b)
    # Golden section locates a flat minimum only to ~sqrt(eps); one Newton step on f' finishes.
    slope, curvature = jax.grad(f)(log_n), jax.grad(jax.grad(f))(log_n)
    newton = log_n - slope / curvature
    log_n = jnp.where((curvature > 0) & (jnp.abs(newton - log_n) < b - a + 1e-6), newton, log_n)
    interior = (best > 0) & (best < _GRID - 1) & jnp.isfinite(values[best])
    return log_n, f(log_n), interior


def optimal_size(
    law: str | Law,
    params: Mapping[str, np.ndarray],
    compute,
    *,
    flops_per_token: float = 6.0,
    inputs: Mapping[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Array form of :func:`compute_optimal`: ``params`` name -> (M,) values, ``compute`` (M,)
    budgets (broadcast); returns ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt``
    (M,) and ``interior`` (False where the loss keeps falling to the end of the scan, i.e.
    the law has no compute-optimal size at that budget; those entries are NaN).

    N* minimises L(N, C / (k N)) over 1 <= N <= C / k, numerically for any law with inputs
    N and D (closed form for Chinchilla's: N* = G (C/k)^(beta/(alpha+beta)),
    G = (alpha A / (beta B))^(1/(alpha+beta)), Hoffmann et al. 2022, eq. 4; tested against it).
    """
    law = get_law(law)
    names = law.param_names
    theta = {p: np.asarray(params[p], float) for p in names}
    shape = np.broadcast_shapes(np.shape(compute), *(v.shape for v in theta.values()))
    theta = {p: np.broadcast_to(v, shape).ravel() for p, v in theta.items()}
    log_budget = np.log(np.broadcast_to(np.asarray(compute, float), shape).ravel() / flops_per_token)
    extra = {k: np.full(log_budget.shape, float(v)) for k, v in (inputs or {}).items()}
    with jax.enable_x64(True):
        solve = jax.vmap(lambda t, b, e: _optimum(law, t, b, e))
        log_n, log_loss, interior = (np.asarray(a) for a in solve(theta, log_budget, extra))
    ok = interior & np.isfinite(log_n) & np.isfinite(log_loss)
    n_opt = np.where(ok, np.exp(log_n), np.nan)
    d_opt = np.exp(log_budget) / n_opt
    out = {"N_opt": n_opt, "D_opt": d_opt, "tokens_per_param": d_opt / n_opt,
           "loss_opt": np.where(ok, np.exp(log_loss), np.nan)}
    return {**{k: v.reshape(shape) for k, v in out.items()}, "interior": ok.reshape(shape)}


def _law_inputs(law: Law, inputs: Mapping[str, float] | None) -> dict[str, float]:
    if not {"N", "D"} <= set(law.inputs):
        raise InputError(f"law: {law.name!r} has inputs {law.inputs}; compute-optimal allocation "
                         "needs a law of N (parameters) and D (tokens)")
    others = [n for n in law.inputs if n not in ("N", "D")]
    given = dict(inputs or {})
    unknown = set(given) - set(others)
    if unknown:
        raise InputError(f"inputs: {sorted(unknown)} are not other inputs of {law.name!r} "
                         f"(those are {others or 'none'})")
    missing = [n for n in others if n not in given]
    if missing:
        raise InputError(f"inputs: law {law.name!r} also takes {missing}; give a value for each")
    return given


def _budgets(compute) -> np.ndarray:
    budgets = np.atleast_1d(np.asarray(compute, dtype=float))
    if budgets.ndim != 1 or not len(budgets) or not (np.isfinite(budgets) & (budgets > 0)).all():
        raise InputError(f"compute: need one or more positive FLOP budgets; got {compute!r}")
    return budgets


def _param_table(params, law: Law, argument: str) -> pd.DataFrame:
    table = pd.DataFrame([params]) if isinstance(params, Mapping) else params
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"{argument}: expected a FitResult, a DataFrame or a mapping of "
                         f"parameters; got {type(params).__name__}")
    check_columns(table, list(law.param_names), argument=argument)
    return table


def _by_groups(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    if by and table.duplicated(list(by)).any():
        raise InputError(f"params: several rows for one group of {list(by)}; pass one row per "
                         "group (draws go in draws=)")
    if not by and len(table) != 1:
        raise InputError(f"params: {len(table)} rows but no by= columns naming their groups")
    return table


def compute_optimal(
    params: FitResult | pd.DataFrame | Mapping[str, float],
    compute,
    *,
    law: str | Law | None = None,
    by: str | Sequence[str] | None = None,
    draws: pd.DataFrame | None = None,
    ci: float = 0.95,
    flops_per_token: float = 6.0,
    inputs: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """N*, D*, tokens per parameter and the predicted loss at each compute budget, per group.

    Args:
        params: a :class:`lawfit.FitResult` (its law, groups and bootstrap draws are used), a
            table with one row per group (``by`` columns and one column per parameter, e.g. a
            ``lawfit fit`` output), or a mapping of parameter values.
        compute: one or more budgets C in FLOPs; the result has one row per group x budget.
        law: the law (default: the fit's, else ``chinchilla``); any law with inputs N and D.
        by: the group columns of ``params`` (default: the fit's; none for a one-row table).
        draws: parameter draws (``by`` columns and parameter columns, e.g.
            :attr:`FitResult.bootstrap` or posterior draws; rows with a ``status`` other than
            ``converged`` are ignored) for percentile intervals at level ``ci``.
        flops_per_token: k in C = k N D (6, Kaplan et al. 2020).
        inputs: values of the law's other inputs (e.g. ``U`` for ``data_constrained``).

    Returns:
        ``by`` columns, ``C``, ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt``,
        ``status`` (``ok``, ``no_optimum`` where the loss keeps falling towards one end of the
        allocation, ``invalid_params`` where the parameters are not finite), and with draws
        ``{column}_lo`` / ``{column}_hi``.
    """
    if isinstance(params, FitResult):
        law = params.law if law is None else law
        by = params.by if by is None else by
        draws = params.bootstrap if draws is None else draws
        params = params.params
    law = get_law("chinchilla" if law is None else law)
    extra = _law_inputs(law, inputs)
    budgets = _budgets(compute)
    if not (isinstance(flops_per_token, (int, float)) and flops_per_token > 0):
        raise InputError(f"flops_per_token must be a positive number; got {flops_per_token!r}")
    if not 0 < ci < 1:
        raise InputError(f"ci must be in (0, 1); got {ci!r}")
    by_cols = [by] if isinstance(by, str) else list(by or [])
    table = _param_table(params, law, "params")
    check_columns(table, by_cols, argument="by")
    table = _by_groups(table, by_cols).reset_index(drop=True)
    rows = table.loc[np.repeat(np.arange(len(table)), len(budgets)), by_cols].reset_index(drop=True)
    rows.insert(len(by_cols), "C", np.tile(budgets, len(table)))
    theta = {p: np.repeat(table[p].to_numpy(float), len(budgets)) for p in law.param_names}
    finite = np.all([np.isfinite(v) for v in theta.values()], axis=0)
    best = optimal_size(law, {p: np.where(finite, v, 1.0) for p, v in theta.items()},
                        rows["C"].to_numpy(), flops_per_token=flops_per_token, inputs=extra)
    for name in _OUTPUTS:
        rows[name] = np.where(finite, best[name], np.nan)
    rows["status"] = np.select([~finite, ~best["interior"]], ["invalid_params", "no_optimum"], "ok")
    if draws is not None:
        rows = _with_intervals(rows, law, _param_table(draws, law, "draws"), by_cols, budgets,
                               ci, flops_per_token, extra)
    return rows


def _with_intervals(rows, law, draws, by_cols, budgets, ci, flops_per_token, extra):
    """Percentile intervals of every output over the draws of each group."""
    check_columns(draws, by_cols, argument="draws")
    if "status" in draws.columns:
        draws = draws[draws["status"] == "converged"]
    draws = draws.reset_index(drop=True)
    tiled = draws.loc[np.repeat(np.arange(len(draws)), len(budgets))].reset_index(drop=True)
    tiled["C"] = np.tile(budgets, len(draws))
    theta = {p: tiled[p].to_numpy(float) for p in law.param_names}
    best = optimal_size(law, theta, tiled["C"].to_numpy(), flops_per_token=flops_per_token,
                        inputs=extra)
    for name in _OUTPUTS:
        tiled[name] = best[name]
    alpha = (1.0 - ci) / 2.0
    keys = [*by_cols, "C"]
    grouped = tiled.groupby(keys, sort=False, dropna=False)[list(_OUTPUTS)]
    lo = grouped.quantile(alpha).add_suffix("_lo")
    hi = grouped.quantile(1.0 - alpha).add_suffix("_hi")
    bounds = pd.concat([lo, hi], axis=1).reset_index()
    out = rows.merge(bounds, on=keys, how="left")
    order = [*keys, *_OUTPUTS, "status", *(f"{c}_{s}" for c in _OUTPUTS for s in ("lo", "hi"))]
    return out[order]
