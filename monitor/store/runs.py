"""Remediation action runs, their allowed state changes, leases and audit trail.

A run is created once per idempotency key: a second ``create`` with the same key
returns the stored run, so a duplicate alert delivery never acts twice. Workers take
runs with :meth:`RunStore.claim_next`, which holds a lease; a run whose worker died is
resumed by another worker once the lease expires. Every state change writes an audit
event in the same transaction.

Parameters and outputs are stored as JSON, as they are. They come from policy files
and the model registry and must never hold a secret: rollback requests carry none, and
a backend that needs credentials reads them from its own configuration, not from a run.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from monitor.core.errors import StoreError
from monitor.core.time import from_epoch, to_epoch
from monitor.store.engine import Database
from monitor.store.tables import ActionRunRow, AuditEventRow

__all__ = [
    "ALLOWED",
    "ActionRun",
    "AuditEvent",
    "InvalidTransitionError",
    "RunRequest",
    "RunState",
    "RunStore",
    "UnknownRunError",
]


class RunState(StrEnum):
    """Where an action run stands."""

    PROPOSED = "proposed"
    AWAITING_APPROVAL = "awaiting_approval"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ROLLED_BACK = "rolled_back"
    SKIPPED = "skipped"

    @property
    def terminal(self) -> bool:
        """Return whether no further change is allowed (except undoing a success)."""
        return self in _TERMINAL


_TERMINAL = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED,
                       RunState.ROLLED_BACK, RunState.SKIPPED})

ALLOWED: Mapping[RunState, frozenset[RunState]] = {
    RunState.PROPOSED: frozenset({RunState.AWAITING_APPROVAL, RunState.QUEUED,
                                  RunState.SKIPPED, RunState.CANCELLED}),
    RunState.AWAITING_APPROVAL: frozenset({RunState.QUEUED, RunState.CANCELLED}),
    RunState.QUEUED: frozenset({RunState.RUNNING, RunState.CANCELLED, RunState.SKIPPED}),
    RunState.RUNNING: frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED,
                                 RunState.QUEUED}),
    RunState.SUCCEEDED: frozenset({RunState.ROLLED_BACK}),
    RunState.FAILED: frozenset(),
    RunState.CANCELLED: frozenset(),
    RunState.ROLLED_BACK: frozenset(),
    RunState.SKIPPED: frozenset(),
}
"""Which state each state may change to; anything else is an :class:`InvalidTransitionError`."""


class InvalidTransitionError(StoreError):
    """A run was asked to change to a state its current state does not allow."""

    def __init__(self, run_id: int, current: RunState, wanted: RunState) -> None:
        self.run_id, self.current, self.wanted = run_id, current, wanted
        allowed = ", ".join(sorted(ALLOWED[current])) or "nothing (it is final)"
        super().__init__(f"action run {run_id}: cannot go from {current} to {wanted}; "
                         f"from {current} it may go to {allowed}")


class UnknownRunError(StoreError, LookupError):
    """No action run has the given id."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        super().__init__(f"no action run with id {run_id}; list them with "
                         "`watchkeeper actions list`")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRequest:
    """What a new run is for; ``idempotency_key`` makes creating it idempotent."""

    idempotency_key: str
    policy: str
    action: str
    backend: str
    model: str
    state: RunState = RunState.QUEUED
    alert_fingerprint: str = ""
    alert_name: str = ""
    reason: str = ""
    actor: str = ""
    dry_run: bool = False
    parameters: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.idempotency_key or len(self.idempotency_key) > 200:
            raise ValueError(f"idempotency_key must be 1 to 200 characters, "
                             f"got {self.idempotency_key!r}")
        if self.state not in (RunState.PROPOSED, RunState.AWAITING_APPROVAL,
                              RunState.QUEUED, RunState.SKIPPED):
            raise ValueError(f"state: a run starts proposed, awaiting_approval, queued or "
                             f"skipped, got {self.state}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRun:
    """One stored action run."""

    id: int
    idempotency_key: str
    policy: str
    action: str
    backend: str
    model: str
    state: RunState
    alert_fingerprint: str
    alert_name: str
    reason: str
    actor: str
    dry_run: bool
    parameters: Mapping[str, str]
    outputs: Mapping[str, str]
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    lease_owner: str
    lease_expires: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """Who or what did what to a run, when, and why."""

    id: int
    run_id: int | None
    at: datetime
    actor: str
    event: str
    detail: Mapping[str, object]


_Runs = list[ActionRun]
_Events = list[AuditEvent]


def _opt(value: float | None) -> datetime | None:
    return from_epoch(value) if value is not None else None


def _to_run(row: ActionRunRow) -> ActionRun:
    return ActionRun(
        id=row.id, idempotency_key=row.idempotency_key, policy=row.policy, action=row.action,
        backend=row.backend, model=row.model, state=RunState(row.state),
        alert_fingerprint=row.alert_fingerprint, alert_name=row.alert_name, reason=row.reason,
        actor=row.actor, dry_run=row.dry_run, parameters=json.loads(row.parameters),
        outputs=json.loads(row.outputs), error=row.error, created_at=from_epoch(row.created_at),
        started_at=_opt(row.started_at), finished_at=_opt(row.finished_at),
        lease_owner=row.lease_owner, lease_expires=_opt(row.lease_expires))


def _audit(session: Session, run_id: int, now: datetime, actor: str, event: str,
           detail: Mapping[str, object] | None) -> None:
    session.add(AuditEventRow(run_id=run_id, at=to_epoch(now), actor=actor, event=event,
                              detail=json.dumps(dict(detail or {}), sort_keys=True, default=str)))


class RunStore:
    """Create, claim, change and audit action runs."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, request: RunRequest, now: datetime,
               detail: Mapping[str, object] | None = None) -> tuple[ActionRun, bool]:
        """Store a run unless its idempotency key exists; return it and whether it is new.

        The insert relies on the unique key, so two processes racing on one key store
        one run; the loser gets the winner's run and ``False``.
        """
        t = to_epoch(now)
        final = request.state.terminal
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        stmt = insert(ActionRunRow).values(
            idempotency_key=request.idempotency_key, policy=request.policy,
            action=request.action, backend=request.backend, model=request.model,
            state=request.state.value, alert_fingerprint=request.alert_fingerprint,
            alert_name=request.alert_name, reason=request.reason, actor=request.actor,
            dry_run=request.dry_run, parameters=json.dumps(dict(request.parameters),
                                                           sort_keys=True),
            outputs="{}", error="", created_at=t, finished_at=t if final else None,
            lease_owner="", lease_expires=None,
        ).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(ActionRunRow.id)
        with self.db.session() as session:
            created = session.execute(stmt).scalar_one_or_none() is not None
            row = session.scalars(select(ActionRunRow).where(
                ActionRunRow.idempotency_key == request.idempotency_key)).one()
            if created:
                _audit(session, row.id, now, request.actor, "created",
                       {"state": request.state.value, "reason": request.reason,
                        **(detail or {})})
            return _to_run(row), created

    def find(self, idempotency_key: str) -> ActionRun | None:
        """Return the run stored under *idempotency_key*, or None."""
        with self.db.session() as session:
            row = session.scalars(select(ActionRunRow).where(
                ActionRunRow.idempotency_key == idempotency_key)).first()
            return _to_run(row) if row is not None else None

    def get(self, run_id: int) -> ActionRun | None:
        """Return run *run_id*, or None if there is none."""
        with self.db.session() as session:
            row = session.get(ActionRunRow, run_id)
            return _to_run(row) if row is not None else None

    def list(self, limit: int = 50, state: RunState | None = None,
             model: str | None = None) -> _Runs:
        """Return up to *limit* runs, newest first, optionally of one state or model."""
        query = select(ActionRunRow).order_by(ActionRunRow.id.desc()).limit(limit)
        if state is not None:
            query = query.where(ActionRunRow.state == state.value)
        if model is not None:
            query = query.where(ActionRunRow.model == model)
        with self.db.session() as session:
            return [_to_run(row) for row in session.scalars(query)]

    def last_finished(self, model: str, action: str, states: Collection[RunState], *,
                      dry_run: bool | None = None) -> ActionRun | None:
        """Return the latest run of *action* on *model* in one of *states* (for cooldowns).

        "Latest" is by when it finished, else started, else was created; *dry_run*, when
        given, keeps only dry runs (True) or only real ones (False).
        """
        when = func.coalesce(ActionRunRow.finished_at, ActionRunRow.started_at,
                             ActionRunRow.created_at)
        query = (select(ActionRunRow)
                 .where(ActionRunRow.model == model, ActionRunRow.action == action,
                        ActionRunRow.state.in_([s.value for s in states]))
                 .order_by(when.desc(), ActionRunRow.id.desc()).limit(1))
        if dry_run is not None:
            query = query.where(ActionRunRow.dry_run == dry_run)
        with self.db.session() as session:
            row = session.scalars(query).first()
            return _to_run(row) if row is not None else None

    def claim_next(self, owner: str, now: datetime, lease: timedelta) -> ActionRun | None:
        """Take the oldest queued run (or a running one whose lease expired) for *owner*.

        The run is marked running and leased to *owner* until ``now + lease``; a resumed
        run is audited as ``resumed``. The change is a compare-and-set on the state and
        lease seen, and on PostgreSQL the candidate row is taken ``FOR UPDATE SKIP
        LOCKED``, so two workers never claim one run.
        """
        t, until = to_epoch(now), to_epoch(now + lease)
        claimable = or_(ActionRunRow.state == RunState.QUEUED.value,
                        and_(ActionRunRow.state == RunState.RUNNING.value,
                             ActionRunRow.lease_expires <= t))
        query = select(ActionRunRow).where(claimable).order_by(ActionRunRow.id).limit(1)
        if not self.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        with self.db.session() as session:
            self._begin_write(session)
            for _attempt in range(8):
                row = session.scalars(query).first()
                if row is None:
                    return None
                seen_state, seen_owner, seen_lease = row.state, row.lease_owner, row.lease_expires
                same_lease = (ActionRunRow.lease_expires.is_(None) if seen_lease is None
                              else ActionRunRow.lease_expires == seen_lease)
                result = session.execute(
                    update(ActionRunRow)
                    .where(ActionRunRow.id == row.id, ActionRunRow.state == seen_state, same_lease)
                    .values(state=RunState.RUNNING.value, lease_owner=owner, lease_expires=until,
                            started_at=func.coalesce(ActionRunRow.started_at, t)))
                session.refresh(row)
                if not result.rowcount:  # type: ignore[attr-defined]
                    continue  # another worker took it between our read and write
                if seen_state == RunState.RUNNING.value:
                    _audit(session, row.id, now, owner, "resumed",
                           {"previous_owner": seen_owner,
                            "lease_expired_at": from_epoch(seen_lease or t).isoformat()})
                else:
                    _audit(session, row.id, now, owner, RunState.RUNNING.value,
                           {"queued_seconds": round(t - row.created_at, 3),
                            "lease_expires": from_epoch(until).isoformat()})
                return _to_run(row)
        return None

    def transition(self, run_id: int, to_state: RunState, now: datetime, actor: str,
                   detail: Mapping[str, object] | None = None,
                   outputs: Mapping[str, str] | None = None, error: str = "") -> ActionRun:
        """Move run *run_id* to *to_state* and audit it, in one transaction.

        *outputs* are merged into the stored outputs. A final state records
        ``finished_at`` and drops the lease. Raises :class:`InvalidTransitionError` when
        the current state does not allow *to_state*, and :class:`UnknownRunError`.
        """
        t = to_epoch(now)
        with self.db.session() as session:
            row = self._locked(session, run_id)
            current = RunState(row.state)
            if to_state not in ALLOWED[current]:
                raise InvalidTransitionError(run_id, current, to_state)
            values: dict[str, object] = {"state": to_state.value}
            if outputs:
                values["outputs"] = json.dumps({**json.loads(row.outputs), **outputs},
                                               sort_keys=True)
            if error:
                values["error"] = error
            if to_state is RunState.RUNNING and row.started_at is None:
                values["started_at"] = t
            if to_state.terminal:
                values.update(finished_at=t, lease_expires=None)
            if to_state is RunState.QUEUED:
                values.update(lease_owner="", lease_expires=None)
            result = session.execute(update(ActionRunRow).where(
                ActionRunRow.id == run_id, ActionRunRow.state == current.value).values(values))
            if not result.rowcount:  # type: ignore[attr-defined]
                session.refresh(row)
                raise InvalidTransitionError(run_id, RunState(row.state), to_state)
            event_detail: dict[str, object] = {"from": current.value, **(detail or {})}
            if error:
                event_detail["error"] = error
            _audit(session, run_id, now, actor, to_state.value, event_detail)
            session.refresh(row)
            return _to_run(row)

    def record(self, run_id: int, now: datetime, actor: str, event: str,
               detail: Mapping[str, object] | None = None,
               outputs: Mapping[str, str] | None = None) -> ActionRun:
        """Audit a step that does not change the state; merge *outputs* into the run's."""
        with self.db.session() as session:
            row = self._locked(session, run_id)
            if outputs:
                row.outputs = json.dumps({**json.loads(row.outputs), **outputs}, sort_keys=True)
            _audit(session, run_id, now, actor, event, detail)
            session.flush()
            return _to_run(row)

    def audit(self, run_id: int) -> _Events:
        """Return the audit trail of run *run_id*, in the order it was written."""
        with self.db.session() as session:
            rows = session.scalars(select(AuditEventRow).where(AuditEventRow.run_id == run_id)
                                   .order_by(AuditEventRow.id))
            return [AuditEvent(id=r.id, run_id=r.run_id, at=from_epoch(r.at), actor=r.actor,
                               event=r.event, detail=json.loads(r.detail)) for r in rows]

    def _begin_write(self, session: Session) -> None:
        """On SQLite, take the write lock before reading, as PostgreSQL's row locks would.

        A deferred SQLite transaction that reads and then writes fails when another
        writer committed in between; ``BEGIN IMMEDIATE`` waits for the lock instead.
        """
        if self.db.is_sqlite:
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")

    def _locked(self, session: Session, run_id: int) -> ActionRunRow:
        self._begin_write(session)
        query = select(ActionRunRow).where(ActionRunRow.id == run_id)
        if not self.db.is_sqlite:
            query = query.with_for_update()
        row = session.scalars(query).first()
        if row is None:
            raise UnknownRunError(run_id)
        return row
