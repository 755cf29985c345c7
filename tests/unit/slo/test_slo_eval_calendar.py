"""Calendar periods: week, month and quarter boundaries in a time zone, and the forecast maths."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest

from monitor.slo import calendar
from monitor.slo.budget import time_to_exhaustion
from monitor.slo.calendar import check_timezone, nominal_window, period_bounds
from monitor.slo.model import CalendarPeriod, CalendarUnit


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("unit", "zone", "at", "start", "end"), [
    # 1 March 00:30 in Berlin is still 28 February in UTC
    ("month", "Europe/Berlin", _utc(2026, 2, 28, 23, 30), _utc(2026, 2, 28, 23),
     _utc(2026, 3, 31, 22)),
    # ... and one hour earlier it is February in Berlin too
    ("month", "Europe/Berlin", _utc(2026, 2, 28, 22, 30), _utc(2026, 1, 31, 23),
     _utc(2026, 2, 28, 23)),
    ("month", "UTC", _utc(2026, 12, 31, 23, 59), _utc(2026, 12, 1), _utc(2027, 1, 1)),
    ("quarter", "America/New_York", _utc(2026, 5, 15), _utc(2026, 4, 1, 4), _utc(2026, 7, 1, 4)),
    ("quarter", "America/New_York", _utc(2027, 1, 1, 3), _utc(2026, 10, 1, 4),
     _utc(2027, 1, 1, 5)),
    ("week", "Asia/Tokyo", _utc(2026, 3, 29, 16), _utc(2026, 3, 29, 15), _utc(2026, 4, 5, 15)),
    ("week", "UTC", _utc(2026, 3, 29, 16), _utc(2026, 3, 23), _utc(2026, 3, 30)),
])
def test_period_bounds(unit: str, zone: str, at: datetime, start: datetime,
                       end: datetime) -> None:
    got = period_bounds(CalendarPeriod(unit=CalendarUnit(unit), timezone=zone), at)
    assert got == (start, end)
    assert got[0] <= at < got[1]


def test_naive_moments_are_utc_and_nominal_lengths() -> None:
    period = CalendarPeriod(unit=CalendarUnit.MONTH)
    assert period_bounds(period, datetime(2026, 3, 5)) == (_utc(2026, 3, 1), _utc(2026, 4, 1))
    assert [nominal_window(u).days for u in CalendarUnit] == [7, 30, 90]


@pytest.mark.parametrize(("zone", "message"), [
    ("Europe/Berln", "unknown time zone 'Europe/Berln'; did you mean \"Europe/Berlin\"?"),
    ("Nowhere/Atlantis", "unknown time zone 'Nowhere/Atlantis'; use an IANA time zone name "
                         "such as UTC or Europe/Berlin"),
    ("../../etc/passwd", "unknown time zone '../../etc/passwd'; use an IANA time zone name "
                         "such as UTC or Europe/Berlin"),
])
def test_unknown_time_zones_are_refused(zone: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_timezone(zone)
    assert str(caught.value) == message
    with pytest.raises(ValueError, match="unknown time zone"):
        period_bounds(CalendarPeriod(unit=CalendarUnit.WEEK, timezone=zone), _utc(2026, 1, 1))


def test_time_to_exhaustion() -> None:
    month = timedelta(days=30)
    assert time_to_exhaustion(0.75, 6.25, month) == timedelta(days=3.6)
    assert time_to_exhaustion(0.75, 1.0, month) == timedelta(days=22.5)
    assert time_to_exhaustion(-0.5, 2.0, month) == timedelta(0)
    assert time_to_exhaustion(0.75, 0.0, month) is None
    assert time_to_exhaustion(None, 2.0, month) is None
    assert time_to_exhaustion(0.75, None, month) is None
    assert time_to_exhaustion(1.0, 1e-300, month) is None  # beyond what timedelta holds


def test_doctests_pass() -> None:
    result = doctest.testmod(calendar)
    assert result.attempted > 0 and result.failed == 0
