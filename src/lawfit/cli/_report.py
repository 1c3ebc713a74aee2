"""``lawfit report``: an HTML page summarising the outputs in a folder."""

from __future__ import annotations

from pathlib import Path

import typer

from lawfit.cli._common import guarded, info


@guarded
def report_command(
    folder: Path = typer.Argument(..., metavar="DIR", help="Folder of lawfit outputs."),
    out: Path = typer.Option(None, "--out", help="HTML file to write (default DIR/report.html)."),
) -> None:
    """Write one self-contained HTML page (figures embedded, tables as HTML) summarising DIR.

    \b
    Recognised files (others are listed at the foot of the page):
      fit       any CSV/Parquet with columns objective, status, n_converged (lawfit fit)
      draws     any table with a resample column and a law's parameters (lawfit fit --draws)
      forecast  any table with median and lo_XX/hi_XX columns (lawfit forecast)
      optimal   any table with columns C, N_opt, D_opt (lawfit optimal --out)
      are.csv, leaderboard.csv   (lawfit hitchhiker --out DIR)
      optima.csv, exponents.csv  (lawfit isoflop --out DIR)
      *.png, *.svg               embedded as they are

    Exit codes: 0 done, 2 DIR is not a folder or holds nothing recognised.
    """
    from lawfit.report import write_report

    written = write_report(folder, out)
    info(f"wrote {written}")
