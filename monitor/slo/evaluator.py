"""Evaluate SLOs at a moment: SLI, error budget, burn rates, forecast, state and signals.

For each SLO (and each group of a ``group_by`` SLO) the evaluator counts events once per
distinct window (the SLO period and every long and short alert window), derives burn
rates from them, and emits one :class:`~monitor.core.model.Signal` per severity (page,
ticket). A severity is active when any of its tiers burns at least ``factor`` times too
fast over both its long and its short window (multi-window, multi-burn-rate alerting,
SRE Workbook chapter 5). Inactive signals are emitted too, so alerting can resolve what
fired before. When enabled, ``<alerting.name>NoData`` fires after ``no_data.after``
without events and ``<alerting.name>BudgetExhaustion`` when the forecast runs the budget
out within ``exhaustion.within``.

An SLO that cannot be evaluated (a latency threshold between buckets, an unreachable
source) gets the state ``error`` with the spec's location, and no signals; the other
SLOs are evaluated as usual.

A tick first announces every question it will ask to each source that batches
(:class:`~monitor.slo.sli.BatchingSLISource`): the store then answers 1,000 SLOs in a
handful of queries instead of a dozen per SLO.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.core.errors import WatchkeeperError
from monitor.core.model import Labels, Signal
from monitor.core.time import Clock
from monitor.slo.budget import (
    EventCounts,
    budget_consumed,
    burn_rate,
    error_ratio,
    sli_ratio,
    time_to_exhaustion,
)
from monitor.slo.calendar import period_bounds
from monitor.slo.counting import (
    SLIError,
    count,
    count_slices,
    group_selector,
    narrow,
    slice_windows,
)
from monitor.slo.counting import requests as sli_requests
from monitor.slo.model import SLI, Budgeting, SLOSpec, SourceKind
from monitor.slo.signals import (
    EXHAUSTION_ALERT_SUFFIX,
    NO_DATA_ALERT_SUFFIX,
    SLOState,
    SLOStatus,
    TierStatus,
    slo_signals,
)
from monitor.slo.sli import BatchingSLISource, SLIQuery, SLIRequest, SLISource
from monitor.slo.windows import BurnRateWindow

__all__ = [
    "EXHAUSTION_ALERT_SUFFIX",
    "NO_DATA_ALERT_SUFFIX",
    "SLOEvaluation",
    "SLOEvaluator",
    "SLOState",
    "SLOStatus",
    "TierStatus",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class SLOEvaluation:
    """Every SLO's status (one per group) and signals at one moment."""

    at: datetime
    statuses: tuple[SLOStatus, ...]
    signals: tuple[Signal, ...]

    def status(self, name: str, group: Mapping[str, str] | None = None) -> SLOStatus:
        """Return the status of SLO *name* (and *group*, for a ``group_by`` SLO).

        Raises
        ------
        KeyError
            If there is no such SLO, or *name* has several groups and *group* is not given.
        """
        found = [s for s in self.statuses if s.name == name
                 and (group is None or s.group == Labels(group))]
        if len(found) == 1:
            return found[0]
        if found:
            raise KeyError(f"SLO {name!r} has {len(found)} groups; name one of: "
                           + "; ".join(repr(s.group) for s in found))
        raise KeyError(f"no SLO named {name!r}" + ("" if group is None else f" in {group}")
                       + "; known: " + ", ".join(sorted({s.name for s in self.statuses})))


class SLOEvaluator:
    """Turn SLO specs and SLI sources into statuses and signals.

    Parameters
    ----------
    specs
        The SLOs to evaluate; names must be unique.
    sources
        The SLI source for each :class:`~monitor.slo.model.SourceKind` an SLO may name
        (``store`` and, when configured, ``prometheus``).
    clock
        Tells the time when :meth:`evaluate` is not given one.

    Raises
    ------
    ValueError
        If two specs share a name.
    """

    def __init__(self, *, specs: Sequence[SLOSpec], sources: Mapping[SourceKind, SLISource],
                 clock: Clock) -> None:
        names = [spec.name for spec in specs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"SLO names must be unique, got duplicates: {', '.join(duplicates)}")
        self.specs = tuple(specs)
        self.sources = dict(sources)
        self.clock = clock

    def evaluate(self, at: datetime | None = None) -> SLOEvaluation:
        """Evaluate every SLO at *at* (default: now) and return statuses and signals.

        One SLO failing (state ``error``) never stops the others.
        """
        moment = at if at is not None else self.clock.now()
        statuses: list[SLOStatus] = []
        signals: list[Signal] = []
        prepared = self._prepare(moment)
        try:
            for spec in self.specs:
                for status, silent in self._evaluate(spec, moment):
                    statuses.append(status)
                    signals.extend(slo_signals(spec, status, silent=silent))
                    log.debug("SLO %s%s at %s: state=%s consumed=%s", spec.name,
                              dict(status.group) or "", moment, status.state.value,
                              status.error_budget_consumed)
        finally:
            for source in prepared:
                source.release()
        return SLOEvaluation(at=moment, statuses=tuple(statuses), signals=tuple(signals))

    def _prepare(self, at: datetime) -> list[BatchingSLISource]:
        """Announce the tick's questions to every source that batches; return those sources.

        A source that fails to prepare is asked question by question, as one that does not
        batch; its errors then land on the SLOs that need it.
        """
        prepared = []
        for source in {id(s): s for s in self.sources.values()}.values():
            if not isinstance(source, BatchingSLISource):
                continue
            wanted = [request for spec in self.specs if self.sources.get(spec.source) is source
                      for request in _requests(spec, at)]
            prepared.append(source)
            try:
                source.prepare(wanted, at)
            except WatchkeeperError as exc:
                log.warning("cannot read this tick's %d SLI questions at once, asking them one "
                            "by one: %s", len(wanted), exc)
        return prepared

    def _evaluate(self, spec: SLOSpec, at: datetime) -> list[tuple[SLOStatus, bool]]:
        source = self.sources.get(spec.source)
        try:
            if source is None:
                raise SLIError(f"no {spec.source.value} SLI source is configured; configure "
                               f"it in watchkeeper.yaml or set source: store")
            groups = _groups(spec, source, at)
        except (WatchkeeperError, ValueError) as exc:
            return [(_failed(spec, Labels(), at, exc), False)]
        out = []
        for group in groups:
            try:
                out.append(_Evaluation(spec, narrow(spec.sli, group), group, source, at).run())
            except (WatchkeeperError, ValueError) as exc:  # e.g. a source's odd number
                out.append((_failed(spec, group, at, exc), False))
        return out


@dataclass(slots=True)
class _Evaluation:
    """One SLO (one group) at one moment; counts are memoized so windows share them."""

    spec: SLOSpec
    sli: SLI
    group: Labels
    source: SLISource
    at: datetime
    problems: list[str] = field(default_factory=list)
    _cache: dict[tuple[timedelta, datetime], EventCounts | None] = field(default_factory=dict)

    def tally(self, window: timedelta, end: datetime) -> EventCounts | None:
        key = (window, end)
        if key not in self._cache:
            self._cache[key] = count(self.sli, self.source, window, end, problems=self.problems)
        return self._cache[key]

    def counts(self, window: timedelta) -> EventCounts | None:
        spec = self.spec
        if spec.budgeting is Budgeting.OCCURRENCES or spec.timeslice is None:
            return self.tally(window, self.at)
        return count_slices(self.sli, self.source, window, self.at, timeslice=spec.timeslice,
                            budgeting=spec.budgeting, target=spec.timeslice_target,
                            min_events=spec.min_events, counter=self.tally)

    def rate(self, counts: EventCounts | None) -> tuple[float | None, bool]:
        """Return the burn rate of *counts* and whether the minimum-traffic guard held it."""
        if counts is None or counts.total == 0:
            return None, False
        if self.spec.budgeting is Budgeting.OCCURRENCES and counts.total < self.spec.min_events:
            return None, True
        return burn_rate(error_ratio(counts), self.spec.target), False

    def run(self) -> tuple[SLOStatus, bool]:
        spec, at = self.spec, self.at
        start, length = _period(spec, at)
        period = self.counts(at - start)
        lookback = min(spec.alerting.exhaustion.lookback, spec.window)
        durations = {lookback}
        for w in spec.alerting.windows:
            durations.update((w.long_window, w.short_window))
        rates, guarded = {}, False
        for d in sorted(durations):
            rates[d], held = self.rate(self.counts(d))
            guarded |= held
        period_rate, period_held = self.rate(period)
        tiers = tuple(_tier(w, rates) for w in spec.alerting.windows)
        consumed = budget_consumed(period, spec.target)
        remaining = None if consumed is None else 1.0 - consumed
        if period is None or period.total == 0:
            state = SLOState.NO_DATA
        elif any(t.active for t in tiers):
            state = SLOState.BURNING
        elif guarded or period_held:
            state = SLOState.INSUFFICIENT_TRAFFIC
        else:
            state = SLOState.OK
        no_data = spec.alerting.no_data
        recent = self.tally(no_data.after, at) if no_data.enabled else None
        status = SLOStatus(
            name=spec.name, service=spec.service, objective=spec.objective, window=spec.window,
            at=at, events=period, sli_ratio=sli_ratio(period), error_budget_remaining=remaining,
            error_budget_consumed=consumed,
            burn_rates=tuple(sorted({**rates, spec.window: period_rate}.items())),
            tiers=tiers, labels=_status_labels(spec, self.group), state=state,
            group=self.group, period_start=start, budgeting=spec.budgeting,
            time_to_exhaustion=time_to_exhaustion(remaining, rates[lookback], length),
            problems=tuple(dict.fromkeys(self.problems)))
        return status, no_data.enabled and (recent is None or recent.total == 0)


def _period(spec: SLOSpec, at: datetime) -> tuple[datetime, timedelta]:
    """Return the start of the period holding *at* and the period's full length."""
    if spec.calendar is None:
        return at - spec.window, spec.window
    try:
        start, end = period_bounds(spec.calendar, at)
    except ValueError as exc:
        raise SLIError(str(exc)) from exc
    return start, end - start


def _requests(spec: SLOSpec, at: datetime) -> list[SLIRequest]:
    """Return the questions evaluating *spec* at *at* asks its source, as ``run`` asks them.

    Groups of a ``group_by`` SLO ask about subsets of the ungrouped SLI's series, which
    the ungrouped questions cover. A spec that cannot be evaluated asks nothing.
    """
    try:
        start, _ = _period(spec, at)
        out = []
        selector = group_selector(spec.sli) if spec.group_by else None
        if selector is not None:
            out.append(SLIRequest(selector=selector, window=at - start,
                                  query=SLIQuery.LABEL_VALUES))
        windows = {at - start, min(spec.alerting.exhaustion.lookback, spec.window)}
        for tier in spec.alerting.windows:
            windows.update((tier.long_window, tier.short_window))
        timeslice = None if spec.budgeting is Budgeting.OCCURRENCES else spec.timeslice
        for window in sorted(windows):
            if timeslice is None:
                out += sli_requests(spec.sli, window)
            else:
                for length, end in slice_windows(window, at, timeslice):
                    out += sli_requests(spec.sli, length, end)
        if spec.alerting.no_data.enabled:
            out += sli_requests(spec.sli, spec.alerting.no_data.after)
    except (WatchkeeperError, ValueError):
        return []  # the evaluation reports it
    return out


def _groups(spec: SLOSpec, source: SLISource, at: datetime) -> list[Labels]:
    """Return the label sets of a ``group_by`` SLO's groups, each as it exists in the data.

    Labels are discovered one after the other under the groups found so far, so only
    combinations that exist are returned. With no ``group_by`` (or no group found), the
    one ungrouped SLO.
    """
    if not spec.group_by:
        return [Labels()]
    start, _ = _period(spec, at)
    found: list[dict[str, str]] = [{}]
    for label in spec.group_by:
        deeper: list[dict[str, str]] = []
        for group in found:
            selector = group_selector(narrow(spec.sli, group))
            if selector is None:
                raise SLIError(f"group_by needs an SLI over labelled series, not "
                               f"{type(spec.sli).__name__}")
            values = source.label_values(selector, label, at - start, at)
            deeper.extend({**group, label: value} for value in sorted(values))
        found = deeper
    return [Labels(g) for g in found] or [Labels()]


def _tier(window: BurnRateWindow, rates: Mapping[timedelta, float | None]) -> TierStatus:
    long, short = rates[window.long_window], rates[window.short_window]
    active = (long is not None and short is not None
              and long >= window.factor and short >= window.factor)
    return TierStatus(window=window, burn_rate_long=long, burn_rate_short=short, active=active)


def _status_labels(spec: SLOSpec, group: Labels) -> Labels:
    return Labels({**spec.labels, **group, "slo": spec.name, "service": spec.service})


def _failed(spec: SLOSpec, group: Labels, at: datetime, exc: Exception) -> SLOStatus:
    where = f"{spec.where}: " if spec.where is not None else ""
    message = f'{where}SLO "{spec.name}": {exc}'
    log.warning("SLO %s cannot be evaluated: %s", spec.name, message)
    return SLOStatus(
        name=spec.name, service=spec.service, objective=spec.objective, window=spec.window,
        at=at, events=None, sli_ratio=None, error_budget_remaining=None,
        error_budget_consumed=None, burn_rates=(), tiers=(),
        labels=_status_labels(spec, group), state=SLOState.ERROR, error=message, group=group,
        budgeting=spec.budgeting)
