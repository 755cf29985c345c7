"""The delivery worker: send what the outbox holds, retry with backoff, never send twice."""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.alerting.notifiers.base import Notifier
from monitor.core.errors import DeliveryError
from monitor.core.model import NotificationStatus
from monitor.core.time import Clock
from monitor.store.outbox import OutboxEntry, OutboxStatus, OutboxStore, firing_counterpart

__all__ = ["DeliveryReport", "DeliveryWorker", "ReceiverStats"]

log = logging.getLogger(__name__)


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

    References
    ----------
    Exponential backoff and jitter, AWS Architecture Blog (2015), "full jitter".
    """

    def __init__(self, *, outbox: OutboxStore, notifiers: Mapping[str, Notifier], clock: Clock,
                 max_attempts: int = 8, base_delay: timedelta = timedelta(seconds=2),
                 max_delay: timedelta = timedelta(minutes=5),
                 lease: timedelta = timedelta(minutes=5), batch_size: int = 10,
                 rng: random.Random | None = None) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if not timedelta(0) < base_delay <= max_delay:
            raise ValueError(f"need 0 < base_delay <= max_delay, got base_delay {base_delay} "
                             f"and max_delay {max_delay}")
        if lease <= timedelta(0) or batch_size < 1:
            raise ValueError(f"lease must be > 0 and batch_size >= 1, got lease {lease} "
                             f"and batch_size {batch_size}")
        self.outbox, self.clock = outbox, clock
        self.notifiers = dict(notifiers)
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.lease, self.batch_size = lease, batch_size
        self._rng = rng or random.Random()
        self._stats: dict[str, ReceiverStats] = {}
        self._lock = threading.Lock()

    @property
    def stats(self) -> dict[str, ReceiverStats]:
        """Return a copy of the cumulative outcomes per receiver."""
        with self._lock:
            return dict(self._stats)

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
        if notification.status is NotificationStatus.RESOLVED and not notification.previous_ref:
            firing = self._firing_of(entry)
            if firing is not None and firing.status is OutboxStatus.PENDING:
                return self._defer(entry, firing)
            if firing is not None and firing.status is OutboxStatus.SENT:
                ref = self.outbox.firing_ref(entry.alert_fingerprint, entry.receiver,
                                             firing.dedup_key)
                notification = dataclasses.replace(notification, previous_ref=ref)
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
        return "retried"

    def _fail(self, entry: OutboxEntry, error: str) -> str:
        self.outbox.mark_failed(entry.id, error)
        log.error("receiver %s: gave up on %s: %s", entry.receiver, entry.dedup_key, error)
        self._count(entry.receiver, "failed")
        return "failed"

    def _count(self, receiver: str, outcome: str) -> None:
        with self._lock:
            current = self._stats.get(receiver, ReceiverStats())
            self._stats[receiver] = dataclasses.replace(
                current, **{outcome: getattr(current, outcome) + 1})
