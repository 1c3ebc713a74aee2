"""The pandas front end of Bayesian fits: one posterior per group, all in one batched call."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from lawfit.bayes._diagnostics import SampleStatus, diagnose_many
from lawfit.bayes._laplace import laplace
from lawfit.bayes._model import NOISE_SITES, Hyper, cast, log_mean, natural, potential
from lawfit.bayes._nuts import nuts
from lawfit.bayes._prepare import Batch, check_priors, prepare, start_points
from lawfit.bayes._sampler import DEFAULT_NUTS, NUTS, Sampler, check_sampler
from lawfit.data import InputError, as_table, check_choice, check_columns
from lawfit.laws import Law, Prior
from lawfit.laws import get as get_law
from lawfit.precision import computing, dtype_of

__all__ = ["Posterior", "posterior"]


@dataclass(frozen=True)
class Posterior:
    """What :func:`posterior` returns.

    Attributes:
        law, x, y, by: what was fitted (``x`` maps law inputs to columns).
        groups: one row per group: the ``by`` columns, ``n_points``, ``r_hat`` (largest
            rank-normalised split R-hat over the unconstrained sites), ``ess_bulk`` (smallest),
            ``divergences``, ``status`` and ``message`` (see :class:`SampleStatus`).
        draws: ``param -> (G, C, S)`` natural-unit draws per group, chain and sample, plus
            ``sigma`` (noise sd on log loss) and ``df`` (its Student-t degrees of freedom).
        box: (G, I) log10 of the largest training value of each input, and of the inputs'
            product when there are several (compute, for N and D): the training range that
            forecasts measure extrapolation from.
        sampler: the settings the draws came from (:class:`lawfit.bayes.NUTS` or
            :class:`lawfit.bayes.Laplace`).
        population: ``None`` for independent posteriors; from
            :func:`lawfit.bayes.hierarchical_posterior`, per pooled parameter ``p``:
            ``p`` -> (clusters, C, S) natural-unit draws of each cluster's population centre
            T(m) (the median of the population, e.g. of the lognormal for a positive
            parameter), and ``p_scale`` -> (C, S) its population sd s on the unconstrained
            scale; ``groups`` then has a ``p_cluster`` column (each group's cluster).
        ci: the level of the intervals in :attr:`params`, as :attr:`lawfit.FitResult.ci`.
    """

    law: Law
    x: dict[str, str]
    y: str
    by: list[str]
    groups: pd.DataFrame
    draws: dict[str, np.ndarray] = field(repr=False)
    box: np.ndarray = field(repr=False)
    sampler: Sampler
    population: dict[str, np.ndarray] | None = field(default=None, repr=False)
    ci: float = 0.95

    def __post_init__(self):
        if not 0 < self.ci < 1:
            raise InputError(f"ci must be in (0, 1); got {self.ci!r}")

    @property
    def params(self) -> pd.DataFrame:
        """One row per group, laid out as :attr:`lawfit.FitResult.params`: the ``by``
        columns, per parameter (and ``sigma``, ``df``) the posterior median ``{p}`` and the
        central :attr:`ci` interval ``{p}_lo``, ``{p}_hi``, then the diagnostics columns of
        :attr:`groups` (``status``, ``r_hat``, ...). Another level: :meth:`params_at`."""
        return self.params_at(self.ci)

    def params_at(self, ci: float) -> pd.DataFrame:
        """:attr:`params` with central ``ci`` intervals (0 < ci < 1)."""
        if not 0 < ci < 1:
            raise InputError(f"ci must be in (0, 1); got {ci!r}")
        rows = self.groups[self.by].copy()
        for name in (*self.law.param_names, "sigma", "df"):
            flat = self.draws[name].reshape(len(rows), -1)
            rows[name] = np.median(flat, axis=1)
            rows[f"{name}_lo"] = np.quantile(flat, (1 - ci) / 2, axis=1)
            rows[f"{name}_hi"] = np.quantile(flat, (1 + ci) / 2, axis=1)
        diag = self.groups.drop(columns=self.by)
        return pd.concat([rows.reset_index(drop=True), diag.reset_index(drop=True)], axis=1)

    def group_index(self, frame: pd.DataFrame) -> np.ndarray:
        """The group of each row of ``frame`` (which needs the ``by`` columns)."""
        if not self.by:
            return np.zeros(len(frame), int)
        check_columns(frame, self.by, argument="by")
        keys = self.groups[self.by].assign(_g=np.arange(len(self.groups)))
        merged = frame[self.by].reset_index(drop=True).merge(keys, on=self.by, how="left")
        if merged["_g"].isna().any():
            missing = frame[self.by][merged["_g"].isna().to_numpy()].drop_duplicates().head(5)
            raise InputError(f"by: groups not in the posterior: {missing.to_dict('records')}")
        return merged["_g"].to_numpy(int)

    def log_mean_draws(self, group: int, x: Mapping[str, np.ndarray]) -> np.ndarray:
        """(C*S, n) draws of log f(theta; x) for one group at points ``x`` (input -> (n,))."""
        theta = np.stack([self.draws[p][group].reshape(-1) for p in self.law.param_names], 1)
        with computing("float64"):
            xs = {n: jnp.asarray(np.asarray(x[n], float)) for n in self.law.inputs}
            out = jax.vmap(lambda t: log_mean(self.law, t, xs))(jnp.asarray(theta, jnp.float64))
            return np.asarray(out)

    def to_arviz(self, group: int = 0):
        """One group's draws as an ``arviz.InferenceData`` (needs the ``arviz`` package)."""
        try:
            import arviz as az
        except ImportError:  # pragma: no cover - arviz is in the dev extra
            raise ImportError(
                "to_arviz needs arviz: pip install arviz (or lawfit[dev])"
            ) from None
        posterior_ = {name: np.asarray(v[group]) for name, v in self.draws.items()}
        return az.from_dict(posterior=posterior_)


@partial(jax.jit, static_argnames="law")
def natural_draws(law: Law, z, h: Hyper):
    """The law's parameters in natural units from unconstrained draws z (G, ..., K + 2)."""
    k = len(law.params)
    return jax.vmap(lambda zg, hg: natural(law, zg[..., :k], hg)[0])(z, h)


def laplace_status(value, ok):
    """Status of Laplace posteriors: ``nonfinite`` where no start reached a finite potential,
    ``indefinite`` where the Hessian at the mode was not positive definite, else ``ok``."""
    return np.select([~np.isfinite(value), ~ok],
                     [SampleStatus.NONFINITE, SampleStatus.INDEFINITE], SampleStatus.OK)



def posterior(
    data: pd.DataFrame | str | os.PathLike,
    law: str | Law,
    x: Mapping[str, str] | str,
    y: str,
    *,
    by: str | Sequence[str] | None = None,
    priors: Mapping[str, Prior] | None = None,
    group_priors: Mapping[object, Mapping[str, Prior]] | None = None,
    sampler: Sampler = DEFAULT_NUTS,
    noise: float = 0.05,
    seed: int = 0,
    precision: str = "float32",
    chunk: int | None = None,
) -> Posterior:
    """Posteriors of ``law`` on log ``y``, one per group of ``by``, in one batched call.

    The model is :func:`lawfit.bayes.make_model` (the spec's priors, Student-t noise on log
    loss, pivots at each group's geometric means). Each group's mode and Laplace approximation
    start from lawfit's MAP fit (Huber on log loss) and from the prior medians; the
    ``sampler`` then draws: :class:`lawfit.bayes.NUTS` chains from Laplace draws,
    preconditioned by it, or :class:`lawfit.bayes.Laplace` draws of the approximation itself.

    Args:
        data, law, x, y, by: as in :func:`lawfit.fit` (validated the same way).
        priors: parameter -> :class:`lawfit.Prior` replacing the spec's (same family), e.g.
            empirical-Bayes priors from other families (:func:`lawfit.bayes.borrowed_priors`).
        group_priors: group key (the ``by`` value, a tuple for several columns) -> such a
            mapping, for that group only (over ``priors``): e.g. leave-one-family-out
            borrowed priors for every family in one call.
        sampler: :class:`lawfit.bayes.NUTS` (default settings) or :class:`lawfit.bayes.Laplace`.
        noise: HalfNormal scale of the noise sd on log loss.
        seed: PRNG seed; precision: ``"float32"`` (default) or ``"float64"``.
        chunk: posteriors sampled together in lockstep (:func:`lawfit.bayes.nuts`; default
            all at once).
    """
    data = as_table(data)
    law_ = get_law(law) if isinstance(law, (str, Law)) else law
    check_sampler(sampler)
    check_choice(precision, ("float32", "float64"), argument="precision")
    check_priors(law_, priors, argument="priors")
    batch = prepare(data, law_, x, y, by, priors, noise, seed, pad_groups=True,
                    group_priors=group_priors)
    n_groups, k = batch.grouped.n_groups, len(law_.params)
    dtype = dtype_of(precision)
    with computing(precision):
        z, diverging, theta, lap = _sample(law_, batch, sampler, noise, seed, dtype, chunk)
    z, theta, diverging = z[:n_groups], theta[:n_groups], diverging[:n_groups]
    draws = {name: theta[..., j] for j, name in enumerate(law_.param_names)}
    draws["sigma"] = np.exp(z[..., k])
    draws["df"] = np.exp(z[..., k + 1]) + 2.0
    if isinstance(sampler, NUTS):
        rows = _nuts_diagnostics(law_, z, diverging)
    else:
        rows = _laplace_diagnostics(np.asarray(lap.value)[:n_groups], np.asarray(lap.ok)[:n_groups])
    rows.insert(0, "n_points", batch.grouped.sizes)
    keys = batch.grouped.keys.reset_index(drop=True)
    groups = pd.concat([keys, rows], axis=1)
    return Posterior(law_, dict(batch.grouped.x), y, list(batch.grouped.by), groups, draws, batch.box,
                     sampler)


def _sample(law: Law, batch: Batch, sampler: Sampler, noise: float, seed: int, dtype, chunk):
    """Unconstrained draws z (slots, C, S, K + 2), their divergence flags, natural-unit
    parameter draws, and the Laplace approximations they started from."""
    d, h = cast(batch.data, dtype), cast(batch.hyper, dtype)
    starts = cast(start_points(law, d, h, batch.theta_map, noise, dtype), dtype)
    pot = potential(law)
    lap = laplace(pot, (d, h), starts)
    key = jax.random.PRNGKey(seed)
    if isinstance(sampler, NUTS):
        out = nuts(pot, (d, h), lap.mode, lap.sqrt_cov, key=key, chains=sampler.chains,
                   warmup=sampler.warmup, samples=sampler.samples,
                   max_tree_depth=sampler.max_tree_depth, target_accept=sampler.target_accept,
                   chunk=chunk)
        z, diverging = np.asarray(out.z), np.asarray(out.diverging)
    else:
        shape = (lap.mode.shape[0], sampler.chains, sampler.samples, lap.mode.shape[1])
        w = jax.random.normal(key, shape, dtype)
        z = np.asarray(lap.mode[:, None, None] + jnp.einsum("gij,gcsj->gcsi", lap.sqrt_cov, w))
        diverging = np.zeros(z.shape[:3], bool)
    theta = np.asarray(natural_draws(law, jnp.asarray(z), h))
    return z, diverging, theta, lap


def _nuts_diagnostics(law: Law, z, diverging) -> pd.DataFrame:
    """Per group: ``r_hat``, ``ess_bulk``, ``divergences``, ``status``, ``message``."""
    diag = diagnose_many(z, diverging)
    return pd.DataFrame(dict(
        r_hat=diag.r_hat, ess_bulk=diag.ess_bulk, divergences=diag.divergences,
        status=[SampleStatus(int(v)).label for v in diag.status],
        message=diag.messages([*law.param_names, *NOISE_SITES])))


def _laplace_diagnostics(value, ok) -> pd.DataFrame:
    """The columns of :func:`_nuts_diagnostics` for Laplace draws (no R-hat or ESS)."""
    status = laplace_status(value, ok)
    return pd.DataFrame(dict(
        r_hat=np.full(len(status), np.nan), ess_bulk=np.full(len(status), np.nan),
        divergences=np.zeros(len(status), int),
        status=[SampleStatus(int(v)).label for v in status],
        message=[SampleStatus(int(v)).message for v in status]))
