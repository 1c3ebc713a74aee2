"""The batched fitting engine.

Objectives (:class:`HuberLog`, :class:`MSE`, :class:`LogMSE`, :class:`MSLE`,
:class:`AsymmetricLogMSE`, :class:`HuberLogScale`) and solvers
(:class:`LevenbergMarquardt`, :class:`LBFGS`) are small frozen dataclasses whose numbers are
array leaves. :func:`fit_batch` fits groups x starts x bootstrap resamples of padded arrays
in compiled calls; :func:`fit_params` fits one problem differentiably; :func:`lawfit.fit`
(the pandas front end) validates a DataFrame and returns a :class:`FitResult`.
"""

from lawfit.fitting._api import FitResult, fit, start_values
from lawfit.fitting._batch import BatchFit, bootstrap_counts, fit_batch, fit_params, implicit_params
from lawfit.fitting._engine import Tasks, solve_tasks
from lawfit.fitting._lbfgs import LBFGS
from lawfit.fitting._lm import LevenbergMarquardt
from lawfit.fitting._objective import (
    MSE,
    MSLE,
    AsymmetricLogMSE,
    HuberLog,
    HuberLogScale,
    LogMSE,
    Objective,
    get_objective,
)
from lawfit.fitting._problem import Functions, Problem, functions
from lawfit.fitting._solver import Solution, Solver, minimise
from lawfit.fitting._status import Status

__all__ = [
    "LBFGS",
    "MSE",
    "MSLE",
    "AsymmetricLogMSE",
    "BatchFit",
    "FitResult",
    "Functions",
    "HuberLog",
    "HuberLogScale",
    "LevenbergMarquardt",
    "LogMSE",
    "Objective",
    "Problem",
    "Solution",
    "Solver",
    "Status",
    "Tasks",
    "bootstrap_counts",
    "fit",
    "fit_batch",
    "fit_params",
    "functions",
    "get_objective",
    "implicit_params",
    "minimise",
    "solve_tasks",
    "start_values",
]
