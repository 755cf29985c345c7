"""Turn one column of a batch into numeric values or category counts, vectorised.

Columns arrive as numpy arrays, Python lists (capture windows), or pyarrow arrays. The
fast path goes through pyarrow and numpy; lists whose values pyarrow cannot type (numbers
mixed with strings) take a per-value path, the only Python loop, used for messy data.

Numeric columns: nulls count as missing, NaN and +-inf are counted apart from the finite
values, booleans are 0/1, and strings that parse as numbers (CSV captures) are numbers.
Any other value is *invalid*: counted, with a few examples kept for the message.
Categorical columns: values become strings (``True`` -> ``"true"``, ``3`` -> ``"3"``,
``2.5`` -> ``"2.5"``); nulls and float NaN count as missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ColumnData", "NumericPart", "as_arrow", "categorical_part", "column_length",
           "logical_dtype", "numeric_part"]

ColumnData: TypeAlias = "np.ndarray | Sequence[object] | pa.Array | pa.ChunkedArray"

_EXAMPLES = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class NumericPart:
    """What one batch contributed to a numeric feature."""

    finite: np.ndarray       # finite values, unsorted float64
    missing: int
    nan: int
    inf: int
    invalid: int
    examples: tuple[str, ...]  # a few invalid values, repr'd
    dtype: str


def column_length(data: ColumnData) -> int:
    """Return the number of rows in *data*."""
    return len(data)


def as_arrow(data: ColumnData) -> pa.Array | pa.ChunkedArray | None:
    """Return *data* as a pyarrow array, or None when pyarrow cannot type its values."""
    if isinstance(data, pa.Array | pa.ChunkedArray):
        return data
    try:
        if isinstance(data, np.ndarray):
            return pa.array(data) if data.dtype != object else pa.array(data.tolist())
        return pa.array(list(data))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return None


def logical_dtype(arrow_type: pa.DataType) -> str:
    """Return the logical dtype name for a pyarrow type."""
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_integer(arrow_type):
        return "int64"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "float64"
    if pa.types.is_null(arrow_type):
        return "null"
    return "string"


def _float_numpy(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Return the non-null values of a numeric/bool arrow array as float64."""
    if arr.null_count:
        arr = pc.drop_null(arr)
    if pa.types.is_boolean(arr.type) or pa.types.is_decimal(arr.type):
        arr = pc.cast(arr, pa.float64())
    if isinstance(arr, pa.ChunkedArray):
        return np.asarray(arr.to_numpy(), dtype=np.float64)
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)


def _split(values: np.ndarray, missing: int, invalid: int, examples: tuple[str, ...],
           dtype: str) -> NumericPart:
    finite_mask = np.isfinite(values)
    if finite_mask.all():
        return NumericPart(finite=values, missing=missing, nan=0, inf=0, invalid=invalid,
                           examples=examples, dtype=dtype)
    nan = int(np.count_nonzero(np.isnan(values)))
    return NumericPart(finite=values[finite_mask], missing=missing, nan=nan,
                       inf=int(values.size - finite_mask.sum()) - nan, invalid=invalid,
                       examples=examples, dtype=dtype)


def numeric_part(data: ColumnData) -> NumericPart:
    """Split a batch column into finite values and missing/NaN/inf/invalid counts."""
    if isinstance(data, np.ndarray) and data.dtype.kind in "fiub":
        values = data.astype(np.float64, copy=False).ravel()
        return _split(values, 0, 0, (), "float64" if data.dtype.kind == "f" else
                      "bool" if data.dtype.kind == "b" else "int64")
    arr = as_arrow(data)
    if arr is not None:
        kind = arr.type
        if pa.types.is_null(kind):
            return NumericPart(finite=np.empty(0), missing=len(arr), nan=0, inf=0,
                               invalid=0, examples=(), dtype="null")
        if logical_dtype(kind) != "string":
            return _split(_float_numpy(arr), arr.null_count, 0, (), logical_dtype(kind))
        try:
            cast = pc.cast(arr, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            data = arr.to_pylist()
        else:
            return _split(_float_numpy(cast), cast.null_count, 0, (), "float64")
    return _numeric_slow(list(data))


def _numeric_slow(items: list[object]) -> NumericPart:
    """Per-value path for columns pyarrow cannot type (numbers mixed with other values)."""
    out = np.empty(len(items), dtype=np.float64)
    used = missing = invalid = 0
    examples: list[str] = []
    strings = False
    for item in items:
        if item is None:
            missing += 1
            continue
        if isinstance(item, bool | int | float | np.number):
            out[used] = float(item)
            used += 1
            continue
        if isinstance(item, str | bytes):
            try:
                out[used] = float(item)
            except ValueError:
                pass
            else:
                used += 1
                strings = True
                continue
        invalid += 1
        if len(examples) < _EXAMPLES and repr(item) not in examples:
            examples.append(repr(item))
    dtype = "string" if invalid or strings else "float64"
    return _split(out[:used], missing, invalid, tuple(examples), dtype)


def categorical_part(data: ColumnData) -> tuple[dict[str, int], int, str]:
    """Return (category counts, missing count, logical dtype) of a batch column."""
    arr = as_arrow(data)
    if arr is None:
        return _categorical_slow(list(data))
    dtype = logical_dtype(arr.type)
    if dtype == "null":
        return {}, len(arr), dtype
    missing = arr.null_count
    if pa.types.is_floating(arr.type):
        nan = pc.is_nan(arr)
        nans = int(pc.sum(nan).as_py() or 0)
        if nans:
            arr = pc.filter(arr, pc.invert(nan))
            missing += nans
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    counts = arr.value_counts()
    if isinstance(counts, pa.ChunkedArray):
        counts = counts.combine_chunks()
    keys = counts.field("values").to_pylist()
    freq = counts.field("counts").to_pylist()
    return {k: int(c) for k, c in zip(keys, freq, strict=True) if k is not None}, missing, dtype


def _categorical_slow(items: list[object]) -> tuple[dict[str, int], int, str]:
    counts: dict[str, int] = {}
    missing = 0
    for item in items:
        if item is None or (isinstance(item, float) and item != item):
            missing += 1
            continue
        if isinstance(item, bool):
            key = "true" if item else "false"
        elif isinstance(item, float) and item.is_integer():
            key = str(int(item))
        else:
            key = str(item)
        counts[key] = counts.get(key, 0) + 1
    return counts, missing, "string"
