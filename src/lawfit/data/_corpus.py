"""The corpus schema: one row per (model, checkpoint, metric), checked at the pandas boundary.

A corpus holds the training runs of scaled *families* (models trained alike at several sizes)
with the scalar ``loss`` a law is fitted to. The schema (``CORPUS_COLUMNS``):

=============  ========  ===============================================================
column         kind      meaning
=============  ========  ===============================================================
family         text      the scaled family one law is fitted to (required)
model          text      model id, unique across the corpus (required)
architecture   text      e.g. ``dec``, ``enc-dec``, ``ssm``, ``moe``
data           text      pretraining corpus
N              number    parameters (> 0; NaN where the source gives no size)
D              number    tokens (or examples) seen at this checkpoint (> 0, required)
C              number    training FLOPs (> 0 or NaN)
seed           text      seed or run tag
step           number    optimizer step or checkpoint index (NaN where unknown)
metric         text      the metric as the source names it
value          number    the metric as the source gives it (NaN for an average of metrics)
loss           number    the scalar the law is fitted to (> 0, required)
=============  ========  ===============================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lawfit.data._validate import InputError, check_columns, numeric_column, row_list

__all__ = ["CORPUS_COLUMNS", "validate_corpus"]

CORPUS_COLUMNS = (
    "family", "model", "architecture", "data", "N", "D", "C", "seed", "step", "metric", "value",
    "loss",
)
_REQUIRED = ("family", "model", "D", "loss")
_TEXT = ("family", "model", "architecture", "data", "seed", "metric")
_NUMBERS = ("N", "D", "C", "step", "value", "loss")
_POSITIVE = ("N", "D", "C", "loss")


def validate_corpus(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in the corpus schema, or :class:`InputError` naming the column and rows.

    Missing optional columns are added (text as missing, numbers as NaN); extra columns are
    kept after the schema's. Checks: the required columns ``family, model, D, loss`` exist
    and are filled; ``N, D, C, loss`` are positive numbers (``N`` and ``C`` may be NaN,
    never infinite); each model has one family and one ``N``.
    """
    check_columns(frame, _REQUIRED, argument="corpus")
    out = frame.reset_index(drop=True).copy()
    labels = np.asarray(frame.index)
    for column in _TEXT:
        if column not in out.columns:
            out[column] = pd.Series(pd.NA, index=out.index, dtype="string")
            continue
        cells = out[column]
        blank = (cells.astype("string").str.strip() == "").fillna(True)
        empty = cells.isna().to_numpy() | blank.to_numpy()
        if column in _REQUIRED and empty.any():
            raise InputError(f"corpus: column {column!r} is empty at {row_list(labels[empty])}")
        out[column] = cells.astype("string")
    for column in _NUMBERS:
        if column not in out.columns:
            out[column] = np.nan
            continue
        values, problem = numeric_column(out, column, role="corpus")
        problem = problem.to_numpy()
        if column not in _REQUIRED:  # a missing optional number is fine, text or inf is not
            missing = np.char.endswith(problem.astype(str), "is missing (NaN)")
            problem = np.where(missing, "", problem)
        bad = problem != ""
        if bad.any():
            raise InputError(f"corpus: {problem[bad][0]} at {row_list(labels[bad])}")
        if column in _POSITIVE:
            nonpositive = np.nan_to_num(values, nan=1.0) <= 0
            if nonpositive.any():
                raise InputError(
                    f"corpus: column {column!r} must be > 0; not at {row_list(labels[nonpositive])}"
                )
        out[column] = values
    for column in ("family", "N"):
        per_model = out.groupby("model", sort=False)[column].nunique(dropna=False)
        several = per_model[per_model > 1]
        if len(several):
            model = several.index[0]
            rows = labels[(out["model"] == model).to_numpy()]
            raise InputError(
                f"corpus: column {column!r} takes {int(several.iloc[0])} values for model "
                f"{model!r} (one per model expected) at {row_list(rows)}"
            )
    extra = [c for c in out.columns if c not in CORPUS_COLUMNS]
    return out[[*CORPUS_COLUMNS, *extra]]
