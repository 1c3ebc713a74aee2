"""Evaluation: synthetic data, estimation designs, error and calibration metrics."""

from lawfit.evaluate._allocation import compute_optimal
from lawfit.evaluate._simulate import simulate

__all__ = ["compute_optimal", "simulate"]
