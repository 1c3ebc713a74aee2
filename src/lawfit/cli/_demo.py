"""``lawfit demo``: the main job on bundled data, end to end."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from lawfit.cli._common import console, guarded, progress_bar
from lawfit.data import load, write_table
from lawfit.fit import fit as fit_frame


@guarded
def demo_command(
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for the CIs."),
    out: Path = typer.Option(Path("demo_out"), "--out", help="Folder for the demo's tables."),
) -> None:
    """Fit Chinchilla's law to Epoch AI's 240 points from Hoffmann's 4,500 starts, with CIs."""
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
        "Besiroglu et al. 2024 (Epoch): E 1.8172, A 482.01, B 2085.43, alpha 0.3478, beta 0.3658 "
        "(grid fit: E 1.817236, A 477.84, B 2143.86, alpha 0.347313, beta 0.367183)",
        highlight=False,
    )
    out.mkdir(parents=True, exist_ok=True)
    write_table(result.params, out / "chinchilla_params.csv")
    console.print(
        f"done in {time.perf_counter() - started:.1f} s; table in {out / 'chinchilla_params.csv'}"
    )
