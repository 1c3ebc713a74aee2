"""Bayesian fits: NumPyro models generated from law specs, batched NUTS, forecasts."""

from lawfit.bayes._diagnostics import SampleStatus, diagnose
from lawfit.bayes._laplace import Laplace, laplace
from lawfit.bayes._model import Data, Hyper, hyper, make_model, natural, potential
from lawfit.bayes._nuts import Draws, nuts
from lawfit.bayes._posterior import Posterior, posterior

__all__ = [
    "Data",
    "Draws",
    "Hyper",
    "Laplace",
    "Posterior",
    "SampleStatus",
    "diagnose",
    "hyper",
    "laplace",
    "make_model",
    "natural",
    "nuts",
    "posterior",
    "potential",
]
