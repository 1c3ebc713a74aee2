"""Calibration metrics against closed forms."""

import math

import numpy as np
import pytest

from lawfit.evaluate import MSCE_LEVELS, calibration_points, calibration_report


def _normal_crps(mu, sigma, y):
    """Gneiting & Raftery 2007, eq. 5 (standard normal CDF/PDF)."""
    z = (y - mu) / sigma
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    return sigma * (z * (2 * cdf - 1) + 2 * pdf - 1 / math.sqrt(math.pi))


def test_crps_matches_normal_closed_form():
    rng = np.random.default_rng(0)
    x = 2.0 + 0.1 * rng.standard_normal(200_000)  # loss draws ~ N(2, 0.1)
    y = np.array([1.9, 2.0, 2.25])
    pts = calibration_points(np.log(np.broadcast_to(x, (3, x.size))), y)
    expected = [_normal_crps(2.0, 0.1, v) for v in y]
    np.testing.assert_allclose(pts["crps"], expected, rtol=2e-2)


def test_msce_and_coverage_by_hand():
    draws = np.log(np.tile(np.arange(1, 1001, dtype=float), (4, 1)))
    y = np.array([500.0, 500.0, 990.0, 5000.0])  # centre, centre, upper tail, outside
    rep = calibration_report(draws, y)
    # The draws are 1..1000: the 50% interval is about [250, 750], the 95% one [25, 975];
    # both hold the two centre points and neither 990 nor 5000.
    assert rep["cover_50"] == pytest.approx(0.5)
    assert rep["cover_95"] == pytest.approx(0.5)
    cover = {lv: float(np.mean(calibration_points(draws, y)[f"cover_{100 * lv:g}"]))
             for lv in MSCE_LEVELS}
    assert rep["msce"] == pytest.approx(np.mean([(cover[lv] - lv) ** 2 for lv in MSCE_LEVELS]))
    assert rep["median_are"] == pytest.approx(0.5 / 500, rel=1e-2)  # the lower weighted median


def test_weights_count_groups_equally():
    draws = np.zeros((3, 10))
    y = np.array([1.0, 1.0, 5.0])  # two covered points of one group, one missed of another
    pts = calibration_points(draws + np.linspace(-0.1, 0.1, 10), y)
    assert calibration_report(points=pts)["cover_50"] == pytest.approx(2 / 3)
    assert calibration_report(points=pts, weights=[0.5, 0.5, 1.0])["cover_50"] == pytest.approx(0.5)


def test_shape_is_checked():
    with pytest.raises(ValueError, match="log_draws"):
        calibration_points(np.zeros((2, 5)), np.ones(3))


def test_failed_forecasts_are_counted_not_hidden():
    draws = np.zeros((3, 10)) + np.linspace(-0.1, 0.1, 10)
    draws[2, 3] = np.nan  # a forecast from a posterior with a non-finite draw
    y = np.array([1.0, 1.0, 1.0])
    pts = calibration_points(draws, y)
    assert list(pts["failed"]) == [False, False, True]
    assert pts["cover_99"].tolist() == [1.0, 1.0, 0.0]
    rep = calibration_report(points=pts)
    assert rep["failed"] == pytest.approx(1 / 3)
    assert rep["cover_95"] == pytest.approx(2 / 3)  # a failed forecast covers nothing
    whole = calibration_report(points=pts.iloc[:2])
    for key in ("crps", "median_are", "width_50"):  # the rest average over what was forecast
        assert np.isfinite(rep[key]) and rep[key] == pytest.approx(whole[key])
