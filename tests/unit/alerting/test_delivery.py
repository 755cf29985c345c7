"""The delivery worker over the outbox on both databases: retries, give-ups, restarts, refs."""

from __future__ import annotations

import dataclasses
import logging
import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerting.delivery import DeliveryReport, DeliveryWorker, ReceiverStats
from monitor.alerting.notifiers.base import Notifier
from monitor.alerting.notifiers.recording import RecordingNotifier
from monitor.core.model import Delivery, Labels, Notification, NotificationStatus
from monitor.core.time import FakeClock
from monitor.store import Database
from monitor.store.outbox import OutboxEntry, OutboxStatus, OutboxStore, dedup_key

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIRING, RESOLVED = NotificationStatus.FIRING, NotificationStatus.RESOLVED


def _note(receiver: str = "ml", fingerprint: str = "f00d",
          status: NotificationStatus = FIRING) -> Notification:
    return Notification(
        dedup_key=dedup_key(receiver, fingerprint, T0, status), receiver=receiver,
        status=status, alert_fingerprint=fingerprint, alert_name="ModelLatencyHigh",
        labels=Labels({"severity": "ticket"}), annotations={"summary": "p99 over 300ms"},
        value=0.42, starts_at=T0, ends_at=T0 + timedelta(minutes=9) if status == RESOLVED
        else None)


def _worker(database: Database, clock: FakeClock, **notifiers: Notifier) -> DeliveryWorker:
    return DeliveryWorker(outbox=OutboxStore(database), notifiers=notifiers, clock=clock,
                          max_attempts=4, rng=random.Random(7))


def _only(database: Database) -> OutboxEntry:
    (entry,) = OutboxStore(database).list()
    return entry


def test_retries_with_backoff_then_sends_once(database: Database) -> None:
    clock, rec = FakeClock(T0), RecordingNotifier(name="ml", fail_times=2)
    worker = _worker(database, clock, ml=rec)
    worker.outbox.enqueue(_note(), T0)
    jitter = random.Random(7)
    assert worker.deliver_due() == DeliveryReport(claimed=1, retried=1)
    first = _only(database)
    expected = T0 + timedelta(seconds=2) * jitter.random()
    assert abs(first.next_attempt_at - expected) < timedelta(milliseconds=1)
    assert (first.attempts, first.last_error) == (1, "recording receiver 'ml': simulated "
                                                     "failure 1 of 2")
    assert worker.deliver_due() == DeliveryReport()  # not due yet
    clock.advance(first.next_attempt_at - T0)
    assert worker.deliver_due().retried == 1
    second = _only(database)
    cap = timedelta(seconds=4)  # base 2s doubled for the second failure
    assert timedelta(0) < second.next_attempt_at - clock.now() <= cap
    clock.advance(cap)
    assert worker.deliver_due() == DeliveryReport(claimed=1, sent=1)
    clock.advance(timedelta(hours=1))
    assert worker.deliver_due() == DeliveryReport()
    done = _only(database)
    assert (done.status, done.attempts, done.external_ref) == (OutboxStatus.SENT, 3, "ml:1")
    # a retry tells the notifier that an earlier try may have got through
    assert rec.sent == [dataclasses.replace(_note(), may_have_been_sent=True)]
    assert [n.may_have_been_sent for n in rec.calls] == [False, True, True]
    assert worker.stats == {"ml": ReceiverStats(sent=1, retried=2)}


def test_gives_up_after_max_attempts(database: Database) -> None:
    clock, rec = FakeClock(T0), RecordingNotifier(name="ml", fail_times=99)
    worker = _worker(database, clock, ml=rec)
    worker.outbox.enqueue(_note(), T0)
    reports = []
    for _ in range(6):
        reports.append(worker.deliver_due())
        clock.advance(worker.max_delay)
    assert [r.retried for r in reports] == [1, 1, 1, 0, 0, 0]
    assert [r.failed for r in reports] == [0, 0, 0, 1, 0, 0]
    failed = _only(database)
    assert failed.status is OutboxStatus.FAILED and failed.attempts == 4
    assert failed.last_error == ("recording receiver 'ml': simulated failure 4 of 99 "
                                 "(gave up after 4 tries)")
    assert len(rec.calls) == 4 and rec.sent == []
    assert worker.stats["ml"] == ReceiverStats(retried=3, failed=1)


def test_non_retryable_error_fails_at_once(database: Database) -> None:
    clock = FakeClock(T0)
    rec = RecordingNotifier(name="ml", fail_times=1, retryable=False)
    worker = _worker(database, clock, ml=rec)
    worker.outbox.enqueue(_note(), T0)
    assert worker.deliver_due() == DeliveryReport(claimed=1, failed=1)
    clock.advance(timedelta(days=1))
    assert worker.deliver_due() == DeliveryReport()
    entry = _only(database)
    assert (entry.status, entry.last_error) == (
        OutboxStatus.FAILED, "recording receiver 'ml': simulated failure 1 of 1")


def test_retry_after_longer_than_the_backoff_is_honoured(database: Database) -> None:
    clock = FakeClock(T0)
    worker = _worker(database, clock,
                     ml=RecordingNotifier(name="ml", fail_times=1, retry_after=120))
    worker.outbox.enqueue(_note(), T0)
    worker.deliver_due()
    assert _only(database).next_attempt_at == T0 + timedelta(seconds=120)
    clock.advance(timedelta(seconds=119))
    assert worker.deliver_due() == DeliveryReport()
    clock.advance(timedelta(seconds=1))
    assert worker.deliver_due().sent == 1


def test_a_restarted_worker_does_not_resend(database: Database) -> None:
    clock = FakeClock(T0)
    before = RecordingNotifier(name="ml")
    _worker(database, clock, ml=before).outbox.enqueue(_note(), T0)
    assert _worker(database, clock, ml=before).deliver_due().sent == 1
    after = RecordingNotifier(name="ml")
    reopened = Database(database.url, schema=database.schema)  # a new process, same database
    try:
        restarted = _worker(reopened, clock, ml=after)
        assert restarted.outbox.enqueue(_note(), T0) is False  # the evaluator re-emits it
        clock.advance(timedelta(days=1))
        assert restarted.deliver_due() == DeliveryReport()
        assert restarted.outbox.counts() == {"pending": 0, "sent": 1, "failed": 0}
    finally:
        reopened.dispose()
    assert after.calls == [] and len(before.sent) == 1


def test_a_claim_left_by_a_dead_worker_is_taken_after_its_lease(database: Database) -> None:
    clock, rec = FakeClock(T0), RecordingNotifier(name="ml")
    worker = _worker(database, clock, ml=rec)
    worker.outbox.enqueue(_note(), T0)
    worker.outbox.claim_due(T0, 10, worker.lease)  # claimed, then the process died
    assert worker.deliver_due() == DeliveryReport()
    clock.advance(worker.lease)
    assert worker.deliver_due().sent == 1 and len(rec.sent) == 1


def test_unknown_receiver_fails_naming_the_known_ones(database: Database) -> None:
    clock = FakeClock(T0)
    worker = _worker(database, clock, ml=RecordingNotifier(name="ml"),
                     ops=RecordingNotifier(name="ops"))
    worker.outbox.enqueue(_note(receiver="pager"), T0)
    assert worker.deliver_due().failed == 1
    assert _only(database).last_error == ("no notifier for receiver 'pager'; configured "
                                          "receivers: ml, ops")
    assert worker.stats == {"pager": ReceiverStats(failed=1)}


class _Broken:
    def send(self, notification: Notification) -> Delivery:
        raise RuntimeError(f"bug while formatting {notification.alert_name}")


class _Refusing:
    def send(self, notification: Notification) -> Delivery:
        return Delivery(accepted=False, detail="queue full")


def test_a_broken_notifier_is_retried_and_does_not_stop_the_others(
        database: Database, caplog: pytest.LogCaptureFixture) -> None:
    clock, rec = FakeClock(T0), RecordingNotifier(name="ml")
    worker = _worker(database, clock, broken=_Broken(), refusing=_Refusing(), ml=rec)
    for receiver in ("broken", "refusing", "ml"):
        worker.outbox.enqueue(_note(receiver=receiver), T0)
    with caplog.at_level(logging.WARNING, logger="monitor.alerting.delivery"):
        report = worker.deliver_due()
    assert report == DeliveryReport(claimed=3, sent=1, retried=2)
    errors = {e.receiver: e.last_error for e in worker.outbox.list(status="pending")}
    assert errors == {"broken": "RuntimeError: bug while formatting ModelLatencyHigh",
                      "refusing": "queue full"}
    (crash,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "notifier raised RuntimeError" in crash.getMessage() and crash.exc_info is not None
    assert len(rec.sent) == 1


def test_resolution_updates_the_firing_message_and_waits_for_it(database: Database) -> None:
    clock = FakeClock(T0)
    rec = RecordingNotifier(name="ml", fail_times=1)
    worker = _worker(database, clock, ml=rec)
    worker.outbox.enqueue(_note(), T0)
    worker.outbox.enqueue(_note(status=RESOLVED), T0)
    # the firing one fails first: the resolution must not overtake it
    assert worker.deliver_due() == DeliveryReport(claimed=2, retried=1, deferred=1)
    resolution = worker.outbox.get(_note(status=RESOLVED).dedup_key)
    assert resolution is not None and resolution.attempts == 0
    assert resolution.last_error.startswith("waiting for ml/f00d/")
    clock.advance(timedelta(minutes=1))
    assert worker.deliver_due() == DeliveryReport(claimed=2, sent=2)
    firing, resolved = rec.sent
    assert (firing.status, resolved.status) == (FIRING, RESOLVED)
    assert resolved.previous_ref == "ml:1"
    stored = worker.outbox.get(resolved.dedup_key)
    assert stored is not None and stored.notification.previous_ref == ""


def test_resolution_without_a_sent_firing_goes_out_as_a_new_message(database: Database) -> None:
    clock = FakeClock(T0)
    rec = RecordingNotifier(name="ml")
    worker = _worker(database, clock, ml=rec)
    worker.outbox.enqueue(_note(status=RESOLVED), T0)
    assert worker.deliver_due().sent == 1
    assert rec.sent[0].previous_ref == ""


def test_backoff_stays_within_its_cap(database: Database) -> None:
    worker = DeliveryWorker(outbox=OutboxStore(database), notifiers={}, clock=FakeClock(T0),
                            base_delay=timedelta(seconds=2), max_delay=timedelta(minutes=5),
                            rng=random.Random(1))
    for attempt in range(1, 40):
        cap = min(timedelta(minutes=5), timedelta(seconds=2) * 2 ** (attempt - 1))
        assert timedelta(0) <= worker.backoff(attempt) <= cap


@pytest.mark.parametrize(("options", "message"), [
    ({"max_attempts": 0}, "max_attempts must be at least 1, got 0"),
    ({"base_delay": timedelta(minutes=10)}, "need 0 < base_delay <= max_delay, got base_delay "
                                           "0:10:00 and max_delay 0:05:00"),
    ({"batch_size": 0}, "batch_size >= 1, got lease 0:05:00 and batch_size 0"),
])
def test_bad_worker_settings_are_refused(database: Database, options: dict[str, object],
                                         message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeliveryWorker(outbox=OutboxStore(database), notifiers={}, clock=FakeClock(T0),
                       **options)  # type: ignore[arg-type]


def test_a_resolution_with_a_foreign_key_is_sent_as_a_new_message(database: Database) -> None:
    clock, rec = FakeClock(T0), RecordingNotifier(name="ml")
    worker = _worker(database, clock, ml=rec)
    note = dataclasses.replace(_note(status=RESOLVED), dedup_key="from-alertmanager/42")
    worker.outbox.enqueue(note, T0)
    assert worker.deliver_due().sent == 1
    assert rec.sent[0].previous_ref == ""
