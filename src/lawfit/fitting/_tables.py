"""Raw fits of every group, as kept between kernel calls, and the tables built from them."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lawfit.data import GroupedData
from lawfit.fitting._diagnostics import IllConditionedWarning
from lawfit.fitting._status import Status
from lawfit.laws import Law

__all__ = ["RawFits", "tables", "warn_ill_conditioned"]

_LABELS = np.array([s.label for s in sorted(Status, key=int)], dtype=object)
_MESSAGES = np.array([s.message for s in sorted(Status, key=int)], dtype=object)


@dataclass
class RawFits:
    """Per group: natural ``params`` (G, K), ``objective``, ``steps``, ``status`` codes,
    ``n_converged``, ``warning`` text, bootstrap ``boot_params`` (G, R, K) and
    ``boot_status`` (G, R), and ``done`` (fitted, in this call or a checkpoint)."""

    params: np.ndarray
    objective: np.ndarray
    steps: np.ndarray
    status: np.ndarray
    n_converged: np.ndarray
    warning: np.ndarray
    boot_params: np.ndarray
    boot_status: np.ndarray
    done: np.ndarray

    @classmethod
    def empty(cls, n_groups: int, k: int, resamples: int) -> RawFits:
        return cls(
            params=np.full((n_groups, k), np.nan),
            objective=np.full(n_groups, np.nan),
            steps=np.zeros(n_groups, np.int64),
            status=np.full(n_groups, int(Status.INVALID_INPUT), np.int64),
            n_converged=np.zeros(n_groups, np.int64),
            warning=np.full(n_groups, "", dtype=object),
            boot_params=np.full((n_groups, resamples, k), np.nan),
            boot_status=np.full((n_groups, resamples), int(Status.INVALID_INPUT), np.int64),
            done=np.zeros(n_groups, bool),
        )

    def store(self, groups: np.ndarray, **values) -> None:
        """Write the given fields of ``groups`` and mark them done."""
        for name, value in values.items():
            getattr(self, name)[groups] = value
        self.done[groups] = True


def tables(
    law: Law, grouped: GroupedData, raw: RawFits, ci: float, resamples: int
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The params table (one row per group) and the long bootstrap table (or None)."""
    names = list(law.param_names)
    status = raw.status
    usable = raw.done & (status != Status.NONFINITE)
    table = grouped.keys[list(grouped.by)].copy() if grouped.by else pd.DataFrame(index=range(1))
    table[names] = np.where(usable[:, None], raw.params, np.nan)
    messages = np.where(status == Status.CONVERGED, "", _MESSAGES[status]).astype(object)
    # n_converged counts starts, not fits: say so where the fit kept did not converge.
    unconverged = raw.done & (status != Status.CONVERGED)
    messages[unconverged] = [
        f"{text} (by the best start; n_converged = {k}: starts that converged)"
        for text, k in zip(messages[unconverged], raw.n_converged[unconverged], strict=True)
    ]
    invalid = ~raw.done
    if invalid.any():
        messages[invalid] = [grouped.message(g) for g in np.flatnonzero(invalid)]
    columns = {
        "objective": np.where(usable, raw.objective, np.nan),
        "status": _LABELS[status],
        "steps": np.where(raw.done, raw.steps, 0).astype(np.int64),
        "n_points": grouped.n_points.astype(np.int64),
        "n_converged": np.where(raw.done, raw.n_converged, 0).astype(np.int64),
        "message": messages,
        "warning": np.where(raw.done, raw.warning, "").astype(object),
    }
    for column, values in columns.items():
        table[column] = values
    if not resamples:
        return table.reset_index(drop=True), None
    alpha = (1.0 - ci) / 2.0
    good = raw.boot_status == Status.CONVERGED
    samples = np.where(good[:, :, None], raw.boot_params, np.nan)
    count = good.sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # groups without converged resamples
        se = np.nanstd(samples, axis=1, ddof=1)
        lo = np.nanquantile(samples, alpha, axis=1)
        hi = np.nanquantile(samples, 1.0 - alpha, axis=1)
    se[count < 2] = np.nan
    for j, p in enumerate(names):
        table[f"{p}_se"], table[f"{p}_lo"], table[f"{p}_hi"] = se[:, j], lo[:, j], hi[:, j]
    return table.reset_index(drop=True), _bootstrap_table(law, grouped, raw, resamples)


def _bootstrap_table(law: Law, grouped: GroupedData, raw: RawFits, resamples: int) -> pd.DataFrame:
    """One row per resample of every fitted group: by columns, ``resample``, parameters,
    ``status``."""
    fitted = np.flatnonzero(raw.done)
    owner = np.repeat(fitted, resamples)
    boot = grouped.keys[list(grouped.by)].iloc[owner].reset_index(drop=True)
    boot["resample"] = np.tile(np.arange(resamples), len(fitted))
    flat = raw.boot_params[fitted].reshape(-1, len(law.params))
    for j, p in enumerate(law.param_names):
        boot[p] = flat[:, j]
    boot["status"] = _LABELS[raw.boot_status[fitted].reshape(-1)]
    return boot


def warn_ill_conditioned(params: pd.DataFrame, by_cols: list[str]) -> None:
    """One :class:`IllConditionedWarning` naming (up to five of) the flagged groups."""
    flagged = params[params["warning"] != ""]
    if flagged.empty:
        return
    shown = []
    for _, row in flagged.head(5).iterrows():
        head = f"group {dict((b, row[b]) for b in by_cols)}: " if by_cols else ""
        shown.append(head + row["warning"])
    more = f" (and {len(flagged) - 5} more)" if len(flagged) > 5 else ""
    warnings.warn(
        f"{len(flagged)} of {len(params)} fits are ill-conditioned, at a bound or stopped by the step cap{more}; "
        + " | ".join(shown)
        + "; see the 'warning' column of FitResult.params",
        IllConditionedWarning,
        stacklevel=3,
    )
