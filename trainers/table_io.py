"""Reading and validating a parquet training table: feature columns and a binary target."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

__all__ = ["MIN_ROWS", "TrainingData", "TrainingInputError", "read_training_data"]

logger = logging.getLogger(__name__)

MIN_ROWS = 10


class TrainingInputError(ValueError):
    """The training input or configuration is unusable; the message says what to fix."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingData:
    """Feature columns split by kind, plus the 0/1 labels, all of length ``rows``."""

    path: Path
    target: str
    rows: int
    numeric: dict[str, NDArray[np.float64]] = field(repr=False)
    categorical: dict[str, NDArray[np.str_]] = field(repr=False)
    labels: NDArray[np.int64] = field(repr=False)


def _is_string(data_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(data_type):
        return _is_string(data_type.value_type)
    return bool(pa.types.is_string(data_type) or pa.types.is_large_string(data_type))


def _is_numeric(data_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_boolean(data_type)
    )


def _read_table(path: Path) -> pa.Table:
    if not path.exists():
        raise TrainingInputError(
            f"--data {path} does not exist; create a dataset with "
            f"'python -m trainers.data --out {path}'"
        )
    if not path.is_file():
        raise TrainingInputError(f"--data {path} is not a file; pass a parquet file")
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise TrainingInputError(f"--data {path} is not a readable parquet file: {exc}") from exc


def _labels(table: pa.Table, path: Path, target: str) -> NDArray[np.int64]:
    if target not in table.column_names:
        raise TrainingInputError(
            f"--target {target!r} is not a column of {path}; "
            f"columns: {', '.join(table.column_names)}"
        )
    column = table.column(target)
    if column.null_count:
        raise TrainingInputError(
            f"--target {target!r} in {path} has {column.null_count} null values; "
            "drop those rows or fill them with 0/1"
        )
    if not _is_numeric(column.type):
        raise TrainingInputError(
            f"--target {target!r} in {path} is not binary: it has type {column.type}; "
            "expected only the values 0 and 1"
        )
    values: NDArray[np.float64] = column.to_numpy().astype(np.float64)
    distinct = np.unique(values)
    unexpected = [v for v in distinct.tolist() if v not in (0.0, 1.0)]
    if unexpected:
        preview = ", ".join(f"{v:g}" for v in unexpected[:5])
        more = f" and {len(unexpected) - 5} more" if len(unexpected) > 5 else ""
        raise TrainingInputError(
            f"--target {target!r} in {path} is not binary: found values {preview}{more}; "
            "expected only 0 and 1"
        )
    if distinct.shape[0] < 2:
        raise TrainingInputError(
            f"--target {target!r} in {path} only has the value {distinct[0]:g}; "
            "both 0 and 1 are needed to train"
        )
    return values.astype(np.int64)


def read_training_data(path: Path, target: str) -> TrainingData:
    """Load ``path`` and split it into numeric, string and target columns.

    Numeric (integer, float, boolean) columns become float64 arrays and string columns
    become ``str`` arrays; any other type, a null value, fewer than :data:`MIN_ROWS`
    rows or a target that is not 0/1 raises :class:`TrainingInputError`.
    """
    table = _read_table(path)
    labels = _labels(table, path, target)
    if table.num_rows < MIN_ROWS:
        raise TrainingInputError(
            f"--data {path} has {table.num_rows} rows; at least {MIN_ROWS} are needed"
        )
    numeric: dict[str, NDArray[np.float64]] = {}
    categorical: dict[str, NDArray[np.str_]] = {}
    for name in table.column_names:
        if name == target:
            continue
        column = table.column(name)
        if column.null_count:
            raise TrainingInputError(
                f"column {name!r} of {path} has {column.null_count} null values; "
                "fill or drop them before training"
            )
        if _is_numeric(column.type):
            values = column.to_numpy().astype(np.float64)
            bad = int((~np.isfinite(values)).sum())
            if bad:
                raise TrainingInputError(
                    f"column {name!r} of {path} has {bad} NaN or infinite values; "
                    "fill or drop them before training"
                )
            numeric[name] = values
        elif _is_string(column.type):
            categorical[name] = np.array(column.to_pylist(), dtype=np.str_)
        else:
            raise TrainingInputError(
                f"column {name!r} of {path} has unsupported type {column.type}; "
                "only numeric, boolean and string feature columns are supported"
            )
    if not numeric and not categorical:
        raise TrainingInputError(
            f"--data {path} has no feature columns besides the target {target!r}"
        )
    logger.debug(
        "read %s rows from %s: numeric=%s categorical=%s",
        table.num_rows,
        path,
        list(numeric),
        list(categorical),
    )
    return TrainingData(
        path=path,
        target=target,
        rows=table.num_rows,
        numeric=numeric,
        categorical=categorical,
        labels=labels,
    )
