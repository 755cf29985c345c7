"""Grouping: firing alerts into Alertmanager-style aggregation groups, flushed to the outbox.

Each route of the ``AlertRouting`` tree that takes an alert puts it in the group named
by the route and the alert's ``group_by`` label values. A group's receiver hears of it
as Alertmanager's would:

* the first notification goes ``group_wait`` after the group got its first alert;
* then the group is looked at every ``group_interval``, and notified when an alert
  joined it since the last notification or one it reported has resolved;
* an unchanged group that still fires is notified again after ``repeat_interval``;
* when every alert it reported has been reported resolved, the group ends (a later
  alert starts a new one, with ``group_wait`` again).

Silenced and inhibited alerts are left out of notifications (a group of nothing but
muted alerts sends nothing); a reported alert that resolves while muted is still
reported resolved, so an incident is never left open at the receiver (Alertmanager
would stay quiet). Resolutions are always sent (``send_resolved`` is always on).

Group state lives in the store: what each group last reported and when it is next due.
A notification's dedup key is made of the group, its episode and the flush number, and
it is put in the outbox *before* the group state moves on, so a crash in between sends
it once all the same.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from monitor.alerting.inhibit import Inhibitor
from monitor.alerting.route_tree import RouteNode, Routing
from monitor.alerting.routing import absolute_links
from monitor.alerting.silences import first_silence
from monitor.core.model import Alert, AlertState, Labels, Notification, NotificationStatus
from monitor.core.time import Clock, to_epoch
from monitor.store.alerts import AlertStore
from monitor.store.groups import AlertGroup, GroupStore
from monitor.store.outbox import OutboxStore
from monitor.store.silences import SilenceStore

__all__ = ["Dispatcher", "FlushReport", "group_dedup_key"]

log = logging.getLogger(__name__)


def group_dedup_key(receiver: str, group: str, episode: datetime, flush: int) -> str:
    """Return the dedup key of flush number *flush* (1-based) of one group episode."""
    return f"{receiver}/group/{group[:16]}/{int(to_epoch(episode) * 1000)}/{flush}"


@dataclass(slots=True)
class _Pending:
    """One group as this tick sees it: its route and the firing alerts routed to it."""

    route: RouteNode
    group_labels: Labels
    shown: list[Alert] = field(default_factory=list)  # firing, not muted
    muted: set[str] = field(default_factory=set)      # firing but silenced or inhibited


@dataclass(frozen=True, slots=True, kw_only=True)
class FlushReport:
    """What one :meth:`Dispatcher.tick` did."""

    groups: int = 0
    notified: int = 0
    ended: int = 0
    silenced: int = 0
    inhibited: int = 0


class Dispatcher:
    """Route firing alerts through the tree, group them, and flush due groups to the outbox."""

    def __init__(self, *, routing: Routing, alerts: AlertStore, groups: GroupStore,
                 outbox: OutboxStore, clock: Clock, base_url: str = "",
                 silences: SilenceStore | None = None) -> None:
        self.routing, self.alerts, self.groups = routing, alerts, groups
        self.outbox, self.clock, self.base_url = outbox, clock, base_url
        self.silences = silences
        self._routes = {r.key: r for r in routing.route.walk()}
        self._save: list[AlertGroup] = []
        self._end: list[str] = []
        self._silenced: set[str] = set()
        self._inhibited: set[str] = set()
        self.last = FlushReport()

    @staticmethod
    def group_id(route: RouteNode, group_labels: Labels) -> tuple[str, str]:
        """Return (stored key, Alertmanager-style group key) of one group."""
        group_key = f"{route.key}:{group_labels!r}"
        return hashlib.sha256(f"{route.receiver}\0{group_key}".encode()).hexdigest(), group_key

    def tick(self, now: datetime | None = None) -> FlushReport:
        """Group the firing alerts, then notify every group that is due; return counts."""
        moment = now or self.clock.now()
        firing = self.alerts.all([AlertState.FIRING])
        firing_now = {a.fingerprint for a in firing}
        pending = self._route(firing, moment)
        stored = {g.key: g for g in self.groups.all()}
        notified = ended = 0
        self._save, self._end = [], []
        for key in sorted(set(pending) | set(stored)):
            group, due = stored.get(key), pending.get(key)
            if group is None:
                if due is None or not due.shown:
                    continue
                group = self._open(key, due, moment)
                self._save.append(group)
            if moment < group.next_flush_at:
                continue
            outcome = self._flush(group, due, moment, firing_now)
            notified += outcome == "notified"
            ended += outcome == "ended"
        # the group state moves on only after its notifications are in the outbox
        self.groups.save({g.key: g for g in self._save if g.key not in self._end}.values())
        self.groups.delete(self._end)
        self.last = FlushReport(groups=len(pending), notified=notified, ended=ended,
                                silenced=len(self._silenced), inhibited=len(self._inhibited))
        return self.last

    def _route(self, firing: Sequence[Alert], now: datetime) -> dict[str, _Pending]:
        silences = self.silences.active(now) if self.silences is not None else []
        inhibitor = Inhibitor(self.routing.inhibit_rules, firing)
        out: dict[str, _Pending] = {}
        self._silenced, self._inhibited = set(), set()
        for alert in firing:
            if silences and first_silence(silences, alert.labels, now) is not None:
                self._silenced.add(alert.fingerprint)
            elif inhibitor.inhibited_by(alert):
                self._inhibited.add(alert.fingerprint)
            muted = alert.fingerprint in self._silenced or alert.fingerprint in self._inhibited
            for route in self.routing.route.match(alert.labels):
                labels = route.group_labels(alert.labels)
                key, _ = self.group_id(route, labels)
                entry = out.setdefault(key, _Pending(route=route, group_labels=labels))
                if muted:
                    entry.muted.add(alert.fingerprint)
                else:
                    entry.shown.append(alert)
        return out

    def _open(self, key: str, due: _Pending, now: datetime) -> AlertGroup:
        _, group_key = self.group_id(due.route, due.group_labels)
        return AlertGroup(key=key, receiver=due.route.receiver, route=due.route.key,
                          group_key=group_key, group_labels=due.group_labels,
                          episode_started_at=now, next_flush_at=now + due.route.group_wait)

    def _flush(self, group: AlertGroup, due: _Pending | None, now: datetime,
               firing_now: set[str]) -> str:
        """Notify *group* if Alertmanager would (its ``DedupStage``), then move it on.

        Alerts it reported that stopped firing are reported resolved; alerts it reported
        that fire but no longer belong to it (the tree changed) are forgotten quietly,
        as they now belong to another group.
        """
        route = self._routes.get(group.route)
        shown = due.shown if due is not None else []
        firing_fps = {a.fingerprint for a in shown}
        muted = due.muted if due is not None else set()
        resolved_fps = sorted(group.notified - firing_now)
        if route is None:  # the route left the tree: report what resolved, and end
            if resolved_fps:
                self._notify(group, [], resolved_fps, now)
            self._end.append(group.key)
            return "ended"
        group = replace(group, notified=group.notified & (firing_fps | muted | set(
            resolved_fps)))
        if group.flushes == 0:
            send = bool(firing_fps)
        elif not firing_fps <= group.notified or resolved_fps:
            send = True
        else:
            assert group.last_notified_at is not None
            send = bool(firing_fps) and now >= group.last_notified_at + route.repeat_interval
        if send:
            self._notify(group, shown, resolved_fps, now)
            group = replace(group, flushes=group.flushes + 1, last_notified_at=now,
                            notified=frozenset(firing_fps | (group.notified & muted)),
                            first_key=group.first_key or self._key(group, 1))
        if not firing_fps and not group.notified:  # nothing shown, nothing left to resolve
            self._end.append(group.key)
            return "ended"
        self._save.append(replace(group, next_flush_at=now + route.group_interval))
        return "notified" if send else "waited"

    def _key(self, group: AlertGroup, flush: int) -> str:
        return group_dedup_key(group.receiver, group.key, group.episode_started_at, flush)

    def _notify(self, group: AlertGroup, shown: Sequence[Alert], resolved: Sequence[str],
                now: datetime) -> None:
        members = [self._member(group, a, NotificationStatus.FIRING, now) for a in shown]
        for fingerprint in resolved:
            alert = self.alerts.get(fingerprint)
            if alert is None:
                log.warning("group %s: alert %s is gone from the store; its resolution is "
                            "reported without labels", group.group_key, fingerprint)
                alert = Alert(fingerprint=fingerprint, name="", labels=Labels(),
                              annotations={}, state=AlertState.RESOLVED, value=0.0,
                              active_since=None, fired_at=None, resolved_at=now,
                              updated_at=now)
            members.append(self._member(group, alert, NotificationStatus.RESOLVED, now))
        key = self._key(group, group.flushes + 1)
        notification = _group_notification(group, members, key, now)
        if self.outbox.enqueue(notification, now):
            log.info("group %s: told %s of %d firing and %d resolved alerts", group.group_key,
                     group.receiver, len(shown), len(resolved))

    def _member(self, group: AlertGroup, alert: Alert, status: NotificationStatus,
                now: datetime) -> Notification:
        starts = alert.fired_at or alert.active_since or alert.updated_at
        ends = (alert.resolved_at or now) if status is NotificationStatus.RESOLVED else None
        return Notification(
            dedup_key=f"{group.receiver}/{alert.fingerprint}/{int(to_epoch(starts))}/{status}",
            receiver=group.receiver, status=status, alert_fingerprint=alert.fingerprint,
            alert_name=alert.name, labels=alert.labels,
            annotations=absolute_links(alert.annotations, self.base_url), value=alert.value,
            starts_at=starts, ends_at=ends)


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def _group_notification(group: AlertGroup, members: Sequence[Notification], key: str,
                        now: datetime) -> Notification:
    firing = [m for m in members if m.status is NotificationStatus.FIRING]
    labels = Labels(_common([m.labels for m in members]))
    name = labels.get("alertname") or (members[0].alert_name if members else "")
    lead = firing[0] if firing else (members[0] if members else None)
    return Notification(
        dedup_key=key, receiver=group.receiver,
        status=NotificationStatus.FIRING if firing else NotificationStatus.RESOLVED,
        alert_fingerprint=group.key[:32], alert_name=name, labels=labels,
        annotations=_common([m.annotations for m in members]),
        value=lead.value if lead is not None else 0.0,
        starts_at=min((m.starts_at for m in members), default=group.episode_started_at),
        ends_at=None if firing else max((m.ends_at or now for m in members), default=now),
        group_key=group.group_key, group_labels=group.group_labels, alerts=tuple(members),
        thread_key=group.first_key)
