"""Where an SLO stands (``SLOStatus``) and the signals it gives alerting.

Per SLO (and group) and severity one burn-rate signal, named after ``alerting.name``
(default ``SLOBurnRate``); when enabled, ``<name>NoData`` (no events for
``no_data.after``) and ``<name>BudgetExhaustion`` (the forecast runs the budget out within
``exhaustion.within``), the names the generated Prometheus rules use. Each carries the
labels ``slo``, ``service``, ``severity`` and the group's labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.core.model import Labels, Severity, Signal
from monitor.slo.budget import EventCounts
from monitor.slo.model import Budgeting, SLOSpec
from monitor.slo.windows import SLO_SEVERITIES, BurnRateWindow, fmt_window

__all__ = [
    "DEFAULT_RUNBOOK_URL",
    "EXHAUSTION_ALERT_SUFFIX",
    "NO_DATA_ALERT_SUFFIX",
    "SLOState",
    "SLOStatus",
    "TierStatus",
    "slo_signals",
]

DEFAULT_RUNBOOK_URL = "runbooks/slo-burn.md"
NO_DATA_RUNBOOK_URL = "runbooks/slo-no-data.md"
EXHAUSTION_RUNBOOK_URL = "runbooks/slo-budget-exhaustion.md"
#: ``<alerting.name>NoData``: raised after ``no_data.after`` without data, when enabled.
NO_DATA_ALERT_SUFFIX = "NoData"
#: ``<alerting.name>BudgetExhaustion``: raised on a short forecast, when enabled.
EXHAUSTION_ALERT_SUFFIX = "BudgetExhaustion"


class SLOState(StrEnum):
    """The one-word state of an SLO, most severe first.

    ``error``: it could not be evaluated; ``no_data``: no events in the period;
    ``burning``: a burn-rate tier fires; ``insufficient_traffic``: a window held fewer
    events than ``min_events``, so it may not alert; ``ok``: none of those.
    """

    ERROR = "error"
    NO_DATA = "no_data"
    BURNING = "burning"
    INSUFFICIENT_TRAFFIC = "insufficient_traffic"
    OK = "ok"


@dataclass(frozen=True, slots=True, kw_only=True)
class TierStatus:
    """One burn-rate tier at one evaluation: its two burn rates and whether it fires."""

    window: BurnRateWindow
    burn_rate_long: float | None
    burn_rate_short: float | None
    active: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SLOStatus:
    """Where one SLO (one group of it) stands at one moment.

    Ratios are fractions (``sli_ratio`` 0.9987, ``error_budget_consumed`` 0.25); ``None``
    means there were no events to compute them from. For Timeslices budgeting ``events``
    counts slices (``bad`` = bad slices); for RatioTimeslices ``bad`` sums the slices'
    error ratios. The period's burn rate is listed under ``window`` (the nominal length
    for a calendar period, which started at ``period_start``). ``problems`` lists what
    was skipped while counting (a ground-truth line that is not JSON), ``error`` why the
    state is ``error`` (with the spec's ``file:line:col``).
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
    state: SLOState = SLOState.OK
    error: str = ""
    group: Labels = field(default_factory=Labels)
    time_to_exhaustion: timedelta | None = None
    period_start: datetime | None = None
    budgeting: Budgeting = Budgeting.OCCURRENCES
    problems: tuple[str, ...] = ()

    @property
    def no_data(self) -> bool:
        """Return whether the SLO period held no events at all."""
        return self.events is None or self.events.total == 0

    def burn_rate(self, window: timedelta) -> float | None:
        """Return the burn rate over *window*; raise ``KeyError`` if it was not evaluated."""
        for duration, rate in self.burn_rates:
            if duration == window:
                return rate
        evaluated = ", ".join(fmt_window(d) for d, _ in self.burn_rates)
        raise KeyError(f"no burn rate over {fmt_window(window)} for SLO {self.name!r}; "
                       f"evaluated: {evaluated or 'none'}")

    def active(self, severity: Severity) -> bool:
        """Return whether any tier of *severity* fires."""
        return any(t.active for t in self.tiers if t.window.severity is severity)


def slo_signals(spec: SLOSpec, status: SLOStatus, *, silent: bool) -> list[Signal]:
    """Return the signals of one SLO status; none for a status in state ``error``.

    *silent* says whether the SLI had no data for ``alerting.no_data.after``.
    """
    if status.state is SLOState.ERROR:
        return []
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
        annotations = {**_burn_annotations(spec, status, shown, severity, bool(firing)),
                       **spec.alerting.annotations, **settings.annotations}
        out.append(Signal(
            name=spec.alerting.name, labels=_labels(spec, status, severity),
            annotations=annotations, value=shown.burn_rate_long or 0.0, active=bool(firing),
            for_duration=max((t.window.for_duration for t in firing), default=timedelta(0)),
            source=f"slo/{spec.name}"))
    name, no_data, exhaustion = (spec.alerting.name, spec.alerting.no_data,
                                 spec.alerting.exhaustion)
    if no_data.enabled:
        out.append(_extra(spec, status, name + NO_DATA_ALERT_SUFFIX, no_data.severity, silent,
                          1.0 if silent else 0.0,
                          f"{_title(spec, status)} has had no SLI data for "
                          f"{fmt_window(no_data.after)}", NO_DATA_RUNBOOK_URL))
    if exhaustion.enabled:
        ttl = status.time_to_exhaustion
        soon = ttl is not None and ttl <= exhaustion.within
        out.append(_extra(spec, status, name + EXHAUSTION_ALERT_SUFFIX, exhaustion.severity, soon,
                          0.0 if ttl is None else ttl.total_seconds(),
                          f"{_title(spec, status)} spends its error budget in "
                          f"{_duration(ttl)} at the burn rate of the last "
                          f"{fmt_window(exhaustion.lookback)}", EXHAUSTION_RUNBOOK_URL))
    return out


def _labels(spec: SLOSpec, status: SLOStatus, severity: Severity) -> Labels:
    return Labels({**spec.labels, **spec.alerting.labels,
                   **spec.alerting.severity(severity).labels, **status.group,
                   "slo": spec.name, "severity": severity.value, "service": spec.service})


def _extra(spec: SLOSpec, status: SLOStatus, name: str, severity: Severity, active: bool,
           value: float, summary: str, runbook_url: str) -> Signal:
    annotations = {**_common(spec, status), "runbook_url": runbook_url, "summary": summary,
                   "description": f"{summary}. {_description_tail(spec, status)}",
                   **spec.alerting.annotations, **spec.alerting.severity(severity).annotations}
    return Signal(name=name, labels=_labels(spec, status, severity), annotations=annotations,
                  value=value, active=active, source=f"slo/{spec.name}")


def _burn_annotations(spec: SLOSpec, status: SLOStatus, shown: TierStatus,
                      severity: Severity, active: bool) -> dict[str, str]:
    w, long, short = shown.window, shown.burn_rate_long, shown.burn_rate_short
    title = _title(spec, status)
    if status.no_data:
        summary = f"{title} has no SLI events in its {_period(spec)} window"
    elif active:
        summary = f"{title} is burning its error budget {long or 0.0:.1f}x too fast"
    else:
        summary = (f"{title} is burning its error budget at {_rate(long)}, "
                   f"below the {severity.value} threshold")
    description = (
        f"SLO {spec.name} of {spec.service} ({spec.objective:g}% over {_period(spec)}): "
        f"burn rate {_rate(long)} over {fmt_window(w.long_window)} and {_rate(short)} over "
        f"{fmt_window(w.short_window)} (threshold {w.factor:.4g}x); "
        + _description_tail(spec, status))
    return {
        "summary": summary,
        "description": description,
        "window_pair": w.pair,
        "factor": f"{w.factor:.4g}",
        "burn_rate_long": _number(long),
        "burn_rate_short": _number(short),
        **_common(spec, status),
    }


def _common(spec: SLOSpec, status: SLOStatus) -> dict[str, str]:
    consumed = status.error_budget_consumed
    out = {"budget_consumed": _number(None if consumed is None else consumed * 100),
           "time_to_exhaustion": _duration(status.time_to_exhaustion),
           "runbook_url": DEFAULT_RUNBOOK_URL}
    if spec.alerting.dashboard_url:
        out["dashboard_url"] = spec.alerting.dashboard_url
    return out


def _description_tail(spec: SLOSpec, status: SLOStatus) -> str:
    consumed = status.error_budget_consumed
    if consumed is None:
        return f"no events in the {_period(spec)} window."
    return f"{consumed * 100:.2f}% of the error budget is spent."


def _title(spec: SLOSpec, status: SLOStatus) -> str:
    if not status.group:
        return spec.name
    return spec.name + "{" + ",".join(f'{k}="{v}"' for k, v in status.group.items()) + "}"


def _period(spec: SLOSpec) -> str:
    if spec.calendar is None:
        return fmt_window(spec.window)
    return f"calendar {spec.calendar.unit.value} ({spec.calendar.timezone})"


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "n/a"
    return fmt_window(timedelta(seconds=round(value.total_seconds())))


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
