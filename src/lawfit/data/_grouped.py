"""Read, validate, group and pad a table for a law: the one home of that logic.

:meth:`GroupedData.from_frame` checks every row (numbers, signs, the caller's row rules,
duplicates), groups rows by the ``by`` columns and checks every group (enough points,
inputs that vary); :meth:`GroupedData.pad` lays groups out as padded ``(G, P)`` arrays for
compiled kernels. It is law-agnostic: callers pass the law's properties.

Padding convention (the only one in lawfit): a group of n points padded to P slots holds
its own points cyclically, point ``j`` in slot ``j mod n``, with weight 0 (and mask False)
in slots ``>= n``; padding groups copy the first group of the call, with weight 0
everywhere. Padded values are therefore real data (finite, in the law's domain), so a
weight-0 slot adds exactly 0 to any weighted sum and never a NaN.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from lawfit.data._validate import InputError, check_choice, numeric_column, row_list

__all__ = ["GroupedData", "Padded", "Reason", "RowCheck", "bucket"]

#: A law's rule on rows: ``check(inputs) -> (bad, message)``, ``bad`` a boolean mask over
#: rows and ``message`` a text with ``{name}`` placeholders for input names, filled with the
#: column names (e.g. ``"column {U} (input U) must be <= column {D} (input D)"``).
RowCheck = Callable[[Mapping[str, np.ndarray]], tuple[np.ndarray, str]]


class Reason(enum.IntEnum):
    """Why a group is not fitted (:meth:`GroupedData.message` words it)."""

    OK = 0
    INVALID_ROWS = 1
    TOO_FEW_POINTS = 2
    CONSTANT_INPUT = 3


def bucket(sizes, levels: int | None = None):
    """Padded sizes: powers of two, at least 8, so few array shapes are compiled.

    ``sizes`` is an int (returns an int) or an array. With ``levels``, the padded sizes of
    the array are merged into at most that many distinct values (the largest always among
    them), choosing the set that minimises the padded total sum_i bucket_i.
    """
    scalar = np.ndim(sizes) == 0
    sizes = np.asarray(sizes, dtype=np.int64)
    exponent = np.ceil(np.log2(np.maximum(sizes, 1))).astype(np.int64)
    pow2 = np.maximum(8, np.left_shift(1, np.maximum(exponent, 0)))
    if levels is not None and pow2.size:
        if levels < 1:
            raise ValueError(f"levels must be at least 1; got {levels}")
        pow2 = _merge_levels(pow2, levels)
    return int(pow2) if scalar else pow2


def _merge_levels(pow2: np.ndarray, levels: int) -> np.ndarray:
    """Each size raised to the next of at most ``levels`` chosen sizes (minimal total)."""
    distinct = np.unique(pow2)
    best, best_cost = distinct[-1:], np.inf
    for r in range(min(levels, len(distinct))):
        for cut in itertools.combinations(distinct[:-1], r):
            chosen = np.array([*cut, distinct[-1]])
            cost = chosen[np.searchsorted(chosen, pow2)].sum()
            if cost < best_cost:
                best, best_cost = chosen, cost
    return best[np.searchsorted(best, pow2)]


class Padded(NamedTuple):
    """Groups laid out for a kernel: slot ``i`` holds group ``groups[i]``.

    ``inputs``: name -> (G_pad, P) values; ``target``, ``weight``: (G_pad, P); ``mask``:
    (G_pad, P) real points (weight 0 elsewhere); ``n_groups``: real slots (the first ones);
    later slots are padding copies of ``groups[0]`` with weight 0.
    """

    groups: np.ndarray
    inputs: dict[str, np.ndarray]
    target: np.ndarray
    weight: np.ndarray
    mask: np.ndarray
    n_groups: int


@dataclass(frozen=True, eq=False)
class GroupedData:
    """A validated table grouped for a law: rows group-contiguous, groups in key order.

    Attributes:
        x: law input -> column; ``y``: target column; ``weights``: weight column or None;
            ``by``: grouping columns.
        keys: one row per group (the ``by`` columns), sorted.
        inputs, target, weight: float64 rows; group ``g`` is rows
            ``offsets[g]:offsets[g + 1]``.
        labels: the caller's row labels (its DataFrame index), for messages.
        row_problem: per row, why it is invalid ('' when fine).
        reason: (G,) :class:`Reason` codes; ``n_points``: (G,) rows of positive weight;
            ``min_points``: (G,) points each group needs; ``constant_input``: (G,) index
            into ``x`` of an input that does not vary (-1 when none).
    """

    x: dict[str, str]
    y: str
    weights: str | None
    by: tuple[str, ...]
    keys: pd.DataFrame
    inputs: dict[str, np.ndarray]
    target: np.ndarray
    weight: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    row_problem: np.ndarray
    reason: np.ndarray
    n_points: np.ndarray
    min_points: np.ndarray
    constant_input: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.offsets) - 1

    @property
    def sizes(self) -> np.ndarray:
        """(G,) rows per group."""
        return np.diff(self.offsets)

    @property
    def valid(self) -> np.ndarray:
        """Indices of the groups that can be fitted."""
        return np.flatnonzero(self.reason == Reason.OK)

    def key_tuples(self) -> list[tuple]:
        """Each group's key as a tuple of ``by`` values (``()`` without ``by``)."""
        if not self.by:
            return [()] * self.n_groups
        return list(self.keys.itertuples(index=False, name=None))

    def rows(self, g: int) -> slice:
        return slice(int(self.offsets[g]), int(self.offsets[g + 1]))

    def label(self, g: int) -> str:
        """'group {...}' naming group ``g`` ('data' without ``by``)."""
        if not self.by:
            return "data"
        return f"group {dict(zip(self.by, self.key_tuples()[g], strict=True))}"

    def message(self, g: int) -> str:
        """Why group ``g`` is not fitted ('' when it is)."""
        reason = Reason(int(self.reason[g]))
        if reason is Reason.INVALID_ROWS:
            rows = self.rows(g)
            problem = self.row_problem[rows]
            n_bad = int((problem != "").sum())
            return f"{n_bad} invalid row{'s' if n_bad > 1 else ''}: " + describe_problems(
                problem, self.labels[rows]
            )
        if reason is Reason.TOO_FEW_POINTS:
            return (
                f"{int(self.n_points[g])} points with positive weight, fewer than the "
                f"{int(self.min_points[g])} free parameters"
            )
        if reason is Reason.CONSTANT_INPUT:
            name = list(self.x)[int(self.constant_input[g])]
            rows = self.rows(g)
            used = self.inputs[name][rows][self.weight[rows] > 0]
            return (
                f"input {name} (column {self.x[name]!r}) is constant ({used[0]:g} in every "
                "row), so the law's dependence on it cannot be fitted"
            )
        return ""

    def messages(self) -> list[str]:
        return [self.message(g) for g in range(self.n_groups)]

    def pad(self, groups, *, points: int | None = None, groups_to: int | None = None) -> Padded:
        """``groups`` laid out as (G_pad, P) arrays by the module's padding convention.

        ``points``: P (default: :func:`bucket` of the largest group); ``groups_to``: G_pad
        (default: ``len(groups)``).
        """
        groups = np.asarray(groups, dtype=np.int64).reshape(-1)
        if not len(groups):
            raise ValueError("pad: give at least one group")
        sizes = self.sizes[groups]
        points = bucket(int(sizes.max())) if points is None else int(points)
        groups_to = len(groups) if groups_to is None else int(groups_to)
        if points < sizes.max() or groups_to < len(groups):
            raise ValueError(f"pad: ({groups_to}, {points}) is smaller than the groups given")
        slots = np.concatenate([groups, np.full(groups_to - len(groups), groups[0])])
        slot_sizes = np.maximum(self.sizes[slots], 1)
        column = np.arange(points)
        rows = self.offsets[slots][:, None] + column[None, :] % slot_sizes[:, None]
        mask = (column[None, :] < self.sizes[slots][:, None]) & (
            np.arange(groups_to) < len(groups)
        )[:, None]
        weight = np.where(mask, self.weight[rows], 0.0)
        inputs = {name: values[rows] for name, values in self.inputs.items()}
        return Padded(slots, inputs, self.target[rows], weight, mask, len(groups))

    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame,
        x: Mapping[str, str],
        y: str,
        *,
        by: str | Sequence[str] = (),
        weights: str | None = None,
        positive_inputs: bool = True,
        y_lower: tuple[float, str] | None = None,
        min_points: int | Callable[[pd.DataFrame], np.ndarray] = 1,
        row_checks: Sequence[RowCheck] = (),
        duplicates: str = "raise",
        on_invalid: str = "raise",
    ) -> GroupedData:
        """Validate ``data`` (its columns exist: the caller checks them) and group it.

        Args:
            x: input name -> column; ``y``: target column; ``by``: grouping columns;
                ``weights``: a column of non-negative weights (default all 1).
            positive_inputs: inputs must be > 0 (laws that take logs).
            y_lower: ``(bound, reason)`` when y must exceed ``bound``, e.g.
                ``(0.0, "for the huber-log loss")``; None: any finite y.
            min_points: points of positive weight each group needs: an int, or a function of
                the ``keys`` table returning one count per group.
            row_checks: a law's row rules (:data:`RowCheck`).
            duplicates: rows repeated in all of by/x/y(/weights): ``"raise"``, ``"drop"`` or
                ``"keep"``.
            on_invalid: ``"raise"``: an invalid row or group is an :class:`InputError`
                naming the columns and rows; ``"skip"``: the group gets a :class:`Reason`.
        """
        check_choice(on_invalid, ("raise", "skip"), argument="on_invalid")
        check_choice(duplicates, ("raise", "drop", "keep"), argument="duplicates")
        by = (by,) if isinstance(by, str) else tuple(by)
        frame = data.reset_index(drop=True)
        labels = np.asarray(data.index)
        inputs, target, weight, problem = _read_rows(
            frame, x, y, weights, positive_inputs, y_lower, row_checks
        )
        keep = _duplicates(frame, by, inputs, target, weight, problem, labels, x, y, weights,
                           duplicates, on_invalid)
        if keep is not None:
            frame = frame[keep].reset_index(drop=True)
            labels, problem, target, weight = labels[keep], problem[keep], target[keep], weight[keep]
            inputs = {name: values[keep] for name, values in inputs.items()}
        if on_invalid == "raise" and (problem != "").any():
            raise InputError("data: " + describe_problems(problem, labels))
        order, offsets, keys = _group(frame, by)
        grouped = cls(
            x=dict(x), y=y, weights=weights, by=by, keys=keys,
            inputs={name: values[order] for name, values in inputs.items()},
            target=target[order], weight=weight[order], offsets=offsets,
            labels=labels[order], row_problem=problem[order],
            reason=np.zeros(len(offsets) - 1, np.int8), n_points=np.zeros(0, np.int64),
            min_points=np.zeros(0, np.int64), constant_input=np.zeros(0, np.int64),
        )
        need = min_points(keys) if callable(min_points) else min_points
        need = np.broadcast_to(np.asarray(need, np.int64), (grouped.n_groups,)).copy()
        grouped = _check_groups(grouped, need)
        if on_invalid == "raise":
            bad = np.flatnonzero(grouped.reason != Reason.OK)
            if len(bad):
                raise InputError(f"{grouped.label(bad[0])}: {grouped.message(bad[0])}")
        return grouped


def describe_problems(problem: np.ndarray, labels: np.ndarray) -> str:
    """"column 'N' (input N) is not a number at rows 3, 7; ..." for the non-empty entries."""
    bad = problem != ""
    return "; ".join(
        f"{message} at {row_list(labels[problem == message])}"
        for message in dict.fromkeys(problem[bad])
    )


def _read_rows(frame, x, y, weights, positive_inputs, y_lower, row_checks):
    """Float64 inputs, target, weight and a per-row problem ('' when fine; first one wins)."""
    problem = np.full(len(frame), "", dtype=object)

    def note(mask, message):
        fresh = np.asarray(mask, bool) & (problem == "")
        problem[fresh] = message[fresh] if isinstance(message, np.ndarray) else message

    inputs = {}
    for name, column in x.items():
        values, bad = numeric_column(frame, column, role=f"input {name}")
        note(bad.to_numpy() != "", bad.to_numpy())
        if positive_inputs:
            note(np.nan_to_num(values, nan=1.0) <= 0, f"column {column!r} (input {name}) must be > 0")
        inputs[name] = values
    for check in row_checks:
        bad, message = check(inputs)
        note(bad, message.format(**{name: repr(column) for name, column in x.items()}))
    target, bad = numeric_column(frame, y, role="y")
    note(bad.to_numpy() != "", bad.to_numpy())
    if y_lower is not None:
        bound, reason = y_lower
        note(np.nan_to_num(target, nan=bound + 1.0) <= bound,
             f"column {y!r} (y) must be > {bound:g} {reason}")
    weight = np.ones(len(frame))
    if weights is not None:
        weight, bad = numeric_column(frame, weights, role="weights")
        note(bad.to_numpy() != "", bad.to_numpy())
        note(np.nan_to_num(weight, nan=0.0) < 0, f"column {weights!r} (weights) must be >= 0")
    return inputs, target, weight, problem


def _duplicates(frame, by, inputs, target, weight, problem, labels, x, y, weights, policy,
                on_invalid):
    """Apply the duplicates policy: rows to keep (None: all), or raise, or mark them."""
    if policy == "keep":
        return None
    row_keys = pd.DataFrame(
        {
            **{f"by:{c}": frame[c] for c in by},
            **{f"x:{n}": v for n, v in inputs.items()},
            "y": target,
            "w": weight,
        }
    )
    try:
        repeated = row_keys.duplicated(keep="first").to_numpy() & (problem == "")
    except TypeError:
        raise InputError(
            f"by: columns {list(by)} hold values that cannot be grouped (such as lists)"
        ) from None
    if not repeated.any():
        return None
    names = ", ".join(dict.fromkeys([*by, *x.values(), y, *([weights] if weights else [])]))
    if policy == "raise" and on_invalid == "raise":
        n = int(repeated.sum())
        raise InputError(
            f"data: {n} duplicated row{'s' if n > 1 else ''} (same {names}) at "
            f"{row_list(labels[repeated])}; pass duplicates='drop' or 'keep'"
        )
    if policy == "raise":
        problem[repeated & (problem == "")] = f"duplicated row (same {names} as an earlier row)"
        return None
    return ~repeated


def _group(frame: pd.DataFrame, by: tuple[str, ...]):
    """Row order making groups contiguous (stable), offsets, and the sorted keys table."""
    if not by:
        return np.arange(len(frame)), np.array([0, len(frame)]), pd.DataFrame(index=range(1))
    try:
        codes = frame.groupby(list(by), sort=True, dropna=False, observed=True).ngroup()
    except TypeError:
        raise InputError(
            f"by: columns {list(by)} hold values that cannot be grouped or sorted"
        ) from None
    codes = np.unique(codes.to_numpy(), return_inverse=True)[1].reshape(-1)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=codes.max() + 1 if len(codes) else 0)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    keys = frame.loc[order[offsets[:-1]], list(by)].reset_index(drop=True)
    return order, offsets, keys


def _check_groups(grouped: GroupedData, min_points: np.ndarray) -> GroupedData:
    """Reason codes per group: invalid rows, too few points, or a constant input."""
    sizes = grouped.sizes
    owner = np.repeat(np.arange(grouped.n_groups), sizes)
    used = grouped.weight > 0
    n_bad = np.bincount(owner, weights=grouped.row_problem != "", minlength=grouped.n_groups)
    n_points = np.bincount(owner, weights=used, minlength=grouped.n_groups).astype(np.int64)
    constant = np.full(grouped.n_groups, -1, np.int64)
    nonempty = sizes > 0
    starts = grouped.offsets[:-1][nonempty]
    for i, values in reversed(list(enumerate(grouped.inputs.values()))):
        low = np.minimum.reduceat(np.where(used, values, np.inf), starts) if len(starts) else []
        high = np.maximum.reduceat(np.where(used, values, -np.inf), starts) if len(starts) else []
        flat = np.zeros(grouped.n_groups, bool)
        flat[nonempty] = np.asarray(low) == np.asarray(high)
        constant[flat & (n_points > 1)] = i
    reason = np.select(
        [n_bad > 0, n_points < min_points, constant >= 0],
        [Reason.INVALID_ROWS, Reason.TOO_FEW_POINTS, Reason.CONSTANT_INPUT],
        Reason.OK,
    ).astype(np.int8)
    return dataclasses.replace(
        grouped, reason=reason, n_points=n_points, min_points=min_points, constant_input=constant
    )
