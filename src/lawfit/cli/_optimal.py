"""``lawfit optimal``: the compute-optimal model size and token count for FLOP budgets."""

from __future__ import annotations

from pathlib import Path

import typer

from lawfit.cli._common import (
    console,
    guarded,
    info,
    parse_list,
    parse_numbers,
    shown_warnings,
)
from lawfit.cli._figures import check_plot_path, save_plot


@guarded
def optimal_command(
    compute: str = typer.Option(
        ..., "--compute", help="FLOP budgets, comma-separated, e.g. 1e21,5.88e23."
    ),
    params: str = typer.Option(
        None, "--params", help="Parameter values as NAME=VALUE pairs, e.g. E=1.82,A=482,...."
    ),
    fit: Path = typer.Option(
        None, "--fit", help="A `lawfit fit` output (CSV or Parquet): one row per group."
    ),
    draws: Path = typer.Option(
        None,
        "--draws",
        help="Parameter draws (group and parameter columns, e.g. `lawfit fit --draws`) for "
        "intervals.",
    ),
    law: str = typer.Option("chinchilla", "--law", help="Law name; any law of N and D."),
    by: str = typer.Option(
        None, "--by", help="Group columns of --fit (default: every non-parameter column)."
    ),
    inputs: str = typer.Option(
        None, "--inputs", help="Values of the law's other inputs, e.g. U=1e11."
    ),
    flops_per_token: float = typer.Option(
        6.0, "--flops-per-token", help="k in C = k N D FLOPs (6 by default)."
    ),
    ci: float = typer.Option(0.95, "--ci", help="Interval level when --draws is given."),
    out: Path = typer.Option(None, "--out", help="Write the table to this CSV or Parquet file."),
    plot: Path = typer.Option(
        None, "--plot", help="Also draw N* and D* against C (the frontier) to this PNG/SVG/PDF."
    ),
) -> None:
    """N*, D*, tokens per parameter and the predicted loss at each compute budget, from given
    parameters or a fit (one row per group x budget)."""
    import pandas as pd

    from lawfit.data import InputError, read_table, write_table
    from lawfit.evaluate import compute_optimal
    from lawfit.fitting import group_columns
    from lawfit.laws import get as get_law

    check_plot_path(plot)
    if (params is None) == (fit is None):
        raise InputError("give exactly one of --params and --fit")
    try:
        law_ = get_law(law)
    except ValueError as err:
        raise InputError(f"--law: {err}") from None
    budgets = parse_list(compute, option="--compute", convert=float)
    if params is not None:
        table, by_cols = pd.DataFrame([parse_numbers(params, option="--params")]), []
    else:
        table = read_table(fit)
        by_cols = parse_list(by, option="--by") if by else group_columns(table, law_)
    with shown_warnings():
        result = compute_optimal(
            table,
            budgets,
            law=law_,
            by=by_cols,
            draws=None if draws is None else read_table(draws),
            ci=ci,
            flops_per_token=flops_per_token,
            inputs=parse_numbers(inputs, option="--inputs") if inputs else None,
        )
    console.print(result.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
                  highlight=False, soft_wrap=True)
    if out is not None:
        write_table(result, out)
        info(f"wrote {len(result)} rows to {out}")
    if plot is not None:
        from lawfit.plot import frontier

        save_plot(frontier(result, by=by_cols), plot)
        info(f"wrote {plot}")
