"""Series and raw samples: write scrapes, read windows, compute counter increases."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from monitor.core.matchers import Selector
from monitor.core.model import Labels, Sample, TargetHealth
from monitor.core.time import from_epoch, to_epoch
from monitor.store.engine import Database
from monitor.store.tables import SampleRow, SeriesRow, TargetRow

__all__ = ["SampleStore", "SeriesPoints", "TargetStore", "counter_increase"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesPoints:
    """The samples of one series inside a window, oldest first, as ``(unix_seconds, value)``."""

    metric: str
    labels: Labels
    points: tuple[tuple[float, float], ...]


def counter_increase(values: Sequence[float]) -> float:
    """Return how much a counter grew over *values*, treating any drop as a reset to zero.

    Unlike Prometheus' ``increase()`` this does not extrapolate to the window edges:
    it is the exact growth between the first and last sample.

    Examples
    --------
    >>> counter_increase([10, 15, 3, 8])
    13.0
    """
    total = 0.0
    for prev, cur in zip(values, values[1:], strict=False):
        total += cur - prev if cur >= prev else cur
    return total


class SampleStore:
    """Write and read raw samples."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def write(self, samples: Iterable[Sample]) -> int:
        """Store *samples*; a second sample for the same series and time is ignored.

        NaN samples are skipped (they carry no value, and SQLite cannot store NaN).
        """
        rows: dict[tuple[int, float], float] = {}
        with self.db.session() as session:
            for sample in samples:
                if math.isnan(sample.value):
                    continue  # SQLite stores NaN as NULL; a NaN sample carries no value anyway
                series_id = self._series_id(session, sample.metric, sample.labels)
                rows[(series_id, to_epoch(sample.timestamp))] = sample.value
            if not rows:
                return 0
            values = [{"series_id": s, "ts": t, "value": v} for (s, t), v in rows.items()]
            insert = pg_insert if not self.db.is_sqlite else sqlite_insert
            stmt = insert(SampleRow).on_conflict_do_nothing(index_elements=["series_id", "ts"])
            session.execute(stmt, values)
        return len(rows)

    def _series_id(self, session: Session, metric: str, labels: Labels) -> int:
        fingerprint = labels.merged({"__name__": metric}).fingerprint()
        with self._lock:
            cached = self._ids.get(fingerprint)
        if cached is not None:
            return cached
        insert = pg_insert if not self.db.is_sqlite else sqlite_insert
        session.execute(insert(SeriesRow).values(
            metric=metric, labels=json.dumps(dict(labels), sort_keys=True),
            fingerprint=fingerprint).on_conflict_do_nothing(index_elements=["fingerprint"]))
        series_id = session.execute(
            select(SeriesRow.id).where(SeriesRow.fingerprint == fingerprint)).scalar_one()
        with self._lock:
            self._ids[fingerprint] = series_id
        return series_id

    def series(self, selector: Selector) -> list[Labels]:
        """Return the label sets of every stored series the selector matches, at any time."""
        with self.db.session() as session:
            rows = session.execute(select(SeriesRow.labels).where(
                SeriesRow.metric == selector.metric)).scalars()
            found = [Labels(json.loads(text)) for text in rows]
        return [labels for labels in found if selector.matches(selector.metric, labels)]

    def metrics(self) -> list[str]:
        """Return the names of every stored metric."""
        with self.db.session() as session:
            return sorted(session.execute(select(SeriesRow.metric).distinct()).scalars())

    def select(self, selector: Selector, start: datetime, end: datetime) -> list[SeriesPoints]:
        """Return every selected series with its samples in ``[start, end]``."""
        with self.db.session() as session:
            series = [
                (row.id, Labels(json.loads(row.labels)))
                for row in session.execute(
                    select(SeriesRow.id, SeriesRow.labels).where(
                        SeriesRow.metric == selector.metric))
            ]
            wanted = {sid: labels for sid, labels in series
                      if selector.matches(selector.metric, labels)}
            if not wanted:
                return []
            points: dict[int, list[tuple[float, float]]] = {sid: [] for sid in wanted}
            rows = session.execute(
                select(SampleRow.series_id, SampleRow.ts, SampleRow.value)
                .where(SampleRow.series_id.in_(wanted),
                       SampleRow.ts >= to_epoch(start), SampleRow.ts <= to_epoch(end))
                .order_by(SampleRow.series_id, SampleRow.ts))
            for sid, ts, value in rows:
                points[sid].append((ts, value))
        return [SeriesPoints(metric=selector.metric, labels=wanted[sid], points=tuple(p))
                for sid, p in points.items() if p]

    def increase(self, selector: Selector, window: timedelta,
                 at: datetime) -> list[tuple[Labels, float]]:
        """Return each selected counter's growth over ``(at - window, at]``.

        A series with fewer than two samples in the window contributes nothing: it has no
        measured growth yet.
        """
        out = []
        for series in self.select(selector, at - window, at):
            if len(series.points) >= 2:
                out.append((series.labels, counter_increase([v for _, v in series.points])))
        return out

    def latest(self, selector: Selector, at: datetime,
               lookback: timedelta = timedelta(minutes=5)) -> list[tuple[Labels, float]]:
        """Return each selected series' last value within *lookback* of *at*."""
        return [(s.labels, s.points[-1][1]) for s in self.select(selector, at - lookback, at)]

    def delete_before(self, cutoff: datetime) -> int:
        """Drop raw samples older than *cutoff*; return how many."""
        with self.db.session() as session:
            result = session.execute(delete(SampleRow).where(SampleRow.ts < to_epoch(cutoff)))
            return int(getattr(result, "rowcount", 0) or 0)


class TargetStore:
    """The last scrape outcome of every target."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, health: TargetHealth) -> None:
        """Store the outcome of a scrape, replacing the previous one."""
        with self.db.session() as session:
            row = session.get(TargetRow, health.name) or TargetRow(name=health.name)
            row.url, row.up = health.url, health.up
            row.last_scrape = to_epoch(health.last_scrape)
            row.duration_seconds = health.duration_seconds
            row.samples_scraped, row.last_error = health.samples_scraped, health.error
            session.add(row)

    def all(self) -> list[TargetHealth]:
        """Return the health of every target ever scraped, by name."""
        with self.db.session() as session:
            rows = session.scalars(select(TargetRow).order_by(TargetRow.name)).all()
            return [TargetHealth(name=r.name, url=r.url, up=r.up,
                                 last_scrape=from_epoch(r.last_scrape),
                                 duration_seconds=r.duration_seconds,
                                 samples_scraped=r.samples_scraped, error=r.last_error)
                    for r in rows]
