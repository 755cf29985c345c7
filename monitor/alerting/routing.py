"""Route alert transitions to receivers as notifications in the outbox."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor.alerting.state import Transition
from monitor.core.model import AlertState, Notification, NotificationStatus
from monitor.store.outbox import OutboxStore, dedup_key

__all__ = ["LINK_ANNOTATIONS", "Route", "Router", "absolute_links"]

LINK_ANNOTATIONS = ("runbook_url", "dashboard_url")


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Send alerts of these severities (all when empty) to one receiver."""

    receiver: str
    severities: tuple[str, ...] = ()

    def accepts(self, severity: str) -> bool:
        """Return whether an alert of *severity* goes to this receiver."""
        return not self.severities or severity in self.severities


def absolute_links(annotations: Mapping[str, str], base_url: str) -> dict[str, str]:
    """Return *annotations* with relative runbook/dashboard links made absolute."""
    out = dict(annotations)
    for key in LINK_ANNOTATIONS:
        link = out.get(key, "")
        if link and "://" not in link and base_url:
            out[key] = base_url.rstrip("/") + "/" + link.lstrip("/")
    return out


class Router:
    """Turn firing and resolving transitions into one notification per matching receiver."""

    def __init__(self, *, routes: Sequence[Route], outbox: OutboxStore, base_url: str) -> None:
        self.routes, self.outbox, self.base_url = tuple(routes), outbox, base_url

    def notifications(self, transitions: Iterable[Transition]) -> list[Notification]:
        """Return the notifications *transitions* call for, without storing them."""
        out = []
        for t in transitions:
            alert = t.alert
            if alert.state is AlertState.FIRING:
                status = NotificationStatus.FIRING
            elif alert.state is AlertState.RESOLVED and t.from_state is AlertState.FIRING:
                status = NotificationStatus.RESOLVED
            else:
                continue
            assert alert.fired_at is not None
            for route in self.routes:
                if not route.accepts(alert.severity):
                    continue
                out.append(Notification(
                    dedup_key=dedup_key(route.receiver, alert.fingerprint, alert.fired_at,
                                        status),
                    receiver=route.receiver, status=status,
                    alert_fingerprint=alert.fingerprint, alert_name=alert.name,
                    labels=alert.labels,
                    annotations=absolute_links(alert.annotations, self.base_url),
                    value=alert.value, starts_at=alert.fired_at, ends_at=alert.resolved_at))
        return out

    def enqueue(self, transitions: Iterable[Transition]) -> list[Notification]:
        """Put the notifications for *transitions* in the outbox; return the new ones."""
        added = []
        for notification in self.notifications(transitions):
            ts = notification.ends_at or notification.starts_at
            if self.outbox.enqueue(notification, ts):
                added.append(notification)
        return added
