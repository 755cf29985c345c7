"""Aggregation groups of alert routes: what each group's receiver was last told, and when next."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from monitor.core.model import Labels
from monitor.core.time import from_epoch, to_epoch
from monitor.store.engine import Database
from monitor.store.tables import AlertGroupRow

__all__ = ["AlertGroup", "GroupStore"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertGroup:
    """One aggregation group (see :class:`~monitor.store.tables.AlertGroupRow`)."""

    key: str
    receiver: str
    route: str
    group_key: str
    group_labels: Labels
    episode_started_at: datetime
    next_flush_at: datetime
    last_notified_at: datetime | None = None
    flushes: int = 0
    notified: frozenset[str] = frozenset()
    first_key: str = ""


def _group(row: AlertGroupRow) -> AlertGroup:
    return AlertGroup(
        key=row.key, receiver=row.receiver, route=row.route, group_key=row.group_key,
        group_labels=Labels(json.loads(row.group_labels)),
        episode_started_at=from_epoch(row.episode_started_at),
        next_flush_at=from_epoch(row.next_flush_at),
        last_notified_at=(from_epoch(row.last_notified_at)
                          if row.last_notified_at is not None else None),
        flushes=row.flushes, notified=frozenset(json.loads(row.notified)),
        first_key=row.first_key)


class GroupStore:
    """Read and write aggregation groups; one transaction per call."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self) -> list[AlertGroup]:
        """Return every open group, by key."""
        with self.db.session() as session:
            rows = session.scalars(select(AlertGroupRow).order_by(AlertGroupRow.key))
            return [_group(row) for row in rows]

    def save(self, groups: Iterable[AlertGroup]) -> None:
        """Insert or replace each of *groups*."""
        with self.db.session() as session:
            for g in groups:
                row = session.get(AlertGroupRow, g.key) or AlertGroupRow(key=g.key)
                row.receiver, row.route, row.group_key = g.receiver, g.route, g.group_key
                row.group_labels = json.dumps(dict(g.group_labels), sort_keys=True)
                row.episode_started_at = to_epoch(g.episode_started_at)
                row.next_flush_at = to_epoch(g.next_flush_at)
                row.last_notified_at = (to_epoch(g.last_notified_at)
                                        if g.last_notified_at is not None else None)
                row.flushes, row.first_key = g.flushes, g.first_key
                row.notified = json.dumps(sorted(g.notified))
                session.add(row)

    def delete(self, keys: Iterable[str]) -> None:
        """Delete the groups with these keys (their episodes are over)."""
        wanted = list(keys)
        if not wanted:
            return
        with self.db.session() as session:
            session.execute(delete(AlertGroupRow).where(AlertGroupRow.key.in_(wanted)))
