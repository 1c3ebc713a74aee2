"""``lawfit demo``: the main job on bundled data, end to end."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from lawfit.cli._common import console, guarded, progress_bar

CHINCHILLA_COMPUTE = 5.88e23  # FLOPs of Chinchilla-70B (Hoffmann et al. 2022)


@guarded
def demo_command(
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for the CIs."),
    out: Path = typer.Option(Path("demo_out"), "--out", help="Folder for the demo's tables and figure."),
) -> None:
    """Fit Chinchilla's law to Epoch AI's 240 points from Hoffmann's 4,500 starts, with CIs."""
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
    point = compute_optimal(result, CHINCHILLA_COMPUTE).iloc[0]
    line = (
        f"Compute-optimal at C = {CHINCHILLA_COMPUTE:.3g} FLOPs: N* = {point['N_opt']:.3g}, "
        f"D* = {point['D_opt']:.3g}, D*/N* = {point['tokens_per_param']:.1f}"
    )
    if result.bootstrap is not None:
        line += (f" (95% bootstrap interval {point['tokens_per_param_lo']:.1f}-"
                 f"{point['tokens_per_param_hi']:.1f})")
    console.print(line + "; Hoffmann et al.'s own fit gives 92.8, the 'Chinchilla rule' 20.", highlight=False)

    out.mkdir(parents=True, exist_ok=True)
    write_table(result.params, out / "chinchilla_params.csv")
    if result.bootstrap is not None:
        write_table(result.bootstrap, out / "chinchilla_bootstrap.csv")
    fig = Figure(figsize=(11, 4.5))  # no pyplot: needs no backend, nothing to close
    axes = fig.subplots(1, 2)
    plot.curves(result, frame, along="D", ax=axes[0])
    plot.parity(result, frame, ax=axes[1])
    fig.tight_layout()
    fig.savefig(out / "chinchilla_fit.png", dpi=110)
    console.print(
        f"done in {time.perf_counter() - started:.1f} s; tables and figure in {out}/",
        highlight=False,
    )
