"""The outbox on both databases: dedup on enqueue, claims and leases, retries, firing refs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from monitor.core.model import Labels, Notification, NotificationStatus
from monitor.store import Database
from monitor.store.outbox import (
    OutboxStatus,
    OutboxStore,
    dedup_key,
    firing_counterpart,
    notification_from_json,
    notification_to_json,
)
from monitor.store.tables import OutboxRow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=1)


def _note(receiver: str = "slack-ml", fingerprint: str = "f00d", *,
          status: NotificationStatus = NotificationStatus.FIRING,
          fired_at: datetime = T0) -> Notification:
    return Notification(
        dedup_key=dedup_key(receiver, fingerprint, fired_at, status), receiver=receiver,
        status=status, alert_fingerprint=fingerprint, alert_name="ErrorBudgetBurn",
        labels=Labels({"severity": "page", "model": "fraud"}),
        annotations={"summary": "budget burning", "burn_rate_1h": "14.4"}, value=14.4,
        starts_at=fired_at + timedelta(microseconds=123457),
        ends_at=fired_at + timedelta(minutes=5) if status == "resolved" else None)


def test_dedup_key_and_its_firing_counterpart() -> None:
    key = dedup_key("team/slack", "f00d", T0 + timedelta(seconds=0.9), "resolved")
    assert key == f"team/slack/f00d/{int(T0.timestamp())}/resolved"
    assert firing_counterpart(key) == f"team/slack/f00d/{int(T0.timestamp())}/firing"
    assert firing_counterpart(firing_counterpart(key)) == firing_counterpart(key)
    with pytest.raises(ValueError, match="'r/f/1/pending' does not end in /firing"):
        firing_counterpart("r/f/1/pending")
    with pytest.raises(ValueError, match="'pending' is not a valid NotificationStatus"):
        dedup_key("r", "f", T0, "pending")


def test_payload_round_trips_exactly() -> None:
    note = _note(status=NotificationStatus.RESOLVED)
    assert notification_from_json(notification_to_json(note)) == note
    with pytest.raises(ValueError, match=r"outbox payload is not a notification .*'\{\}'"):
        notification_from_json("{}")


def test_enqueue_twice_keeps_one_row(database: Database) -> None:
    store = OutboxStore(database)
    assert store.enqueue(_note(), T0) is True
    changed = _note()
    assert store.enqueue(changed, T0 + timedelta(minutes=1)) is False
    (entry,) = store.list()
    assert (entry.status, entry.created_at, entry.attempts) == (OutboxStatus.PENDING, T0, 0)
    assert entry.notification == _note()
    assert store.counts() == {"pending": 1, "sent": 0, "failed": 0}


def test_concurrent_enqueues_of_one_key_insert_once(database: Database) -> None:
    store = OutboxStore(database)
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def enqueue() -> None:
        barrier.wait()
        results.append(store.enqueue(_note(), T0))

    threads = [threading.Thread(target=enqueue) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert store.counts()["pending"] == 1


def test_enqueue_rejects_a_key_the_column_cannot_hold(database: Database) -> None:
    store = OutboxStore(database)
    note = _note(receiver="r" * 190)
    with pytest.raises(ValueError, match=r"dedup_key 'rrrr.* must have 1 to 200 characters, "
                                         r"got 2\d\d"):
        store.enqueue(note, T0)
    assert store.counts()["pending"] == 0


def test_claim_takes_due_rows_once_until_the_lease_ends(database: Database) -> None:
    store = OutboxStore(database)
    for fp in ("a1", "b2", "c3"):
        store.enqueue(_note(fingerprint=fp), T0)
    store.enqueue(_note(fingerprint="later"), T0 + timedelta(minutes=10))
    first = store.claim_due(T0, 2, LEASE)
    assert [e.alert_fingerprint for e in first] == ["a1", "b2"]
    assert all(e.claimed_until == T0 + LEASE for e in first)
    second = store.claim_due(T0, 10, LEASE)
    assert [e.alert_fingerprint for e in second] == ["c3"]
    assert store.claim_due(T0 + timedelta(seconds=59), 10, LEASE) == []
    # the first worker died: after its lease the rows are claimable again
    again = store.claim_due(T0 + LEASE, 10, LEASE)
    assert [e.alert_fingerprint for e in again] == ["a1", "b2", "c3"]
    assert store.claim_due(T0, 0, LEASE) == []


def test_concurrent_claims_never_share_a_row(database: Database) -> None:
    store = OutboxStore(database)
    for i in range(30):
        store.enqueue(_note(fingerprint=f"fp{i:02d}"), T0)
    claimed: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(3)

    def claim() -> None:
        barrier.wait()
        while batch := store.claim_due(T0, 4, LEASE):
            with lock:
                claimed.extend(e.id for e in batch)

    threads = [threading.Thread(target=claim) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(set(claimed))
    assert len(claimed) == 30


def test_retry_schedules_the_next_try_and_counts_it(database: Database) -> None:
    store = OutboxStore(database)
    store.enqueue(_note(), T0)
    (entry,) = store.claim_due(T0, 10, LEASE)
    store.mark_retry(entry.id, "ratelimited", T0 + timedelta(seconds=30))
    assert store.claim_due(T0 + timedelta(seconds=29), 10, LEASE) == []
    (again,) = store.claim_due(T0 + timedelta(seconds=30), 10, LEASE)
    assert (again.attempts, again.last_error) == (1, "ratelimited")
    store.defer(again.id, "waiting", T0 + timedelta(minutes=1))
    (deferred,) = store.list()
    assert (deferred.attempts, deferred.claimed_until) == (1, None)
    assert deferred.next_attempt_at == T0 + timedelta(minutes=1)


def test_sent_and_failed_rows_are_never_claimed_again(database: Database) -> None:
    store = OutboxStore(database)
    store.enqueue(_note(fingerprint="ok"), T0)
    store.enqueue(_note(fingerprint="bad"), T0)
    ok, bad = store.claim_due(T0, 10, LEASE)
    store.mark_sent(ok.id, "C0ALERTS01:1700000001.000100", T0 + timedelta(seconds=1))
    store.mark_failed(bad.id, "channel_not_found")
    store.mark_retry(ok.id, "late retry from an expired lease", T0)  # must not revive it
    assert store.claim_due(T0 + timedelta(days=1), 10, LEASE) == []
    sent = store.get(ok.dedup_key)
    assert sent is not None
    assert (sent.status, sent.attempts, sent.sent_at) == (
        OutboxStatus.SENT, 1, T0 + timedelta(seconds=1))
    (failed,) = store.list(status="failed")
    assert (failed.alert_fingerprint, failed.last_error) == ("bad", "channel_not_found")
    assert store.counts() == {"pending": 0, "sent": 1, "failed": 1}
    assert store.get("no/such/key/firing") is None
    with pytest.raises(ValueError, match="'lost' is not a valid OutboxStatus"):
        store.list(status="lost")


def test_firing_ref_finds_the_sent_firing_message(database: Database) -> None:
    store = OutboxStore(database)
    firing = _note()
    store.enqueue(firing, T0)
    assert store.firing_ref("f00d", "slack-ml", firing.dedup_key) == ""  # not sent yet
    (entry,) = store.claim_due(T0, 10, LEASE)
    store.mark_sent(entry.id, "C0ALERTS01:1700000001.000100", T0)
    resolved = _note(status=NotificationStatus.RESOLVED)
    key = firing_counterpart(resolved.dedup_key)
    assert key == firing.dedup_key
    assert store.firing_ref("f00d", "slack-ml", key) == "C0ALERTS01:1700000001.000100"
    assert store.firing_ref("f00d", "other-receiver", key) == ""
    assert store.firing_ref("beef", "slack-ml", key) == ""


def test_delete_done_before_keeps_pending_rows(database: Database) -> None:
    store = OutboxStore(database)
    store.enqueue(_note(fingerprint="old"), T0)
    store.enqueue(_note(fingerprint="waiting"), T0)
    store.enqueue(_note(fingerprint="new"), T0 + timedelta(days=2))
    old = store.get(_note(fingerprint="old").dedup_key)
    new = store.get(_note(fingerprint="new").dedup_key)
    assert old is not None and new is not None
    store.mark_sent(old.id, "", T0)
    store.mark_sent(new.id, "", T0 + timedelta(days=2))
    assert store.delete_done_before(T0 + timedelta(days=1)) == 1
    assert sorted(e.alert_fingerprint for e in store.list()) == ["new", "waiting"]


def test_an_unreadable_row_is_failed_and_does_not_block_the_queue(database: Database) -> None:
    store = OutboxStore(database)
    store.enqueue(_note(fingerprint="bad"), T0)
    store.enqueue(_note(fingerprint="good"), T0)
    with database.session() as session:
        session.execute(update(OutboxRow).where(OutboxRow.alert_fingerprint == "bad")
                        .values(payload="{not json"))
    (entry,) = store.claim_due(T0, 10, LEASE)
    assert entry.alert_fingerprint == "good"
    with database.session() as session:
        status, error = session.execute(
            select(OutboxRow.status, OutboxRow.last_error)
            .where(OutboxRow.alert_fingerprint == "bad")).one()
    assert status == "failed"
    assert error.startswith("unreadable: outbox payload is not a notification")
