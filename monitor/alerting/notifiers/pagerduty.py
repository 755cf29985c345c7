"""PagerDuty through the Events API v2 (python-pagerduty): trigger and resolve by a stable key."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx2
from pagerduty import EventsApiV2Client
from pagerduty.errors import Error as PagerDutyClientError
from pagerduty.errors import ServerHttpError

from monitor.alerting.notifiers.base import RecentDeliveries
from monitor.alerting.notifiers.blocks import LINK_ANNOTATIONS
from monitor.alerting.notifiers.grouped import (
    distinct_labels,
    group_severity,
    group_subject,
    is_grouped,
    ordered_members,
)
from monitor.alerting.notifiers.webhook import (
    HttpDeliveryError,
    alert_labels,
    rfc3339,
    safe_url,
    status_error,
)
from monitor.config.secrets import Secret
from monitor.core.model import Delivery, Notification, NotificationStatus
from monitor.core.time import to_epoch

__all__ = ["DEFAULT_URL", "PagerDutyNotifier", "event_dedup_key", "pagerduty_severity",
           "trigger_event"]

log = logging.getLogger(__name__)

DEFAULT_URL = "https://events.pagerduty.com"
_ENQUEUE = "/v2/enqueue"
# Events API v2 limits: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
_SUMMARY_MAX, _DEDUP_KEY_MAX = 1024, 255
_MEMBERS_MAX, _LINKS_MAX = 100, 20  # keep a group's event well under PagerDuty's 512 KB
_SEVERITY = {"page": "critical", "ticket": "warning", "warning": "warning", "info": "info"}


def pagerduty_severity(severity: str) -> str:
    """Map a Watchkeeper severity to PagerDuty's: page→critical, ticket→warning, else error.

    Examples
    --------
    >>> [pagerduty_severity(s) for s in ("page", "ticket", "warning", "info", "")]
    ['critical', 'warning', 'warning', 'info', 'error']
    """
    return _SEVERITY.get(severity, "error")


def event_dedup_key(notification: Notification) -> str:
    """Return the PagerDuty ``dedup_key`` of *notification*'s alert episode.

    Built from the alert's fingerprint and the time it fired, so the trigger and the
    resolve of one episode share it, and a retried trigger lands on the same incident.
    A grouped notification's key is its group episode's: the key of the episode's first
    message (``thread_key``, or its own ``dedup_key`` when it is that first message), so
    every message of the episode, trigger, re-trigger and resolve, lands on one incident,
    as Alertmanager's PagerDuty integration keys incidents by group.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from monitor.core.model import Labels
    >>> n = Notification(dedup_key="k", receiver="pd", status=NotificationStatus.FIRING,
    ...     alert_fingerprint="ab12", alert_name="A", labels=Labels(), annotations={},
    ...     value=1.0, starts_at=datetime(2026, 1, 1, tzinfo=UTC))
    >>> event_dedup_key(n)
    'watchkeeper/ab12/1767225600'
    """
    if is_grouped(notification):
        key = f"watchkeeper/{notification.thread_key or notification.dedup_key}"
    else:
        key = (f"watchkeeper/{notification.alert_fingerprint}/"
               f"{int(to_epoch(notification.starts_at))}")
    if len(key) > _DEDUP_KEY_MAX:  # a foreign fingerprint of unusual length
        key = "watchkeeper/" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _links(annotations: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"href": annotations[key], "text": text} for key, text in LINK_ANNOTATIONS.items()
            if urlsplit(annotations.get(key, "")).scheme in {"http", "https"}]


def _value(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


def _member_details(member: Notification) -> dict[str, object]:
    details: dict[str, object] = {
        "labels": dict(alert_labels(member)),
        "annotations": dict(sorted(member.annotations.items())),
        "value": _value(member.value), "fingerprint": member.alert_fingerprint,
        "starts_at": rfc3339(member.starts_at)}
    if member.status is NotificationStatus.RESOLVED:
        details["ends_at"] = rfc3339(member.ends_at)
    return details


def _group_links(notification: Notification) -> list[dict[str, str]]:
    """Return the group's common links, then each alert's own, once each, at most _LINKS_MAX."""
    links = _links(notification.annotations)
    seen = {link["href"] for link in links}
    for member in ordered_members(notification):
        tag = " ".join(f"{k}={v}" for k, v in distinct_labels(member, notification).items())
        for link in _links(member.annotations):
            if link["href"] not in seen:
                seen.add(link["href"])
                links.append({**link, "text": f"{link['text']} ({tag})" if tag else link["text"]})
    return links[:_LINKS_MAX]


def _group_trigger_event(notification: Notification, *, source: str,
                         client_name: str) -> dict[str, object]:
    """Return a grouped notification's ``trigger``: one incident for the whole group.

    ``custom_details`` lists the firing and the resolved alerts (labels, value,
    annotations), at most ``_MEMBERS_MAX`` in all, and counts the rest.
    """
    n = notification
    members = ordered_members(n)
    listed = members[:_MEMBERS_MAX]
    summary = n.annotations.get("summary", "")
    subject = group_subject(n)
    firing, resolved = n.counts()
    details: dict[str, object] = {
        "group_key": n.group_key, "group_labels": dict(n.group_labels),
        "common_labels": dict(n.labels),
        "firing_count": firing, "resolved_count": resolved,
        "firing": [_member_details(m) for m in listed
                   if m.status is NotificationStatus.FIRING],
        "resolved": [_member_details(m) for m in listed
                     if m.status is NotificationStatus.RESOLVED],
    }
    if len(members) > len(listed):
        details["alerts_not_listed"] = len(members) - len(listed)
    payload: dict[str, object] = {
        "summary": _clip(f"{subject}: {summary}" if summary else subject, _SUMMARY_MAX),
        "source": source,
        "severity": pagerduty_severity(group_severity(n)),
        "timestamp": rfc3339(n.starts_at),
        "class": n.alert_name,
        "custom_details": details,
    }
    _add_component(payload, n.labels)
    event: dict[str, object] = {"payload": payload, "client": client_name}
    links = _group_links(n)
    if links:
        event["links"] = links
    return event


def _add_component(payload: dict[str, object], labels: Mapping[str, str]) -> None:
    component = labels.get("model", "") or labels.get("service", "")
    if component:
        payload["component"] = component
    if labels.get("service"):
        payload["group"] = labels["service"]


def trigger_event(notification: Notification, *, source: str,
                  client_name: str) -> dict[str, object]:
    """Return the Events API v2 fields of a ``trigger`` for *notification* (less the key).

    A grouped notification triggers for its group: the summary is Alertmanager's
    subject (``[FIRING:2] …``) and ``custom_details`` lists the group's alerts.

    References
    ----------
    https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
    """
    if is_grouped(notification):
        return _group_trigger_event(notification, source=source, client_name=client_name)
    n = notification
    labels = alert_labels(n)
    payload: dict[str, object] = {
        "summary": _clip(n.annotations.get("summary", "") or n.alert_name, _SUMMARY_MAX),
        "source": source,
        "severity": pagerduty_severity(n.severity),
        "timestamp": rfc3339(n.starts_at),
        "class": n.alert_name,
        "custom_details": {
            "labels": dict(labels),
            "annotations": dict(sorted(n.annotations.items())),
            "value": _value(n.value),
            "fingerprint": n.alert_fingerprint,
        },
    }
    _add_component(payload, labels)
    event: dict[str, object] = {"payload": payload, "client": client_name}
    links = _links(n.annotations)
    if links:
        event["links"] = links
    return event


class _Refused(Exception):
    """Raised inside the client on a non-2xx answer, so it returns at once instead of retrying."""

    def __init__(self, response: httpx2.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class _EventsClient(EventsApiV2Client):
    """``EventsApiV2Client`` that leaves retries to the outbox and takes a loopback stand-in.

    The client retries 429 without limit and 5xx several times, sleeping in between,
    and retries network errors; ``postprocess`` runs on every answer, so raising there
    on a non-2xx answer returns it to us at once, and ``max_network_attempts = 0`` makes
    the first network error final. Its ``url`` must be ``https://``; ours may also be
    plain HTTP on a loopback address (a local relay, or a test stand-in).
    """

    max_network_attempts = 0

    def __init__(self, routing_key: str, *, base_url: str, timeout: float) -> None:
        super().__init__(routing_key, base_url=base_url)
        self.retry = {}
        self.timeout = timeout  # type: ignore[assignment]  # the library declares int seconds

    @property
    def url(self) -> str:
        return str(self._url)

    @url.setter
    def url(self, new_base_url: str) -> None:
        self._url = new_base_url

    def postprocess(self, response: httpx2.Response) -> None:
        if not response.is_success:
            raise _Refused(response)


def _base_url(name: str, url: str) -> str:
    base = (url or DEFAULT_URL).rstrip("/").removesuffix(_ENQUEUE)
    parts = urlsplit(base)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return base
    if parts.scheme == "http" and _is_loopback(host):
        return base
    raise ValueError(f"pagerduty receiver {name!r}: url {safe_url(url)!r} must be an https:// "
                     f"URL (plain http only on a loopback address), e.g. {DEFAULT_URL} or "
                     "https://events.eu.pagerduty.com")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reason(response: httpx2.Response) -> str:
    """Read PagerDuty's error body: ``{"status", "message", "errors": [...]}``."""
    try:
        data = json.loads(response.text)
    except ValueError:
        return response.text
    if not isinstance(data, dict):
        return response.text
    message = str(data.get("message", "") or data.get("status", ""))
    errors = data.get("errors")
    details = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
    return f"{message}: {details}" if message and details else message or details


class PagerDutyNotifier:
    """Open and resolve PagerDuty incidents through the Events API v2.

    A firing notification sends a ``trigger`` and a resolution a ``resolve``, both with
    :func:`event_dedup_key`, so PagerDuty keeps one incident per alert episode whatever
    the retries. A grouped notification keeps one incident per group episode: each
    message while any of its alerts fires re-triggers it with the group's current alerts,
    and the message that reports them all resolved resolves it (Alertmanager's PagerDuty
    integration also keys incidents by group). 202 is delivery. 429 and 5xx
    (``Retry-After`` honoured) and network errors are retried by the outbox; 400, an
    event PagerDuty finds invalid, is not and carries PagerDuty's ``errors``. The
    routing key travels only in the request body.
    """

    def __init__(self, *, name: str, routing_key: Secret, url: str = "",
                 source: str = "watchkeeper", client_name: str = "Watchkeeper",
                 timeout: float = 10.0) -> None:
        if not name:
            raise ValueError("name must not be empty")
        if not isinstance(routing_key, Secret) or not routing_key.reveal():
            raise ValueError(f"pagerduty receiver {name!r}: routing_key must be a non-empty "
                             "Secret; set routing_key: ${PAGERDUTY_ROUTING_KEY} (the "
                             "integration key of an Events API v2 integration)")
        if not source:
            raise ValueError(f"pagerduty receiver {name!r}: source must not be empty")
        if not timeout > 0:
            raise ValueError(f"pagerduty receiver {name!r}: timeout must be > 0 seconds, "
                             f"got {timeout}")
        self.name, self.source, self.client_name = name, source, client_name
        self.url = _base_url(name, url)
        self._client = _EventsClient(routing_key.reveal(), base_url=self.url, timeout=timeout)
        self._recent = RecentDeliveries()

    def __repr__(self) -> str:
        return f"PagerDutyNotifier(name={self.name!r}, url={self.url!r})"

    def send(self, notification: Notification) -> Delivery:
        """Trigger or resolve the PagerDuty alert of *notification*'s episode."""
        done = self._recent.get(notification.dedup_key)
        if done is not None:
            return done
        key = event_dedup_key(notification)
        if notification.status is NotificationStatus.RESOLVED:
            action, event = "resolve", {}
        else:
            action = "trigger"
            event = trigger_event(notification, source=self.source,
                                  client_name=self.client_name)
        self._enqueue(action, key, event)
        delivery = Delivery(accepted=True, external_ref=key,
                            detail=f"{action} accepted by {self.url}")
        self._recent.put(notification.dedup_key, delivery)
        log.debug("pagerduty %s: %s %s accepted", self.name, action, key)
        return delivery

    def _enqueue(self, action: str, key: str, event: Mapping[str, object]) -> None:
        where = f"pagerduty receiver {self.name!r}: {action} {key} to {self.url}{_ENQUEUE}"
        try:
            self._client.send_event(action, dedup_key=key, **event)
        except _Refused as exc:
            response = exc.response
            hint = ("check routing_key: the integration key of an Events API v2 integration"
                    if "routing" in _reason(response).lower() else
                    "PagerDuty refused the event as it is; fix what it names")
            raise status_error(where, response.status_code, _reason(response),
                               retry_after=response.headers.get("Retry-After"),
                               hint=hint) from exc
        except ServerHttpError as exc:  # 2xx without a dedup_key: taken, but answered oddly
            raise HttpDeliveryError(f"{where}: PagerDuty answered without a dedup_key; will "
                                    "retry (the same key cannot open a second incident)",
                                    status=exc.response.status_code if exc.response else 0,
                                    retryable=True) from exc
        except PagerDutyClientError as exc:
            cause = exc.__cause__  # the client's message is left out: it may quote the key
            retryable = isinstance(cause, httpx2.TransportError)
            if isinstance(cause, httpx2.TimeoutException):
                what = "no answer in time"
            elif retryable:
                what = "cannot reach PagerDuty"
            else:
                what = "the PagerDuty client failed"
            raise HttpDeliveryError(f"{where}: {what} ({type(cause or exc).__name__})"
                                    + ("; will retry" if retryable else ""),
                                    status=0, retryable=retryable) from exc

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
