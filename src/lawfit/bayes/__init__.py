"""Bayesian fits: NumPyro models generated from law specs, batched NUTS, forecasts."""

from lawfit.bayes._borrow import borrowed_priors, similar_group_priors
from lawfit.bayes._diagnostics import SampleStatus, diagnose
from lawfit.bayes._discrepancy import (
    LAM_MAX,
    Backtest,
    Discrepancy,
    learn_discrepancy,
    signed_distance,
)
from lawfit.bayes._forecast import Forecast, NoBacktestWarning, forecast
from lawfit.bayes._hierarchical import hierarchical_posterior
from lawfit.bayes._hierarchical_model import (
    Population,
    hierarchical_potential,
    make_hierarchical_model,
)
from lawfit.bayes._laplace import LaplaceApproximation, laplace
from lawfit.bayes._model import Data, Hyper, hyper, make_model, natural, potential
from lawfit.bayes._nuts import Draws, nuts
from lawfit.bayes._posterior import Posterior, posterior
from lawfit.bayes._predictive import forecast_table, interval_columns, predictive
from lawfit.bayes._sampler import NUTS, Laplace

__all__ = [
    "LAM_MAX",
    "NUTS",
    "Backtest",
    "Data",
    "Discrepancy",
    "Draws",
    "Forecast",
    "Hyper",
    "Laplace",
    "LaplaceApproximation",
    "NoBacktestWarning",
    "Population",
    "Posterior",
    "SampleStatus",
    "borrowed_priors",
    "diagnose",
    "forecast",
    "forecast_table",
    "hierarchical_posterior",
    "hierarchical_potential",
    "hyper",
    "interval_columns",
    "laplace",
    "learn_discrepancy",
    "make_hierarchical_model",
    "make_model",
    "natural",
    "nuts",
    "posterior",
    "potential",
    "predictive",
    "signed_distance",
    "similar_group_priors",
]
