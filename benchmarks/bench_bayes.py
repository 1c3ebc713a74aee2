"""1,000 Chinchilla-law posteriors (16 points each, 4 chains) in one batched call.

Each group is a synthetic family with its own exponents. Reports compile + run time of the
first call and the run time of a second call with new numbers (same shapes: no recompilation).
Run: ``python benchmarks/bench_bayes.py [--groups 1000] [--warmup 300] [--samples 300]
[--chunk K]``.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np
import pandas as pd

from lawfit.bayes import posterior
from lawfit.evaluate import simulate


def families(n_groups: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, d = np.meshgrid([1e7, 1e8, 1e9, 1e10], [1e9, 1e10, 1e11, 1e12])
    parts = []
    for g in range(n_groups):
        p = {"E": rng.uniform(1.5, 2.2), "A": 400.0, "B": 1500.0,
             "alpha": rng.uniform(0.25, 0.45), "beta": rng.uniform(0.25, 0.45)}
        parts.append(simulate("chinchilla", p, {"N": n, "D": d}, noise=0.01, seed=g, y="loss")
                     .assign(family=g))
    return pd.concat(parts, ignore_index=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--chunk", type=int, default=None,
                    help="posteriors sampled in lockstep (default: all)")
    args = ap.parse_args()
    kw = dict(by="family", warmup=args.warmup, samples=args.samples, chains=4, chunk=args.chunk)
    print(f"device: {jax.devices()[0].device_kind} x {jax.device_count()}")
    for label, seed in (("first call (compiles)", 0), ("second call, new data", 1)):
        frame = families(args.groups, seed)
        t0 = time.perf_counter()
        post = posterior(frame, "chinchilla", {"N": "N", "D": "D"}, "loss", **kw)
        dt = time.perf_counter() - t0
        status = post.groups["status"].value_counts().to_dict()
        print(f"{label}: {args.groups} posteriors x 4 chains x ({args.warmup}+{args.samples}) "
              f"in {dt:.1f} s; status {status}", flush=True)


if __name__ == "__main__":
    main()
