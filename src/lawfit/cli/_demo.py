"""``lawfit demo``: the whole job on bundled data, end to end, in one command.

1. Chinchilla: Hoffmann's law fitted to Epoch AI's 240 points from Hoffmann's 4,500 starts,
   with bootstrap intervals, and the compute-optimal allocation (N*, D*) it implies.
2. Hitchhiker: a bulk refit of a few ColPret families (one law per family), then each
   family's largest model held out and forecast from the smaller ones, with intervals and
   the absolute relative error (ARE) against its true losses.
3. A terminal summary and one HTML report of every table and figure (``OUT/report.html``).

The forecasts' posteriors default to the Laplace approximation (seconds per family on two
cores, where NUTS takes minutes; ``--sampler nuts`` for a small NUTS run).
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from lawfit.cli._common import console, guarded, parse_list, progress_bar

CHINCHILLA_COMPUTE = 5.88e23  # FLOPs of Chinchilla-70B (Hoffmann et al. 2022)
#: Budgets of the compute-optimal table: 1e21 to 1e25 FLOPs and Chinchilla-70B's.
OPTIMAL_BUDGETS = (1e21, 1e22, 1e23, CHINCHILLA_COMPUTE, 1e24, 1e25)
#: Families with trajectories in several sizes, each with its own corpus and metric.
DEMO_FAMILIES = "pythia,pythia-deduped,OPT,lambda"
#: Checkpoints before this fraction of a model's final token count are dropped (warm-up: no
#: power law describes them), as in the calibration benchmark (docs/calibration.md).
WARMUP_FRACTION = 0.1
#: Training models are thinned to this many checkpoints, evenly spaced in log D.
CHECKPOINTS_PER_MODEL = 30
SAMPLERS = ("laplace", "nuts")


@guarded
def demo_command(
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for the CIs."),
    families: str = typer.Option(
        DEMO_FAMILIES, "--families", help="Comma-separated Hitchhiker families to refit and forecast."
    ),
    sampler: str = typer.Option(
        "laplace", "--sampler", help="Forecast posteriors: laplace (fast) or nuts (2 x 300 draws)."
    ),
    out: Path = typer.Option(Path("demo_out"), "--out", help="Folder for the tables, figures and report."),
) -> None:
    """The whole job on bundled data: Chinchilla's law with CIs and its compute-optimal
    allocation, a Hitchhiker refit with forecasts of each family's largest model, and an HTML
    report (OUT/report.html).

    Exit codes: 0 done, 2 bad input (one line on stderr names the option).
    """
    from lawfit.bayes import NUTS, Laplace
    from lawfit.data import InputError, load

    if bootstrap < 0:
        raise InputError(f"--bootstrap must be >= 0; got {bootstrap}")
    if sampler not in SAMPLERS:
        raise InputError(f"--sampler must be one of {', '.join(SAMPLERS)}; got {sampler!r}")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {str(out)!r} exists and is not a folder")
    chosen = parse_list(families, option="--families")
    corpus = load("hitchhiker")
    known = sorted(set(corpus["family"]))
    unknown = [f for f in chosen if f not in known]
    if unknown:
        raise InputError(f"--families: unknown {', '.join(unknown)}; valid: {', '.join(known)}")
    if not chosen:
        raise InputError("--families: name at least one family")
    posterior_sampler = (Laplace() if sampler == "laplace"
                         else NUTS(chains=2, warmup=300, samples=300))

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    _chinchilla(bootstrap, out)
    summary = _hitchhiker(corpus, chosen, posterior_sampler, out)

    from lawfit.report import write_report

    report = write_report(out)
    console.print(summary.to_string(index=False), highlight=False, soft_wrap=True)
    console.print(
        f"done in {time.perf_counter() - started:.1f} s; tables and figures in {out}/, "
        f"report in {report}",
        highlight=False,
        soft_wrap=True,
    )


def _chinchilla(bootstrap: int, out: Path) -> None:
    """Fit Chinchilla's law to Epoch AI's 240 points from Hoffmann's 4,500 starts, with CIs;
    write its parameters, draws, compute-optimal table and figure."""
    from matplotlib.figure import Figure

    from lawfit import plot
    from lawfit.data import load, write_table
    from lawfit.evaluate import compute_optimal
    from lawfit.fitting import fit as fit_frame

    frame = load("chinchilla")
    console.print(
        f"[bold]Chinchilla[/]: {len(frame)} points (Epoch AI's reconstruction, 5 outliers dropped); "
        "Huber (delta=1e-3) on log loss, summed; Hoffmann's 4,500-start grid; "
        f"{bootstrap} bootstrap resamples.",
        highlight=False,
    )
    started = time.perf_counter()
    with progress_bar("fitting") as update:
        result = fit_frame(
            frame,
            "chinchilla",
            {"N": "N", "D": "D"},
            "loss",
            starts="hoffmann",
            bootstrap=bootstrap,
            solver="lbfgs",
            progress=update,
        )
    console.print(result.summary(), highlight=False)
    console.print(
        "Epoch AI's grid fit (Besiroglu et al. 2024): E 1.817236, A 477.84, B 2143.86, "
        "alpha 0.347313, beta 0.367183, objective 0.00101827",
        highlight=False,
    )
    optimal = compute_optimal(result, list(OPTIMAL_BUDGETS))
    point = optimal[optimal["C"] == CHINCHILLA_COMPUTE].iloc[0]
    line = (
        f"Compute-optimal at C = {CHINCHILLA_COMPUTE:.3g} FLOPs: N* = {point['N_opt']:.3g}, "
        f"D* = {point['D_opt']:.3g}, D*/N* = {point['tokens_per_param']:.1f}"
    )
    if result.bootstrap is not None:
        line += (f" (95% bootstrap interval {point['tokens_per_param_lo']:.1f}-"
                 f"{point['tokens_per_param_hi']:.1f})")
    console.print(line + "; Hoffmann et al.'s own fit gives 92.8, the 'Chinchilla rule' 20.", highlight=False)

    write_table(result.params, out / "chinchilla_params.csv")
    write_table(optimal, out / "chinchilla_optimal.csv")
    if result.bootstrap is not None:
        write_table(result.bootstrap, out / "chinchilla_bootstrap.csv")
    fig = Figure(figsize=(11, 4.5))  # no pyplot: needs no backend, nothing to close
    axes = fig.subplots(1, 2)
    plot.curves(result, frame, along="D", ax=axes[0])
    plot.parity(result, frame, ax=axes[1])
    fig.tight_layout()
    fig.savefig(out / "chinchilla_fit.png", dpi=110)
    console.print(f"Chinchilla done in {time.perf_counter() - started:.1f} s", highlight=False)


def hitchhiker_demo_data(corpus, families):
    """The rows of ``families`` with a positive loss and past the warm-up (``D`` at least
    :data:`WARMUP_FRACTION` of the model's final tokens), split into the training rows
    (every model but the family's largest, thinned to :data:`CHECKPOINTS_PER_MODEL` per
    model evenly in log D, :func:`lawfit.data.thin_runs`) and the held-out rows (the largest
    model's checkpoints)."""
    from lawfit.data import thin_runs

    rows = corpus[corpus["family"].isin(families) & (corpus["loss"] > 0)]
    final = rows.groupby(["family", "model"])["D"].transform("max")
    rows = rows[rows["D"] >= WARMUP_FRACTION * final].reset_index(drop=True)
    largest = rows.groupby("family")["N"].transform("max")
    train, held_out = rows[rows["N"] < largest], rows[rows["N"] == largest]
    keep = thin_runs(train, ["family", "model"], "D", CHECKPOINTS_PER_MODEL, spacing="log")
    train = train[keep].reset_index(drop=True)
    return rows, train, held_out.reset_index(drop=True)


def _hitchhiker(corpus, families, sampler, out: Path):
    """Refit ``families`` (all their models), forecast each one's largest model from the
    others; write the tables and return the per-family summary."""
    import warnings

    from lawfit.bayes import forecast
    from lawfit.data import InputError, write_table
    from lawfit.fitting import fit as fit_frame

    rows, train, held_out = hitchhiker_demo_data(corpus, families)
    sizes = rows.groupby("family")["N"].nunique()
    few = sorted(sizes[sizes < 3].index)
    if few:
        raise InputError(f"--families: {', '.join(few)} have fewer than 3 model sizes "
                         "(one is held out, two are too few to forecast from)")
    console.print(
        f"[bold]Hitchhiker[/]: {len(families)} families ({', '.join(families)}), "
        f"{len(rows)} checkpoints past the {WARMUP_FRACTION:.0%} warm-up; refit by family, then "
        f"each family's largest model forecast from {len(train)} checkpoints of the others "
        f"({type(sampler).__name__} posteriors, backtest-learned discrepancy).",
        highlight=False,
    )
    started = time.perf_counter()
    x = {"N": "N", "D": "D"}
    with warnings.catch_warnings():  # E at its bound is in each row's warning column
        warnings.simplefilter("ignore")
        with progress_bar("refitting families") as update:
            refit = fit_frame(rows, "chinchilla", x, "loss", by="family", starts=64,
                              progress=update)
        predicted = forecast(train, "chinchilla", x, "loss", at=held_out[["family", "N", "D"]],
                             by="family", axis="N", sampler=sampler)
    table = predicted.table.assign(loss=held_out["loss"].to_numpy())
    table["are"] = (table["median"] - table["loss"]).abs() / table["loss"]
    write_table(refit.params, out / "hitchhiker_params.csv")
    write_table(table, out / "hitchhiker_forecast.csv")

    table["inside_95"] = (table["lo_95"] <= table["loss"]) & (table["loss"] <= table["hi_95"])
    last = table.loc[table.groupby("family")["D"].idxmax()].set_index("family")
    summary = table.groupby("family").agg(
        held_out_N=("N", "first"), checkpoints=("D", "size"), median_are=("are", "median"),
        inside_95=("inside_95", "mean"))
    summary["final_loss"] = last["loss"]
    summary["forecast_95"] = [f"{m:.3g} [{lo:.3g}, {hi:.3g}]" for m, lo, hi
                              in last[["median", "lo_95", "hi_95"]].to_numpy()]
    status = predicted.groups.set_index("family")["status"]
    summary["posterior"] = status
    summary = summary.reset_index()
    summary["held_out_N"] = summary["held_out_N"].map("{:.3g}".format)
    summary["median_are"] = summary["median_are"].map("{:.2%}".format)
    summary["inside_95"] = summary["inside_95"].map("{:.0%}".format)
    console.print(f"Hitchhiker done in {time.perf_counter() - started:.1f} s", highlight=False)
    return summary
