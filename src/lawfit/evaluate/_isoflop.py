"""IsoFLOP analysis: the loss-optimal model size per compute budget, and the power laws
N* = k_N C^a, D* = k_D C^b (Hoffmann et al. 2022, approaches 1 and 2; Porian et al. 2024).

An *IsoFLOP curve* is the set of runs that spent the same compute C on different model sizes
N (so D shrinks as N grows). Per curve:

* approach 2 (``method="parabola"``): a least-squares parabola
  loss = q0 + q1 u + q2 u^2 in u = ln N, fitted to the curve's points within ``window``
  decades of N of its lowest-loss point; its vertex ln N* = -q1 / (2 q2) is the optimum;
* approach 1 (``method="envelope"``): the lowest-loss point itself (the lower envelope of
  the runs at that budget).

D* is the data's own token count at the optimum: ln D regressed linearly on ln N over the
points used and read at ln N* (on a curve with C = 6ND exactly, D* = C / (6 N*)), so the
data's FLOP accounting is kept. Then a and b are least-squares slopes of ln N* and ln D* on
ln C over the budgets whose status is ``ok``. Intervals are bootstrap percentiles: each
replicate resamples the points within every curve (with replacement), redoes the whole
procedure (lowest point, window, vertex) and refits the slopes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lawfit.data import InputError, check_choice, check_columns, numeric_column, row_list

__all__ = ["ISOFLOP_STATUSES", "IsoFLOPResult", "isoflop"]

#: ``status`` of a budget in :attr:`IsoFLOPResult.optima`, with its meaning.
ISOFLOP_STATUSES = {
    "ok": "interior optimum; used in the power-law fit",
    "outside_range": "the optimum lies beyond the smallest or largest N used (extrapolated "
    "vertex, or the lowest point at an end of the curve); not used",
    "concave": "the parabola opens downward (no minimum); not used",
    "too_few_points": "fewer than 3 distinct N within the window; not used",
}
_METHODS = ("parabola", "envelope")
_LN10 = np.log(10.0)


@dataclass(frozen=True)
class IsoFLOPResult:
    """Result of :func:`isoflop`.

    ``optima``: one row per group and budget: the ``by`` columns, ``C``, ``N_opt``,
    ``D_opt``, ``loss_opt``, ``status`` (see :data:`ISOFLOP_STATUSES`), ``n_points``
    (points used: those in the window, all for the envelope), ``N_lo``/``N_hi`` (their
    range), ``curvature`` (q2: the parabola is loss = loss_opt + q2 (ln N - ln N_opt)^2;
    NaN for the envelope method) and
    ``N_lowest``/``loss_lowest`` (the lowest-loss point, approach 1).
    ``exponents``: one row per group: the ``by`` columns, ``a, a_lo, a_hi, b, b_lo, b_hi,
    k_N, k_D, n_budgets`` (budgets with status ``ok``).
    ``points``: the input points (``by`` columns, ``C, N, D, loss``) with ``used`` marking
    those the optimum was taken from.
    """

    optima: pd.DataFrame
    exponents: pd.DataFrame
    points: pd.DataFrame
    by: tuple[str, ...]
    method: str
    window: float
    ci: float


def _validated(data, n, d, loss, compute, by) -> pd.DataFrame:
    """The columns as floats (``by`` kept as is), or an :class:`InputError` naming the column
    and rows."""
    roles = {"n": n, "loss": loss, "compute": compute} | ({"d": d} if d is not None else {})
    for role, column in roles.items():
        if not isinstance(column, str):
            raise InputError(f"{role} must be a column name; got {column!r}")
    for role, column in roles.items():
        check_columns(data, [column], argument=role)
    check_columns(data, list(by), argument="by")
    if len(data) == 0:
        raise InputError("data has no rows")
    out = data[list(by)].copy() if by else pd.DataFrame(index=data.index)
    for role, column in roles.items():
        values, problem = numeric_column(data, column, role=role)
        bad = problem.ne("")
        if bad.any():
            raise InputError(f"{problem[bad].iloc[0]}: {row_list(problem.index[bad])}")
        if role != "loss" and (values <= 0).any():
            rows = data.index[values <= 0]
            raise InputError(f"column {column!r} ({role}) must be > 0 (its log is taken): "
                             f"{row_list(rows)}")
        out[role] = values
    for column in by:
        missing = data[column].isna().to_numpy()
        if missing.any():
            raise InputError(f"by: column {column!r} is missing in {row_list(data.index[missing])}")
    return out


def _padded(curve_frames: Sequence[pd.DataFrame], has_d: bool):
    """Curves (rows of one budget) as (B, M) arrays of ln N, loss, ln D and a validity mask."""
    width = max(len(f) for f in curve_frames)
    shape = (len(curve_frames), width)
    ln_n, y, ln_d = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    valid = np.zeros(shape, bool)
    for i, frame in enumerate(curve_frames):
        m = len(frame)
        ln_n[i, :m] = np.log(frame["n"].to_numpy())
        y[i, :m] = frame["loss"].to_numpy()
        if has_d:
            ln_d[i, :m] = np.log(frame["d"].to_numpy())
        valid[i, :m] = True
    return ln_n, y, ln_d, valid


def _weighted_line(u, v, w):
    """Weighted least-squares line v = c0 + c1 u along the last axis; returns (c0, c1)."""
    s0, s1, s2 = w.sum(-1), (w * u).sum(-1), (w * u * u).sum(-1)
    t0, t1 = (w * v).sum(-1), (w * u * v).sum(-1)
    det = s0 * s2 - s1 * s1
    with np.errstate(divide="ignore", invalid="ignore"):
        return (s2 * t0 - s1 * t1) / det, (s0 * t1 - s1 * t0) / det


def _curve_optima(ln_n, y, ln_d, weight, *, method: str, window: float, has_d: bool,
                  ln_c):
    """Optima of IsoFLOP curves, vectorised over leading axes.

    ``weight`` (..., B, M) counts each point (0 = absent: padding or not drawn). Returns a
    dict of (..., B) arrays: ln_n_opt, ln_d_opt, loss_opt, curvature, code (index into
    :data:`ISOFLOP_STATUSES`), n_points, ln_n_lo, ln_n_hi, ln_n_low, loss_low, and the
    (..., B, M) mask ``used``.
    """
    ln_n, y, ln_d = (np.broadcast_to(v, weight.shape) for v in (ln_n, y, ln_d))
    present = weight > 0
    low = np.argmin(np.where(present, y, np.inf), axis=-1)[..., None]
    ln_n_low = np.take_along_axis(ln_n, low, -1)[..., 0]
    loss_low = np.take_along_axis(y, low, -1)[..., 0]
    u = ln_n - ln_n_low[..., None]  # centred on the lowest point: well-conditioned sums
    in_window = np.abs(u) <= window * _LN10 * (1 + 1e-12)
    used = present & in_window if method == "parabola" else present  # envelope: every point
    w = np.where(used, weight, 0.0)
    n_points = w.sum(-1)
    big = np.where(used, u, -np.inf).max(-1)
    small = np.where(used, u, np.inf).min(-1)
    # distinct N among the points used: a parabola needs three
    order = np.sort(np.where(used, u, np.nan), axis=-1)
    distinct = (np.isfinite(order[..., :1]).sum(-1)
                + (np.diff(order, axis=-1) > 1e-12).sum(-1))
    codes = list(ISOFLOP_STATUSES)
    if method == "parabola":
        s = [(w * u**k).sum(-1) for k in range(5)]
        t = [(w * u**k * y).sum(-1) for k in range(3)]
        normal = np.stack([np.stack(s[i:i + 3], -1) for i in range(3)], -2)
        enough = distinct >= 3
        safe = np.where(enough[..., None, None], normal, np.eye(3))
        q = np.linalg.solve(safe, np.stack(t, -1)[..., None])[..., 0]
        q0, q1, q2 = q[..., 0], q[..., 1], q[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            vertex = -q1 / (2 * q2)
            loss_opt = q0 - q1**2 / (4 * q2)
        code = np.where(~enough, codes.index("too_few_points"),
                        np.where(q2 <= 0, codes.index("concave"),
                                 np.where((vertex < small) | (vertex > big),
                                          codes.index("outside_range"), codes.index("ok"))))
        bad = (code == codes.index("too_few_points")) | (code == codes.index("concave"))
        vertex = np.where(bad, np.nan, vertex)
        loss_opt = np.where(bad, np.nan, loss_opt)
        curvature = np.where(enough, q2, np.nan)
    else:
        vertex = np.zeros_like(ln_n_low)
        loss_opt = loss_low
        at_end = (small >= 0) | (big <= 0)  # the lowest point is the smallest or largest N
        code = np.where(at_end, codes.index("outside_range"), codes.index("ok"))
        curvature = np.full_like(ln_n_low, np.nan)
    ln_n_opt = ln_n_low + vertex
    if has_d and method == "envelope":
        ln_d_opt = np.take_along_axis(ln_d, low, -1)[..., 0]
    elif has_d:
        c0, c1 = _weighted_line(u, ln_d, w)
        ln_d_opt = c0 + c1 * vertex
    else:
        ln_d_opt = ln_c - np.log(6.0) - ln_n_opt
    return {
        "ln_n_opt": ln_n_opt, "ln_d_opt": ln_d_opt, "loss_opt": loss_opt,
        "curvature": curvature, "code": code, "n_points": n_points,
        "ln_n_lo": ln_n_low + small, "ln_n_hi": ln_n_low + big,
        "ln_n_low": ln_n_low, "loss_low": loss_low, "used": used,
    }


def _slopes(ln_c, ln_y, keep):
    """Least-squares ln y = ln k + slope ln C over budgets where ``keep``, along the last
    axis; NaN where fewer than two budgets remain."""
    w = keep.astype(float)
    ok = keep.sum(-1) >= 2
    c0, c1 = _weighted_line(ln_c, np.where(keep, ln_y, 0.0), w)
    return np.where(ok, c1, np.nan), np.where(ok, np.exp(c0), np.nan)


def _exponent_intervals(ln_n, y, ln_d, valid, keep, ln_c, rng, bootstrap, quantiles, *,
                        method, window, has_d) -> np.ndarray:
    """(2, 2) percentile intervals of the exponents a (row 0) and b (row 1): every curve's
    points resampled with replacement (as count weights), vertices and slopes refitted."""
    intervals = np.full((2, 2), np.nan)
    if not bootstrap:
        return intervals
    sizes = valid.sum(-1)
    draws = np.floor(rng.random((bootstrap, *valid.shape)) * sizes[:, None]).astype(int)
    drawn = np.arange(valid.shape[1]) < sizes[:, None]  # the first m_j draws count
    flat = (np.arange(bootstrap)[:, None, None] * valid.shape[0]
            + np.arange(valid.shape[0])[None, :, None]) * valid.shape[1] + draws
    counts = np.bincount(flat[np.broadcast_to(drawn, flat.shape)],
                         minlength=flat.size).reshape(flat.shape).astype(float)
    rep = _curve_optima(ln_n, y, ln_d, counts, method=method, window=window,
                        has_d=has_d, ln_c=ln_c)
    rep_keep = keep & (rep["code"] == 0)
    a_rep, _ = _slopes(ln_c, rep["ln_n_opt"], rep_keep)
    b_rep, _ = _slopes(ln_c, rep["ln_d_opt"], rep_keep)
    if np.isfinite(a_rep).any():
        intervals = np.stack([np.nanpercentile(a_rep, quantiles),
                              np.nanpercentile(b_rep, quantiles)])
    return intervals


def isoflop(
    data: pd.DataFrame,
    *,
    n: str = "N",
    d: str | None = "D",
    loss: str = "loss",
    compute: str = "C",
    by: str | Sequence[str] | None = None,
    method: str = "parabola",
    window: float = 1.0,
    bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> IsoFLOPResult:
    """IsoFLOP analysis of ``data`` (one row per run): per budget (rows with equal
    ``compute``, per ``by`` group) the loss-optimal N*, D*, then N* = k_N C^a and
    D* = k_D C^b by least squares in log-log space, with bootstrap percentile intervals.

    ``method``: ``"parabola"`` (Hoffmann et al. 2022 approach 2: the vertex of a parabola in
    ln N fitted to the curve's points within ``window`` decades of N of its lowest point) or
    ``"envelope"`` (approach 1: the lowest-loss point). ``d=None`` takes D* = C / (6 N*);
    otherwise D* is the data's D read at N* (ln D linear in ln N along the curve).
    ``bootstrap`` replicates (0 for none) resample points within each curve, seeded by
    ``seed``; ``ci`` is the interval's level. Statuses: :data:`ISOFLOP_STATUSES`.

    Reference: Hoffmann et al. 2022 (arXiv:2203.15556), sec. 3.1-3.2; Porian et al. 2024
    (arXiv:2406.19146), sec. 2.
    """
    by_cols = (by,) if isinstance(by, str) else tuple(by or ())
    check_choice(method, _METHODS, argument="method")
    if isinstance(window, bool) or not isinstance(window, int | float) or not window > 0:
        raise InputError(f"window must be a positive number of decades; got {window!r}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int | np.integer) or bootstrap < 0:
        raise InputError(f"bootstrap must be a whole number >= 0; got {bootstrap!r}")
    if isinstance(ci, bool) or not isinstance(ci, int | float) or not 0 < ci < 1:
        raise InputError(f"ci must be between 0 and 1; got {ci!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputError(f"seed must be a whole number; got {seed!r}")
    frame = _validated(data, n, d, loss, compute, by_cols)
    has_d = d is not None
    rng = np.random.default_rng(seed)
    quantiles = 100 * np.array([(1 - ci) / 2, (1 + ci) / 2])
    groups = frame.groupby(list(by_cols), sort=True, dropna=False) if by_cols else [((), frame)]
    optima_rows, exponent_rows, point_frames = [], [], []
    codes = np.array(list(ISOFLOP_STATUSES))
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        labels = dict(zip(by_cols, key, strict=True))
        budgets = sorted(group["compute"].unique())
        curves = [group[group["compute"] == c] for c in budgets]
        ln_n, y, ln_d, valid = _padded(curves, has_d)
        ln_c = np.log(np.asarray(budgets, float))
        fit = _curve_optima(ln_n, y, ln_d, valid.astype(float), method=method, window=window,
                            has_d=has_d, ln_c=ln_c)
        keep = fit["code"] == 0
        a, k_n = _slopes(ln_c, fit["ln_n_opt"], keep)
        b, k_d = _slopes(ln_c, fit["ln_d_opt"], keep)
        intervals = _exponent_intervals(ln_n, y, ln_d, valid, keep, ln_c, rng, bootstrap,
                                        quantiles, method=method, window=window, has_d=has_d)
        for j, c in enumerate(budgets):
            optima_rows.append(labels | {
                "C": c, "N_opt": np.exp(fit["ln_n_opt"][j]), "D_opt": np.exp(fit["ln_d_opt"][j]),
                "loss_opt": fit["loss_opt"][j], "status": codes[fit["code"][j]],
                "n_points": int(fit["n_points"][j]), "N_lo": np.exp(fit["ln_n_lo"][j]),
                "N_hi": np.exp(fit["ln_n_hi"][j]), "curvature": fit["curvature"][j],
                "N_lowest": np.exp(fit["ln_n_low"][j]), "loss_lowest": fit["loss_low"][j],
            })
        exponent_rows.append(labels | {
            "a": float(a), "a_lo": intervals[0, 0], "a_hi": intervals[0, 1],
            "b": float(b), "b_lo": intervals[1, 0], "b_hi": intervals[1, 1],
            "k_N": float(k_n), "k_D": float(k_d), "n_budgets": int(keep.sum()),
        })
        used = np.concatenate([fit["used"][j, :len(cv)] for j, cv in enumerate(curves)])
        ordered = pd.concat(curves)
        point_frames.append(pd.DataFrame({
            **{col: ordered[col].to_numpy() for col in by_cols},
            "C": ordered["compute"].to_numpy(), "N": ordered["n"].to_numpy(),
            "D": ordered["d"].to_numpy() if has_d else ordered["compute"].to_numpy()
            / (6 * ordered["n"].to_numpy()),
            "loss": ordered["loss"].to_numpy(), "used": used,
        }))
    return IsoFLOPResult(
        optima=pd.DataFrame(optima_rows),
        exponents=pd.DataFrame(exponent_rows),
        points=pd.concat(point_frames, ignore_index=True),
        by=by_cols, method=method, window=float(window), ci=float(ci),
    )
