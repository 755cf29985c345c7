"""Grouped notifications for notifier tests: built by hand, or by the real dispatcher.

:func:`grouped` builds what :class:`~monitor.alerting.grouping.Dispatcher` queues for one
flush of an ``AlertRouting`` group (a test checks the two agree), for tests that want
exact inputs. :class:`GroupPipeline` drives alerts through the real state machine,
dispatcher, outbox and delivery worker, for tests of what a receiver sees over a whole
group episode (the first message, its follow-ups, the resolution).
"""

from __future__ import annotations

import hashlib
import random
import textwrap
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from monitor.alerting.delivery import DeliveryReport, DeliveryWorker
from monitor.alerting.grouping import Dispatcher, group_dedup_key
from monitor.alerting.notifiers.base import Notifier
from monitor.alerting.route_tree import Routing, from_document
from monitor.alerting.state import AlertStateMachine
from monitor.config import ConfigError, load_file
from monitor.core.model import Labels, Notification, NotificationStatus, Signal
from monitor.core.time import FakeClock
from monitor.store import Database
from monitor.store.alerts import AlertStore
from monitor.store.groups import GroupStore
from monitor.store.outbox import OutboxStore

__all__ = ["GroupPipeline", "grouped", "member", "parse_routing"]

FIRING, RESOLVED = NotificationStatus.FIRING, NotificationStatus.RESOLVED


def member(name: str, status: NotificationStatus = FIRING, *, receiver: str,
           labels: Mapping[str, str], annotations: Mapping[str, str] | None = None,
           value: float = 1.0, starts_at: datetime,
           ends_at: datetime | None = None) -> Notification:
    """Return one alert of a group, as the dispatcher describes it (labels carry alertname)."""
    full = Labels({**labels, "alertname": name})
    fingerprint = full.fingerprint()
    if status is RESOLVED and ends_at is None:
        ends_at = starts_at + timedelta(minutes=10)
    return Notification(
        dedup_key=f"{receiver}/{fingerprint}/{int(starts_at.timestamp())}/{status}",
        receiver=receiver, status=status, alert_fingerprint=fingerprint, alert_name=name,
        labels=full, annotations=dict(annotations or {}), value=value, starts_at=starts_at,
        ends_at=ends_at if status is RESOLVED else None)


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def grouped(members: Sequence[Notification], *, group_labels: Mapping[str, str],
            route: str = "{}", flush: int = 1, episode: datetime | None = None,
            receiver: str = "") -> Notification:
    """Return flush number *flush* of a group episode carrying *members*.

    Its ``dedup_key`` is the dispatcher's; ``thread_key`` is empty on the first flush
    and the first flush's key after it, as the dispatcher sets them.
    """
    receiver = receiver or members[0].receiver
    episode = episode or min(m.starts_at for m in members)
    labels = Labels(group_labels)
    group_key = f"{route}:{labels!r}"
    key = hashlib.sha256(f"{receiver}\0{group_key}".encode()).hexdigest()  # Dispatcher.group_id
    firing = [m for m in members if m.status is FIRING]
    common = Labels(_common([m.labels for m in members]))
    lead = firing[0] if firing else members[0]
    return Notification(
        dedup_key=group_dedup_key(receiver, key, episode, flush), receiver=receiver,
        status=FIRING if firing else RESOLVED, alert_fingerprint=key[:32],
        alert_name=common.get("alertname") or members[0].alert_name, labels=common,
        annotations=_common([m.annotations for m in members]), value=lead.value,
        starts_at=min(m.starts_at for m in members),
        ends_at=None if firing else max(m.ends_at or episode for m in members),
        group_key=group_key, group_labels=labels, alerts=tuple(members),
        thread_key="" if flush == 1 else group_dedup_key(receiver, key, episode, 1))


def parse_routing(tmp_path: Path, spec: str) -> Routing:
    """Return the ``AlertRouting`` whose ``spec`` is *spec* (YAML), read as a rule file."""
    path = tmp_path / "routing.yaml"
    path.write_text("apiVersion: watchkeeper.dev/v1\nkind: AlertRouting\n"
                    "metadata: {name: routing}\nspec:\n"
                    + textwrap.indent(textwrap.dedent(spec), "  "), encoding="utf-8")
    errors: list[ConfigError] = []
    docs = load_file(path, "routing.yaml", errors)
    parsed = from_document(docs[0], errors) if docs else None
    if errors or parsed is None:
        raise AssertionError("bad routing in test: " + "; ".join(str(e) for e in errors))
    return parsed


class GroupPipeline:
    """Alerts → state machine → dispatcher → outbox → delivery worker → *notifiers*."""

    def __init__(self, db: Database, routing: Routing, notifiers: Mapping[str, Notifier], *,
                 start: datetime) -> None:
        self.start, self.clock = start, FakeClock(start)
        self.alerts, self.outbox = AlertStore(db), OutboxStore(db)
        self.state = AlertStateMachine(store=self.alerts)
        self.dispatcher = Dispatcher(routing=routing, alerts=self.alerts, groups=GroupStore(db),
                                     outbox=self.outbox, clock=self.clock)
        self.worker = DeliveryWorker(outbox=self.outbox, notifiers=notifiers, clock=self.clock,
                                     base_delay=timedelta(milliseconds=10),
                                     max_delay=timedelta(milliseconds=20),
                                     rng=random.Random(7))
        self.active: dict[tuple[str, Labels], float] = {}

    def fire(self, name: str, value: float = 1.0, **labels: str) -> None:
        """Make the alert *name* with *labels* fire (from the next :meth:`at`)."""
        self.active[(name, Labels(labels))] = value

    def clear(self, name: str, **labels: str) -> None:
        """Make the alert *name* with *labels* stop firing."""
        self.active.pop((name, Labels(labels)), None)

    def at(self, seconds: float) -> tuple[list[Notification], DeliveryReport]:
        """Evaluate, tick and deliver at start + *seconds*; return what was queued, and sent."""
        now = self.start + timedelta(seconds=seconds)
        self.clock.advance(now - self.clock.now())
        before = {e.dedup_key for e in self.outbox.list(limit=100_000)}
        signals = [Signal(name=n, labels=labels, active=True, value=v, source="test",
                          annotations={"summary": f"{n} on {labels.get('model', '?')}"})
                   for (n, labels), v in self.active.items()]
        self.state.apply(signals, now, evaluated_sources={"test"})
        self.dispatcher.tick(now)
        queued = [e.notification for e in self.outbox.list(limit=100_000)
                  if e.dedup_key not in before]
        return queued, self.worker.deliver_due()
