"""Shared CLI plumbing: error handling, option parsing and progress bars."""

from __future__ import annotations

import contextlib
import functools
import sys
import warnings
from collections.abc import Callable, Iterator

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = [
    "console",
    "error_console",
    "escape",
    "guarded",
    "parse_list",
    "parse_mapping",
    "progress_bar",
    "shown_warnings",
]

console = Console()
error_console = Console(stderr=True)


def guarded(command: Callable) -> Callable:
    """Turn :class:`InputError` (and interrupts) into a one-line message on stderr and exit
    code 2 (130), with no traceback; the message is printed as is (no rich markup)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from lawfit.data import InputError

        try:
            return command(*args, **kwargs)
        except InputError as err:
            error_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            error_console.print("[yellow]interrupted[/]; completed outputs were kept")
            raise typer.Exit(code=130) from None

    return wrapper


def parse_mapping(text: str, *, option: str) -> dict[str, str]:
    """'N=n_params,D=tokens' -> {'N': 'n_params', 'D': 'tokens'}; a bare 'col' -> {'': 'col'}."""
    from lawfit.data import InputError

    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, column = part.partition("=")
        if not sep:
            if len(text.split(",")) == 1:
                return {"": part}
            raise InputError(
                f"{option}: expected NAME=COLUMN pairs separated by commas; got {part!r}"
            )
        if not name.strip() or not column.strip():
            raise InputError(f"{option}: empty name or column in {part!r}")
        out[name.strip()] = column.strip()
    if not out:
        raise InputError(f"{option}: expected NAME=COLUMN pairs; got {text!r}")
    return out


def parse_list(text: str | None, *, option: str, convert=str) -> list:
    """'a,b,c' -> ['a', 'b', 'c'] (converted), or [] for None."""
    from lawfit.data import InputError

    if text is None:
        return []
    items = [p.strip() for p in text.split(",") if p.strip()]
    try:
        return [convert(item) for item in items]
    except ValueError:
        raise InputError(f"{option}: cannot read {text!r} as a comma-separated list") from None


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr; yields ``update(done, total)``."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=error_console, transient=not sys.stderr.isatty()) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextlib.contextmanager
def shown_warnings(category: type[Warning]) -> Iterator[None]:
    """Warnings of ``category`` raised inside, printed as ``warning: ...`` lines on stderr
    once the block completes (every one, not only the first); other warnings pass on."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", category)
        yield
    for item in caught:
        if issubclass(item.category, category):
            error_console.print(f"[yellow]warning:[/] {escape(str(item.message))}",
                                highlight=False, soft_wrap=True)
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
