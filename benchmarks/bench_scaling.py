"""Scaling curves: time and peak memory against the number of fits, lawfit vs scipy vs optimistix.

The same problems for every method: n synthetic Chinchilla fits (20 points each, 1% noise,
parameters drawn around Hoffmann et al.'s), least squares on log loss (the objective all
three solve) from Hoffmann et al.'s estimates, parameters (log E, log A, log B, alpha, beta).

* lawfit: ``fit_batch`` with Levenberg-Marquardt (``LogMSE``), and lawfit's default for bulk
  refits, L-BFGS on Huber (delta 1e-3) of log loss;
* optimistix (if installed, ``pip install optimistix``): ``optx.least_squares`` with
  ``optx.LevenbergMarquardt``, jitted and vmapped over the fits (rtol = atol = 1e-8);
* scipy: ``least_squares(method="lm")`` with the analytic Jacobian, fit by fit, on at most
  ``--scipy-fits`` of them (time scaled to n).

Each (method, n) runs in a fresh process: ``compile`` is the first call less the second,
``run`` the second call (new data, same shapes; the data are generated before any timing),
``peak RSS`` the process's maximum resident memory; scipy's first fit (imports, set-up) is
not timed. Run: ``python benchmarks/bench_scaling.py [--sizes 10,100,1000,10000,100000]``
(add 1000000 for the largest point; it needs a few GiB; ``--methods lawfit-lm,scipy`` leaves
the slower ones out).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import common

HOFFMANN = np.array(list(common.HOFFMANN.values()))  # E, A, B, alpha, beta
N_POINTS = 20


def problems(n: int, seed: int):
    """(n, P) inputs and observations of n synthetic Chinchilla fits."""
    rng = np.random.default_rng(seed)
    truth = HOFFMANN * rng.uniform(0.8, 1.2, (n, 5))
    params = 10 ** rng.uniform(7, 10, (n, N_POINTS))
    tokens = 10 ** rng.uniform(9, 12, (n, N_POINTS))
    clean = truth[:, :1] + truth[:, 1:2] / params ** truth[:, 3:4] + truth[:, 2:3] / tokens ** truth[:, 4:5]
    return params, tokens, clean * np.exp(0.01 * rng.standard_normal(clean.shape))


def _lawfit(solver_name: str):
    import jax

    jax.config.update("jax_enable_x64", True)
    from lawfit import laws
    from lawfit.fitting import LBFGS, HuberLog, LevenbergMarquardt, LogMSE, MultiStart, fit_batch

    law = laws.chinchilla
    solver, objective = {"lm": (LevenbergMarquardt(), LogMSE()),
                         "lbfgs": (LBFGS(), HuberLog(1e-3))}[solver_name]

    def run(data):
        params, tokens, y = data
        out = fit_batch(law, {"N": params, "D": tokens}, y, np.ones_like(y),
                        starts=MultiStart(HOFFMANN[None], lanes=1024), lower=law.lower,
                        upper=law.upper, solver=solver, objective=objective)
        return float(np.mean(out.status == 0))

    return run


def _optimistix():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optimistix as optx

    def residuals(theta, data):
        log_n, log_d, log_y = data
        log_e, log_a, log_b, alpha, beta = theta
        pred = jnp.logaddexp(jnp.logaddexp(log_a - alpha * log_n, log_b - beta * log_d), log_e)
        return log_y - pred

    solver = optx.LevenbergMarquardt(rtol=1e-8, atol=1e-8)
    y0 = jnp.log(jnp.asarray([HOFFMANN[0], HOFFMANN[1], HOFFMANN[2]]))
    y0 = jnp.concatenate([y0, jnp.asarray(HOFFMANN[3:])])

    @jax.jit
    def solve_all(data):
        def one(d):
            sol = optx.least_squares(residuals, solver, y0, args=d, throw=False, max_steps=256)
            return sol.result == optx.RESULTS.successful
        return jax.vmap(one)(data)

    def run(data):
        params, tokens, y = data
        ok = solve_all((jnp.log(params), jnp.log(tokens), jnp.log(y)))
        return float(np.mean(np.asarray(ok)))

    return run


def _scipy(max_fits: int):
    from scipy.optimize import least_squares

    def residuals(theta, log_n, log_d, log_y):
        log_e, log_a, log_b, alpha, beta = theta
        return log_y - np.logaddexp(np.logaddexp(log_a - alpha * log_n, log_b - beta * log_d), log_e)

    def jacobian(theta, log_n, log_d, log_y):
        log_e, log_a, log_b, alpha, beta = theta
        t = np.stack([np.full_like(log_n, log_e), log_a - alpha * log_n, log_b - beta * log_d])
        w = np.exp(t - t.max(axis=0))
        w /= w.sum(axis=0)
        return -np.stack([w[0], w[1], w[2], -w[1] * log_n, -w[2] * log_d], axis=1)

    x0 = np.r_[np.log(HOFFMANN[:3]), HOFFMANN[3:]]

    def run(data):
        """Converged share and number of fits: the first ``max_fits`` problems of ``data``."""
        params, tokens, y = data
        k = min(len(y), max_fits)
        ok = [least_squares(residuals, x0, jac=jacobian, method="lm",
                            args=(np.log(params[i]), np.log(tokens[i]), np.log(y[i]))).success
              for i in range(k)]
        return float(np.mean(ok)), k

    return run


def measure(method: str, n: int, max_scipy: int) -> dict:
    """One (method, n) in this process: compile, run seconds, converged share, peak RSS."""
    first_data, data = problems(n, 0), problems(n, 1)  # generated before any timing
    if method == "scipy":
        run = _scipy(max_scipy)
        run(tuple(a[:1] for a in first_data))  # imports and first-call set-up, not timed
        began = time.perf_counter()
        ok, k = run(data)
        seconds = (time.perf_counter() - began) * n / k
        compile_s = 0.0
    else:
        run = _optimistix() if method == "optimistix" else _lawfit(method.split("-")[1])
        began = time.perf_counter()
        run(first_data)
        first = time.perf_counter() - began
        began = time.perf_counter()
        ok = run(data)
        seconds = time.perf_counter() - began
        compile_s = max(first - seconds, 0.0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {"method": method, "n": n, "compile": compile_s, "run": seconds, "ok": ok, "rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000,10000,100000", help="numbers of fits")
    parser.add_argument("--scipy-fits", type=int, default=300, help="scipy fits timed per size")
    parser.add_argument("--methods", default=None,
                        help="comma-separated subset of lawfit-lm,lawfit-lbfgs,optimistix,scipy "
                             "(default: all installed)")
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.scipy_fits)))
        return
    methods = ["lawfit-lm", "lawfit-lbfgs", "scipy"]
    try:
        import optimistix  # noqa: F401

        methods.insert(2, "optimistix")
    except ImportError:
        print("optimistix is not installed: its column is skipped (pip install optimistix)")
    if args.methods:
        wanted = args.methods.split(",")
        unknown = sorted(set(wanted) - {"lawfit-lm", "lawfit-lbfgs", "optimistix", "scipy"})
        if unknown:
            parser.error(f"--methods: unknown {', '.join(unknown)}")
        methods = [m for m in methods if m in wanted]
    print(f"device: {common.devices()}; {N_POINTS} points per fit; times in seconds, peak RSS in GiB")
    print("| method | fits | compile | run | per fit (run) | converged | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for n in (int(float(s)) for s in args.sizes.split(",")):
        for method in methods:
            out = subprocess.run([sys.executable, __file__, "--one", method, str(n),
                                  "--scipy-fits", str(args.scipy_fits)],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            scaled = " (scaled)" if method == "scipy" and n > args.scipy_fits else ""
            print(f"| {method} | {n:,} | {r['compile']:.2f} | {r['run']:.3f}{scaled} | "
                  f"{1e3 * r['run'] / n:.4f} ms | {r['ok']:.1%} | {r['rss']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
