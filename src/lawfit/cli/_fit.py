"""``lawfit fit``: fit a law to a table and write the parameters table."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from lawfit.cli._common import (
    console,
    error_console,
    escape,
    guarded,
    parse_list,
    parse_mapping,
    progress_bar,
    shown_warnings,
)
from lawfit.cli._figures import check_plot_path, save_plot


def _check_outputs(out: Path, draws, bootstrap: int, plot, frame, by_cols: list[str]) -> None:
    """Refuse unusable output options before any fitting."""
    from lawfit.data import InputError

    if str(out).lower().rsplit(".", 1)[-1] not in ("csv", "parquet", "pq"):
        raise InputError(f"--out {str(out)!r}: expected a .csv or .parquet extension")
    if not out.parent.is_dir():
        raise InputError(f"--out {str(out)!r}: folder {str(out.parent)!r} does not exist")
    if draws is not None and not bootstrap:
        raise InputError("--draws needs --bootstrap N (the draws are bootstrap resamples)")
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
        "hoffmann", "--starts", help="'hoffmann' (the law's grid) or a number of random starts."
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

    Exit codes: 0 done, 2 bad input (one line on stderr names the column and rows), 130
    interrupted (with --resume, finished groups are kept for the next run).
    """
    if dask_scheduler is not None:
        fit_on_dask(dask_scheduler, data, law, x, y, by, out, loss=loss, delta=delta,
                    starts=starts, bootstrap=bootstrap, solver=solver, seed=seed,
                    weights=weights, on_invalid=on_invalid, duplicates=duplicates,
                    precision=precision)
        return
    from lawfit.data import read_table, write_table
    from lawfit.fitting import IllConditionedWarning
    from lawfit.fitting import fit as fit_frame

    frame = read_table(data)
    _check_outputs(out, draws, bootstrap, plot, frame, parse_list(by, option="--by"))
    mapping = parse_mapping(x, option="--x")
    mapping = mapping[""] if list(mapping) == [""] else mapping
    try:
        start_spec = int(starts)
    except ValueError:
        start_spec = starts
    partial = checkpoint_path(out) if resume else None
    if partial is not None and partial.exists():
        console.print(f"resuming from {partial}", highlight=False)
    try:
        with shown_warnings(IllConditionedWarning), progress_bar(f"fitting {law}") as update:
            result = fit_frame(
                frame,
                law,
                mapping,
                y,
                by=parse_list(by, option="--by") or None,
                loss=loss,
                delta=delta,
                starts=start_spec,
                bootstrap=bootstrap,
                solver=solver,
                seed=seed,
                weights=weights,
                on_invalid=on_invalid,
                duplicates=duplicates,
                precision=precision,
                progress=update,
                checkpoint=partial,
            )
    except KeyboardInterrupt:
        if partial is not None and partial.exists():
            error_console.print(
                f"[yellow]interrupted[/]; finished groups are saved in {escape(str(partial))}: rerun the "
                "same command (with --resume) to continue",
                highlight=False,
            )
            raise typer.Exit(code=130) from None
        raise
    write_table(result.params, out)
    if draws is not None and result.bootstrap is not None:
        write_table(result.bootstrap, draws)
    if partial is not None and partial.exists():
        os.remove(partial)
    if plot is not None:
        from lawfit.plot import fitted_laws

        save_plot(fitted_laws(result, frame), plot)
    counts = result.params["status"].value_counts().to_dict()
    console.print(f"wrote {len(result.params)} fits to {out} ({counts})", highlight=False)


def fit_on_dask(scheduler: str, data: Path, law, x, y, by, out: Path, *, starts, **options) -> None:
    """``lawfit fit --dask``: connect to (or start) a Dask cluster and fit partition by partition."""
    from lawfit.data import InputError
    from lawfit.fitting import fit as fit_frame

    try:
        import dask.dataframe as dd
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
    text = str(data)
    frame = dd.read_csv(text) if text.lower().endswith(".csv") else dd.read_parquet(text)
    mapping = parse_mapping(x, option="--x")
    mapping = mapping[""] if list(mapping) == [""] else mapping
    start_spec = int(starts) if starts.isdigit() else starts
    try:
        with Client(cluster):
            fit_frame(frame, law, mapping, y, by=parse_list(by, option="--by"), out=out,
                      starts=start_spec, **options)
    finally:
        if not isinstance(cluster, str):
            cluster.close()
    console.print(f"wrote {escape(str(out))}/part-*.parquet", highlight=False)
