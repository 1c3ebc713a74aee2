"""``lawfit report``: one self-contained HTML page summarising the outputs in a folder.

Recognised files (anything else is listed at the foot of the page):

- a fit: any CSV/Parquet with columns ``objective``, ``status``, ``n_converged``
  (``lawfit fit --out``): the parameters table;
- draws: any table with a ``resample`` column and the parameters of a registered law
  (``lawfit fit --draws``): pair plots and 2.5/50/97.5% quantiles per group;
- a forecast: any table with ``median`` and ``lo_XX``/``hi_XX`` columns (``lawfit
  forecast``): the table and the intervals' figure;
- a compute-optimal table: columns ``C``, ``N_opt``, ``D_opt`` (``lawfit optimal --out``):
  the table and the frontier;
- ``are.csv`` and ``leaderboard.csv`` (``lawfit hitchhiker --out DIR``): ARE box plots with
  the median per family and method, and the leaderboard;
- ``optima.csv`` and ``exponents.csv`` (``lawfit isoflop --out DIR``): the tables;
- ``*.png``, ``*.svg``: embedded as they are.

``DIR/report.html`` (the default output) is never read.
"""

from __future__ import annotations

import os
from pathlib import Path

from lawfit.data import InputError
from lawfit.report._html import page
from lawfit.report._sections import KINDS, sections

__all__ = ["KINDS", "build_report", "write_report"]


def build_report(folder: str | os.PathLike, skip: tuple[str | os.PathLike, ...] = ()) -> str:
    """The HTML page for ``folder`` (``folder/report.html``, an earlier report, and the files
    in ``skip`` left out); :class:`InputError` naming the folder when it is not a folder or
    holds nothing recognised."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"DIR {str(folder)!r} is not a folder")
    found, ignored = sections(folder, (folder / "report.html", *map(Path, skip)))
    if not found:
        listed = ", ".join(ignored[:8]) + (" ..." if len(ignored) > 8 else "") if ignored else "no files"
        raise InputError(
            f"DIR {str(folder)!r} holds nothing the report recognises ({listed}); see "
            "`lawfit report --help` for the files it reads"
        )
    from lawfit import __version__

    meta = f"{len(found)} section(s) from {folder.resolve()}; lawfit {__version__}"
    footer = f"Not recognised: {', '.join(ignored)}." if ignored else ""
    return page(f"lawfit report: {folder.resolve().name}", meta, found, footer)


def write_report(folder: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write :func:`build_report` of ``folder`` to ``out`` (default ``folder/report.html``,
    left out of its own report) and return the path."""
    if not Path(folder).is_dir():
        raise InputError(f"DIR {str(folder)!r} is not a folder")
    out = Path(folder) / "report.html" if out is None else Path(out)
    out = out.resolve() if out.is_symlink() else out  # write through a link, keep the link
    if out.is_dir():
        raise InputError(f"--out {str(out)!r} is a folder")
    if not out.parent.is_dir():
        raise InputError(f"--out {str(out)!r}: folder {str(out.parent)!r} does not exist")
    text = build_report(folder, skip=(out,))
    temporary = out.with_name(f".{out.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, out)
    return out
