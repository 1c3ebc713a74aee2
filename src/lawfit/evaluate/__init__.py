"""Evaluation: synthetic data, estimation designs, law comparison, error and calibration
metrics."""

from lawfit.evaluate._allocation import compute_optimal, optimal_size
from lawfit.evaluate._calibration import MSCE_LEVELS, calibration_points, calibration_report
from lawfit.evaluate._compare import COMPARISON_COLUMNS, LawComparison, compare_laws
from lawfit.evaluate._hitchhiker import (
    COLPRET_START,
    DATABLATIONS,
    Backtested,
    Bayesian,
    Designs,
    Estimates,
    Method,
    designs,
    estimate,
    findings,
    get_method,
    leaderboard,
    method_names,
    register_method,
)
from lawfit.evaluate._isoflop import ISOFLOP_STATUSES, IsoFLOPResult, isoflop
from lawfit.evaluate._simulate import simulate

__all__ = [
    "COLPRET_START",
    "COMPARISON_COLUMNS",
    "DATABLATIONS",
    "ISOFLOP_STATUSES",
    "MSCE_LEVELS",
    "Backtested",
    "Bayesian",
    "Designs",
    "Estimates",
    "IsoFLOPResult",
    "LawComparison",
    "Method",
    "calibration_points",
    "calibration_report",
    "compare_laws",
    "compute_optimal",
    "designs",
    "estimate",
    "findings",
    "get_method",
    "isoflop",
    "leaderboard",
    "method_names",
    "optimal_size",
    "register_method",
    "simulate",
]
