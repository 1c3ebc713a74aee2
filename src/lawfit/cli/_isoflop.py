"""``lawfit isoflop``: IsoFLOP analysis of runs (per-budget optima, N* and D* power laws)."""

from __future__ import annotations

from pathlib import Path

import typer

from lawfit.cli._common import console, guarded, info, parse_list, shown_warnings, timed


@guarded
def isoflop_command(
    data: Path = typer.Argument(..., help="Runs (CSV or Parquet): one row per model and budget."),
    out: Path = typer.Option(
        ..., "--out", help="Folder for optima.csv, exponents.csv and isoflop.png."
    ),
    by: str = typer.Option(None, "--by", help="Group columns, comma-separated."),
    n: str = typer.Option("N", "--n", help="Column of model sizes (parameters)."),
    d: str = typer.Option("D", "--d", help="Column of training tokens."),
    loss: str = typer.Option("loss", "--loss", help="Column of losses."),
    compute: str = typer.Option("C", "--compute", help="Column of FLOP budgets."),
    method: str = typer.Option(
        "parabola", "--method", help="parabola (Hoffmann's approach 2) or envelope (approach 1)."
    ),
    window: float = typer.Option(
        1.0, "--window", help="Decades of N around each curve's lowest point fitted."
    ),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap replicates (0: none)."),
    ci: float = typer.Option(0.95, "--ci", help="Interval level."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
) -> None:
    """Loss-optimal N per compute budget (IsoFLOP curves), then N* = k_N C^a and
    D* = k_D C^b with bootstrap intervals. Writes optima.csv, exponents.csv and a figure per
    group: isoflop.png for the first row of exponents.csv, isoflop_<i>.png for row i."""
    from lawfit.data import InputError, read_table
    from lawfit.evaluate import isoflop
    from lawfit.plot import isoflop_figure

    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {out} exists and is not a folder")
    table = read_table(data)
    with shown_warnings(), timed("isoflop"):
        result = isoflop(table, n=n, d=d, loss=loss, compute=compute,
                         by=parse_list(by, option="--by"), method=method, window=window,
                         bootstrap=bootstrap, ci=ci, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    result.optima.to_csv(out / "optima.csv", index=False)
    result.exponents.to_csv(out / "exponents.csv", index=False)
    groups = result.exponents[list(result.by)].itertuples(index=False, name=None)
    for index, key in enumerate(groups):
        name = "isoflop.png" if index == 0 else f"isoflop_{index}.png"
        isoflop_figure(result, key if result.by else None).savefig(out / name, dpi=120)
    shown = result.exponents[[*result.by, "a", "a_lo", "a_hi", "b", "b_lo", "b_hi", "n_budgets"]]
    console.print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"),
                  highlight=False, soft_wrap=True)
    figures = "isoflop.png" if len(result.exponents) == 1 else f"{len(result.exponents)} figures"
    info(f"wrote optima.csv, exponents.csv and {figures} to {out}")
