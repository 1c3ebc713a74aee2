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

from lawfit.data import GroupedData, InputError, bucket, check_columns, validate_corpus
from lawfit.fitting import (
    LBFGS,
    MSE,
    HuberLog,
    LevenbergMarquardt,
    MultiStart,
    Objective,
    Solver,
    Status,
    fit_batch,
)
from lawfit.laws import get as get_law
from lawfit.precision import computing

__all__ = [
    "COLPRET_START",
    "DATABLATIONS",
    "Designs",
    "Estimates",
    "Method",
    "designs",
    "estimate",
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
    """A fitting method: objective, solver, (S, K) natural starts and natural bounds of
    :data:`LAW`'s parameters (E, A, B, alpha, beta)."""

    name: str
    objective: Objective
    solver: Solver
    starts: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


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
    solver = LBFGS(ftol=1e-9, max_steps=500)
    return Method("huber-grid", HuberLog(1e-3), solver, _SMALL_GRID, LAW.lower, LAW.upper)


def _mse_grid() -> Method:
    """Least squares on the raw loss (as ``colpret``) from ``huber-grid``'s 8 starts with
    L-BFGS: what a multi-start ``curve_fit`` does, without the robust loss."""
    solver = LBFGS(ftol=1e-9, max_steps=500)
    return Method("mse-grid", MSE(), solver, _SMALL_GRID, LAW.lower, LAW.upper)


def _epoch() -> Method:
    """Hoffmann et al.'s 4,500-start grid as Besiroglu et al. 2024 (arXiv:2404.10102) refit
    it: Huber (delta 1e-3) on log loss, L-BFGS, starts E = e^e, A = e^a, B = e^b with
    e in {-1, -.5, 0, .5, 1}, a, b in {0, 5, ..., 25}, alpha, beta in {0, .5, ..., 2}
    (a start on a bound is moved just inside it)."""
    axes = [np.exp(np.arange(-1.0, 1.01, 0.5)), np.exp(np.arange(0.0, 26.0, 5.0)),
            np.exp(np.arange(0.0, 26.0, 5.0)), np.arange(0.0, 2.01, 0.5), np.arange(0.0, 2.01, 0.5)]
    grid = np.array([[p.inside(v) for p, v in zip(LAW.params, row, strict=True)]
                     for row in itertools.product(*axes)])
    solver = LBFGS(ftol=1e-9, max_steps=500)
    return Method("epoch", HuberLog(1e-3), solver, grid, LAW.lower, LAW.upper)


_SMALL_GRID = np.array([(e, 1e3, 1e3, alpha, beta)
                        for e, alpha, beta in itertools.product((0.5, 2.0), (0.2, 0.6), (0.2, 0.6))])
_METHODS: dict[str, Callable[[], Method]] = {
    "colpret": _colpret, "huber-grid": _huber_grid, "mse-grid": _mse_grid, "epoch": _epoch,
}


def register_method(method: Method | Callable[[], Method], *, overwrite: bool = False) -> None:
    """Make a :class:`Method` (or a function building one) available by its name to
    :func:`estimate` and ``lawfit hitchhiker --methods`` (a ``--module FILE.py`` may call
    this). Its starts and bounds are checked against :data:`LAW`'s parameters here."""
    factory = (lambda: method) if isinstance(method, Method) else method
    built = factory()
    if not isinstance(built, Method):
        raise TypeError(f"register_method expects a Method; got {type(built).__name__}")
    k = len(LAW.params)
    starts = np.asarray(built.starts, dtype=float)
    if starts.ndim != 2 or starts.shape[1] != k or len(starts) == 0:
        raise ValueError(f"method {built.name!r}: starts must be an (S, {k}) array of "
                         f"({', '.join(LAW.param_names)}); got shape {starts.shape}")
    for bound in ("lower", "upper"):
        if np.shape(getattr(built, bound)) != (k,):
            raise ValueError(f"method {built.name!r}: {bound} must have {k} values")
    if built.name in _METHODS and not overwrite:
        raise ValueError(f"a method named {built.name!r} is registered already "
                         "(pass overwrite=True)")
    _METHODS[built.name] = factory


def method_names() -> list[str]:
    """Names of the registered methods, built-in ones first."""
    return list(_METHODS)


def get_method(name: str | Method) -> Method:
    """The method called ``name`` (see :func:`method_names`)."""
    if isinstance(name, Method):
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
    columns, ``method``, ``are``, ``status``, the fitted E, A, B, alpha, beta, ``steps``)
    and ``seconds`` (wall time per method, compilation included)."""

    are: pd.DataFrame
    seconds: dict


def _design_data(designs: Designs) -> GroupedData:
    """Every design's training rows as one group, keyed by the design's index (designs
    without rows have no group; rows of the corpus may belong to several designs)."""
    owner = np.repeat(np.arange(len(designs.train)), [len(t) for t in designs.train])
    rows = np.concatenate(designs.train) if len(owner) else np.zeros(0, int)
    frame = designs.corpus.iloc[rows][["N", "D", "loss"]].assign(design=owner)
    return GroupedData.from_frame(
        frame, {"N": "N", "D": "D"}, "loss", by=["design"], duplicates="keep",
        on_invalid="skip", positive_inputs=LAW.positive_inputs,
    )


def _fit_designs(method, grouped, members, fixed, progress, done, total, shapes, lanes):
    """Fit the designs ``members`` (each with training rows) in one compiled call per padded
    size; params (G, K), status, steps."""
    members = np.searchsorted(grouped.keys["design"].to_numpy(), members)  # design -> group
    n_groups, k = len(members), len(LAW.params)
    params = np.full((n_groups, k), np.nan)
    status = np.full(n_groups, int(Status.NONFINITE))
    steps = np.zeros(n_groups, int)
    padded = bucket(grouped.sizes[members], levels=shapes)
    search = MultiStart(method.starts, lanes=lanes)
    for size in np.unique(padded):
        rows = np.flatnonzero(padded == size)
        batch = grouped.pad(members[rows], points=int(size))
        free = fixed_values = None
        if fixed is not None:
            fixed_values = fixed[rows]
            free = ~np.isfinite(fixed_values)
            fixed_values = np.where(free, 1.0, fixed_values)
        with computing("float64"):
            out = fit_batch(
                LAW,
                batch.inputs,
                batch.target,
                batch.weight,
                starts=search,
                lower=method.lower,
                upper=method.upper,
                free=free,
                fixed_values=fixed_values,
                objective=method.objective,
                solver=method.solver,
            )
        params[rows], status[rows], steps[rows] = out.params, out.status, out.steps
        done += len(rows)
        if progress is not None:
            progress(done, total)
    return params, status, steps, done


def estimate(
    designs: Designs,
    methods: Sequence[str | Method] = ("colpret", "huber-grid"),
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
    ``invalid_input``). ``progress(done, total)`` is called after each call. ``lanes``:
    fits advanced together (15, below the engine's first lane compaction, compiles in about
    half the time of 256 and runs as fast on CPUs for these small problems).
    """
    methods = [get_method(m) for m in methods]
    if not methods:
        raise InputError("methods: give at least one method")
    table, corpus = designs.table, designs.corpus
    x = {"N": corpus["N"].to_numpy(float), "D": corpus["D"].to_numpy(float)}
    y = corpus["loss"].to_numpy(float)
    grouped = _design_data(designs)
    borrowed = (table["borrow"] != "").to_numpy()
    n_free = np.where(borrowed, len(LAW.params) - len(DATABLATIONS), len(LAW.params))
    fittable = table["n_train"].to_numpy() >= n_free
    total = int(fittable.sum()) * len(methods)
    done, frames, seconds = 0, [], {}
    for method in methods:
        start = time.perf_counter()
        k = len(LAW.params)
        params = np.full((len(table), k), np.nan)
        status = np.full(len(table), int(Status.INVALID_INPUT))
        steps = np.zeros(len(table), int)
        first = np.flatnonzero(fittable & ~borrowed)
        second = np.flatnonzero(fittable & borrowed)
        if len(first):
            out = _fit_designs(method, grouped, first, None, progress, done, total, shapes,
                               lanes)
            params[first], status[first], steps[first], done = out
        if len(second):
            fixed = np.full((len(second), k), np.nan)
            for row, i in enumerate(second):
                donor = table["borrow"].iat[i]
                values = (DATABLATIONS if donor == "datablations"
                          else _donor(table, params, status, donor))
                for name, value in values.items():
                    fixed[row, LAW.param_names.index(name)] = value
            borrowed_columns = [LAW.param_names.index(p) for p in DATABLATIONS]
            runnable = np.all(np.isfinite(fixed[:, borrowed_columns]), axis=1)
            status[second[~runnable]] = int(Status.INVALID_INPUT)
            second, fixed = second[runnable], fixed[runnable]
            if len(second):
                out = _fit_designs(method, grouped, second, fixed, progress, done, total,
                                   shapes, lanes)
                params[second], status[second], steps[second], done = out
        are = _are(designs, params, x, y)
        seconds[method.name] = time.perf_counter() - start
        frame = table.assign(method=method.name, are=are,
                             status=[Status(int(s)).label for s in status])
        frame[list(LAW.param_names)] = params
        frames.append(frame.assign(steps=steps))
    return Estimates(pd.concat(frames, ignore_index=True), seconds)


def _donor(table, params, status, family) -> dict:
    """A and alpha of ``family``'s full design (every smaller model, p = 1, no cut, all
    checkpoints); NaN when that fit failed. Raises if the design is absent."""
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
    return {p: params[best, LAW.param_names.index(p)] if ok else np.nan for p in DATABLATIONS}


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


def leaderboard(estimates: Estimates) -> pd.DataFrame:
    """Per family and method, and over all families (``family = "all"``): designs fitted,
    ``failure_rate`` (fitted designs whose status is not converged or whose ARE is not
    finite), mean and median ARE of the successful fits, ``win_rate`` (share of the
    designs where every method succeeded in which this method's ARE is the lowest) and
    ``seconds`` (the method's wall time; per family, apportioned by solver work, steps x
    training points)."""
    are = estimates.are
    check_columns(are, ["family", "method", "are", "status", "n_train", "steps"], argument="are")
    fitted = are[are["status"] != Status.INVALID_INPUT.label].copy()
    fitted["ok"] = (fitted["status"] == Status.CONVERGED.label) & np.isfinite(fitted["are"])
    keys = [c for c in _DESIGN_COLUMNS[:7] if c in fitted.columns]
    wide = fitted.pivot_table(index=keys, columns="method", values="are", aggfunc="first")
    oks = fitted.pivot_table(index=keys, columns="method", values="ok", aggfunc="first")
    shared = wide[oks.fillna(False).astype(bool).all(axis=1)]
    winner = shared.idxmin(axis=1).rename("winner").reset_index()
    fitted = fitted.merge(winner, on=keys, how="left")
    fitted["work"] = fitted["steps"] * fitted["n_train"]
    share = fitted["work"] / fitted.groupby("method")["work"].transform("sum")
    fitted["seconds"] = share.fillna(0.0) * fitted["method"].map(estimates.seconds).astype(float)

    def summary(group: pd.DataFrame) -> pd.Series:
        good = group.loc[group["ok"], "are"]
        contested = group["winner"].notna()
        return pd.Series({
            "n_fits": len(group),
            "failure_rate": 1.0 - group["ok"].mean() if len(group) else np.nan,
            "mean_are": good.mean(),
            "median_are": good.median(),
            "win_rate": (group.loc[contested, "winner"] == group.loc[contested, "method"]).mean()
            if contested.any() else np.nan,
            "seconds": group["seconds"].sum(),
        })

    cols = ["n_fits", "failure_rate", "mean_are", "median_are", "win_rate", "seconds"]
    per_family = fitted.groupby(["family", "method"])[fitted.columns.tolist()].apply(summary)
    overall = fitted.groupby("method")[fitted.columns.tolist()].apply(summary)
    overall.index = pd.MultiIndex.from_product([["all"], overall.index], names=["family", "method"])
    board = pd.concat([overall, per_family]).reset_index()
    board["n_fits"] = board["n_fits"].astype(int)
    return board[["family", "method", *cols]]
