"""Bulk refits end to end: ``lawfit fit --by`` on many ragged groups, in a fresh process.

Writes a seeded synthetic corpus (``--groups`` Chinchilla groups of 10-30 points each, N and
D log-uniform, 1% log-normal noise, E varying by group) to a Parquet file, then runs the
command a user would run, ``lawfit fit DATA --law chinchilla --by group ...``, in a fresh
process with the compilation cache off, and reports its wall time and peak RSS. One start per
group: Hoffmann et al.'s estimates (``--start hoffmann-estimate``, the default) or one
Latin-hypercube start (``--start random``).

The baseline, side by side: the loop a user would write with scipy (``groupby`` and
``minimize(method="L-BFGS-B")`` with an analytic gradient of the same Huber objective, from the
same start) on a seeded sample of ``--scipy-groups`` groups, its time scaled to all groups.

Run: ``python benchmarks/bench_bulk.py`` (``--groups 1000000 --dask local:2`` streams a
corpus through the Dask backend, partition by partition).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).parent))
from bench_fit import huber_objective_and_grad
from common import HOFFMANN, devices


def corpus(n_groups: int, seed: int = 0) -> pd.DataFrame:
    """``n_groups`` ragged groups of 10-30 noisy Chinchilla points."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(10, 31, n_groups)
    group = np.repeat(np.arange(n_groups), sizes)
    n = len(group)
    params, tokens = 10 ** rng.uniform(7, 10, n), 10 ** rng.uniform(9, 12, n)
    irreducible = rng.uniform(1.5, 2.0, n_groups)[group]
    loss = irreducible + 400 / params**0.34 + 1500 / tokens**0.28
    return pd.DataFrame(
        {"group": group, "N": params, "D": tokens, "loss": loss * np.exp(rng.normal(0, 0.01, n))}
    )


def run_lawfit(data: Path, out: Path, start: str, dask: str | None) -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB) of ``lawfit fit`` in a fresh process."""
    starts = ",".join(f"{k}={v}" for k, v in HOFFMANN.items()) if start != "random" else "1"
    command = [sys.executable, "-m", "lawfit", "fit", str(data), "--law", "chinchilla",
               "--x", "N=N,D=D", "--y", "loss", "--by", "group", "--starts", starts,
               "--out", str(out)]
    if dask:
        command += ["--dask", dask]
    env = {**os.environ, "LAWFIT_COMPILE_CACHE": "off"}
    began = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    seconds = time.perf_counter() - began
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20


def scipy_seconds_per_fit(frame: pd.DataFrame, n_groups: int, seed: int = 1) -> float:
    """A user's scipy loop over a sample of groups: seconds per group (grouping included)."""
    groups = np.random.default_rng(seed).choice(frame["group"].max() + 1, n_groups, replace=False)
    sample = frame[frame["group"].isin(groups)]
    x0 = [*np.log([HOFFMANN["A"], HOFFMANN["B"], HOFFMANN["E"]]), HOFFMANN["alpha"], HOFFMANN["beta"]]
    began = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for _, rows in sample.groupby("group"):
            data = (np.log(rows["N"].to_numpy()), np.log(rows["D"].to_numpy()),
                    np.log(rows["loss"].to_numpy()))
            minimize(huber_objective_and_grad, x0, args=data, method="L-BFGS-B", jac=True)
    return (time.perf_counter() - began) / n_groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=100_000, help="groups (fits) in the corpus")
    parser.add_argument("--start", choices=("hoffmann-estimate", "random"), default="hoffmann-estimate")
    parser.add_argument("--scipy-groups", type=int, default=300, help="groups the scipy loop fits")
    parser.add_argument("--dask", default=None, help="fit through --dask (e.g. local:2)")
    args = parser.parse_args()

    frame = corpus(args.groups)
    print(f"device: {devices()}; {args.groups:,} groups, {len(frame):,} rows, start {args.start}")
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "corpus.parquet", Path(tmp) / "fits.parquet"
        frame.to_parquet(data)
        seconds, rss = run_lawfit(data, out, args.start, args.dask)
        fits = pd.read_parquet(out, columns=["status"])
    per_fit = scipy_seconds_per_fit(frame, min(args.scipy_groups, args.groups))
    statuses = fits["status"].value_counts().to_dict()
    print("| method | wall (all groups) | per fit | peak RSS | statuses |")
    print("|---|---|---|---|---|")
    print(f"| `lawfit fit --by` (fresh process, compile included) | {seconds:.1f} s | "
          f"{1e3 * seconds / args.groups:.3f} ms | {rss:.2f} GiB | {statuses} |")
    print(f"| scipy L-BFGS-B loop, analytic gradient, Hoffmann estimates as start "
          f"({args.scipy_groups} groups, scaled) | "
          f"{per_fit * args.groups:.0f} s | {1e3 * per_fit:.3f} ms | | |")
    print(f"lawfit is {per_fit * args.groups / seconds:.1f}x faster than the scipy loop")


if __name__ == "__main__":
    main()
