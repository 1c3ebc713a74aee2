"""1,000 Chinchilla-law posteriors (16 points each, 4 chains) in one batched call.

Each group is a synthetic family with its own exponents. Reports compile + run time of the
first call and the run time of a second call with new numbers (same shapes: no recompilation),
the posteriors' diagnostics, and, side by side, the baseline a user would write: NumPyro's
own ``MCMC(NUTS(model))`` (4 vectorised chains, same settings, compiled once and reused) run
posterior by posterior on ``--baseline`` of them, extrapolated to all.

On a CPU the posteriors are split across its cores exposed as JAX devices (``--devices``,
default all cores: ``XLA_FLAGS=--xla_force_host_platform_device_count``, set before JAX is
imported). Run: ``python benchmarks/bench_bayes.py [--groups 1000] [--warmup 300]
[--samples 300] [--max-tree-depth 5] [--target-accept 0.8] [--chunk K] [--baseline 5]``.
"""

from __future__ import annotations

import argparse
import os
import time


def families(n_groups: int, seed: int):
    import numpy as np
    import pandas as pd

    from lawfit.evaluate import simulate

    rng = np.random.default_rng(seed)
    n, d = np.meshgrid([1e7, 1e8, 1e9, 1e10], [1e9, 1e10, 1e11, 1e12])
    parts = []
    for g in range(n_groups):
        p = {"E": rng.uniform(1.5, 2.2), "A": 400.0, "B": 1500.0,
             "alpha": rng.uniform(0.25, 0.45), "beta": rng.uniform(0.25, 0.45)}
        parts.append(simulate("chinchilla", p, {"N": n, "D": d}, noise=0.01, seed=g, y="loss")
                     .assign(family=g))
    return pd.concat(parts, ignore_index=True)


def numpyro_baseline(frame, n_posteriors: int, args) -> tuple[float, float]:
    """Seconds per posterior of NumPyro's MCMC on the same model, one posterior at a time
    (the first run excluded): wall time, and wall time less JAX's tracing and compiling
    (NumPyro re-traces and recompiles its sampling loop on every ``run``)."""
    import jax
    import jax.monitoring
    import numpy as np
    from numpyro.infer import MCMC, NUTS, init_to_value

    from lawfit.bayes import make_model
    from lawfit.bayes._model import site_values
    from lawfit.bayes._posterior import cast, prepare, start_points
    from lawfit.laws import get

    law = get("chinchilla")
    subset = frame[frame["family"] < n_posteriors + 1]
    batch = prepare(subset, law, {"N": "N", "D": "D"}, "loss", "family", None, 0.05, 0,
                    pad_groups=False)
    data, hyper = cast(batch.data, np.float32), cast(batch.hyper, np.float32)
    starts = start_points(law, data, hyper, batch.theta_map, 0.05, np.float32)
    # started at lawfit's MAP fit, as lawfit's chains are (NumPyro's default random starts
    # can land where the law is not finite); one MCMC object, so it compiles once
    init = init_to_value(values=_constrained(site_values(law, starts[0, 0])))
    mcmc = MCMC(NUTS(make_model(law), dense_mass=True, max_tree_depth=args.max_tree_depth,
                     target_accept_prob=args.target_accept, init_strategy=init),
                num_warmup=args.warmup, num_samples=args.samples, num_chains=4,
                chain_method="vectorized", progress_bar=False, jit_model_args=True)
    compiling = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda name, secs, **_: compiling.append(secs) if name.startswith("/jax/core/compile")
        else None)
    times, net = [], []
    for g in range(n_posteriors + 1):
        one = jax.tree.map(lambda a, g=g: a[g], (data, hyper))
        start = {k: np.repeat(np.asarray(v)[None], 4, 0)
                 for k, v in site_values(law, starts[g, 0]).items()}
        compiling.clear()
        t0 = time.perf_counter()
        mcmc.run(jax.random.PRNGKey(g), *one, init_params=start)
        jax.block_until_ready(mcmc.get_samples())
        times.append(time.perf_counter() - t0)
        net.append(times[-1] - sum(compiling))
    return float(np.mean(times[1:])), float(np.mean(net[1:]))


def _constrained(values: dict) -> dict:
    import numpy as np

    return {**values, "sigma": np.exp(values["sigma"]), "nu": np.exp(values["nu"])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--max-tree-depth", type=int, default=5)
    ap.add_argument("--target-accept", type=float, default=0.8)
    ap.add_argument("--chunk", type=int, default=None,
                    help="posteriors sampled in lockstep per device (default: all)")
    ap.add_argument("--devices", type=int, default=os.cpu_count(),
                    help="CPU cores exposed as JAX devices (default: all)")
    ap.add_argument("--baseline", type=int, default=5,
                    help="posteriors run one by one with NumPyro's MCMC (0: skip)")
    args = ap.parse_args()
    flag = f"--xla_force_host_platform_device_count={args.devices}"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()

    import jax
    import jax.monitoring

    from lawfit.bayes import NUTS, posterior

    compiling = [0.0]  # seconds JAX spent tracing, lowering and compiling

    def count(event: str, seconds: float, **_):
        if event.startswith("/jax/core/compile/"):
            compiling[0] += seconds

    jax.monitoring.register_event_duration_secs_listener(count)

    kw = dict(by="family", chunk=args.chunk, sampler=NUTS(
        chains=4, warmup=args.warmup, samples=args.samples, max_tree_depth=args.max_tree_depth,
        target_accept=args.target_accept))
    print(f"device: {jax.devices()[0].device_kind} x {jax.device_count()}; 4 chains x "
          f"({args.warmup}+{args.samples}), max tree depth {args.max_tree_depth}, "
          f"target acceptance {args.target_accept}")
    ours = None
    for label, seed in (("first call (compiles)", 0), ("second call, new data", 1)):
        frame = families(args.groups, seed)
        t0, compiling[0] = time.perf_counter(), 0.0
        post = posterior(frame, "chinchilla", {"N": "N", "D": "D"}, "loss", **kw)
        ours = time.perf_counter() - t0
        g = post.groups
        print(f"{label}: {args.groups} posteriors in {ours:.1f} s ({compiling[0]:.1f} s of it "
              f"tracing and compiling); status "
              f"{g['status'].value_counts().to_dict()}; R-hat median {g['r_hat'].median():.3f} "
              f"max {g['r_hat'].max():.3f}; bulk ESS median {g['ess_bulk'].median():.0f} "
              f"min {g['ess_bulk'].min():.0f}", flush=True)
    if args.baseline:
        wall, sampling = numpyro_baseline(frame, args.baseline, args)
        print(f"baseline, NumPyro MCMC one posterior at a time (mean of {args.baseline}): "
              f"{wall:.2f} s per posterior, {sampling:.2f} s of it outside tracing/compiling "
              f"-> {wall * args.groups:.0f} s ({sampling * args.groups:.0f} s) for "
              f"{args.groups}; lawfit's second call is {wall * args.groups / ours:.1f}x "
              f"({sampling * args.groups / ours:.1f}x) faster", flush=True)


if __name__ == "__main__":
    main()
