"""Empirical-Bayes priors (:func:`borrowed_priors`). A family fitted from one or two small
models cannot pin its exponents down, but other families can: their posterior medians of a
parameter, on the scale of its prior (log for a lognormal prior), give a prior Normal(mean,
sd * sqrt(1 + 1/n)) across the n donor families (Robbins 1956; Efron & Morris 1973, the
plug-in estimate of a random-effects prior). E is borrowed only from families that share
the target's data (and tokenizer): declare similarity by passing ``donors`` per parameter.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lawfit.bayes._posterior import Posterior, posterior
from lawfit.bayes._prepare import group_constants, group_key
from lawfit.bayes._sampler import DEFAULT_NUTS, Sampler
from lawfit.data import InputError, check_columns
from lawfit.laws import Law, Prior

__all__ = ["MIN_SCALE", "borrowed_priors", "similar_group_priors"]

#: Smallest prior scale a borrowed prior gets (on its log or natural scale).
MIN_SCALE = 0.05


def borrowed_priors(
    post: Posterior,
    donors: Sequence[bool] | Mapping[str, Sequence[bool]],
    params: Sequence[str] | None = None,
    *,
    trusted: Sequence[str] = ("ok", "low_ess"),
) -> dict[str, Prior]:
    """Empirical-Bayes priors from the groups of ``post`` marked as donors.

    Args:
        post: posteriors of other families (the same law).
        donors: a boolean per group of ``post``, or parameter -> such a mask (e.g. for E,
            only the families trained on the same data and tokenizer).
        params: parameters to borrow (default: those not pivoted, whose values are
            comparable across families: exponents and E).
        trusted: the statuses of donors whose medians are used; by default a donor whose
            chains did not mix (``not_mixed``), diverged or were not finite gives nothing.
    """
    law = post.law
    pivoted_ = {c for c, _, _ in law.pivots}
    params = [p.name for p in law.params if p.name not in pivoted_] if params is None else params
    usable = post.groups["status"].isin(list(trusted)).to_numpy()
    out = {}
    for name in params:
        spec = law.params[law.param_names.index(name)].prior
        mask = usable & np.asarray(donors[name] if isinstance(donors, Mapping) else donors, bool)
        if mask.sum() < 2 or spec.family == "uniform":
            continue
        medians = np.median(post.draws[name][mask].reshape(mask.sum(), -1), axis=1)
        values = np.log(medians) if spec.family == "lognormal" else medians
        scale = max(float(np.std(values, ddof=1)), MIN_SCALE) * np.sqrt(1 + 1 / len(values))
        out[name] = Prior(spec.family, float(np.mean(values)), float(scale))
    return out


def similar_group_priors(
    data: pd.DataFrame,
    law: str | Law,
    x: Mapping[str, str] | str,
    y: str,
    *,
    by: str | Sequence[str],
    similar: str | Sequence[str],
    sampler: Sampler = DEFAULT_NUTS,
    seed: int = 0,
) -> dict[object, dict]:
    """Leave-one-group-out empirical-Bayes priors: the posteriors of every group of ``by``
    (all its data), then for each group :func:`lawfit.bayes.borrowed_priors` from the other
    groups with the same values of the ``similar`` columns (exponents and E, from donors
    whose chains mixed). Returns group key -> {parameter: Prior} (empty where fewer than two
    donors qualify), the ``group_priors`` of :func:`lawfit.bayes.posterior` and
    :func:`forecast`."""
    by_cols = [by] if isinstance(by, str) else list(by or [])
    similar = [similar] if isinstance(similar, str) else list(similar)
    if not by_cols:
        raise InputError("borrow: borrowing between groups needs by (the group columns)")
    if not similar:
        raise InputError("borrow: name at least one column declaring groups similar")
    check_columns(data, similar, argument="borrow")
    constants = group_constants(data, by_cols, similar, argument="borrow",
                                meaning="similarity columns must be constant within each group")
    donors = posterior(data, law, x, y, by=by_cols, sampler=sampler, seed=seed)
    keys = donors.groups[by_cols]
    values = keys.merge(constants, on=by_cols, how="left")[similar].astype(str).to_numpy()
    out = {}
    for g, row in enumerate(keys.itertuples(index=False)):
        same = (values == values[g]).all(axis=1) & (np.arange(len(keys)) != g)
        out[group_key(tuple(row))] = borrowed_priors(donors, same)
    return out
