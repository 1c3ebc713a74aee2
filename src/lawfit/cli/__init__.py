"""The ``lawfit`` command line: one module per command.

The command modules import jax and lawfit's packages inside the commands, so ``lawfit --help``
and argument errors do not pay for them.
"""

from __future__ import annotations

import typer

from lawfit.cli._cache import use_compilation_cache
from lawfit.cli._common import Output, output_level, with_module
from lawfit.cli._compare import compare_command
from lawfit.cli._demo import demo_command
from lawfit.cli._fit import fit_command
from lawfit.cli._forecast import forecast_command
from lawfit.cli._hitchhiker import hitchhiker_command
from lawfit.cli._isoflop import isoflop_command
from lawfit.cli._laws import laws_command
from lawfit.cli._optimal import optimal_command
from lawfit.cli._predict import predict_command
from lawfit.cli._report import report_command

app = typer.Typer(
    name="lawfit",
    help="Fit, compare and forecast neural scaling laws.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for _name, _command in [
    ("fit", fit_command),
    ("forecast", forecast_command),
    ("predict", predict_command),
    ("compare", compare_command),
    ("demo", demo_command),
    ("laws", laws_command),
    ("hitchhiker", hitchhiker_command),
    ("optimal", optimal_command),
    ("isoflop", isoflop_command),
    ("report", report_command),
]:
    app.command(_name)(with_module(_command))  # every command takes --module FILE.py


def _print_version(value: bool) -> None:
    if value:
        from lawfit import __version__

        typer.echo(f"lawfit {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress bars or info lines: results and errors only."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Also print how long each stage took (on stderr)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True,
        help="Print lawfit's version and exit.",
    ),
) -> None:
    """Fit, compare and forecast neural scaling laws."""
    if quiet and verbose:
        raise typer.BadParameter("--quiet and --verbose exclude each other")
    output_level.set(Output(quiet=quiet, verbose=verbose))

def main() -> None:
    """Console-script entry point (with JAX's persistent compilation cache,
    :mod:`lawfit.cli._cache`)."""
    use_compilation_cache()
    app()
