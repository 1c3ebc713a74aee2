"""The report's page: one self-contained HTML document (styles inline, figures as base64 PNG
data URIs, tables as HTML tables), from a list of sections."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["MAX_ROWS", "Section", "figure_png", "page", "table_html"]

#: Rows of a table shown in the page (the rest are counted).
MAX_ROWS = 50

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
p.meta, p.note, footer { color: #666; font-size: 0.9em; }
nav ul { columns: 2; font-size: 0.95em; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.8em 0; display: block;
        overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; white-space: nowrap; }
th { background: #f0f3f7; }
tr:nth-child(even) td { background: #fafafa; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.85em; }
"""


@dataclass(frozen=True)
class Section:
    """One part of the report: a title, the file(s) it comes from, a line of text, HTML tables
    and figures (``(caption, data URI)`` pairs)."""

    title: str
    source: str
    text: str = ""
    tables: tuple[str, ...] = ()
    figures: tuple[tuple[str, str], ...] = field(default=())


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table_html(frame: pd.DataFrame, max_rows: int = MAX_ROWS) -> str:
    """``frame`` as an HTML table (numbers to 4 significant digits, text escaped), its first
    ``max_rows`` rows and a note counting the rest."""
    shown = frame.head(max_rows)
    out = shown.to_html(index=False, border=0, escape=True, na_rep="",
                        formatters={c: _cell for c in shown.columns})
    if len(frame) > max_rows:
        out += f'<p class="note">first {max_rows} of {len(frame)} rows</p>'
    return out


def figure_png(fig, dpi: int = 100) -> str:
    """A matplotlib figure as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _anchor(i: int) -> str:
    return f"s{i}"


def page(title: str, meta: str, sections: list[Section], footer: str = "") -> str:
    """The whole HTML document."""
    esc = html.escape
    toc = "".join(f'<li><a href="#{_anchor(i)}">{esc(s.title)}</a></li>' for i, s in enumerate(sections))
    body = []
    for i, s in enumerate(sections):
        parts = [f'<section id="{_anchor(i)}"><h2>{esc(s.title)}</h2>',
                 f'<p class="meta">from {esc(s.source)}</p>']
        if s.text:
            parts.append(f"<p>{esc(s.text)}</p>")
        for caption, uri in s.figures:
            parts.append(f'<figure><img src="{uri}" alt="{esc(caption)}">'
                         f"<figcaption>{esc(caption)}</figcaption></figure>")
        parts.extend(s.tables)
        parts.append("</section>")
        body.append("".join(parts))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>{esc(title)}</h1><p class="meta">{esc(meta)}</p>'
        f"<nav><ul>{toc}</ul></nav>{''.join(body)}"
        + (f"<footer><p>{esc(footer)}</p></footer>" if footer else "")
        + "</body></html>\n"
    )
