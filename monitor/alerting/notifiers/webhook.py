"""A generic webhook receiving Alertmanager's webhook JSON (version 4), and HTTP error mapping."""

from __future__ import annotations

import email.utils
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from monitor import __version__
from monitor.alerting.notifiers.base import RecentDeliveries
from monitor.config.secrets import Secret
from monitor.core.errors import DeliveryError
from monitor.core.model import Delivery, Labels, Notification, NotificationStatus
from monitor.core.time import utcnow

__all__ = [
    "ZERO_TIME",
    "HttpDeliveryError",
    "JsonPoster",
    "WebhookNotifier",
    "alert_labels",
    "generator_url",
    "label_set_string",
    "parse_retry_after",
    "retryable_status",
    "rfc3339",
    "safe_url",
    "status_error",
    "webhook_message",
]

log = logging.getLogger(__name__)

ZERO_TIME = "0001-01-01T00:00:00Z"
"""Go's zero ``time.Time`` in JSON: what Alertmanager sends as ``endsAt`` of a firing alert."""
USER_AGENT = f"Watchkeeper/{__version__}"
_REASON_MAX = 300
_HINTS = {
    401: "check the receiver's credentials",
    403: "check the receiver's credentials and what they may do",
    404: "check the receiver's url",
    405: "check the receiver's url: it does not take POST",
    413: "the message is too large for the receiver; shorten the alert's annotations",
}


class HttpDeliveryError(DeliveryError):
    """A receiver answered with an HTTP error, or did not answer.

    ``status`` is the HTTP status (0 when no answer came) and ``reason`` the receiver's
    own words for the problem (a Slack error code, PagerDuty's ``errors``, Alertmanager's
    message), as far as it gave any.
    """

    def __init__(self, message: str, *, status: int, retryable: bool, reason: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after)
        self.status, self.reason = status, reason


def retryable_status(status: int) -> bool:
    """Return whether an HTTP *status* is worth retrying: 408, 429 and every 5xx."""
    return status in (408, 429) or status >= 500


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks to wait, or None if it says nothing.

    Both forms of RFC 9110 §10.2.3 are read: delay-seconds and an HTTP-date.

    Examples
    --------
    >>> parse_retry_after("30"), parse_retry_after("soon"), parse_retry_after(None)
    (30.0, None, None)
    >>> start = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=start)
    30.0
    """
    text = (value or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = max((when - (now or utcnow())).total_seconds(), 0.0)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def safe_url(url: str) -> str:
    """Return *url* without credentials, query or fragment, fit for messages and logs.

    Examples
    --------
    >>> safe_url("https://user:pw@hooks.example:8443/in?token=abc#x")
    'https://hooks.example:8443/in'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_error(where: str, status: int, reason: str = "", *, retry_after: str | None = None,
                 hint: str = "") -> HttpDeliveryError:
    """Return the :class:`HttpDeliveryError` for an error *status* answered at *where*."""
    retryable = retryable_status(status)
    reason = _clip(reason, _REASON_MAX)
    message = f"{where}: HTTP {status}" + (f": {reason.rstrip('. ')}" if reason else "")
    if retryable:
        message += "; will retry"
    elif 300 <= status < 400:
        message += "; the receiver redirects: set its url to the final address"
    elif hint or status in _HINTS:
        message += f"; {hint or _HINTS[status]}"
    return HttpDeliveryError(message, status=status, reason=reason, retryable=retryable,
                             retry_after=parse_retry_after(retry_after) if retryable else None)


def rfc3339(moment: datetime | None) -> str:
    """Format *moment* in UTC as Go's ``time.Time`` marshals to JSON (RFC 3339, ``Z``).

    Examples
    --------
    >>> rfc3339(datetime(2026, 3, 1, 12, 0, 5, 250000, tzinfo=UTC)), rfc3339(None)
    ('2026-03-01T12:00:05.25Z', '0001-01-01T00:00:00Z')
    """
    if moment is None:
        return ZERO_TIME
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def alert_labels(notification: Notification) -> Labels:
    """Return the alert's labels with ``alertname``, as Prometheus and Alertmanager carry them."""
    return notification.labels.merged({"alertname": notification.alert_name})


def generator_url(notification: Notification) -> str:
    """Return the link to where the alert came from: ``generator_url``, else ``dashboard_url``."""
    annotations = notification.annotations
    for key in ("generator_url", "dashboard_url"):
        url = annotations.get(key, "")
        if urlsplit(url).scheme in {"http", "https"}:
            return url
    return ""


def label_set_string(labels: Mapping[str, str]) -> str:
    """Format *labels* as Prometheus' ``LabelSet.String()``: sorted, values quoted.

    Examples
    --------
    >>> label_set_string({"severity": "page", "alertname": "Down"})
    '{alertname="Down", severity="page"}'
    """
    def quote(value: str) -> str:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'

    return "{" + ", ".join(f"{k}={quote(v)}" for k, v in sorted(labels.items())) + "}"


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in sorted(first.items()) if all(m.get(k) == v for m in maps[1:])}


def _webhook_alert(notification: Notification) -> dict[str, object]:
    resolved = notification.status is NotificationStatus.RESOLVED
    return {
        "status": str(notification.status),
        "labels": dict(alert_labels(notification)),
        "annotations": dict(sorted(notification.annotations.items())),
        "startsAt": rfc3339(notification.starts_at),
        "endsAt": rfc3339(notification.ends_at if resolved else None),
        "generatorURL": generator_url(notification),
        "fingerprint": notification.alert_fingerprint,
    }


def webhook_message(notifications: Notification | Sequence[Notification], *, receiver: str,
                    external_url: str = "", max_alerts: int = 0) -> dict[str, object]:
    """Build the JSON body Alertmanager's ``webhook_config`` posts, version 4.

    Given one notification, its :meth:`~Notification.members` are the alerts: a grouped
    notification's group, with its ``group_key`` and ``group_labels`` as ``groupKey`` and
    ``groupLabels``, or a single alert. Given a sequence, those alerts form the group,
    and as with an Alertmanager route grouping by every label (``group_by: ['...']``),
    the group labels are the labels they share. With *max_alerts* above 0, alerts past
    it are left out and counted in ``truncatedAlerts``; the status and the common labels
    and annotations are those of the alerts sent, as Alertmanager does.

    References
    ----------
    https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
    """
    group = notifications if isinstance(notifications, Notification) else None
    alerts_in = list(notifications.members() if isinstance(notifications, Notification)
                     else notifications)
    if not alerts_in:
        raise ValueError("webhook_message needs at least one notification")
    if max_alerts < 0:
        raise ValueError(f"max_alerts must be >= 0 (0 sends all), got {max_alerts}")
    kept = alerts_in[:max_alerts] if max_alerts else alerts_in
    common_labels = _common([alert_labels(n) for n in kept])
    group_labels, group_key = common_labels, "{}:" + label_set_string(common_labels)
    if group is not None and group.group_key:
        group_labels, group_key = dict(sorted(group.group_labels.items())), group.group_key
    firing = any(n.status is NotificationStatus.FIRING for n in kept)
    return {
        "receiver": receiver,
        "status": "firing" if firing else "resolved",
        "alerts": [_webhook_alert(n) for n in kept],
        "groupLabels": group_labels,
        "commonLabels": common_labels,
        "commonAnnotations": _common([n.annotations for n in kept]),
        "externalURL": external_url,
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": len(alerts_in) - len(kept),
    }


def _text_reason(response: httpx.Response) -> str:
    return response.text


class JsonPoster:
    """POST JSON with httpx and map what comes back to :class:`HttpDeliveryError`.

    No retries here: the outbox retries. Redirects are not followed (a receiver that
    moved is a configuration problem). Credentials never appear in messages.
    """

    def __init__(self, *, where: str, url: str, timeout: float,
                 bearer_token: Secret | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{where}: url {safe_url(url)!r} must be an http(s) URL with a "
                             "host, e.g. https://hooks.example.com/alerts")
        if not timeout > 0:
            raise ValueError(f"{where}: timeout must be > 0 seconds, got {timeout}")
        if bearer_token is not None and not bearer_token.reveal():
            raise ValueError(f"{where}: bearer_token is empty; set it from a non-empty "
                             "${ENV} variable or leave it out")
        self.url, self.where = url, where
        headers = {"User-Agent": USER_AGENT}
        if bearer_token is not None:
            headers["Authorization"] = f"Bearer {bearer_token.reveal()}"
        self._client = httpx.Client(timeout=timeout, headers=headers, follow_redirects=False)

    def post(self, body: object, *, headers: Mapping[str, str] | None = None,
             reason: Callable[[httpx.Response], str] = _text_reason) -> httpx.Response:
        """POST *body*; return a 2xx response or raise :class:`HttpDeliveryError`."""
        where = f"{self.where}: POST {safe_url(self.url)}"
        try:
            response = self._client.post(self.url, json=body, headers=dict(headers or {}))
        except httpx.TimeoutException as exc:
            raise HttpDeliveryError(f"{where}: no answer in time ({type(exc).__name__}); "
                                    "will retry", status=0, retryable=True) from exc
        except httpx.TransportError as exc:
            raise HttpDeliveryError(f"{where}: cannot reach the receiver ({type(exc).__name__}: "
                                    f"{exc}); will retry", status=0, retryable=True) from exc
        except httpx.HTTPError as exc:
            raise HttpDeliveryError(f"{where}: {type(exc).__name__}: {exc}", status=0,
                                    retryable=False) from exc
        if response.is_success:
            return response
        raise status_error(where, response.status_code, reason(response),
                           retry_after=response.headers.get("Retry-After"))

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


class WebhookNotifier:
    """POST each notification as Alertmanager's webhook JSON, so tools built for it work as is.

    A grouped notification is posted as Alertmanager posts an aggregation group: its
    alerts, firing and resolved, with its ``groupKey`` and ``groupLabels``.

    A 2xx answer is delivery; 408, 429 and 5xx (and no answer) are retried by the
    outbox, ``Retry-After`` honoured; any other status is not. With *bearer_token* the
    request carries ``Authorization: Bearer …``. Each request also carries the
    notification's dedup key as ``Idempotency-Key``, so a receiver can drop a retry of a
    message it already took.
    """

    def __init__(self, *, name: str, url: str, bearer_token: Secret | None = None,
                 timeout: float = 10.0, max_alerts: int = 0, external_url: str = "") -> None:
        if not name:
            raise ValueError("name must not be empty")
        if max_alerts < 0:
            raise ValueError(f"webhook receiver {name!r}: max_alerts must be >= 0 (0 sends "
                             f"all), got {max_alerts}")
        self.name, self.max_alerts, self.external_url = name, max_alerts, external_url
        self._http = JsonPoster(where=f"webhook receiver {name!r}", url=url, timeout=timeout,
                                bearer_token=bearer_token)
        self._recent = RecentDeliveries()

    def __repr__(self) -> str:
        return f"WebhookNotifier(name={self.name!r}, url={safe_url(self._http.url)!r})"

    def send(self, notification: Notification) -> Delivery:
        """POST *notification* as a webhook message: its group's alerts, or its one alert."""
        done = self._recent.get(notification.dedup_key)
        if done is not None:
            return done
        body = webhook_message(notification, receiver=notification.receiver or self.name,
                               external_url=self.external_url, max_alerts=self.max_alerts)
        response = self._http.post(body, headers={"Idempotency-Key": notification.dedup_key})
        delivery = Delivery(accepted=True, detail=f"HTTP {response.status_code} from "
                                                  f"{safe_url(self._http.url)}")
        self._recent.put(notification.dedup_key, delivery)
        log.debug("webhook %s: delivered %s", self.name, notification.dedup_key)
        return delivery

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
