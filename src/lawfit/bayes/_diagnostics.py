"""Convergence diagnostics per posterior and a status, as the fitting engine reports one.

Split R-hat and bulk effective sample size follow Vehtari et al. 2021 (via
``numpyro.diagnostics``, rank-normalised); divergences are NUTS's own flag (Betancourt 2017).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from jax.scipy.special import ndtri
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

__all__ = ["RHAT_MAX", "Diagnostics", "SampleStatus", "diagnose", "diagnose_many"]

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


class Diagnostics(NamedTuple):
    """Diagnostics of G posteriors, each (G,): largest rank-normalised split R-hat and
    smallest bulk ESS over the sites, the sites where they are (indices into the last axis of
    the draws), number of divergent transitions, and the :class:`SampleStatus`."""

    r_hat: np.ndarray
    ess_bulk: np.ndarray
    r_hat_site: np.ndarray
    ess_site: np.ndarray
    divergences: np.ndarray
    status: np.ndarray

    def messages(self, sites: Sequence[str]) -> list[str]:
        """Each posterior's status message; a flagged one also names the sites (``sites``: a
        name per index of the last axis of the draws) with the worst R-hat and bulk ESS
        where those fail their thresholds."""
        out = []
        for g, code in enumerate(self.status):
            status = SampleStatus(int(code))
            parts = [status.message]
            if status not in (SampleStatus.OK, SampleStatus.NONFINITE):
                if not self.r_hat[g] < RHAT_MAX:
                    parts.append(f"R-hat {self.r_hat[g]:.2f} at {sites[self.r_hat_site[g]]}")
                if not self.ess_bulk[g] >= ESS_MIN:
                    parts.append(f"bulk ESS {self.ess_bulk[g]:.0f} at {sites[self.ess_site[g]]}")
            out.append("; ".join(parts))
        return out


def diagnose_many(draws: np.ndarray, diverging: np.ndarray) -> Diagnostics:
    """Diagnostics of G posteriors at once from ``draws`` (G, C, S, d) and ``diverging``
    (G, C, S)."""
    draws, diverging = np.asarray(draws, float), np.asarray(diverging, bool)
    finite = np.isfinite(draws).all(axis=(1, 2, 3))
    ranked = _bulk(np.moveaxis(np.where(finite[:, None, None, None], draws, 0.0), 0, -1))
    halves = ranked.reshape(2, -1, *ranked.shape[2:]) if len(ranked) == 1 else ranked
    r_hat_sites = np.asarray(split_gelman_rubin(halves)).T  # (G, d); one chain: its halves
    ess_sites = np.asarray(effective_sample_size(ranked)).T
    r_hat_site = np.argmax(np.nan_to_num(r_hat_sites, nan=np.inf), axis=1)
    ess_site = np.argmin(np.nan_to_num(ess_sites, nan=-np.inf), axis=1)
    r_hat = np.take_along_axis(r_hat_sites, r_hat_site[:, None], 1)[:, 0]
    ess = np.take_along_axis(ess_sites, ess_site[:, None], 1)[:, 0]
    n_div = diverging.sum(axis=(1, 2))
    status = np.select(
        [~finite, n_div > DIVERGENCE_MAX * diverging[0].size, ~(r_hat < RHAT_MAX),
         ~(ess >= ESS_MIN)],
        [SampleStatus.NONFINITE, SampleStatus.DIVERGENT, SampleStatus.NOT_MIXED,
         SampleStatus.LOW_ESS],
        SampleStatus.OK,
    )
    return Diagnostics(np.where(finite, r_hat, np.nan), np.where(finite, ess, np.nan),
                       r_hat_site, ess_site, n_div, status)


def diagnose(draws: np.ndarray, diverging: np.ndarray):
    """Diagnostics of one posterior from ``draws`` (C, S, d) and ``diverging`` (C, S):
    ``(r_hat_max, ess_bulk_min, n_divergent, status)``."""
    out = diagnose_many(np.asarray(draws)[None], np.asarray(diverging)[None])
    return (float(out.r_hat[0]), float(out.ess_bulk[0]), int(out.divergences[0]),
            SampleStatus(int(out.status[0])))
