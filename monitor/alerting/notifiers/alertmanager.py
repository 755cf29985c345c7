"""Push alerts to Alertmanager's API v2 (``POST /api/v2/alerts``), as Prometheus does."""

from __future__ import annotations

import json
import logging

import httpx

from monitor.alerting.notifiers.base import RecentDeliveries
from monitor.alerting.notifiers.webhook import (
    JsonPoster,
    alert_labels,
    generator_url,
    rfc3339,
    safe_url,
)
from monitor.config.secrets import Secret
from monitor.core.model import Delivery, Notification, NotificationStatus
from monitor.core.time import utcnow

__all__ = ["ALERTS_PATH", "AlertmanagerNotifier", "postable_alert"]

log = logging.getLogger(__name__)

ALERTS_PATH = "/api/v2/alerts"


def postable_alert(notification: Notification) -> dict[str, object]:
    """Return *notification*'s alert as an API v2 ``postableAlert``.

    Labels carry ``alertname``; labels with empty values are left out, as Alertmanager
    drops them. A firing alert has no ``endsAt``, so Alertmanager applies its
    ``resolve_timeout`` unless the alert is pushed again; a resolution sets ``endsAt``
    (its end, or now when it has none), which resolves the alert with the same labels.

    References
    ----------
    https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml (postableAlert)
    """
    alert: dict[str, object] = {
        "labels": {k: v for k, v in alert_labels(notification).items() if v},
        "annotations": dict(sorted(notification.annotations.items())),
        "startsAt": rfc3339(notification.starts_at),
    }
    if notification.status is NotificationStatus.RESOLVED:
        alert["endsAt"] = rfc3339(notification.ends_at or utcnow())
    url = generator_url(notification)
    if url:
        alert["generatorURL"] = url
    return alert


def _alertmanager_reason(response: httpx.Response) -> str:
    """Read Alertmanager's error body: a JSON string, or go-swagger's ``{code, message}``."""
    try:
        data = json.loads(response.text)
    except ValueError:
        return response.text
    if isinstance(data, str):
        return data
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return response.text


class AlertmanagerNotifier:
    """Push each notification's alert to an Alertmanager, for teams whose routing lives there.

    A grouped notification pushes one postable alert per alert of its group, resolved
    ones with their ``endsAt``, so the Alertmanager sees each alert, not the group.

    *url* is the Alertmanager's base address (``http://alertmanager:9093``, a path prefix
    from ``--web.route-prefix`` included); ``/api/v2/alerts`` is added unless present.
    Alertmanager deduplicates alerts by their labels, so a retried push changes nothing.
    Its 400 (an alert it found invalid) is not retried and carries its message; 429, 5xx
    and no answer are retried by the outbox.
    """

    def __init__(self, *, name: str, url: str, timeout: float = 10.0,
                 bearer_token: Secret | None = None) -> None:
        if not name:
            raise ValueError("name must not be empty")
        base = url.rstrip("/")
        target = base if base.endswith(ALERTS_PATH) else base + ALERTS_PATH
        self.name = name
        self._http = JsonPoster(where=f"alertmanager receiver {name!r}", url=target,
                                timeout=timeout, bearer_token=bearer_token)
        self._recent = RecentDeliveries()

    @property
    def url(self) -> str:
        """Return the alerts endpoint pushed to."""
        return self._http.url

    def __repr__(self) -> str:
        return f"AlertmanagerNotifier(name={self.name!r}, url={safe_url(self.url)!r})"

    def send(self, notification: Notification) -> Delivery:
        """Push *notification*'s alerts (firing, or resolved with ``endsAt``) in one request."""
        done = self._recent.get(notification.dedup_key)
        if done is not None:
            return done
        alerts = [postable_alert(m) for m in notification.members()]
        kept = [a for a in alerts if a["labels"]]
        if len(kept) < len(alerts):  # a group's alert gone from the store: no labels left
            log.warning("alertmanager %s: left %d alert(s) without labels out of %s; "
                        "Alertmanager refuses them", self.name, len(alerts) - len(kept),
                        notification.dedup_key)
        if not kept:
            delivery = Delivery(accepted=True, detail="no alert with labels to push")
        else:
            response = self._http.post(kept, reason=_alertmanager_reason)
            delivery = Delivery(accepted=True, detail=f"HTTP {response.status_code} from "
                                                      f"{safe_url(self.url)}")
        self._recent.put(notification.dedup_key, delivery)
        log.debug("alertmanager %s: pushed %s", self.name, notification.dedup_key)
        return delivery

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
