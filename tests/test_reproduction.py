"""Published fits reproduced: Besiroglu et al. 2024's grid fit of the Chinchilla points."""

import numpy as np
import pytest

import lawfit

# Epoch AI, data_analysis.ipynb cell 18: 4,500-start grid + L-BFGS-B, Huber(1e-3) summed.
EPOCH_GRID = {"E": 1.817235504463726, "A": 477.84171252965143, "B": 2143.8637880335505,
              "alpha": 0.34731265761033453, "beta": 0.3671826173946711}
EPOCH_OBJECTIVE = 0.0010182740346
# Cell 25: bootstrap standard errors (4,000 resamples).
EPOCH_SE = {"E": 0.02566, "alpha": 0.01540, "beta": 0.02060}


@pytest.fixture(scope="module")
def grid_fit(chinchilla_frame):
    return lawfit.fit(chinchilla_frame, "chinchilla", {"N": "N", "D": "D"}, "loss",
                      loss="huber-log", delta=1e-3, starts="hoffmann", solver="lbfgs",
                      bootstrap=4000, seed=42)


def test_data_is_epochs_240_points(chinchilla_frame):
    assert len(chinchilla_frame) == 240
    np.testing.assert_allclose(chinchilla_frame["D"], chinchilla_frame["C"] / (6 * chinchilla_frame["N"]))
    assert chinchilla_frame["loss"].max() < 3.8


def test_grid_fit_matches_epoch(grid_fit):
    row = grid_fit.params.iloc[0]
    assert row["status"] == "converged"
    assert row["n_converged"] >= 4000
    assert row["objective"] == pytest.approx(EPOCH_OBJECTIVE, rel=1e-3)
    for name in ("E", "alpha", "beta"):
        assert row[name] == pytest.approx(EPOCH_GRID[name], rel=1e-3), name
    for name in ("A", "B"):
        assert row[name] == pytest.approx(EPOCH_GRID[name], rel=5e-3), name


def test_bootstrap_standard_errors_match_epoch(grid_fit):
    row = grid_fit.params.iloc[0]
    boot = grid_fit.bootstrap
    assert len(boot) == 4000 and (boot["status"] == "converged").mean() > 0.99
    for name, se in EPOCH_SE.items():
        assert row[f"{name}_se"] == pytest.approx(se, rel=0.25), name
        assert row[f"{name}_lo"] < row[name] < row[f"{name}_hi"]
