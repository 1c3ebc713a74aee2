"""Shared CLI plumbing: error handling, output levels, ``--module``, option parsing, progress
bars and warnings."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import importlib.util
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = [
    "Output",
    "console",
    "error_console",
    "escape",
    "guarded",
    "import_modules",
    "info",
    "output_level",
    "parse_bounds",
    "parse_inputs",
    "parse_list",
    "parse_mapping",
    "parse_numbers",
    "progress_bar",
    "refuse_overwrite",
    "shown_warnings",
    "timed",
    "with_module",
]

console = Console()
error_console = Console(stderr=True)


@dataclasses.dataclass(frozen=True)
class Output:
    """How much a command prints besides its results: ``quiet`` hides progress bars and
    info lines, ``verbose`` adds stage timings (set by the app's ``--quiet``/``--verbose``)."""

    quiet: bool = False
    verbose: bool = False



_NORMAL = Output()
#: The output level of the command being run (the app callback sets it per invocation).
output_level: contextvars.ContextVar[Output] = contextvars.ContextVar("output_level",
                                                                     default=_NORMAL)


def info(text: str) -> None:
    """An info line on stdout (``wrote ...``), hidden by ``--quiet``; printed as is."""
    if not output_level.get().quiet:
        console.print(text, highlight=False, soft_wrap=True, markup=False)


@contextlib.contextmanager
def timed(stage: str) -> Iterator[None]:
    """With ``--verbose``, ``time: STAGE N.N s`` on stderr once the block completes."""
    start = time.perf_counter()
    yield
    if output_level.get().verbose:
        error_console.print(f"time: {stage} {time.perf_counter() - start:.2f} s",
                            highlight=False, soft_wrap=True, markup=False)


def import_modules(paths: tuple[str, ...]) -> None:
    """Import each ``--module FILE.py`` (a file registering laws or methods) once, as a
    module named after the file; any failure is an :class:`InputError` naming ``--module``."""
    from lawfit.data import InputError

    for text in paths:
        path = Path(text)
        if path.suffix != ".py" or not path.is_file():
            raise InputError(f"--module {text!r}: expected an existing .py file")
        name = f"lawfit_user_{path.stem}_{abs(hash(os.path.realpath(path))):x}"
        if name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as err:  # the user's code: any failure is one line naming it
            del sys.modules[name]
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise InputError(
                f"--module {text!r} failed to import: {type(err).__name__}"
                + (f": {first}" if first else "")
            ) from None


def with_module(command: Callable) -> Callable:
    """``command`` with one more option, ``--module FILE.py`` (repeatable): the files are
    imported before the command runs, so the laws or methods they register can be named in
    its options (a failure is exit code 2 naming ``--module``)."""
    import inspect

    @functools.wraps(command)
    def wrapper(*args, module: list[Path] | None = None, **kwargs):
        from lawfit.data import InputError

        try:
            import_modules(tuple(map(str, module or ())))
        except InputError as err:
            _print_error(err)
            raise typer.Exit(code=2) from None
        return command(*args, **kwargs)

    option = inspect.Parameter(
        "module", inspect.Parameter.KEYWORD_ONLY, annotation=list[Path] | None,
        default=typer.Option(
            None, "--module", metavar="FILE.py",
            help="Python file imported first (it may register laws or methods); repeatable.",
        ),
    )
    signature = inspect.signature(command)
    wrapper.__signature__ = signature.replace(
        parameters=[*signature.parameters.values(), option]
    )
    wrapper.__annotations__ = {**command.__annotations__, "module": list[Path] | None}
    return wrapper


def _print_error(err: BaseException) -> None:
    error_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)


def guarded(command: Callable) -> Callable:
    """Turn :class:`InputError` (and interrupts) into a one-line message on stderr and exit
    code 2 (130), with no traceback; the message is printed as is (no rich markup)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from lawfit.data import InputError

        try:
            with timed("total"):
                return command(*args, **kwargs)
        except InputError as err:
            _print_error(err)
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


def parse_inputs(text: str) -> str | dict[str, str]:
    """--x as :func:`lawfit.fit` takes it: 'N=n_params,D=tokens' -> a mapping, a bare column
    (a one-input law) -> its name."""
    mapping = parse_mapping(text, option="--x")
    return mapping[""] if list(mapping) == [""] else mapping


def parse_numbers(text: str | None, *, option: str) -> dict[str, float]:
    """'E=1.69,alpha=0.34' -> {'E': 1.69, 'alpha': 0.34}; {} for None."""
    from lawfit.data import InputError

    if text is None:
        return {}
    values = {}
    for name, value in parse_mapping(text, option=option).items():
        if not name:
            raise InputError(f"{option}: expected NAME=VALUE pairs; got {text!r}")
        try:
            values[name] = float(value)
        except ValueError:
            raise InputError(f"{option}: {name}={value!r} is not a number") from None
    return values


def parse_starts(text: str, *, option: str = "--starts"):
    """'hoffmann' / 'grid' as given, '64' -> 64 random starts, 'E=1.69,A=406.4,...' -> one
    start (a one-row DataFrame with a value for every parameter)."""
    import pandas as pd

    text = text.strip()
    if text.isdigit():
        return int(text)
    if "=" in text:
        return pd.DataFrame([parse_numbers(text, option=option)])
    return text


def parse_bounds(text: str | None, *, option: str) -> dict[str, tuple[float | None, float | None]]:
    """'E=0:,alpha=0:2' -> {'E': (0.0, None), 'alpha': (0.0, 2.0)}: NAME=LO:HI pairs, an
    empty end open; {} for None."""
    from lawfit.data import InputError

    if text is None:
        return {}
    bounds = {}
    for name, span in parse_mapping(text, option=option).items():
        lo, sep, hi = span.partition(":")
        if not name or not sep:
            raise InputError(f"{option}: expected NAME=LO:HI pairs (an end may be empty, "
                             f"e.g. E=0:); got {text!r}")
        try:
            ends = tuple(float(v) if v.strip() else None for v in (lo, hi))
        except ValueError:
            raise InputError(f"{option}: {name}={span!r}: LO and HI must be numbers") from None
        if None not in ends and not ends[0] < ends[1]:
            raise InputError(f"{option}: {name}={span!r}: LO must be below HI")
        bounds[name] = ends
    return bounds


def refuse_overwrite(inputs: dict[str, Path | None], outputs: dict[str, Path | None]) -> None:
    """Refuse an output that is one of the inputs (also through a symlink or another
    spelling of the path): writing it would destroy the data."""
    from lawfit.data import InputError

    for out_option, out in outputs.items():
        if out is None or not out.exists():
            continue
        for in_option, source in inputs.items():
            if source is not None and source.exists() and os.path.samefile(out, source):
                raise InputError(f"{out_option} {str(out)!r} is the {in_option} file; "
                                 "writing it would overwrite the data: choose another path")


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
    """A rich progress bar on stderr; yields ``update(done, total)``. Drawn on a terminal
    only (elsewhere it would leave blank lines) and never with ``--quiet``."""
    if output_level.get().quiet or not error_console.is_terminal:
        yield lambda done, total: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=error_console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


#: Warnings meant for developers, not for the user of a command: not shown.
_DEVELOPER_WARNINGS = (DeprecationWarning, PendingDeprecationWarning)


@contextlib.contextmanager
def shown_warnings(
    category: type[Warning] = Warning, *, replace: Callable[[str], str] | None = None
) -> Iterator[None]:
    """Warnings of ``category`` (by default all but deprecations) raised inside, printed once
    the block completes as one line each, ``warning: ...`` on stderr: no source line,
    repeats shown once; ``replace`` rewrites the text (e.g. to name the command's output
    file). Other warnings pass on."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    shown = set()
    for item in caught:
        if not issubclass(item.category, category) or issubclass(item.category,
                                                                  _DEVELOPER_WARNINGS):
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
            continue
        text = str(item.message) if replace is None else replace(str(item.message))
        text = " ".join(text.split())
        if text not in shown:
            shown.add(text)
            error_console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False,
                                soft_wrap=True)
