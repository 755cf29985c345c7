"""The store: tables, migrations and one repository per aggregate, on SQLite or PostgreSQL."""

from __future__ import annotations

from monitor.store.engine import Database, normalize_url
from monitor.store.samples import SampleStore, SeriesPoints, TargetStore, counter_increase

__all__ = [
    "Database",
    "SampleStore",
    "SeriesPoints",
    "TargetStore",
    "counter_increase",
    "normalize_url",
]
