"""Synthetic data from a law, for recovery tests and simulation studies."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from lawfit.laws import Law
from lawfit.laws import get as get_law
from lawfit.precision import computing

__all__ = ["simulate"]


def simulate(
    law: str | Law,
    params: Mapping[str, float],
    x: Mapping[str, np.ndarray],
    *,
    noise: float = 0.0,
    multiplicative: bool = True,
    seed: int = 0,
    y: str = "y",
) -> pd.DataFrame:
    """Observations y = law(x) * exp(noise * z) (or + noise * z), z ~ N(0, 1), as a DataFrame.

    ``x`` maps each input to an array (all broadcast together); the frame has the inputs and
    ``y``. Multiplicative noise is additive noise on log loss, the scale Huber-log fits see.
    """
    law = get_law(law)
    missing = set(law.param_names) - set(params)
    if missing:
        raise ValueError(f"params: missing {sorted(missing)} for law {law.name!r}")
    arrays = np.broadcast_arrays(*(np.asarray(x[name], float) for name in law.inputs))
    inputs = {name: a.ravel() for name, a in zip(law.inputs, arrays, strict=True)}
    with computing("float64"):
        clean = np.asarray(law.predict({p: float(params[p]) for p in law.param_names}, inputs))
    z = np.random.default_rng(seed).standard_normal(clean.shape)
    values = clean * np.exp(noise * z) if multiplicative else clean + noise * z
    return pd.DataFrame({**inputs, y: values})
