"""``lawfit fit``: fit a law to a table and write the parameters table."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from lawfit.cli._common import (
    error_console,
    escape,
    guarded,
    info,
    parse_bounds,
    parse_inputs,
    parse_list,
    parse_numbers,
    parse_starts,
    progress_bar,
    refuse_overwrite,
    shown_warnings,
    timed,
)
from lawfit.cli._figures import check_plot_path, save_plot


def _check_outputs(data: Path, out: Path, draws, bootstrap: int, ci, plot, frame,
                   by_cols: list[str]) -> None:
    """Refuse unusable output options before any fitting."""
    from lawfit.data import InputError

    if str(out).lower().rsplit(".", 1)[-1] not in ("csv", "parquet", "pq"):
        raise InputError(f"--out {str(out)!r}: expected a .csv or .parquet extension")
    if not out.parent.is_dir():
        raise InputError(f"--out {str(out)!r}: folder {str(out.parent)!r} does not exist")
    refuse_overwrite({"data": data}, {"--out": out, "--draws": draws, "--plot": plot})
    if draws is not None and not bootstrap:
        raise InputError("--draws needs --bootstrap N (the draws are bootstrap resamples)")
    if ci is not None and not bootstrap:
        raise InputError("--ci needs --bootstrap N (the intervals are bootstrap percentiles)")
    check_plot_path(plot)
    if plot is not None and by_cols and set(by_cols) <= set(frame.columns):
        from lawfit.plot import MAX_GROUPS

        if frame.groupby(by_cols).ngroups > MAX_GROUPS:
            raise InputError(f"--plot: more than {MAX_GROUPS} groups to draw; filter the data")


def checkpoint_path(out: Path) -> Path:
    """Where ``--resume`` keeps finished groups: ``OUT.partial.parquet`` next to ``OUT``."""
    return out.with_name(out.name + ".partial.parquet")


@guarded
def fit_command(
    data: Path = typer.Argument(
        ..., help="CSV or Parquet file with one row per run or checkpoint."
    ),
    law: str = typer.Option(..., "--law", help="Law name (see `lawfit laws`)."),
    x: str = typer.Option(..., "--x", help="Inputs as NAME=COLUMN pairs, e.g. N=params,D=tokens."),
    y: str = typer.Option(..., "--y", help="Column of the observed loss."),
    by: str = typer.Option(None, "--by", help="Comma-separated group columns; one fit per group."),
    loss: str = typer.Option(
        "huber-log", "--loss", help="huber-log, mse, log-mse, msle, asymmetric-log or huber-log-scale."
    ),
    delta: float = typer.Option(1e-3, "--delta", help="Huber threshold on log residuals."),
    starts: str = typer.Option(
        "hoffmann", "--starts", help="'hoffmann' (the law's grid), a number of random starts, "
        "or one start as NAME=VALUE pairs for every parameter, e.g. "
        "E=1.69,A=406.4,B=410.7,alpha=0.34,beta=0.28."
    ),
    bootstrap: int = typer.Option(
        0, "--bootstrap", help="Bootstrap resamples per group (adds SEs and CIs)."
    ),
    solver: str = typer.Option("auto", "--solver", help="auto (LM for mse, L-BFGS for huber-log), lm or lbfgs."),
    seed: int = typer.Option(0, "--seed", help="Seed for random starts and resamples."),
    weights: str = typer.Option(None, "--weights", help="Optional column of per-point weights."),
    on_invalid: str = typer.Option(
        "raise", "--on-invalid", help="raise, or skip invalid groups (status invalid_input)."
    ),
    duplicates: str = typer.Option(
        "raise", "--duplicates", help="Repeated rows: raise, drop or keep."
    ),
    precision: str = typer.Option("float64", "--precision", help="float64 or float32."),
    fixed: str = typer.Option(
        None, "--fixed", help="Parameters held fixed, as NAME=VALUE pairs, e.g. alpha=0.34,E=1.69."
    ),
    bounds: str = typer.Option(
        None, "--bounds", help="Parameter bounds as NAME=LO:HI pairs, an empty end open, e.g. "
        "E=0:,alpha=0:2 (replace the law's bounds for those parameters).",
    ),
    ci: float = typer.Option(
        None, "--ci", help="With --bootstrap: level of the {param}_lo/_hi intervals (default 0.95)."
    ),
    max_steps: int = typer.Option(
        None, "--max-steps", help="Step cap per fit (default: the solver's); capped fits get "
        "status max_steps and a warning.",
    ),
    chunk: int = typer.Option(
        None, "--chunk", help="Groups per kernel call (default: chosen from the data's size)."
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Save finished groups to OUT.partial.parquet as the fit goes, and continue "
        "from that file if a previous run was interrupted.",
    ),
    out: Path = typer.Option(..., "--out", help="Output CSV or Parquet file of parameters."),
    draws: Path = typer.Option(
        None,
        "--draws",
        help="With --bootstrap, also write every resample's parameters (group columns, "
        "resample, parameters, status) to this CSV or Parquet file.",
    ),
    plot: Path = typer.Option(
        None, "--plot", help="Also draw the data and each group's fitted law (with its "
        "bootstrap band) to this PNG/SVG/PDF file; 20 groups at most.",
    ),
    dask_scheduler: str = typer.Option(
        None,
        "--dask",
        help="Fit on Dask: a scheduler address, or local:N for a LocalCluster of N workers. "
        "DATA (Parquet dataset or CSV) is read lazily, --by is required and --out is a folder "
        "of Parquet files, one per partition; rerunning skips partitions already written.",
    ),
) -> None:
    """Fit LAW to DATA and write one row of parameters per group to OUT.

    OUT's columns: the --by columns, the parameters, objective, status (converged,
    max_steps, stalled, nonfinite or invalid_input: how the best start's fit stopped), steps,
    n_points, n_converged (how many starts converged, not whether the fit did), message,
    warning (bounds, conditioning, the step cap), and with --bootstrap {param}_se/_lo/_hi.

    Exit codes: 0 done, 2 bad input (one line on stderr names the column and rows), 130
    interrupted (with --resume, finished groups are kept for the next run).
    """
    if dask_scheduler is not None:
        fit_on_dask(dask_scheduler, data, law, x, y, by, out, loss=loss, delta=delta,
                    starts=starts, bootstrap=bootstrap, solver=solver, seed=seed,
                    weights=weights, on_invalid=on_invalid, duplicates=duplicates,
                    precision=precision)
        return
    from lawfit.data import read_table

    with timed("read"):
        frame = read_table(data)
    by_cols = parse_list(by, option="--by")
    _check_outputs(data, out, draws, bootstrap, ci, plot, frame, by_cols)
    options = _fit_options(x, fixed, bounds, bootstrap, ci, starts)
    partial = checkpoint_path(out) if resume else None
    if partial is not None and partial.exists():
        info(f"resuming from {partial}")
    result = _fit_keeping_finished_groups(
        frame, law, y, out, partial, by=by_cols or None, loss=loss, delta=delta, solver=solver,
        seed=seed, weights=weights, on_invalid=on_invalid, duplicates=duplicates,
        precision=precision, max_steps=max_steps, chunk=chunk, **options,
    )
    _write_outputs(result, frame, out, draws, plot, partial)


def _fit_options(x: str, fixed, bounds, bootstrap: int, ci, starts: str) -> dict:
    """The parsed --x, --fixed, --bounds, --bootstrap/--ci and --starts, as :func:`lawfit.fit`
    keywords."""
    from lawfit.data import InputError
    from lawfit.fitting import Bootstrap

    options = {
        "mapping": parse_inputs(x),
        "fixed": parse_numbers(fixed, option="--fixed") or None,
        "bounds": parse_bounds(bounds, option="--bounds") or None,
    }
    try:
        options["bootstrap"] = Bootstrap(bootstrap, 0.95 if ci is None else ci)
    except InputError as err:
        raise InputError(f"--bootstrap/--ci: {err}") from None
    return {**options, "starts": parse_starts(starts)}


def _fit_keeping_finished_groups(frame, law: str, y: str, out: Path, partial, *, mapping,
                                 **options):
    """:func:`lawfit.fit` with a progress bar; on Ctrl-C with --resume, say where the finished
    groups are and exit 130."""
    from lawfit.fitting import fit as fit_frame

    try:
        with shown_warnings(replace=_name_output(out)), timed("fit"), \
                progress_bar(f"fitting {law}") as update:
            return fit_frame(frame, law, mapping, y, progress=update, checkpoint=partial,
                             **options)
    except KeyboardInterrupt:
        if partial is not None and partial.exists():
            error_console.print(
                f"[yellow]interrupted[/]; finished groups are saved in {escape(str(partial))}: rerun the "
                "same command (with --resume) to continue",
                highlight=False,
            )
            raise typer.Exit(code=130) from None
        raise


def _write_outputs(result, frame, out: Path, draws, plot, partial) -> None:
    """OUT (and --draws, --plot), then drop the --resume checkpoint and report the statuses."""
    from lawfit.data import write_table

    with timed("write"):
        write_table(result.params, out)
        if draws is not None and result.bootstrap is not None:
            write_table(result.bootstrap, draws)
    if partial is not None and partial.exists():
        os.remove(partial)
    if plot is not None:
        from lawfit.plot import fitted_laws

        with timed("plot"):
            save_plot(fitted_laws(result, frame), plot)
    counts = result.params["status"].value_counts().to_dict()
    info(f"wrote {len(result.params)} fits to {out} ({counts})")


def _name_output(out: Path):
    """Warnings of :func:`lawfit.fit` point at ``FitResult.params``: in the CLI, at OUT."""
    return lambda text: text.replace("FitResult.params", str(out))


def fit_on_dask(scheduler: str, data: Path, law, x, y, by, out: Path, *, starts, **options) -> None:
    """``lawfit fit --dask``: connect to (or start) a Dask cluster and fit partition by partition."""
    from lawfit.data import InputError
    from lawfit.fitting import fit as fit_frame
    from lawfit.fitting import read_dask

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("--dask needs dask and distributed: pip install 'lawfit[dask]'") from None
    if not by:
        raise InputError("--dask needs --by (the groups the data is split on)")
    if scheduler.startswith("local:"):
        n = scheduler.removeprefix("local:")
        if not n.isdigit() or int(n) < 1:
            raise InputError(f"--dask {scheduler!r}: expected local:N with N >= 1 workers")
        cluster = LocalCluster(n_workers=int(n), threads_per_worker=1, processes=True)
    else:
        cluster = scheduler
    frame = read_dask(data)
    mapping, start_spec = parse_inputs(x), parse_starts(starts)
    try:
        with Client(cluster):
            fit_frame(frame, law, mapping, y, by=parse_list(by, option="--by"), out=out,
                      starts=start_spec, **options)
    finally:
        if not isinstance(cluster, str):
            cluster.close()
    info(f"wrote {out}/part-*.parquet")
