"""The batched fitting engine.

Objectives (:class:`HuberLog`, :class:`MSE`, :class:`LogMSE`, :class:`MSLE`,
:class:`AsymmetricLogMSE`, :class:`HuberLogScale`) and solvers
(:class:`LevenbergMarquardt`, :class:`LBFGS`) are small frozen dataclasses whose numbers are
array leaves. :func:`fit_batch` fits groups x starts x bootstrap resamples of padded arrays
in compiled calls; :func:`fit_params` fits one problem differentiably; :func:`lawfit.fit`
(the pandas front end) validates a DataFrame and returns a :class:`FitResult`.
:func:`predict` evaluates a table of fitted parameters (one row per group) at new
inputs; :func:`read_dask` reads a CSV or Parquet path lazily for a Dask fit. :func:`solve`
runs one solver on any function given as :class:`Functions` (lawfit's Bayesian modes use it
with :class:`LBFGS`). The batched kernel itself is private.
"""

from lawfit.fitting._api import fit
from lawfit.fitting._batch import BatchFit, fit_batch, fit_params
from lawfit.fitting._dask import read_dask
from lawfit.fitting._diagnostics import IllConditionedWarning
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
)
from lawfit.fitting._predict import FIT_COLUMNS, UnconvergedFitWarning, group_columns, predict
from lawfit.fitting._problem import Functions
from lawfit.fitting._result import FitResult
from lawfit.fitting._settings import Bootstrap, MultiStart
from lawfit.fitting._solver import Solution, Solver, solve
from lawfit.fitting._status import Status

__all__ = [
    "FIT_COLUMNS",
    "LBFGS",
    "MSE",
    "MSLE",
    "AsymmetricLogMSE",
    "BatchFit",
    "Bootstrap",
    "FitResult",
    "Functions",
    "HuberLog",
    "HuberLogScale",
    "IllConditionedWarning",
    "LevenbergMarquardt",
    "LogMSE",
    "MultiStart",
    "Objective",
    "Solution",
    "Solver",
    "Status",
    "UnconvergedFitWarning",
    "fit",
    "fit_batch",
    "fit_params",
    "group_columns",
    "predict",
    "read_dask",
    "solve",
]
