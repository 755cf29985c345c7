"""The delivery worker: send what the outbox holds, retry with backoff, never send twice."""

from __future__ import annotations

import dataclasses
import logging
import random
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.alerting.notifiers.base import Notifier
from monitor.core.errors import DeliveryError
from monitor.core.model import Labels, Notification, NotificationStatus
from monitor.core.time import Clock
from monitor.store.outbox import (
    OutboxEntry,
    OutboxStatus,
    OutboxStore,
    dedup_key,
    firing_counterpart,
)

__all__ = ["NOTIFIER_FAILING", "DeliveryReport", "DeliveryWorker", "ReceiverHealth",
           "ReceiverStats"]

log = logging.getLogger(__name__)

NOTIFIER_FAILING = "NotifierFailing"
NOTIFIER_FAILING_RUNBOOK = "runbooks/notifier-failing.md"
"""The alert the worker raises at the fallback receiver when a receiver keeps failing."""
_ERROR_MAX = 500
_EPISODE_SCAN = 1000  # outbox rows read, once per process, to find NotifierFailing still open
_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")
_QUERY = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#]*)\?[^\s#]*")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReport:
    """What one :meth:`DeliveryWorker.deliver_due` pass did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiverStats:
    """Cumulative outcomes for one receiver since the worker started (for ``/metrics``)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiverHealth:
    """How one receiver does now (gauges for ``/metrics``); a delivery resets it.

    ``failures_in_a_row`` counts failed tries (retried or given up) since the receiver
    last accepted a notification; ``fallback_open`` says whether a ``NotifierFailing``
    about it is open at the fallback receiver.
    """

    failures_in_a_row: int = 0
    last_error: str = ""
    failing_since: datetime | None = None
    fallback_open: bool = False


def _earlier_in_thread(notification: Notification) -> list[str]:
    """Return the keys a grouped follow-up must wait for: its thread's first and previous.

    Group flush keys end in ``/<flush number>`` (see
    :func:`monitor.alerting.grouping.group_dedup_key`); flushes go out in order, so a
    receiver never shows an older state of the group after a newer one.
    """
    head, _, number = notification.dedup_key.rpartition("/")
    keys = [notification.thread_key]
    if number.isdigit() and int(number) > 2:
        keys.append(f"{head}/{int(number) - 1}")
    return keys


def _safe_error(error: str) -> str:
    """Return *error* clipped, without URL credentials or query strings (tokens live there)."""
    text = _QUERY.sub(r"\1?…", _USERINFO.sub(r"\1", error))
    return text if len(text) <= _ERROR_MAX else text[: _ERROR_MAX - 1] + "…"


class DeliveryWorker:
    """Deliver due outbox entries through their receivers' notifiers.

    An entry is marked sent only after its notifier accepted it. A retryable failure
    (a :class:`DeliveryError` with ``retryable``, or any unexpected exception) is tried
    again after an exponential backoff with full jitter, or after the receiver's
    ``retry_after`` when that is longer; after *max_attempts* tries, or on a
    non-retryable error, the entry is marked failed with the error. A resolution waits
    while its firing notification is still pending, then updates that message.

    Parameters
    ----------
    outbox, notifiers, clock
        The outbox; the notifier of each receiver name; the time source.
    max_attempts
        Tries per entry before it is marked failed.
    base_delay, max_delay
        The backoff before try *n* + 1 is drawn from ``[0, min(max_delay, base_delay·2ⁿ⁻¹)]``.
    lease
        How long a claimed batch is reserved for this worker; must outlast
        ``batch_size`` sends.
    batch_size
        Entries claimed at a time.
    fallback_receiver, fallback_after
        When a receiver's tries fail *fallback_after* times in a row, one
        ``NotifierFailing`` alert naming it and its last error is queued (through the
        outbox, so once) for *fallback_receiver*; its resolution follows the receiver's
        next delivery. Counting tries rather than given-up entries tells someone while
        the first page is still being retried. None turns this off.

    References
    ----------
    Exponential backoff and jitter, AWS Architecture Blog (2015), "full jitter".
    """

    def __init__(self, *, outbox: OutboxStore, notifiers: Mapping[str, Notifier], clock: Clock,
                 max_attempts: int = 8, base_delay: timedelta = timedelta(seconds=2),
                 max_delay: timedelta = timedelta(minutes=5),
                 lease: timedelta = timedelta(minutes=5), batch_size: int = 10,
                 rng: random.Random | None = None, fallback_receiver: str | None = None,
                 fallback_after: int = 3) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if not timedelta(0) < base_delay <= max_delay:
            raise ValueError(f"need 0 < base_delay <= max_delay, got base_delay {base_delay} "
                             f"and max_delay {max_delay}")
        if lease <= timedelta(0) or batch_size < 1:
            raise ValueError(f"lease must be > 0 and batch_size >= 1, got lease {lease} "
                             f"and batch_size {batch_size}")
        if fallback_after < 1:
            raise ValueError(f"fallback_after must be at least 1, got {fallback_after}")
        if fallback_receiver is not None and fallback_receiver not in notifiers:
            known = ", ".join(sorted(notifiers)) or "none"
            raise ValueError(f"fallback_receiver {fallback_receiver!r} has no notifier; "
                             f"configured receivers: {known}")
        self.outbox, self.clock = outbox, clock
        self.notifiers = dict(notifiers)
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.lease, self.batch_size = lease, batch_size
        self._rng = rng or random.Random()
        self.fallback_receiver, self.fallback_after = fallback_receiver, fallback_after
        self._stats: dict[str, ReceiverStats] = {}
        self._health: dict[str, ReceiverHealth] = {}
        self._open: dict[str, Notification] | None = None  # receiver -> its NotifierFailing
        self._lock = threading.Lock()

    @property
    def stats(self) -> dict[str, ReceiverStats]:
        """Return a copy of the cumulative outcomes per receiver."""
        with self._lock:
            return dict(self._stats)

    @property
    def health(self) -> dict[str, ReceiverHealth]:
        """Return a copy of each receiver's current health."""
        with self._lock:
            return dict(self._health)

    def backoff(self, attempt: int) -> timedelta:
        """Return the wait after failed try number *attempt* (1-based), full jitter."""
        exponent = min(max(attempt - 1, 0), 30)
        cap: timedelta = min(self.max_delay, self.base_delay * 2**exponent)
        return cap * self._rng.random()

    def deliver_due(self, limit: int = 100) -> DeliveryReport:
        """Deliver up to *limit* entries due now; return what happened to them."""
        started = self.clock.now()
        totals: dict[str, int] = {"claimed": 0, "sent": 0, "retried": 0, "failed": 0,
                                  "deferred": 0}
        while totals["claimed"] < limit:
            batch = self.outbox.claim_due(
                started, min(self.batch_size, limit - totals["claimed"]), self.lease)
            if not batch:
                break
            totals["claimed"] += len(batch)
            for entry in batch:
                totals[self._deliver(entry)] += 1
        return DeliveryReport(**totals)

    def _deliver(self, entry: OutboxEntry) -> str:
        notifier = self.notifiers.get(entry.receiver)
        if notifier is None:
            known = ", ".join(sorted(self.notifiers)) or "none"
            return self._fail(entry, f"no notifier for receiver {entry.receiver!r}; "
                              f"configured receivers: {known}")
        notification = entry.notification
        if notification.thread_key and not notification.previous_ref:
            for key in _earlier_in_thread(notification):
                earlier = self.outbox.get(key)
                if earlier is not None and earlier.status is OutboxStatus.PENDING:
                    return self._defer(entry, earlier)
            root = self.outbox.get(notification.thread_key)
            if root is not None and root.status is OutboxStatus.SENT and root.external_ref:
                notification = dataclasses.replace(notification, previous_ref=root.external_ref)
        elif notification.status is NotificationStatus.RESOLVED and not notification.previous_ref:
            firing = self._firing_of(entry)
            if firing is not None and firing.status is OutboxStatus.PENDING:
                return self._defer(entry, firing)
            if firing is not None and firing.status is OutboxStatus.SENT:
                ref = self.outbox.firing_ref(entry.alert_fingerprint, entry.receiver,
                                             firing.dedup_key)
                notification = dataclasses.replace(notification, previous_ref=ref)
        if entry.attempts > 0 or entry.created_at <= self.clock.now() - self.lease:
            # tried before, or older than a lease: a dead worker may have sent it
            notification = dataclasses.replace(notification, may_have_been_sent=True)
        attempt = entry.attempts + 1
        try:
            delivery = notifier.send(notification)
        except DeliveryError as exc:
            return self._retry_or_fail(entry, attempt, str(exc), exc.retryable, exc.retry_after)
        except Exception as exc:  # a broken notifier must not stop the others
            log.error("receiver %s: notifier raised %s while sending %s (try %d)",
                      entry.receiver, type(exc).__name__, entry.dedup_key, attempt,
                      exc_info=exc)
            return self._retry_or_fail(entry, attempt, f"{type(exc).__name__}: {exc}", True,
                                       None)
        if not delivery.accepted:
            detail = delivery.detail or "the receiver did not accept the notification"
            return self._retry_or_fail(entry, attempt, detail, True, None)
        self.outbox.mark_sent(entry.id, delivery.external_ref, self.clock.now())
        log.info("receiver %s: sent %s", entry.receiver, entry.dedup_key)
        self._count(entry.receiver, "sent")
        self._delivered(entry.receiver)
        return "sent"

    def _firing_of(self, entry: OutboxEntry) -> OutboxEntry | None:
        try:
            key = firing_counterpart(entry.dedup_key)
        except ValueError:  # a key not made by dedup_key(): no known firing message
            return None
        return self.outbox.get(key)

    def _defer(self, entry: OutboxEntry, firing: OutboxEntry) -> str:
        until = max(firing.next_attempt_at, self.clock.now() + self.base_delay)
        self.outbox.defer(entry.id, f"waiting for {firing.dedup_key} to be delivered first",
                          until)
        return "deferred"

    def _retry_or_fail(self, entry: OutboxEntry, attempt: int, error: str, retryable: bool,
                       retry_after: float | None) -> str:
        if not retryable:
            return self._fail(entry, error)
        if attempt >= self.max_attempts:
            return self._fail(entry, f"{error} (gave up after {attempt} tries)")
        # at least 1 ms, so a retry is never due again within the pass that scheduled it
        delay = max(self.backoff(attempt), timedelta(milliseconds=1))
        if retry_after is not None and timedelta(seconds=retry_after) > delay:
            delay = timedelta(seconds=retry_after)
        next_at: datetime = self.clock.now() + delay
        self.outbox.mark_retry(entry.id, error, next_at)
        log.warning("receiver %s: try %d of %s failed, next at %s: %s", entry.receiver,
                    attempt, entry.dedup_key, next_at.isoformat(), error)
        self._count(entry.receiver, "retried")
        self._failed_try(entry.receiver, error)
        return "retried"

    def _fail(self, entry: OutboxEntry, error: str) -> str:
        self.outbox.mark_failed(entry.id, error)
        log.error("receiver %s: gave up on %s: %s", entry.receiver, entry.dedup_key, error)
        self._count(entry.receiver, "failed")
        self._failed_try(entry.receiver, error)
        return "failed"

    def _watched(self, receiver: str) -> bool:
        return self.fallback_receiver is not None and receiver != self.fallback_receiver

    def _failed_try(self, receiver: str, error: str) -> None:
        now = self.clock.now()
        with self._lock:
            was = self._health.get(receiver, ReceiverHealth())
            health = dataclasses.replace(
                was, failures_in_a_row=was.failures_in_a_row + 1, last_error=_safe_error(error),
                failing_since=was.failing_since or now)
            self._health[receiver] = health
        if not self._watched(receiver) or health.failures_in_a_row < self.fallback_after:
            return
        episodes = self._open_episodes()
        if receiver not in episodes:
            episodes[receiver] = self._notifier_failing(receiver, health, now)
            self.outbox.enqueue(episodes[receiver], now)
            log.error("receiver %s: %d tries in a row failed; told %s", receiver,
                      health.failures_in_a_row, self.fallback_receiver)
        with self._lock:
            self._health[receiver] = dataclasses.replace(health, fallback_open=True)

    def _delivered(self, receiver: str) -> None:
        with self._lock:
            self._health[receiver] = ReceiverHealth()
        if not self._watched(receiver):
            return
        firing = self._open_episodes().pop(receiver, None)
        if firing is None:
            return
        now = self.clock.now()
        resolution = dataclasses.replace(
            firing, status=NotificationStatus.RESOLVED, ends_at=now,
            dedup_key=dedup_key(firing.receiver, firing.alert_fingerprint, firing.starts_at,
                                NotificationStatus.RESOLVED))
        self.outbox.enqueue(resolution, now)
        log.info("receiver %s: delivers again; told %s", receiver, self.fallback_receiver)

    def _notifier_failing(self, receiver: str, health: ReceiverHealth,
                          now: datetime) -> Notification:
        assert self.fallback_receiver is not None
        labels = Labels({"receiver": receiver, "severity": "page"})
        fingerprint = labels.merged({"alertname": NOTIFIER_FAILING}).fingerprint()
        since = (health.failing_since or now).strftime("%Y-%m-%d %H:%M:%S UTC")
        return Notification(
            dedup_key=dedup_key(self.fallback_receiver, fingerprint, now,
                                NotificationStatus.FIRING),
            receiver=self.fallback_receiver, status=NotificationStatus.FIRING,
            alert_fingerprint=fingerprint, alert_name=NOTIFIER_FAILING, labels=labels,
            annotations={
                "summary": f"Notifications to receiver {receiver!r} are failing",
                "description": f"{health.failures_in_a_row} tries in a row failed since "
                               f"{since}; the last error: {health.last_error}",
                "runbook_url": NOTIFIER_FAILING_RUNBOOK,
            },
            value=float(health.failures_in_a_row), starts_at=now)

    def _open_episodes(self) -> dict[str, Notification]:
        """Return the open NotifierFailing per receiver, read from the outbox once."""
        if self._open is None:
            found: dict[str, Notification] = {}
            seen: set[str] = set()
            for entry in self.outbox.list(limit=_EPISODE_SCAN):  # newest first
                n = entry.notification
                if entry.receiver != self.fallback_receiver or n.alert_name != NOTIFIER_FAILING:
                    continue
                receiver = n.labels.get("receiver", "")
                if receiver not in seen and n.status is NotificationStatus.FIRING:
                    found[receiver] = n
                seen.add(receiver)
            self._open = found
        return self._open

    def _count(self, receiver: str, outcome: str) -> None:
        with self._lock:
            current = self._stats.get(receiver, ReceiverStats())
            self._stats[receiver] = dataclasses.replace(
                current, **{outcome: getattr(current, outcome) + 1})
