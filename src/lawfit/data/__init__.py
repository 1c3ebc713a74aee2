"""Data: bundled corpora, file reading, validation at the pandas boundary, and grouping and
padding a validated table for a law (:class:`GroupedData`), thinning dense checkpoint
logs (:func:`thin_runs`)."""

from lawfit.data._corpus import CORPUS_COLUMNS, validate_corpus
from lawfit.data._grouped import GroupedData, Padded, Reason, RowCheck, bucket, describe_problems
from lawfit.data._io import as_table, read_table, write_table
from lawfit.data._load import available, bundled_path, load
from lawfit.data._thin import thin_runs
from lawfit.data._validate import (
    InputError,
    check_choice,
    check_columns,
    input_columns,
    numeric_column,
    row_list,
)

__all__ = [
    "CORPUS_COLUMNS",
    "GroupedData",
    "InputError",
    "Padded",
    "Reason",
    "RowCheck",
    "as_table",
    "available",
    "bucket",
    "bundled_path",
    "check_choice",
    "check_columns",
    "describe_problems",
    "input_columns",
    "load",
    "numeric_column",
    "read_table",
    "row_list",
    "thin_runs",
    "validate_corpus",
    "write_table",
]
