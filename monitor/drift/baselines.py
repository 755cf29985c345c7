"""Build a baseline profile from a feature store: parquet files, folders, URLs, Feast.

Sources are read with :mod:`pyarrow.dataset` one record batch at a time, so a baseline
larger than memory profiles in the memory of its sorted values (or sketch) alone:

* a parquet file, or a folder of them read recursively (hive ``key=value`` partitions
  become columns; a partition column is profiled only when named in ``features``);
* an fsspec URL (``s3://``, ``gs://``, ``memory://`` …), read through fsspec, which is
  imported only for such URLs (``file://`` URLs and plain paths need nothing extra);
* a Feast file offline store: a parquet source with entity columns, feature columns and
  an event timestamp column, cut to ``[start, end)``, entity and timestamp columns left out.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from monitor.drift.profile import BaselineProfile, ProfileBuilder

__all__ = ["DEFAULT_BATCH_ROWS", "Progress", "build_profile", "open_dataset",
           "read_feast_profile"]

Progress = Callable[[int, int | None], None]
DEFAULT_BATCH_ROWS = 131_072
_EXACT_CAP = 2_000_000


def open_dataset(source: str | Path) -> ds.Dataset:
    """Open a parquet file, folder or URL as a dataset (hive partitions discovered).

    Raises
    ------
    FileNotFoundError
        The local path does not exist, or the URL matches nothing.
    ImportError
        The URL needs fsspec and it is not installed.
    ValueError
        The files are not parquet.
    """
    text = str(source)
    filesystem: Any = None
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme == "file":
        text = text.split("://", 1)[1]
    elif scheme:
        filesystem, text = _fsspec(text, scheme)
    if filesystem is None and not Path(text).exists():
        raise FileNotFoundError(f"baseline {source} does not exist; give a parquet file, a "
                                "folder of parquet files or an fsspec URL")
    try:
        dataset = ds.dataset(text, format="parquet", partitioning="hive",
                             filesystem=filesystem)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"baseline {source} does not exist ({exc})") from exc
    except pa.ArrowInvalid as exc:
        raise ValueError(f"baseline {source} is not readable parquet: {exc}") from exc
    if isinstance(dataset, ds.FileSystemDataset) and not dataset.files:
        raise FileNotFoundError(f"baseline {source} holds no parquet file")
    return dataset


def _fsspec(url: str, scheme: str) -> tuple[Any, str]:
    """Return the fsspec filesystem and path of *url*, importing fsspec only now."""
    try:
        fsspec = importlib.import_module("fsspec")
    except ImportError:
        raise ImportError(f"reading the baseline {url} needs fsspec (and the filesystem "
                          f"package for {scheme}://, e.g. s3fs for s3://): pip install "
                          "fsspec") from None
    try:
        filesystem, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise ImportError(f"reading the baseline {url}: {exc}") from exc
    return filesystem, str(path)


def build_profile(source: str | Path, *, features: Sequence[str] | None = None,
                  categorical: Collection[str] = (), numeric: Collection[str] = (),
                  exact_cap: int = _EXACT_CAP, batch_rows: int = DEFAULT_BATCH_ROWS,
                  on_progress: Progress | None = None) -> BaselineProfile:
    """Profile a parquet file, folder or URL, batch by batch.

    Parameters
    ----------
    source
        A parquet file, a folder of them, or an fsspec URL.
    features
        Columns to profile; ``None`` or empty profiles every data column (not partitions).
    categorical, numeric
        Columns whose kind is forced instead of inferred.
    exact_cap
        Past this many values a numeric feature keeps a quantile sketch.
    on_progress
        Called with ``(rows_done, rows_total)`` after each batch.

    Raises
    ------
    FileNotFoundError, ImportError
        See :func:`open_dataset`.
    ValueError
        A named feature column does not exist (the message lists those that do).
    """
    dataset = open_dataset(source)
    columns = _columns(dataset, source, features)
    return _profile(dataset, columns, None, str(source), categorical=categorical,
                    numeric=numeric, exact_cap=exact_cap, batch_rows=batch_rows,
                    on_progress=on_progress)


def read_feast_profile(source: str | Path, *, features: Sequence[str] = (),
                       entity_columns: Sequence[str] = (),
                       timestamp_column: str = "event_timestamp",
                       created_timestamp_column: str = "",
                       start: datetime | None = None, end: datetime | None = None,
                       categorical: Collection[str] = (), numeric: Collection[str] = (),
                       exact_cap: int = _EXACT_CAP, batch_rows: int = DEFAULT_BATCH_ROWS,
                       on_progress: Progress | None = None) -> BaselineProfile:
    """Profile the feature columns of a Feast file source over ``[start, end)``.

    Parameters
    ----------
    features
        Feature columns; empty means every column but entities and timestamps.
    entity_columns
        Join keys (``customer_id`` …), never profiled.
    timestamp_column
        The event timestamp the time range applies to (a naive one is UTC).
    created_timestamp_column
        Feast's optional ingestion timestamp, never profiled.

    Raises
    ------
    ValueError
        No timestamp column, a feature that is missing or is an entity column, or
        ``end`` not after ``start``.
    """
    dataset = open_dataset(source)
    names = dataset.schema.names
    if timestamp_column not in names:
        raise ValueError(f"Feast source {source} has no {timestamp_column!r} column; set "
                         f"timestamp_column to one of: {', '.join(names)}")
    ts_type = dataset.schema.field(timestamp_column).type
    if not pa.types.is_timestamp(ts_type):
        raise ValueError(f"Feast source {source}: column {timestamp_column!r} is {ts_type}, "
                         "not a timestamp")
    entities = set(entity_columns)
    for entity in entity_columns:
        if entity not in names:
            raise ValueError(f"Feast source {source} has no entity column {entity!r}; "
                             f"columns: {', '.join(names)}")
    overlap = sorted(entities.intersection(features))
    if overlap:
        raise ValueError(f"Feast source {source}: {', '.join(overlap)} named both as "
                         "feature and entity column; entity columns are never profiled")
    skip = entities | {timestamp_column, created_timestamp_column}
    columns = _columns(dataset, source, list(features) or None, skip=skip)
    where = _time_filter(timestamp_column, ts_type, start, end)
    return _profile(dataset, columns, where, str(source), categorical=categorical,
                    numeric=numeric, exact_cap=exact_cap, batch_rows=batch_rows,
                    on_progress=on_progress)


def _columns(dataset: ds.Dataset, source: str | Path, features: Sequence[str] | None,
             skip: Collection[str] = ()) -> list[str]:
    """Return the columns to profile, checking that every named one exists."""
    names = dataset.schema.names
    if features:
        missing = [f for f in features if f not in names]
        if missing:
            raise ValueError(f"baseline {source}: feature column(s) {', '.join(missing)} not "
                             f"found; columns: {', '.join(names)}")
        return list(dict.fromkeys(features))
    partitions = set(_partition_names(dataset))
    return [n for n in names if n not in partitions and n not in skip]


def _partition_names(dataset: ds.Dataset) -> list[str]:
    """Return the columns that come from hive folder names, not from the files."""
    fragment = next(iter(dataset.get_fragments()), None)
    if fragment is None:
        return []
    physical = set(fragment.physical_schema.names)
    return [n for n in dataset.schema.names if n not in physical]


def _time_filter(column: str, ts_type: pa.DataType, start: datetime | None,
                 end: datetime | None) -> ds.Expression | None:
    if start is not None and end is not None and _utc(end) <= _utc(start):
        raise ValueError(f"Feast time range end {end.isoformat()} must be after start "
                         f"{start.isoformat()}")
    naive = getattr(ts_type, "tz", None) is None

    def bound(moment: datetime) -> pa.Scalar:
        value = _utc(moment).replace(tzinfo=None) if naive else _utc(moment)
        return pa.scalar(value, type=ts_type)

    where: ds.Expression | None = None
    if start is not None:
        where = ds.field(column) >= bound(start)
    if end is not None:
        upper = ds.field(column) < bound(end)
        where = upper if where is None else where & upper
    return where


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _profile(dataset: ds.Dataset, columns: list[str], where: ds.Expression | None,
             source: str, *, categorical: Collection[str], numeric: Collection[str],
             exact_cap: int, batch_rows: int,
             on_progress: Progress | None) -> BaselineProfile:
    """Feed the dataset's record batches to a :class:`ProfileBuilder`."""
    builder = ProfileBuilder(exact_cap=exact_cap, categorical=categorical, numeric=numeric,
                             columns=columns, source=source, on_invalid="raise")
    total: int | None = None
    if on_progress is not None:
        total = dataset.count_rows(filter=where)
        on_progress(0, total)
    done = 0
    for batch in dataset.to_batches(columns=columns, filter=where, batch_size=batch_rows):
        if batch.num_rows == 0:
            continue
        try:
            builder.add_table(batch)
        except ValueError as exc:
            raise ValueError(f"baseline {source}: {exc}") from exc
        done += batch.num_rows
        if on_progress is not None:
            on_progress(done, total)
    return builder.finish()
