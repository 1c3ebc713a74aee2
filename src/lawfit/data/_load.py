"""Bundled corpora, loaded by name. Provenance of each file: ``bundled/PROVENANCE.md``."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["available", "bundled_path", "load"]

_LOADERS: dict[str, Callable[..., pd.DataFrame]] = {}


def bundled_path(filename: str):
    """Path of a file shipped in ``lawfit/data/bundled``."""
    return resources.files("lawfit.data").joinpath("bundled", filename)


def _loader(name: str):
    def register(fn):
        _LOADERS[name] = fn
        return fn

    return register


def available() -> list[str]:
    """Names accepted by :func:`load`."""
    return sorted(_LOADERS)


def load(name: str, **options) -> pd.DataFrame:
    """A bundled corpus as a DataFrame; ``options`` go to that corpus's loader.

    ``chinchilla``: Epoch AI's reconstruction of Hoffmann et al.'s points (Besiroglu et al.
    2024), columns ``N, D, C, loss`` with D = C/(6N); the 5 highest-loss points are dropped
    as in every published refit unless ``outliers=True``, which keeps them and adds a
    boolean ``outlier`` column.
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown corpus {name!r}; available: {', '.join(available())}")
    return _LOADERS[name](**options)


@_loader("chinchilla")
def _chinchilla(outliers: bool = False) -> pd.DataFrame:
    with bundled_path("chinchilla.csv").open("r") as handle:
        raw = pd.read_csv(handle)
    frame = pd.DataFrame(
        {"N": raw["N"], "D": raw["C"] / (6.0 * raw["N"]), "C": raw["C"], "loss": raw["loss"]}
    )
    # Epoch's rule: keep loss < sorted(loss)[-5], i.e. drop the five largest losses.
    outlier = frame["loss"].to_numpy() >= np.sort(frame["loss"].to_numpy())[-5]
    if outliers:
        return frame.assign(outlier=outlier)
    return frame.loc[~outlier].reset_index(drop=True)
