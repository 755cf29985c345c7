"""Feature profiles: what a baseline (or a window) looked like, kept for drift tests.

A numeric feature keeps *all* its finite values, sorted, up to ``exact_cap`` of them;
past the cap it keeps a :class:`~monitor.drift.sketch.QuantileSketch` instead. Either
way it keeps missing/NaN/inf counts and the finite values' min, max, mean and
(population, ``ddof=0``) standard deviation. A categorical feature keeps its category
counts. Profiles are built once, stored with :meth:`BaselineProfile.to_bytes`, and
compared by the tests in :mod:`monitor.drift.stattests`.

:class:`ProfileBuilder` is incremental and mergeable (batches, or partitions built
apart and merged). Kinds are inferred from the first non-null values unless forced.
A value that is not a number in a numeric column (``"abc"``) is counted as *invalid*
by default, with a few examples kept, so a bad capture window still yields a profile
and :func:`monitor.drift.check.check` can report that feature; ``on_invalid="raise"``
raises a ``ValueError`` naming the column and the value instead (for baselines).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Literal

import numpy as np
import pyarrow as pa

from monitor.drift._columns import ColumnData, categorical_part, logical_dtype, numeric_part
from monitor.drift.sketch import DEFAULT_K, QuantileSketch

__all__ = ["DEFAULT_EXACT_CAP", "BaselineProfile", "FeatureKind", "FeatureProfile",
           "ProfileBuilder", "profile_columns"]

DEFAULT_EXACT_CAP = 2_000_000
"""Finite values a numeric feature keeps exactly before switching to a sketch."""


class FeatureKind(StrEnum):
    """How a feature is compared: by value distribution or by category frequencies."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and np.array_equal(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return dict(a) == dict(b)
    return a == b


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class FeatureProfile:
    """One feature's summary: counts, exact sorted values or a sketch, or category counts.

    ``count`` is the number of present values (NaN, inf and invalid values included);
    ``invalid`` counts values of a numeric feature that were not numbers, and
    ``invalid_examples`` keeps a few of them for messages.
    """

    name: str
    kind: FeatureKind
    dtype: str
    count: int
    missing: int
    nan: int = 0
    inf: int = 0
    values: np.ndarray | None = None
    sketch: QuantileSketch | None = None
    minimum: float = math.nan
    maximum: float = math.nan
    mean: float = math.nan
    std: float = math.nan
    categories: Mapping[str, int] = field(default_factory=dict)
    invalid: int = 0
    invalid_examples: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("count", "missing", "nan", "inf", "invalid"):
            if getattr(self, name) < 0:
                raise ValueError(f"feature {self.name!r}: {name} must be >= 0, "
                                 f"got {getattr(self, name)}")
        if self.values is not None and self.sketch is not None:
            raise ValueError(f"feature {self.name!r}: give values or a sketch, not both")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FeatureProfile):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name))
                   for f in fields(self))

    __hash__ = None  # type: ignore[assignment]

    @property
    def finite_count(self) -> int:
        """Number of finite numeric values (0 for a categorical feature)."""
        if self.kind is FeatureKind.CATEGORICAL:
            return 0
        return self.count - self.nan - self.inf - self.invalid

    @property
    def rank_error(self) -> float:
        """Worst-case CDF error of this profile (0 for exact values, see sketch docs)."""
        if self.sketch is None or self.sketch.n == 0:
            return 0.0
        return self.sketch.error_bound / self.sketch.n

    def rank(self, xs: np.ndarray, *, strict: bool = False) -> np.ndarray:
        """Return how many finite values are ``<= x`` (``< x`` when *strict*), per x."""
        side: Literal["left", "right"] = "left" if strict else "right"
        xs = np.asarray(xs, dtype=np.float64)
        if self.values is not None:
            return np.searchsorted(self.values, xs, side=side).astype(np.int64)
        if self.sketch is not None:
            items, cum, _ = self.sketch.weighted()
            return cum[np.searchsorted(items, xs, side=side)]
        return np.zeros(xs.shape, dtype=np.int64)

    def cdf(self, xs: np.ndarray) -> np.ndarray:
        """Return the share of finite values ``<= x`` for each x (exact, or via the sketch)."""
        n = self.values.size if self.values is not None else (
            self.sketch.n if self.sketch is not None else 0)
        if n == 0:
            return np.full(np.shape(xs), np.nan)
        return self.rank(xs) / n

    def quantiles(self, qs: np.ndarray) -> np.ndarray:
        """Return the smallest finite value whose CDF reaches q, for each q (inverted CDF)."""
        q = np.asarray(qs, dtype=np.float64)
        if self.values is not None and self.values.size:
            found: np.ndarray = np.quantile(self.values, q, method="inverted_cdf")
            return found
        if self.sketch is not None:
            return self.sketch.quantiles(q)
        return np.full(q.shape, np.nan)

    def histogram(self, edges: np.ndarray) -> np.ndarray:
        """Return counts of finite values between consecutive *edges* (numpy.histogram bins).

        Bins are ``[e0, e1), [e1, e2), ... [e_k-1, e_k]``; values outside are not counted.
        """
        e = np.asarray(edges, dtype=np.float64)
        below = self.rank(e, strict=True)
        below[-1] = self.rank(e[-1:])[0]
        return np.diff(below)

    def category_frequencies(self, keys: Collection[str]) -> np.ndarray:
        """Return each key's share of the categorical values (0 for an unseen key)."""
        total = sum(self.categories.values())
        counts = np.array([self.categories.get(k, 0) for k in keys], dtype=np.float64)
        return counts / total if total else counts


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class BaselineProfile:
    """Profiles of every feature of a dataset (insertion order = column order)."""

    features: Mapping[str, FeatureProfile]
    rows: int
    source: str = ""
    created_at: datetime | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BaselineProfile):
            return NotImplemented
        return (list(self.features) == list(other.features)
                and all(self.features[k] == other.features[k] for k in self.features)
                and self.rows == other.rows and self.source == other.source
                and self.created_at == other.created_at)

    __hash__ = None  # type: ignore[assignment]

    def to_bytes(self) -> bytes:
        """Return the versioned binary form (a JSON header and raw little-endian arrays)."""
        from monitor.drift._profile_io import encode
        return encode(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> BaselineProfile:
        """Read a profile written by :meth:`to_bytes` (any supported format version)."""
        from monitor.drift._profile_io import decode
        return decode(data)


# -- building ------------------------------------------------------------------------------

class _Column:
    """Running state of one column while a builder sees batches."""

    __slots__ = ("count", "dtype", "examples", "finite", "finite_n", "inf", "invalid",
                 "kind", "m2", "maximum", "mean", "minimum", "missing", "nan", "categories",
                 "sketch")

    def __init__(self, kind: FeatureKind | None) -> None:
        self.kind = kind
        self.dtype = "null"
        self.count = self.missing = self.nan = self.inf = self.invalid = 0
        self.examples: tuple[str, ...] = ()
        self.finite: list[np.ndarray] = []
        self.finite_n = 0
        self.sketch: QuantileSketch | None = None
        self.mean = self.m2 = 0.0
        self.minimum, self.maximum = math.inf, -math.inf
        self.categories: dict[str, int] = {}

    def widen(self, dtype: str) -> None:
        order = ["null", "bool", "int64", "float64", "string"]
        if order.index(dtype) > order.index(self.dtype):
            self.dtype = dtype

    def add_moments(self, n: int, mean: float, m2: float, lo: float, hi: float) -> None:
        # Chan et al.'s parallel update of count, mean and sum of squared deviations.
        total = self.finite_n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.finite_n * n / total
        self.finite_n = total
        self.minimum, self.maximum = min(self.minimum, lo), max(self.maximum, hi)

    def add_finite(self, values: np.ndarray, cap: int, k: int) -> None:
        if values.size == 0:
            return
        with np.errstate(over="ignore", invalid="ignore"):  # |x| near 1e308: std is inf
            mean = float(values.mean())
            m2 = float(np.square(values - mean).sum())
        self.add_moments(values.size, mean, m2, float(values.min()), float(values.max()))
        self.keep(values, cap, k)

    def keep(self, values: np.ndarray, cap: int, k: int) -> None:
        """Keep finite values exactly, or in the sketch once past *cap*."""
        if self.sketch is not None:
            self.sketch.update(values)
            return
        self.finite.append(values)
        if sum(a.size for a in self.finite) > cap:
            self.sketch = QuantileSketch(k=k)
            for part in self.finite:
                self.sketch.update(part)
            self.finite = []


class ProfileBuilder:
    """Build a :class:`BaselineProfile` from batches; builders merge (for partitions).

    Parameters
    ----------
    exact_cap
        Finite values a numeric feature keeps exactly; past it a quantile sketch.
    categorical, numeric
        Columns forced to a kind; the others are inferred from their first non-null values
        (numbers are numeric; strings and booleans categorical).
    columns
        Only these columns (in this order); None = every column seen.
    source
        Where the data came from, for humans.
    on_invalid
        ``"count"`` (default): non-numbers in a numeric column are counted as invalid;
        ``"raise"``: they raise a ``ValueError`` naming the column and the value.
    sketch_k
        Items per sketch level (see :mod:`monitor.drift.sketch`).
    """

    def __init__(self, *, exact_cap: int = DEFAULT_EXACT_CAP, categorical: Collection[str] = (),
                 numeric: Collection[str] = (), columns: Collection[str] | None = None,
                 source: str = "", on_invalid: Literal["count", "raise"] = "count",
                 sketch_k: int = DEFAULT_K, created_at: datetime | None = None) -> None:
        both = set(categorical) & set(numeric)
        if both:
            raise ValueError(f"ProfileBuilder: columns {sorted(both)} are forced both "
                             "categorical and numeric; choose one")
        if exact_cap < 0:
            raise ValueError(f"ProfileBuilder: exact_cap must be >= 0, got {exact_cap}")
        self.exact_cap, self.source, self.sketch_k = exact_cap, source, sketch_k
        self.on_invalid, self.created_at = on_invalid, created_at
        self._forced = {**dict.fromkeys(categorical, FeatureKind.CATEGORICAL),
                        **dict.fromkeys(numeric, FeatureKind.NUMERIC)}
        self._only = list(columns) if columns is not None else None
        self._cols: dict[str, _Column] = {}
        if self._only is not None:
            for name in self._only:
                self._cols[name] = _Column(self._forced.get(name))
        self.rows = 0

    def add(self, columns: Mapping[str, ColumnData]) -> None:
        """Add one batch: column name -> values; absent columns count as missing."""
        lengths = {name: len(values) for name, values in columns.items()
                   if self._only is None or name in self._cols}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"ProfileBuilder.add: columns have different lengths {lengths}; "
                             "a batch needs one value per row in every column")
        rows = next(iter(lengths.values()), 0)
        for name, values in columns.items():
            if name not in lengths:
                continue
            col = self._cols.get(name)
            if col is None:
                col = self._cols[name] = _Column(self._forced.get(name))
                col.missing += self.rows  # rows before this column first appeared
            self._add_column(name, col, values)
        for name, col in self._cols.items():
            if name not in lengths:
                col.missing += rows
        self.rows += rows

    def add_table(self, table: pa.Table | pa.RecordBatch) -> None:
        """Add a pyarrow table or record batch."""
        self.add({name: table.column(name) for name in table.column_names})

    def _add_column(self, name: str, col: _Column, values: ColumnData) -> None:
        if col.kind is None:
            col.kind = _infer_kind(values)
            if col.kind is None:  # all null so far
                col.missing += len(values)
                return
        if col.kind is FeatureKind.CATEGORICAL:
            counts, missing, dtype = categorical_part(values)
            for key, n in counts.items():
                col.categories[key] = col.categories.get(key, 0) + n
            col.missing += missing
            col.count += len(values) - missing
            col.widen(dtype)
            return
        part = numeric_part(values)
        if part.invalid and self.on_invalid == "raise":
            raise ValueError(f"column {name!r}: {part.examples[0]} is not a number; numeric "
                             "columns need numbers (force it categorical, or fix the data)")
        col.missing += part.missing
        col.nan += part.nan
        col.inf += part.inf
        col.invalid += part.invalid
        col.examples = tuple(dict.fromkeys(col.examples + part.examples))[:3]
        col.count += len(values) - part.missing
        col.widen(part.dtype)
        col.add_finite(part.finite, self.exact_cap, self.sketch_k)

    def merge(self, other: ProfileBuilder) -> None:
        """Fold another builder's rows into this one (rows are appended after ours)."""
        for name, theirs in other._cols.items():
            mine = self._cols.get(name)
            if mine is None:
                mine = self._cols[name] = _Column(theirs.kind)
                mine.missing += self.rows
            if mine.kind is None:
                mine.kind = theirs.kind
            elif theirs.kind is not None and theirs.kind is not mine.kind:
                raise ValueError(f"ProfileBuilder.merge: column {name!r} is {mine.kind} "
                                 f"here but {theirs.kind} in the other builder")
            _merge_column(mine, theirs, self.exact_cap, self.sketch_k)
        for name, mine in self._cols.items():
            if name not in other._cols:
                mine.missing += other.rows
        self.rows += other.rows

    def finish(self) -> BaselineProfile:
        """Return the profile of everything added so far."""
        features = {name: _feature(name, col) for name, col in self._cols.items()}
        return BaselineProfile(features=features, rows=self.rows, source=self.source,
                               created_at=self.created_at)


def _infer_kind(values: ColumnData) -> FeatureKind | None:
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else None
    if arr is not None:
        dtype = logical_dtype(arr.type)
    elif isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return FeatureKind.NUMERIC
    else:
        first = next((v for v in values if v is not None), None)
        if first is None:
            return None
        dtype = ("bool" if isinstance(first, bool | np.bool_) else
                 "float64" if isinstance(first, int | float | np.number) else "string")
    if dtype == "null":
        return None
    return FeatureKind.NUMERIC if dtype in ("int64", "float64") else FeatureKind.CATEGORICAL


def _merge_column(mine: _Column, theirs: _Column, cap: int, k: int) -> None:
    for attr in ("count", "missing", "nan", "inf", "invalid"):
        setattr(mine, attr, getattr(mine, attr) + getattr(theirs, attr))
    mine.examples = tuple(dict.fromkeys(mine.examples + theirs.examples))[:3]
    mine.widen(theirs.dtype)
    for key, n in theirs.categories.items():
        mine.categories[key] = mine.categories.get(key, 0) + n
    if theirs.finite_n:
        mine.add_moments(theirs.finite_n, theirs.mean, theirs.m2, theirs.minimum,
                         theirs.maximum)
        for part in theirs.finite:
            mine.keep(part, cap, k)
        if theirs.sketch is not None:
            if mine.sketch is None:
                mine.sketch = QuantileSketch(k=k)
                for part in mine.finite:
                    mine.sketch.update(part)
                mine.finite = []
            mine.sketch.merge(theirs.sketch)


def _feature(name: str, col: _Column) -> FeatureProfile:
    kind = col.kind or FeatureKind.NUMERIC
    if kind is FeatureKind.CATEGORICAL:
        cats = dict(sorted(col.categories.items(), key=lambda kv: (-kv[1], kv[0])))
        return FeatureProfile(name=name, kind=kind, dtype=col.dtype, count=col.count,
                              missing=col.missing, categories=cats)
    values: np.ndarray | None = None
    sketch = col.sketch.copy() if col.sketch is not None else None
    if sketch is None:
        values = (np.sort(np.concatenate(col.finite)) if col.finite
                  else np.empty(0, dtype=np.float64))
    n = col.finite_n
    return FeatureProfile(
        name=name, kind=kind, dtype=col.dtype, count=col.count, missing=col.missing,
        nan=col.nan, inf=col.inf, invalid=col.invalid, invalid_examples=col.examples,
        values=values, sketch=sketch,
        minimum=col.minimum if n else math.nan, maximum=col.maximum if n else math.nan,
        mean=col.mean if n else math.nan, std=math.sqrt(col.m2 / n) if n else math.nan)


def profile_columns(columns: Mapping[str, ColumnData], *, exact_cap: int = DEFAULT_EXACT_CAP,
                    categorical: Collection[str] = (), numeric: Collection[str] = (),
                    source: str = "", on_invalid: Literal["count", "raise"] = "count",
                    sketch_k: int = DEFAULT_K,
                    created_at: datetime | None = None) -> BaselineProfile:
    """Profile one batch of columns in one call (see :class:`ProfileBuilder`)."""
    builder = ProfileBuilder(exact_cap=exact_cap, categorical=categorical, numeric=numeric,
                             source=source, on_invalid=on_invalid, sketch_k=sketch_k,
                             created_at=created_at)
    builder.add(columns)
    return builder.finish()
