"""Compute-optimal allocation under a Chinchilla-form law."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["compute_optimal"]


def compute_optimal(params: pd.DataFrame | dict, compute, flops_per_token_param: float = 6.0) -> pd.DataFrame:
    """N*, D* and D*/N* minimising E + A/N^alpha + B/D^beta subject to C = 6 N D.

    N* = G (C/6)^(beta/(alpha+beta)), D* = (C/6)/N*, G = (alpha A / (beta B))^(1/(alpha+beta))
    (Hoffmann et al. 2022, eq. 4). ``params`` holds ``A, B, alpha, beta`` as scalars or as
    columns (one row per parameter draw, e.g. bootstrap resamples); ``compute`` broadcasts.
    """
    table = pd.DataFrame(params, index=[0]) if isinstance(params, dict) else params
    a, b = table["A"].to_numpy(float), table["B"].to_numpy(float)
    alpha, beta = table["alpha"].to_numpy(float), table["beta"].to_numpy(float)
    budget = np.asarray(compute, float) / flops_per_token_param
    g = (alpha * a / (beta * b)) ** (1.0 / (alpha + beta))
    n_opt = g * budget ** (beta / (alpha + beta))
    d_opt = budget / n_opt
    return pd.DataFrame({"C": np.broadcast_to(compute, n_opt.shape), "N_opt": n_opt, "D_opt": d_opt,
                         "tokens_per_param": d_opt / n_opt})
