"""Rollups: raw samples summarised per series into 1m, 5m and 1h buckets, kept after raw is gone.

A bucket covers ``(end - step, end]``. Besides the counter increase and gauge statistics inside
the bucket it keeps its first and last sample (so growth across bucket edges can be stitched)
and running totals since the series' first rolled-up sample, so the summary of any run of
buckets, however long, comes from its first and last row.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, delete, func, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from monitor.core.matchers import Selector
from monitor.core.model import Labels
from monitor.core.time import to_epoch
from monitor.store.engine import Database
from monitor.store.tables import RollupProgressRow, RollupRow, SampleRow, SeriesRow

__all__ = [
    "ROLLUP_STEPS",
    "Coverage",
    "Rollup",
    "RollupStore",
    "SeriesSummary",
    "bucket_end",
    "rollup_children",
    "rollup_points",
    "span",
]

log = logging.getLogger(__name__)

ROLLUP_STEPS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(hours=1))
_ROLLUPS = RollupRow.metadata.tables[RollupRow.__tablename__]
_CHUNK_BUCKETS = 120  # buckets built per transaction, to bound memory on a first catch-up


def _growth(previous: float, current: float) -> float:
    """Counter growth between two consecutive samples; a drop is a reset to zero."""
    return current - previous if current >= previous else current


def bucket_end(ts: float, step: int) -> float:
    """Return the end of the ``step``-second bucket ``(end - step, end]`` holding *ts*.

    Examples
    --------
    >>> bucket_end(60.0, 60), bucket_end(60.5, 60)
    (60.0, 120.0)
    """
    k = math.ceil(ts / step)
    if (k - 1) * step >= ts:  # keep the float comparison SQL makes: end - step < ts <= end
        k -= 1
    elif k * step < ts:
        k += 1
    return float(k * step)


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesSummary:
    """The samples of one series over a stretch of time, as far as SLIs need them."""

    count: int
    total: float
    positive: int
    increase: float  # counter growth between the first and last sample, resets handled
    first_ts: float
    first_value: float
    last_ts: float
    last_value: float

    @classmethod
    def of(cls, points: Sequence[tuple[float, float]]) -> SeriesSummary:
        """Summarise *points* (``(unix_seconds, value)``, oldest first, at least one)."""
        values = [v for _, v in points]
        return cls(count=len(values), total=math.fsum(values),
                   positive=sum(1 for v in values if v > 0),
                   increase=sum(_growth(p, c) for p, c in zip(values, values[1:], strict=False)),
                   first_ts=points[0][0], first_value=values[0],
                   last_ts=points[-1][0], last_value=values[-1])

    def then(self, later: SeriesSummary) -> SeriesSummary:
        """Return the summary of these samples followed by *later*'s, stitching the edge."""
        return SeriesSummary(
            count=self.count + later.count, total=self.total + later.total,
            positive=self.positive + later.positive,
            increase=self.increase + _growth(self.last_value, later.first_value) + later.increase,
            first_ts=self.first_ts, first_value=self.first_value,
            last_ts=later.last_ts, last_value=later.last_value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rollup:
    """One bucket ``(end - step, end]`` of one series.

    ``stitch`` is the growth from the previous stored bucket's last sample to this bucket's
    first (0 for a series' first bucket); ``cum_*`` are running totals of the series' buckets
    of this step up to and including this one, stitches included.
    """

    series_id: int
    step: int
    end: float
    summary: SeriesSummary
    minimum: float
    maximum: float
    stitch: float
    cum_increase: float
    cum_count: int
    cum_total: float
    cum_positive: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    """Rollups of one step hold every complete bucket in ``(kept_from, done_until]``."""

    step: int
    kept_from: float
    done_until: float


def _next(series_id: int, step: int, end: float, summary: SeriesSummary, minimum: float,
          maximum: float, previous: Rollup | None, stitch: float | None = None) -> Rollup:
    if stitch is None:
        stitch = 0.0 if previous is None else _growth(previous.summary.last_value,
                                                      summary.first_value)
    base = (0.0, 0, 0.0, 0) if previous is None else (
        previous.cum_increase, previous.cum_count, previous.cum_total, previous.cum_positive)
    return Rollup(series_id=series_id, step=step, end=end, summary=summary, minimum=minimum,
                  maximum=maximum, stitch=stitch, cum_increase=base[0] + stitch + summary.increase,
                  cum_count=base[1] + summary.count, cum_total=base[2] + summary.total,
                  cum_positive=base[3] + summary.positive)


def rollup_points(series_id: int, points: Sequence[tuple[float, float]], step: int,
                  previous: Rollup | None = None) -> list[Rollup]:
    """Build the buckets of one series' raw *points* (oldest first).

    *previous* is the series' last bucket of this step before the first point, if any.
    """
    out: list[Rollup] = []
    for end, group in groupby(points, key=lambda p: bucket_end(p[0], step)):
        chunk = list(group)
        values = [v for _, v in chunk]
        previous = _next(series_id, step, end, SeriesSummary.of(chunk), min(values),
                         max(values), previous)
        out.append(previous)
    return out


def rollup_children(children: Sequence[Rollup], step: int) -> list[Rollup]:
    """Build *step* buckets from one series' finer buckets (oldest first).

    The result equals :func:`rollup_points` over the raw samples: a parent's stitch is its
    first child's and its running totals are its last child's.
    """
    out: list[Rollup] = []
    for end, group in groupby(children, key=lambda c: bucket_end(c.end, step)):
        kids = list(group)
        summary = kids[0].summary
        for kid in kids[1:]:
            summary = summary.then(kid.summary)
        last = kids[-1]
        out.append(Rollup(series_id=last.series_id, step=step, end=end, summary=summary,
                          minimum=min(k.minimum for k in kids),
                          maximum=max(k.maximum for k in kids), stitch=kids[0].stitch,
                          cum_increase=last.cum_increase, cum_count=last.cum_count,
                          cum_total=last.cum_total, cum_positive=last.cum_positive))
    return out


def span(first: Rollup, last: Rollup) -> SeriesSummary:
    """Return the summary of a series' buckets from *first* to *last* inclusive (same step).

    Two rows answer any run of buckets: the running totals of *last* less those before
    *first*.
    """
    return SeriesSummary(
        count=last.cum_count - first.cum_count + first.summary.count,
        total=last.cum_total - first.cum_total + first.summary.total,
        positive=last.cum_positive - first.cum_positive + first.summary.positive,
        increase=last.cum_increase - first.cum_increase + first.summary.increase,
        first_ts=first.summary.first_ts, first_value=first.summary.first_value,
        last_ts=last.summary.last_ts, last_value=last.summary.last_value)


def _row(rollup: Rollup) -> dict[str, float | int]:
    s = rollup.summary
    return {"series_id": rollup.series_id, "step": rollup.step, "end_ts": rollup.end,
            "sample_count": s.count, "total": s.total, "minimum": rollup.minimum,
            "maximum": rollup.maximum, "positive": s.positive, "increase": s.increase,
            "first_ts": s.first_ts, "first_value": s.first_value, "last_ts": s.last_ts,
            "last_value": s.last_value, "stitch": rollup.stitch,
            "cum_increase": rollup.cum_increase, "cum_count": rollup.cum_count,
            "cum_total": rollup.cum_total, "cum_positive": rollup.cum_positive}


def _rollup(row: Row[Any]) -> Rollup:
    return Rollup(series_id=row.series_id, step=row.step, end=row.end_ts,
                  summary=SeriesSummary(count=row.sample_count, total=row.total,
                                        positive=row.positive, increase=row.increase,
                                        first_ts=row.first_ts, first_value=row.first_value,
                                        last_ts=row.last_ts, last_value=row.last_value),
                  minimum=row.minimum, maximum=row.maximum, stitch=row.stitch,
                  cum_increase=row.cum_increase, cum_count=row.cum_count,
                  cum_total=row.cum_total, cum_positive=row.cum_positive)


def _plan(a: float, b: float,
          coverage: Sequence[Coverage]) -> list[tuple[int | None, float, float]]:
    """Split ``(a, b]`` into rollup spans ``(step, lo, hi)`` and raw spans ``(None, lo, hi)``.

    Picks the step that leaves the least time to raw samples, then covers what is left on
    either side the same way, so a 30d window reads two rows per series per step used.
    """
    best: tuple[float, int, float, float] | None = None
    for cov in sorted(coverage, key=lambda c: c.step):
        lo = max(float(math.ceil(a / cov.step) * cov.step), cov.kept_from)
        hi = min(float(math.floor(b / cov.step) * cov.step), cov.done_until)
        if lo < hi and (best is None or (lo - a) + (b - hi) < best[0]):
            best = ((lo - a) + (b - hi), cov.step, lo, hi)
    if best is None:
        return [(None, a, b)] if a < b else []
    _, step, lo, hi = best
    return [*_plan(a, lo, coverage), (step, lo, hi), *_plan(hi, b, coverage)]


def _select_series(session: Session, selector: Selector) -> dict[int, Labels]:
    rows = session.execute(select(SeriesRow.id, SeriesRow.labels)
                           .where(SeriesRow.metric == selector.metric))
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
        self.rows_read = 0  # raw samples and rollup rows read by summarize(), for measurements

    def summarize(self, selector: Selector, start: datetime, end: datetime, *,
                  include_start: bool = False) -> list[tuple[Labels, SeriesSummary]]:
        """Summarise each selected series' samples in ``(start, end]``.

        The window is answered by the rollups that fit it best (two rows per series and
        step, whatever its length) plus raw samples at its edges, and equals the summary of
        the raw samples wherever those still exist. With *include_start* a sample exactly at
        *start* is included too, as the baseline of a counter's growth.
        Series without samples in the window are left out.
        """
        a, b = to_epoch(start), to_epoch(end)
        with self.db.session() as session:
            series = _select_series(session, selector)
            if not series or b <= a:
                return []
            coverage = [Coverage(step=r.step, kept_from=r.kept_from, done_until=r.done_until)
                        for r in session.scalars(select(RollupProgressRow))]
            plan = _plan(a, b, coverage)
            pieces: dict[int, list[tuple[float, SeriesSummary]]] = {sid: [] for sid in series}
            for step, lo, hi in plan:
                if step is None:
                    continue
                for sid, (first, last) in self._edges(session, list(series), step, lo,
                                                      hi).items():
                    self.rows_read += 2
                    pieces[sid].append((first.summary.first_ts, span(first, last)))
            raw = [and_(SampleRow.ts > lo, SampleRow.ts <= hi) for step, lo, hi in plan
                   if step is None]
            if include_start and not self._add_start(session, series, coverage, a, pieces):
                raw.append(SampleRow.ts == a)
            self._add_raw(session, list(series), raw, pieces)
        out = []
        for sid, found in pieces.items():
            if found:
                found.sort(key=lambda piece: piece[0])
                summary = found[0][1]
                for _, later in found[1:]:
                    summary = summary.then(later)
                out.append((series[sid], summary))
        return out

    def _add_start(self, session: Session, series: Mapping[int, Labels],
                   coverage: Sequence[Coverage], a: float,
                   pieces: dict[int, list[tuple[float, SeriesSummary]]]) -> bool:
        """Take samples exactly at *a* from the buckets ending there, if rolled up."""
        step = next((c.step for c in sorted(coverage, key=lambda c: c.step)
                     if a % c.step == 0 and c.kept_from < a <= c.done_until), None)
        if step is None:
            return False
        for sid, (_, last) in self._edges(session, list(series), step, a - step, a).items():
            self.rows_read += 1
            if last.summary.last_ts == a:
                pieces[sid].append((a, SeriesSummary.of([(a, last.summary.last_value)])))
        return True

    def _add_raw(self, session: Session, series_ids: list[int],
                 ranges: list[ColumnElement[bool]],
                 pieces: dict[int, list[tuple[float, SeriesSummary]]]) -> None:
        if not ranges:
            return
        # one SELECT per range: with OR-ed ranges SQLite reads every sample of the series
        parts = [select(SampleRow.series_id, SampleRow.ts, SampleRow.value)
                 .where(SampleRow.series_id.in_(series_ids), where) for where in ranges]
        rows = sorted(session.execute(parts[0] if len(parts) == 1 else union_all(*parts)).all(),
                      key=lambda r: (r[0], r[1]))
        self.rows_read += len(rows)
        for sid, group in groupby(rows, key=lambda r: r[0]):
            points = [(ts, value) for _, ts, value in group]
            # a run of raw points ends where a rollup piece of the same series begins
            cuts = sorted(start for start, _ in pieces[sid])
            for _, run in groupby(points, key=lambda p: sum(1 for c in cuts if c <= p[0])):
                chunk = list(run)
                pieces[sid].append((chunk[0][0], SeriesSummary.of(chunk)))

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
        with self.db.session() as session:
            return self._edges(session, series_ids, step, start, end)

    def _edges(self, session: Session, series_ids: Sequence[int], step: int, start: float,
               end: float) -> dict[int, tuple[Rollup, Rollup]]:
        bounds = _bounds(session, step, series_ids, start, end, first=True, last=True)
        rows = _fetch(session, step, bounds)
        return {sid: (rows[(sid, lo)], rows[(sid, hi)]) for sid, (lo, hi) in bounds.items()}

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
        bounds = _bounds(session, step, series_ids, -math.inf, at, first=False, last=True)
        rows = _fetch(session, step, bounds)
        return {sid: rows[(sid, hi)] for sid, (_, hi) in bounds.items()}


def _bounds(session: Session, step: int, series_ids: Sequence[int], start: float, end: float,
            *, first: bool, last: bool) -> dict[int, tuple[float, float]]:
    """Each series' first and last *step* bucket end in ``(start, end]``, one query in all.

    A correlated ``ORDER BY ... LIMIT 1`` per series is one index seek on both databases;
    ``MIN``/``MAX`` over a range, joining the subquery, or fetching by
    ``(series_id, end_ts) IN (VALUES ...)`` made SQLite scan the step's rows instead.
    """
    if not series_ids:
        return {}
    inner = _ROLLUPS.alias("r2")
    wanted = [order for order, on in ((inner.c.end_ts.asc(), first),
                                      (inner.c.end_ts.desc(), last)) if on]
    columns = [select(inner.c.end_ts)
               .where(inner.c.series_id == SeriesRow.id, inner.c.step == step,
                      inner.c.end_ts > start, inner.c.end_ts <= end)
               .order_by(order).limit(1).scalar_subquery() for order in wanted]
    out = {}
    for sid, *ends in session.execute(select(SeriesRow.id, *columns)
                                      .where(SeriesRow.id.in_(series_ids))):
        if ends[0] is not None:
            out[sid] = (ends[0], ends[-1])
    return out


def _fetch(session: Session, step: int,
           bounds: Mapping[int, tuple[float, float]]) -> dict[tuple[int, float], Rollup]:
    """The buckets named by *bounds*, by primary key (a few extra rows are filtered out)."""
    if not bounds:
        return {}
    ends = {ts for pair in bounds.values() for ts in pair}
    rows = session.execute(select(_ROLLUPS).where(
        _ROLLUPS.c.series_id.in_(list(bounds)), _ROLLUPS.c.step == step,
        _ROLLUPS.c.end_ts.in_(ends)))
    return {(r.series_id, r.end_ts): _rollup(r) for r in rows
            if r.end_ts in bounds[r.series_id]}
