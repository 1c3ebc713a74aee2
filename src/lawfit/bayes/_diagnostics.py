"""Convergence diagnostics per posterior and a status, as the fitting engine reports one.

Split R-hat and bulk effective sample size follow Vehtari et al. 2021 (via
``numpyro.diagnostics``, rank-normalised); divergences are NUTS's own flag (Betancourt 2017).
"""

from __future__ import annotations

import enum

import numpy as np
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
from numpyro.distributions import Normal

__all__ = ["RHAT_MAX", "SampleStatus", "diagnose"]

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
}


def _bulk(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised draws (Vehtari et al. 2021, eq. 14) over (chains, samples)."""
    flat = draws.reshape(-1)
    ranks = np.empty(flat.size)
    ranks[np.argsort(flat, kind="stable")] = np.arange(1, flat.size + 1)
    z = np.asarray(Normal(0.0, 1.0).icdf((ranks - 3 / 8) / (flat.size + 1 / 4)))
    return z.reshape(draws.shape)


def diagnose(draws: np.ndarray, diverging: np.ndarray):
    """Diagnostics of one posterior from ``draws`` (C, S, d) and ``diverging`` (C, S):
    ``(r_hat_max, ess_bulk_min, n_divergent, status)``."""
    draws = np.asarray(draws, float)
    if not np.all(np.isfinite(draws)):
        return np.nan, np.nan, int(diverging.sum()), SampleStatus.NONFINITE
    ranked = np.stack([_bulk(draws[..., j]) for j in range(draws.shape[-1])], axis=-1)
    if draws.shape[0] > 1:
        r_hat = float(np.max(split_gelman_rubin(ranked)))
    else:
        r_hat = float(np.max(split_gelman_rubin(ranked.reshape(2, -1, draws.shape[-1]))))
    ess = float(np.min(effective_sample_size(ranked)))
    n_div = int(np.sum(diverging))
    if n_div > DIVERGENCE_MAX * diverging.size:
        status = SampleStatus.DIVERGENT
    elif not r_hat < RHAT_MAX:
        status = SampleStatus.NOT_MIXED
    elif not ess >= ESS_MIN:
        status = SampleStatus.LOW_ESS
    else:
        status = SampleStatus.OK
    return r_hat, ess, n_div, status
