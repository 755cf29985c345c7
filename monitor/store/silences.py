"""Silences: label matchers that mute alert notifications for a while, kept in the database.

:class:`Silence` is defined here, below the engines, so the store can hand it out; the
alerting engine re-exports it from :mod:`monitor.alerting.silences`, where silences are
built from user input and matched against alerts.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select

from monitor.core.errors import WatchkeeperError
from monitor.core.matchers import Matcher, MatchOp
from monitor.core.time import from_epoch, to_epoch
from monitor.store.engine import Database
from monitor.store.tables import SilenceRow

__all__ = [
    "Silence",
    "SilenceError",
    "SilenceState",
    "SilenceStore",
    "UnknownSilenceError",
    "matcher_from_api",
    "matcher_to_api",
]

_POSITIVE = (MatchOp.EQ, MatchOp.RE)


class SilenceError(WatchkeeperError, ValueError):
    """A silence is invalid, or cannot be changed as asked."""


class UnknownSilenceError(SilenceError, LookupError):
    """No silence has the given id."""


class SilenceState(StrEnum):
    """Alertmanager's silence states: not started yet, muting now, or over."""

    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


def matcher_to_api(matcher: Matcher) -> dict[str, Any]:
    """Return *matcher* in Alertmanager's API v2 shape (``name, value, isRegex, isEqual``)."""
    return {"name": matcher.name, "value": matcher.value,
            "isRegex": matcher.op in (MatchOp.RE, MatchOp.NRE),
            "isEqual": matcher.op in _POSITIVE}


def matcher_from_api(name: str, value: str, *, is_regex: bool, is_equal: bool) -> Matcher:
    """Build a matcher from Alertmanager's API v2 fields; raise ``ValueError`` on a bad regex."""
    if is_regex:
        op = MatchOp.RE if is_equal else MatchOp.NRE
    else:
        op = MatchOp.EQ if is_equal else MatchOp.NE
    return Matcher(name=name, op=op, value=value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Silence:
    """Mute every alert whose labels all *matchers* match, from *starts_at* until *ends_at*.

    A silence is pending before ``starts_at``, active from ``starts_at`` (included) to
    ``ends_at`` (excluded), and expired from ``ends_at`` on, as in Alertmanager.

    Raises ``SilenceError`` (a ``ValueError``) when there are no matchers, when every
    matcher is a positive one (``=``, ``=~``) that matches the empty string (such a silence
    would mute every alert; Alertmanager refuses it the same way, and likewise counts a
    negative matcher as not matching the empty string), when ``ends_at`` is before
    ``starts_at``, or when ``created_by`` or ``comment`` is blank.
    """

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    updated_at: datetime

    def __post_init__(self) -> None:
        if not self.id:
            raise SilenceError("id: must not be empty")
        if not self.matchers:
            raise SilenceError("matchers: at least one matcher is required, "
                               'e.g. alertname="ModelLatencyHigh"')
        if all(m.op in _POSITIVE and m.matches({}) for m in self.matchers):
            shown = ", ".join(str(m) for m in self.matchers)
            raise SilenceError(f"matchers: at least one matcher must not match the empty "
                               f"string, got {shown}; a silence like this would mute every "
                               "alert")
        if self.ends_at < self.starts_at:
            raise SilenceError(f"endsAt: {self.ends_at.isoformat()} is before startsAt "
                               f"{self.starts_at.isoformat()}; end the silence after it starts")
        if not self.created_by.strip():
            raise SilenceError("createdBy: must not be empty; say who is silencing")
        if not self.comment.strip():
            raise SilenceError("comment: must not be empty; say why the alerts are silenced")

    def state(self, now: datetime) -> SilenceState:
        """Return whether this silence is pending, active or expired at *now*."""
        if now >= self.ends_at:
            return SilenceState.EXPIRED
        if now < self.starts_at:
            return SilenceState.PENDING
        return SilenceState.ACTIVE

    def is_active(self, now: datetime) -> bool:
        """Return whether this silence mutes matching alerts at *now*."""
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Return whether every matcher matches *labels* (a missing label matches as "")."""
        return all(m.matches(labels) for m in self.matchers)


def _to_silence(row: SilenceRow) -> Silence:
    matchers = tuple(matcher_from_api(str(m["name"]), str(m["value"]),
                                      is_regex=bool(m["isRegex"]), is_equal=bool(m["isEqual"]))
                     for m in json.loads(row.matchers))
    return Silence(id=row.id, matchers=matchers, starts_at=from_epoch(row.starts_at),
                   ends_at=from_epoch(row.ends_at), created_by=row.created_by,
                   comment=row.comment, updated_at=from_epoch(row.updated_at))


def _where(state: SilenceState, at: float) -> ColumnElement[bool]:
    if state is SilenceState.ACTIVE:
        return and_(SilenceRow.starts_at <= at, SilenceRow.ends_at > at)
    if state is SilenceState.PENDING:
        return and_(SilenceRow.starts_at > at, SilenceRow.ends_at > at)
    return SilenceRow.ends_at <= at


def _order(silence: Silence, now: datetime) -> tuple[int, float]:
    """Alertmanager's listing order: active by end, pending by start, expired newest first."""
    state = silence.state(now)
    if state is SilenceState.ACTIVE:
        return 0, to_epoch(silence.ends_at)
    if state is SilenceState.PENDING:
        return 1, to_epoch(silence.starts_at)
    return 2, -to_epoch(silence.ends_at)


class SilenceStore:
    """Add, read and expire silences; values in and out are :class:`Silence`, never rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, silence: Silence) -> Silence:
        """Store a new *silence* and return it; raise ``SilenceError`` if its id is taken."""
        with self.db.session() as session:
            if session.get(SilenceRow, silence.id) is not None:
                raise SilenceError(f"silence {silence.id} already exists; expire it and add "
                                   "a new one to change it")
            session.add(SilenceRow(
                id=silence.id,
                matchers=json.dumps([matcher_to_api(m) for m in silence.matchers]),
                starts_at=to_epoch(silence.starts_at), ends_at=to_epoch(silence.ends_at),
                created_by=silence.created_by, comment=silence.comment,
                updated_at=to_epoch(silence.updated_at)))
        return silence

    def get(self, silence_id: str) -> Silence | None:
        """Return the silence with *silence_id*, or None."""
        with self.db.session() as session:
            row = session.get(SilenceRow, silence_id)
            return _to_silence(row) if row is not None else None

    def list(self, now: datetime,
             state: SilenceState | str | None = None) -> builtins.list[Silence]:
        """Return silences (only those in *state* at *now* when given) in Alertmanager's order.

        Active ones come first, soonest to end first; then pending ones, soonest to start
        first; then expired ones, most recently ended first.
        """
        query = select(SilenceRow)
        if state is not None:
            query = query.where(_where(SilenceState(state), to_epoch(now)))
        with self.db.session() as session:
            silences = [_to_silence(row) for row in session.scalars(query)]
        return sorted(silences, key=lambda s: (*_order(s, now), s.id))

    def active(self, now: datetime) -> builtins.list[Silence]:
        """Return the silences muting alerts at *now*."""
        return self.list(now, SilenceState.ACTIVE)

    def overlapping(self, start: datetime, end: datetime) -> builtins.list[Silence]:
        """Return the silences active at some moment from *start* to *end* (both included)."""
        query = select(SilenceRow).where(SilenceRow.starts_at <= to_epoch(end),
                                         SilenceRow.ends_at > to_epoch(start),
                                         SilenceRow.starts_at < SilenceRow.ends_at)
        with self.db.session() as session:
            return sorted((_to_silence(row) for row in session.scalars(query)),
                          key=lambda s: (s.starts_at, s.id))

    def expire(self, silence_id: str, now: datetime) -> Silence:
        """End the silence *silence_id* at *now* and return it.

        An active silence ends now; a pending one gets ``startsAt = endsAt = now``, so it
        never mutes anything (Alertmanager does the same). Raise ``UnknownSilenceError``
        for an unknown id and ``SilenceError`` for a silence that has already expired.
        """
        at = to_epoch(now)
        query = select(SilenceRow).where(SilenceRow.id == silence_id)
        if not self.db.is_sqlite:
            query = query.with_for_update()
        with self.db.session() as session:
            row = session.scalars(query).first()
            if row is None:
                raise UnknownSilenceError(f"no silence with id {silence_id!r}; list them "
                                          "with: watchkeeper silences list")
            before = _to_silence(row)
            if before.state(now) is SilenceState.EXPIRED:
                raise SilenceError(f"silence {silence_id} already expired at "
                                   f"{before.ends_at.isoformat()}")
            row.starts_at, row.ends_at = min(row.starts_at, at), at
            row.updated_at = at
            return replace(before, starts_at=from_epoch(row.starts_at), ends_at=now,
                           updated_at=now)

    def delete_expired_before(self, cutoff: datetime) -> int:
        """Drop silences that ended before *cutoff*; return how many."""
        with self.db.session() as session:
            result = session.execute(
                delete(SilenceRow).where(SilenceRow.ends_at < to_epoch(cutoff)))
            return int(getattr(result, "rowcount", 0) or 0)
