"""Evaluate SLOs at a moment: SLI, error budget, burn rates, and burn-rate signals.

For each SLO the evaluator counts events once per distinct window (the SLO period and
every long and short alert window), derives burn rates from them, and emits one
:class:`~monitor.core.model.Signal` per severity (page, ticket). A severity is active
when any of its tiers burns at least ``factor`` times too fast over both its long and
its short window (multi-window, multi-burn-rate alerting, SRE Workbook chapter 5).
Inactive signals are emitted too, so alerting can resolve what fired before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.core.model import Labels, Severity, Signal
from monitor.core.time import Clock
from monitor.slo.budget import (
    EventCounts,
    budget_consumed,
    burn_rate,
    error_ratio,
    sli_ratio,
)
from monitor.slo.sli import SLISource
from monitor.slo.spec import DEFAULT_RUNBOOK_URL, SLOSpec
from monitor.slo.windows import SLO_SEVERITIES, BurnRateWindow, fmt_window

__all__ = ["SLOEvaluation", "SLOEvaluator", "SLOStatus", "TierStatus"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class TierStatus:
    """One burn-rate tier at one evaluation: its two burn rates and whether it fires."""

    window: BurnRateWindow
    burn_rate_long: float | None
    burn_rate_short: float | None
    active: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SLOStatus:
    """Where one SLO stands at one moment.

    Ratios are fractions (``sli_ratio`` 0.9987, ``error_budget_consumed`` 0.25); ``None``
    means there were no events to compute them from.
    """

    name: str
    service: str
    objective: float
    window: timedelta
    at: datetime
    events: EventCounts | None
    sli_ratio: float | None
    error_budget_remaining: float | None
    error_budget_consumed: float | None
    burn_rates: tuple[tuple[timedelta, float | None], ...]
    tiers: tuple[TierStatus, ...]
    labels: Labels

    @property
    def no_data(self) -> bool:
        """Return whether the SLO window held no events at all."""
        return self.events is None or self.events.total == 0

    def burn_rate(self, window: timedelta) -> float | None:
        """Return the burn rate over *window*; raise ``KeyError`` if it was not evaluated."""
        for duration, rate in self.burn_rates:
            if duration == window:
                return rate
        evaluated = ", ".join(fmt_window(d) for d, _ in self.burn_rates)
        raise KeyError(f"no burn rate over {fmt_window(window)} for SLO {self.name!r}; "
                       f"evaluated: {evaluated}")

    def active(self, severity: Severity) -> bool:
        """Return whether any tier of *severity* fires."""
        return any(t.active for t in self.tiers if t.window.severity is severity)


@dataclass(frozen=True, slots=True, kw_only=True)
class SLOEvaluation:
    """Every SLO's status and signals at one moment."""

    at: datetime
    statuses: tuple[SLOStatus, ...]
    signals: tuple[Signal, ...]

    def status(self, name: str) -> SLOStatus:
        """Return the status of the SLO called *name*; raise ``KeyError`` if there is none."""
        for status in self.statuses:
            if status.name == name:
                return status
        raise KeyError(f"no SLO named {name!r}; known: "
                       + ", ".join(s.name for s in self.statuses))


class SLOEvaluator:
    """Turn SLO specs and an SLI source into statuses and burn-rate signals.

    Parameters
    ----------
    specs
        The SLOs to evaluate; names must be unique.
    source
        Where event counts come from, e.g. :class:`~monitor.slo.sli.StoreSLISource`.
    clock
        Tells the time when :meth:`evaluate` is not given one.

    Raises
    ------
    ValueError
        If two specs share a name.
    """

    def __init__(self, *, specs: Sequence[SLOSpec], source: SLISource, clock: Clock) -> None:
        names = [spec.name for spec in specs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"SLO names must be unique, got duplicates: {', '.join(duplicates)}")
        self.specs = tuple(specs)
        self.source = source
        self.clock = clock

    def evaluate(self, at: datetime | None = None) -> SLOEvaluation:
        """Evaluate every SLO at *at* (default: now) and return statuses and signals.

        Errors of the source (e.g. :class:`~monitor.core.errors.StoreError`) propagate.
        """
        moment = at if at is not None else self.clock.now()
        statuses, signals = [], []
        for spec in self.specs:
            status = self._status(spec, moment)
            statuses.append(status)
            signals.extend(_signals(spec, status))
            log.debug("SLO %s at %s: consumed=%s no_data=%s", spec.name, moment,
                      status.error_budget_consumed, status.no_data)
        return SLOEvaluation(at=moment, statuses=tuple(statuses), signals=tuple(signals))

    def _status(self, spec: SLOSpec, at: datetime) -> SLOStatus:
        durations = {spec.window}
        for w in spec.alerting.windows:
            durations.update((w.long_window, w.short_window))
        counts = {d: self.source.events(spec.sli, d, at) for d in sorted(durations)}
        rates = {d: burn_rate(error_ratio(c), spec.target) for d, c in counts.items()}
        tiers = tuple(_tier(w, rates) for w in spec.alerting.windows)
        period = counts[spec.window]
        consumed = budget_consumed(period, spec.target)
        return SLOStatus(
            name=spec.name, service=spec.service, objective=spec.objective, window=spec.window,
            at=at, events=period, sli_ratio=sli_ratio(period),
            error_budget_remaining=None if consumed is None else 1.0 - consumed,
            error_budget_consumed=consumed, burn_rates=tuple(rates.items()), tiers=tiers,
            labels=Labels({**spec.labels, "slo": spec.name, "service": spec.service}))


def _tier(window: BurnRateWindow, rates: Mapping[timedelta, float | None]) -> TierStatus:
    long, short = rates[window.long_window], rates[window.short_window]
    active = (long is not None and short is not None
              and long >= window.factor and short >= window.factor)
    return TierStatus(window=window, burn_rate_long=long, burn_rate_short=short, active=active)


def _signals(spec: SLOSpec, status: SLOStatus) -> list[Signal]:
    out = []
    for severity in SLO_SEVERITIES:
        settings = spec.alerting.severity(severity)
        tiers = [t for t in status.tiers if t.window.severity is severity]
        if settings.disable or not tiers:
            continue
        firing = [t for t in tiers if t.active]
        # The tier shown is the firing one burning fastest, or the fastest of all when quiet.
        shown = max(firing or tiers, key=lambda t: -1.0 if t.burn_rate_long is None
                    else t.burn_rate_long)
        labels = Labels({**spec.labels, **spec.alerting.labels, **settings.labels,
                         "slo": spec.name, "severity": severity.value, "service": spec.service})
        annotations = {**_annotations(spec, status, shown, severity, bool(firing)),
                       **spec.alerting.annotations, **settings.annotations}
        out.append(Signal(name=spec.alerting.name, labels=labels, annotations=annotations,
                          value=shown.burn_rate_long or 0.0, active=bool(firing),
                          for_duration=timedelta(0), source=f"slo/{spec.name}"))
    return out


def _annotations(spec: SLOSpec, status: SLOStatus, shown: TierStatus, severity: Severity,
                 active: bool) -> dict[str, str]:
    w, long, short = shown.window, shown.burn_rate_long, shown.burn_rate_short
    consumed = status.error_budget_consumed
    if status.no_data:
        summary = f"{spec.name} has no SLI events in its {fmt_window(spec.window)} window"
    elif active:
        summary = f"{spec.name} is burning its error budget {long or 0.0:.1f}x too fast"
    else:
        summary = (f"{spec.name} is burning its error budget at {_rate(long)}, "
                   f"below the {severity.value} threshold")
    description = (
        f"SLO {spec.name} of {spec.service} ({spec.objective:g}% over "
        f"{fmt_window(spec.window)}): burn rate {_rate(long)} over "
        f"{fmt_window(w.long_window)} and {_rate(short)} over {fmt_window(w.short_window)} "
        f"(threshold {w.factor:.4g}x); "
        + ("no events in the SLO window." if consumed is None
           else f"{consumed * 100:.2f}% of the error budget is spent.")
    )
    return {
        "summary": summary,
        "description": description,
        "window_pair": w.pair,
        "factor": f"{w.factor:.4g}",
        "burn_rate_long": _number(long),
        "burn_rate_short": _number(short),
        "budget_consumed": _number(None if consumed is None else consumed * 100),
        "runbook_url": DEFAULT_RUNBOOK_URL,
    }


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
