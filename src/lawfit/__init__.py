"""lawfit: fit, compare and forecast neural scaling laws.

``lawfit.fit(df, law="chinchilla", x={"N": ..., "D": ...}, y="loss")`` fits a law to a
DataFrame; :mod:`lawfit.laws` holds the law zoo, :mod:`lawfit.data` the bundled corpora.

Every name here is imported on first use (PEP 562 module ``__getattr__``): ``import lawfit``
loads neither jax nor NumPyro, matplotlib or ArviZ, so the command line starts fast and a
MAP fit never pays for the Bayesian stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: Public name -> the subpackage that defines it.
_HOMES = {
    "Forecast": "bayes",
    "Laplace": "bayes",
    "NUTS": "bayes",
    "Posterior": "bayes",
    "forecast": "bayes",
    "hierarchical_posterior": "bayes",
    "posterior": "bayes",
    "InputError": "data",
    "load": "data",
    "LBFGS": "fitting",
    "Bootstrap": "fitting",
    "MultiStart": "fitting",
    "MSE": "fitting",
    "FitResult": "fitting",
    "HuberLog": "fitting",
    "LevenbergMarquardt": "fitting",
    "LogMSE": "fitting",
    "MSLE": "fitting",
    "AsymmetricLogMSE": "fitting",
    "HuberLogScale": "fitting",
    "Status": "fitting",
    "fit": "fitting",
    "fit_batch": "fitting",
    "fit_params": "fitting",
    "compute_optimal": "evaluate",
    "isoflop": "evaluate",
    "Law": "laws",
    "Param": "laws",
    "Prior": "laws",
    "register": "laws",
}
_SUBPACKAGES = ("bayes", "data", "evaluate", "fitting", "laws", "plot", "report")

__all__ = [
    "LBFGS",
    "MSE",
    "MSLE",
    "NUTS",
    "AsymmetricLogMSE",
    "Bootstrap",
    "FitResult",
    "Forecast",
    "HuberLog",
    "HuberLogScale",
    "InputError",
    "Laplace",
    "Law",
    "LevenbergMarquardt",
    "LogMSE",
    "MultiStart",
    "Param",
    "Posterior",
    "Prior",
    "Status",
    "bayes",
    "compute_optimal",
    "data",
    "evaluate",
    "fit",
    "fit_batch",
    "fit_params",
    "forecast",
    "hierarchical_posterior",
    "isoflop",
    "laws",
    "load",
    "plot",
    "posterior",
    "register",
    "report",
]

if TYPE_CHECKING:  # the same names, for type checkers and IDEs
    from lawfit import bayes, data, evaluate, laws, plot, report
    from lawfit.bayes import (
        NUTS,
        Forecast,
        Laplace,
        Posterior,
        forecast,
        hierarchical_posterior,
        posterior,
    )
    from lawfit.data import InputError, load
    from lawfit.evaluate import compute_optimal, isoflop
    from lawfit.fitting import (
        LBFGS,
        MSE,
        MSLE,
        AsymmetricLogMSE,
        Bootstrap,
        FitResult,
        HuberLog,
        HuberLogScale,
        LevenbergMarquardt,
        LogMSE,
        MultiStart,
        Status,
        fit,
        fit_batch,
        fit_params,
    )
    from lawfit.laws import Law, Param, Prior, register


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"lawfit.{name}")
    if name in _HOMES:
        return getattr(importlib.import_module(f"lawfit.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'lawfit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES, *_SUBPACKAGES})
