"""Rollups: raw samples summarised per series into 1m, 5m and 1h buckets, kept after raw is gone.

The bucket arithmetic lives in :mod:`monitor.store.rollup_math`; this module builds buckets
from the raw samples (:meth:`RollupStore.compact`) and answers windows from them. Any
number of windows over any series is answered in a handful of queries
(:meth:`RollupStore.summarize_many`): the first and last bucket of each rollup run and the
raw samples at the window edges are read for all of them at once.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Row,
    Select,
    and_,
    delete,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from monitor.core.matchers import Selector
from monitor.core.model import Labels
from monitor.core.time import to_epoch
from monitor.store.engine import Database
from monitor.store.rollup_math import (
    BucketRow,
    Coverage,
    EdgeKey,
    RawKey,
    Rollup,
    SeriesSummary,
    Window,
    assemble,
    bucket_end,
    edge_keys,
    plan_window,
    raw_keys,
    rollup_children,
    rollup_points,
    span,
)
from monitor.store.tables import RollupProgressRow, RollupRow, SampleRow, SeriesRow

__all__ = [
    "ROLLUP_STEPS",
    "Coverage",
    "Rollup",
    "RollupStore",
    "SeriesSummary",
    "StoredSeries",
    "Window",
    "bucket_end",
    "rollup_children",
    "rollup_points",
    "span",
]

log = logging.getLogger(__name__)

ROLLUP_STEPS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(hours=1))
_ROLLUPS = RollupRow.metadata.tables[RollupRow.__tablename__]
_SERIES = SeriesRow.metadata.tables[SeriesRow.__tablename__]
_SAMPLES = SampleRow.metadata.tables[SampleRow.__tablename__]
_CHUNK_BUCKETS = 120  # buckets built per transaction, to bound memory on a first catch-up
_IDS_PER_SELECT = 5000  # series ids per SELECT; rendered inline, so no bound-variable limit
_SELECTS_PER_QUERY = 200  # SELECTs per UNION ALL: under 999 bound values on any SQLite

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSeries:
    """One stored series: its id, metric name and labels."""

    id: int
    metric: str
    labels: Labels


def _row(rollup: Rollup) -> dict[str, float | int]:
    s = rollup.summary
    return {"series_id": rollup.series_id, "step": rollup.step, "end_ts": rollup.end,
            "sample_count": s.count, "total": s.total, "minimum": rollup.minimum,
            "maximum": rollup.maximum, "positive": s.positive, "increase": s.increase,
            "first_ts": s.first_ts, "first_value": s.first_value, "last_ts": s.last_ts,
            "last_value": s.last_value, "stitch": rollup.stitch,
            "cum_increase": rollup.cum_increase, "cum_count": rollup.cum_count,
            "cum_total": rollup.cum_total, "cum_positive": rollup.cum_positive}


def _rollup(row: Row[Any] | BucketRow) -> Rollup:
    return Rollup(series_id=row.series_id, step=row.step, end=row.end_ts,
                  summary=SeriesSummary(count=row.sample_count, total=row.total,
                                        positive=row.positive, increase=row.increase,
                                        first_ts=row.first_ts, first_value=row.first_value,
                                        last_ts=row.last_ts, last_value=row.last_value),
                  minimum=row.minimum, maximum=row.maximum, stitch=row.stitch,
                  cum_increase=row.cum_increase, cum_count=row.cum_count,
                  cum_total=row.cum_total, cum_positive=row.cum_positive)


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


@lru_cache(maxsize=64)
def _id_list(ids: tuple[int, ...]) -> str:
    return "(" + ",".join(str(int(i)) for i in ids) + ")"


def _ids_in(column: ColumnElement[int], ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN (ids)`` with the ids written into the SQL once, not bound one by one.

    Only ints are written (``int()`` of each), so nothing else can reach the SQL text; the
    text of one id set is rendered once however many SELECTs use it.
    """
    return column.op("IN", return_type=Boolean)(literal_column(_id_list(tuple(ids))))


def _fetch_tuples(session: Session, selects: Sequence[Select[Any]]) -> list[tuple[Any, ...]]:
    """Run *selects* joined by ``UNION ALL``; return plain tuples from the driver's cursor.

    Only for columns that need no conversion (numbers): it skips building a ``Row`` per
    row, a third of the cost of reading tens of thousands of them.
    """
    result = session.connection().execute(selects[0] if len(selects) == 1
                                          else union_all(*selects))
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _select_series(session: Session, selector: Selector) -> dict[int, Labels]:
    rows = session.execute(select(SeriesRow.id, SeriesRow.labels)
                           .where(SeriesRow.metric == selector.metric).order_by(SeriesRow.id))
    found = {sid: Labels(json.loads(text)) for sid, text in rows}
    return {sid: labels for sid, labels in found.items()
            if selector.matches(selector.metric, labels)}


class RollupStore:
    """Build rollups from raw samples and read them back.

    Parameters
    ----------
    db
        The database holding the raw samples.
    steps
        Bucket widths, finest first; each must divide the next. The finest is built from raw
        samples, each coarser one from the one before it.
    settle
        How long after a bucket ends before it is rolled up, so samples of a slow scrape
        (stamped at its start, written at its end) land before their bucket is closed.
        A sample written later than that into an already rolled-up bucket is not counted
        in the rollups; the raw samples still have it.
    """

    def __init__(self, db: Database, *, steps: Sequence[timedelta] = ROLLUP_STEPS,
                 settle: timedelta = timedelta(minutes=1)) -> None:
        seconds = [int(s.total_seconds()) for s in steps]
        if not seconds or any(s <= 0 or s != t.total_seconds() for s, t in zip(seconds, steps,
                                                                                 strict=True)):
            raise ValueError(f"steps must be whole positive seconds, got {list(steps)}")
        for finer, coarser in zip(seconds, seconds[1:], strict=False):
            if coarser <= finer or coarser % finer:
                raise ValueError(f"each step must divide the next, got {finer}s then {coarser}s")
        if settle < timedelta(0):
            raise ValueError(f"settle must be >= 0, got {settle}")
        self.db = db
        self.steps: tuple[int, ...] = tuple(seconds)
        self.settle = settle
        self.rows_read = 0  # raw samples and rollup rows read for windows, for measurements

    def summarize(self, selector: Selector, start: datetime, end: datetime, *,
                  include_start: bool = False) -> list[tuple[Labels, SeriesSummary]]:
        """Summarise each selected series' samples in ``(start, end]``, by series id.

        The window is answered by the rollups that fit it best (two rows per series and
        step, whatever its length) plus raw samples at its edges, and equals the summary of
        the raw samples wherever those still exist. With *include_start* a sample exactly at
        *start* is included too, as the baseline of a counter's growth.
        Series without samples in the window are left out.
        """
        window = Window(start=to_epoch(start), end=to_epoch(end), include_start=include_start)
        with self.db.session() as session:
            series = _select_series(session, selector)
            if not series:
                return []
            found = self._summarize(session, {window: list(series)})[window]
        return [(labels, found[sid]) for sid, labels in series.items() if sid in found]

    def series(self, metrics: Iterable[str]) -> list[StoredSeries]:
        """Return every stored series of *metrics*, by id, in one query."""
        names = sorted(set(metrics))
        if not names:
            return []
        with self.db.session() as session:
            rows = session.execute(select(SeriesRow.id, SeriesRow.metric, SeriesRow.labels)
                                   .where(SeriesRow.metric.in_(names)).order_by(SeriesRow.id))
            return [StoredSeries(id=sid, metric=metric, labels=Labels(json.loads(text)))
                    for sid, metric, text in rows]

    def summarize_many(self, wanted: Mapping[Window, Collection[int]],
                       ) -> dict[Window, dict[int, SeriesSummary]]:
        """Summarise each window for its series ids, every window in a few queries.

        Each result equals what :meth:`summarize` gives for that window and series; series
        without samples in a window are left out of its mapping. The queries read, for
        every rollup step and window edge, one bucket per series (however many windows share
        the edge), and the raw samples at the edges.
        """
        with self.db.session() as session:
            return self._summarize(session, wanted)

    def _summarize(self, session: Session, wanted: Mapping[Window, Collection[int]],
                   ) -> dict[Window, dict[int, SeriesSummary]]:
        coverage = [Coverage(step=r.step, kept_from=r.kept_from, done_until=r.done_until)
                    for r in session.scalars(select(RollupProgressRow))]
        plans = {w: plan_window(w.start, w.end, coverage, include_start=w.include_start)
                 for w, ids in wanted.items() if ids}
        edge_needs: dict[EdgeKey, set[int]] = {}
        raw_needs: dict[RawKey, set[int]] = {}
        for window, plan in plans.items():
            ids = wanted[window]
            for key in edge_keys(plan):
                edge_needs.setdefault(key, set()).update(ids)
            for r in raw_keys(plan):
                raw_needs.setdefault(r, set()).update(ids)
        edges = self._read_edges(session, edge_needs)
        raw = self._read_raw(session, raw_needs)
        self.rows_read += (sum(len(found) for found in edges.values())
                           + sum(len(p) for found in raw.values() for p in found.values()))
        out: dict[Window, dict[int, SeriesSummary]] = {w: {} for w in wanted}
        for window, plan in plans.items():
            out[window] = assemble(plan, wanted[window], edges, raw)
        return out

    def _read_edges(self, session: Session, needs: Mapping[EdgeKey, Collection[int]],
                    ) -> dict[EdgeKey, dict[int, BucketRow]]:
        """Read each key's bucket for its series: few queries, one index seek per bucket."""
        keys = list(needs)
        selects = [_edge_select(index, key, chunk, sqlite=self.db.is_sqlite)
                   for index, key in enumerate(keys)
                   for chunk in _chunks(sorted(needs[key]), _IDS_PER_SELECT)]
        out: dict[EdgeKey, dict[int, BucketRow]] = {key: {} for key in keys}
        for part in _chunks(selects, _SELECTS_PER_QUERY):
            for k, *values in _fetch_tuples(session, part):
                edge = BucketRow._make(values)
                out[keys[k]][edge.series_id] = edge
        return out

    @staticmethod
    def _read_raw(session: Session, needs: Mapping[RawKey, Collection[int]],
                  ) -> dict[RawKey, dict[int, list[tuple[float, float]]]]:
        """Read the raw samples of each range for its series, oldest first."""
        keys = list(needs)
        selects = []
        for index, (lo, hi, closed) in enumerate(keys):
            c = _SAMPLES.c
            where = and_(c.ts >= lo if closed else c.ts > lo, c.ts <= hi)
            # one SELECT per range: with OR-ed ranges SQLite reads every sample of the series
            selects += [select(literal_column(str(index), Integer).label("k"), c.series_id, c.ts,
                               c.value).where(_ids_in(c.series_id, chunk), where)
                        for chunk in _chunks(sorted(needs[(lo, hi, closed)]),
                                             _IDS_PER_SELECT)]
        out: dict[RawKey, dict[int, list[tuple[float, float]]]] = {key: {} for key in keys}
        for part in _chunks(selects, _SELECTS_PER_QUERY):
            for k, sid, ts, value in _fetch_tuples(session, part):
                out[keys[k]].setdefault(sid, []).append((ts, value))
        for by_series in out.values():
            for points in by_series.values():
                points.sort()
        return out

    def compact(self, until: datetime) -> int:
        """Roll up every complete bucket ending by ``until - settle`` not yet rolled up.

        Idempotent, and cheap when run every evaluation interval: each step resumes where
        the last run stopped. Returns the number of buckets written.
        """
        limit = to_epoch(until - self.settle)
        written = 0
        for index, step in enumerate(self.steps):
            written += self._compact_step(index, step, limit)
        return written

    def coverage(self) -> dict[int, Coverage]:
        """Return, per step in seconds, the range its rollups hold completely."""
        with self.db.session() as session:
            rows = session.scalars(select(RollupProgressRow)).all()
            return {r.step: Coverage(step=r.step, kept_from=r.kept_from,
                                     done_until=r.done_until) for r in rows}

    def select(self, series_ids: Iterable[int], step: int, start: float,
               end: float) -> list[Rollup]:
        """Return the *step* buckets of *series_ids* ending in ``(start, end]``, by series, time."""
        with self.db.session() as session:
            rows = session.execute(
                select(_ROLLUPS).where(_ROLLUPS.c.series_id.in_(list(series_ids)),
                                       _ROLLUPS.c.step == step, _ROLLUPS.c.end_ts > start,
                                       _ROLLUPS.c.end_ts <= end)
                .order_by(_ROLLUPS.c.series_id, _ROLLUPS.c.end_ts))
            return [_rollup(r) for r in rows]

    def edges(self, series_ids: Sequence[int], step: int, start: float,
              end: float) -> dict[int, tuple[Rollup, Rollup]]:
        """Return each series' first and last *step* bucket ending in ``(start, end]``.

        Two index look-ups per series, whatever the length of the range; :func:`span`
        turns the pair into the summary of every bucket between them.
        """
        if not series_ids:
            return {}
        first, last = (True, step, start), (False, step, end)
        with self.db.session() as session:
            got = self._read_edges(session, {first: series_ids, last: series_ids})
        return {sid: (_rollup(row), _rollup(got[last][sid])) for sid, row in got[first].items()
                if row.end_ts <= end and sid in got[last]}

    def delete_before(self, cutoff: datetime, *, step: timedelta) -> int:
        """Drop *step* buckets ending at or before *cutoff*; return how many."""
        seconds = int(step.total_seconds())
        if seconds not in self.steps:
            raise ValueError(f"no rollup step of {step}; steps are "
                             f"{', '.join(f'{s}s' for s in self.steps)}")
        edge = bucket_end(to_epoch(cutoff), seconds)
        edge = edge if edge <= to_epoch(cutoff) else edge - seconds
        with self.db.session() as session:
            result = session.execute(delete(RollupRow).where(RollupRow.step == seconds,
                                                             RollupRow.end_ts <= edge))
            progress = session.get(RollupProgressRow, seconds)
            if progress is not None and progress.kept_from < edge:
                progress.kept_from = min(edge, progress.done_until)
            return int(getattr(result, "rowcount", 0) or 0)

    # -- compaction ------------------------------------------------------------------------
    def _compact_step(self, index: int, step: int, limit: float) -> int:
        written = 0
        while True:
            with self.db.session() as session:
                progress = session.get(RollupProgressRow, step)
                lo = self._resume(session, index, step, progress)
                hi = self._ceiling(session, index, step, limit)
                if lo is None or hi is None or hi <= lo:
                    return written
                lo = self._skip_empty(session, index, step, lo, hi)
                chunk_hi = min(hi, lo + _CHUNK_BUCKETS * step)
                rollups = list(self._build(session, index, step, lo, chunk_hi))
                if rollups:
                    insert = pg_insert if not self.db.is_sqlite else sqlite_insert
                    session.execute(insert(_ROLLUPS).on_conflict_do_nothing(
                        index_elements=["series_id", "step", "end_ts"]),
                        [_row(r) for r in rollups])
                if progress is None:
                    session.add(RollupProgressRow(step=step, kept_from=lo, done_until=chunk_hi))
                else:
                    progress.done_until = chunk_hi
                written += len(rollups)
                log.debug("rolled up %d buckets of %ss in (%s, %s]", len(rollups), step, lo,
                          chunk_hi)
                if chunk_hi >= hi:
                    return written

    def _source_step(self, index: int) -> int | None:
        return None if index == 0 else self.steps[index - 1]

    def _resume(self, session: Session, index: int, step: int,
                progress: RollupProgressRow | None) -> float | None:
        if progress is not None:
            return progress.done_until
        finer = self._source_step(index)
        if finer is None:
            first = session.execute(select(func.min(SampleRow.ts))).scalar()
        else:
            first = session.execute(select(func.min(RollupRow.end_ts))
                                    .where(RollupRow.step == finer)).scalar()
        return None if first is None else bucket_end(first, step) - step

    def _ceiling(self, session: Session, index: int, step: int, limit: float) -> float | None:
        finer = self._source_step(index)
        if finer is not None:
            done = session.get(RollupProgressRow, finer)
            if done is None:
                return None
            limit = min(limit, done.done_until)
        return math.floor(limit / step) * float(step)

    def _skip_empty(self, session: Session, index: int, step: int, lo: float,
                    hi: float) -> float:
        finer = self._source_step(index)
        if finer is None:
            nxt = session.execute(select(func.min(SampleRow.ts)).where(SampleRow.ts > lo))
        else:
            nxt = session.execute(select(func.min(RollupRow.end_ts))
                                  .where(RollupRow.step == finer, RollupRow.end_ts > lo))
        first = nxt.scalar()
        if first is None or first > hi:
            return max(lo, math.floor(hi / step) * float(step) - _CHUNK_BUCKETS * step)
        return max(lo, bucket_end(first, step) - step)

    def _build(self, session: Session, index: int, step: int, lo: float,
               hi: float) -> Iterator[Rollup]:
        finer = self._source_step(index)
        if finer is None:
            rows = session.execute(
                select(SampleRow.series_id, SampleRow.ts, SampleRow.value)
                .where(SampleRow.ts > lo, SampleRow.ts <= hi)
                .order_by(SampleRow.series_id, SampleRow.ts)).all()
            by_series = {sid: [(ts, v) for _, ts, v in group]
                         for sid, group in groupby(rows, key=lambda r: r[0])}
            previous = self._latest(session, step, list(by_series), lo)
            for sid, points in by_series.items():
                yield from rollup_points(sid, points, step, previous.get(sid))
            return
        children = session.execute(
            select(_ROLLUPS).where(_ROLLUPS.c.step == finer, _ROLLUPS.c.end_ts > lo,
                                   _ROLLUPS.c.end_ts <= hi)
            .order_by(_ROLLUPS.c.series_id, _ROLLUPS.c.end_ts)).all()
        for _, group in groupby((_rollup(c) for c in children), key=lambda c: c.series_id):
            yield from rollup_children(list(group), step)

    def _latest(self, session: Session, step: int, series_ids: Sequence[int],
                at: float) -> Mapping[int, Rollup]:
        """Each series' last *step* bucket ending at or before *at*."""
        if not series_ids:
            return {}
        key = (False, step, at)
        return {sid: _rollup(row) for sid, row in
                self._read_edges(session, {key: series_ids})[key].items()}


def _edge_select(index: int, key: EdgeKey, series_ids: Sequence[int], *,
                 sqlite: bool) -> Select[Any]:
    """One bucket per series: the first ending after ``t``, or the last ending at or before.

    A correlated ``ORDER BY ... LIMIT 1`` per series is one index seek on both databases,
    and the bucket is then fetched by key: its ``rowid`` on SQLite (joining on ``end_ts``
    made SQLite 3.40 take 50 times longer), its primary key on PostgreSQL. ``MIN``/``MAX``
    over a range or joining a derived table made SQLite scan the step's rows instead.
    """
    first, step, t = key
    inner = _ROLLUPS.alias("r2")
    edge = (select(literal_column("r2.rowid") if sqlite else inner.c.end_ts)
            .where(inner.c.series_id == _SERIES.c.id, inner.c.step == step,
                   inner.c.end_ts > t if first else inner.c.end_ts <= t)
            .order_by(inner.c.end_ts.asc() if first else inner.c.end_ts.desc())
            .limit(1).scalar_subquery())
    on = (literal_column(f"{_ROLLUPS.name}.rowid") == edge if sqlite else
          and_(_ROLLUPS.c.series_id == _SERIES.c.id, _ROLLUPS.c.step == step,
               _ROLLUPS.c.end_ts == edge))
    return (select(literal_column(str(index), Integer).label("k"),
                   *(_ROLLUPS.c[name] for name in BucketRow._fields))
            .select_from(_SERIES.join(_ROLLUPS, on))
            .where(_ids_in(_SERIES.c.id, series_ids)))


