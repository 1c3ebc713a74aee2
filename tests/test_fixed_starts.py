"""Issue 13 bug: starts that differ only in fixed parameters are one start, fitted once.

Before the fix, power_law's 120-start grid (5 E x 6 A x 4 alpha) with A fixed ran 120 fits
per group, 6 copies of each of the 20 distinct (E, alpha) starts (for data_constrained with
five parameters fixed: 675 fits of 9 distinct starts)."""

import numpy as np
import pandas as pd
import pytest

import lawfit
from lawfit import laws
from lawfit.fitting import _batch, fit_batch

LAW = laws.power_law
X = np.logspace(6, 10, 8)


def _data(n_groups: int) -> tuple[dict, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.stack([(1.4 + 0.1 * g + 40.0 * X**-0.2) * np.exp(0.01 * rng.standard_normal(len(X)))
                  for g in range(n_groups)])
    return {"x": np.broadcast_to(X, y.shape)}, y


@pytest.fixture
def screened_tasks(monkeypatch):
    """Counts the tasks of every solve_tasks call made by fit_batch."""
    counts = []
    real = _batch.solve_tasks

    def counting(law, objective, solver, problems, weights, tasks, lanes):
        counts.append(int(tasks.start.shape[0]))
        return real(law, objective, solver, problems, weights, tasks, lanes)

    monkeypatch.setattr(_batch, "solve_tasks", counting)
    return counts


def test_fixed_parameters_collapse_the_start_grid(screened_tasks):
    """Group 0 fixes A (20 distinct starts), group 1 fixes nothing (120): the screen runs
    2 x 120 tasks, not the 240 + duplicates of two full grids, group 0 reports 20 starts,
    and its fit equals a fit from the 20 distinct starts given explicitly."""
    x, y = _data(2)
    grid = LAW.start_grid()
    free = np.array([[True, False, True], [True, True, True]])
    fixed = np.array([[1.0, 40.0, 1.0], [1.0, 1.0, 1.0]])
    out = fit_batch(LAW, x, y, np.ones_like(y), starts=grid, lower=LAW.lower, upper=LAW.upper,
                    free=free, fixed_values=fixed)
    assert out.n_starts.tolist() == [20, 120]
    assert screened_tasks[0] == 2 * 120

    screened_tasks.clear()
    distinct = pd.DataFrame(grid).drop_duplicates([0, 2]).to_numpy()
    assert len(distinct) == 20
    one = fit_batch(LAW, {"x": x["x"][:1]}, y[:1], np.ones_like(y[:1]), starts=distinct,
                    lower=LAW.lower, upper=LAW.upper, free=free[0], fixed_values=fixed[0])
    assert screened_tasks[0] == 20
    np.testing.assert_allclose(out.params[0], one.params[0], rtol=1e-10)
    assert out.params[0, 1] == 40.0


def test_fit_with_fixed_runs_each_distinct_start_once(screened_tasks):
    """Through lawfit.fit with a fixed mapping: 3 groups (padded to 8 slots) x 20 distinct
    starts screened, instead of 8 x 120."""
    y = _data(3)[1]
    frame = pd.DataFrame({"g": np.repeat([0, 1, 2], len(X)), "x": np.tile(X, 3), "y": y.ravel()})
    result = lawfit.fit(frame, LAW, "x", "y", by="g", fixed={"A": 40.0})
    assert screened_tasks[0] == 8 * 20
    assert (result.params["status"] == "converged").all()
    assert (result.params["A"] == 40.0).all()
