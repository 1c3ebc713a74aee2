"""Settings objects of a fit, validated where they are built: :class:`MultiStart`, :class:`Bootstrap`.

A misspelled option is a ``TypeError`` at the call that names it, a bad value an
:class:`~lawfit.data.InputError` naming the option.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lawfit.data import InputError
from lawfit.laws import Law
from lawfit.laws.bijection import to_natural, to_unconstrained
from lawfit.precision import PRECISIONS, computing

__all__ = ["Bootstrap", "MultiStart", "move_inside", "start_values"]

_GRIDS = ("grid", "hoffmann")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class MultiStart:
    """How each group is fitted from many starts (Hoffmann et al. 2022, Appendix D.2, fit
    4,500 starts and keep the best).

    Every start is first run to a screening tolerance ``screen_ftol`` (a relative reduction
    of the objective, like scipy's L-BFGS-B default) at ``screen_precision``; the ``polish``
    best screened starts of each group are then run to the solver's own tolerances at the
    fit's precision, and the best is kept. Starts that differ only in fixed parameters are
    one start.

    Attributes:
        starts: ``"grid"`` / ``"hoffmann"`` (the law's start grid; Hoffmann et al.'s 4,500
            starts for ``chinchilla``), an integer number of Latin-hypercube starts, or an
            (S, K) array (a DataFrame with one column per parameter) in natural units;
            :func:`lawfit.fit_batch` also takes (G, S, K) per-group starts.
        screen_ftol: the screening tolerance (used when there are several starts).
        screen_precision: ``"auto"`` (float32 when the fit is float64: several times faster
            on CPUs, and the polish restores full precision), ``"float32"``, ``"float64"``,
            or None (the fit's precision).
        polish: how many of each group's best screened starts are polished, as insurance
            against near-ties that the screen ranks wrongly.
        lanes: fits advanced together in one compiled loop.
    """

    starts: str | int | np.ndarray | pd.DataFrame = "grid"
    screen_ftol: float = 1e-8
    screen_precision: str | None = "auto"
    polish: int = 4
    lanes: int = 256

    def __post_init__(self):
        starts = self.starts
        if isinstance(starts, str):
            if starts not in _GRIDS:
                raise InputError(
                    f"starts must be 'grid', 'hoffmann', an integer or an array; got {starts!r}"
                )
        elif _is_int(starts):
            if starts < 1:
                raise InputError(f"starts: need at least one start; got {starts}")
        elif not isinstance(starts, pd.DataFrame):
            try:
                values = np.asarray(starts, float)
            except (TypeError, ValueError):
                raise InputError(
                    f"starts must be 'grid', 'hoffmann', an integer or an array; got {starts!r}"
                ) from None
            if values.ndim not in (1, 2, 3) or not values.size or not np.isfinite(values).all():
                raise InputError("starts: need finite values of shape (S, K) or (G, S, K)")
            object.__setattr__(self, "starts", np.atleast_2d(values))
        if not (isinstance(self.screen_ftol, numbers.Real) and self.screen_ftol > 0):
            raise InputError(f"MultiStart.screen_ftol must be positive; got {self.screen_ftol!r}")
        if self.screen_precision not in (None, "auto", *PRECISIONS):
            raise InputError(
                "MultiStart.screen_precision must be 'auto', 'float32', 'float64' or None; "
                f"got {self.screen_precision!r}"
            )
        for name in ("polish", "lanes"):
            value = getattr(self, name)
            if not (_is_int(value) and value >= 1):
                raise InputError(f"MultiStart.{name} must be a positive integer; got {value!r}")

    def with_starts(self, starts: np.ndarray) -> MultiStart:
        """The same settings with ``starts`` replaced (e.g. by resolved start values)."""
        return dataclasses.replace(self, starts=starts)


@dataclass(frozen=True)
class Bootstrap:
    """Bootstrap resampling of each group's points (Efron & Tibshirani 1993): ``resamples``
    refits per group, each from the group's optimum, giving standard errors and percentile
    confidence intervals at level ``ci``."""

    resamples: int = 0
    ci: float = 0.95

    def __post_init__(self):
        if not (_is_int(self.resamples) and self.resamples >= 0):
            raise InputError(
                f"bootstrap must be a non-negative integer; got {self.resamples!r}"
            )
        if not (isinstance(self.ci, numbers.Real) and not isinstance(self.ci, bool)
                and 0 < self.ci < 1):
            raise InputError(f"ci must be in (0, 1); got {self.ci!r}")


def as_multistart(starts) -> MultiStart:
    """``starts`` as a :class:`MultiStart` (the simple forms: a name, an int, an array)."""
    return starts if isinstance(starts, MultiStart) else MultiStart(starts)


def as_bootstrap(bootstrap) -> Bootstrap:
    """``bootstrap`` as a :class:`Bootstrap` (an int is the number of resamples)."""
    return bootstrap if isinstance(bootstrap, Bootstrap) else Bootstrap(bootstrap)


def move_inside(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Start values moved just inside open bounds (1% of the scale, or of the width)."""
    values = np.asarray(values, dtype=float)
    lower, upper = np.broadcast_to(lower, values.shape), np.broadcast_to(upper, values.shape)
    has_lo, has_hi = np.isfinite(lower), np.isfinite(upper)
    pad_lo = np.where(has_lo, 1e-2 * np.maximum(1.0, np.abs(np.where(has_lo, lower, 0))), 0.0)
    pad_hi = np.where(has_hi, 1e-2 * np.maximum(1.0, np.abs(np.where(has_hi, upper, 0))), 0.0)
    width = np.where(has_lo & has_hi, upper - lower, np.inf)
    pad_lo, pad_hi = np.minimum(pad_lo, 1e-2 * width), np.minimum(pad_hi, 1e-2 * width)
    return np.minimum(np.maximum(values, lower + pad_lo), upper - pad_hi)


def start_values(law: Law, starts, lower, upper, seed: int = 0) -> np.ndarray:
    """(S, K) natural-unit starts: the law's grid, ``n`` Latin-hypercube draws, or an array.

    Random starts fill the box that the grid spans in the unconstrained space (one unit
    wider on each side), so they respect the bounds and the grid's scales.
    """
    starts = as_multistart(starts).starts
    if isinstance(starts, str):
        return law.start_grid()
    if _is_int(starts):
        grid = move_inside(law.start_grid(), lower, upper)
        with computing("float64"):
            u = np.asarray(to_unconstrained(grid, lower, upper))
            lo, hi = u.min(axis=0) - 1.0, u.max(axis=0) + 1.0
            rng = np.random.default_rng(seed)
            strata = np.stack([rng.permutation(starts) for _ in range(len(lo))], axis=1)
            unit = (strata + rng.random((starts, len(lo)))) / starts
            return np.asarray(to_natural(lo + unit * (hi - lo), lower, upper))
    if isinstance(starts, pd.DataFrame):
        missing = [n for n in law.param_names if n not in starts.columns]
        unknown = [str(c) for c in starts.columns if c not in law.param_names]
        if missing or unknown:
            raise InputError(
                f"starts: law {law.name!r} has parameters {', '.join(law.param_names)}; "
                + (f"no value for {', '.join(missing)}" if missing else "")
                + ("; " if missing and unknown else "")
                + (f"unknown {', '.join(unknown)}" if unknown else "")
            )
        starts = starts[list(law.param_names)].to_numpy(dtype=float)
    values = np.atleast_2d(np.asarray(starts, float))
    if values.ndim != 2 or values.shape[1] != len(law.params) or not np.isfinite(values).all():
        raise InputError(
            f"starts: need finite values of shape (S, {len(law.params)}) in the order {law.param_names}"
        )
    return values
