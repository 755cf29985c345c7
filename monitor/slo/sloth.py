"""Sloth SLO files, read as they are: ``version: prometheus/v1`` and ``PrometheusServiceLevel``.

Both forms hold one service and its SLOs; the Kubernetes object (``sloth.slok.dev/v1``)
puts them under ``spec`` and spells keys in camelCase (``errorQuery``, ``pageAlert``).
Sloth itself accepts either spelling in both forms, and so does this reader.

Sloth SLIs are PromQL with a ``{{.window}}`` placeholder and stay PromQL
(:class:`~monitor.slo.model.PromQLSLI`, ``source: prometheus``). Each SLO is named by
Sloth's id, ``<service>-<slo name>``, which is unique wherever Sloth's own checks pass.
The period is Sloth's default, 30 days, with the SRE Workbook burn-rate tiers unless an
``AlertWindows`` catalogue for 30d replaces them.
"""

from __future__ import annotations

import re
from datetime import timedelta

from monitor.config.documents import SLOTH_KIND, SLOTH_VERSION, Document
from monitor.config.errors import ConfigError
from monitor.config.schema import Fields
from monitor.config.yaml import Node
from monitor.slo.model import (
    DEFAULT_ALERT_NAME,
    AlertingSpec,
    PromQLSLI,
    SeverityAlerting,
    SLOSpec,
    SourceKind,
)
from monitor.slo.windows import default_windows

__all__ = ["SLOTH_DEFAULT_WINDOW", "SLOTH_K8S_KIND", "is_sloth", "read_sloth"]

SLOTH_K8S_KIND = "PrometheusServiceLevel"
_K8S_API_VERSION = "sloth.slok.dev/v1"
#: Sloth's SLO period when none is configured.
SLOTH_DEFAULT_WINDOW = timedelta(days=30)

_TOP = {"service", "labels", "slos", "slo_plugins", "sloPlugins"}
_SLO = {"name", "objective", "description", "labels", "sli", "alerting", "plugins"}
_SLI = {"events", "raw", "plugin"}
_EVENTS = {"error_query", "total_query", "errorQuery", "totalQuery"}
_RAW = {"error_ratio_query", "errorRatioQuery"}
_ALERTING = {"name", "labels", "annotations", "page_alert", "ticket_alert", "pageAlert",
             "ticketAlert"}
_ALERT = {"disable", "labels", "annotations"}
_WINDOW_VAR = re.compile(r"\{\{\s*\.window\s*\}\}")
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def is_sloth(doc: Document) -> bool:
    """Return whether *doc* is a Sloth service-level file (plain or Kubernetes form)."""
    return ((doc.kind == SLOTH_KIND and doc.api_version == SLOTH_VERSION)
            or (doc.kind == SLOTH_K8S_KIND and doc.api_version == _K8S_API_VERSION))


def read_sloth(doc: Document, errors: list[ConfigError], *,
               period: timedelta = SLOTH_DEFAULT_WINDOW) -> list[SLOSpec]:
    """Check one Sloth document; return a spec per SLO that has no problems.

    Sloth files carry no period; *period* plays Sloth's ``--default-slo-period``.

    Parameters
    ----------
    doc
        A document for which :func:`is_sloth` holds.
    errors
        Every problem found is appended here, each with its ``file:line:col``.
    """
    plain = doc.kind == SLOTH_KIND
    f = Fields(doc.spec, path="" if plain else "spec", context=doc.context, errors=errors,
               allowed=_TOP | {"version"} if plain else _TOP, where=doc.where)
    for key in ("slo_plugins", "sloPlugins"):
        f.check(key, not f.has(key), "SLO plugins are not supported",
                "remove them; the SLO engine computes the rules itself")
    service = f.str("service", required=True)
    labels = _labels(f, "labels")
    slos = f.item_fields("slos", _SLO, required=True)
    if not slos and isinstance(f.node.get("slos"), list):
        f.error(f.at("slos"), f._key("slos"), "no SLOs are listed", "list at least one")
    out = []
    origin = "sloth" if plain else doc.api_version
    for slo in slos:
        spec = _slo(slo, doc, service, labels, origin, period)
        if spec is not None:
            out.append(spec)
    return out


def _slo(s: Fields, doc: Document, service: str, labels: dict[str, str], origin: str,
         period: timedelta) -> SLOSpec | None:
    before = len(s.errors)
    name = s.str("name", required=True)
    objective = s.float("objective", required=True)
    if _is_number(s, "objective"):
        s.check("objective", 0 < objective < 100, f"objective {objective:g} is out of range",
                "use a percentage between 0 and 100 (exclusive), e.g. 99.9")
    s.check("plugins", not s.has("plugins"), "SLO plugins are not supported",
            "remove them; the SLO engine computes the rules itself")
    slo_labels = {**labels, **_labels(s, "labels")}
    sli = _sli(s)
    alerting = _alerting(s, period)
    if len(s.errors) > before or sli is None or alerting is None or not service:
        return None
    try:
        return SLOSpec(name=f"{service}-{name}", service=service, objective=objective,
                       sli=sli, alerting=alerting, window=period,
                       description=s.str("description"), labels=slo_labels,
                       metadata_labels=dict(doc.labels), source=SourceKind.PROMETHEUS,
                       origin=origin, where=s.where)
    except ValueError as exc:  # an invariant the checks above did not foresee
        s.error(s.where, s.path, str(exc))
        return None


def _sli(s: Fields) -> PromQLSLI | None:
    sli = s.sub("sli", _SLI, required=True)
    if sli.has("plugin"):
        sli.error(sli.node.key_at("plugin"), f"{sli.path}.plugin",
                  "SLI plugins are not supported; use events or raw",
                  "write the plugin's queries under events: (error_query, total_query)")
        return None
    kinds = [k for k in ("events", "raw") if sli.has(k)]
    if len(kinds) != 1:
        if s.has("sli"):
            sli.error(sli.where, sli.path, "set exactly one of events or raw, got "
                      + (" and ".join(kinds) or "neither"),
                      "events: counts bad and total events; raw: an error ratio query")
        return None
    if kinds == ["events"]:
        events = sli.sub("events", _EVENTS)
        error = _query(events, "error_query", "errorQuery")
        total = _query(events, "total_query", "totalQuery")
        return PromQLSLI(error_query=error, total_query=total) if error and total else None
    raw = sli.sub("raw", _RAW)
    ratio = _query(raw, "error_ratio_query", "errorRatioQuery")
    return PromQLSLI(error_ratio_query=ratio) if ratio else None


def _query(f: Fields, snake: str, camel: str) -> str:
    """Read a PromQL query under either spelling; it must hold ``{{.window}}``."""
    if f.has(snake) and f.has(camel):
        f.error(f.node.key_at(camel), f"{f.path}.{camel}", f"both {snake} and {camel} are set",
                "keep one spelling")
        return ""
    key = camel if f.has(camel) else snake
    if not f.has(key):
        f.error(f.where, f"{f.path}.{snake}", "required key is missing",
                f"add {snake}: with a PromQL query using [{{{{.window}}}}]")
        return ""
    query = f.str(key).strip()
    if f.has(key) and isinstance(f.node[key], str):
        f.check(key, bool(query), "query is empty",
                "write a PromQL query, e.g. sum(rate(http_requests_total[{{.window}}]))")
        if query and not _WINDOW_VAR.search(query):
            f.error(f.at(key), f"{f.path}.{key}", "query has no {{.window}} placeholder",
                    "write [{{.window}}] where the range goes, e.g. "
                    "sum(rate(http_requests_total[{{.window}}]))")
            return ""
    return _WINDOW_VAR.sub("{{.window}}", query)


def _alerting(s: Fields, period: timedelta) -> AlertingSpec | None:
    a = s.sub("alerting", _ALERTING)
    name = a.str("name", DEFAULT_ALERT_NAME)
    page = _alert(a, "page_alert", "pageAlert")
    ticket = _alert(a, "ticket_alert", "ticketAlert")
    if not _METRIC_NAME.fullmatch(name):
        a.error(a.at("name"), f"{a.path}.name", f"invalid alert name {name!r}",
                "use letters, digits, underscores and colons, e.g. MyServiceAlert")
        return None
    return AlertingSpec(windows=default_windows(period), name=name,
                        labels=_labels(a, "labels"), annotations=a.str_map("annotations"),
                        page=page, ticket=ticket)


def _alert(a: Fields, snake: str, camel: str) -> SeverityAlerting:
    if a.has(snake) and a.has(camel):
        a.error(a.node.key_at(camel), f"{a.path}.{camel}", f"both {snake} and {camel} are set",
                "keep one spelling")
    alert = a.sub(camel if a.has(camel) else snake, _ALERT)
    return SeverityAlerting(disable=alert.bool("disable"), labels=_labels(alert, "labels"),
                            annotations=alert.str_map("annotations"))


def _labels(f: Fields, key: str) -> dict[str, str]:
    labels = f.str_map(key)
    raw = f.node.get(key)
    for name in labels:
        if not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
            f.error(raw.key_at(name) if isinstance(raw, Node) else f.at(key),
                    f"{f._key(key)}.{name}", f"invalid label name {name!r}",
                    "use letters, digits and underscores, not starting with a digit or __")
    return labels


def _is_number(f: Fields, key: str) -> bool:
    value = f.node.get(key)
    return isinstance(value, (int, float)) and not isinstance(value, bool)
