"""The notification outbox: enqueue once per dedup key, claim due rows, record each outcome."""

from __future__ import annotations

import builtins
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from monitor.core.model import Labels, Notification, NotificationStatus
from monitor.core.time import from_epoch, to_epoch
from monitor.store.engine import Database
from monitor.store.tables import OutboxRow

__all__ = [
    "MAX_DEDUP_KEY_LENGTH",
    "OutboxEntry",
    "OutboxStatus",
    "OutboxStore",
    "dedup_key",
    "firing_counterpart",
    "notification_from_json",
    "notification_to_json",
]

log = logging.getLogger(__name__)

MAX_DEDUP_KEY_LENGTH = 200  # outbox.dedup_key is VARCHAR(200)
_PAYLOAD_VERSION = 1


class OutboxStatus(StrEnum):
    """Where one outbox row stands: waiting (maybe after failed tries), delivered, given up."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def dedup_key(receiver: str, fingerprint: str, fired_at: datetime,
              status: NotificationStatus | str) -> str:
    """Return the key that makes one notification about one firing episode unique.

    The resolution of an episode carries the same key as its firing notification except
    for the last part; :func:`firing_counterpart` maps one to the other.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> dedup_key("team-slack", "ab12", datetime(2026, 1, 1, tzinfo=UTC), "resolved")
    'team-slack/ab12/1767225600/resolved'
    """
    return f"{receiver}/{fingerprint}/{int(to_epoch(fired_at))}/{NotificationStatus(status)}"


def firing_counterpart(key: str) -> str:
    """Return the dedup key of the firing notification a resolution's *key* follows up."""
    head, sep, status = key.rpartition("/")
    if not sep or status not in {NotificationStatus.FIRING, NotificationStatus.RESOLVED}:
        raise ValueError(f"dedup key {key!r} does not end in /firing or /resolved; "
                         "build keys with monitor.store.outbox.dedup_key")
    return f"{head}/{NotificationStatus.FIRING}"


def notification_to_json(notification: Notification) -> str:
    """Encode *notification* as the outbox payload (times as ISO 8601, exact to the µs)."""
    return json.dumps(_to_dict(notification), sort_keys=True)


def _to_dict(n: Notification) -> dict[str, object]:
    out: dict[str, object] = {
        "v": _PAYLOAD_VERSION,
        "dedup_key": n.dedup_key,
        "receiver": n.receiver,
        "status": str(n.status),
        "alert_fingerprint": n.alert_fingerprint,
        "alert_name": n.alert_name,
        "labels": dict(n.labels),
        "annotations": dict(n.annotations),
        "value": n.value,
        "starts_at": n.starts_at.isoformat(),
        "ends_at": n.ends_at.isoformat() if n.ends_at is not None else None,
        "previous_ref": n.previous_ref,
    }
    if n.group_key or n.alerts or n.thread_key:
        out.update(group_key=n.group_key, group_labels=dict(n.group_labels),
                   thread_key=n.thread_key, alerts=[_to_dict(m) for m in n.alerts])
    return out


def notification_from_json(text: str) -> Notification:
    """Decode an outbox payload written by :func:`notification_to_json`."""
    try:
        return _from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"outbox payload is not a notification ({exc}): {text[:200]!r}") from exc


def _from_dict(data: dict[str, Any]) -> Notification:
    ends_at = data.get("ends_at")
    return Notification(
        dedup_key=str(data["dedup_key"]),
        receiver=str(data["receiver"]),
        status=NotificationStatus(data["status"]),
        alert_fingerprint=str(data["alert_fingerprint"]),
        alert_name=str(data["alert_name"]),
        labels=Labels({str(k): str(v) for k, v in data["labels"].items()}),
        annotations={str(k): str(v) for k, v in data["annotations"].items()},
        value=float(data["value"]),
        starts_at=datetime.fromisoformat(data["starts_at"]),
        ends_at=datetime.fromisoformat(ends_at) if ends_at else None,
        previous_ref=str(data.get("previous_ref", "")),
        group_key=str(data.get("group_key", "")),
        group_labels=Labels({str(k): str(v)
                             for k, v in data.get("group_labels", {}).items()}),
        thread_key=str(data.get("thread_key", "")),
        alerts=tuple(_from_dict(m) for m in data.get("alerts", ())),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxEntry:
    """One outbox row with its decoded notification; ``attempts`` counts finished tries."""

    id: int
    dedup_key: str
    receiver: str
    alert_fingerprint: str
    notification: Notification
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    sent_at: datetime | None
    external_ref: str
    claimed_until: datetime | None


def _entry(row: OutboxRow) -> OutboxEntry:
    return OutboxEntry(
        id=row.id, dedup_key=row.dedup_key, receiver=row.receiver,
        alert_fingerprint=row.alert_fingerprint,
        notification=notification_from_json(row.payload), status=OutboxStatus(row.status),
        attempts=row.attempts, next_attempt_at=from_epoch(row.next_attempt_at),
        last_error=row.last_error, created_at=from_epoch(row.created_at),
        sent_at=from_epoch(row.sent_at) if row.sent_at is not None else None,
        external_ref=row.external_ref,
        claimed_until=from_epoch(row.claimed_until) if row.claimed_until is not None else None,
    )


class OutboxStore:
    """Notifications waiting for delivery, kept in the database so none is lost or sent twice.

    A worker claims due rows for a lease, sends them, then records the outcome with
    :meth:`mark_sent`, :meth:`mark_retry` or :meth:`mark_failed`. A worker that dies
    mid-send leaves its rows claimed until the lease runs out; then another worker may
    claim them again, so the lease must outlast one send.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def enqueue(self, notification: Notification, now: datetime) -> bool:
        """Queue *notification* for delivery at *now*; return False if its key is queued.

        A second enqueue of the same ``dedup_key`` changes nothing, also when two
        processes race: the unique constraint decides and the loser's insert is ignored.
        """
        key = notification.dedup_key
        if not key or len(key) > MAX_DEDUP_KEY_LENGTH:
            raise ValueError(f"dedup_key {key[:60]!r} must have 1 to {MAX_DEDUP_KEY_LENGTH} "
                             f"characters, got {len(key)}")
        at = to_epoch(now)
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        stmt = insert(OutboxRow).values(
            dedup_key=key, receiver=notification.receiver,
            alert_fingerprint=notification.alert_fingerprint,
            payload=notification_to_json(notification), status=OutboxStatus.PENDING.value,
            attempts=0, next_attempt_at=at, last_error="", created_at=at, sent_at=None,
            external_ref="", claimed_until=None,
        ).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(OutboxRow.id)
        with self.db.session() as session:
            return session.execute(stmt).first() is not None

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Claim up to *limit* pending rows due at *now* for *lease*; oldest due first.

        One ``UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING`` statement, so two
        workers never claim the same row: PostgreSQL skips rows another transaction has
        locked (``FOR UPDATE SKIP LOCKED``), SQLite serialises writers.
        """
        if limit <= 0:
            return []
        at = to_epoch(now)
        due = (select(OutboxRow.id)
               .where(OutboxRow.status == OutboxStatus.PENDING.value,
                      OutboxRow.next_attempt_at <= at,
                      (OutboxRow.claimed_until.is_(None)) | (OutboxRow.claimed_until <= at))
               .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
               .limit(limit))
        if not self.db.is_sqlite:
            due = due.with_for_update(skip_locked=True)
        stmt = (update(OutboxRow)
                .where(OutboxRow.id.in_(due.scalar_subquery()))
                .values(claimed_until=to_epoch(now + lease))
                .returning(OutboxRow)
                .execution_options(synchronize_session=False))
        entries: builtins.list[OutboxEntry] = []
        with self.db.session() as session:
            for row in session.scalars(stmt).all():
                try:
                    entries.append(_entry(row))
                except ValueError as exc:  # never let one unreadable row block the queue
                    log.error("outbox row %s (%s) is unreadable and is marked failed: %s",
                              row.id, row.dedup_key, exc)
                    session.execute(update(OutboxRow).where(OutboxRow.id == row.id).values(
                        status=OutboxStatus.FAILED.value, last_error=f"unreadable: {exc}",
                        claimed_until=None).execution_options(synchronize_session=False))
        return sorted(entries, key=lambda e: (e.next_attempt_at, e.id))

    def mark_sent(self, entry_id: int, external_ref: str, now: datetime) -> None:
        """Record a delivery the receiver accepted; a sent row is never claimed again."""
        self._update(entry_id, None, status=OutboxStatus.SENT.value, sent_at=to_epoch(now),
                     external_ref=external_ref, last_error="",
                     attempts=OutboxRow.attempts + 1, claimed_until=None)

    def mark_retry(self, entry_id: int, error: str, next_attempt_at: datetime) -> None:
        """Record a failed try and when to try again; a row already sent stays sent."""
        self._update(entry_id, OutboxStatus.PENDING, last_error=error,
                     next_attempt_at=to_epoch(next_attempt_at),
                     attempts=OutboxRow.attempts + 1, claimed_until=None)

    def defer(self, entry_id: int, reason: str, until: datetime) -> None:
        """Put a claimed row back until *until* without counting a try (it was not sent)."""
        self._update(entry_id, OutboxStatus.PENDING, last_error=reason,
                     next_attempt_at=to_epoch(until), claimed_until=None)

    def mark_failed(self, entry_id: int, error: str) -> None:
        """Give up on a row: it stays in the outbox, failed, with *error* for the operator."""
        self._update(entry_id, OutboxStatus.PENDING, status=OutboxStatus.FAILED.value,
                     last_error=error, attempts=OutboxRow.attempts + 1, claimed_until=None)

    def _update(self, entry_id: int, only_if: OutboxStatus | None, **values: object) -> None:
        stmt = update(OutboxRow).where(OutboxRow.id == entry_id)
        if only_if is not None:
            stmt = stmt.where(OutboxRow.status == only_if.value)
        with self.db.session() as session:
            session.execute(stmt.values(**values).execution_options(synchronize_session=False))

    def get(self, key: str) -> OutboxEntry | None:
        """Return the row queued under dedup *key*, or None."""
        with self.db.session() as session:
            row = session.scalars(select(OutboxRow).where(OutboxRow.dedup_key == key)).first()
            return _entry(row) if row is not None else None

    def firing_ref(self, alert_fingerprint: str, receiver: str, firing_dedup_key: str) -> str:
        """Return the receiver's reference to the sent firing message, or "" if none was sent.

        A resolution uses it to update the message that announced the alert.
        """
        with self.db.session() as session:
            ref = session.scalar(
                select(OutboxRow.external_ref)
                .where(OutboxRow.dedup_key == firing_dedup_key,
                       OutboxRow.alert_fingerprint == alert_fingerprint,
                       OutboxRow.receiver == receiver,
                       OutboxRow.status == OutboxStatus.SENT.value))
            return ref or ""

    def list(self, status: OutboxStatus | str | None = None,
             limit: int = 100) -> builtins.list[OutboxEntry]:
        """Return up to *limit* rows, newest first, optionally only those with *status*."""
        stmt = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(OutboxRow.status == OutboxStatus(status).value)
        with self.db.session() as session:
            return [_entry(row) for row in session.scalars(stmt)]

    def counts(self) -> dict[str, int]:
        """Return how many rows have each status; every status is present."""
        out = {s.value: 0 for s in OutboxStatus}
        with self.db.session() as session:
            rows = session.execute(select(OutboxRow.status, func.count())
                                   .group_by(OutboxRow.status))
            out.update({str(status): int(n) for status, n in rows})
        return out

    def delete_done_before(self, cutoff: datetime) -> int:
        """Drop sent and failed rows created before *cutoff*; return how many."""
        with self.db.session() as session:
            result = session.execute(
                delete(OutboxRow).where(
                    OutboxRow.status.in_([OutboxStatus.SENT.value, OutboxStatus.FAILED.value]),
                    OutboxRow.created_at < to_epoch(cutoff)))
            return int(getattr(result, "rowcount", 0) or 0)
