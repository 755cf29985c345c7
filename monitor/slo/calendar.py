"""Calendar SLO periods: the current week, month or quarter in a time zone.

A calendar SLO's budget resets at each period start (Monday 00:00, the 1st of the month,
the 1st of January, April, July or October), in the SLO's time zone. Burn-rate tiers keep
their rolling windows; their factors come from the period's nominal length (7d, 30d, 90d).

Examples
--------
>>> from datetime import UTC, datetime
>>> berlin = CalendarPeriod(unit=CalendarUnit.MONTH, timezone="Europe/Berlin")
>>> start, end = period_bounds(berlin, datetime(2026, 3, 31, 12, tzinfo=UTC))
>>> start.isoformat(), end.isoformat()
('2026-02-28T23:00:00+00:00', '2026-03-31T22:00:00+00:00')
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from monitor.config.schema import suggest
from monitor.slo.model import CalendarPeriod, CalendarUnit

__all__ = ["NOMINAL_LENGTHS", "check_timezone", "nominal_window", "period_bounds"]

#: The nominal length of each calendar period: what tier factors are computed from.
NOMINAL_LENGTHS = {
    CalendarUnit.WEEK: timedelta(days=7),
    CalendarUnit.MONTH: timedelta(days=30),
    CalendarUnit.QUARTER: timedelta(days=90),
}


def nominal_window(unit: CalendarUnit) -> timedelta:
    """Return the nominal length of *unit*: 7d for a week, 30d a month, 90d a quarter."""
    return NOMINAL_LENGTHS[unit]


def check_timezone(name: str) -> ZoneInfo:
    """Return the IANA time zone *name*; raise ``ValueError`` with a suggestion if unknown.

    Examples
    --------
    >>> check_timezone("Europe/Berlin").key
    'Europe/Berlin'
    """
    try:
        if name and not name.startswith(("/", ".")) and ".." not in name:
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    hint = suggest(name, available_timezones(), "time zones")
    if not hint.startswith("did you mean"):
        hint = "use an IANA time zone name such as UTC or Europe/Berlin"
    raise ValueError(f"unknown time zone {name!r}; {hint}")


def period_bounds(period: CalendarPeriod, at: datetime) -> tuple[datetime, datetime]:
    """Return the start and the end of the calendar period holding *at*, in UTC.

    Parameters
    ----------
    period
        The unit (week, month, quarter) and the time zone it is aligned to.
    at
        Any moment; a naive datetime is taken as UTC.

    Returns
    -------
    tuple of datetime
        ``(start, end)``: the period is ``[start, end)``. Both are aware UTC datetimes;
        a local midnight that daylight saving moves is converted exactly.

    Raises
    ------
    ValueError
        If the time zone is unknown.
    """
    zone = check_timezone(period.timezone)
    local = (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(zone)
    if period.unit is CalendarUnit.WEEK:
        day = local.date() - timedelta(days=local.weekday())
        start = datetime(day.year, day.month, day.day, tzinfo=zone)
        nxt = day + timedelta(days=7)
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    else:
        months = 1 if period.unit is CalendarUnit.MONTH else 3
        first = local.month - (local.month - 1) % months
        start = datetime(local.year, first, 1, tzinfo=zone)
        year, month = divmod(first - 1 + months, 12)
        end = datetime(local.year + year, month + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
