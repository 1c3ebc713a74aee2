"""Bundled corpora, loaded by name. Provenance of each file: ``bundled/PROVENANCE.md``."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

import numpy as np
import pandas as pd

from lawfit.data._corpus import validate_corpus
from lawfit.data._validate import InputError, check_choice

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

    The others are corpora in the schema of :func:`lawfit.data.validate_corpus` (one row per
    model checkpoint and metric):

    ``hitchhiker``: Choshen, Zhang & Andreas 2025 (arXiv:2410.11840), ColPret's ``perf``
    table: ``loss`` is what the paper's code fits (a loss in nats, log2 of a perplexity, or,
    for the OPT trajectories, a raw perplexity). ``overtrain="colpret"`` (default) keeps only
    the most over-trained run of each size in the ``overtrain-*`` families, as ColPret does;
    ``"all"`` keeps every run.

    ``porian``: Porian et al. 2024 (arXiv:2406.19146) IsoFLOP points, one family per dataset
    and configuration; ``table="optima"`` gives the interpolated optima per FLOP budget
    (``N_star, D_star, loss_star, ...``) instead.

    ``revisiting``: Alabdulmohsin et al. 2022 (arXiv:2209.06640) language and vision
    benchmark (``D`` = examples seen, ``training`` marks the fitting points), without the
    687 duplicated rows of the source.
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


def _parquet(filename: str) -> pd.DataFrame:
    with bundled_path(filename).open("rb") as handle:
        frame = pd.read_parquet(handle)
    for column in frame.columns:  # categories were for storage only
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype("string")
    return frame


@_loader("hitchhiker")
def _hitchhiker(overtrain: str = "colpret") -> pd.DataFrame:
    check_choice(overtrain, ("colpret", "all"), argument="overtrain")
    frame = _parquet("hitchhiker.parquet")
    if overtrain == "colpret":
        # ColPret's read_data.get_overtrain: per size, only the largest tokens/parameter
        # multiplier (the model name's last '-' field) stays in its family.
        runs = frame["family"].str.startswith("overtrain").to_numpy()
        multiplier = frame["model"].str.rsplit("-", n=1).str[-1]
        multiplier = pd.to_numeric(multiplier.where(runs), errors="coerce")
        best = multiplier.groupby([frame["family"], frame["N"]]).transform("max")
        frame = frame[~runs | (multiplier == best).to_numpy()]
    return validate_corpus(frame)


@_loader("porian")
def _porian(table: str = "points") -> pd.DataFrame:
    if table == "points":
        return validate_corpus(_parquet("porian_points.parquet"))
    if table == "optima":
        return _parquet("porian_optima.parquet")
    raise InputError(f"table must be 'points' or 'optima'; got {table!r}")


@_loader("revisiting")
def _revisiting() -> pd.DataFrame:
    return validate_corpus(_parquet("revisiting.parquet"))
