"""lawfit: fit, compare and forecast neural scaling laws.

``lawfit.fit(df, law="chinchilla", x={"N": ..., "D": ...}, y="loss")`` fits a law to a
DataFrame; :mod:`lawfit.laws` holds the law zoo, :mod:`lawfit.data` the bundled corpora.
"""

from lawfit import bayes, data, laws
from lawfit.bayes import Forecast, Posterior, forecast, hierarchical_posterior, posterior
from lawfit.data import InputError, load
from lawfit.fitting import (
    LBFGS,
    MSE,
    MSLE,
    AsymmetricLogMSE,
    FitResult,
    HuberLog,
    HuberLogScale,
    LevenbergMarquardt,
    LogMSE,
    Status,
    fit,
    fit_batch,
    fit_params,
)
from lawfit.laws import Law, Param, Prior, register

__version__ = "0.1.0"
__all__ = [
    "LBFGS",
    "MSE",
    "MSLE",
    "AsymmetricLogMSE",
    "FitResult",
    "Forecast",
    "HuberLog",
    "HuberLogScale",
    "InputError",
    "Law",
    "LevenbergMarquardt",
    "LogMSE",
    "Param",
    "Posterior",
    "Prior",
    "Status",
    "bayes",
    "data",
    "fit",
    "fit_batch",
    "fit_params",
    "forecast",
    "hierarchical_posterior",
    "laws",
    "load",
    "posterior",
    "register",
]
