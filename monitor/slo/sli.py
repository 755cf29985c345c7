"""Where SLIs read their numbers: the ``SLISource`` protocol and the built-in store source.

A source answers three questions about the series a selector picks over a window ending at a
moment: how much their counters grew, what their gauge samples were, and which values a label
takes. Turning an SLI kind into good and total events is the evaluator's business.

A source may also implement :class:`BatchingSLISource`: the evaluator then announces, once per
tick, every question it is about to ask (:meth:`~BatchingSLISource.prepare`), so the source
can read everything in a few queries and answer the questions themselves from memory.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from monitor.core.errors import WatchkeeperError
from monitor.core.matchers import MatchOp, Selector
from monitor.core.model import Labels
from monitor.core.time import to_epoch
from monitor.store.rollups import RollupStore, SeriesSummary, StoredSeries, Window
from monitor.store.samples import SampleStore

__all__ = [
    "BatchingSLISource",
    "GaugeStats",
    "SLIQuery",
    "SLIRequest",
    "SLISource",
    "SLISourceError",
    "StoreSLISource",
]

log = logging.getLogger(__name__)

_Key = tuple[timedelta, datetime, bool]  # a window, where it ends, whether its start counts


class SLISourceError(WatchkeeperError):
    """An SLI source could not answer (Prometheus unreachable or refusing a query)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GaugeStats:
    """The gauge samples of every selected series in a window."""

    count: int  # samples in the window
    total: float  # sum of their values
    positive: int  # samples with value > 0

    def __post_init__(self) -> None:
        if self.count < 0 or not 0 <= self.positive <= self.count:
            raise ValueError(f"need 0 <= positive <= count, got positive={self.positive} "
                             f"count={self.count}")


@runtime_checkable
class SLISource(Protocol):
    """Read counters and gauges of selected series over a window ``(at - window, at]``."""

    def increase(self, selector: Selector, window: timedelta, at: datetime) -> float | None:
        """Return the summed counter growth of every selected series over the window.

        ``None`` means no data: no selected series has a measurable growth in the window.
        """
        ...

    def gauge(self, selector: Selector, window: timedelta, at: datetime) -> GaugeStats | None:
        """Return the samples of every selected gauge in the window; ``None`` if none."""
        ...

    def label_values(self, selector: Selector, label: str, window: timedelta,
                     at: datetime) -> set[str]:
        """Return the non-empty values of *label* on selected series with data in the window."""
        ...


class SLIQuery(StrEnum):
    """Which :class:`SLISource` method a request will be asked through."""

    INCREASE = "increase"
    GAUGE = "gauge"
    LABEL_VALUES = "label_values"


@dataclass(frozen=True, slots=True, kw_only=True)
class SLIRequest:
    """One question an evaluation tick is about to ask: *query* of *selector* over *window*.

    ``end`` is where the window ends; ``None`` is the tick's moment (timeslices end earlier).
    """

    selector: Selector
    window: timedelta
    query: SLIQuery = SLIQuery.INCREASE
    end: datetime | None = None


@runtime_checkable
class BatchingSLISource(SLISource, Protocol):
    """An :class:`SLISource` that can read a whole tick's questions at once.

    After :meth:`prepare`, the announced questions (and any question over a subset of their
    series, for the same window and end) are answered from what was read then, a snapshot;
    any other question is read as usual. :meth:`release` drops the snapshot.
    """

    def prepare(self, requests: Iterable[SLIRequest], at: datetime) -> None:
        """Read what *requests* need, for windows ending at *at* unless they name their end."""
        ...

    def release(self) -> None:
        """Forget what :meth:`prepare` read; later questions are read one by one."""
        ...


def _check_window(window: timedelta) -> None:
    if window <= timedelta(0):
        raise ValueError(f"window must be positive, got {window}")


class StoreSLISource:
    """Read SLIs from the embedded store: rollups where they reach, raw samples elsewhere.

    Counter growth is exact between samples, as :func:`~monitor.store.counter_increase`
    computes it: resets count the new value, and a sample exactly at ``at - window`` is the
    baseline of the growth. No extrapolation to the window edges (unlike PromQL's
    ``increase()``). With *rollups*, a 30-day window reads about as many rows as a 5-minute
    one (two per series and rollup step used, plus raw samples at the edges) and keeps
    answering after raw samples are deleted; without, every raw sample in the window is read.
    """

    def __init__(self, samples: SampleStore, rollups: RollupStore | None = None) -> None:
        self.samples = samples
        self.rollups = rollups
        self._raw_rows_read = 0
        self._rollup_rows_before = rollups.rows_read if rollups else 0
        self._batch: _Batch | None = None
        self.prepared_hits = 0  # questions answered from a prepared batch, for measurements

    def prepare(self, requests: Iterable[SLIRequest], at: datetime) -> None:
        """Read every window *requests* need for all their series at once (a few queries).

        Until the next :meth:`prepare` or :meth:`release`, a question over one of these
        windows (same length, same end) whose series were all requested for it is answered
        from memory, with exactly the numbers an unprepared question gets; the series table
        is read once, so series created after this call are seen only by later ticks.
        Without rollups there is nothing to prepare (every raw sample would be read), and
        questions are read one by one.
        """
        self._batch = None
        if self.rollups is None:
            log.debug("no rollups: SLI questions are read one by one")
            return
        wanted_requests = [r for r in requests if r.window > timedelta(0)]
        metrics = {r.selector.metric for r in wanted_requests}
        index = _SeriesIndex(metrics, self.rollups.series(metrics))
        keys: dict[_Key, set[int]] = {}
        for request in wanted_requests:
            end = request.end if request.end is not None else at
            key = (request.window, end, request.query is SLIQuery.INCREASE)
            keys.setdefault(key, set()).update(index.select(request.selector))
        windows = {key: Window(start=to_epoch(key[1] - key[0]), end=to_epoch(key[1]),
                               include_start=key[2]) for key in keys}
        wanted: dict[Window, set[int]] = {}
        for key, ids in keys.items():
            wanted.setdefault(windows[key], set()).update(ids)
        found = self.rollups.summarize_many(wanted)
        self._batch = _Batch(index=index, windows={key: (wanted[w], found[w])
                                                   for key, w in windows.items()})
        log.debug("prepared %d SLI requests at %s: %d windows", len(wanted_requests), at,
                  len(wanted))

    def release(self) -> None:
        """Drop what :meth:`prepare` read."""
        self._batch = None

    @property
    def rows_read(self) -> int:
        """Return how many samples and rollup rows were read since this source was made.

        For measurements; reads of other users of the same :class:`RollupStore` count too.
        """
        rollup_rows = self.rollups.rows_read - self._rollup_rows_before if self.rollups else 0
        return self._raw_rows_read + rollup_rows

    def increase(self, selector: Selector, window: timedelta, at: datetime) -> float | None:
        """Return the summed counter growth over ``(at - window, at]``; ``None`` for no data.

        A series with a single sample in the window has no measured growth yet.
        """
        growing = [s.increase for _, s in self._summaries(selector, window, at, True)
                   if s.count >= 2]
        if not growing:
            log.debug("no counter growth for %s in the %s before %s", selector, window, at)
            return None
        return math.fsum(growing)

    def gauge(self, selector: Selector, window: timedelta, at: datetime) -> GaugeStats | None:
        """Return count, sum and positive count of the gauge samples in ``(at - window, at]``."""
        found = [s for _, s in self._summaries(selector, window, at, False)]
        if not found:
            return None
        return GaugeStats(count=sum(s.count for s in found),
                          total=math.fsum(s.total for s in found),
                          positive=sum(s.positive for s in found))

    def label_values(self, selector: Selector, label: str, window: timedelta,
                     at: datetime) -> set[str]:
        """Return the values of *label* on the selected series with samples in the window."""
        return {labels[label] for labels, _ in self._summaries(selector, window, at, False)
                if labels.get(label)}

    def _summaries(self, selector: Selector, window: timedelta, at: datetime,
                   include_start: bool) -> Sequence[tuple[Labels, SeriesSummary]]:
        _check_window(window)
        if self.rollups is not None:
            batch = self._batch
            found = batch.answer(selector, (window, at, include_start)) if batch else None
            if found is not None:
                self.prepared_hits += 1
                return found
            return self.rollups.summarize(selector, at - window, at,
                                          include_start=include_start)
        start = to_epoch(at - window)
        out = []
        for series in self.samples.select(selector, at - window, at):
            self._raw_rows_read += len(series.points)
            points = [p for p in series.points if include_start or p[0] > start]
            if points:
                out.append((series.labels, SeriesSummary.of(points)))
        return out


class _SeriesIndex:
    """The stored series of some metrics, by metric and ``label="value"``, to match fast.

    Matches exactly what :meth:`Selector.matches` accepts; selectors without a non-empty
    equality matcher are checked against every series of their metric.
    """

    def __init__(self, metrics: Iterable[str], series: Sequence[StoredSeries]) -> None:
        self.labels = {s.id: s.labels for s in series}
        self.metrics: dict[str, list[int]] = {metric: [] for metric in metrics}
        self._postings: dict[tuple[str, str, str], set[int]] = {}
        self._memo: dict[Selector, tuple[int, ...]] = {}
        # by identity first: hashing a selector costs more than matching it once
        self._seen: dict[int, tuple[Selector, tuple[int, ...]]] = {}
        for s in series:
            self.metrics.setdefault(s.metric, []).append(s.id)
            for name, value in s.labels.items():
                self._postings.setdefault((s.metric, name, value), set()).add(s.id)

    def select(self, selector: Selector) -> tuple[int, ...]:
        """Return the ids of the series *selector* picks, ascending."""
        seen = self._seen.get(id(selector))
        if seen is not None and seen[0] is selector:
            return seen[1]
        found = self._memo.get(selector)
        if found is None:
            metric = selector.metric
            candidates: Iterable[int] = self.metrics.get(metric, ())
            equal = [self._postings.get((metric, m.name, m.value), set())
                     for m in selector.matchers if m.op is MatchOp.EQ and m.value]
            if equal:
                equal.sort(key=len)
                candidates = sorted(equal[0].intersection(*equal[1:]))
            found = tuple(sid for sid in candidates
                          if selector.matches(metric, self.labels[sid]))
            self._memo[selector] = found
        self._seen[id(selector)] = (selector, found)  # holds it, so its id stays its own
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class _Batch:
    """What one :meth:`StoreSLISource.prepare` read: per window, its series' summaries."""

    index: _SeriesIndex
    # per prepared window: the series read for it, and their summaries (those with data)
    windows: Mapping[_Key, tuple[set[int], Mapping[int, SeriesSummary]]]

    def answer(self, selector: Selector,
               key: _Key) -> list[tuple[Labels, SeriesSummary]] | None:
        """Return the selected series' summaries, or ``None`` when not all were read."""
        prepared = self.windows.get(key)
        if prepared is None or selector.metric not in self.index.metrics:
            return None
        covered, found = prepared
        ids = self.index.select(selector)
        if not covered.issuperset(ids):
            return None
        return [(self.index.labels[sid], found[sid]) for sid in ids if sid in found]
