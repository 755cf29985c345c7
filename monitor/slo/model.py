"""The one internal SLO model every format (native, Sloth, OpenSLO) is read into.

Readers (``spec.py``, ``sloth.py``, ``openslo.py``) build these values; the evaluator,
the Prometheus rule generator and ``slo convert`` only ever see these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TypeAlias

from monitor.config.errors import SourceLocation
from monitor.core.matchers import Selector
from monitor.core.model import Severity
from monitor.slo.windows import BurnRateWindow, fmt_window

__all__ = [
    "SLI",
    "AlertingSpec",
    "BoolGaugeSLI",
    "Budgeting",
    "CalendarPeriod",
    "CalendarUnit",
    "DriftChecksSLI",
    "EventsSLI",
    "ExhaustionAlert",
    "GroundTruthSLI",
    "LatencySLI",
    "NoDataAlert",
    "ProbeSLI",
    "PromQLSLI",
    "SLOSpec",
    "SeverityAlerting",
    "SourceKind",
]

DEFAULT_ALERT_NAME = "SLOBurnRate"
DEFAULT_WINDOW = timedelta(days=30)
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


# -- SLI kinds ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class EventsSLI:
    """Counters of good (or bad) events and of all events; their increases make the ratio."""

    total: Selector
    good: Selector | None = None
    bad: Selector | None = None

    def __post_init__(self) -> None:
        if (self.good is None) == (self.bad is None):
            raise ValueError("set exactly one of good or bad, got "
                             + ("both" if self.good is not None else "neither"))


@dataclass(frozen=True, slots=True, kw_only=True)
class LatencySLI:
    """Requests faster than a threshold, from a Prometheus histogram.

    ``histogram`` selects the histogram by its base name (``http_request_duration_seconds``,
    without ``_bucket``); good events are ``<name>_bucket{le="<threshold>"}``, all events
    ``<name>_count``. The threshold must be one of the histogram's real bucket bounds.
    """

    histogram: Selector
    threshold_seconds: float

    def __post_init__(self) -> None:
        if not self.threshold_seconds > 0:
            raise ValueError(f"threshold must be > 0 seconds, got {self.threshold_seconds}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeSLI:
    """Availability as the share of successful scrapes or probes (``up``, ``probe_success``).

    Each sample of the selected gauge is one probe: 1 succeeded, 0 failed.
    """

    selector: Selector


@dataclass(frozen=True, slots=True, kw_only=True)
class BoolGaugeSLI:
    """A gauge that is good while its value is above zero (e.g. ``model_loaded``)."""

    selector: Selector


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftChecksSLI:
    """Model quality as the share of drift checks that pass.

    Counts ``watchkeeper_drift_checks_total{monitor=..., result="pass"|"fail"}`` in the
    store, which the drift engine increments after each check.
    """

    monitor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GroundTruthSLI:
    """Model quality as the share of predictions matching delayed ground-truth labels.

    Predictions come from captured inference records (JSONL, one object per line with
    ``join_key``), labels from a JSONL file of ``{join_key, label, time}``; a prediction
    counts once its label has had ``label_lag`` to arrive.
    """

    predictions: str
    labels: str
    join_key: str = "request_id"
    prediction_field: str = "output.probability"
    label_field: str = "label"
    threshold: float = 0.5
    label_lag: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class PromQLSLI:
    """An SLI written in PromQL, evaluated only by Prometheus (``source: prometheus``).

    Either ``error_query`` and ``total_query`` (bad and all events over the window), or
    ``error_ratio_query`` (the bad share, 0-1, over the window). Each query holds a
    ``{{.window}}`` placeholder where the window goes, as in Sloth: ``[{{.window}}]``.
    """

    error_query: str = ""
    total_query: str = ""
    error_ratio_query: str = ""

    def __post_init__(self) -> None:
        events = bool(self.error_query) or bool(self.total_query)
        if events == bool(self.error_ratio_query):
            raise ValueError("set error_query and total_query, or error_ratio_query, got "
                             + ("both" if events else "neither"))
        if events and not (self.error_query and self.total_query):
            raise ValueError("error_query and total_query go together, got only "
                             + ("error_query" if self.error_query else "total_query"))


SLI: TypeAlias = (EventsSLI | LatencySLI | ProbeSLI | BoolGaugeSLI | DriftChecksSLI
                  | GroundTruthSLI | PromQLSLI)


# -- windows and budgeting ---------------------------------------------------------------
class CalendarUnit(StrEnum):
    """Calendar-aligned SLO periods."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarPeriod:
    """A calendar window (the budget resets at each week/month/quarter start in a time zone)."""

    unit: CalendarUnit
    timezone: str = "UTC"


class Budgeting(StrEnum):
    """OpenSLO budgeting methods."""

    OCCURRENCES = "Occurrences"
    TIMESLICES = "Timeslices"
    RATIO_TIMESLICES = "RatioTimeslices"


class SourceKind(StrEnum):
    """Where an SLO's SLI numbers come from."""

    STORE = "store"
    PROMETHEUS = "prometheus"


# -- alerting ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class SeverityAlerting:
    """Per-severity alert settings: the page alert or the ticket alert."""

    disable: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class NoDataAlert:
    """Alert when the SLI has had no events for ``after`` (its own state, not a burn)."""

    enabled: bool = False
    after: timedelta = timedelta(minutes=15)
    severity: Severity = Severity.TICKET


@dataclass(frozen=True, slots=True, kw_only=True)
class ExhaustionAlert:
    """Alert when, at the current burn, the budget runs out within ``within``.

    Nobl9's ``timeToBurnBudget`` idea: the forecast uses the burn rate over ``lookback``.
    """

    enabled: bool = False
    within: timedelta = timedelta(days=3)
    lookback: timedelta = timedelta(hours=6)
    severity: Severity = Severity.TICKET


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertingSpec:
    """How burn becomes signals: the alert name, its labels, tiers and extra alerts."""

    windows: tuple[BurnRateWindow, ...]
    name: str = DEFAULT_ALERT_NAME
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    page: SeverityAlerting = field(default_factory=SeverityAlerting)
    ticket: SeverityAlerting = field(default_factory=SeverityAlerting)
    no_data: NoDataAlert = field(default_factory=NoDataAlert)
    exhaustion: ExhaustionAlert = field(default_factory=ExhaustionAlert)
    dashboard_url: str = ""
    #: False when ``windows`` are the defaults for the period (a window catalogue may
    #: replace them); True when the SLO lists its own.
    custom_windows: bool = False

    def __post_init__(self) -> None:
        if not _METRIC_NAME.fullmatch(self.name):
            raise ValueError(f"name must be a valid alert name ([a-zA-Z_:][a-zA-Z0-9_:]*), "
                             f"got {self.name!r}")

    def severity(self, severity: Severity) -> SeverityAlerting:
        """Return the settings of *severity* (page or ticket)."""
        if severity is Severity.PAGE:
            return self.page
        if severity is Severity.TICKET:
            return self.ticket
        raise ValueError(f"SLO alerts are page or ticket, got {severity.value!r}")


# -- the SLO -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class SLOSpec:
    """One SLO, checked: what is measured, the objective, the window, and how it alerts.

    ``objective`` is a percentage as written (99.9); :attr:`target` is the fraction (0.999).
    ``window`` is the rolling period, or the nominal length of a calendar period (7d, 30d,
    90d) when ``calendar`` is set. ``group_by`` makes one SLO per distinct value set of
    those labels. ``min_events`` is the minimum-traffic guard: a window with fewer total
    events than this has no burn rate (three requests with one error do not page).
    """

    name: str
    service: str
    objective: float
    sli: SLI
    alerting: AlertingSpec
    window: timedelta = DEFAULT_WINDOW
    calendar: CalendarPeriod | None = None
    budgeting: Budgeting = Budgeting.OCCURRENCES
    timeslice: timedelta | None = None
    timeslice_target: float | None = None
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    metadata_labels: Mapping[str, str] = field(default_factory=dict)
    group_by: tuple[str, ...] = ()
    min_events: float = 0.0
    source: SourceKind = SourceKind.STORE
    origin: str = "native"
    where: SourceLocation | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("name must not be empty")
        if not self.service:
            raise ValueError("service must not be empty")
        if not 0 < self.objective < 100:
            raise ValueError(f"objective must be a percentage between 0 and 100 (exclusive), "
                             f"got {self.objective}")
        if self.window <= timedelta(0):
            raise ValueError(f"window must be positive, got {fmt_window(self.window)}")
        for w in self.alerting.windows:
            if w.long_window > self.window:
                raise ValueError(f"alert window {fmt_window(w.long_window)} is longer than "
                                 f"the SLO window {fmt_window(self.window)}")
        if self.budgeting is not Budgeting.OCCURRENCES and self.timeslice is None:
            raise ValueError(f"budgeting {self.budgeting.value} needs a timeslice duration")
        if self.min_events < 0:
            raise ValueError(f"min_events must be >= 0, got {self.min_events}")

    @property
    def target(self) -> float:
        """Return the objective as a fraction, e.g. 0.999."""
        return self.objective / 100.0

    @property
    def error_budget(self) -> float:
        """Return the share of events allowed to be bad, e.g. 0.001."""
        return 1.0 - self.target
