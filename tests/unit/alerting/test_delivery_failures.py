"""Failing receivers: health gauges, and a NotifierFailing alert at the fallback receiver."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerting.delivery import (
    NOTIFIER_FAILING,
    DeliveryReport,
    DeliveryWorker,
    ReceiverHealth,
    ReceiverStats,
)
from monitor.alerting.notifiers.base import Notifier
from monitor.alerting.notifiers.recording import RecordingNotifier
from monitor.core.errors import DeliveryError
from monitor.core.model import Delivery, Labels, Notification, NotificationStatus
from monitor.core.time import FakeClock
from monitor.store import Database
from monitor.store.outbox import OutboxStatus, OutboxStore, dedup_key

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIRING, RESOLVED = NotificationStatus.FIRING, NotificationStatus.RESOLVED
STEP = timedelta(minutes=10)  # beyond any backoff of these workers


def _note(fingerprint: str = "f00d", receiver: str = "pd") -> Notification:
    return Notification(
        dedup_key=dedup_key(receiver, fingerprint, T0, FIRING), receiver=receiver,
        status=FIRING, alert_fingerprint=fingerprint, alert_name="ModelLatencyHigh",
        labels=Labels({"severity": "page"}), annotations={"summary": "p99 over 300ms"},
        value=0.42, starts_at=T0)


def _worker(database: Database, clock: FakeClock, *, fallback: str | None = "ops",
            after: int = 3, **receivers: Notifier) -> DeliveryWorker:
    return DeliveryWorker(outbox=OutboxStore(database), notifiers=receivers, clock=clock,
                          max_attempts=10, base_delay=timedelta(seconds=1),
                          max_delay=timedelta(seconds=30), rng=random.Random(3),
                          fallback_receiver=fallback, fallback_after=after)


def _run(worker: DeliveryWorker, clock: FakeClock, passes: int) -> list[DeliveryReport]:
    reports = []
    for _ in range(passes):
        reports.append(worker.deliver_due())
        clock.advance(STEP)
    return reports


def _failing(ops: RecordingNotifier) -> list[Notification]:
    return [n for n in ops.sent if n.alert_name == NOTIFIER_FAILING]


def test_three_failed_tries_raise_one_notifier_failing_at_the_fallback(
        database: Database) -> None:
    clock = FakeClock(T0)
    pd, ops = RecordingNotifier(name="pd", fail_times=5), RecordingNotifier(name="ops")
    worker = _worker(database, clock, pd=pd, ops=ops)
    worker.outbox.enqueue(_note(), T0)
    _run(worker, clock, 2)
    assert ops.sent == [] and worker.health["pd"].failures_in_a_row == 2
    crossed_at = clock.now()
    _run(worker, clock, 3)  # the third failure raises it; two more change nothing
    (alert,) = ops.sent
    assert (alert.alert_name, alert.status, alert.receiver) == (NOTIFIER_FAILING, FIRING, "ops")
    assert alert.labels == Labels({"receiver": "pd", "severity": "page"})
    assert alert.alert_fingerprint == Labels({"receiver": "pd", "severity": "page",
                                              "alertname": NOTIFIER_FAILING}).fingerprint()
    assert alert.starts_at == crossed_at and alert.value == 3.0
    assert alert.annotations == {
        "summary": "Notifications to receiver 'pd' are failing",
        "description": "3 tries in a row failed since 2026-03-01 12:00:00 UTC; the last "
                       "error: recording receiver 'pd': simulated failure 3 of 5",
        "runbook_url": "runbooks/notifier-failing.md"}
    health = worker.health["pd"]
    assert (health.failures_in_a_row, health.fallback_open, health.failing_since) == (
        5, True, T0)
    assert health.last_error == "recording receiver 'pd': simulated failure 5 of 5"
    assert worker.stats["pd"] == ReceiverStats(retried=5)


def test_the_next_delivery_resolves_it_on_the_same_message(database: Database) -> None:
    clock = FakeClock(T0)
    pd, ops = RecordingNotifier(name="pd", fail_times=3), RecordingNotifier(name="ops")
    worker = _worker(database, clock, pd=pd, ops=ops)
    worker.outbox.enqueue(_note(), T0)
    _run(worker, clock, 5)
    firing, resolved = ops.sent
    assert (firing.status, resolved.status) == (FIRING, RESOLVED)
    assert resolved.dedup_key == dedup_key("ops", firing.alert_fingerprint, firing.starts_at,
                                           RESOLVED)
    assert resolved.previous_ref == "ops:1"  # the worker pointed it at the firing message
    assert resolved.ends_at is not None and resolved.ends_at > firing.starts_at
    assert len(pd.sent) == 1
    assert worker.health["pd"] == ReceiverHealth()
    assert worker.outbox.counts() == {"pending": 0, "sent": 3, "failed": 0}


def test_a_new_outage_after_recovery_is_a_new_alert(database: Database) -> None:
    clock = FakeClock(T0)
    ops = RecordingNotifier(name="ops")
    worker = _worker(database, clock, after=1, pd=RecordingNotifier(name="pd", fail_times=1),
                     ops=ops)
    worker.outbox.enqueue(_note("a"), T0)
    _run(worker, clock, 3)
    worker.notifiers["pd"] = RecordingNotifier(name="pd", fail_times=1)
    worker.outbox.enqueue(_note("b"), clock.now())
    _run(worker, clock, 3)
    statuses = [(n.status, n.starts_at) for n in _failing(ops)]
    assert [s for s, _ in statuses] == [FIRING, RESOLVED, FIRING, RESOLVED]
    assert statuses[0][1] < statuses[2][1]  # two episodes, two keys


def test_given_up_entries_count_and_non_retryable_errors_count_at_once(
        database: Database) -> None:
    clock = FakeClock(T0)
    ops = RecordingNotifier(name="ops")
    pd = RecordingNotifier(name="pd", fail_times=3, retryable=False)
    worker = _worker(database, clock, pd=pd, ops=ops)
    for fingerprint in ("a", "b", "c"):
        worker.outbox.enqueue(_note(fingerprint), T0)
    assert worker.deliver_due() == DeliveryReport(claimed=4, failed=3, sent=1)
    (alert,) = ops.sent
    assert "3 tries in a row failed" in alert.annotations["description"]
    assert worker.stats["pd"] == ReceiverStats(failed=3)


def test_an_unknown_receiver_counts_too(database: Database) -> None:
    clock = FakeClock(T0)
    ops = RecordingNotifier(name="ops")
    worker = _worker(database, clock, after=1, ops=ops)
    worker.outbox.enqueue(_note(receiver="pager"), T0)
    worker.deliver_due()
    (alert,) = ops.sent
    assert alert.labels["receiver"] == "pager"
    assert alert.annotations["description"].endswith(
        "no notifier for receiver 'pager'; configured receivers: ops")


def test_a_restart_neither_repeats_nor_forgets_the_alert(database: Database) -> None:
    clock = FakeClock(T0)
    ops = RecordingNotifier(name="ops")
    first = _worker(database, clock, pd=RecordingNotifier(name="pd", fail_times=99), ops=ops)
    first.outbox.enqueue(_note(), T0)
    _run(first, clock, 4)
    assert len(_failing(ops)) == 1
    reopened = Database(database.url, schema=database.schema)  # a new process, same database
    try:
        after = RecordingNotifier(name="ops")
        restarted = _worker(reopened, clock, pd=RecordingNotifier(name="pd", fail_times=4),
                            ops=after)
        assert restarted.health == {}
        _run(restarted, clock, 6)  # four more failures, then the page goes out
        (resolved,) = after.sent  # no second firing; the first one's resolution
        assert resolved.status is RESOLVED
        assert resolved.dedup_key == dedup_key("ops", ops.sent[0].alert_fingerprint,
                                               ops.sent[0].starts_at, RESOLVED)
        assert resolved.previous_ref == "ops:1"
        assert restarted.outbox.counts() == {"pending": 0, "sent": 3, "failed": 0}
    finally:
        reopened.dispose()


def test_the_fallback_receiver_never_alerts_itself(database: Database) -> None:
    clock = FakeClock(T0)
    ops = RecordingNotifier(name="ops", fail_times=4)
    worker = _worker(database, clock, ops=ops)
    worker.outbox.enqueue(_note(receiver="ops"), T0)
    _run(worker, clock, 6)
    assert [n.alert_name for n in ops.sent] == ["ModelLatencyHigh"]
    assert worker.health["ops"] == ReceiverHealth()
    assert len(worker.outbox.list()) == 1


def test_without_a_fallback_failures_are_only_counted(database: Database) -> None:
    clock = FakeClock(T0)
    worker = _worker(database, clock, fallback=None, after=1,
                     pd=RecordingNotifier(name="pd", fail_times=2))
    worker.outbox.enqueue(_note(), T0)
    _run(worker, clock, 2)
    assert worker.health["pd"].failures_in_a_row == 2
    assert not worker.health["pd"].fallback_open
    assert len(worker.outbox.list()) == 1


class _LeakyNotifier:
    def send(self, notification: Notification) -> Delivery:
        raise DeliveryError("POST https://bot:hunter2@hooks.example/in?token=s3cr3t failed "
                            + "x" * 600, retryable=True)


def test_the_alert_shows_no_url_credentials_and_stays_short(database: Database) -> None:
    clock = FakeClock(T0)
    ops = RecordingNotifier(name="ops")
    worker = _worker(database, clock, after=1, pd=_LeakyNotifier(), ops=ops)
    worker.outbox.enqueue(_note(), T0)
    worker.deliver_due()
    description = ops.sent[0].annotations["description"]
    assert "hunter2" not in description and "s3cr3t" not in description
    assert "POST https://hooks.example/in?… failed" in description
    assert description.endswith("x…") and len(worker.health["pd"].last_error) == 500
    stored = worker.outbox.get(ops.sent[0].dedup_key)
    assert stored is not None and stored.status is OutboxStatus.SENT


@pytest.mark.parametrize(("options", "message"), [
    ({"fallback_after": 0}, "fallback_after must be at least 1, got 0"),
    ({"fallback_receiver": "pager"}, "fallback_receiver 'pager' has no notifier; configured "
                                     "receivers: ops"),
])
def test_bad_fallback_settings_are_refused(database: Database, options: dict[str, object],
                                           message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeliveryWorker(outbox=OutboxStore(database), clock=FakeClock(T0),
                       notifiers={"ops": RecordingNotifier(name="ops")},
                       **options)  # type: ignore[arg-type]
