"""Where SLI event counts come from: the ``SLISource`` protocol and the built-in store source."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from monitor.core.matchers import Selector
from monitor.slo.budget import EventCounts
from monitor.slo.spec import EventsSLI
from monitor.store.samples import SampleStore

__all__ = ["SLISource", "StoreSLISource"]

log = logging.getLogger(__name__)


@runtime_checkable
class SLISource(Protocol):
    """Count an SLI's events over a window ending at a moment."""

    def events(self, sli: EventsSLI, window: timedelta, at: datetime) -> EventCounts | None:
        """Return the events in ``(at - window, at]`` summed over every selected series.

        ``None`` means no data: no series of the total selector has a measurable
        increase in the window.
        """
        ...


class StoreSLISource:
    """Count events from counters in the embedded sample store.

    Each selector's counters are summed over all selected series with
    :meth:`SampleStore.increase`, which handles counter resets. A bad (or good) selector
    that selects nothing counts as zero: a ``code="500"`` series often does not exist
    until the first failure.
    """

    def __init__(self, samples: SampleStore) -> None:
        self.samples = samples

    def events(self, sli: EventsSLI, window: timedelta, at: datetime) -> EventCounts | None:
        """Return the events of *sli* in the *window* ending at *at*, or ``None`` for no data."""
        total = self._sum(sli.total, window, at)
        if total is None:
            return None
        if sli.bad is not None:
            return EventCounts.from_bad(bad=self._sum(sli.bad, window, at) or 0.0, total=total)
        assert sli.good is not None  # EventsSLI holds exactly one of good and bad
        return EventCounts.from_good(good=self._sum(sli.good, window, at) or 0.0, total=total)

    def _sum(self, selector: Selector, window: timedelta, at: datetime) -> float | None:
        increases = self.samples.increase(selector, window, at)
        if not increases:
            log.debug("no samples for %s in the %s before %s", selector, window, at)
            return None
        return sum(value for _, value in increases)
