"""Evaluation: synthetic data, estimation designs, error and calibration metrics."""

from lawfit.evaluate._simulate import simulate

__all__ = ["simulate"]
