"""Clocks (real and fake) and conversions between datetimes and epoch seconds."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from monitor.config.durations import fmt_duration, parse_duration

__all__ = ["Clock", "FakeClock", "SystemClock", "fmt_duration", "from_epoch", "parse_duration",
           "to_epoch", "utcnow"]


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def to_epoch(moment: datetime) -> float:
    """Return *moment* as Unix seconds; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    """Return Unix *seconds* as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


@runtime_checkable
class Clock(Protocol):
    """Tells the time; injected so tests control it."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return utcnow()


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the fake current time."""
        with self._lock:
            return self._now

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward and return the new time."""
        with self._lock:
            self._now += by
            return self._now
