"""A fit's checkpoint: finished groups saved to a Parquet file, resumed by a later call.

The file holds raw per-group results (so the tables rebuild exactly) stamped with a
fingerprint of everything that determines them; a checkpoint with another fingerprint is
an error rather than silently mixed in.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lawfit.data import GroupedData, InputError, write_table
from lawfit.fitting._tables import RawFits

__all__ = ["Checkpoint", "fingerprint"]

_ADVICE = "delete it to start afresh"


def fingerprint(head: tuple, grouped: GroupedData, arrays: list) -> str:
    """A short hash of everything that determines the raw fits: ``head`` (law, objective,
    solver and its tolerances, options), the grouped data and ``arrays`` (starts, bounds,
    fixed values; ``ci`` is not in it: the tables are rebuilt from the raw fits)."""
    digest = hashlib.sha256()
    digest.update(repr((head, grouped.key_tuples())).encode())
    items = [*arrays, grouped.inputs, grouped.target, grouped.weight, grouped.offsets,
             grouped.reason]
    for item in items:
        for a in item.values() if isinstance(item, dict) else [item]:
            if a is not None:
                digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """Where finished groups are saved (``path``: a ``.parquet`` file, or None for no
    checkpoint) and the ``fingerprint`` of the fit writing them."""

    path: str | None
    fingerprint: str

    @classmethod
    def at(cls, path, fingerprint: str) -> Checkpoint:
        """A checkpoint at ``path`` (checked: a ``.parquet`` file in an existing folder)."""
        if path is None:
            return cls(None, fingerprint)
        if not isinstance(path, (str, os.PathLike)):
            raise InputError(f"checkpoint must be a path; got {type(path).__name__}")
        path = os.fspath(path)
        if not path.lower().endswith(".parquet"):
            raise InputError(f"checkpoint {path!r}: expected a .parquet path")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise InputError(f"checkpoint {path!r}: folder {folder!r} does not exist")
        return cls(path, fingerprint)

    def load(self, raw: RawFits, valid: np.ndarray) -> None:
        """Fill ``raw`` with the groups saved at ``path`` (none when it does not exist);
        ``valid`` lists the groups this fit may hold."""
        if self.path is None or not os.path.exists(self.path):
            return
        try:
            table = pd.read_parquet(self.path)
            stamps = set(table["_fingerprint"])
            groups = table["_group"].to_numpy(np.int64)
        except Exception as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InputError(f"checkpoint {self.path!r} cannot be read ({reason}); {_ADVICE}") from None
        if stamps - {self.fingerprint} or not np.isin(groups, valid).all():
            raise InputError(
                f"checkpoint {self.path!r} was written by a fit of other data or options (law, "
                f"columns, loss, starts, bootstrap, seed, ...); {_ADVICE}, or pass another "
                "checkpoint path"
            )
        if not len(groups):
            return
        k, resamples = raw.params.shape[1], raw.boot_params.shape[1]
        values = dict(
            params=np.stack(table["params"].to_numpy()).astype(float).reshape(-1, k),
            objective=table["objective"].to_numpy(float),
            steps=table["steps"].to_numpy(np.int64),
            status=table["status"].to_numpy(np.int64),
            n_converged=table["n_converged"].to_numpy(np.int64),
            warning=table["warning"].astype(str).to_numpy(dtype=object),
        )
        if resamples:
            values["boot_params"] = np.stack(table["boot_params"].to_numpy()).astype(float).reshape(
                -1, resamples, k
            )
            values["boot_status"] = np.stack(table["boot_status"].to_numpy()).astype(np.int64)
        raw.store(groups, **values)

    def save(self, raw: RawFits) -> None:
        """Rewrite the file (atomically) with every finished group of ``raw``."""
        if self.path is None:
            return
        groups = np.flatnonzero(raw.done)
        frame = pd.DataFrame(
            {
                "_fingerprint": [self.fingerprint] * len(groups),
                "_group": groups.astype(np.int64),
                "params": list(raw.params[groups]),
                "objective": raw.objective[groups],
                "steps": raw.steps[groups],
                "status": raw.status[groups],
                "n_converged": raw.n_converged[groups],
                "warning": pd.Series(raw.warning[groups], dtype=object),
            }
        )
        if raw.boot_params.shape[1]:
            frame["boot_params"] = list(raw.boot_params[groups].reshape(len(groups), -1))
            frame["boot_status"] = list(raw.boot_status[groups])
        write_table(frame, self.path)
