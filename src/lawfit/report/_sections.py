"""What the report recognises in a folder, and the section each recognised file becomes."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lawfit.data import InputError, read_table
from lawfit.report._html import Section, figure_png, table_html

__all__ = ["KINDS", "Kind", "sections"]

_TABLES = (".csv", ".parquet", ".pq")
_IMAGES = {".png": "image/png", ".svg": "image/svg+xml"}
#: Groups of a draws table given a pair plot each (the rest are counted).
MAX_PAIR_PLOTS = 3


@dataclass(frozen=True)
class Kind:
    """A kind of file the report recognises (the list is in :mod:`lawfit.report`'s docstring
    and ``lawfit report --help``): ``name``, ``matches(path, table)`` and ``build(path, table)
    -> Section``."""

    name: str
    matches: Callable[[Path, pd.DataFrame], bool]
    build: Callable[[Path, pd.DataFrame], Section]


def _draw(caption: str, make) -> tuple[str, str] | str:
    """``(caption, data URI)`` of the figure ``make()`` returns (a Figure or axes), or the
    reason it could not be drawn."""
    try:
        artist = make()
    except (InputError, ValueError) as err:
        return f"{caption}: not drawn ({err})"
    fig = getattr(artist, "figure", artist)
    return caption, figure_png(fig)


def _section(title: str, path: Path, text: str, tables: list[str], drawn: list) -> Section:
    figures = tuple(d for d in drawn if isinstance(d, tuple))
    notes = [d for d in drawn if isinstance(d, str)]
    text = " ".join([text, *notes]).strip()
    return Section(title, path.name, text, tuple(tables), figures)


def _columns(*names: str) -> Callable[[Path, pd.DataFrame], bool]:
    return lambda path, table: set(names) <= set(table.columns)


def _named(filename: str) -> Callable[[Path, pd.DataFrame], bool]:
    return lambda path, table: path.name == filename


def _param_names(columns) -> list[str]:
    """The parameters of the registered law with the most parameters that are all columns."""
    from lawfit import laws

    fitting = [laws.get(n).param_names for n in laws.names()
               if set(laws.get(n).param_names) <= set(columns)]
    return list(max(fitting, key=len)) if fitting else []


# --- the kinds -------------------------------------------------------------------------------


def _fit(path: Path, table: pd.DataFrame) -> Section:
    counts = table["status"].value_counts().to_dict()
    text = f"{len(table)} fitted group(s); status: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    return _section("Fitted parameters", path, text + ".", [table_html(table)], [])


def _draws(path: Path, table: pd.DataFrame) -> Section:
    from lawfit.plot import pair_plot

    params = _param_names(table.columns)
    kept = table[table["status"] == "converged"] if "status" in table.columns else table
    by = [c for c in table.columns if c not in {*params, "resample", "status", "message"}]
    groups = list(kept.groupby(by, sort=False)) if by else [((), kept)]
    drawn = []
    for key, rows in groups[:MAX_PAIR_PLOTS]:
        key = key if isinstance(key, tuple) else (key,)
        name = ", ".join(f"{c}={k}" for c, k in zip(by, key, strict=True)) or "all rows"
        drawn.append(_draw(f"{name}: {len(rows)} converged resamples",
                           lambda rows=rows: pair_plot(rows, params=params or None)))
    more = f" Pair plots of the first {MAX_PAIR_PLOTS} groups." if len(groups) > MAX_PAIR_PLOTS else ""
    text = (f"{len(table)} resamples of {len(groups)} group(s), {len(kept)} converged; "
            f"parameters {', '.join(params) or 'not recognised'}.{more}")
    spread = kept.groupby(by, sort=False)[params] if by else kept[params]
    summary = spread.quantile([0.025, 0.5, 0.975]) if params else None
    tables = []
    if summary is not None:
        summary = summary.reset_index()
        summary = summary.rename(columns={summary.columns[len(by)] if by else "index": "quantile"})
        tables.append(table_html(summary))
    return _section("Parameter draws", path, text, tables, drawn)


def _forecast_axis(table: pd.DataFrame) -> tuple[str | None, list[str]]:
    """The forecast's x column (the numeric target column with most distinct values) and its
    group columns (the non-numeric target columns)."""
    targets = list(table.columns[: list(table.columns).index("median")])
    numeric = [c for c in targets if pd.api.types.is_numeric_dtype(table[c]) and table[c].nunique() > 1
               and (table[c] > 0).all()]
    by = [c for c in targets if not pd.api.types.is_numeric_dtype(table[c])]
    return (max(numeric, key=lambda c: table[c].nunique()) if numeric else None), by


def _forecast(path: Path, table: pd.DataFrame) -> Section:
    from lawfit.plot import forecast_intervals

    x, by = _forecast_axis(table)
    drawn = [] if x is None else [_draw(f"forecast median and intervals against {x}",
                                        lambda: forecast_intervals(table, x, by=by or None))]
    return _section("Forecast", path, f"{len(table)} target(s).", [table_html(table)], drawn)


def _optimal(path: Path, table: pd.DataFrame) -> Section:
    from lawfit.plot import frontier

    drawn = [_draw("compute-optimal N* and D* against C", lambda: frontier(table))]
    return _section("Compute-optimal allocation", path, f"{len(table)} row(s) (group x budget).",
                    [table_html(table)], drawn)


def _are(path: Path, table: pd.DataFrame) -> Section:
    from lawfit.plot import method_comparison

    values = pd.to_numeric(table["are"], errors="coerce")
    median = (table.assign(are=values).groupby(["family", "method"])["are"].median()
              .unstack("method").rename_axis(columns=None).reset_index())
    drawn = [_draw("ARE by method and family", lambda: method_comparison(table))]
    text = (f"{len(table)} fitted laws; {int(np.isfinite(values).sum())} with a finite ARE. "
            "The table gives the median ARE per family and method.")
    return _section("Method comparison (ARE)", path, text, [table_html(median, max_rows=200)], drawn)


def _plain(title: str, text: str) -> Callable[[Path, pd.DataFrame], Section]:
    return lambda path, table: _section(title, path, text, [table_html(table)], [])


KINDS: tuple[Kind, ...] = (
    Kind("fit", _columns("objective", "status", "n_converged"), _fit),
    Kind("draws", lambda p, t: "resample" in t.columns and bool(_param_names(t.columns)), _draws),
    Kind("forecast", lambda p, t: "median" in t.columns
         and any(str(c).startswith("lo_") for c in t.columns), _forecast),
    Kind("optimal", _columns("C", "N_opt", "D_opt"), _optimal),
    Kind("are", lambda p, t: p.name == "are.csv" and {"family", "method", "are"} <= set(t.columns),
         _are),
    Kind("leaderboard", _named("leaderboard.csv"), _plain("Leaderboard", "Methods ranked per family.")),
    Kind("isoflop-optima", _named("optima.csv"),
         _plain("IsoFLOP optima", "Loss-optimal size per compute budget.")),
    Kind("isoflop-exponents", _named("exponents.csv"),
         _plain("IsoFLOP exponents", "N* ~ C^a and D* ~ C^b.")),
)


def _image(path: Path) -> Section:
    mime = _IMAGES[path.suffix.lower()]
    uri = f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    return Section(f"Figure: {path.name}", path.name, "", (), ((path.name, uri),))


def sections(folder: Path, skip: tuple[Path, ...] = ()) -> tuple[list[Section], list[str]]:
    """The sections of the recognised files of ``folder`` (tables by :data:`KINDS`' order,
    then figures, each by file name), and the names of the files left out."""
    found: list[tuple[int, str, Section]] = []
    ignored = []
    skipped = {os.path.realpath(p) for p in skip}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or os.path.realpath(path) in skipped:
            continue
        suffix = path.suffix.lower()
        if suffix in _IMAGES:
            found.append((len(KINDS), path.name, _image(path)))
            continue
        kind = None
        if suffix in _TABLES:
            try:
                table = read_table(path)
            except InputError:
                table = None
            if table is not None:
                kind = next((i for i, k in enumerate(KINDS) if k.matches(path, table)), None)
        if kind is None:
            ignored.append(path.name)
        else:
            found.append((kind, path.name, KINDS[kind].build(path, table)))
    found.sort(key=lambda item: item[:2])
    return [section for *_, section in found], ignored
