"""Alerts and their transitions, persisted so a restart neither forgets nor repeats one."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from monitor.core.model import Alert, AlertState, Labels
from monitor.core.time import from_epoch, to_epoch
from monitor.store.engine import Database
from monitor.store.tables import AlertRow, AlertTransitionRow

__all__ = ["AlertStore", "AlertTransition"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertTransition:
    """One recorded change of an alert's state."""

    fingerprint: str
    name: str
    from_state: AlertState
    to_state: AlertState
    at: datetime
    value: float


def _opt(value: datetime | None) -> float | None:
    return None if value is None else to_epoch(value)


def _opt_dt(value: float | None) -> datetime | None:
    return None if value is None else from_epoch(value)


def _to_alert(row: AlertRow) -> Alert:
    return Alert(
        fingerprint=row.fingerprint, name=row.name, labels=Labels(json.loads(row.labels)),
        annotations=json.loads(row.annotations), state=AlertState(row.state), value=row.value,
        active_since=_opt_dt(row.active_since), fired_at=_opt_dt(row.fired_at),
        resolved_at=_opt_dt(row.resolved_at), updated_at=from_epoch(row.updated_at),
        source=row.source, keep_firing_until=_opt_dt(row.keep_firing_until))


class AlertStore:
    """Read and write alert state; each save and its transition share one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self, states: Iterable[AlertState] | None = None) -> list[Alert]:
        """Return alerts, optionally only those in *states*, by name then fingerprint."""
        query = select(AlertRow).order_by(AlertRow.name, AlertRow.fingerprint)
        if states is not None:
            query = query.where(AlertRow.state.in_([s.value for s in states]))
        with self.db.session() as session:
            return [_to_alert(row) for row in session.scalars(query)]

    def get(self, fingerprint: str) -> Alert | None:
        """Return one alert by fingerprint."""
        with self.db.session() as session:
            row = session.get(AlertRow, fingerprint)
            return _to_alert(row) if row else None

    def save(self, alerts: Iterable[tuple[Alert, AlertState | None]]) -> None:
        """Store each alert; where a previous state is given, record the transition too."""
        with self.db.session() as session:
            for alert, previous in alerts:
                row = session.get(AlertRow, alert.fingerprint) or AlertRow(
                    fingerprint=alert.fingerprint)
                row.name, row.state, row.value = alert.name, alert.state.value, alert.value
                row.labels = json.dumps(dict(alert.labels), sort_keys=True)
                row.annotations = json.dumps(dict(alert.annotations), sort_keys=True)
                row.source = alert.source
                row.active_since, row.fired_at = _opt(alert.active_since), _opt(alert.fired_at)
                row.resolved_at, row.updated_at = _opt(alert.resolved_at), to_epoch(
                    alert.updated_at)
                row.keep_firing_until = _opt(alert.keep_firing_until)
                session.add(row)
                if previous is not None and previous != alert.state:
                    session.add(AlertTransitionRow(
                        fingerprint=alert.fingerprint, name=alert.name,
                        from_state=previous.value, to_state=alert.state.value,
                        at=to_epoch(alert.updated_at), value=alert.value))

    def transitions(self, fingerprint: str | None = None,
                    limit: int = 1000) -> list[AlertTransition]:
        """Return recorded transitions, oldest first."""
        query = select(AlertTransitionRow).order_by(AlertTransitionRow.id).limit(limit)
        if fingerprint is not None:
            query = query.where(AlertTransitionRow.fingerprint == fingerprint)
        with self.db.session() as session:
            return [AlertTransition(fingerprint=r.fingerprint, name=r.name,
                                    from_state=AlertState(r.from_state),
                                    to_state=AlertState(r.to_state), at=from_epoch(r.at),
                                    value=r.value)
                    for r in session.scalars(query)]
