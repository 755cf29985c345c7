"""The arithmetic of rollups: buckets, running totals, spans and window plans, without a database.

A bucket covers ``(end - step, end]``. Besides the counter increase and gauge statistics inside
the bucket it keeps its first and last sample (so growth across bucket edges can be stitched)
and running totals since the series' first rolled-up sample, so the summary of any run of
buckets, however long, comes from its first and last row.

A window is answered in two steps: :func:`plan_window` says which buckets (:func:`edge_keys`)
and raw ranges (:func:`raw_keys`) it needs, and once those are read :func:`assemble` joins
them into each series' summary.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

__all__ = [
    "BucketRow",
    "Coverage",
    "EdgeKey",
    "RawKey",
    "Rollup",
    "SeriesSummary",
    "Window",
    "WindowPlan",
    "assemble",
    "bucket_end",
    "combine",
    "edge_keys",
    "plan_window",
    "raw_keys",
    "rollup_children",
    "rollup_points",
    "row_span",
    "span",
]

_FIRST = itemgetter(0)


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
        increase, previous = 0.0, values[0]
        for value in values[1:]:  # growth of each sample over the one before, in order
            increase += value - previous if value >= previous else value
            previous = value
        return cls(count=len(values), total=math.fsum(values),
                   positive=sum(1 for v in values if v > 0), increase=increase,
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
          maximum: float, previous: Rollup | None) -> Rollup:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowPlan:
    """How to answer ``(start, end]`` (or ``[start, end]``) from rollups and raw samples.

    ``spans`` are the rollup runs ``(step, lo, hi)``: the buckets of *step* ending in
    ``(lo, hi]``, read as their first and last bucket. ``raw`` are the ranges ``(lo, hi]``
    left to raw samples. The sample exactly at *start*, when wanted, comes from the last
    bucket of ``start_step`` ending at *start* or, with ``start_step`` ``None``, from raw.
    """

    start: float
    end: float
    spans: tuple[tuple[int, float, float], ...] = ()
    raw: tuple[tuple[float, float], ...] = ()
    include_start: bool = False
    start_step: int | None = None


def _pieces(a: float, b: float,
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
    return [*_pieces(a, lo, coverage), (step, lo, hi), *_pieces(hi, b, coverage)]


def plan_window(start: float, end: float, coverage: Sequence[Coverage], *,
                include_start: bool = False) -> WindowPlan:
    """Return the plan answering ``(start, end]`` with the rollups *coverage* describes.

    With *include_start* the sample exactly at *start* is wanted too (a counter's
    baseline): from the finest step whose bucket ends there, if rolled up, else raw.
    """
    if start >= end:
        return WindowPlan(start=start, end=end)  # an empty window holds nothing
    pieces = _pieces(start, end, coverage)
    start_step = None
    if include_start:
        start_step = next((c.step for c in sorted(coverage, key=lambda c: c.step)
                           if start % c.step == 0 and c.kept_from < start <= c.done_until),
                          None)
    return WindowPlan(start=start, end=end, include_start=include_start, start_step=start_step,
                      spans=tuple((s, lo, hi) for s, lo, hi in pieces if s is not None),
                      raw=tuple((lo, hi) for s, lo, hi in pieces if s is None))


def combine(pieces: list[tuple[float, SeriesSummary]],
            points: Sequence[tuple[float, float]]) -> SeriesSummary | None:
    """Join one series' rollup *pieces* ``(first_ts, summary)`` and raw *points* in time order.

    Raw points (oldest first) are cut into runs where a rollup piece begins; ``None`` when
    there is nothing at all.
    """
    if not pieces:
        return SeriesSummary.of(points) if points else None
    found = list(pieces)
    if points:
        lo = 0
        for cut in sorted(bisect_left(points, start, key=_FIRST) for start, _ in pieces):
            if lo < cut:
                found.append((points[lo][0], SeriesSummary.of(points[lo:cut])))
                lo = cut
        if lo < len(points):
            found.append((points[lo][0], SeriesSummary.of(points[lo:])))
    if len(found) == 1:
        return found[0][1]
    found.sort(key=_FIRST)
    first = found[0][1]
    count, total, positive, increase = first.count, first.total, first.positive, first.increase
    previous = first
    for _, later in found[1:]:  # what SeriesSummary.then does, without the summaries between
        count, total = count + later.count, total + later.total
        positive = positive + later.positive
        increase = increase + _growth(previous.last_value, later.first_value) + later.increase
        previous = later
    return SeriesSummary(count=count, total=total, positive=positive, increase=increase,
                         first_ts=first.first_ts, first_value=first.first_value,
                         last_ts=previous.last_ts, last_value=previous.last_value)


EdgeKey = tuple[bool, int, float]  # (first after t, else last at or before t), step, t
RawKey = tuple[float, float, bool]  # samples in (lo, hi], or [lo, hi] when closed


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """A stretch ``(start, end]`` of unix seconds; ``[start, end]`` with *include_start*."""

    start: float
    end: float
    include_start: bool = False


class BucketRow(NamedTuple):
    """A stored rollup bucket as read for windows, in the table's column order."""

    series_id: int
    step: int
    end_ts: float
    sample_count: int
    total: float
    minimum: float
    maximum: float
    positive: int
    increase: float
    first_ts: float
    first_value: float
    last_ts: float
    last_value: float
    stitch: float
    cum_increase: float
    cum_count: int
    cum_total: float
    cum_positive: int


def edge_keys(plan: WindowPlan) -> list[EdgeKey]:
    """The buckets *plan* reads: the first and last of each rollup run, and its start's."""
    keys: list[EdgeKey] = []
    for step, lo, hi in plan.spans:
        keys += [(True, step, lo), (False, step, hi)]
    if plan.start_step is not None:
        keys.append((False, plan.start_step, plan.start))
    return keys


def raw_keys(plan: WindowPlan) -> list[RawKey]:
    """The raw ranges of *plan* in time order; the first closed when its start sample counts."""
    keys: list[RawKey] = [(lo, hi, False) for lo, hi in plan.raw]
    if plan.include_start and plan.start_step is None:
        if keys and keys[0][0] == plan.start:
            keys[0] = (plan.start, keys[0][1], True)
        else:
            keys.insert(0, (plan.start, plan.start, True))
    return keys


def assemble(plan: WindowPlan, series_ids: Iterable[int],
              edges: Mapping[EdgeKey, Mapping[int, BucketRow]],
              raw: Mapping[RawKey, Mapping[int, list[tuple[float, float]]]],
              ) -> dict[int, SeriesSummary]:
    """Summarise *plan*'s window for each series from the buckets and samples read.

    *edges* holds, per :data:`EdgeKey`, each series' bucket; *raw* per :data:`RawKey` each
    series' samples, oldest first. Series with nothing in the window are left out.
    """
    out = {}
    spans = [(edges[(True, step, lo)], edges[(False, step, hi)], hi)
             for step, lo, hi in plan.spans]
    runs = [raw[key] for key in raw_keys(plan)]
    starts = (edges[(False, plan.start_step, plan.start)] if plan.start_step is not None
              else None)
    for sid in series_ids:
        pieces = []
        for firsts, lasts, hi in spans:
            first, last = firsts.get(sid), lasts.get(sid)
            if first is not None and last is not None and first.end_ts <= hi:
                pieces.append((first.first_ts, row_span(first, last)))
        bucket = starts.get(sid) if starts is not None else None
        if bucket is not None and bucket.end_ts == plan.start and bucket.last_ts == plan.start:
            pieces.append((plan.start, SeriesSummary.of([(plan.start, bucket.last_value)])))
        points = [p for found in runs for p in found.get(sid, ())]
        summary = combine(pieces, points)
        if summary is not None:
            out[sid] = summary
    return out


def row_span(first: BucketRow, last: BucketRow) -> SeriesSummary:
    """:func:`span` of two bucket rows, without building :class:`Rollup` objects."""
    return SeriesSummary(
        count=last.cum_count - first.cum_count + first.sample_count,
        total=last.cum_total - first.cum_total + first.total,
        positive=last.cum_positive - first.cum_positive + first.positive,
        increase=last.cum_increase - first.cum_increase + first.increase,
        first_ts=first.first_ts, first_value=first.first_value,
        last_ts=last.last_ts, last_value=last.last_value)
