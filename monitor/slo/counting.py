"""Turn each SLI kind into event counts over a window, through an ``SLISource``.

=================  ====================================================================
SLI kind           good / total over ``(at - window, at]``
=================  ====================================================================
events             ``increase(good)`` (or ``total - increase(bad)``) / ``increase(total)``
latency            ``increase(<name>_bucket{le="<threshold>"})`` / ``increase(<name>_count)``
probe, bool gauge  samples above zero / samples
drift checks       ``increase(watchkeeper_drift_checks_total{monitor, result="pass"})`` /
                   ``increase(watchkeeper_drift_checks_total{monitor})``
ground truth       predictions matching their label / labelled predictions (``ground_truth``)
PromQL             ``total_query`` less ``error_query``, with ``{{.window}}`` filled in, on a
                   :class:`QuerySource`; an ``error_ratio_query`` counts as one event
                   whose bad share is the ratio
=================  ====================================================================

``None`` is "no data": the total selects no series with data in the window.
:func:`count_slices` does the same per timeslice for the Timeslices and RatioTimeslices
budgeting methods. :func:`requests` lists the questions :func:`count` will ask a source,
so that a :class:`~monitor.slo.sli.BatchingSLISource` can read them all at once.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from monitor.core.errors import WatchkeeperError
from monitor.core.matchers import Matcher, MatchOp, Selector
from monitor.slo import ground_truth
from monitor.slo.budget import EventCounts
from monitor.slo.model import (
    SLI,
    BoolGaugeSLI,
    Budgeting,
    DriftChecksSLI,
    EventsSLI,
    GroundTruthSLI,
    LatencySLI,
    ProbeSLI,
    PromQLSLI,
)
from monitor.slo.sli import SLIQuery, SLIRequest, SLISource

__all__ = [
    "DRIFT_CHECKS_METRIC",
    "MAX_SLICES",
    "QuerySource",
    "SLIError",
    "bucket_bound",
    "count",
    "count_slices",
    "group_selector",
    "narrow",
    "requests",
    "slice_windows",
]

log = logging.getLogger(__name__)

#: The counter the drift engine increments after each check, by ``monitor`` and ``result``.
DRIFT_CHECKS_METRIC = "watchkeeper_drift_checks_total"
#: The most slices one window is split into; longer windows merge slices (see count_slices).
MAX_SLICES = 1440


_WINDOW_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")


class SLIError(WatchkeeperError):
    """An SLI cannot be counted as written, e.g. a latency threshold between two buckets."""


@runtime_checkable
class QuerySource(Protocol):
    """A source that also evaluates a PromQL expression (what PromQL SLIs need)."""

    def query_scalar(self, query: str, at: datetime) -> float | None:
        """Return the sum of the instant vector *query* at *at*; ``None`` for no result."""
        ...


def count(sli: SLI, source: SLISource, window: timedelta, at: datetime,
          *, problems: list[str] | None = None) -> EventCounts | None:
    """Return the good and bad events of *sli* in ``(at - window, at]``.

    Parameters
    ----------
    sli
        Any SLI kind of :mod:`monitor.slo.model`.
    source
        Answers ``increase``, ``gauge`` and ``label_values`` queries.
    window, at
        The window and the moment it ends.
    problems
        Non-fatal problems (a ground-truth line that is not JSON) are appended here.

    Returns
    -------
    EventCounts or None
        ``None`` when the window holds no data for the SLI's total.

    Raises
    ------
    SLIError
        If the SLI cannot be counted as written (a latency threshold that is not one of
        the histogram's bucket bounds). Errors of the source propagate.
    """
    if window <= timedelta(0):
        return None
    if isinstance(sli, EventsSLI):
        total = source.increase(sli.total, window, at)
        if total is None:
            return None
        if sli.bad is not None:
            return EventCounts.from_bad(bad=source.increase(sli.bad, window, at) or 0.0,
                                        total=total)
        assert sli.good is not None  # EventsSLI holds exactly one of good and bad
        return EventCounts.from_good(good=source.increase(sli.good, window, at) or 0.0,
                                     total=total)
    if isinstance(sli, LatencySLI):
        return _latency(sli, source, window, at)
    if isinstance(sli, (ProbeSLI, BoolGaugeSLI)):
        stats = source.gauge(sli.selector, window, at)
        if stats is None or stats.count == 0:
            return None
        return EventCounts.from_good(good=float(stats.positive), total=float(stats.count))
    if isinstance(sli, DriftChecksSLI):
        checks = _selector(DRIFT_CHECKS_METRIC, (), monitor=sli.monitor)
        total = source.increase(checks, window, at)
        if total is None:
            return None
        passed = source.increase(_selector(DRIFT_CHECKS_METRIC, checks.matchers, result="pass"),
                                 window, at)
        return EventCounts.from_good(good=passed or 0.0, total=total)
    if isinstance(sli, GroundTruthSLI):
        counts, found = ground_truth.count(sli, window, at)
        if problems is not None:
            problems.extend(found)
        return counts
    if isinstance(sli, PromQLSLI):
        return _promql(sli, source, window, at)
    raise SLIError(f"the SLO engine cannot count a {type(sli).__name__} SLI")


def requests(sli: SLI, window: timedelta, end: datetime | None = None) -> list[SLIRequest]:
    """Return the source questions :func:`count` asks for *sli* over *window* ending at *end*.

    ``end`` ``None`` is the tick's moment. Questions whose answer depends on data (a
    latency SLI's ``le`` bucket) are covered by a question over all the candidate series;
    SLI kinds that do not read an :class:`~monitor.slo.sli.SLISource` (ground truth, PromQL)
    ask nothing that can be prepared.
    """
    if window <= timedelta(0):
        return []

    def ask(selector: Selector, query: SLIQuery = SLIQuery.INCREASE) -> SLIRequest:
        return SLIRequest(selector=selector, window=window, query=query, end=end)

    if isinstance(sli, EventsSLI):
        return [ask(s) for s in (sli.total, sli.good, sli.bad) if s is not None]
    if isinstance(sli, LatencySLI):
        name, matchers = sli.histogram.metric, sli.histogram.matchers
        buckets = Selector(metric=f"{name}_bucket", matchers=matchers)
        return [ask(buckets, SLIQuery.LABEL_VALUES), ask(buckets),
                ask(Selector(metric=f"{name}_count", matchers=matchers))]
    if isinstance(sli, (ProbeSLI, BoolGaugeSLI)):
        return [ask(sli.selector, SLIQuery.GAUGE)]
    if isinstance(sli, DriftChecksSLI):
        return [ask(_selector(DRIFT_CHECKS_METRIC, (), monitor=sli.monitor))]
    return []


def _promql(sli: PromQLSLI, source: SLISource, window: timedelta,
            at: datetime) -> EventCounts | None:
    """Count a PromQL SLI; an error-ratio query gives one event with that ratio."""
    if not isinstance(source, QuerySource):
        raise SLIError("a PromQL SLI needs a source that runs PromQL; set source: prometheus")
    millis = round(window.total_seconds() * 1000)
    rendered = f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"

    def query(text: str) -> float | None:
        value = source.query_scalar(_WINDOW_PLACEHOLDER.sub(rendered, text), at)
        return value if value is not None and math.isfinite(value) else None

    if sli.error_ratio_query:
        ratio = query(sli.error_ratio_query)
        return None if ratio is None else EventCounts(total=1.0, bad=min(max(ratio, 0.0), 1.0))
    total = query(sli.total_query)
    if total is None or total <= 0:
        return None if total is None else EventCounts(total=0.0, bad=0.0)
    return EventCounts.from_bad(bad=query(sli.error_query) or 0.0, total=total)


def _latency(sli: LatencySLI, source: SLISource, window: timedelta,
             at: datetime) -> EventCounts | None:
    name, matchers = sli.histogram.metric, sli.histogram.matchers
    le = bucket_bound(sli, source.label_values(Selector(metric=f"{name}_bucket",
                                                        matchers=matchers), "le", window, at))
    if le is None:
        return None
    total = source.increase(Selector(metric=f"{name}_count", matchers=matchers), window, at)
    if total is None:
        return None
    good = source.increase(_selector(f"{name}_bucket", matchers, le=le), window, at)
    return EventCounts.from_good(good=good or 0.0, total=total)


def bucket_bound(sli: LatencySLI, bounds: set[str]) -> str | None:
    """Return the ``le`` label value equal to the SLI's threshold, as the series spell it.

    Parameters
    ----------
    sli
        The latency SLI.
    bounds
        The ``le`` values of the histogram's ``_bucket`` series; empty means no data.

    Raises
    ------
    SLIError
        If the threshold is not one of the bounds, naming the neighbouring bounds.

    Examples
    --------
    >>> from monitor.core.matchers import parse_selector
    >>> sli = LatencySLI(histogram=parse_selector("h"), threshold_seconds=0.25)
    >>> bucket_bound(sli, {"0.1", "0.25", "+Inf"})
    '0.25'
    """
    if not bounds:
        return None
    finite: dict[float, str] = {}
    for text in bounds:
        try:
            value = float(text)
        except ValueError:
            continue
        if math.isfinite(value):
            finite[value] = text
    t = sli.threshold_seconds
    for value, text in finite.items():
        if math.isclose(value, t, rel_tol=1e-9, abs_tol=1e-12):
            return text
    name, listed = sli.histogram.metric, ", ".join(f"{v:g}" for v in sorted(finite))
    below, above = [v for v in finite if v < t], [v for v in finite if v > t]
    if below and above:
        where = f"is between the buckets {max(below):g} and {min(above):g}"
    elif below:
        where = f"is above the largest bucket {max(below):g}"
    elif above:
        where = f"is below the smallest bucket {min(above):g}"
    else:
        where = "has no finite bucket to match"
    raise SLIError(f"threshold {t:g}s {where} of {name}; use one of: {listed or 'none'}")


def count_slices(sli: SLI, source: SLISource, window: timedelta, at: datetime, *,
                 timeslice: timedelta, budgeting: Budgeting, target: float | None,
                 min_events: float = 0.0,
                 counter: Callable[[timedelta, datetime], EventCounts | None] | None = None,
                 ) -> EventCounts | None:
    """Return ``(at - window, at]`` as slice counts for the timeslice budgeting methods.

    The window is cut into slices of *timeslice* ending at *at* (the oldest one may be
    shorter). For ``Timeslices`` a slice is good when its SLI ratio is at least *target*:
    the result counts slices (``total`` slices, ``bad`` bad ones). For
    ``RatioTimeslices`` each slice contributes its error ratio: ``bad`` is the sum of the
    slice error ratios, so ``bad / total`` is one minus the mean of the slice ratios.
    A slice with no data, or fewer than *min_events* events, is left out.

    Notes
    -----
    The cost is bounded: a window of more than :data:`MAX_SLICES` slices is evaluated
    in merged slices of ``k × timeslice`` (``k = ceil(slices / MAX_SLICES)``), each
    weighing ``k`` slices; a 30d window of 1m slices is read as 1,440 slices of 30m.
    A merged slice is judged on its own ratio, so Timeslices over such a window is an
    approximation; windows up to ``MAX_SLICES × timeslice`` are exact. A slice shorter
    than *timeslice* weighs its share of one.

    *counter*, when given, replaces ``count(sli, source, length, end)`` (the evaluator
    passes a memoizing one, so that windows share their slices).
    """
    if budgeting is Budgeting.OCCURRENCES:
        raise ValueError("count_slices is for Timeslices and RatioTimeslices budgeting")
    if budgeting is Budgeting.TIMESLICES and target is None:
        raise ValueError("Timeslices budgeting needs a slice target")
    if timeslice <= timedelta(0):
        raise ValueError(f"timeslice must be positive, got {timeslice}")
    tally = counter or (lambda length, end: count(sli, source, length, end))
    total = bad = 0.0
    for length, end in slice_windows(window, at, timeslice):
        counts = tally(length, end)
        if counts is None or counts.total == 0 or counts.total < min_events:
            continue
        weight, ratio = length / timeslice, counts.good / counts.total
        total += weight
        if budgeting is Budgeting.RATIO_TIMESLICES:
            bad += weight * (1.0 - ratio)
        elif target is not None and ratio < target:
            bad += weight
    return EventCounts(total=total, bad=min(bad, total)) if total > 0 else None


def slice_windows(window: timedelta, at: datetime,
                  timeslice: timedelta) -> list[tuple[timedelta, datetime]]:
    """Return the slices :func:`count_slices` cuts ``(at - window, at]`` into, newest first.

    Each is ``(length, end)``; see :func:`count_slices` for how long windows merge slices.
    """
    if timeslice <= timedelta(0):
        raise ValueError(f"timeslice must be positive, got {timeslice}")
    step = timeslice * max(1, math.ceil(math.ceil(window / timeslice) / MAX_SLICES))
    out = []
    offset = timedelta(0)
    while offset < window:
        out.append((min(step, window - offset), at - offset))
        offset += step
    return out


def group_selector(sli: SLI) -> Selector | None:
    """Return the selector whose series name the groups of a ``group_by`` SLO."""
    if isinstance(sli, EventsSLI):
        return sli.total
    if isinstance(sli, LatencySLI):
        return Selector(metric=f"{sli.histogram.metric}_count", matchers=sli.histogram.matchers)
    if isinstance(sli, (ProbeSLI, BoolGaugeSLI)):
        return sli.selector
    return None


def narrow(sli: SLI, group: Mapping[str, str]) -> SLI:
    """Return *sli* restricted to one group: ``label="value"`` added to each selector.

    Raises
    ------
    SLIError
        If the SLI kind has no selectors to narrow (drift checks, ground truth).
    """
    if not group:
        return sli
    extra = tuple(Matcher(name=k, op=MatchOp.EQ, value=v) for k, v in sorted(group.items()))

    def add(selector: Selector) -> Selector:
        return Selector(metric=selector.metric, matchers=selector.matchers + extra)

    if isinstance(sli, EventsSLI):
        return replace(sli, total=add(sli.total), good=sli.good and add(sli.good),
                       bad=sli.bad and add(sli.bad))
    if isinstance(sli, LatencySLI):
        return replace(sli, histogram=add(sli.histogram))
    if isinstance(sli, (ProbeSLI, BoolGaugeSLI)):
        return replace(sli, selector=add(sli.selector))
    raise SLIError(f"group_by needs an SLI over labelled series, not {type(sli).__name__}")


def _selector(metric: str, matchers: tuple[Matcher, ...], **equal: str) -> Selector:
    extra = tuple(Matcher(name=k, op=MatchOp.EQ, value=v) for k, v in equal.items())
    return Selector(metric=metric, matchers=matchers + extra)
