"""What :func:`lawfit.fit` returns: the tables of fits, predictions and a readable summary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lawfit.fitting._objective import Objective
from lawfit.fitting._predict import predict
from lawfit.laws import Law

__all__ = ["FitResult"]


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        params: one row per group: the ``by`` columns, one column per parameter (natural
            units), ``objective`` (summed loss at the optimum), ``status``, ``steps``,
            ``n_points``, ``n_converged`` (starts that converged), ``message`` (why a fit
            failed or was not run), ``warning`` (a parameter at or near a bound, or an
            ill-conditioned optimum; empty when fine); with a bootstrap also
            ``{param}_se``, ``{param}_lo``, ``{param}_hi`` (percentile CI).
        law, x, y, by: what was fitted (``x`` maps law inputs to columns).
        bootstrap: long table of resample fits (``by`` columns, ``resample``, parameters,
            ``status``), or None.
        objective: the objective used; ``ci``: the CI level.
    """

    params: pd.DataFrame
    law: Law
    x: dict[str, str]
    y: str
    by: list[str]
    objective: Objective
    ci: float = 0.95
    bootstrap: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.law.param_names

    def predict(self, data: pd.DataFrame, x: Mapping[str, str] | str | None = None) -> np.ndarray:
        """Predictions for every row of ``data`` from its group's fitted parameters
        (:func:`lawfit.fitting.predict`).

        ``x`` maps inputs to columns of ``data`` (default: the fit's mapping). Rows of a
        group whose fit did not converge get NaN and a warning naming the group; a group
        absent from the fit is an error.
        """
        table = predict(self.params, data, law=self.law, x=self.x if x is None else x,
                        by=self.by)
        return table["prediction"].to_numpy()

    def summary(self) -> str:
        """A readable table of the fitted parameters (with CIs when bootstrapped)."""
        lines = []
        for _, row in self.params.iterrows():
            head = ", ".join(f"{b}={row[b]}" for b in self.by)
            lines.append(
                f"{self.law.name}{' [' + head + ']' if head else ''}: {self.law.formula}\n"
                f"  status {row['status']}, objective {row['objective']:.6g}, "
                f"{row['n_points']} points"
            )
            has_ci = f"{self.param_names[0]}_lo" in self.params.columns
            pct = round(100 * self.ci)
            header = f"  {'param':<10}{'estimate':>14}"
            if has_ci:
                header += f"{'SE':>12}{f'{pct}% CI':>28}"
            lines.append(header)
            for p in self.param_names:
                line = f"  {p:<10}{_fmt(row[p]):>14}"
                if has_ci:
                    ci = f"({_fmt(row[p + '_lo'])}, {_fmt(row[p + '_hi'])})"
                    line += f"{_fmt(row[p + '_se']):>12}{ci:>28}"
                lines.append(line)
        return "\n".join(lines)


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return str(value)
    return f"{value:.6g}" if 1e-3 <= abs(value) < 1e6 or value == 0 else f"{value:.4e}"
