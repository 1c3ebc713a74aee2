"""lawfit against scipy's L-BFGS-B on the same problems, in the same process.

(a) The Epoch AI replication of Hoffmann et al.'s fit: 240 Chinchilla points, Huber
    (delta = 1e-3) on log loss, summed, from each of Hoffmann's 4,500 starts; the best kept.
    scipy is run as in Epoch's notebook (``minimize(..., method="L-BFGS-B")``, gradients by
    finite differences) and, as a stronger baseline, with an analytic gradient.
(b) 1,000 independent single-start Chinchilla fits on synthetic data (40 points each).

Per-fit times are wall-clock seconds divided by the number of fits; lawfit is timed warm
(compiled once before timing), scipy runs a random subset of the starts (``--scipy-fits``)
unless ``--full``. Run: ``python benchmarks/bench_fit.py`` (add ``--full`` for all 4,500).
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

import lawfit  # noqa: E402
from common import HOFFMANN  # noqa: E402  (benchmarks/common.py, beside this script)
from lawfit import laws  # noqa: E402
from lawfit.fitting import LBFGS, LevenbergMarquardt, MultiStart, fit_batch  # noqa: E402

DELTA = 1e-3


def huber_objective(params, log_n, log_d, log_loss):
    """Epoch's objective in their parameters (a, b, e, alpha, beta): A = e^a etc."""
    a, b, e, alpha, beta = params
    pred = np.logaddexp(np.logaddexp(a - alpha * log_n, b - beta * log_d), e)
    r = log_loss - pred
    return np.sum(np.where(np.abs(r) <= DELTA, 0.5 * r * r, DELTA * (np.abs(r) - 0.5 * DELTA)))


def huber_objective_and_grad(params, log_n, log_d, log_loss):
    a, b, e, alpha, beta = params
    t1, t2 = a - alpha * log_n, b - beta * log_d
    m = np.maximum(np.maximum(t1, t2), e)
    q1, q2, q3 = np.exp(t1 - m), np.exp(t2 - m), np.exp(e - m)
    z = q1 + q2 + q3
    r = log_loss - (m + np.log(z))
    f = np.sum(np.where(np.abs(r) <= DELTA, 0.5 * r * r, DELTA * (np.abs(r) - 0.5 * DELTA)))
    c = -np.clip(r, -DELTA, DELTA) / z
    grad = np.array([(c * q1).sum(), (c * q2).sum(), (c * q3).sum(),
                     (-c * q1 * log_n).sum(), (-c * q2 * log_d).sum()])
    return f, grad


def hoffmann_grid() -> np.ndarray:
    """Epoch's starts in their order: (a, b, e, alpha, beta)."""
    rows = itertools.product(np.arange(0, 2.5, 0.5), np.arange(0, 2.5, 0.5), np.arange(-1, 1.5, 0.5),
                             np.arange(0, 30, 5), np.arange(0, 30, 5))
    return np.array([[a, b, e, alpha, beta] for alpha, beta, e, a, b in rows])


def scipy_fits(starts, data, analytic: bool):
    """Run L-BFGS-B from each start; returns (seconds, best objective, best params)."""
    best_f, best_x = np.inf, None
    began = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for x0 in starts:
            if analytic:
                res = minimize(huber_objective_and_grad, x0, args=data, method="L-BFGS-B", jac=True)
            else:
                res = minimize(huber_objective, x0, args=data, method="L-BFGS-B")
            if res.success and res.fun < best_f:
                best_f, best_x = res.fun, res.x
    return time.perf_counter() - began, best_f, best_x


def timed(fn, repeats: int):
    fn()  # compile
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - began)
    return float(np.median(times)), out


def natural(epoch_params) -> dict:
    a, b, e, alpha, beta = epoch_params
    return {"E": np.exp(e), "A": np.exp(a), "B": np.exp(b), "alpha": alpha, "beta": beta}


def bench_grid(args) -> None:
    frame = lawfit.load("chinchilla")
    data = (np.log(frame["N"].to_numpy()), np.log(frame["D"].to_numpy()), np.log(frame["loss"].to_numpy()))
    law = laws.chinchilla
    starts = law.start_grid()
    n_all = len(starts)
    y = frame["loss"].to_numpy()[None]
    x = {"N": frame["N"].to_numpy()[None], "D": frame["D"].to_numpy()[None]}
    print(f"(a) Epoch grid: {len(frame)} points, {n_all} starts, Huber delta={DELTA} summed on log loss")

    rows = []
    for label, solver, screen in [
        ("lawfit L-BFGS, float32 screen + float64 polish", LBFGS(), "float32"),
        ("lawfit L-BFGS, float64 throughout", LBFGS(), None),
        ("lawfit Levenberg-Marquardt, float32 screen + polish", LevenbergMarquardt(), "float32"),
    ]:
        seconds, out = timed(lambda s=solver, d=screen: fit_batch(
            law, x, y, np.ones_like(y), starts=MultiStart(starts, screen_precision=d),
            lower=law.lower, upper=law.upper, solver=s), args.repeats)
        rows.append((label, seconds, float(out.objective[0]), dict(zip(law.param_names, out.params[0], strict=True))))

    grid = hoffmann_grid()
    subset = grid if args.full else grid[np.random.default_rng(0).choice(n_all, args.scipy_fits, replace=False)]
    scipy_rows = []
    for label, analytic in [("scipy L-BFGS-B, finite-difference gradient (Epoch's code)", False),
                            ("scipy L-BFGS-B, analytic gradient", True)]:
        n = len(subset) if (analytic or args.full) else min(len(subset), args.scipy_fits_fd)
        seconds, best_f, best_x = scipy_fits(subset[:n], data, analytic)
        scipy_rows.append((label, seconds / n, n, best_f, best_x))

    print(f"{'method':<58}{'per fit':>12}{'whole grid':>12}{'objective':>14}")
    for label, per_fit, n, best_f, _ in scipy_rows:
        print(f"{label:<58}{per_fit * 1e3:>10.2f}ms{per_fit * n_all:>11.1f}s{best_f:>14.10f}  ({n} fits timed)")
    for label, seconds, objective, _ in rows:
        print(f"{label:<58}{seconds / n_all * 1e3:>10.4f}ms{seconds:>11.3f}s{objective:>14.10f}")
    print("speed-up (scipy per-fit time / lawfit per-fit time):")
    for label, seconds, _, _ in rows:
        ratios = ", ".join(f"{per_fit * n_all / seconds:,.0f}x vs {s_label.split(',')[1].strip()}"
                           for s_label, per_fit, *_ in scipy_rows)
        print(f"  {label}: {ratios}")
    best = rows[0][3]
    print("lawfit optimum:", {k: round(float(v), 6) for k, v in best.items()})
    if scipy_rows[-1][4] is not None:
        print("scipy optimum: ", {k: round(float(v), 6) for k, v in natural(scipy_rows[-1][4]).items()})


def bench_many(args) -> None:
    law = laws.chinchilla
    rng = np.random.default_rng(1)
    n_fits, n_points = args.many, 40
    truth = np.column_stack([rng.uniform(1.5, 2.0, n_fits), rng.uniform(200, 800, n_fits),
                             rng.uniform(500, 3000, n_fits), rng.uniform(0.25, 0.45, n_fits),
                             rng.uniform(0.25, 0.45, n_fits)])
    n = 10 ** rng.uniform(7, 10, (n_fits, n_points))
    d = 10 ** rng.uniform(8.5, 11.5, (n_fits, n_points))
    clean = truth[:, :1] + truth[:, 1:2] / n ** truth[:, 3:4] + truth[:, 2:3] / d ** truth[:, 4:5]
    y = clean * np.exp(2e-3 * rng.standard_normal(clean.shape))
    start = np.array(list(HOFFMANN.values()))  # E, A, B, alpha, beta
    print(f"\n(b) {n_fits} single-start Chinchilla fits, {n_points} synthetic points each")
    rows = []
    variants = [("lawfit Levenberg-Marquardt", LevenbergMarquardt(), None),
                ("lawfit L-BFGS", LBFGS(), None),
                ("lawfit L-BFGS, float32", LBFGS(), jnp.float32)]
    for label, solver, dtype in variants:
        seconds, out = timed(lambda s=solver, t=dtype: fit_batch(
            law, {"N": n, "D": d}, y, np.ones_like(y), starts=MultiStart(start[None], lanes=1024),
            lower=law.lower, upper=law.upper, solver=s, dtype=t), args.repeats)
        ok = float(np.mean(out.status == 0))
        err = float(np.median(np.abs(out.params[:, 3] / truth[:, 3] - 1)))
        rows.append((label, seconds / n_fits, ok, err))
    epoch_start = np.array([*np.log([HOFFMANN["A"], HOFFMANN["B"], HOFFMANN["E"]]),
                            HOFFMANN["alpha"], HOFFMANN["beta"]])
    scipy_rows = []
    for label, analytic, k in [("scipy L-BFGS-B, finite-difference gradient", False, args.scipy_fits_fd),
                               ("scipy L-BFGS-B, analytic gradient", True, args.scipy_fits)]:
        k = min(n_fits, k)
        fun = huber_objective_and_grad if analytic else huber_objective
        began = time.perf_counter()
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for i in range(k):
                minimize(fun, epoch_start, args=(np.log(n[i]), np.log(d[i]), np.log(y[i])),
                         method="L-BFGS-B", jac=analytic)
        scipy_rows.append((label, (time.perf_counter() - began) / k, k))
    print(f"{'method':<46}{'per fit':>12}{'converged':>11}{'median |alpha err|':>20}")
    for label, per_fit, k in scipy_rows:
        print(f"{label:<46}{per_fit * 1e3:>10.3f}ms  ({k} fits timed)")
    for label, per_fit, ok, err in rows:
        print(f"{label:<46}{per_fit * 1e3:>10.4f}ms{ok:>11.1%}{err:>20.4f}")
    print("speed-up (scipy per-fit time / lawfit per-fit time):")
    for label, per_fit, *_ in rows:
        ratios = ", ".join(f"{s_per_fit / per_fit:,.0f}x vs {s_label.split(', ')[1]}"
                           for s_label, s_per_fit, _ in scipy_rows)
        print(f"  {label}: {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="run scipy from all 4,500 starts")
    parser.add_argument("--scipy-fits", type=int, default=300, help="scipy fits timed (subset)")
    parser.add_argument("--scipy-fits-fd", type=int, default=60, help="finite-difference scipy fits timed")
    parser.add_argument("--many", type=int, default=1000, help="fits in benchmark (b)")
    parser.add_argument("--repeats", type=int, default=3, help="warm lawfit repeats (median)")
    args = parser.parse_args()
    print(f"jax {jax.__version__}, {jax.device_count()} device(s): {jax.devices()}")
    bench_grid(args)
    bench_many(args)


if __name__ == "__main__":
    main()
