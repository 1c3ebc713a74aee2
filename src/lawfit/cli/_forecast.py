"""``lawfit forecast``: predictive medians and intervals at target inputs."""

from __future__ import annotations

from pathlib import Path

import typer

from lawfit.cli._common import (
    guarded,
    info,
    parse_inputs,
    parse_list,
    progress_bar,
    refuse_overwrite,
    shown_warnings,
    timed,
)
from lawfit.cli._figures import check_plot_path, save_plot

#: Flagged posteriors listed after a forecast (the rest are counted).
SHOW_FLAGGED = 5


@guarded
def forecast_command(
    data: Path = typer.Argument(..., help="Training CSV or Parquet file."),
    law: str = typer.Option(..., "--law", help="Law name (see `lawfit laws`)."),
    x: str = typer.Option(..., "--x", help="Inputs as NAME=COLUMN pairs, e.g. N=params,D=tokens."),
    y: str = typer.Option(..., "--y", help="Column of the observed loss."),
    by: str = typer.Option(None, "--by", help="Comma-separated group columns; one model per group."),
    at: Path = typer.Option(..., "--at", help="CSV or Parquet of targets (the x and by columns)."),
    levels: str = typer.Option("0.5,0.8,0.95", "--levels", help="Central interval levels."),
    method: str = typer.Option("bayes", "--method", help="bayes (default) or bootstrap."),
    axis: str = typer.Option(
        None, "--axis", help="Backtest axis: an input name or 'product' (compute for N, "
        "D). Default: the one input along which targets lie beyond the training data, else "
        "'product'."
    ),
    lam_max: float = typer.Option(
        None, "--lam-max", help="Bound on the discrepancy's growth with scale, per decade "
        "(intervals widen by at most e^LAM_MAX per decade beyond the data; 0: no growth). "
        "Default: lawfit.bayes.LAM_MAX.",
    ),
    chains: int = typer.Option(4, "--chains", help="NUTS chains per posterior."),
    warmup: int = typer.Option(500, "--warmup", help="NUTS warm-up iterations."),
    samples: int = typer.Option(500, "--samples", help="NUTS draws per chain."),
    max_tree_depth: int = typer.Option(
        8, "--max-tree-depth",
        help="NUTS tree depth limit; families with two or three sizes mix better at 10 "
        "(with --warmup 1000).",
    ),
    target_accept: float = typer.Option(0.9, "--target-accept", help="NUTS target acceptance."),
    bootstrap: int = typer.Option(400, "--bootstrap", help="Resamples for --method bootstrap."),
    borrow: str = typer.Option(
        None, "--borrow",
        help="Columns declaring --by groups similar (e.g. data,metric): each group gets "
        "priors on its exponents and E from the other groups sharing their values.",
    ),
    thin: int = typer.Option(
        30, "--thin", help="Training checkpoints kept per run (a group's rows sharing the "
        "other inputs), evenly spaced in the input with most distinct values (e.g. D); 0 keeps "
        "all.",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    out: Path = typer.Option(..., "--out", help="Output CSV or Parquet file."),
    plot: Path = typer.Option(
        None, "--plot", help="Also draw the medians and intervals over the training data "
        "against the input with most distinct targets, to this PNG/SVG/PDF file.",
    ),
) -> None:
    """Forecast Y at the rows of --at and write one row per target, in order: the target's
    columns, median, then lo_XX, hi_XX per level.

    Exit codes: 0 done, 2 bad input (one line on stderr names the column).
    """
    from lawfit.bayes import NUTS, forecast
    from lawfit.data import InputError, read_table, write_table

    if str(out).lower().rsplit(".", 1)[-1] not in ("csv", "parquet", "pq"):
        raise InputError(f"--out {str(out)!r}: expected a .csv or .parquet extension")
    if not out.parent.is_dir():
        raise InputError(f"--out {str(out)!r}: folder {str(out.parent)!r} does not exist")
    if method not in ("bayes", "bootstrap"):
        raise InputError(f"--method must be bayes or bootstrap; got {method!r}")
    if lam_max is not None and not (0 <= lam_max < float("inf")):
        raise InputError(f"--lam-max must be a finite number >= 0; got {lam_max}")
    check_plot_path(plot)
    refuse_overwrite({"data": data, "--at": at}, {"--out": out, "--plot": plot})
    with timed("read"):
        train, targets = read_table(data), read_table(at)
    mapping = parse_inputs(x)
    by_cols = parse_list(by, option="--by")
    _check_targets(train, targets, mapping, by_cols)
    level_list = parse_list(levels, option="--levels", convert=float)
    borrow_cols = parse_list(borrow, option="--borrow") or None
    if borrow_cols and method == "bootstrap":
        raise InputError("--borrow needs --method bayes (borrowing sets priors)")
    # the NUTS flags set the Bayesian posteriors; the bootstrap has none, so ignores them
    sampler = NUTS() if method == "bootstrap" else NUTS(
        chains=chains, warmup=warmup, samples=samples, target_accept=target_accept,
        max_tree_depth=max_tree_depth)
    with shown_warnings(replace=_without_fit_result), timed("forecast"), \
            progress_bar(f"forecasting with {law} ({method})") as update:
        update(0, 1)
        result = forecast(
            train, law, mapping, y, at=targets, by=by_cols or None,
            levels=level_list, method=method, sampler=sampler, axis=axis,
            bootstrap=bootstrap, borrow=borrow_cols, thin=thin or None, seed=seed,
            **({} if lam_max is None else {"lam_max": lam_max}),
        )
        update(1, 1)
    write_table(result.table, out)
    n_rows, n_used = int(result.groups["n_rows"].sum()), int(result.groups["n_used"].sum())
    if n_used < n_rows:
        info(f"thinned the training data to {n_used:,} of {n_rows:,} rows (at most {thin} "
             "checkpoints per run; --thin 0 keeps all)")
    if plot is not None:
        from lawfit.plot import forecast_intervals

        columns = [mapping] if isinstance(mapping, str) else list(mapping.values())
        along = max(columns, key=lambda c: result.table[c].nunique())
        save_plot(forecast_intervals(result.table, along, by=by_cols or None, data=train, y=y),
                  plot)
    if result.posterior is None:  # the bootstrap
        _report_bootstrap(result, out)
        return
    groups = result.posterior.groups
    bad = groups[groups["status"] != "ok"]
    note = f"; {len(bad)} posterior(s) flagged by diagnostics" if len(bad) else ""
    info(f"wrote {len(result.table)} forecasts to {out}{note}")
    _list_flagged(bad, result.posterior.by)
    disc = result.discrepancy
    info(f"discrepancy sd (tau0 + kappa d) exp(lam a): tau0 {disc.tau0:.3g}, kappa "
                  f"{disc.kappa:.3g} per decade, lam {disc.lam:.3g} "
                  f"(from {len(result.backtests)} backtests along {result.axis})")


def _report_bootstrap(result, out: Path) -> None:
    """The bootstrap's summary: forecasts written, and the groups left without one."""
    groups = result.groups
    bad = groups[groups["status"] != "ok"]
    note = f"; {len(bad)} group(s) without a bootstrap forecast (NaN)" if len(bad) else ""
    info(f"wrote {len(result.table)} forecasts to {out}{note}")
    _list_flagged(bad, [c for c in groups.columns
                        if c not in ("status", "message", "n_rows", "n_used")])


def _list_flagged(bad, by: list[str]) -> None:
    for _, row in bad.head(SHOW_FLAGGED).iterrows():
        key = ", ".join(f"{c}={row[c]}" for c in by) or "all rows"
        info(f"  {key}: {row['status']}: {row['message']}")
    if len(bad) > SHOW_FLAGGED:
        info(f"  ... and {len(bad) - SHOW_FLAGGED} more")


def _without_fit_result(text: str) -> str:
    """A bootstrap forecast's fit warnings, less their pointer to a table the CLI does not
    write."""
    return text.replace("; see the 'warning' column of FitResult.params", "")


def _check_targets(train, targets, mapping, by_cols: list[str]) -> None:
    """Before any fitting: --at has the input and --by columns, and every row's group is in
    the data (named by its row number)."""
    from lawfit.data import InputError, check_columns

    columns = [mapping] if isinstance(mapping, str) else list(mapping.values())
    check_columns(targets, [*columns, *by_cols], argument="--at")
    if not by_cols:
        return
    check_columns(train, by_cols, argument="data")
    known = set(train[by_cols].drop_duplicates().itertuples(index=False, name=None))
    for row, key in enumerate(targets[by_cols].itertuples(index=False, name=None)):
        if key not in known:
            group = ", ".join(f"{c}={v!r}" for c, v in zip(by_cols, key, strict=True))
            raise InputError(f"--at: row {row} has group {group}, which is not in the data")
