"""Where SLIs read their numbers: the ``SLISource`` protocol and the built-in store source.

A source answers three questions about the series a selector picks over a window ending at a
moment: how much their counters grew, what their gauge samples were, and which values a label
takes. Turning an SLI kind into good and total events is the evaluator's business.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from monitor.core.errors import WatchkeeperError
from monitor.core.matchers import Selector
from monitor.core.model import Labels
from monitor.core.time import to_epoch
from monitor.store.rollups import RollupStore, SeriesSummary
from monitor.store.samples import SampleStore

__all__ = ["GaugeStats", "SLISource", "SLISourceError", "StoreSLISource"]

log = logging.getLogger(__name__)


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
        return sum(growing)

    def gauge(self, selector: Selector, window: timedelta, at: datetime) -> GaugeStats | None:
        """Return count, sum and positive count of the gauge samples in ``(at - window, at]``."""
        found = [s for _, s in self._summaries(selector, window, at, False)]
        if not found:
            return None
        return GaugeStats(count=sum(s.count for s in found), total=sum(s.total for s in found),
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
