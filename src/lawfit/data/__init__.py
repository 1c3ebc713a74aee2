"""Data: bundled corpora, file reading and validation at the pandas boundary."""

from lawfit.data._corpus import CORPUS_COLUMNS, validate_corpus
from lawfit.data._io import read_table, write_table
from lawfit.data._load import available, bundled_path, load
from lawfit.data._validate import (
    InputError,
    check_choice,
    check_columns,
    numeric_column,
    row_list,
)

__all__ = [
    "CORPUS_COLUMNS",
    "InputError",
    "available",
    "bundled_path",
    "check_choice",
    "check_columns",
    "load",
    "numeric_column",
    "read_table",
    "row_list",
    "validate_corpus",
    "write_table",
]
