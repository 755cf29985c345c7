"""Alertmanager in: its webhook payload (version 4) read strictly, its alerts fed to alerting.

Alertmanager POSTs one JSON message per notification of a group to a ``webhook_config``
receiver. :func:`parse_webhook` reads it into frozen values, collecting every problem with
its JSON path (``alerts[2].startsAt: not an RFC3339 time: 'yesterday'``); nothing is
stored from a message that has one. :func:`ingest` turns its alerts into signals for the
:class:`~monitor.alerting.state.AlertStateMachine`, so they are routed, notified and
remediated like Watchkeeper's own alerts.

References
----------
https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
https://github.com/prometheus/alertmanager/blob/main/notify/webhook/webhook.go (Message)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

from monitor.alerting.state import AlertStateMachine, Transition
from monitor.core.errors import WatchkeeperError
from monitor.core.model import Labels, Signal

__all__ = [
    "SOURCE_PREFIX",
    "WEBHOOK_VERSION",
    "AlertmanagerAlert",
    "AlertmanagerStatus",
    "WebhookMessage",
    "WebhookPayloadError",
    "ingest",
    "parse_payload",
    "parse_rfc3339",
    "parse_webhook",
    "to_signals",
]

WEBHOOK_VERSION = "4"
#: Signals from a webhook carry ``source="alertmanager/<receiver>"``.
SOURCE_PREFIX = "alertmanager/"
_NAME_MAX = 200  # alerts.name and alerts.source are String(200) columns
_SHOWN_PROBLEMS = 10
_SHOWN_CHARS = 80
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MISSING = object()
_GO_ZERO_YEAR = 1  # Go's zero time.Time, 0001-01-01T00:00:00Z: "not set"


class AlertmanagerStatus(StrEnum):
    """The status of a webhook message or of one of its alerts."""

    FIRING = "firing"
    RESOLVED = "resolved"


class WebhookPayloadError(WatchkeeperError, ValueError):
    """A webhook body is not a valid Alertmanager message; ``problems`` lists each, by path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(problems[:_SHOWN_PROBLEMS])
        more = len(problems) - _SHOWN_PROBLEMS
        super().__init__(shown + (f"; and {more} more problems" if more > 0 else ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertmanagerAlert:
    """One alert of a webhook message; ``ends_at`` is None while Alertmanager has none."""

    status: AlertmanagerStatus
    labels: Labels
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: datetime
    ends_at: datetime | None = None
    generator_url: str = ""
    fingerprint: str = ""

    @property
    def name(self) -> str:
        """Return the ``alertname`` label."""
        return self.labels.get("alertname", "")


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookMessage:
    """One Alertmanager webhook message (payload version 4)."""

    version: str
    status: AlertmanagerStatus
    receiver: str
    alerts: tuple[AlertmanagerAlert, ...]
    group_key: str = ""
    truncated_alerts: int = 0
    group_labels: Labels = field(default_factory=Labels)
    common_labels: Labels = field(default_factory=Labels)
    common_annotations: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""

    @property
    def source(self) -> str:
        """Return the source its signals carry: ``alertmanager/<receiver>``."""
        return SOURCE_PREFIX + self.receiver


def parse_rfc3339(text: str) -> datetime:
    """Return the aware UTC datetime an RFC 3339 timestamp names.

    Go's nanoseconds are cut to microseconds. A date alone, a space for ``T`` or a
    missing offset is refused, as Go's ``time.RFC3339`` refuses them.

    Examples
    --------
    >>> parse_rfc3339("2026-07-01T12:00:00.123456789+02:00").isoformat()
    '2026-07-01T10:00:00.123456+00:00'
    """
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC3339 time: {_clipped(text)}")
    year, month, day, hour, minute, second = (int(g) for g in match.group(1, 2, 3, 4, 5, 6))
    micros = int((match.group(7) or "").ljust(6, "0")[:6])
    offset = timedelta(0)
    if match.group(9):
        offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        offset = -offset if match.group(9) == "-" else offset
    try:
        moment = datetime(year, month, day, hour, minute, second, micros,
                          tzinfo=timezone(offset))
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not an RFC3339 time: {_clipped(text)}") from exc


def _clipped(text: str) -> str:
    """Return *text* quoted, cut after a few dozen characters (it comes from the network)."""
    return repr(text) if len(text) <= _SHOWN_CHARS else repr(text[:_SHOWN_CHARS]) + "…"


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _clipped(value)
    if isinstance(value, (int, float)):
        return repr(value)
    return "an object" if isinstance(value, dict) else "an array"


def _child(path: str, key: str) -> str:
    step = f".{key}" if _IDENTIFIER.match(key) else f"[{json.dumps(key)}]"
    return (path + step) if path else step.lstrip(".")


class _Reader:
    """Read one JSON object's fields, adding every problem (with its path) to a shared list."""

    def __init__(self, node: Mapping[str, object], path: str, problems: list[str]) -> None:
        self.node, self.path, self.problems = node, path, problems

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{_child(self.path, key)}: {text}")

    def get(self, key: str, *, required: bool) -> object:
        if key not in self.node:
            if required:
                self.problem(key, "required field is missing")
            return _MISSING
        return self.node[key]

    def text(self, key: str, *, required: bool = False) -> str:
        value = self.get(key, required=required)
        if value is _MISSING:
            return ""
        if not isinstance(value, str):
            self.problem(key, f"expected a string, got {_describe(value)}")
            return ""
        return value

    def text_map(self, key: str, *, required: bool = False) -> dict[str, str]:
        value = self.get(key, required=required)
        if value is _MISSING:
            return {}
        if not isinstance(value, dict):
            self.problem(key, f"expected an object of strings, got {_describe(value)}")
            return {}
        out: dict[str, str] = {}
        for name, item in value.items():
            where = _child(_child(self.path, key), name)
            if not name:
                self.problems.append(f"{where}: a name must not be empty")
            elif not isinstance(item, str):
                self.problems.append(f"{where}: expected a string, got {_describe(item)}")
            else:
                out[name] = item
        return out

    def status(self, key: str) -> AlertmanagerStatus:
        value = self.get(key, required=True)
        if value is _MISSING:
            return AlertmanagerStatus.FIRING
        if value not in ("firing", "resolved") or not isinstance(value, str):
            self.problem(key, f'expected "firing" or "resolved", got {_describe(value)}')
            return AlertmanagerStatus.FIRING
        return AlertmanagerStatus(value)

    def moment(self, key: str, *, required: bool) -> datetime | None:
        value = self.get(key, required=required)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.problem(key, f"expected an RFC3339 time, got {_describe(value)}")
            return None
        try:
            moment = parse_rfc3339(value)
        except ValueError as exc:
            self.problem(key, str(exc))
            return None
        if moment.year == _GO_ZERO_YEAR:
            if required:
                self.problem(key, f"the zero time {value!r}; expected when the alert started")
            return None
        return moment


def parse_webhook(body: bytes | str) -> WebhookMessage:
    """Read an Alertmanager webhook body; raise :class:`WebhookPayloadError` naming each problem."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise WebhookPayloadError([f"body: not UTF-8 text (byte {exc.start})"]) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WebhookPayloadError(
            [f"body: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]) from exc
    return parse_payload(data)


def parse_payload(data: object) -> WebhookMessage:
    """Read a decoded webhook message; raise :class:`WebhookPayloadError` naming each problem."""
    if not isinstance(data, dict):
        raise WebhookPayloadError([f"body: expected a JSON object, got {_describe(data)}"])
    problems: list[str] = []
    top = _Reader(data, "", problems)
    version = top.text("version", required=True)
    if isinstance(data.get("version"), str) and version != WEBHOOK_VERSION:
        top.problem("version", f"unsupported version {_clipped(version)}; this endpoint reads "
                    f'Alertmanager\'s webhook payload version "{WEBHOOK_VERSION}"')
    status = top.status("status")
    receiver = top.text("receiver", required=True)
    limit = _NAME_MAX - len(SOURCE_PREFIX)
    if len(receiver) > limit:
        top.problem("receiver", f"{len(receiver)} characters, at most {limit}; "
                    "use a shorter receiver name in alertmanager.yml")
    truncated = top.get("truncatedAlerts", required=False)
    if truncated is _MISSING:
        truncated = 0
    elif not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        top.problem("truncatedAlerts", f"expected a count >= 0, got {_describe(truncated)}")
        truncated = 0
    alerts = _alerts(top, problems)
    message = WebhookMessage(
        version=version, status=status, receiver=receiver, alerts=alerts,
        group_key=top.text("groupKey"), truncated_alerts=truncated,
        group_labels=Labels(top.text_map("groupLabels")),
        common_labels=Labels(top.text_map("commonLabels")),
        common_annotations=top.text_map("commonAnnotations"),
        external_url=top.text("externalURL"))
    if problems:
        raise WebhookPayloadError(problems)
    return message


def _alerts(top: _Reader, problems: list[str]) -> tuple[AlertmanagerAlert, ...]:
    items = top.get("alerts", required=True)
    if items is _MISSING:
        return ()
    if not isinstance(items, list):
        top.problem("alerts", f"expected an array of alerts, got {_describe(items)}")
        return ()
    out: list[AlertmanagerAlert] = []
    first: dict[Labels, int] = {}
    for index, item in enumerate(items):
        path = f"alerts[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{path}: expected an alert object, got {_describe(item)}")
            continue
        alert = _alert(_Reader(item, path, problems))
        if alert is None:
            continue
        if alert.labels in first:
            problems.append(f"{path}.labels: the same labels as alerts[{first[alert.labels]}]")
            continue
        first[alert.labels] = index
        out.append(alert)
    return tuple(out)


def _alert(r: _Reader) -> AlertmanagerAlert | None:
    before = len(r.problems)
    status = r.status("status")
    labels = r.text_map("labels", required=True)
    raw = r.node.get("labels")
    if isinstance(raw, dict) and isinstance(raw.get("alertname", ""), str):
        name, where = raw.get("alertname", ""), _child(r.path, "labels") + ".alertname"
        if "alertname" not in raw:
            r.problems.append(f"{where}: required label is missing; "
                              "Watchkeeper names an alert by it")
        elif not name:
            r.problems.append(f"{where}: must not be empty")
        elif len(name) > _NAME_MAX:
            r.problems.append(f"{where}: {len(name)} characters, at most {_NAME_MAX}")
    annotations = r.text_map("annotations")
    starts_at = r.moment("startsAt", required=True)
    ends_at = r.moment("endsAt", required=False)
    generator_url, fingerprint = r.text("generatorURL"), r.text("fingerprint")
    if len(r.problems) > before or starts_at is None:
        return None
    return AlertmanagerAlert(status=status, labels=Labels(labels), annotations=annotations,
                             starts_at=starts_at, ends_at=ends_at,
                             generator_url=generator_url, fingerprint=fingerprint)


def to_signals(message: WebhookMessage) -> list[Signal]:
    """Return one signal per alert: active when firing, inactive (so it resolves) when resolved.

    The name is the ``alertname`` label, the labels the rest; the annotations are the
    alert's, with ``generator_url`` added from ``generatorURL`` (unless set) so notifiers
    link back to where the alert came from. The source is ``alertmanager/<receiver>``.
    """
    out = []
    for alert in message.alerts:
        annotations = dict(alert.annotations)
        if alert.generator_url and "generator_url" not in annotations:
            annotations["generator_url"] = alert.generator_url
        out.append(Signal(name=alert.name, labels=alert.labels.without("alertname"),
                          annotations=annotations,
                          active=alert.status is AlertmanagerStatus.FIRING,
                          source=message.source))
    return out


def ingest(payload: WebhookMessage, *, state: AlertStateMachine,
           now: datetime) -> list[Transition]:
    """Advance the alerts *payload* names and return their transitions.

    Only the alerts in the message move: a message carries one group, so an alert it
    does not mention is left as it is (``evaluated_sources`` is empty). A message
    delivered again changes nothing, as the state machine is idempotent, so a
    repeated or retried webhook makes no second notification or action.

    Parameters
    ----------
    payload
        A message from :func:`parse_webhook`.
    state
        The alert state machine of the service.
    now
        The time of the transitions (Watchkeeper's clock, not Alertmanager's ``startsAt``).
    """
    return state.apply(to_signals(payload), now, evaluated_sources=set())
