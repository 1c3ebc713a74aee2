"""Law zoo x solver zoo: recovery on noisy synthetic data, jit/eager and vmap/loop equivalence,
and no recompilation when only numbers change."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lawfit
from lawfit import laws
from lawfit.evaluate import simulate
from lawfit.fitting import (
    LBFGS,
    Functions,
    HuberLog,
    LevenbergMarquardt,
    Status,
    fit_batch,
    solve,
)
from lawfit.fitting._engine import Tasks, solve_tasks
from lawfit.fitting._problem import Problem, functions
from lawfit.laws import encode_inputs
from lawfit.laws.bijection import to_natural, to_unconstrained

GRID_ND = {"N": np.logspace(7, 10, 6)[:, None], "D": np.logspace(8.5, 11.5, 6)[None, :]}
CASES = {
    "chinchilla": (dict(E=1.8, A=400.0, B=2000.0, alpha=0.34, beta=0.37), GRID_ND, ("E", "alpha", "beta")),
    "shared_exponent": (dict(E=1.7, A=300.0, B=900.0, alpha=0.3), GRID_ND, ("E", "alpha")),
    "power_law": (dict(E=1.5, A=50.0, alpha=0.2), {"x": np.logspace(6, 12, 30)}, ("E", "alpha")),
    "power_law_no_e": (dict(A=50.0, alpha=0.1), {"x": np.logspace(6, 12, 30)}, ("A", "alpha")),
    "kaplan_nd": (
        dict(N_c=8.8e13, D_c=5.4e13, alpha_N=0.076, alpha_D=0.095),
        {"N": np.logspace(6, 10, 6)[:, None], "D": np.logspace(8, 11, 6)[None, :]},
        ("alpha_N", "alpha_D"),
    ),
    "data_constrained": (
        dict(E=1.87, A=521.0, B=1488.0, alpha=0.353, beta=0.353, R_D_star=15.4, R_N_star=5.3),
        {
            "N": np.array([1e8, 4e8, 1.6e9, 6.4e9])[:, None, None],
            "U": np.array([1e9, 1e10])[None, :, None],
            # D >= U: a run sees at least its unique tokens (U > D is invalid input)
            "D": np.array([1e9, 1e10])[None, :, None] * np.array([1, 2, 4, 8, 16, 32, 64, 128])[None, None, :],
        },
        ("E", "alpha", "R_D_star"),
    ),
    "bnsl": (
        dict(a=0.1, b=5.0, c0=0.1, c1=0.4, d1=1e5, f1=0.5),
        {"x": np.logspace(2, 9, 40)},
        ("c0", "c1"),
    ),
    "revisiting_m4": (
        dict(eps_inf=0.1, eps_0=1.0, alpha=0.7, beta=5.0, c=0.4),
        {"x": np.logspace(1, 6, 30)},
        ("eps_inf", "c"),
    ),
    "sigmoid_link": (dict(floor=0.25, ceiling=0.9, k=3.0, L0=3.2), {"L": np.linspace(1.8, 5.0, 30)}, ("k", "L0")),
}
SOLVERS = {"lm": LevenbergMarquardt(), "lbfgs": LBFGS()}


@pytest.mark.parametrize("solver", sorted(SOLVERS))
@pytest.mark.parametrize("name", sorted(CASES))
def test_recovers_parameters(name, solver):
    truth, design, checked = CASES[name]
    law = laws.get(name)
    loss = "mse" if law.output == "accuracy" else "huber-log"
    multiplicative = law.output != "accuracy"
    frame = simulate(law, truth, design, noise=1e-3, multiplicative=multiplicative, seed=1)
    starts = "grid" if len(law.start_grid()) <= 1000 else 64
    result = lawfit.fit(frame, law, {k: k for k in law.inputs}, "y", loss=loss, delta=0.01,
                        starts=starts, seed=0, solver=SOLVERS[solver])
    row = result.params.iloc[0]
    assert row["status"] == "converged"
    objective = result.objective
    with jax.enable_x64(True):
        target = np.log(frame["y"]) if objective.log_space else frame["y"]
        pred_true = law.predict(truth, {k: frame[k].to_numpy() for k in law.inputs})
        pred_true = np.log(pred_true) if objective.log_space else pred_true
        at_truth = float(np.sum(objective.rho(jnp.asarray(target - pred_true))))
    assert row["objective"] <= at_truth * (1 + 1e-6), "the fit is worse than the true parameters"
    for p in checked:
        assert row[p] == pytest.approx(truth[p], rel=0.1), p
    np.testing.assert_allclose(result.predict(frame), frame["y"], rtol=0.01)


def _power_problem(seed=0, n=12, scale=1.0):
    rng = np.random.default_rng(seed)
    x = np.logspace(6, 11, n)
    y = (1.5 + 40.0 * x**-0.2) * np.exp(1e-3 * rng.standard_normal(n)) * scale
    law = laws.power_law
    problem = Problem(
        x=encode_inputs(law, {"x": jnp.asarray(x)}),
        target=jnp.log(jnp.asarray(y)),
        weight=jnp.ones(n),
        lower=jnp.asarray(law.lower),
        upper=jnp.asarray(law.upper),
        free=jnp.ones(3, bool),
        anchor=jnp.zeros(3),
    )
    return law, problem


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_jit_and_eager_agree(solver):
    law, problem = _power_problem()
    fns = functions(law, HuberLog(1e-3), problem)
    u0 = to_unconstrained(jnp.array([1.0, 10.0, 0.5]), problem.lower, problem.upper)
    jitted = jax.jit(lambda u: solve(SOLVERS[solver], fns, u))(u0)
    with jax.disable_jit():
        eager = solve(SOLVERS[solver], fns, u0)
    assert int(jitted.status) == int(eager.status) == Status.CONVERGED
    np.testing.assert_allclose(jitted.u, eager.u, rtol=1e-8)
    assert int(jitted.steps) == int(eager.steps)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_batch_equals_each_fit_alone(solver):
    """Lane recycling: a task's result does not depend on what else is in the batch (up to
    float reassociation in batched reductions, which can change how many steps the last
    machine-precision decimals take)."""
    law = laws.power_law
    problems = [_power_problem(seed, scale=1 + seed / 10)[1] for seed in range(6)]
    batched = jax.tree.map(lambda *a: jnp.stack(a), *problems)
    starts = to_unconstrained(jnp.array([[1.0, 10.0, 0.5], [2.0, 1e3, 0.1]]), law.lower, law.upper)
    tasks = Tasks(
        group=jnp.repeat(jnp.arange(6), 2), weight_row=jnp.repeat(jnp.arange(6), 2), start=jnp.tile(starts, (6, 1))
    )
    together = solve_tasks(law, HuberLog(1e-3), SOLVERS[solver], batched, batched.weight, tasks, 4)
    for t in range(12):
        g = int(tasks.group[t])
        one = jax.tree.map(lambda a, g=g: a[g : g + 1], batched)
        alone = solve_tasks(
            law, HuberLog(1e-3), SOLVERS[solver], one, one.weight,
            Tasks(jnp.zeros(1, int), jnp.zeros(1, int), tasks.start[t : t + 1]), 1,
        )
        np.testing.assert_allclose(together.u[t], alone.u[0], rtol=1e-8)
        assert int(together.status[t]) == int(alone.status[0])


def test_new_numbers_do_not_recompile(rng):
    """Data, weights, delta, bounds, starts and fixed values are leaves: one compile."""
    law = laws.chinchilla
    n, d = np.logspace(7, 10, 5)[:, None] * np.ones((1, 4)), np.ones((5, 1)) * np.logspace(9, 11, 4)[None]
    base = dict(lower=law.lower, upper=law.upper, free=np.array([True, True, True, True, False]))

    def run(scale, delta, hi, start_shift, beta):
        y = (1.7 + 400 * n**-0.3 + 900 * d**-beta).ravel()[None] * scale
        starts = law.start_grid()[::450] * start_shift
        upper = np.where(np.arange(5) == 3, hi, law.upper)
        return fit_batch(
            law, {"N": n.ravel()[None], "D": d.ravel()[None]}, y, np.ones_like(y),
            starts=starts, fixed_values=np.array([1.0, 1.0, 1.0, 1.0, beta]),
            objective=HuberLog(delta), **{**base, "upper": upper},
        )

    run(1.0, 1e-3, math.inf, 1.0, 0.3)
    size = solve_tasks._cache_size()
    out = run(1.01, 2e-3, 3.0, 1.1, 0.31)
    assert solve_tasks._cache_size() == size
    assert out.params[0, 4] == pytest.approx(0.31)


def test_status_for_nonfinite_and_step_cap():
    law, problem = _power_problem()
    fns = functions(law, HuberLog(1e-3), problem)
    bad = solve(LevenbergMarquardt(), fns, jnp.array([1.0, 800.0, 0.0]))
    assert int(bad.status) == Status.NONFINITE
    capped = solve(LevenbergMarquardt(max_steps=2), fns, jnp.array([5.0, 5.0, -3.0]))
    assert int(capped.status) == Status.MAX_STEPS and int(capped.steps) == 2


def test_fixed_parameters_stay_fixed():
    law, problem = _power_problem()
    fixed = problem._replace(
        free=jnp.array([True, True, False]),
        anchor=to_unconstrained(jnp.array([1.0, 1.0, 0.25]), problem.lower, problem.upper),
    )
    sol = solve(LevenbergMarquardt(), functions(law, HuberLog(1e-3), fixed), jnp.array([0.0, 2.0, 3.0]))
    theta = to_natural(jnp.where(fixed.free, sol.u, fixed.anchor), fixed.lower, fixed.upper)
    assert float(theta[2]) == pytest.approx(0.25, rel=1e-12)
    assert int(sol.status) == Status.CONVERGED


def test_lbfgs_collapsed_line_search_is_stalled():
    """A gradient that points uphill (here the sign is wrong) leaves no acceptable step: the
    line search backtracks to rounding and the fit must say ``stalled``, not ``converged``."""
    value = lambda u: jnp.sum((u - 1.0) ** 2)  # noqa: E731
    uphill = lambda u: (value(u), -jax.grad(value)(u))  # noqa: E731
    fns = Functions(value=value, value_and_grad=uphill, gauss_newton=None)
    sol = solve(LBFGS(), fns, jnp.array([3.0, -2.0]))
    assert int(sol.status) == Status.STALLED
    assert int(sol.steps) < LBFGS().max_steps
    honest = solve(LBFGS(), fns._replace(value_and_grad=jax.value_and_grad(value)), jnp.array([3.0, -2.0]))
    assert int(honest.status) == Status.CONVERGED
    np.testing.assert_allclose(honest.u, [1.0, 1.0], atol=1e-6)


def test_two_problem_sizes_compile_once_each():
    """The kernel cache keeps one executable per shape: fitting a 12-point and a 20-point
    problem compiles each once, and fitting both again compiles nothing."""
    law = laws.power_law
    start = to_unconstrained(jnp.array([[1.0, 10.0, 0.5]]), law.lower, law.upper)
    tasks = Tasks(jnp.zeros(1, int), jnp.zeros(1, int), start)

    def run(n):
        one = jax.tree.map(lambda a: a[None], _power_problem(n=n)[1])
        return solve_tasks(law, HuberLog(1e-3), LBFGS(), one, one.weight, tasks, 1)

    before = solve_tasks._cache_size()
    first = [run(12), run(20)]
    compiled = solve_tasks._cache_size()
    assert 0 < compiled - before <= 2
    again = [run(12), run(20)]
    assert solve_tasks._cache_size() == compiled
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.u, b.u)


def _valley():
    """A narrow curved valley whose floor descends by only 1e-6 over its length (minimum
    f = 1 at u = (1, 1)): L-BFGS creeps along the floor, each step lowering f a little."""
    value = lambda u: 1.0 + 100.0 * (u[1] - u[0] ** 2) ** 2 + 1e-6 * (1.0 - u[0]) ** 2  # noqa: E731
    return Functions(value=value, value_and_grad=jax.value_and_grad(value), gauss_newton=None)


def test_lbfgs_window_stops_a_fit_creeping_along_a_flat_valley():
    """The per-step test needs thousands of steps on the valley; the windowed relative
    change stops earlier as converged, with f at its minimum to the window's tolerance,
    where a cap between the two leaves the per-step fit at ``max_steps``."""
    fns, u0 = _valley(), jnp.array([-1.2, 1.0])
    windowed = solve(LBFGS(ftol=1e-12, max_steps=20_000, window=20, wtol=1e-8), fns, u0)
    per_step = solve(LBFGS(ftol=1e-12, max_steps=20_000), fns, u0)
    capped = solve(LBFGS(ftol=1e-12, max_steps=int(windowed.steps) + 20), fns, u0)
    assert int(windowed.status) == Status.CONVERGED and int(per_step.status) == Status.CONVERGED
    assert int(windowed.steps) < int(per_step.steps)
    assert int(capped.status) == Status.MAX_STEPS
    assert float(windowed.objective) - 1.0 < 1e-6  # the valley floor's whole descent
    u = np.asarray(windowed.u)
    assert abs(u[1] - u[0] ** 2) < 1e-3  # on the floor, somewhere along the flat direction


def test_lbfgs_window_keeps_unfinished_fits_at_max_steps():
    """A fit still descending fast when the cap comes is not relabelled converged."""
    rosen = lambda u: (1 - u[0]) ** 2 + 100 * (u[1] - u[0] ** 2) ** 2  # noqa: E731
    fns = Functions(value=rosen, value_and_grad=jax.value_and_grad(rosen), gauss_newton=None)
    sol = solve(LBFGS(max_steps=10, window=3, wtol=1e-6), fns, jnp.array([-1.2, 1.0]))
    assert int(sol.status) == Status.MAX_STEPS


def test_lbfgs_window_is_validated():
    with pytest.raises(ValueError, match="window"):
        LBFGS(window=-1)
