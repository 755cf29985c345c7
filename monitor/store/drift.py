"""Drift baselines (versioned profile bytes) and drift runs (one report per check)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from monitor.core.time import from_epoch, to_epoch
from monitor.store.engine import Database
from monitor.store.tables import BaselineRow, DriftRunRow

__all__ = ["BaselineStore", "DriftRun", "DriftRunStore", "StoredBaseline"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredBaseline:
    """One stored baseline version; ``profile`` is the profile's own serialized bytes."""

    monitor: str
    version: int
    created_at: datetime
    source: str
    rows: int
    sha256: str
    profile: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftRun:
    """One drift check over one window; ``report`` is its JSON-ready report."""

    id: int
    monitor: str
    model: str
    baseline_version: int
    window_start: datetime
    window_end: datetime
    rows: int
    status: str
    drifted: int
    created_at: datetime
    report: dict[str, Any]


def _baseline(row: BaselineRow) -> StoredBaseline:
    return StoredBaseline(monitor=row.monitor, version=row.version,
                          created_at=from_epoch(row.created_at), source=row.source,
                          rows=row.rows, sha256=row.sha256, profile=bytes(row.profile))


def _run(row: DriftRunRow) -> DriftRun:
    return DriftRun(id=row.id, monitor=row.monitor, model=row.model,
                    baseline_version=row.baseline_version,
                    window_start=from_epoch(row.window_start),
                    window_end=from_epoch(row.window_end), rows=row.rows, status=row.status,
                    drifted=row.drifted, created_at=from_epoch(row.created_at),
                    report=json.loads(row.report))


class BaselineStore:
    """Versioned baselines per drift monitor; a new profile is a new version."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, monitor: str, profile: bytes, *, source: str, rows: int,
            now: datetime) -> StoredBaseline:
        """Store *profile* as the monitor's next version, unless it equals the latest.

        Building the same baseline twice gives the same bytes; it is not stored again,
        and the latest version is returned.
        """
        digest = hashlib.sha256(profile).hexdigest()
        with self.db.session() as session:
            latest = session.scalars(select(BaselineRow).where(BaselineRow.monitor == monitor)
                                     .order_by(BaselineRow.version.desc()).limit(1)).first()
            if latest is not None and latest.sha256 == digest:
                return _baseline(latest)
            row = BaselineRow(monitor=monitor, version=(latest.version + 1) if latest else 1,
                              created_at=to_epoch(now), source=source, rows=rows,
                              sha256=digest, profile=profile)
            session.add(row)
            session.flush()
            return _baseline(row)

    def latest(self, monitor: str) -> StoredBaseline | None:
        """Return the monitor's newest baseline version, if any."""
        with self.db.session() as session:
            row = session.scalars(select(BaselineRow).where(BaselineRow.monitor == monitor)
                                  .order_by(BaselineRow.version.desc()).limit(1)).first()
            return _baseline(row) if row is not None else None

    def get(self, monitor: str, version: int) -> StoredBaseline | None:
        """Return one version of the monitor's baseline."""
        with self.db.session() as session:
            row = session.scalars(select(BaselineRow).where(
                BaselineRow.monitor == monitor, BaselineRow.version == version)).first()
            return _baseline(row) if row is not None else None

    def versions(self, monitor: str) -> list[int]:
        """Return the monitor's stored versions, oldest first."""
        with self.db.session() as session:
            return list(session.scalars(select(BaselineRow.version)
                                        .where(BaselineRow.monitor == monitor)
                                        .order_by(BaselineRow.version)))


class DriftRunStore:
    """Drift runs, newest first when listed."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, *, monitor: str, model: str, baseline_version: int, window_start: datetime,
            window_end: datetime, rows: int, status: str, drifted: int, now: datetime,
            report: dict[str, Any]) -> DriftRun:
        """Store one run and return it with its id."""
        with self.db.session() as session:
            row = DriftRunRow(monitor=monitor, model=model, baseline_version=baseline_version,
                              window_start=to_epoch(window_start),
                              window_end=to_epoch(window_end), rows=rows, status=status,
                              drifted=drifted, created_at=to_epoch(now),
                              report=json.dumps(report, sort_keys=True, allow_nan=False))
            session.add(row)
            session.flush()
            return _run(row)

    def list(self, monitor: str | None = None, limit: int = 100) -> list[DriftRun]:
        """Return the newest runs, of one monitor or all."""
        query = select(DriftRunRow).order_by(DriftRunRow.id.desc()).limit(limit)
        if monitor is not None:
            query = query.where(DriftRunRow.monitor == monitor)
        with self.db.session() as session:
            return [_run(row) for row in session.scalars(query)]

    def latest_per_monitor(self) -> dict[str, DriftRun]:
        """Return each monitor's newest run."""
        newest = (select(func.max(DriftRunRow.id)).group_by(DriftRunRow.monitor)
                  .scalar_subquery())
        with self.db.session() as session:
            rows = session.scalars(select(DriftRunRow).where(DriftRunRow.id.in_(newest)))
            return {row.monitor: _run(row) for row in rows}
