"""The native ``kind: SLO``: any SLI kind, a rolling or calendar window, budgets and alerting.

The shape follows Sloth's ``prometheus/v1`` service level so that its users recognise it::

    apiVersion: watchkeeper.dev/v1
    kind: SLO
    metadata: {name: churn-availability}
    spec:
      service: churn-model
      objective: 99.9
      window: 30d                      # or calendar: {unit: month, timezone: Europe/Berlin}
      group_by: [tenant]
      min_events: 100
      sli:
        events:                        # or another SLI kind (see monitor.slo.spec_sli)
          bad: 'model_requests_total{model="churn",code=~"5.."}'
          total: 'model_requests_total{model="churn"}'
      alerting:
        name: ChurnAvailabilityBurn
        no_data: {enabled: true, after: 30m}
        exhaustion: {enabled: true, within: 3d}
"""

from __future__ import annotations

import re
from datetime import timedelta

from monitor.config.documents import API_VERSION, Document
from monitor.config.errors import ConfigError, SourceLocation
from monitor.config.schema import Fields
from monitor.config.yaml import Node
from monitor.core.model import Severity
from monitor.slo.calendar import check_timezone, nominal_window
from monitor.slo.model import (
    DEFAULT_ALERT_NAME,
    DEFAULT_WINDOW,
    SLI,
    AlertingSpec,
    Budgeting,
    CalendarPeriod,
    CalendarUnit,
    DriftChecksSLI,
    EventsSLI,
    ExhaustionAlert,
    GroundTruthSLI,
    NoDataAlert,
    PromQLSLI,
    SeverityAlerting,
    SLOSpec,
    SourceKind,
)
from monitor.slo.signals import DEFAULT_RUNBOOK_URL
from monitor.slo.spec_sli import SLI_KINDS, is_number, read_sli
from monitor.slo.windows import SLO_SEVERITIES, BurnRateWindow, default_windows, fmt_window

__all__ = [
    "DEFAULT_ALERT_NAME",
    "DEFAULT_RUNBOOK_URL",
    "RESERVED_LABELS",
    "SLI_KINDS",
    "SLO_KIND",
    "AlertingSpec",
    "BurnRateWindow",
    "EventsSLI",
    "SLOSpec",
    "SeverityAlerting",
    "from_document",
]

SLO_KIND = "SLO"
#: Labels the evaluator sets on every signal; a spec may not set them itself.
RESERVED_LABELS = frozenset({"slo", "severity", "service", "alertname"})

_SPEC = {"service", "description", "objective", "window", "calendar", "labels", "sli",
         "alerting", "budgeting", "timeslice", "group_by", "min_events", "source"}
_ALERTING = {"name", "labels", "annotations", "page", "ticket", "windows", "dashboard_url",
             "no_data", "exhaustion"}
_SEVERITY = {"disable", "labels", "annotations"}
_WINDOW = {"severity", "long", "short", "factor", "for", "disable"}
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SEVERITY_HINT = "use page (wakes someone) or ticket (waits for work hours)"


def from_document(doc: Document, errors: list[ConfigError]) -> SLOSpec | None:
    """Check one ``kind: SLO`` document; return its spec, or ``None`` after adding problems.

    Parameters
    ----------
    doc
        A document whose ``kind`` is ``SLO``.
    errors
        Every problem found is appended here, each with its ``file:line:col`` and a hint.

    Raises
    ------
    ValueError
        If *doc* is not of kind ``SLO`` (the caller dispatches on kind).
    """
    if doc.kind != SLO_KIND:
        raise ValueError(f"expected a document of kind {SLO_KIND}, got {doc.kind!r}")
    before = len(errors)
    if doc.api_version != API_VERSION:
        errors.append(ConfigError(
            doc.where, "apiVersion", f"unsupported apiVersion {doc.api_version!r} for kind SLO",
            f"use {API_VERSION}", doc.context))
    f = doc.fields(errors, _SPEC)
    if doc.spec is None and not any(e.key == "spec" and e.where == doc.where for e in errors):
        f.error(doc.where, "spec", "is empty", "add service:, objective: and sli: under spec:")
    if not isinstance(doc.spec, Node):  # a list or a scalar was reported by doc.fields
        return None
    service, description = f.str("service", required=True), f.str("description")
    objective = _objective(f)
    window, calendar = _window(f)
    labels = _labels(f, "labels")
    sli = read_sli(f)
    budgeting, timeslice, slice_target = _budgeting(f, window)
    group_by = _group_by(f, sli)
    min_events = f.float("min_events")
    f.check("min_events", min_events >= 0, f"min_events must be >= 0, got {min_events:g}",
            "use the fewest events a window needs before it may alert, e.g. 100")
    source = SourceKind(f.choice("source", {k.value for k in SourceKind}, SourceKind.STORE))
    if isinstance(sli, PromQLSLI) and sli.error_ratio_query and min_events:
        f.error(f.at("min_events"), "spec.min_events", "an error_ratio_query has no event "
                "counts to guard", "remove min_events:, or write error_query: and total_query:")
    alerting = _alerting(f, window)
    if len(errors) > before or sli is None or alerting is None:
        return None
    try:
        return SLOSpec(name=doc.name, service=service, objective=objective, sli=sli,
                       alerting=alerting, window=window, calendar=calendar,
                       budgeting=budgeting, timeslice=timeslice, timeslice_target=slice_target,
                       description=description, labels=labels,
                       metadata_labels=dict(doc.labels), group_by=group_by,
                       min_events=min_events, source=source, where=doc.where)
    except ValueError as exc:  # an invariant the readers above did not foresee
        f.error(doc.where, "spec", str(exc))
        return None


def _objective(f: Fields) -> float:
    objective = f.float("objective", required=True)
    if is_number(f, "objective"):
        if objective >= 100:
            f.error(f.at("objective"), "spec.objective", f"{objective:g} is out of range",
                    "use a percentage below 100, e.g. 99.9")
        elif not objective > 0:  # also NaN
            f.error(f.at("objective"), "spec.objective", f"{objective:g} is out of range",
                    "use a percentage above 0, e.g. 99.9")
    return objective


def _window(f: Fields) -> tuple[timedelta, CalendarPeriod | None]:
    """Read ``window:`` (rolling) or ``calendar:``; a calendar's window is its nominal length."""
    window = f.duration("window", DEFAULT_WINDOW)
    if not f.has("calendar"):
        return window, None
    c = f.sub("calendar", {"unit", "timezone"})
    if f.has("window"):
        f.error(f.at("calendar"), "spec.calendar", "both window and calendar are set",
                "keep window: for a rolling period or calendar: for a calendar one")
    unit = CalendarUnit(c.choice("unit", {u.value for u in CalendarUnit}, "month"))
    if not c.has("unit"):
        c.error(c.where, "spec.calendar.unit", "required key is missing",
                "add unit: week, month or quarter")
    zone = c.str("timezone", "UTC")
    try:
        check_timezone(zone)
    except ValueError as exc:
        problem, _, hint = str(exc).partition("; ")
        c.error(c.at("timezone"), "spec.calendar.timezone", problem, hint)
        zone = "UTC"
    return nominal_window(unit), CalendarPeriod(unit=unit, timezone=zone)


def _labels(f: Fields, key: str) -> dict[str, str]:
    """Read a label map and check each name; the evaluator's own labels are refused."""
    labels: dict[str, str] = f.str_map(key)
    raw = f.node.get(key)
    for name in labels:
        where = raw.key_at(name) if isinstance(raw, Node) else f.at(key)
        _check_label(f, where, f"{f.path}.{key}.{name}", name)
    return labels


def _check_label(f: Fields, at: SourceLocation, path: str, name: str) -> None:
    if not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
        f.error(at, path, f"invalid label name {name!r}",
                "use letters, digits and underscores, not starting with a digit or __")
    elif name in RESERVED_LABELS:
        f.error(at, path, f"label {name!r} is set by the SLO engine",
                "set spec.service instead" if name == "service" else "choose another label name")


def _budgeting(f: Fields, window: timedelta) -> tuple[Budgeting, timedelta | None, float | None]:
    method = Budgeting(f.choice("budgeting", {b.value for b in Budgeting}, "Occurrences"))
    t = f.sub("timeslice", {"duration", "target"})
    if method is Budgeting.OCCURRENCES:
        if f.has("timeslice"):
            f.error(f.at("timeslice"), "spec.timeslice", "timeslice is set but budgeting is "
                    "Occurrences", "set budgeting: Timeslices or RatioTimeslices, or remove it")
        return method, None, None
    if not f.has("timeslice"):
        f.error(f.where, "spec.timeslice", "required key is missing",
                f"budgeting {method.value} needs timeslice: {{duration: 1m"
                + (", target: 0.95}" if method is Budgeting.TIMESLICES else "}"))
        return method, None, None
    duration = t.duration("duration", required=True)
    if duration and duration >= window:
        t.error(t.at("duration"), "spec.timeslice.duration", f"timeslice {fmt_window(duration)}"
                f" is not shorter than the SLO window {fmt_window(window)}",
                "use a short slice such as 1m or 5m")
    target: float | None = None
    if method is Budgeting.TIMESLICES:
        target = t.float("target", required=True)
        t.check("target", not is_number(t, "target") or 0 < target <= 1,
                f"target must be a fraction in (0, 1], got {target:g}",
                "a slice is good when its ratio is at least target, e.g. 0.95")
    elif t.has("target"):
        t.error(t.at("target"), "spec.timeslice.target", "RatioTimeslices has no slice target",
                "remove target: (each slice's ratio counts), or use budgeting: Timeslices")
    return method, duration or None, target


def _group_by(f: Fields, sli: SLI | None) -> tuple[str, ...]:
    names: list[str] = []
    for i, item, where in f.items("group_by"):
        if not isinstance(item, str):
            f.error(where, f"spec.group_by[{i}]", "expected a label name",
                    "list label names, e.g. [tenant]")
            continue
        _check_label(f, where, f"spec.group_by[{i}]", item)
        if item in names:
            f.error(where, f"spec.group_by[{i}]", f"label {item!r} is listed twice",
                    "list each label once")
        names.append(item)
    if names and isinstance(sli, (DriftChecksSLI, GroundTruthSLI, PromQLSLI)):
        f.error(f.at("group_by"), "spec.group_by", "group_by needs an SLI over labelled series",
                "use it with events, latency, probe or bool_gauge SLIs")
    return tuple(names)


def _severity(a: Fields, key: str) -> SeverityAlerting:
    s = a.sub(key, _SEVERITY)
    return SeverityAlerting(disable=s.bool("disable"), labels=_labels(s, "labels"),
                            annotations=s.str_map("annotations"))


def _alert_severity(f: Fields, default: Severity) -> Severity:
    value = f.str("severity", default.value)
    if value not in {s.value for s in SLO_SEVERITIES}:
        f.error(f.at("severity"), f"{f.path}.severity",
                f"severity {value!r} is not page or ticket", _SEVERITY_HINT)
        return default
    return Severity(value)


def _alerting(f: Fields, window: timedelta) -> AlertingSpec | None:
    a = f.sub("alerting", _ALERTING)
    name = a.str("name", DEFAULT_ALERT_NAME)
    a.check("name", bool(_METRIC_NAME.fullmatch(name)), f"invalid alert name {name!r}",
            "use letters, digits, underscores and colons, e.g. ChurnAvailabilityBurn")
    labels, annotations = _labels(a, "labels"), a.str_map("annotations")
    page, ticket = _severity(a, "page"), _severity(a, "ticket")
    n = a.sub("no_data", {"enabled", "after", "severity"})
    no_data = NoDataAlert(enabled=n.bool("enabled"), after=n.duration("after",
                          NoDataAlert().after), severity=_alert_severity(n, Severity.TICKET))
    e = a.sub("exhaustion", {"enabled", "within", "lookback", "severity"})
    lookback = e.duration("lookback", min(ExhaustionAlert().lookback, window))
    if e.has("lookback"):
        e.check("lookback", lookback <= window, f"lookback {fmt_window(lookback)} is longer "
                f"than the SLO window {fmt_window(window)}",
                "use a lookback inside the SLO window, e.g. 6h")
    exhaustion = ExhaustionAlert(
        enabled=e.bool("enabled"), within=e.duration("within", ExhaustionAlert().within),
        lookback=lookback, severity=_alert_severity(e, Severity.TICKET))
    dashboard_url = a.str("dashboard_url")
    if a.has("windows"):
        windows = _windows(a, window)
        if windows is None:
            return None
    else:
        try:
            windows = default_windows(window)
        except ValueError as exc:
            f.error(f.at("window"), "spec.window", str(exc))
            return None
    return AlertingSpec(windows=windows, name=name if _METRIC_NAME.fullmatch(name)
                        else DEFAULT_ALERT_NAME, labels=labels, annotations=annotations,
                        page=page, ticket=ticket, no_data=no_data, exhaustion=exhaustion,
                        dashboard_url=dashboard_url, custom_windows=a.has("windows"))


def _windows(a: Fields, period: timedelta) -> tuple[BurnRateWindow, ...] | None:
    """Read the listed tiers; a tier with ``disable: true`` is checked, then dropped."""
    items = a.item_fields("windows", _WINDOW)
    if not items:
        if isinstance(a.node.get("windows"), list):
            a.error(a.at("windows"), "spec.alerting.windows", "no windows are listed",
                    "list at least one, or remove windows: to use the defaults")
        return None
    out: list[BurnRateWindow] = []
    for w in items:
        ok = len(a.errors)
        severity = w.str("severity")
        if not w.has("severity"):
            w.error(w.where, f"{w.path}.severity", "required key is missing",
                    "add severity: page or severity: ticket")
        elif severity and severity not in {s.value for s in SLO_SEVERITIES}:
            w.error(w.at("severity"), f"{w.path}.severity",
                    f"severity {severity!r} is not page or ticket", _SEVERITY_HINT)
        long, short = w.duration("long", required=True), w.duration("short", required=True)
        factor, for_duration = w.float("factor", required=True), w.duration("for")
        if is_number(w, "factor"):
            w.check("factor", factor > 0, f"factor must be > 0, got {factor:g}",
                    "use the burn rate that should fire, e.g. 14.4")
        if w.has("long") and w.has("short") and long and short:
            w.check("short", short < long, f"short window {fmt_window(short)} must be shorter "
                    f"than the long window {fmt_window(long)}",
                    "the short window checks the burn is still going on, e.g. long: 1h, short: 5m")
            w.check("long", long <= period, f"long window {fmt_window(long)} is longer than "
                    f"the SLO window {fmt_window(period)}", "use a window inside the SLO's")
        if len(a.errors) > ok or not severity or w.bool("disable"):
            continue
        try:
            out.append(BurnRateWindow(severity=Severity(severity), long_window=long,
                                      short_window=short, factor=factor,
                                      for_duration=for_duration))
        except ValueError as exc:  # an invariant the checks above did not foresee
            w.error(w.where, w.path, str(exc))
    return tuple(out)
