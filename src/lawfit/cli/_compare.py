"""``lawfit compare``: laws of the zoo fitted to the same data, ranked by a held-out
extrapolation backtest and by AIC/BIC."""

from __future__ import annotations

from pathlib import Path

import typer

from lawfit.cli._common import console, guarded, parse_list, parse_mapping

#: Python argument -> the option of this command that gives it, for error messages.
_OPTIONS = {"data": "DATA", "x": "--x", "laws": "--laws", "by": "--by", "cut": "--cut",
            "cut_column": "--cut-column", "cut_value": "--cut-value", "loss": "--loss",
            "law": "--laws"}


@guarded
def compare_command(
    data: Path = typer.Argument(..., help="Runs (CSV or Parquet)."),
    x: str = typer.Option(
        ..., "--x", help="Inputs as NAME=COLUMN pairs for every law compared, e.g. "
        "N=params,D=tokens,x=compute."
    ),
    y: str = typer.Option(..., "--y", help="Column of the observed loss (> 0)."),
    out: Path = typer.Option(..., "--out", help="Folder for comparison.csv, points.csv and "
                             "compare.png."),
    laws: str = typer.Option(
        None, "--laws", help="Laws to compare, comma-separated (default: every law whose "
        "inputs --x maps)."
    ),
    by: str = typer.Option(None, "--by", help="Group columns, comma-separated."),
    cut: float = typer.Option(
        None, "--cut", help="Fraction of each group's largest scale values held out (default "
        "0.2); the scale is --cut-column, else the product of the laws' size columns."
    ),
    cut_column: str = typer.Option(None, "--cut-column", help="Column the cut is on."),
    cut_value: float = typer.Option(
        None, "--cut-value", help="Hold out the rows with --cut-column above this value."
    ),
    loss: str = typer.Option("huber-log", "--loss", help="Fitting objective (see lawfit fit)."),
    delta: float = typer.Option(1e-3, "--delta", help="Huber delta."),
    starts: int = typer.Option(
        None, "--starts", help="Latin-hypercube starts per fit (default: each law's grid)."
    ),
    max_steps: int = typer.Option(None, "--max-steps", help="Step cap per fit."),
    seed: int = typer.Option(0, "--seed", help="Seed of the starts."),
) -> None:
    """Fit each law to DATA (all groups at once), score its extrapolation to the held-out
    largest points and its AIC/BIC on all points, and write comparison.csv (one row per
    group x law, ranked), points.csv and a figure per group (compare.png, compare_<i>.png).

    AIC/BIC use a Gaussian likelihood on log residuals with the noise scale profiled out
    (k = parameters + 1). Exit codes: 0 done, 2 bad input (one line on stderr).
    """
    from lawfit.cli._predict import options_named
    from lawfit.data import InputError, read_table
    from lawfit.evaluate import compare_laws
    from lawfit.plot import law_comparison

    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {out} exists and is not a folder")
    if cut is not None and cut_value is not None:
        raise InputError("--cut: give either --cut or --cut-value, not both")
    if cut_value is not None and cut_column is None:
        raise InputError("--cut-value needs --cut-column (the column it is a value of)")
    mapping = parse_mapping(x, option="--x")
    if "" in mapping:
        raise InputError(f"--x: expected NAME=COLUMN pairs; got {x!r}")
    table = read_table(data)
    try:
        result = compare_laws(
            table, mapping, y, laws=parse_list(laws, option="--laws") or None,
            by=parse_list(by, option="--by"), cut=0.2 if cut is None else cut,
            cut_column=cut_column, cut_value=cut_value, loss=loss, delta=delta,
            starts="grid" if starts is None else starts, max_steps=max_steps, seed=seed,
        )
    except InputError as err:
        raise options_named(err, _OPTIONS) from None
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "comparison.csv", index=False)
    result.points.to_csv(out / "points.csv", index=False)
    keys = result.table[result.by].drop_duplicates().itertuples(index=False, name=None)
    for index, key in enumerate(keys):
        name = "compare.png" if index == 0 else f"compare_{index}.png"
        law_comparison(result, key if result.by else None).savefig(out / name, dpi=120)
    console.print(result.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
                  highlight=False, soft_wrap=True)
    console.print(f"wrote comparison.csv, points.csv and figures to {out}", highlight=False)
