"""The native ``kind: SLO``: an events-ratio SLI, a rolling window and burn-rate alerting.

The shape follows Sloth's ``prometheus/v1`` service level so that its users recognise it::

    apiVersion: watchkeeper.dev/v1
    kind: SLO
    metadata: {name: churn-availability}
    spec:
      service: churn-model
      objective: 99.9
      window: 30d
      sli:
        events:
          bad: 'model_requests_total{model="churn",code=~"5.."}'
          total: 'model_requests_total{model="churn"}'
      alerting:
        name: ChurnAvailabilityBurn
"""

from __future__ import annotations

import re
from datetime import timedelta

from monitor.config.documents import API_VERSION, Document
from monitor.config.errors import ConfigError
from monitor.config.schema import Fields
from monitor.config.yaml import Node
from monitor.core.matchers import Selector, parse_selector
from monitor.core.model import Severity
from monitor.slo.model import (
    DEFAULT_ALERT_NAME,
    DEFAULT_WINDOW,
    AlertingSpec,
    EventsSLI,
    SeverityAlerting,
    SLOSpec,
)
from monitor.slo.windows import SLO_SEVERITIES, BurnRateWindow, default_windows, fmt_window

__all__ = [
    "DEFAULT_ALERT_NAME",
    "DEFAULT_RUNBOOK_URL",
    "RESERVED_LABELS",
    "SLO_KIND",
    "AlertingSpec",
    "BurnRateWindow",
    "EventsSLI",
    "SLOSpec",
    "SeverityAlerting",
    "from_document",
]

SLO_KIND = "SLO"
DEFAULT_RUNBOOK_URL = "runbooks/slo-burn.md"
#: Labels the evaluator sets on every signal; a spec may not set them itself.
RESERVED_LABELS = frozenset({"slo", "severity", "service", "alertname"})

_SPEC = {"service", "description", "objective", "window", "labels", "sli", "alerting"}
_ALERTING = {"name", "labels", "annotations", "page", "ticket", "windows"}
_SEVERITY = {"disable", "labels", "annotations"}
_WINDOW = {"severity", "long", "short", "factor"}
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def from_document(doc: Document, errors: list[ConfigError]) -> SLOSpec | None:
    """Check one ``kind: SLO`` document; return its spec, or ``None`` after adding problems.

    Parameters
    ----------
    doc
        A document whose ``kind`` is ``SLO``.
    errors
        Every problem found is appended here, each with its ``file:line:col``.

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
    window = f.duration("window", DEFAULT_WINDOW)
    labels = _labels(f, "labels")
    sli = _sli(f)
    alerting = _alerting(f, window)
    if len(errors) > before or sli is None or alerting is None:
        return None
    try:
        return SLOSpec(name=doc.name, service=service, objective=objective, sli=sli,
                       alerting=alerting, window=window, description=description,
                       labels=labels, metadata_labels=dict(doc.labels), where=doc.where)
    except ValueError as exc:  # an invariant the readers above did not foresee
        f.error(doc.where, "spec", str(exc))
        return None


def _objective(f: Fields) -> float:
    objective = f.float("objective", required=True)
    if _is_number(f, "objective"):
        if objective >= 100:
            f.error(f.at("objective"), "spec.objective", f"{objective:g} is out of range",
                    "use a percentage below 100, e.g. 99.9")
        elif not objective > 0:  # also NaN
            f.error(f.at("objective"), "spec.objective", f"{objective:g} is out of range",
                    "use a percentage above 0, e.g. 99.9")
    return objective


def _labels(f: Fields, key: str) -> dict[str, str]:
    """Read a label map and check each name; the evaluator's own labels are refused."""
    labels: dict[str, str] = f.str_map(key)
    raw = f.node.get(key)
    for name in labels:
        where = raw.key_at(name) if isinstance(raw, Node) else f.at(key)
        path = f"{f.path}.{key}.{name}"
        if not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
            f.error(where, path, f"invalid label name {name!r}",
                    "use letters, digits and underscores, not starting with a digit or __")
        elif name in RESERVED_LABELS:
            f.error(where, path, f"label {name!r} is set by the SLO engine",
                    "set spec.service instead" if name == "service"
                    else "choose another label name")
    return labels


def _selector(f: Fields, key: str) -> Selector | None:
    if not f.has(key):
        return None
    if f.node[key] == "":
        f.error(f.at(key), f"{f.path}.{key}", "selector is empty",
                'write metric_name{label="value"}')
        return None
    return f.convert(key, parse_selector, None)


def _sli(f: Fields) -> EventsSLI | None:
    sli = f.sub("sli", {"events"}, required=True)
    if not f.has("sli"):
        return None
    events = sli.sub("events", {"good", "bad", "total"}, required=True)
    if not sli.has("events"):
        return None
    has_good, has_bad = events.has("good"), events.has("bad")
    if has_good and has_bad:
        events.error(events.at("bad"), events.path, "both good and bad are set",
                     "keep one: good counts the successful events, bad the failed ones")
    elif not (has_good or has_bad):
        events.error(events.where, events.path, "neither good nor bad is set",
                     "add good: (the successful events) or bad: (the failed events)")
    if not events.has("total"):
        events.error(events.where, f"{events.path}.total", "required key is missing",
                     "add total: with a selector of all events")
    good, bad, total = _selector(events, "good"), _selector(events, "bad"), _selector(
        events, "total")
    if total is None or (good is None) == (bad is None):
        return None
    return EventsSLI(total=total, good=good, bad=bad)


def _severity(a: Fields, key: str) -> SeverityAlerting:
    s = a.sub(key, _SEVERITY)
    return SeverityAlerting(disable=s.bool("disable"), labels=_labels(s, "labels"),
                            annotations=s.str_map("annotations"))


def _alerting(f: Fields, window: timedelta) -> AlertingSpec | None:
    a = f.sub("alerting", _ALERTING)
    name = a.str("name", DEFAULT_ALERT_NAME)
    a.check("name", bool(_METRIC_NAME.fullmatch(name)), f"invalid alert name {name!r}",
            "use letters, digits, underscores and colons, e.g. ChurnAvailabilityBurn")
    labels, annotations = _labels(a, "labels"), a.str_map("annotations")
    page, ticket = _severity(a, "page"), _severity(a, "ticket")
    if a.has("windows"):
        windows = _windows(a, window)
    else:
        try:
            windows = default_windows(window)
        except ValueError as exc:
            f.error(f.at("window"), "spec.window", str(exc))
            return None
    if not windows:
        return None
    return AlertingSpec(windows=windows, name=name if _METRIC_NAME.fullmatch(name)
                        else DEFAULT_ALERT_NAME, labels=labels, annotations=annotations,
                        page=page, ticket=ticket)


def _windows(a: Fields, period: timedelta) -> tuple[BurnRateWindow, ...]:
    items = a.item_fields("windows", _WINDOW)
    if not items and isinstance(a.node.get("windows"), list):
        a.error(a.at("windows"), "spec.alerting.windows", "no windows are listed",
                "list at least one, or remove windows: to use the defaults")
    out: list[BurnRateWindow] = []
    for w in items:
        ok = len(a.errors)
        severity = w.str("severity")
        if not w.has("severity"):
            w.error(w.where, f"{w.path}.severity", "required key is missing",
                    "add severity: page or severity: ticket")
        elif severity and severity not in {s.value for s in SLO_SEVERITIES}:
            w.error(w.at("severity"), f"{w.path}.severity",
                    f"severity {severity!r} is not page or ticket",
                    "use page (wakes someone) or ticket (waits for work hours)")
        long, short = w.duration("long", required=True), w.duration("short", required=True)
        factor = w.float("factor", required=True)
        if _is_number(w, "factor"):
            w.check("factor", factor > 0, f"factor must be > 0, got {factor:g}",
                    "use the burn rate that should fire, e.g. 14.4")
        if w.has("long") and w.has("short") and long and short:
            w.check("short", short < long, f"short window {fmt_window(short)} must be shorter "
                    f"than the long window {fmt_window(long)}",
                    "the short window checks the burn is still going on, e.g. long: 1h, short: 5m")
            w.check("long", long <= period, f"long window {fmt_window(long)} is longer than "
                    f"the SLO window {fmt_window(period)}", "use a window inside the SLO's")
        if len(a.errors) > ok or not severity:
            continue
        try:
            out.append(BurnRateWindow(severity=Severity(severity), long_window=long,
                                      short_window=short, factor=factor))
        except ValueError as exc:  # an invariant the checks above did not foresee
            w.error(w.where, w.path, str(exc))
    return tuple(out)


def _is_number(f: Fields, key: str) -> bool:
    value = f.node.get(key)
    return isinstance(value, (int, float)) and not isinstance(value, bool)
