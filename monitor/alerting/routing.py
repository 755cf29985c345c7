"""Route alert transitions to receivers as notifications in the outbox."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.alerting.silences import Silencer, first_silence
from monitor.alerting.state import Transition
from monitor.core.model import Alert, AlertState, Notification, NotificationStatus
from monitor.store.outbox import OutboxStore, dedup_key, firing_counterpart

__all__ = ["LINK_ANNOTATIONS", "Route", "Router", "absolute_links"]

log = logging.getLogger(__name__)

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
    """Turn firing and resolving transitions into one notification per matching receiver.

    With a *silencer*, an alert that fires while a silence matches it is not notified
    (``suppressed_total`` counts the notifications held back, and each is logged at
    INFO). :meth:`unsuppressed`, called at each evaluation, notifies such an alert once
    its silences are gone if it is still firing, as Alertmanager does. The resolution of
    a firing a receiver never heard of (its firing key is not in the outbox) is not sent
    either; so the outbox must keep the firing rows of alerts that have not resolved.

    Unlike Alertmanager, the resolution of a firing that *was* notified is sent even if
    a silence matches the alert by then: a silence stops new pages, it does not leave an
    incident open at the receiver.
    """

    def __init__(self, *, routes: Sequence[Route], outbox: OutboxStore, base_url: str,
                 silencer: Silencer | None = None) -> None:
        self.routes, self.outbox, self.base_url = tuple(routes), outbox, base_url
        self.silencer = silencer
        self.suppressed_total = 0

    def _notification(self, route: Route, alert: Alert,
                      status: NotificationStatus) -> Notification:
        assert alert.fired_at is not None
        return Notification(
            dedup_key=dedup_key(route.receiver, alert.fingerprint, alert.fired_at, status),
            receiver=route.receiver, status=status,
            alert_fingerprint=alert.fingerprint, alert_name=alert.name, labels=alert.labels,
            annotations=absolute_links(alert.annotations, self.base_url),
            value=alert.value, starts_at=alert.fired_at,
            ends_at=alert.resolved_at if status is NotificationStatus.RESOLVED else None)

    def _held_back(self, alert: Alert, status: NotificationStatus,
                   due: list[Notification]) -> list[Notification]:
        """Return the notifications of *due* held back: muted firings, unfired resolutions."""
        if self.silencer is None or not due:
            return []
        if status is NotificationStatus.FIRING:
            silence = self.silencer.silenced_by(alert.labels, at=alert.updated_at)
            if silence is None:
                return []
            log.info("alert %s %s fired under silence %s (by %s: %s); not notifying %s",
                     alert.name, dict(alert.labels), silence.id, silence.created_by,
                     silence.comment, ", ".join(n.receiver for n in due))
            held = due
        else:  # the firing row is the proof that the receiver heard of the alert
            held = [n for n in due if self.outbox.get(firing_counterpart(n.dedup_key)) is None]
            if held:
                log.info("alert %s %s resolved, but %s never heard it fire (silenced); "
                         "not notifying the resolution", alert.name, dict(alert.labels),
                         ", ".join(n.receiver for n in held))
        self.suppressed_total += len(held)
        return held

    def notifications(self, transitions: Iterable[Transition]) -> list[Notification]:
        """Return the notifications *transitions* call for, without storing them."""
        out: list[Notification] = []
        for t in transitions:
            alert = t.alert
            if alert.state is AlertState.FIRING:
                status = NotificationStatus.FIRING
            elif alert.state is AlertState.RESOLVED and t.from_state is AlertState.FIRING:
                status = NotificationStatus.RESOLVED
            else:
                continue
            due = [self._notification(route, alert, status) for route in self.routes
                   if route.accepts(alert.severity)]
            held = {n.dedup_key for n in self._held_back(alert, status, due)}
            out.extend(n for n in due if n.dedup_key not in held)
        return out

    def enqueue(self, transitions: Iterable[Transition]) -> list[Notification]:
        """Put the notifications for *transitions* in the outbox; return the new ones."""
        added = []
        for notification in self.notifications(transitions):
            ts = notification.ends_at or notification.starts_at
            if self.outbox.enqueue(notification, ts):
                added.append(notification)
        return added

    def unsuppressed(self, firing: Iterable[Alert], now: datetime) -> list[Notification]:
        """Queue the firing notifications that silences held back and no longer do.

        Call it at each evaluation with the alerts firing now. An alert counts when a
        silence matched it at some moment since it fired and none matches it at *now*;
        its notification carries the dedup key it would have had when it fired, so a
        receiver that was told already (the key is in the outbox) is not told again, and
        calling this again, or after a restart, queues nothing twice. Return the
        notifications newly queued.
        """
        if self.silencer is None:
            return []
        alerts = [(a, a.fired_at) for a in firing
                  if a.state is AlertState.FIRING and a.fired_at is not None]
        if not alerts:
            return []
        history = self.silencer.history(min(fired for _, fired in alerts), now)
        if not history:
            return []
        added = []
        for alert, fired_at in alerts:
            matching = [s for s in history if s.ends_at > fired_at and s.matches(alert.labels)]
            if not matching or first_silence(matching, alert.labels, now) is not None:
                continue
            for route in self.routes:
                if not route.accepts(alert.severity):
                    continue
                notification = self._notification(route, alert, NotificationStatus.FIRING)
                if self.outbox.enqueue(notification, now):
                    log.info("alert %s %s is no longer silenced and still firing; notifying %s",
                             alert.name, dict(alert.labels), route.receiver)
                    added.append(notification)
        return added
