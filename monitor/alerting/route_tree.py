"""The ``kind: AlertRouting`` file: an Alertmanager-shaped route tree and inhibit rules.

.. code-block:: yaml

    apiVersion: watchkeeper.dev/v1
    kind: AlertRouting
    metadata: {name: routing}
    spec:
      route:                         # the root: a receiver, no matchers
        receiver: team-slack
        group_by: [alertname, model] # ['...'] groups by every label; [] one group
        group_wait: 30s              # defaults as Alertmanager's: 30s, 5m, 4h
        group_interval: 5m
        repeat_interval: 4h
        routes:
          - matchers: ['severity="page"']
            receiver: oncall-pagerduty
            continue: true           # go on to the next sibling after a match
          - match: {team: ml}        # Alertmanager's older forms are read too
            match_re: {model: "churn|fraud"}
      inhibit_rules:
        - source_matchers: [severity=page]
          target_matchers: [severity=ticket]
          equal: [model]

Matching is Alertmanager's: an alert enters a route when the route's matchers all
match; it then goes to the first child that matches (and to later ones while the
matched children say ``continue: true``); when no child matches, the route itself
takes it. Children inherit the receiver and the grouping settings they don't set.
Receivers are named in ``watchkeeper.yaml``; the service checks that each exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from monitor.alerting.silences import SilenceError, parse_silence_matchers
from monitor.config.documents import Document
from monitor.config.errors import ConfigError, SourceLocation
from monitor.config.schema import Fields
from monitor.core.matchers import Matcher, MatchOp
from monitor.core.model import Labels

__all__ = ["ALL_LABELS", "DEFAULT_GROUP_INTERVAL", "DEFAULT_GROUP_WAIT",
           "DEFAULT_REPEAT_INTERVAL", "KIND", "InhibitRule", "RouteNode", "Routing",
           "from_document", "matchers_string"]

KIND = "AlertRouting"
ALL_LABELS = "..."
DEFAULT_GROUP_WAIT = timedelta(seconds=30)
DEFAULT_GROUP_INTERVAL = timedelta(minutes=5)
DEFAULT_REPEAT_INTERVAL = timedelta(hours=4)
_ROUTE = {"receiver", "matchers", "match", "match_re", "continue", "group_by", "group_wait",
          "group_interval", "repeat_interval", "routes", "mute_time_intervals",
          "active_time_intervals"}
_INHIBIT = {"source_matchers", "target_matchers", "equal", "source_match", "source_match_re",
            "target_match", "target_match_re"}


def matchers_string(matchers: Sequence[Matcher]) -> str:
    """Return matchers as Alertmanager prints them in route keys: ``{a="b",c=~"d"}``."""
    return "{" + ",".join(str(m) for m in matchers) + "}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteNode:
    """One route with its settings resolved (inherited ones filled in)."""

    receiver: str
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    group_by: tuple[str, ...] = ()
    group_wait: timedelta = DEFAULT_GROUP_WAIT
    group_interval: timedelta = DEFAULT_GROUP_INTERVAL
    repeat_interval: timedelta = DEFAULT_REPEAT_INTERVAL
    routes: tuple[RouteNode, ...] = ()
    key: str = "{}"
    where: SourceLocation = field(default_factory=lambda: SourceLocation(""))

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Return whether every matcher of this route matches *labels*."""
        return all(m.matches(labels) for m in self.matchers)

    def match(self, labels: Mapping[str, str]) -> list[RouteNode]:
        """Return the routes that take an alert with *labels* (Alertmanager's ``Match``)."""
        if not self.matches(labels):
            return []
        found: list[RouteNode] = []
        for child in self.routes:
            taken = child.match(labels)
            found.extend(taken)
            if taken and not child.continue_:
                break
        return found or [self]

    def group_labels(self, labels: Mapping[str, str]) -> Labels:
        """Return the labels that name the group an alert with *labels* joins here."""
        if ALL_LABELS in self.group_by:
            return Labels(labels)
        return Labels({k: labels[k] for k in self.group_by if labels.get(k, "") != ""})

    def walk(self) -> list[RouteNode]:
        """Return this route and every route under it, depth first."""
        return [self, *(r for child in self.routes for r in child.walk())]


@dataclass(frozen=True, slots=True, kw_only=True)
class InhibitRule:
    """Mute alerts matching ``target`` while one matching ``source`` fires (same ``equal``)."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Routing:
    """The route tree and inhibit rules of the ``AlertRouting`` document."""

    name: str
    route: RouteNode
    inhibit_rules: tuple[InhibitRule, ...] = ()

    def receivers(self) -> list[tuple[str, SourceLocation]]:
        """Return each receiver the tree names, with where it is named."""
        return [(r.receiver, r.where) for r in self.route.walk()]


def from_document(doc: Document, errors: list[ConfigError]) -> Routing | None:
    """Read one ``AlertRouting`` document; every problem goes to *errors*.

    Returns ``None`` when the document has any problem, so nothing is loaded half-way.
    """
    if doc.kind != KIND:
        raise ValueError(f"from_document reads kind {KIND}, got {doc.kind!r}")
    before = len(errors)
    doc.check_api_version(errors)
    f = doc.fields(errors, {"route", "inhibit_rules"})
    if not f.has("route"):
        f.error(f.where, "spec.route", "required key is missing",
                "add route: {receiver: NAME} with a receiver from watchkeeper.yaml")
        return None
    root_fields = f.sub("route", _ROUTE)
    if root_fields.has("matchers") or root_fields.has("match") or root_fields.has("match_re"):
        root_fields.error(root_fields.where, "spec.route", "the root route must not have "
                          "matchers", "it takes every alert; put matchers on child routes")
    if root_fields.has("continue"):
        root_fields.error(root_fields.at("continue"), "spec.route.continue",
                          "the root route cannot continue", "remove continue: from the root")
    root = _route(root_fields, None, 0)
    rules = tuple(r for r in (_inhibit(i) for i in f.item_fields("inhibit_rules", _INHIBIT))
                  if r is not None)
    if root is None or len(errors) > before:
        return None
    return Routing(name=doc.name, route=root, inhibit_rules=rules)


def _matchers(f: Fields, key: str, legacy: str, legacy_re: str) -> tuple[Matcher, ...]:
    out: list[Matcher] = []
    for _i, item, where in f.items(key):
        if not isinstance(item, str):
            f.error(where, f"{f.path}.{key}", f"expected a matcher string, got {item!r}",
                    'write e.g. severity="page" or model=~"churn|fraud"')
            continue
        try:
            out.extend(parse_silence_matchers([item]))
        except SilenceError as exc:
            f.error(where, f"{f.path}.{key}", str(exc))
    for name, value in f.str_map(legacy).items():
        out.append(Matcher(name=name, op=MatchOp.EQ, value=value))
    for name, value in f.str_map(legacy_re).items():
        try:
            out.append(Matcher(name=name, op=MatchOp.RE, value=value))
        except ValueError as exc:
            f.error(f.at(legacy_re), f"{f.path}.{legacy_re}.{name}", str(exc))
    return tuple(out)


def _group_by(f: Fields, parent: RouteNode | None) -> tuple[str, ...]:
    if not f.has("group_by"):
        return parent.group_by if parent else ()
    names: list[str] = []
    for _i, item, where in f.items("group_by"):
        if not isinstance(item, str) or not item:
            f.error(where, f"{f.path}.group_by", f"expected a label name, got {item!r}")
            continue
        names.append(item)
    if ALL_LABELS in names and len(names) > 1:
        f.error(f.at("group_by"), f"{f.path}.group_by",
                "'...' groups by every label and cannot stand with other names",
                "write group_by: ['...'] alone")
    return tuple(names)


def _route(f: Fields, parent: RouteNode | None, index: int) -> RouteNode | None:
    before = len(f.errors)
    for key in ("mute_time_intervals", "active_time_intervals"):
        f.check(key, not f.has(key), f"{key} is not supported",
                "use silences (watchkeeper silences add) for planned quiet times")
    receiver = f.str("receiver", parent.receiver if parent else "", required=parent is None)
    matchers = _matchers(f, "matchers", "match", "match_re")
    inherited = parent or RouteNode(receiver=receiver)
    key = matchers_string(matchers)
    if parent is not None:
        key = f"{parent.key}/{key}/{index}"
    node = RouteNode(
        receiver=receiver, matchers=matchers, continue_=f.bool("continue"),
        group_by=_group_by(f, parent),
        group_wait=_wait(f, inherited.group_wait),
        group_interval=f.duration("group_interval", inherited.group_interval),
        repeat_interval=f.duration("repeat_interval", inherited.repeat_interval),
        key=key, where=f.at("receiver") if f.has("receiver") else f.where)
    children = [_route(c, node, i) for i, c in enumerate(f.item_fields("routes", _ROUTE))]
    if len(f.errors) > before or any(c is None for c in children):
        return None
    return RouteNode(receiver=node.receiver, matchers=node.matchers, continue_=node.continue_,
                     group_by=node.group_by, group_wait=node.group_wait,
                     group_interval=node.group_interval, repeat_interval=node.repeat_interval,
                     routes=tuple(c for c in children if c is not None), key=node.key,
                     where=node.where)


def _wait(f: Fields, default: timedelta) -> timedelta:
    """Read ``group_wait``, which may be zero (notify a new group at once), as Alertmanager."""
    raw = f.node.get("group_wait")
    if raw in (0, "0", "0s", "0ms"):
        return timedelta(0)
    return f.duration("group_wait", default)


def _inhibit(f: Fields) -> InhibitRule | None:
    before = len(f.errors)
    source = _matchers(f, "source_matchers", "source_match", "source_match_re")
    target = _matchers(f, "target_matchers", "target_match", "target_match_re")
    equal: list[str] = []
    for _i, item, where in f.items("equal"):
        if not isinstance(item, str) or not item:
            f.error(where, f"{f.path}.equal", f"expected a label name, got {item!r}")
        else:
            equal.append(item)
    for side in ("source", "target"):
        if not any(f.has(f"{side}_{k}") for k in ("matchers", "match", "match_re")):
            f.error(f.where, f.path, f"an inhibit rule needs {side} matchers",
                    f"add {side}_matchers: [...]")
    if len(f.errors) > before:
        return None
    return InhibitRule(source=source, target=target, equal=tuple(equal))
