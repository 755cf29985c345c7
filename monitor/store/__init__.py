"""The store: tables, migrations and one repository per aggregate, on SQLite or PostgreSQL."""

from __future__ import annotations

from monitor.store.engine import Database, normalize_url
from monitor.store.rollups import (
    ROLLUP_STEPS,
    Coverage,
    Rollup,
    RollupStore,
    SeriesSummary,
    bucket_end,
    rollup_children,
    rollup_points,
    span,
)
from monitor.store.samples import SampleStore, SeriesPoints, TargetStore, counter_increase

__all__ = [
    "ROLLUP_STEPS",
    "Coverage",
    "Database",
    "Rollup",
    "RollupStore",
    "SampleStore",
    "SeriesPoints",
    "SeriesSummary",
    "TargetStore",
    "bucket_end",
    "counter_increase",
    "normalize_url",
    "rollup_children",
    "rollup_points",
    "span",
]
