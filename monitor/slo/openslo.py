"""OpenSLO ``openslo/v1`` documents, read as they are, with references resolved.

Kinds: ``SLO``, ``SLI``, ``AlertPolicy``, ``AlertCondition``, ``AlertNotificationTarget``,
``Service`` and ``DataSource``. An SLO's indicator, alert policies, their conditions and
notification targets may be inline or named by reference (``indicatorRef``,
``alertPolicyRef``, ``conditionRef``, ``targetRef``, ``metricSourceRef``).

Mapping to the one model:

- Metric sources must be Prometheus. A query that is a plain selector, ``sum(sel)``, or
  ``[sum(]rate|increase(sel[..])[)]`` becomes an events SLI over stored samples; any other
  query stays PromQL (``source: prometheus``) with ``{{.window}}`` where its ranges were.
- A threshold metric ``sel`` with ``op: gt, value: 0`` is a bool gauge; other thresholds
  become the PromQL share of time the condition failed.
- Each burn-rate ``AlertCondition`` is one tier: ``lookbackWindow`` is the long window, a
  twelfth of it the short one (the SRE Workbook's ratio), ``threshold`` the factor,
  ``alertAfter`` its ``for``; ``severity`` maps to page or ticket.
- One spec per objective, named ``<slo>-<index>`` as Sloth names them.
- The annotation ``watchkeeper.dev/source: store|prometheus`` picks where events SLIs are
  read (default: the store).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config.documents import Document
from monitor.config.errors import ConfigError, SourceLocation
from monitor.config.schema import Fields, suggest
from monitor.core.matchers import Selector, parse_selector
from monitor.core.model import Severity
from monitor.slo.model import (
    SLI,
    AlertingSpec,
    BoolGaugeSLI,
    Budgeting,
    CalendarPeriod,
    CalendarUnit,
    EventsSLI,
    NoDataAlert,
    PromQLSLI,
    SeverityAlerting,
    SLOSpec,
    SourceKind,
)
from monitor.slo.windows import BurnRateWindow, default_windows, fmt_window

__all__ = ["OPENSLO_API_VERSION", "OPENSLO_KINDS", "is_openslo", "read_openslo"]

OPENSLO_API_VERSION = "openslo/v1"
OPENSLO_KINDS = frozenset({"SLO", "SLI", "AlertPolicy", "AlertCondition",
                           "AlertNotificationTarget", "Service", "DataSource"})
SOURCE_ANNOTATION = "watchkeeper.dev/source"

_SLO = {"description", "service", "indicator", "indicatorRef", "timeWindow",
        "budgetingMethod", "objectives", "alertPolicies"}
_SLI = {"description", "thresholdMetric", "ratioMetric"}
_RATIO = {"counter", "good", "bad", "total", "raw", "rawType"}
_SOURCE = {"metricSourceRef", "type", "spec"}
_OBJECTIVE = {"displayName", "op", "value", "target", "targetPercent", "timeSliceTarget",
              "timeSliceWindow", "indicator", "indicatorRef"}
_POLICY = {"description", "alertWhenNoData", "alertWhenResolved", "alertWhenBreaching",
           "conditions", "notificationTargets"}
_CONDITION = {"description", "severity", "condition"}
_BURN = {"kind", "op", "threshold", "lookbackWindow", "alertAfter"}
_INLINE = {"apiVersion", "kind", "metadata", "spec"}
_META = {"name", "displayName", "labels", "annotations"}
_OPS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_SEVERITIES = {
    **dict.fromkeys(("page", "critical", "high", "sev1", "p1"), Severity.PAGE),
    **dict.fromkeys(("ticket", "warning", "medium", "low", "info", "sev2", "sev3", "p2", "p3"),
                    Severity.TICKET)}
_CALENDAR = {"1w": CalendarUnit.WEEK, "7d": CalendarUnit.WEEK, "1M": CalendarUnit.MONTH,
             "1Q": CalendarUnit.QUARTER, "3M": CalendarUnit.QUARTER}
_NOMINAL = {CalendarUnit.WEEK: timedelta(days=7), CalendarUnit.MONTH: timedelta(days=30),
            CalendarUnit.QUARTER: timedelta(days=90)}
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
          "w": timedelta(weeks=1), "M": timedelta(days=30), "Q": timedelta(days=90),
          "Y": timedelta(days=365)}
_SHORTHAND = re.compile(r"(\d+)([mhdwMQY])")
_WINDOW_VAR = re.compile(r"\{\{\s*\.window\s*\}\}")
_RANGE = re.compile(r"\[\s*(?:\d+(?:ms|[smhdwy]))+\s*\]")
_LONG_TO_SHORT = 12  # SRE Workbook: the short window is 1/12 of the long one


_Where = tuple[SourceLocation, str]  # a value's location and its key path


@dataclass(frozen=True, slots=True, kw_only=True)
class _Query:
    text: str
    where: SourceLocation


@dataclass(frozen=True, slots=True, kw_only=True)
class _Indicator:
    good: _Query | None = None
    bad: _Query | None = None
    total: _Query | None = None
    raw: _Query | None = None
    raw_failure: bool = False
    counter: bool = True
    threshold: _Query | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Policy:
    windows: tuple[BurnRateWindow, ...]
    lookbacks: tuple[_Where, ...]
    targets: tuple[str, ...]
    no_data: bool
    breaching: bool


class _Reader:
    """Reads every OpenSLO object once, then each SLO against the named objects."""

    def __init__(self, docs: Sequence[Document], errors: list[ConfigError]) -> None:
        self.errors = errors
        self.named: dict[str, dict[str, Document]] = {kind: {} for kind in OPENSLO_KINDS}
        for doc in docs:
            if is_openslo(doc):
                self.named[doc.kind].setdefault(doc.name, doc)
        self.sources = {n: self._datasource(d) for n, d in self.named["DataSource"].items()}
        for doc in self.named["Service"].values():
            doc.fields(errors, {"description"}).str("description")
        for doc in self.named["AlertNotificationTarget"].values():
            f = doc.fields(errors, {"description", "target"})
            f.str("description"), f.str("target", required=True)
        self.conditions = {n: self._condition(d.fields(errors, _CONDITION))
                           for n, d in self.named["AlertCondition"].items()}
        self.indicators = {n: self._indicator(d.fields(errors, _SLI))
                           for n, d in self.named["SLI"].items()}
        self.policies = {n: self._policy(d.fields(errors, _POLICY))
                         for n, d in self.named["AlertPolicy"].items()}

    # -- references and inline objects -------------------------------------------------
    def _ref(self, f: Fields, key: str, kind: str) -> str | None:
        name = f.str(key, required=True)
        if name and name not in self.named[kind]:
            known = self.named[kind]
            f.error(f.at(key), f"{f.path}.{key}", f"unknown {kind} {name!r}",
                    suggest(name, known, f"{kind} names") if known
                    else f"no {kind} is defined; add one named {name!r}")
            return None
        return name or None

    def _inline(self, f: Fields, kind: str, allowed: set[str]) -> Fields:
        """Return the spec readers of an inline object (``kind``/``metadata``/``spec``)."""
        if f.has("kind"):
            f.check("kind", f.node["kind"] == kind, f"expected an inline {kind}, got "
                    f"{f.node['kind']!r}", f"write kind: {kind} or a reference")
        meta = f.sub("metadata", _META)
        meta.str("name"), meta.str("displayName")
        return f.sub("spec", allowed, required=True)

    def _datasource(self, doc: Document) -> str:
        f = doc.fields(self.errors, {"description", "type", "connectionDetails"})
        f.str("description")
        return f.str("type", required=True)

    # -- SLIs -----------------------------------------------------------------------------
    def _indicator(self, f: Fields) -> _Indicator | None:
        before = len(self.errors)
        ratio, threshold = f.has("ratioMetric"), f.has("thresholdMetric")
        if ratio == threshold:
            f.error(f.where, f.path, "set exactly one of ratioMetric or thresholdMetric, got "
                    + ("both" if ratio else "neither"),
                    "ratioMetric: good (or bad) and total events; thresholdMetric: one value")
            return None
        f.str("description")
        if threshold:
            query = self._metric(f, "thresholdMetric")
            return _Indicator(threshold=query) if query and len(self.errors) == before else None
        r = f.sub("ratioMetric", _RATIO)
        counter = r.bool("counter", True)
        if r.has("raw"):
            for key in ("good", "bad", "total"):
                r.check(key, not r.has(key), f"raw and {key} are both set",
                        "use raw with rawType, or good/bad with total")
            kind = r.choice("rawType", {"success", "failure"}, "")
            if not r.has("rawType"):
                r.error(r.where, f"{r.path}.rawType", "required key is missing",
                        "add rawType: success (good/total) or failure (bad/total)")
            raw = self._metric(r, "raw")
            ok = raw is not None and len(self.errors) == before
            return _Indicator(raw=raw, raw_failure=kind == "failure") if ok else None
        if r.has("good") == r.has("bad"):
            r.error(r.where, r.path, "set exactly one of good or bad, got "
                    + ("both" if r.has("good") else "neither"),
                    "good counts the successful events, bad the failed ones")
        good = self._metric(r, "good") if r.has("good") else None
        bad = self._metric(r, "bad") if r.has("bad") else None
        total = self._metric(r, "total", required=True)
        if len(self.errors) > before or total is None:
            return None
        return _Indicator(good=good, bad=bad, total=total, counter=counter)

    def _metric(self, parent: Fields, key: str, *, required: bool = False) -> _Query | None:
        m = parent.sub(key, {"metricSource"}, required=required)
        if not parent.has(key):
            return None
        src = m.sub("metricSource", _SOURCE, required=True)
        kind, where = src.str("type"), src.at("type")
        if src.has("metricSourceRef"):
            ref = self._ref(src, "metricSourceRef", "DataSource")
            if ref is None:
                return None
            kind = kind or self.sources.get(ref, "")
            where = src.at("type") if src.has("type") else src.at("metricSourceRef")
        if not kind:
            src.error(src.where, f"{src.path}.type", "metric source has no type",
                      "add type: Prometheus")
            return None
        if kind.lower() != "prometheus":
            src.error(where, f"{src.path}.type",
                      f"metric source type {kind} is not supported; use prometheus",
                      "SLIs are read from Prometheus queries or the store")
            return None
        spec = src.sub("spec", {"query"}, required=True)
        query = spec.str("query", required=True).strip()
        if spec.has("query") and isinstance(spec.node["query"], str) and not query:
            spec.error(spec.at("query"), f"{spec.path}.query", "query is empty",
                       "write a PromQL query or selector, e.g. http_requests_total")
        return _Query(text=query, where=spec.at("query")) if query else None

    # -- alerting -------------------------------------------------------------------------
    def _condition(self, f: Fields) -> tuple[BurnRateWindow, _Where] | None:
        before = len(self.errors)
        f.str("description")
        severity = _severity(f)
        c = f.sub("condition", _BURN, required=True)
        c.choice("kind", {"burnrate"}, "burnrate")
        c.choice("op", {"gt", "gte"}, "gte")
        factor = c.float("threshold", required=True)
        if isinstance(c.node.get("threshold"), (int, float)):
            c.check("threshold", factor > 0, f"threshold {factor:g} must be > 0",
                    "use the burn rate that should fire, e.g. 14.4")
        long = _duration(c, "lookbackWindow", required=True)
        after = _duration(c, "alertAfter", zero=True) or timedelta(0)
        if len(self.errors) > before or severity is None or long is None:
            return None
        window = BurnRateWindow(severity=severity, long_window=long,
                                short_window=long / _LONG_TO_SHORT, factor=factor,
                                for_duration=after)
        return window, (c.at("lookbackWindow"), f"{c.path}.lookbackWindow")

    def _policy(self, f: Fields) -> _Policy | None:
        before = len(self.errors)
        f.str("description")
        no_data, breaching = f.bool("alertWhenNoData"), f.bool("alertWhenBreaching", True)
        f.bool("alertWhenResolved")
        conditions = []
        for i, item, where in f.items("conditions", required=True):
            c = _item_fields(f, "conditions", i, item, where, {"conditionRef"} | _INLINE)
            if c.has("conditionRef"):
                name = self._ref(c, "conditionRef", "AlertCondition")
                conditions.append(self.conditions.get(name) if name else None)
            else:
                conditions.append(self._condition(self._inline(c, "AlertCondition",
                                                               _CONDITION)))
        targets = []
        for i, item, where in f.items("notificationTargets"):
            t = _item_fields(f, "notificationTargets", i, item, where, {"targetRef"} | _INLINE)
            if t.has("targetRef"):
                name = self._ref(t, "targetRef", "AlertNotificationTarget")
                targets.append(name or "")
            else:
                spec = self._inline(t, "AlertNotificationTarget", {"description", "target"})
                spec.str("description")
                targets.append(spec.str("target", required=True))
        found = [c for c in conditions if c is not None]
        if len(self.errors) > before or len(found) < len(conditions):
            return None
        return _Policy(windows=tuple(w for w, _ in found), lookbacks=tuple(w for _, w in found),
                       targets=tuple(t for t in targets if t), no_data=no_data,
                       breaching=breaching)

    def _alerting(self, s: Fields, window: timedelta) -> AlertingSpec | None:
        policies: list[_Policy | None] = []
        for i, item, where in s.items("alertPolicies"):
            p = _item_fields(s, "alertPolicies", i, item, where, {"alertPolicyRef"} | _INLINE)
            if p.has("alertPolicyRef"):
                name = self._ref(p, "alertPolicyRef", "AlertPolicy")
                policies.append(self.policies.get(name) if name else None)
            else:
                policies.append(self._policy(self._inline(p, "AlertPolicy", _POLICY)))
        if any(p is None for p in policies):
            return None
        found = [p for p in policies if p is not None]
        windows = tuple(w for p in found if p.breaching for w in p.windows)
        for policy in found:
            for w, (at, path) in zip(policy.windows, policy.lookbacks, strict=True):
                if w.long_window > window:
                    s.error(at, path, f"lookbackWindow {fmt_window(w.long_window)} "
                            f"is longer than the SLO window {fmt_window(window)}",
                            "use a lookback inside the SLO's time window")
                    return None
        targets = sorted({t for p in found for t in p.targets})
        labels = {"notification_target": ",".join(targets)} if targets else {}
        no_data = NoDataAlert(enabled=any(p.no_data for p in found))
        if windows:
            return AlertingSpec(windows=windows, labels=labels, no_data=no_data,
                                custom_windows=True)
        try:
            defaults = default_windows(window)
        except ValueError as exc:
            s.error(s.at("timeWindow"), f"{s.path}.timeWindow", str(exc).split(";")[0],
                    "add an alert policy with burn-rate conditions inside the window")
            return None
        # No burn-rate policy: no burn alerts, as Sloth generates none without one.
        off = SeverityAlerting(disable=True)
        return AlertingSpec(windows=defaults, labels=labels, no_data=no_data, page=off,
                            ticket=off)

    # -- SLOs -----------------------------------------------------------------------------
    def slo(self, doc: Document) -> list[SLOSpec]:
        before = len(self.errors)
        s = doc.fields(self.errors, _SLO)
        service, description = s.str("service", required=True), s.str("description")
        indicator = self._slo_indicator(s)
        window, calendar = _time_window(s)
        method = Budgeting(s.choice("budgetingMethod", {b.value for b in Budgeting},
                                    Budgeting.OCCURRENCES.value))
        if not s.has("budgetingMethod"):
            s.error(s.where, "spec.budgetingMethod", "required key is missing",
                    "add budgetingMethod: Occurrences, Timeslices or RatioTimeslices")
        alerting = self._alerting(s, window) if window else None
        objectives = s.item_fields("objectives", _OBJECTIVE, required=True)
        source = doc.annotations.get(SOURCE_ANNOTATION, SourceKind.STORE.value)
        if source not in {k.value for k in SourceKind}:
            s.error(doc.where, f"metadata.annotations.{SOURCE_ANNOTATION}",
                    f"{source!r} is not store or prometheus", "use store or prometheus")
        out = []
        for i, o in enumerate(objectives):
            ind = self._slo_indicator(o) if o.has("indicator") or o.has("indicatorRef") \
                else indicator
            suffix = str(i)  # Sloth names each objective's SLO <slo>-<index>
            sli = _objective_sli(o, ind, store=source == SourceKind.STORE.value)
            target, slices = _target(o), _timeslices(o, method)
            if len(self.errors) > before or None in (sli, target, slices, alerting, window):
                continue
            assert sli is not None and target is not None and slices is not None
            assert alerting is not None and window is not None
            kind = SourceKind.PROMETHEUS if isinstance(sli[0], PromQLSLI) else SourceKind(source)
            try:
                out.append(SLOSpec(service=service, objective=target, sli=sli[0],
                                   alerting=alerting, window=window, calendar=calendar,
                                   budgeting=method, timeslice=slices[0],
                                   timeslice_target=slices[1], description=description,
                                   metadata_labels=dict(doc.labels), source=kind,
                                   origin="openslo",
                                   name=f"{doc.name}-{suffix}" if suffix else doc.name,
                                   where=o.where if suffix else doc.where))
            except ValueError as exc:  # an invariant the checks above did not foresee
                o.error(o.where, o.path, str(exc))
        return out

    def _slo_indicator(self, f: Fields) -> _Indicator | None:
        if f.has("indicator") == f.has("indicatorRef"):
            if f.has("indicator") or f.path == "spec":
                f.error(f.where, f"{f.path}.indicator", "set exactly one of indicator or "
                        "indicatorRef", "inline the SLI under indicator:, or name it with "
                        "indicatorRef:")
            return None
        if f.has("indicatorRef"):
            name = self._ref(f, "indicatorRef", "SLI")
            return self.indicators.get(name) if name else None
        return self._indicator(self._inline(f.sub("indicator", _INLINE), "SLI", _SLI))


def is_openslo(doc: Document) -> bool:
    """Return whether *doc* is one of the OpenSLO ``openslo/v1`` kinds read here."""
    return doc.api_version == OPENSLO_API_VERSION and doc.kind in OPENSLO_KINDS


def read_openslo(docs: Sequence[Document], errors: list[ConfigError]) -> list[SLOSpec]:
    """Check every OpenSLO document of *docs*; return a spec per SLO objective.

    References are resolved across all of *docs*; an unknown name is a problem at the
    reference with the closest known name as a hint.
    """
    reader = _Reader(docs, errors)
    return [spec for doc in reader.named["SLO"].values() for spec in reader.slo(doc)]


# -- objectives --------------------------------------------------------------------------
def _target(o: Fields) -> float | None:
    if o.has("target") == o.has("targetPercent"):
        o.error(o.where, f"{o.path}.target", "set exactly one of target or targetPercent",
                "e.g. target: 0.999 or targetPercent: 99.9")
        return None
    if o.has("target"):
        target = o.float("target")
        o.check("target", 0 < target < 1, f"target {target:g} is out of range",
                "target is a fraction below 1, e.g. 0.999; use targetPercent: for a percentage")
        return round(target * 100, 10) if 0 < target < 1 else None
    percent = o.float("targetPercent")
    o.check("targetPercent", 0 < percent < 100, f"targetPercent {percent:g} is out of range",
            "use a percentage between 0 and 100 (exclusive), e.g. 99.9")
    return percent if 0 < percent < 100 else None


def _timeslices(o: Fields, method: Budgeting) -> tuple[timedelta | None, float | None] | None:
    if method is Budgeting.OCCURRENCES:
        return None, None
    window = _duration(o, "timeSliceWindow", required=True, minutes=True)
    target: float | None = None
    if method is Budgeting.TIMESLICES or o.has("timeSliceTarget"):
        target = o.float("timeSliceTarget", required=method is Budgeting.TIMESLICES)
        o.check("timeSliceTarget", not o.has("timeSliceTarget") or 0 < target <= 1,
                f"timeSliceTarget {target:g} is out of range",
                "use the share of good events that makes a slice good, e.g. 0.95")
    return None if window is None else (window, target)


def _objective_sli(o: Fields, ind: _Indicator | None, *, store: bool) -> tuple[SLI] | None:
    if ind is None:
        return None
    if ind.threshold is None:
        return (_ratio_sli(ind, store=store),)
    op = o.choice("op", set(_OPS), "")
    value = o.float("value", required=True)
    if not o.has("op"):
        o.error(o.where, f"{o.path}.op", "required key is missing",
                "a threshold metric needs op: lt, lte, gt or gte and value:")
    if not (op and o.has("value")):
        return None
    text = ind.threshold.text
    selector = _selector(text)
    if selector is not None and op == "gt" and value == 0:
        return (BoolGaugeSLI(selector=selector),)
    return (PromQLSLI(error_ratio_query=f"1 - avg_over_time((({text}) {_OPS[op]} bool "
                                        f"{value:g})[{{{{.window}}}}:])"),)


def _ratio_sli(ind: _Indicator, *, store: bool) -> SLI:
    """Return the SLI of a ratio metric.

    Simple counter queries become an events SLI the store can count, unless the SLO asks
    for Prometheus (``watchkeeper.dev/source: prometheus``): then the queries stay PromQL
    in Sloth's shape, ``1 - ((good)/(total))``, so the generated rules equal Sloth's.
    """
    if ind.raw is not None:
        raw = ind.raw.text
        ratio = _WINDOW_VAR.sub("{{.window}}", raw) if _WINDOW_VAR.search(raw) \
            else f"avg_over_time(({raw})[{{{{.window}}}}:])"
        return PromQLSLI(error_ratio_query=ratio if ind.raw_failure else f"1 - ({ratio})")
    assert ind.total is not None
    numerator = ind.good or ind.bad
    assert numerator is not None
    total, part = _simple(ind.total.text), _simple(numerator.text)
    if store and ind.counter and total is not None and part is not None:
        return EventsSLI(total=total, good=part if ind.good else None,
                         bad=part if ind.bad else None)
    t, n = _windowed(ind.total.text, ind.counter), _windowed(numerator.text, ind.counter)
    if ind.good:
        return PromQLSLI(error_ratio_query=f"1 - (({n})/({t}))")
    return PromQLSLI(error_query=n, total_query=t)


# -- queries -----------------------------------------------------------------------------
def _selector(text: str) -> Selector | None:
    try:
        return parse_selector(text.strip())
    except ValueError:
        return None


def _simple(text: str) -> Selector | None:
    """Return the selector of ``sel``, ``sum(sel)`` or ``[sum(]rate|increase(sel[..])[)]``."""
    inner = text.strip()
    summed = re.fullmatch(r"sum\s*\((.*)\)", inner, re.DOTALL)
    if summed:
        inner = summed.group(1).strip()
    ranged = re.fullmatch(r"(?:rate|increase)\s*\((.*)\[[^\[\]]+\]\s*\)", inner, re.DOTALL)
    if ranged:
        inner = ranged.group(1).strip()
    return _selector(inner)


def _windowed(query: str, counter: bool) -> str:
    """Put ``{{.window}}`` where *query*'s ranges are, or sum it over the window."""
    if _WINDOW_VAR.search(query):
        return _WINDOW_VAR.sub("{{.window}}", query)
    replaced, count = _RANGE.subn("[{{.window}}]", query)
    if count:
        return replaced
    return f"sum({'increase' if counter else 'sum_over_time'}(({query})[{{{{.window}}}}:]))"


# -- small readers -----------------------------------------------------------------------
def _severity(f: Fields) -> Severity | None:
    raw = f.str("severity", required=True)
    severity = _SEVERITIES.get(raw.lower())
    if raw and severity is None:
        f.error(f.at("severity"), f"{f.path}.severity", f"severity {raw!r} is not page or "
                "ticket", suggest(raw.lower(), _SEVERITIES, "severities"))
    return severity


def _duration(f: Fields, key: str, *, required: bool = False, zero: bool = False,
              minutes: bool = False) -> timedelta | None:
    """Read an OpenSLO duration shorthand (``5m``, ``4w``, ``1M`` = 30d, ``1Q`` = 90d)."""
    if not f.has(key):
        if required:
            f.error(f.where, f"{f.path}.{key}", "required key is missing",
                    f"add {key}: <duration such as 1h>")
        return None
    raw = f.node[key]
    if minutes and isinstance(raw, int) and not isinstance(raw, bool):
        raw = f"{raw}m"  # OpenSLO reads a bare number as minutes
    match = _SHORTHAND.fullmatch(raw) if isinstance(raw, str) else None
    value = int(match.group(1)) * _UNITS[match.group(2)] if match else None
    if value is None or (value <= timedelta(0) and not zero):
        f.error(f.at(key), f"{f.path}.{key}", f"invalid duration {raw!r}",
                "use a positive number and one of m, h, d, w, M, Q, Y, e.g. 5m or 28d")
        return None
    return value


def _time_window(s: Fields) -> tuple[timedelta | None, CalendarPeriod | None]:
    items = s.item_fields("timeWindow", {"duration", "isRolling", "calendar"})
    if not s.has("timeWindow"):
        return timedelta(days=30), None
    if len(items) != 1:
        s.error(s.at("timeWindow"), "spec.timeWindow", f"expected exactly one time window, "
                f"got {len(items)}", "list one rolling or calendar window")
        return None, None
    w = items[0]
    rolling = w.bool("isRolling", not w.has("calendar"))
    if not w.has("calendar"):
        if not rolling:
            w.error(w.at("isRolling"), f"{w.path}.isRolling", "a window that is not rolling "
                    "needs calendar:", "add calendar: {timeZone: UTC} or set isRolling: true")
        return _duration(w, "duration", required=True), None
    c = w.sub("calendar", {"startTime", "timeZone"})
    w.check("isRolling", not rolling, "a calendar window cannot be rolling",
            "remove isRolling: true or the calendar")
    duration = w.str("duration", required=True)
    unit = _CALENDAR.get(duration)
    if duration and unit is None:
        w.error(w.at("duration"), f"{w.path}.duration", f"calendar window {duration!r} is not "
                "a week, month or quarter", "use 1w, 1M or 1Q")
    timezone = c.str("timeZone", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        c.error(c.at("timeZone"), f"{c.path}.timeZone", f"unknown time zone {timezone!r}",
                "use an IANA name such as UTC or Europe/Berlin")
        return None, None
    if unit is None or rolling:
        return None, None
    return _NOMINAL[unit], CalendarPeriod(unit=unit, timezone=timezone)


def _item_fields(f: Fields, key: str, index: int, item: object, where: SourceLocation,
                 allowed: set[str]) -> Fields:
    return Fields(item, path=f"{f.path}.{key}[{index}]", context=f.context, errors=f.errors,
                  allowed=allowed, where=where)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
