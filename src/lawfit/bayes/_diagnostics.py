"""Convergence diagnostics per posterior and a status, as the fitting engine reports one.

Split R-hat and bulk effective sample size follow Vehtari et al. 2021 (via
``numpyro.diagnostics``, rank-normalised); divergences are NUTS's own flag (Betancourt 2017).
"""

from __future__ import annotations

import enum

import numpy as np
from jax.scipy.special import ndtri
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

__all__ = ["RHAT_MAX", "SampleStatus", "diagnose", "diagnose_many"]

#: Flags: rank-normalised split R-hat, bulk ESS over all chains, share of divergent draws
#: (looser than Vehtari et al. 2021's 1.01 and 100 per chain, which suit long runs).
RHAT_MAX = 1.05
ESS_MIN = 100.0
DIVERGENCE_MAX = 0.01


class SampleStatus(enum.IntEnum):
    """How far a posterior's draws can be trusted; tables show :attr:`label`."""

    OK = 0
    DIVERGENT = 1
    NOT_MIXED = 2
    LOW_ESS = 3
    NONFINITE = 4
    INDEFINITE = 5

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    SampleStatus.OK: "",
    SampleStatus.DIVERGENT: f"more than {DIVERGENCE_MAX:.0%} of transitions diverged",
    SampleStatus.NOT_MIXED: f"split R-hat above {RHAT_MAX}: chains disagree (multimodal or "
    "not converged)",
    SampleStatus.LOW_ESS: f"bulk effective sample size below {ESS_MIN:g}",
    SampleStatus.NONFINITE: "non-finite draws",
    SampleStatus.INDEFINITE: "Laplace: the mode search stopped where the Hessian is not "
    "positive definite (a ridge or saddle); its covariance is regularised there",
}


def _bulk(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised draws (Vehtari et al. 2021, eq. 14) over (chains, samples), for each
    trailing index of ``draws`` (C, S, ...)."""
    flat = draws.reshape(-1, *draws.shape[2:])
    ranks = np.argsort(np.argsort(flat, axis=0, kind="stable"), axis=0, kind="stable") + 1
    z = np.asarray(ndtri((ranks - 3 / 8) / (len(flat) + 1 / 4)), float)
    return z.reshape(draws.shape)


def diagnose_many(draws: np.ndarray, diverging: np.ndarray):
    """Diagnostics of G posteriors at once from ``draws`` (G, C, S, d) and ``diverging``
    (G, C, S): arrays ``(r_hat_max, ess_bulk_min, n_divergent, status)``, each (G,)."""
    draws, diverging = np.asarray(draws, float), np.asarray(diverging, bool)
    finite = np.isfinite(draws).all(axis=(1, 2, 3))
    ranked = _bulk(np.moveaxis(np.where(finite[:, None, None, None], draws, 0.0), 0, -1))
    halves = ranked.reshape(2, -1, *ranked.shape[2:]) if len(ranked) == 1 else ranked
    r_hat = np.max(split_gelman_rubin(halves), axis=0)  # one chain: its two halves
    ess = np.min(effective_sample_size(ranked), axis=0)
    n_div = diverging.sum(axis=(1, 2))
    status = np.select(
        [~finite, n_div > DIVERGENCE_MAX * diverging[0].size, ~(r_hat < RHAT_MAX),
         ~(ess >= ESS_MIN)],
        [SampleStatus.NONFINITE, SampleStatus.DIVERGENT, SampleStatus.NOT_MIXED,
         SampleStatus.LOW_ESS],
        SampleStatus.OK,
    )
    return np.where(finite, r_hat, np.nan), np.where(finite, ess, np.nan), n_div, status


def diagnose(draws: np.ndarray, diverging: np.ndarray):
    """Diagnostics of one posterior from ``draws`` (C, S, d) and ``diverging`` (C, S):
    ``(r_hat_max, ess_bulk_min, n_divergent, status)``."""
    r_hat, ess, n_div, status = diagnose_many(np.asarray(draws)[None], np.asarray(diverging)[None])
    return float(r_hat[0]), float(ess[0]), int(n_div[0]), SampleStatus(int(status[0]))
