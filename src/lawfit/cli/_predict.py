"""``lawfit predict``: predictions at target inputs from a saved ``lawfit fit`` output, no
refit."""

from __future__ import annotations

from pathlib import Path

import typer

from lawfit.cli._common import console, guarded, parse_inputs, parse_list, shown_warnings

#: Python argument -> the option of this command that gives it, for error messages.
_OPTIONS = {"params": "PARAMS", "at": "--at", "x": "--x", "by": "--by", "draws": "--draws",
            "law": "--law", "ci": "--ci"}


def options_named(err: Exception, options: dict[str, str]) -> Exception:
    """An :class:`InputError` whose leading Python argument name (``at: ...``) is replaced by
    the command-line option that gives it (``--at: ...``)."""
    from lawfit.data import InputError

    head, sep, rest = str(err).partition(":")
    head, _, tail = head.partition(" ")
    if sep and head in options:
        return InputError(f"{options[head]}{' ' + tail if tail else ''}:{rest}")
    return err


def check_output(out: Path | None, *inputs: Path) -> None:
    """Refuse an ``--out`` with another extension than .csv/.parquet, in a missing folder, or
    naming one of the command's input files (before any work)."""
    from lawfit.data import InputError

    if out is None:
        return
    if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise InputError(f"--out {str(out)!r}: expected a .csv or .parquet extension")
    if not out.parent.is_dir():
        raise InputError(f"--out {str(out)!r}: folder {str(out.parent)!r} does not exist")
    for path in inputs:
        if path is not None and out.resolve() == path.resolve():
            raise InputError(f"--out {str(out)!r} is an input file; it would be overwritten")


@guarded
def predict_command(
    params: Path = typer.Argument(..., help="A `lawfit fit` output (CSV or Parquet)."),
    at: Path = typer.Option(..., "--at", help="CSV or Parquet of targets (the x and by columns)."),
    law: str = typer.Option("chinchilla", "--law", help="The fitted law (see `lawfit laws`)."),
    x: str = typer.Option(
        None, "--x", help="Inputs as NAME=COLUMN pairs of --at (default: columns named as the "
        "law's inputs)."
    ),
    by: str = typer.Option(
        None, "--by", help="Group columns (default: every non-parameter column of PARAMS)."
    ),
    draws: Path = typer.Option(
        None, "--draws", help="Bootstrap resamples (`lawfit fit --draws`) for percentile "
        "intervals."
    ),
    ci: float = typer.Option(0.95, "--ci", help="Interval level with --draws."),
    out: Path = typer.Option(None, "--out", help="Write the table to this CSV or Parquet file."),
) -> None:
    """Predict at the rows of --at from each row's group in PARAMS and print (or write) one
    row per target: its columns, prediction, and with --draws lo_XX, hi_XX.

    A target group missing from PARAMS is an error; a group whose fit did not converge gives
    NaN and a warning line. Exit codes: 0 done, 2 bad input (one line on stderr).
    """
    from lawfit.data import InputError, read_table, write_table
    from lawfit.fitting import UnconvergedFitWarning, predict

    check_output(out, params, at, draws)
    table, targets = read_table(params), read_table(at)
    mapping = None if x is None else parse_inputs(x)
    try:
        with shown_warnings(UnconvergedFitWarning):
            result = predict(table, targets, law=law, x=mapping,
                             by=parse_list(by, option="--by") if by else None,
                             draws=None if draws is None else read_table(draws), ci=ci)
    except InputError as err:
        raise options_named(err, _OPTIONS) from None
    if out is None:
        console.print(result.to_string(index=False, float_format=lambda v: f"{v:.6g}"),
                      highlight=False, soft_wrap=True)
    else:
        write_table(result, out)
        console.print(f"wrote {len(result)} predictions to {out}", highlight=False)
