"""The ``kind: AlertRule`` file format and its evaluator: threshold rules over stored metrics.

One rule per document, named by ``metadata.name`` (or ``spec.alert``):

.. code-block:: yaml

    apiVersion: watchkeeper.dev/v1
    kind: AlertRule
    metadata: {name: ChurnHighErrorRate}
    spec:
      expr: sum by (model) (rate(model_requests_total{code=~"5.."}[5m])) > 0.5
      for: 5m                       # pending this long before firing (default 0s)
      keep_firing_for: 10m          # keep firing this long after the condition clears
      labels: {severity: page}
      annotations:
        summary: "{{ $labels.model }} fails {{ $value | humanize }} requests/s"
        runbook_url: https://runbooks.example.com/churn-errors

or a Prometheus rule file's groups, as they are, each alerting rule becoming one rule::

    spec:
      groups:
        - name: churn
          labels: {team: ml}        # added to every rule of the group; a rule's own win
          rules:
            - alert: ChurnHighErrorRate
              expr: ...
              for: 5m

Recording rules and per-group ``interval``, ``limit`` and ``query_offset`` are refused:
rules run at the service's evaluation interval. Expressions and templates are parsed
when the file loads, so a mistake is reported with its ``file:line:col`` and the character.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.alerting.expr import DEFAULT_LOOKBACK, Expr, ExprError, parse_expr
from monitor.alerting.templating import Template, TemplateError, parse_template
from monitor.config.documents import Document
from monitor.config.durations import parse_duration
from monitor.config.errors import ConfigError
from monitor.config.schema import Fields
from monitor.config.yaml import Node
from monitor.core.errors import StoreError
from monitor.core.model import Signal
from monitor.core.time import Clock
from monitor.store.samples import SampleStore

__all__ = ["KIND", "SOURCE_PREFIX", "AlertRuleEvaluator", "AlertRuleGroup", "AlertRuleSpec",
           "from_document"]

log = logging.getLogger(__name__)

KIND = "AlertRule"
SOURCE_PREFIX = "rule/"
_RULE = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
_GROUP = {"name", "rules", "labels", "interval", "limit", "query_offset"}
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRuleSpec:
    """One alerting rule: every series of ``expr`` is an alert named ``name``."""

    name: str
    expr: Expr
    for_duration: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, Template] = field(default_factory=dict)
    where: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("name must not be empty")
        for key in ("for_duration", "keep_firing_for"):
            if getattr(self, key) < timedelta(0):
                raise ValueError(f"{key} must not be negative, got {getattr(self, key)}")

    @property
    def source(self) -> str:
        """Return the signal source of this rule, ``rule/<name>``."""
        return SOURCE_PREFIX + self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRuleGroup:
    """The rules of one ``AlertRule`` document (one, or a Prometheus file's groups)."""

    name: str
    rules: tuple[AlertRuleSpec, ...]


def from_document(doc: Document, errors: list[ConfigError]) -> AlertRuleGroup | None:
    """Read one ``AlertRule`` document; every problem goes to *errors*, with its location.

    Returns ``None`` when the document has any problem, so nothing is loaded half-way.
    """
    if doc.kind != KIND:
        raise ValueError(f"from_document reads kind {KIND}, got {doc.kind!r}")
    before = len(errors)
    doc.check_api_version(errors)
    grouped = isinstance(doc.spec, Node) and "groups" in doc.spec
    f = doc.fields(errors, {"groups", *_RULE} if grouped else _RULE)
    if grouped:
        for key in sorted(k for k in _RULE if f.has(k)):
            f.error(f.node.key_at(key), f"spec.{key}", "cannot stand beside groups",
                    "move this rule into a group, or the groups into their own document")
        rules = [r for g in f.item_fields("groups", _GROUP, required=True)
                 for r in _group(g)]
        if not rules and len(errors) == before:
            f.error(f.at("groups"), "spec.groups", "no alerting rules",
                    "add rules with alert: and expr:")
    else:
        rule = _rule(f, f.str("alert", doc.name) or doc.name, {})
        rules = [rule] if rule else []
    if len(errors) > before:
        return None
    return AlertRuleGroup(name=doc.name, rules=tuple(rules))


def _group(g: Fields) -> list[AlertRuleSpec]:
    g.str("name", required=True)
    for key, why in (("interval", "rules run at the service's evaluation interval"),
                     ("limit", "every series of a rule becomes an alert"),
                     ("query_offset", "rules see the samples up to the evaluation time")):
        g.check(key, not g.has(key), f"{key} is not supported", f"remove it; {why}")
    group_labels = _labels(g)
    out = []
    for r in g.item_fields("rules", _RULE | {"record"}, required=True):
        if r.has("record"):
            r.error(r.at("record"), _key(r, "record"), "recording rules are not supported",
                    "Watchkeeper evaluates alerting rules; inline the expression instead")
            continue
        rule = _rule(r, r.str("alert", required=True), group_labels)
        if rule is not None:
            out.append(rule)
    return out


def _rule(f: Fields, name: str, group_labels: Mapping[str, str]) -> AlertRuleSpec | None:
    before = len(f.errors)
    expr = _expr(f)
    for_duration = _duration(f, "for")
    keep_firing_for = _duration(f, "keep_firing_for")
    labels = {**group_labels, **_labels(f)}
    annotations = _annotations(f)
    if expr is None or len(f.errors) > before or not name:
        return None
    try:
        return AlertRuleSpec(name=name, expr=expr, for_duration=for_duration,
                             keep_firing_for=keep_firing_for, labels=labels,
                             annotations=annotations, where=str(f.where))
    except ValueError as exc:
        f.error(f.where, f.path, str(exc))
        return None


def _expr(f: Fields) -> Expr | None:
    text = f.str("expr", required=True)
    if not f.has("expr") or not isinstance(f.node.get("expr"), str):
        return None
    if not text.strip():
        f.error(f.at("expr"), _key(f, "expr"), "must not be empty",
                'write e.g. rate(errors_total{model="churn"}[5m]) > 0.1')
        return None
    try:
        return parse_expr(text)
    except ExprError as exc:
        f.error(f.at("expr"), _key(f, "expr"), str(exc))
        return None


def _key(f: Fields, key: str) -> str:
    return f"{f.path}.{key}" if f.path else key


def _duration(f: Fields, key: str) -> timedelta:
    """Read a duration that may be zero (``for: 0s`` is the default)."""
    raw = f.node.get(key)
    if isinstance(raw, int) and not isinstance(raw, bool) and raw <= 0:
        f.check(key, raw == 0, f"must not be negative, got {raw}", "write e.g. 5m, or 0s")
        return timedelta(0)
    if isinstance(raw, str):
        try:
            if parse_duration(raw) == timedelta(0):
                return timedelta(0)
        except ValueError:
            pass  # Fields.duration reports it
    return f.duration(key)


def _labels(f: Fields) -> dict[str, str]:
    labels = f.str_map("labels")
    raw = f.node.get("labels")
    for name, value in labels.items():
        where = raw.at(name) if isinstance(raw, Node) else f.at("labels")
        key = f"{_key(f, 'labels')}.{name}"
        if not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
            f.error(where, key, f"invalid label name {name!r}",
                    "use letters, digits and underscores, not starting with __")
        elif name == "alertname":
            f.error(where, key, "alertname is set from the rule's name",
                    "rename the rule instead, or use another label")
        elif "{{" in value:
            f.error(where, key, "label values are not templated",
                    "a value that changes would make a new alert each time; "
                    "put it in an annotation")
    return labels


def _annotations(f: Fields) -> dict[str, Template]:
    raw = f.node.get("annotations")
    out: dict[str, Template] = {}
    for name, text in f.str_map("annotations").items():
        try:
            out[name] = parse_template(text)
        except TemplateError as exc:
            where = raw.at(name) if isinstance(raw, Node) else f.at("annotations")
            f.error(where, f"{_key(f, 'annotations')}.{name}", str(exc))
    return out


class AlertRuleEvaluator:
    """Evaluate alert rules against the store and emit one active signal per result series.

    Series that were active before and are gone now get no signal; pass
    :attr:`evaluated_sources` to ``AlertStateMachine.apply`` so that their alerts resolve
    (or keep firing for ``keep_firing_for``).
    """

    def __init__(self, *, rules: Iterable[AlertRuleSpec], samples: SampleStore, clock: Clock,
                 lookback: timedelta = DEFAULT_LOOKBACK) -> None:
        self.rules = tuple(rules)
        self.samples, self.clock, self.lookback = samples, clock, lookback
        self.evaluated_sources: frozenset[str] = frozenset()
        self.errors: dict[str, str] = {}

    @property
    def sources(self) -> frozenset[str]:
        """Return the signal source of every rule."""
        return frozenset(rule.source for rule in self.rules)

    def evaluate(self, at: datetime | None = None) -> list[Signal]:
        """Return the active signals at *at* (default: now).

        Afterwards :attr:`evaluated_sources` holds the sources whose rules all evaluated,
        and :attr:`errors` the rules that failed (a store error, or two series with the
        same labels once the rule's labels are added), by name.
        """
        now = at or self.clock.now()
        signals: list[Signal] = []
        seen: set[str] = set()
        failed: dict[str, str] = {}
        for rule in self.rules:
            try:
                found = self._signals(rule, now, seen)
            except (StoreError, _DuplicateSeriesError) as exc:
                log.warning("alert rule %s failed at %s: %s", rule.name, now.isoformat(), exc)
                failed[rule.name] = str(exc)
                continue
            seen.update(s.fingerprint() for s in found)
            signals.extend(found)
        self.errors = failed
        self.evaluated_sources = frozenset(
            r.source for r in self.rules) - {SOURCE_PREFIX + name for name in failed}
        return signals

    def _signals(self, rule: AlertRuleSpec, now: datetime, seen: set[str]) -> list[Signal]:
        out: list[Signal] = []
        mine: set[str] = set()
        for series, value in rule.expr.evaluate(self.samples, now, self.lookback):
            labels = series.merged(rule.labels).without("alertname")
            signal = Signal(
                name=rule.name, labels=labels, value=value, active=True,
                annotations={k: t.render(labels=series, value=value)
                             for k, t in rule.annotations.items()},
                for_duration=rule.for_duration, keep_firing_for=rule.keep_firing_for,
                source=rule.source)
            fingerprint = signal.fingerprint()
            if fingerprint in mine or fingerprint in seen:
                raise _DuplicateSeriesError(
                    f"two series have the labels {labels!r} once the rule's labels "
                    "are added; aggregate them or make them differ")
            mine.add(fingerprint)
            out.append(signal)
        return out


class _DuplicateSeriesError(Exception):
    """A rule made two alerts with the same labels (Prometheus fails the rule the same way)."""
