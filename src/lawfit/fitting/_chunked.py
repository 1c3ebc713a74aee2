"""Kernel calls over chunks of groups: which groups share a call, and one call's fits."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np

from lawfit.data import GroupedData, bucket
from lawfit.fitting._batch import fit_batch
from lawfit.fitting._checkpoint import Checkpoint
from lawfit.fitting._diagnostics import diagnose_optima, step_cap_messages, warning_messages
from lawfit.fitting._objective import Objective
from lawfit.fitting._settings import MultiStart
from lawfit.fitting._solver import Solver
from lawfit.fitting._status import Status
from lawfit.fitting._tables import RawFits
from lawfit.laws import Law
from lawfit.precision import computing, dtype_of

__all__ = ["MERGE_SLACK", "TASK_BUDGET", "Chunk", "Plan", "chunks", "fit_chunk", "fit_groups", "group_seeds"]

#: Default tasks (groups x starts, or groups x resamples) per kernel call.
TASK_BUDGET = 1 << 16


class Plan(NamedTuple):
    """Everything a kernel call needs besides the groups: what to fit and how.

    ``lower``, ``upper``: (K,) bounds; ``fixed_values``, ``free``: (G, K) per group or None;
    ``seeds``: (G,) bootstrap seeds; ``search``: a :class:`MultiStart` holding an array;
    ``placed``: the starts are the law's grid with its ``placed_in`` parameters placed in
    each group's data (:meth:`lawfit.laws.Law.placed_start_grid`) at every kernel call.
    """

    law: Law
    objective: Objective
    solver: Solver
    search: MultiStart
    lower: np.ndarray
    upper: np.ndarray
    fixed_values: np.ndarray | None
    free: np.ndarray | None
    resamples: int
    seeds: np.ndarray
    precision: str
    placed: bool = False


def group_seeds(seed: int, keys: list[tuple], resamples: int) -> np.ndarray:
    """Each group's bootstrap seed, from the user's seed and the group's key only (so a
    group's resamples do not depend on the other groups); zeros without resamples."""
    if not resamples:
        return np.zeros(len(keys), np.uint32)
    return np.array(
        [zlib.crc32(repr((int(seed), tuple(str(v) for v in key))).encode()) for key in keys],
        np.uint32,
    )


#: A bulk fit pads groups of different sizes to one point count when that costs at most this
#: much more padded work than one compiled kernel per size (each shape is a compilation of
#: several seconds on a CPU).
MERGE_SLACK = 1.25


class Chunk(NamedTuple):
    """One kernel call: ``groups`` padded to ``points`` slots each and to ``groups_to`` rows."""

    groups: np.ndarray
    points: int
    groups_to: int


def chunks(groups: np.ndarray, sizes: np.ndarray, per_call: int) -> Iterator[Chunk]:
    """``groups`` in kernel calls of at most ``per_call`` groups, with as few distinct padded
    shapes as the work allows (sorted by size, then by group).

    Sizes are padded to the fewest :func:`bucket` levels whose padded total stays within
    :data:`MERGE_SLACK` of one level per size; each level's groups are cut into equal
    chunks, all padded to the same number of rows, so a level compiles once.
    """
    groups = np.asarray(groups, np.int64)
    if not len(groups):
        return
    order = groups[np.argsort(sizes[groups], kind="stable")]
    own = bucket(sizes[order])
    padded = own
    for levels in range(1, len(np.unique(own))):
        merged = bucket(sizes[order], levels=levels)
        if merged.sum() <= MERGE_SLACK * own.sum():
            padded = merged
            break
    for size in np.unique(padded):
        members = order[padded == size]
        n_calls = -(-len(members) // per_call)
        length = -(-len(members) // n_calls)
        groups_to = bucket(length) if length > 1 else 1
        for start in range(0, len(members), length):
            yield Chunk(members[start : start + length], int(size), groups_to)


def fit_groups(
    plan: Plan,
    grouped: GroupedData,
    checkpoint: Checkpoint,
    chunk: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RawFits:
    """Fit every valid group of ``grouped``: groups saved in ``checkpoint`` are loaded, the
    others fitted ``chunk`` groups per kernel call (default: within :data:`TASK_BUDGET`
    tasks), each call saved to the checkpoint and reported as ``progress(done, total)``."""
    raw = RawFits.empty(grouped.n_groups, len(plan.law.params), plan.resamples)
    valid = grouped.valid
    checkpoint.load(raw, valid)
    if raw.done.any() and progress is not None:
        progress(int(raw.done.sum()), len(valid))
    per_call = chunk or max(1, TASK_BUDGET // max(len(plan.search.starts), plan.resamples, 1))
    for chunk_ in chunks(valid, grouped.sizes, per_call):
        if raw.done[chunk_.groups].all():
            continue
        fit_chunk(plan, grouped, chunk_, raw)
        checkpoint.save(raw)
        if progress is not None:
            progress(int(raw.done.sum()), len(valid))
    return raw


def fit_chunk(plan: Plan, grouped: GroupedData, chunk_: Chunk, raw: RawFits) -> None:
    """Fit the groups of ``chunk_`` in one padded kernel call and store them in ``raw``."""
    chunk = chunk_.groups
    padded = grouped.pad(chunk, points=chunk_.points, groups_to=chunk_.groups_to)
    slots = padded.groups
    fixed_values = None if plan.fixed_values is None else plan.fixed_values[slots]
    free = None if plan.free is None else plan.free[slots]
    search = plan.search
    if plan.placed:
        search = search.with_starts(plan.law.placed_start_grid(padded.inputs))
    with computing(plan.precision):
        out = fit_batch(
            plan.law,
            padded.inputs,
            padded.target,
            padded.weight,
            starts=search,
            lower=plan.lower,
            upper=plan.upper,
            free=free,
            fixed_values=fixed_values,
            objective=plan.objective,
            solver=plan.solver,
            bootstrap=plan.resamples,
            seed=plan.seeds[slots],
            dtype=dtype_of(plan.precision),
        )
    diagnosis = diagnose_optima(
        plan.law, plan.objective, padded.inputs, padded.target, padded.weight,
        np.asarray(out.u, float), plan.lower, plan.upper, free=free,
    )
    n = len(chunk)
    status = np.asarray(out.status[:n], np.int64)
    params = np.asarray(out.params[:n], float)
    steps = np.asarray(out.steps[:n], np.int64)
    # Diagnostics describe an optimum: not a point where the step cap struck, which gets a
    # warning of its own.
    notes = np.asarray(warning_messages(plan.law, diagnosis)[:n], dtype=object)
    notes[status == Status.NONFINITE] = ""
    capped = status == Status.MAX_STEPS
    if capped.any():
        notes[capped] = step_cap_messages(plan.law, params[capped], steps[capped])
    values = dict(
        params=params,
        objective=np.asarray(out.objective[:n], float),
        steps=steps,
        status=status,
        n_converged=np.asarray(out.n_converged[:n], np.int64),
        warning=notes,
    )
    if plan.resamples:
        values["boot_params"] = np.asarray(out.boot_params[:n], float)
        values["boot_status"] = np.asarray(out.boot_status[:n], np.int64)
    raw.store(chunk, **values)
