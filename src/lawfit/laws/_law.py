"""Scaling laws as pure JAX functions of one data point plus named parameter specs."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "Law",
    "Param",
    "Prior",
    "decode_inputs",
    "default_prior",
    "encode_inputs",
    "get",
    "names",
    "register",
]

PriorFamily = Literal["normal", "lognormal", "uniform"]

#: The most rows :meth:`Law.start_grid` returns; larger products are thinned.
MAX_GRID_STARTS = 10_000

#: Columns of a fit's output table; a parameter may not take one of these names.
RESERVED_NAMES = frozenset(
    {"objective", "status", "steps", "n_points", "n_converged", "message", "warning", "method"}
)


@dataclass(frozen=True)
class Prior:
    """A prior in natural units, turned into a NumPyro distribution on demand.

    ``normal``: Normal(loc, scale); ``lognormal``: LogNormal(loc, scale), i.e. log x ~
    Normal(loc, scale); ``uniform``: Uniform(loc, scale) with ``loc`` < ``scale`` the bounds.
    """

    family: PriorFamily
    loc: float
    scale: float

    def __post_init__(self):
        if self.family not in ("normal", "lognormal", "uniform"):
            raise ValueError(
                f"Prior.family must be normal, lognormal or uniform; got {self.family!r}"
            )
        if self.family == "uniform" and not self.loc < self.scale:
            raise ValueError("a uniform Prior needs loc < scale (they are its bounds)")
        if self.family != "uniform" and not self.scale > 0:
            raise ValueError(f"Prior.scale must be positive; got {self.scale}")

    @property
    def support(self) -> tuple[float, float]:
        """The closed interval outside which the density is zero."""
        if self.family == "lognormal":
            return (0.0, math.inf)
        if self.family == "uniform":
            return (self.loc, self.scale)
        return (-math.inf, math.inf)

    def distribution(self):
        """The NumPyro distribution."""
        import numpyro.distributions as dist

        return {"normal": dist.Normal, "lognormal": dist.LogNormal, "uniform": dist.Uniform}[
            self.family
        ](self.loc, self.scale)


def default_prior(lower: float, upper: float, grid: Sequence[float]) -> Prior:
    """A weakly informative prior for a parameter declared without one, from its bounds and
    its start grid (the plausible range its author gave).

    * finite ``lower`` and ``upper``: Uniform(lower, upper);
    * ``lower >= 0``, no upper bound: LogNormal(m, s), m the centre of the logs of the
      grid's positive values (0 without any) and s = max(1, their span): the grid's range
      within about one standard deviation of log x;
    * otherwise: Normal(c, s), c the centre of the grid and s = max(1, |c|, its span).
    """
    if math.isfinite(lower) and math.isfinite(upper):
        return Prior("uniform", float(lower), float(upper))
    if lower >= 0.0 and upper == math.inf:
        logs = [math.log(v) for v in grid if v > 0] or [0.0]
        return Prior("lognormal", 0.5 * (min(logs) + max(logs)), max(1.0, max(logs) - min(logs)))
    centre = 0.5 * (min(grid) + max(grid))
    return Prior("normal", centre, max(1.0, abs(centre), max(grid) - min(grid)))


@dataclass(frozen=True)
class Param:
    """One named parameter of a law.

    Attributes:
        name: the name used in inputs, outputs and tables.
        lower, upper: open bounds in natural units (``-inf``/``inf`` for none); fits work in
            the unconstrained space given by :mod:`lawfit.laws.bijection`.
        grid: default start values in natural units; a law's start grid is the Cartesian
            product of its parameters' grids. Values on a bound are moved just inside it.
        prior: the prior for Bayesian fits; its support must contain the bounds. Left out,
            it is derived from the bounds and the grid (:func:`default_prior`): two finite
            bounds give Uniform(lower, upper); a lower bound >= 0 and no upper bound give a
            LogNormal with log-median at the centre of the grid's logs and log-scale
            max(1, span of the grid's logs); otherwise a Normal centred on the grid's centre
            with scale max(1, |centre|, span of the grid). After construction ``prior`` is
            never None.
        doc: one line of meaning.
        placed_in: an input name, for a parameter located on that input's axis (a break):
            :func:`lawfit.fit` from the default grid then places this parameter's
            ``len(grid)`` starts in each group's own data, at fractions (j + 1/2) / n of the
            group's observed range of the input (in logs for laws of positive inputs);
            ``grid`` stays the start where no data are at hand (random-start boxes, Bayesian
            initial values).
    """

    name: str
    lower: float = -math.inf
    upper: float = math.inf
    grid: tuple[float, ...] = (0.0,)
    prior: Prior | None = None
    doc: str = ""
    placed_in: str | None = None

    def __post_init__(self):
        if not self.name.isidentifier() or self.name in RESERVED_NAMES:
            raise ValueError(
                f"Param name {self.name!r} must be an identifier not in {sorted(RESERVED_NAMES)}"
            )
        if not self.lower < self.upper:
            raise ValueError(
                f"Param {self.name!r}: lower ({self.lower}) must be < upper ({self.upper})"
            )
        grid = tuple(float(v) for v in self.grid)
        if not grid:
            raise ValueError(f"Param {self.name!r}: grid needs at least one start value")
        if any(not (self.lower <= v <= self.upper) or not math.isfinite(v) for v in grid):
            raise ValueError(
                f"Param {self.name!r}: grid {grid} leaves [{self.lower}, {self.upper}]"
            )
        object.__setattr__(self, "grid", grid)
        if self.prior is None:
            object.__setattr__(self, "prior", default_prior(self.lower, self.upper, grid))
        lo, hi = self.prior.support
        if lo > self.lower or hi < self.upper:
            raise ValueError(
                f"Param {self.name!r}: prior support [{lo}, {hi}] must contain the bounds "
                f"({self.lower}, {self.upper})"
            )

    def inside(self, value: float) -> float:
        """``value`` moved just inside the open bounds when it lies on or beyond one."""
        lo, hi = self.lower, self.upper
        pad_lo = 1e-2 * max(1.0, abs(lo)) if math.isfinite(lo) else 0.0
        pad_hi = 1e-2 * max(1.0, abs(hi)) if math.isfinite(hi) else 0.0
        if math.isfinite(lo) and math.isfinite(hi):
            pad_lo = pad_hi = min(pad_lo, 1e-2 * (hi - lo))
        return min(max(value, lo + pad_lo), hi - pad_hi)


@dataclass(frozen=True, eq=False)
class Law:
    """A scaling law: ``fn(params, x) -> prediction`` for one data point, plus its parameters.

    ``params`` and ``x`` are mappings from names to scalars. Batch with :func:`jax.vmap`
    (the fitting engine does). A law may also give ``log_fn``, its log-prediction written to
    stay finite where the plain form would overflow (for example a log-sum-exp), used by
    objectives on log loss. Laws compare by identity, so one instance is one compiled kernel.

    Attributes:
        name: registry name.
        inputs: names of the inputs (``("N", "D")``).
        params: parameter specs, in output order.
        fn: the law for one point, in natural units.
        log_fn: optional stable ``log fn``.
        formula: the math in one line; ``reference``: where it comes from.
        output: what it predicts (``"loss"`` or ``"accuracy"``): log objectives need it > 0.
        decreasing_in: inputs in which the prediction never increases.
        positive_inputs: whether every input must be > 0 (laws that take logs of them).
        pivots: ``(coefficient, exponent, input)`` triples for terms ``coefficient *
            input^-exponent``: Bayesian fits sample such a coefficient at the data's geometric
            mean x0 of the input, c' = c * x0^-exponent, which decorrelates it from the
            exponent (the coefficient needs bounds (0, inf) and a lognormal prior).
        row_checks: rules a data row must satisfy beyond positivity, each
            ``check(inputs) -> (bad, message)`` on NumPy arrays by input name; ``message``
            may name inputs as ``{D}``, filled with their columns (see
            :data:`lawfit.data.RowCheck`). Rows breaking one are invalid input.
    """

    name: str
    inputs: tuple[str, ...]
    params: tuple[Param, ...]
    fn: Callable = field(repr=False)
    log_fn: Callable | None = field(default=None, repr=False)
    formula: str = ""
    reference: str = ""
    output: str = "loss"
    decreasing_in: tuple[str, ...] = ()
    positive_inputs: bool = True
    pivots: tuple[tuple[str, str, str], ...] = ()
    row_checks: tuple[Callable, ...] = field(default=(), repr=False)

    def __post_init__(self):
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "pivots", tuple(tuple(p) for p in self.pivots))
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "decreasing_in", tuple(self.decreasing_in))
        object.__setattr__(self, "row_checks", tuple(self.row_checks))
        if not self.inputs or len(set(self.inputs)) != len(self.inputs):
            raise ValueError(f"Law {self.name!r}: inputs must be distinct names; got {self.inputs}")
        names_ = [p.name for p in self.params]
        if not names_ or len(set(names_)) != len(names_):
            raise ValueError(f"Law {self.name!r}: parameter names must be distinct; got {names_}")
        if set(names_) & set(self.inputs):
            raise ValueError(f"Law {self.name!r}: a name is both input and parameter")
        unknown = set(self.decreasing_in) - set(self.inputs)
        if unknown:
            raise ValueError(f"Law {self.name!r}: decreasing_in names unknown inputs {unknown}")
        for p in self.params:
            if p.placed_in is not None and p.placed_in not in self.inputs:
                raise ValueError(
                    f"Law {self.name!r}: parameter {p.name!r} is placed_in {p.placed_in!r}, "
                    f"not one of the inputs {self.inputs}"
                )
        by_name = {p.name: p for p in self.params}
        for pivot in self.pivots:
            coef, exponent, input_ = pivot if len(pivot) == 3 else (None, None, None)
            if coef not in by_name or exponent not in by_name or input_ not in self.inputs:
                raise ValueError(
                    f"Law {self.name!r}: pivot {pivot} must be (coefficient, exponent, input) "
                    "naming parameters and an input"
                )
            c = by_name[coef]
            if (c.lower, c.upper) != (0.0, math.inf) or c.prior is None or (
                c.prior.family != "lognormal"
            ):
                raise ValueError(
                    f"Law {self.name!r}: pivoted coefficient {coef!r} needs bounds (0, inf) "
                    "and a lognormal prior"
                )
        if len({p[0] for p in self.pivots}) != len(self.pivots) or (
            {p[0] for p in self.pivots} & {p[1] for p in self.pivots}
        ):
            raise ValueError(
                f"Law {self.name!r}: a coefficient is pivoted twice or is also a pivot exponent"
            )
        p = {n: jax.ShapeDtypeStruct((), jnp.result_type(float)) for n in names_}
        x = {n: jax.ShapeDtypeStruct((), jnp.result_type(float)) for n in self.inputs}
        for label, f in (("fn", self.fn), ("log_fn", self.log_fn)):
            if f is None:
                continue
            try:
                out = jax.eval_shape(f, p, x)
            except Exception as err:
                raise ValueError(
                    f"Law {self.name!r}: {label}(params, x) failed on scalars: {err}"
                ) from err
            if getattr(out, "shape", None) != ():
                raise ValueError(f"Law {self.name!r}: {label} must return a scalar for one point")

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def lower(self) -> np.ndarray:
        return np.array([p.lower for p in self.params])

    @property
    def upper(self) -> np.ndarray:
        return np.array([p.upper for p in self.params])

    def log_predict_one(self, params: Mapping, x: Mapping):
        """log of the prediction for one point, through ``log_fn`` when the law has one."""
        if self.log_fn is not None:
            return self.log_fn(params, x)
        return jnp.log(self.fn(params, x))

    def predict(self, params: Mapping, x: Mapping):
        """Vectorised prediction: ``params`` scalars or arrays broadcast against ``x`` arrays."""
        p = {n: jnp.asarray(params[n]) for n in self.param_names}
        xs = {n: jnp.asarray(x[n]) for n in self.inputs}
        shape = jnp.broadcast_shapes(*(a.shape for a in (*p.values(), *xs.values())))
        flat = {k: jnp.broadcast_to(v, shape).reshape(-1) for k, v in {**p, **xs}.items()}
        out = jax.vmap(lambda a: self.fn({n: a[n] for n in p}, {n: a[n] for n in xs}))(flat)
        return out.reshape(shape)

    def _grid_index(self) -> np.ndarray:
        """(S, K) positions in each parameter's grid of the start grid's rows."""
        sizes = [len(p.grid) for p in self.params]
        total = math.prod(sizes)
        if total <= MAX_GRID_STARTS:
            rows = np.arange(total)
        else:
            rows = np.sort(np.random.default_rng(0).choice(total, MAX_GRID_STARTS, replace=False))
        return np.stack(np.unravel_index(rows, sizes), axis=1)

    def start_grid(self) -> np.ndarray:
        """Cartesian product of the parameters' grids, moved inside bounds: shape (S, K).

        A product of more than :data:`MAX_GRID_STARTS` rows (e.g. ``bnsl3``'s 8 * 12^3) is
        thinned to a fixed, seeded sample of that many distinct rows, in product order.
        """
        return self._grid_values(self._grid_index())

    def _grid_values(self, index: np.ndarray) -> np.ndarray:
        """(S, K) start values of the grid positions ``index``, moved inside bounds."""
        axes = [np.array([p.inside(v) for v in p.grid]) for p in self.params]
        return np.stack([a[index[:, k]] for k, a in enumerate(axes)], axis=1)

    @property
    def places_starts(self) -> bool:
        """Whether some parameter's default starts are placed in the data (``placed_in``)."""
        return any(p.placed_in is not None for p in self.params)

    def placed_start_grid(self, x: Mapping[str, np.ndarray]) -> np.ndarray:
        """(G, S, K) start grids for G groups of data ``x`` (input name -> (G, P) natural
        values, padding holding repeats of a group's own points): :meth:`start_grid` with
        each ``placed_in`` parameter's n values moved to fractions (j + 1/2) / n of the
        group's observed range of its input, in logs for laws of positive inputs."""
        index = self._grid_index()
        grid = self._grid_values(index)
        n_groups = len(next(iter(x.values())))
        starts = np.broadcast_to(grid, (n_groups, *grid.shape)).copy()
        for k, p in enumerate(self.params):
            if p.placed_in is None:
                continue
            values = np.asarray(x[p.placed_in], dtype=float)
            if self.positive_inputs:
                values = np.log(values)
            low, high = values.min(axis=1), values.max(axis=1)
            fractions = (np.arange(len(p.grid)) + 0.5) / len(p.grid)
            placed = low[:, None] + fractions[None, :] * (high - low)[:, None]
            placed = np.exp(placed) if self.positive_inputs else placed
            starts[:, :, k] = placed[:, index[:, k]]
        return starts

    def describe(self) -> str:
        lines = [f"{self.name}: {self.formula}", f"  inputs: {', '.join(self.inputs)}"]
        for p in self.params:
            lines.append(f"  {p.name:<10} ({p.lower:g}, {p.upper:g})  {p.doc}")
        if self.reference:
            lines.append(f"  reference: {self.reference}")
        return "\n".join(lines)


_REGISTRY: dict[str, Law] = {}


def register(law: Law, *, overwrite: bool = False) -> Law:
    """Make ``law`` available by name to :func:`get`, :func:`lawfit.fit` and the CLI."""
    if not isinstance(law, Law):
        raise TypeError(f"register expects a Law; got {type(law).__name__}")
    if law.name in _REGISTRY and _REGISTRY[law.name] is not law and not overwrite:
        raise ValueError(f"a law named {law.name!r} is registered already (pass overwrite=True)")
    _REGISTRY[law.name] = law
    return law


def encode_inputs(law: Law, x: dict) -> dict:
    """Inputs as the fitting engine and the Bayesian models store them: logs for laws whose
    inputs are positive.

    :func:`decode_inputs` maps them back with ``exp``; XLA folds ``log(exp(v))`` to ``v``, so
    a law that takes logs of its inputs (most scaling laws) does no per-point logarithm in
    the inner loop.
    """
    return {k: jnp.log(v) for k, v in x.items()} if law.positive_inputs else dict(x)


def decode_inputs(law: Law, x: dict) -> dict:
    """Inverse of :func:`encode_inputs`."""
    return {k: jnp.exp(v) for k, v in x.items()} if law.positive_inputs else dict(x)


def get(law: str | Law) -> Law:
    """The registered law called ``law`` (a :class:`Law` is returned as is)."""
    if isinstance(law, Law):
        return law
    try:
        return _REGISTRY[law]
    except KeyError:
        raise ValueError(f"unknown law {law!r}; registered laws: {', '.join(names())}") from None


def names() -> Sequence[str]:
    """Names of the registered laws."""
    return sorted(_REGISTRY)
