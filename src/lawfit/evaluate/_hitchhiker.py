"""The Hitchhiker estimation protocol: designs, one batched refit of all of them, ARE, leaderboard.

Choshen, Zhang & Andreas, "A Hitchhiker's Guide to Scaling Law Estimation", ICML 2025
(arXiv:2410.11840; code github.com/IBM/ColPret). Per family the target is the largest model; a
design trains L = E + A/N^alpha + B/D^beta on the k smallest other models, the fraction p of
their training, checkpoints above a token cut (all, or each model's last), and is scored by
the absolute relative error on the target's late checkpoints,

    ARE = mean_i |L_i - Lhat_i| / L_i.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from lawfit.bayes import Laplace, SampleStatus, posterior
from lawfit.bayes._prepare import check_priors
from lawfit.bayes._sampler import Sampler
from lawfit.data import GroupedData, InputError, bucket, check_columns, validate_corpus
from lawfit.fitting import (
    LBFGS,
    MSE,
    HuberLog,
    LevenbergMarquardt,
    LogMSE,
    MultiStart,
    Objective,
    Solver,
    Status,
    fit_batch,
)
from lawfit.fitting._diagnostics import MAX_CONDITION, diagnose_optima
from lawfit.laws import Law, Prior
from lawfit.laws import get as get_law
from lawfit.laws.bijection import to_unconstrained
from lawfit.precision import computing

__all__ = [
    "COLPRET_START",
    "DATABLATIONS",
    "Backtested",
    "Bayesian",
    "Designs",
    "Estimates",
    "Method",
    "designs",
    "estimate",
    "findings",
    "get_method",
    "leaderboard",
    "method_names",
    "register_method",
]

LAW = get_law("chinchilla")
FRACTIONS = tuple(round(0.1 * i, 1) for i in range(1, 11))
MIN_TOKENS = (0.0, 1e10)
CHECKPOINTS = ("all", "final")
# ColPret's ChinchillaFit start (a, b, e, alpha, beta) = (6.255414, 7.3049974, 0.6254804,
# 0.3526596, 0.3526596) with A = e^a, B = e^b, E = e^e: Muennighoff et al.'s estimates.
COLPRET_START = {
    "E": math.exp(0.6254804),
    "A": math.exp(6.255414),
    "B": math.exp(7.3049974),
    "alpha": 0.3526596,
    "beta": 0.3526596,
}
# The donor ColPret borrows from: the datablations A and alpha.
DATABLATIONS = {"A": COLPRET_START["A"], "alpha": COLPRET_START["alpha"]}
_DESIGN_COLUMNS = [
    "family", "target", "n_train_models", "train_fraction", "min_tokens", "checkpoints",
    "borrow", "n_train", "n_test",
]


class Method(NamedTuple):
    """A fitting method: objective, solver, (S, K) natural starts and (K,) natural bounds of
    ``law``'s parameters.

    Law-form variants: ``law`` is :data:`LAW` or a law of N and D that is :data:`LAW` with
    some parameters tied (``tied``: pairs (LAW's parameter, ``law``'s parameter it equals),
    e.g. ``(("beta", "alpha"),)`` for a shared exponent); its fits are reported, scored and
    borrowed from as :data:`LAW`'s (E, A, B, alpha, beta). ``e_below_loss``, when set,
    bounds each design's E above by this fraction of the design's smallest training loss
    (the irreducible loss below every loss observed)."""

    name: str
    objective: Objective
    solver: Solver
    starts: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    e_below_loss: float | None = None
    law: Law = LAW
    tied: tuple[tuple[str, str], ...] = ()


class Backtested(NamedTuple):
    """A method that picks, per design, one of several candidate methods by a backtest inside
    the design's training data (a rolling-origin evaluation, Tashman 2000, Int. J.
    Forecasting 16:437).

    The backtest holds out the training checkpoints of the design's largest model with
    D >= ``holdout`` * its largest D (as the target's test set is cut), fits every candidate
    on the other training rows and scores it by ARE on those held out. The design then gets
    the fit on all its training rows of the candidate with the lowest backtest ARE among
    those whose full fit converged; the first converged candidate when no backtest is
    possible (fewer training rows left than parameters). Nothing of the target is used."""

    name: str
    candidates: tuple[Method, ...]
    holdout: float = 0.7


class Bayesian(NamedTuple):
    """A method that reports each design's posterior median of (E, A, B, alpha, beta)
    (:func:`lawfit.bayes.posterior`: the law spec's priors, Student-t noise on log loss,
    ``sampler`` draws: by default 400 of the Laplace approximation at the posterior mode,
    fast enough for thousands of designs; ``lawfit.bayes.NUTS(...)`` samples the posterior
    itself, about 10x slower here). ``priors`` (parameter -> :class:`lawfit.Prior` of the
    spec's family) replace the spec's. Borrowing designs replace A's and alpha's priors by lognormals
    centred on the donor's values with log-scale ``borrow_scale`` (the donor's estimates as
    a prior, not as fixed values). A design's status is ``converged`` when its draws are
    ``ok`` or ``low_ess``, ``stalled`` when the sampler diverged or its chains disagree,
    ``nonfinite`` without finite draws."""

    name: str
    sampler: Sampler = Laplace(chains=1, samples=400)
    noise: float = 0.05
    borrow_scale: float = 0.05
    priors: dict | None = None


AnyMethod = Method | Backtested | Bayesian


# L-BFGS for the grid methods: the per-step test at 1e-9, and the windowed test for fits
# creeping along a flat valley; 4,000 steps let the slow ones finish (they need up to ~3,300).
_GRID_SOLVER = LBFGS(ftol=1e-9, max_steps=4000, window=50, wtol=1e-6)


def _colpret() -> Method:
    """The paper's code: least squares on the raw loss from one start, as scipy's
    ``curve_fit`` (trf, tolerances 1e-8, unscaled variables) does it.

    ColPret fits (log A, log B, log E, alpha, beta); the same variables here are the
    unconstrained ones when A, B, E > 0 and alpha, beta are unbounded, and Levenberg's
    identity damping plays the part of trf's unscaled trust region. (ColPret bounds alpha,
    beta >= 0; none of the 2,832 fits of the full hitchhiker meta-analysis reaches 0.)
    """
    lower = np.array([0.0, 0.0, 0.0, -np.inf, -np.inf])
    start = np.array([[COLPRET_START[p] for p in LAW.param_names]])
    solver = LevenbergMarquardt(ftol=1e-8, xtol=1e-8, gtol=1e-8, scaling="identity")
    return Method("colpret", MSE(), solver, start, lower, np.full(5, np.inf))


def _huber_grid() -> Method:
    """Huber (delta 1e-3) on log loss, summed, from a 2^3 grid of starts (E in {0.5, 2},
    A = B = 1e3, alpha and beta in {0.2, 0.6}; L-BFGS, the best start is kept), after
    Hoffmann et al. 2022 and Besiroglu et al. 2024."""
    return Method("huber-grid", HuberLog(1e-3), _GRID_SOLVER, _SMALL_GRID, LAW.lower, LAW.upper)


def _mse_grid() -> Method:
    """Least squares on the raw loss (as ``colpret``) from ``huber-grid``'s 8 starts with
    L-BFGS: what a multi-start ``curve_fit`` does, without the robust loss."""
    return Method("mse-grid", MSE(), _GRID_SOLVER, _SMALL_GRID, LAW.lower, LAW.upper)


def _log_grid() -> Method:
    """Least squares on log loss, sum (log L - log Lhat)^2 (Huber with an infinite delta:
    every residual weighs by its square), from ``huber-grid``'s 8 starts with L-BFGS."""
    return Method("log-grid", LogMSE(), _GRID_SOLVER, _SMALL_GRID, LAW.lower, LAW.upper)


def _bounded_e() -> Method:
    """``log-grid`` with E below each design's smallest training loss
    (``e_below_loss=1``): the irreducible loss cannot exceed a loss already reached."""
    return _log_grid()._replace(name="bounded-e", e_below_loss=1.0)


def _backtested() -> Backtested:
    """Per design, ``log-grid`` or ``mse-grid``, whichever predicts the late checkpoints of
    the largest training model better (:class:`Backtested`). On the full Hitchhiker run
    log-grid has the lower mean ARE, mse-grid the lower median; the backtest keeps some of
    both (docs/hitchhiker.md)."""
    return Backtested("backtested", (_log_grid(), _mse_grid()))


def _lawfit() -> Bayesian:
    """The recommended method, chosen on the full Hitchhiker leaderboard
    (docs/hitchhiker.md): ``bayes``, each design's posterior median under the spec's
    priors; the only method there with a lower median and mean ARE than ``colpret`` that
    also beats it in most paired designs."""
    return _bayes()._replace(name="lawfit")


def _bayes() -> Bayesian:
    """Posterior medians under the spec's priors from 400 draws of each design's Laplace
    approximation (:class:`Bayesian`'s default)."""
    return Bayesian("bayes")


def _shared_exponent() -> Method:
    """``log-grid`` on the law-form variant with one exponent for N and D,
    L = E + A/N^alpha + B/D^alpha (Gadre et al. 2024, eq. 3; ColPret's start has
    alpha = beta): one parameter fewer to extrapolate with."""
    law = get_law("shared_exponent")
    starts = np.unique(_SMALL_GRID[:, :4], axis=0)
    return Method("shared-exponent", LogMSE(), _GRID_SOLVER, starts, law.lower, law.upper,
                  law=law, tied=(("beta", "alpha"),))


def _epoch() -> Method:
    """Hoffmann et al.'s 4,500-start grid as Besiroglu et al. 2024 (arXiv:2404.10102) refit
    it: Huber (delta 1e-3) on log loss, L-BFGS, starts E = e^e, A = e^a, B = e^b with
    e in {-1, -.5, 0, .5, 1}, a, b in {0, 5, ..., 25}, alpha, beta in {0, .5, ..., 2}
    (a start on a bound is moved just inside it)."""
    axes = [np.exp(np.arange(-1.0, 1.01, 0.5)), np.exp(np.arange(0.0, 26.0, 5.0)),
            np.exp(np.arange(0.0, 26.0, 5.0)), np.arange(0.0, 2.01, 0.5), np.arange(0.0, 2.01, 0.5)]
    grid = np.array([[p.inside(v) for p, v in zip(LAW.params, row, strict=True)]
                     for row in itertools.product(*axes)])
    return Method("epoch", HuberLog(1e-3), _GRID_SOLVER, grid, LAW.lower, LAW.upper)


_SMALL_GRID = np.array([(e, 1e3, 1e3, alpha, beta)
                        for e, alpha, beta in itertools.product((0.5, 2.0), (0.2, 0.6), (0.2, 0.6))])
_METHODS: dict[str, Callable[[], AnyMethod]] = {
    "colpret": _colpret, "huber-grid": _huber_grid, "mse-grid": _mse_grid,
    "log-grid": _log_grid, "lawfit": _lawfit, "bayes": _bayes, "backtested": _backtested,
    "bounded-e": _bounded_e, "shared-exponent": _shared_exponent, "epoch": _epoch,
}


def register_method(
    method: AnyMethod | Callable[[], AnyMethod], *, overwrite: bool = False
) -> None:
    """Make a :class:`Method`, :class:`Backtested` or :class:`Bayesian` (or a function
    building one) available by its name to :func:`estimate` and ``lawfit hitchhiker
    --methods`` (a ``--module FILE.py`` may call this). Starts and bounds are checked
    against the method's law here."""
    factory = (lambda: method) if isinstance(method, AnyMethod) else method
    built = factory()
    if isinstance(built, Bayesian):
        _check_bayesian(built)
    elif isinstance(built, Backtested):
        if not built.candidates or not 0 < built.holdout < 1:
            raise ValueError(f"method {built.name!r}: a Backtested method needs candidates "
                             f"and a holdout in (0, 1); got {built.holdout}")
        for candidate in built.candidates:
            _check_method(candidate)
    else:
        _check_method(built)
    if built.name in _METHODS and not overwrite:
        raise ValueError(f"a method named {built.name!r} is registered already "
                         "(pass overwrite=True)")
    _METHODS[built.name] = factory


def _check_bayesian(built: Bayesian) -> None:
    """Raise unless ``built``'s sampler and scales are usable."""
    if not isinstance(built.sampler, Sampler):
        raise TypeError(f"method {built.name!r}: sampler must be lawfit.bayes.NUTS or Laplace; "
                        f"got {type(built.sampler).__name__}")
    for field in ("noise", "borrow_scale"):
        value = getattr(built, field)
        if not (isinstance(value, (int, float)) and value > 0):
            raise ValueError(f"method {built.name!r}: {field} must be > 0; got {value!r}")
    check_priors(LAW, built.priors, argument=f"method {built.name!r}: priors")


def _check_method(built: Method) -> None:
    """Raise unless ``built`` is a :class:`Method` with (S, K) starts and (K,) bounds of a
    law of N and D that gives every parameter of :data:`LAW` (by name or ``tied``)."""
    if not isinstance(built, Method):
        raise TypeError(f"register_method expects a Method; got {type(built).__name__}")
    law = built.law
    if not isinstance(law, Law) or set(law.inputs) != {"N", "D"}:
        raise ValueError(f"method {built.name!r}: law must be a lawfit Law of N and D")
    tied = dict(built.tied)
    missing = [p for p in LAW.param_names if p not in law.param_names and p not in tied]
    wrong = [b for b in tied.values() if b not in law.param_names]
    if missing or wrong:
        raise ValueError(f"method {built.name!r}: law {law.name!r} lacks {missing + wrong}; "
                         f"tie each parameter of {LAW.name} to one of {list(law.param_names)}")
    k = len(law.params)
    starts = np.asarray(built.starts, dtype=float)
    if starts.ndim != 2 or starts.shape[1] != k or len(starts) == 0:
        raise ValueError(f"method {built.name!r}: starts must be an (S, {k}) array of "
                         f"({', '.join(law.param_names)}); got shape {starts.shape}")
    for bound in ("lower", "upper"):
        if np.shape(getattr(built, bound)) != (k,):
            raise ValueError(f"method {built.name!r}: {bound} must have {k} values")
    fraction = built.e_below_loss
    if fraction is not None and not (isinstance(fraction, (int, float)) and 0 < fraction <= 1
                                     and "E" in law.param_names):
        raise ValueError(f"method {built.name!r}: e_below_loss must be in (0, 1] and the "
                         f"law must have E; got {fraction!r}")


def _as_law_params(method: Method, params: np.ndarray) -> np.ndarray:
    """(G, 5) :data:`LAW`'s parameters of ``method``'s (G, K) fits (tied ones copied)."""
    names = method.law.param_names
    tied = dict(method.tied)
    return np.stack([params[:, names.index(tied.get(p, p))] for p in LAW.param_names], axis=1)


def _design_bounds(method: Method, batch) -> tuple[np.ndarray, np.ndarray]:
    """(G, K) natural bounds of the padded designs ``batch``: the method's, with E's upper
    bound at ``e_below_loss`` times each design's smallest training loss when it is set."""
    n_groups, k = len(batch.target), len(method.law.params)
    lower = np.broadcast_to(np.asarray(method.lower, float), (n_groups, k))
    upper = np.array(np.broadcast_to(np.asarray(method.upper, float), (n_groups, k)))
    if method.e_below_loss is not None:
        smallest = np.where(batch.weight > 0, batch.target, np.inf).min(axis=1)
        column = method.law.param_names.index("E")
        upper[:, column] = np.minimum(upper[:, column], method.e_below_loss * smallest)
    return lower, upper


def method_names() -> list[str]:
    """Names of the registered methods, built-in ones first."""
    return list(_METHODS)


def get_method(name: str | AnyMethod) -> AnyMethod:
    """The method called ``name`` (see :func:`method_names`)."""
    if isinstance(name, AnyMethod):
        return name
    if name not in _METHODS:
        raise InputError(f"methods: unknown method {name!r}; choose from {', '.join(_METHODS)}")
    return _METHODS[name]()


class Designs(NamedTuple):
    """Estimation designs: ``table`` (one row per design: ``family, target,
    n_train_models, train_fraction, min_tokens, checkpoints, borrow, n_train, n_test``) and,
    per design, the ``train`` and ``test`` row positions in ``corpus``."""

    table: pd.DataFrame
    train: list
    test: list
    corpus: pd.DataFrame


def designs(
    corpus: pd.DataFrame,
    *,
    families: Sequence[str] | None = None,
    n_train_models: Sequence[int] | None = None,
    fractions: Sequence[float] = FRACTIONS,
    min_tokens: Sequence[float] = MIN_TOKENS,
    checkpoints: Sequence[str] = CHECKPOINTS,
    test: float | str = 0.7,
    borrow: Sequence[str] = (),
    max_target_loss: float = 10.0,
) -> Designs:
    """Every design of every family, following ColPret's ``get_model_data`` literally.

    Per family (models sorted by ``N``), the target is the largest model and a design trains
    on the k smallest others (k in ``n_train_models``, default 2..n-1). With T the largest
    ``D`` over those models, it keeps rows with D < p*T (strict, so at p = 1 the checkpoint
    at T drops out, as in ColPret) and, for a cut c > 0, D > c; ``checkpoints="final"``
    then keeps each model's last remaining checkpoint. The test set is the target's rows with
    D >= ``test`` * its largest D (no cut), or its final checkpoint for ``test="final"``.
    A family is skipped when its target's lowest loss exceeds ``max_target_loss`` (ColPret's
    ``at_least_loss``) or, unless named in ``families``, when a model has no ``N``.

    ``borrow``: donors, ``"datablations"`` or a family. Each adds designs with k = 1, 2
    whose A and alpha are fixed to the donor's (:data:`DATABLATIONS`, or the donor family's
    full design: every smaller model, p = 1, no cut, all checkpoints), for families with at
    least 2 models.
    """
    corpus = validate_corpus(corpus)
    fractions = [float(p) for p in fractions]
    if not fractions or not all(0 < p <= 1 for p in fractions):
        raise InputError(f"fractions must lie in (0, 1]; got {fractions}")
    cuts = [float(c) for c in min_tokens]
    if not cuts or not all(c >= 0 for c in cuts):
        raise InputError(f"min_tokens must be >= 0; got {cuts}")
    bad = [c for c in checkpoints if c not in CHECKPOINTS]
    if bad or not checkpoints:
        raise InputError(f"checkpoints must be 'all' and/or 'final'; got {list(checkpoints)}")
    if not (test == "final" or (isinstance(test, (int, float)) and 0 <= test <= 1)):
        raise InputError(f"test must be a fraction in [0, 1] or 'final'; got {test!r}")
    names = sorted(corpus["family"].unique())
    if families is not None:
        unknown = [f for f in families if f not in names]
        if unknown:
            raise InputError(
                f"families: {unknown} not in the corpus' column 'family'; the families are: "
                + ", ".join(map(str, names))
            )
        names = list(dict.fromkeys(families))
    donors = list(dict.fromkeys(borrow))
    for donor in donors:
        if donor != "datablations" and donor not in names:
            raise InputError(f"borrow: {donor!r} is neither 'datablations' nor a family fitted")

    rows, train, test_rows = [], [], []
    d_all = corpus["D"].to_numpy(float)
    by_family = corpus.groupby("family", sort=False).indices
    for family in names:
        idx = np.asarray(by_family[family])
        frame = corpus.iloc[idx]
        if frame["N"].isna().any():
            if families is not None:
                raise InputError(f"family {family!r}: column 'N' is missing for some models")
            continue
        order = frame[["model", "N"]].drop_duplicates("model").sort_values("N", kind="stable")
        models = order["model"].tolist()
        n = len(models)
        model_of = frame["model"].to_numpy()
        target = models[-1]
        t_idx = idx[model_of == target]
        if n < 2 or corpus["loss"].to_numpy()[t_idx].min() > max_target_loss:
            continue
        d_t = d_all[t_idx]
        keep = d_t == d_t.max() if test == "final" else d_t >= float(test) * d_t.max()
        t_idx = t_idx[keep]
        plans = [(k, "") for k in (n_train_models or range(2, n)) if 1 <= k <= n - 1]
        plans += [(k, d) for d in donors if d != family for k in (1, 2) if k <= n - 1]
        for k, donor in plans:
            pool = idx[np.isin(model_of, models[:k])]
            d_pool = d_all[pool]
            for p, cut, ckpt in itertools.product(fractions, cuts, checkpoints):
                keep = (d_pool < p * d_pool.max()) & (d_pool > cut)
                chosen = pool[keep]
                if ckpt == "final" and len(chosen):
                    frame_c = pd.DataFrame({"m": corpus["model"].to_numpy()[chosen],
                                            "d": d_all[chosen], "i": chosen})
                    chosen = frame_c.loc[frame_c.groupby("m", sort=False)["d"].idxmax(), "i"]
                    chosen = np.sort(chosen.to_numpy())
                rows.append((family, target, k, p, cut, ckpt, donor, len(chosen), len(t_idx)))
                train.append(chosen)
                test_rows.append(t_idx)
    table = pd.DataFrame(rows, columns=_DESIGN_COLUMNS)
    return Designs(table, train, test_rows, corpus)


class Estimates(NamedTuple):
    """What :func:`estimate` returns: ``are`` (one row per design and method: the design
    columns, ``method``, ``are``, ``status``, the fitted E, A, B, alpha, beta, ``steps``,
    ``chosen`` (a :class:`Backtested` method's candidate, else empty) and ``flat`` (a
    converged fit with a flat direction: a warning, not a failure)) and ``seconds`` (wall
    time per method, compilation included)."""

    are: pd.DataFrame
    seconds: dict


def _design_frame(designs: Designs, members) -> pd.DataFrame:
    """The training rows (N, D, loss) of the designs ``members``, with their ``design``
    index (rows of the corpus may belong to several designs)."""
    members = np.asarray(members, int)
    owner = np.repeat(members, [len(designs.train[i]) for i in members])
    rows = np.concatenate([designs.train[i] for i in members]) if len(owner) else np.zeros(0, int)
    return designs.corpus.iloc[rows][["N", "D", "loss"]].assign(design=owner)


def _design_data(designs: Designs) -> GroupedData:
    """Every design's training rows as one group, keyed by the design's index (designs
    without rows have no group)."""
    return GroupedData.from_frame(
        _design_frame(designs, np.arange(len(designs.train))), {"N": "N", "D": "D"}, "loss",
        by=["design"], duplicates="keep", on_invalid="skip", positive_inputs=LAW.positive_inputs,
    )


def _fit_designs(method, grouped, members, fixed, count, shapes, lanes):
    """Fit the designs ``members`` (each with training rows) in one compiled call per padded
    size; ``method.law``'s params (G, K), status, steps."""
    members = np.searchsorted(grouped.keys["design"].to_numpy(), members)  # design -> group
    n_groups, k = len(members), len(method.law.params)
    params = np.full((n_groups, k), np.nan)
    status = np.full(n_groups, int(Status.NONFINITE))
    steps = np.zeros(n_groups, int)
    padded = bucket(grouped.sizes[members], levels=shapes)
    search = MultiStart(method.starts, lanes=lanes)
    for size in np.unique(padded):
        rows = np.flatnonzero(padded == size)
        batch = grouped.pad(members[rows], points=int(size))
        lower, upper = _design_bounds(method, batch)
        free = fixed_values = None
        if fixed is not None:
            fixed_values = fixed[rows]
            free = ~np.isfinite(fixed_values)
            fixed_values = np.where(free, 1.0, fixed_values)
        with computing("float64"):
            out = fit_batch(
                method.law,
                batch.inputs,
                batch.target,
                batch.weight,
                starts=search,
                lower=lower,
                upper=upper,
                free=free,
                fixed_values=fixed_values,
                objective=method.objective,
                solver=method.solver,
            )
        params[rows], status[rows], steps[rows] = out.params, out.status, out.steps
        count.add(len(rows))
    return params, status, steps


def estimate(
    designs: Designs,
    methods: Sequence[str | AnyMethod] = ("colpret", "huber-grid"),
    *,
    progress: Callable[[int, int], None] | None = None,
    shapes: int = 3,
    lanes: int = 15,
) -> Estimates:
    """Fit every design with every method and score it on its test set.

    Each method fits all designs together: one :func:`lawfit.fit_batch` call per padded
    training-set size (at most ``shapes`` sizes, chosen to minimise padding); borrowing
    designs go in a second pass, once the donor families' estimates exist. Designs
    with fewer training points than free parameters are not fitted (status
    ``invalid_input``). A :class:`Backtested` method fits each candidate twice (backtest
    and full data); its ``steps`` are those of all these fits and ``chosen`` names the
    candidate kept. ``flat`` warns of a converged fit with a flat direction (:func:`_flat`).
    ``progress(done, total)`` is called after each call. ``lanes``:
    fits advanced together (15 runs as fast on CPUs as 256 for these small problems).
    """
    methods = [get_method(m) for m in methods]
    if not methods:
        raise InputError("methods: give at least one method")
    corpus = designs.corpus
    x = {"N": corpus["N"].to_numpy(float), "D": corpus["D"].to_numpy(float)}
    y = corpus["loss"].to_numpy(float)
    trials = {m.holdout: _backtest_designs(designs, m.holdout)
              for m in methods if isinstance(m, Backtested)}
    total = sum(
        sum(int(_fittable(designs, c.law).sum() + _fittable(trials[m.holdout], c.law).sum())
            for c in m.candidates)
        if isinstance(m, Backtested) else int(_fittable(designs, getattr(m, "law", LAW)).sum())
        for m in methods
    )
    count = _Count(progress, total)
    grouped = _design_data(designs)
    frames, seconds = [], {}
    for method in methods:
        start = time.perf_counter()
        chosen = np.full(len(designs.table), "", dtype=object)
        if isinstance(method, Backtested):
            trial = trials[method.holdout]
            params, status, steps, pick, flat = _fit_backtested(
                method, designs, grouped, trial, _design_data(trial), x, y, count, shapes, lanes)
            chosen = np.array([c.name for c in method.candidates], dtype=object)[pick]
        elif isinstance(method, Bayesian):
            params, status, steps = _fit_bayesian(method, designs, count, shapes)
            flat = np.zeros(len(status), bool)  # no optimum to diagnose
        else:
            own, status, steps = _fit_method(method, designs, grouped, count, shapes, lanes)
            flat = _flat(method, designs, grouped, own, status)
            params = _as_law_params(method, own)
        are = _are(designs, params, x, y)
        seconds[method.name] = time.perf_counter() - start
        frame = designs.table.assign(method=method.name, are=are,
                                     status=[Status(int(s)).label for s in status])
        frame[list(LAW.param_names)] = params
        frames.append(frame.assign(steps=steps, chosen=chosen, flat=flat))
    return Estimates(pd.concat(frames, ignore_index=True), seconds)


class _Count:
    """Fits done so far, reported to ``progress(done, total)``."""

    def __init__(self, progress, total):
        self.progress, self.total, self.done = progress, total, 0

    def add(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, self.total)


def _fittable(designs: Designs, law: Law) -> np.ndarray:
    """Designs with at least as many training rows as ``law``'s free parameters and a test
    set."""
    table = designs.table
    n_free = np.where(table["borrow"] != "", len(law.params) - len(DATABLATIONS),
                      len(law.params))
    return (table["n_train"].to_numpy() >= n_free) & (table["n_test"].to_numpy() > 0)


def _fit_method(method: Method, designs: Designs, grouped, count, shapes, lanes):
    """``method.law``'s (G, K) params, statuses and steps of every fittable design
    (``invalid_input`` for the others): own designs first, then borrowing ones with the
    donors' A and alpha fixed (not fitted when the law has no A and alpha to fix)."""
    table = designs.table
    names = method.law.param_names
    k = len(names)
    params = np.full((len(table), k), np.nan)
    status = np.full(len(table), int(Status.INVALID_INPUT))
    steps = np.zeros(len(table), int)
    fittable = _fittable(designs, method.law)
    borrowed = (table["borrow"] != "").to_numpy()
    first = np.flatnonzero(fittable & ~borrowed)
    second = np.flatnonzero(fittable & borrowed)
    if not set(DATABLATIONS) <= set(names):
        count.add(len(second))
        second = second[:0]
    if len(first):
        params[first], status[first], steps[first] = _fit_designs(
            method, grouped, first, None, count, shapes, lanes)
    if len(second):
        fixed = np.full((len(second), k), np.nan)
        for row, i in enumerate(second):
            for name, value in _lent(table, i, params, status, names).items():
                fixed[row, names.index(name)] = value
        borrowed_columns = [names.index(p) for p in DATABLATIONS]
        runnable = np.all(np.isfinite(fixed[:, borrowed_columns]), axis=1)
        count.add(int((~runnable).sum()))
        second, fixed = second[runnable], fixed[runnable]
        if len(second):
            params[second], status[second], steps[second] = _fit_designs(
                method, grouped, second, fixed, count, shapes, lanes)
    return params, status, steps


def _fit_bayesian(method: Bayesian, designs: Designs, count, shapes):
    """(G, 5) posterior medians, statuses and sampler iterations of every fittable design
    (``invalid_input`` for the others): own designs first, then borrowing ones with their
    donor's A and alpha as priors; one :func:`lawfit.bayes.posterior` call per padded
    size."""
    table = designs.table
    params = np.full((len(table), len(LAW.params)), np.nan)
    status = np.full(len(table), int(Status.INVALID_INPUT))
    fittable = _fittable(designs, LAW)
    borrowed = (table["borrow"] != "").to_numpy()
    first = np.flatnonzero(fittable & ~borrowed)
    second = np.flatnonzero(fittable & borrowed)

    def sample(members, priors):
        padded = bucket(table["n_train"].to_numpy()[members], levels=shapes)
        for size in np.unique(padded):
            rows = members[padded == size]
            params[rows], status[rows] = _posterior_medians(method, designs, rows, priors)
            count.add(len(rows))

    if len(first):
        sample(first, {})
    priors = {}
    for i in second:
        values = _lent(table, i, params, status, LAW.param_names)
        if all(np.isfinite(v) and v > 0 for v in values.values()):
            priors[i] = {p: Prior("lognormal", math.log(v), method.borrow_scale)
                         for p, v in values.items()}
    count.add(len(second) - len(priors))
    if priors:
        sample(np.array(sorted(priors)), priors)
    sampler = method.sampler
    iterations = sampler.chains * (getattr(sampler, "warmup", 0) + sampler.samples)
    steps = np.where(status == Status.INVALID_INPUT, 0, iterations)
    return params, status, steps


_SAMPLE_STATUS = {
    SampleStatus.OK: Status.CONVERGED, SampleStatus.LOW_ESS: Status.CONVERGED,
    SampleStatus.DIVERGENT: Status.STALLED, SampleStatus.NOT_MIXED: Status.STALLED,
    SampleStatus.INDEFINITE: Status.STALLED, SampleStatus.NONFINITE: Status.NONFINITE,
}


def _posterior_medians(method: Bayesian, designs: Designs, rows, priors):
    """(R, 5) posterior medians and statuses of the designs ``rows``, in one call."""
    own = {i: priors[i] for i in rows if i in priors}
    post = posterior(_design_frame(designs, rows), LAW, {"N": "N", "D": "D"}, "loss", by="design", priors=method.priors,
                     group_priors=own or None, sampler=method.sampler, noise=method.noise)
    order = np.searchsorted(post.groups["design"].to_numpy(), rows)
    medians = np.stack([np.median(post.draws[p].reshape(len(post.groups), -1), axis=1)
                        for p in LAW.param_names], axis=1)[order]
    labels = {s.label: int(_SAMPLE_STATUS[s]) for s in SampleStatus}
    status = post.groups["status"].map(labels).to_numpy()[order]
    return medians, status


def _flat(method: Method, designs: Designs, grouped, params, status) -> np.ndarray:
    """(G,) a warning: converged fits with a flat direction, whose Jacobi-scaled
    Gauss-Newton curvature has a condition number above
    :data:`~lawfit.fitting._diagnostics.MAX_CONDITION` (the data barely constrain some
    combination of the parameters; :func:`~lawfit.fitting._diagnostics.diagnose_optima`)."""
    flat = np.zeros(len(status), bool)
    done = np.flatnonzero(status == Status.CONVERGED)
    if not len(done):
        return flat
    members = np.searchsorted(grouped.keys["design"].to_numpy(), done)
    batch = grouped.pad(members)
    lower, upper = _design_bounds(method, batch)
    free = (designs.table["borrow"].to_numpy()[done] == "")[:, None] | ~np.isin(
        method.law.param_names, list(DATABLATIONS))[None, :]
    with computing("float64"):
        u = np.asarray(to_unconstrained(params[done], lower, upper))
    diagnosis = diagnose_optima(method.law, method.objective, batch.inputs, batch.target,
                                batch.weight, u, lower, upper, free)
    flat[done] = ~(diagnosis.condition <= MAX_CONDITION)
    return flat


def _backtest_designs(designs: Designs, holdout: float) -> Designs:
    """Each design's backtest: its largest training model's rows with D >= ``holdout`` * that
    model's largest D as the test set, its other training rows as the training set."""
    n = designs.corpus["N"].to_numpy(float)
    d = designs.corpus["D"].to_numpy(float)
    train, test = [], []
    for rows in designs.train:
        rows = np.asarray(rows, int)
        largest = rows[n[rows] == n[rows].max()] if len(rows) else rows
        held = largest[d[largest] >= holdout * d[largest].max()] if len(rows) else rows
        train.append(np.setdiff1d(rows, held))
        test.append(held)
    table = designs.table.assign(n_train=[len(r) for r in train], n_test=[len(t) for t in test])
    return Designs(table, train, test, designs.corpus)


def _fit_backtested(method: Backtested, designs, grouped, trial, trial_grouped, x, y, count,
                    shapes, lanes):
    """Fit every candidate on the backtest and on the full designs; per design the
    :data:`LAW` params, status and ``flat`` warning of the candidate :func:`_choose` picks,
    the steps of all fits and the pick."""
    owns, status, scores, steps = [], [], [], 0
    for candidate in method.candidates:
        own, c_status, c_steps = _fit_method(candidate, designs, grouped, count, shapes, lanes)
        owns.append(own)
        status.append(c_status)
        t_own, t_status, t_steps = _fit_method(candidate, trial, trial_grouped, count,
                                               shapes, lanes)
        score = _are(trial, _as_law_params(candidate, t_own), x, y)
        scores.append(np.where(t_status == Status.CONVERGED, score, np.nan))
        steps = steps + c_steps + t_steps
    status = np.stack(status)
    pick = _choose(status == Status.CONVERGED, np.stack(scores))
    rows = np.arange(len(pick))
    params = np.stack([_as_law_params(c, own) for c, own in zip(method.candidates, owns,
                                                                  strict=True)])[pick, rows]
    flat = np.zeros(len(pick), bool)
    for i, (candidate, own) in enumerate(zip(method.candidates, owns, strict=True)):
        picked = np.where(pick == i, status[i], int(Status.INVALID_INPUT))
        flat |= _flat(candidate, designs, grouped, own, picked)
    return params, status[pick, rows], steps, pick, flat


def _choose(full_ok: np.ndarray, backtest: np.ndarray) -> np.ndarray:
    """(G,) index of the candidate (rows of the (C, G) arrays) with the lowest finite
    backtest ARE among those whose full fit converged; else the first converged one (the
    first candidate when none converged)."""
    scored = np.where(full_ok & np.isfinite(backtest), backtest, np.inf)
    fallback = np.argmax(full_ok, axis=0)
    return np.where(np.isfinite(scored.min(axis=0)), np.argmin(scored, axis=0), fallback)


def _lent(table, design: int, params, status, names) -> dict:
    """A and alpha lent to the borrowing ``design``: :data:`DATABLATIONS`, or its donor
    family's (:func:`_donor`)."""
    donor = table["borrow"].iat[design]
    return DATABLATIONS if donor == "datablations" else _donor(table, params, status, donor, names)


def _donor(table, params, status, family, names) -> dict:
    """A and alpha of ``family``'s full design (every smaller model, p = 1, no cut, all
    checkpoints) from ``params`` (G, K) of the parameters ``names``; NaN when that fit
    failed. Raises if the design is absent."""
    full = (
        (table["family"] == family) & (table["borrow"] == "") & (table["train_fraction"] == 1.0)
        & (table["min_tokens"] == 0.0) & (table["checkpoints"] == "all")
    ).to_numpy()
    if not full.any():
        raise InputError(
            f"borrow: family {family!r} has no full design (p = 1, no cut, all checkpoints) "
            "to borrow from; include those settings"
        )
    best = np.flatnonzero(full)[np.argmax(table["n_train_models"].to_numpy()[full])]
    ok = status[best] == Status.CONVERGED
    return {p: params[best, names.index(p)] if ok else np.nan for p in DATABLATIONS}


def _are(designs: Designs, params: np.ndarray, x: dict, y: np.ndarray) -> np.ndarray:
    """Mean |L - Lhat| / L over each design's test rows (NaN without a finite prediction)."""
    counts = np.array([len(t) for t in designs.test])
    rows = np.concatenate(designs.test) if len(counts) else np.zeros(0, int)
    owner = np.repeat(np.arange(len(counts)), counts)
    with computing("float64"):
        theta = {p: params[owner, j] for j, p in enumerate(LAW.param_names)}
        pred = np.asarray(LAW.predict(theta, {"N": x["N"][rows], "D": x["D"][rows]}))
    err = np.abs(y[rows] - pred) / y[rows]
    total = np.bincount(owner, weights=np.where(np.isfinite(err), err, 0.0), minlength=len(counts))
    finite = np.bincount(owner, weights=np.isfinite(err), minlength=len(counts)) == counts
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite & (counts > 0), total / counts, np.nan)


def leaderboard(estimates: Estimates, *, reference: str = "colpret", resamples: int = 1000,
                seed: int = 0) -> pd.DataFrame:
    """Per family and method, and over all families (``family = "all"``): designs fitted,
    ``failure_rate`` (fitted designs whose status is not converged or whose ARE is not
    finite), mean and median ARE of the successful fits with 95% percentile-bootstrap
    intervals over designs (``*_lo``, ``*_hi``; ``resamples`` resamples, ``seed``),
    ``win_rate`` (share of the designs where every method succeeded in which this method's
    ARE is the lowest), ``beats_reference`` (share of the designs where this method and
    ``reference`` both succeeded in which this method's ARE is lower; NaN without that
    method) and ``seconds`` (the method's wall time; per family, apportioned by solver
    work, steps x training points)."""
    are = estimates.are
    check_columns(are, ["family", "method", "are", "status", "n_train", "steps"], argument="are")
    if not (isinstance(resamples, int) and resamples >= 1):
        raise InputError(f"resamples must be a whole number >= 1; got {resamples!r}")
    fitted = are[are["status"] != Status.INVALID_INPUT.label].copy()
    fitted["ok"] = (fitted["status"] == Status.CONVERGED.label) & np.isfinite(fitted["are"])
    keys = [c for c in _DESIGN_COLUMNS[:7] if c in fitted.columns]
    wide = fitted.pivot_table(index=keys, columns="method", values="are", aggfunc="first")
    oks = fitted.pivot_table(index=keys, columns="method", values="ok", aggfunc="first")
    oks = oks.fillna(False).astype(bool)
    shared = wide[oks.all(axis=1)]
    winner = shared.idxmin(axis=1).rename("winner").reset_index()
    fitted = fitted.merge(winner, on=keys, how="left")
    if reference in wide.columns:
        ref = wide[reference].where(oks[reference]).rename("reference_are").reset_index()
        fitted = fitted.merge(ref, on=keys, how="left")
        fitted.loc[fitted["method"] == reference, "reference_are"] = np.nan
    else:
        fitted["reference_are"] = np.nan
    fitted["work"] = fitted["steps"] * fitted["n_train"]
    share = fitted["work"] / fitted.groupby("method")["work"].transform("sum")
    fitted["seconds"] = share.fillna(0.0) * fitted["method"].map(estimates.seconds).astype(float)
    rng = np.random.default_rng(seed)

    def summary(group: pd.DataFrame) -> pd.Series:
        good = group.loc[group["ok"], "are"].to_numpy(float)
        contested = group["winner"].notna()
        paired = group["ok"] & group["reference_are"].notna()
        draws = good[rng.integers(0, len(good), (resamples, len(good)))] if len(good) else None
        median_ci = np.percentile(np.median(draws, axis=1), [2.5, 97.5]) if len(good) else [np.nan] * 2
        mean_ci = np.percentile(draws.mean(axis=1), [2.5, 97.5]) if len(good) else [np.nan] * 2
        return pd.Series({
            "n_fits": len(group),
            "failure_rate": 1.0 - group["ok"].mean() if len(group) else np.nan,
            "mean_are": good.mean() if len(good) else np.nan,
            "mean_are_lo": mean_ci[0],
            "mean_are_hi": mean_ci[1],
            "median_are": np.median(good) if len(good) else np.nan,
            "median_are_lo": median_ci[0],
            "median_are_hi": median_ci[1],
            "win_rate": (group.loc[contested, "winner"] == group.loc[contested, "method"]).mean()
            if contested.any() else np.nan,
            "beats_reference": (group.loc[paired, "are"] < group.loc[paired, "reference_are"]).mean()
            if paired.any() else np.nan,
            "seconds": group["seconds"].sum(),
        })

    cols = ["n_fits", "failure_rate", "mean_are", "mean_are_lo", "mean_are_hi", "median_are",
            "median_are_lo", "median_are_hi", "win_rate", "beats_reference", "seconds"]
    per_family = fitted.groupby(["family", "method"])[fitted.columns.tolist()].apply(summary)
    overall = fitted.groupby("method")[fitted.columns.tolist()].apply(summary)
    overall.index = pd.MultiIndex.from_product([["all"], overall.index], names=["family", "method"])
    board = pd.concat([overall, per_family]).reset_index()
    board["n_fits"] = board["n_fits"].astype(int)
    return board[["family", "method", *cols]]


def findings(are: pd.DataFrame) -> pd.DataFrame:
    """The paper's qualitative findings rechecked per method on :func:`estimate`'s ``are``
    table (successful fits only), in long form (``method, finding, setting, value, n``,
    n the designs behind the value):

    * ``token cut C``: share of paired designs (same family, models, fraction, checkpoints,
      borrow) where the largest ``min_tokens`` cut C gives a lower ARE than none;
    * ``all checkpoints``: share of paired designs where all checkpoints beat each model's
      final one;
    * ``training models``: median ARE by number of training models (k = 2, 3, 4, 5+), over
      the families with designs of at least 5 training models;
    * ``training fraction``: median ARE by fraction of training p, Chinchilla left out
      (its checkpoints are separate IsoFLOP runs, not partial training).
    """
    check_columns(are, ["family", "method", "are", "status", *_DESIGN_COLUMNS[2:7]],
                  argument="are")
    ok = are[(are["status"] == Status.CONVERGED.label) & np.isfinite(are["are"].astype(float))]
    rows = []

    def paired(column, better, worse, name):
        keys = ["method", "family", *[c for c in _DESIGN_COLUMNS[2:7] if c != column]]
        wide = ok.pivot_table(index=keys, columns=column, values="are", aggfunc="first")
        if better in wide.columns and worse in wide.columns:
            both = wide[[better, worse]].dropna()
            wins = (both[better] < both[worse]).groupby(level="method")
            rows.extend((m, name, "share of paired designs", v, n)
                        for (m, v), n in zip(wins.mean().items(), wins.size(), strict=True))

    def medians(frame, by, name, label):
        grouped = frame.groupby(["method", by])["are"]
        rows.extend((m, name, label(v), value, n) for ((m, v), value), n in
                    zip(grouped.median().items(), grouped.size(), strict=True))

    cuts = sorted(ok["min_tokens"].unique())
    if len(cuts) > 1:
        paired("min_tokens", cuts[-1], cuts[0], f"token cut {cuts[-1]:g}")
    paired("checkpoints", "all", "final", "all checkpoints")
    deep = ok.groupby("family")["n_train_models"].transform("max") >= 5
    medians(ok[deep].assign(k=ok["n_train_models"].clip(upper=5)), "k", "training models",
            lambda k: "5+" if k == 5 else str(k))
    medians(ok[ok["family"].str.lower() != "chinchilla"], "train_fraction",
            "training fraction", lambda p: f"{p:g}")
    return pd.DataFrame(rows, columns=["method", "finding", "setting", "value", "n"])
