"""Many families' forecasts end to end: ``lawfit forecast --by family`` in a fresh process.

The protocol of docs/calibration.md ("Forecasts at scale"): every ColPret family with at least
``--min-sizes`` sizes and ``--min-rows`` training checkpoints at D >= ``--min-tokens`` is
trained on its smaller models' checkpoints at D >= ``--min-tokens`` and forecasts its largest
model's checkpoints there (the bundled corpus: nine families, 4,973 training rows, 864
targets). The command a user would run, with the compilation cache off:

    lawfit forecast train.parquet --law chinchilla --x N=N,D=D --y loss --by family \\
        --at targets.parquet --out forecast.parquet [EXTRA ...]

Reported: wall and CPU time and peak RSS of that process, the lines it prints (thinning,
discrepancy, flagged posteriors), and the forecasts scored against the held-out losses:
coverage of the central intervals (pooled over targets, and with families weighted equally),
mean |coverage - level|, median absolute relative error of the predictive median (pooled, and
per family).

``--src DIR`` runs another checkout's ``lawfit`` (its ``src`` folder first on PYTHONPATH), for a
baseline run side by side: e.g. the code as it was when a figure was first measured.

Run: ``python benchmarks/bench_forecast.py`` (``-- --thin 0`` passes options to the command).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import devices

LEVELS = (0.5, 0.8, 0.95)


def families(min_sizes: int, min_rows: int, min_tokens: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, targets with their ``loss``) of the leave-largest-model-out protocol."""
    import lawfit

    corpus = lawfit.load("hitchhiker")
    corpus = corpus[np.isfinite(corpus["loss"]) & (corpus["D"] >= min_tokens)]
    largest = corpus["N"] == corpus.groupby("family")["N"].transform("max")
    sizes = corpus.groupby("family")["N"].transform("nunique")
    training_rows = (~largest).groupby(corpus["family"]).transform("sum")
    chosen = (sizes >= min_sizes) & (training_rows >= min_rows)
    columns = ["family", "N", "D", "loss"]
    train = corpus.loc[chosen & ~largest, columns].reset_index(drop=True)
    targets = corpus.loc[chosen & largest, columns].reset_index(drop=True)
    return train, targets


def environment(src: str | None) -> dict:
    """This process's environment, with ``src`` (another checkout's lawfit) first on PYTHONPATH."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(src).resolve()), env.get("PYTHONPATH", "")])
    return env


def run_forecast(train: Path, targets: Path, out: Path, extra: list[str], src: str | None):
    """(wall s, CPU s, peak RSS GiB, printed output) of ``lawfit forecast`` in a fresh process."""
    # The entry point by import, not ``-m lawfit``: older checkouts have no ``__main__``.
    command = [sys.executable, "-c", "import sys; from lawfit.cli import main; sys.argv[0] = "
               "'lawfit'; main()", "forecast", str(train), "--law", "chinchilla", "--x",
               "N=N,D=D", "--y", "loss", "--by", "family", "--at", str(targets), "--out", str(out),
               *extra]
    env = {**environment(src), "LAWFIT_COMPILE_CACHE": "off"}
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode:
        sys.exit(f"lawfit forecast failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 2**20, done.stdout


def score(forecasts: pd.DataFrame, targets: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Pooled figures and a per-family table: coverage per level and the median ARE."""
    percents = [round(100 * level) for level in LEVELS]
    cover = [f"cover_{p}" for p in percents]
    scored = targets.assign(
        are=(forecasts["median"].to_numpy() - targets["loss"]).abs() / targets["loss"],
        **{c: targets["loss"].between(forecasts[f"lo_{p}"].to_numpy(), forecasts[f"hi_{p}"].to_numpy())
           for c, p in zip(cover, percents, strict=True)},
    )
    per_family = scored.groupby("family").agg(
        targets=("loss", "size"), median_are=("are", "median"), **{c: (c, "mean") for c in cover})
    pooled = scored[cover].mean().to_numpy()
    weighted = per_family[cover].mean().to_numpy()
    return {
        "pooled": pooled,
        "weighted": weighted,
        "pooled_error": np.abs(pooled - np.array(LEVELS)).mean(),
        "weighted_error": np.abs(weighted - np.array(LEVELS)).mean(),
        "median_are": scored["are"].median(),
        "family_median_are": per_family["median_are"].median(),
    }, per_family


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-sizes", type=int, default=4, help="sizes a family needs")
    parser.add_argument("--min-rows", type=int, default=50, help="training checkpoints it needs")
    parser.add_argument("--min-tokens", type=float, default=1e10, help="checkpoints kept from D")
    parser.add_argument("--src", default=None, help="another checkout's src folder to run")
    parser.add_argument("--keep", default=None, help="folder to keep the tables in")
    parser.add_argument("extra", nargs="*", help="options for lawfit forecast (after --)")
    args = parser.parse_args()

    train, targets = families(args.min_sizes, args.min_rows, args.min_tokens)
    print(f"device: {devices(environment(args.src))}; {train['family'].nunique()} families, {len(train):,} "
          f"training rows, {len(targets):,} targets; lawfit from {args.src or 'this checkout'}; "
          f"options: {' '.join(args.extra) or '(defaults)'}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {name: folder / f"{name}.parquet" for name in ("train", "targets", "forecast")}
        train.to_parquet(paths["train"])
        targets.drop(columns="loss").to_parquet(paths["targets"])
        seconds, cpu, rss, printed = run_forecast(paths["train"], paths["targets"],
                                                  paths["forecast"], args.extra, args.src)
        figures, per_family = score(pd.read_parquet(paths["forecast"]), targets)
    print(printed.rstrip())
    print(per_family.to_string(float_format=lambda v: f"{v:.3f}"))
    cover = " / ".join(f"{v:.2f}" for v in figures["pooled"])
    weighted = " / ".join(f"{v:.2f}" for v in figures["weighted"])
    print("| wall | CPU time | peak RSS | cover 50 / 80 / 95 (pooled) | mean abs error | "
          "families weighted | mean abs error | median ARE (pooled) | median of families' |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {seconds / 60:.1f} min | {cpu / 60:.1f} min | {rss:.2f} GiB | {cover} | "
          f"{figures['pooled_error']:.3f} | {weighted} | {figures['weighted_error']:.3f} | "
          f"{100 * figures['median_are']:.2f}% | {100 * figures['family_median_are']:.2f}% |")


if __name__ == "__main__":
    main()
