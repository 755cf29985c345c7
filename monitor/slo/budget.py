"""Error-budget maths over event counts: error ratio, burn rate, budget remaining.

Every figure comes from event counts summed over a whole window, so it is weighted by
traffic: a quiet hour with one failed request does not weigh as much as a busy one.
Zero events is "no data" (``None``), never NaN.

Examples
--------
>>> counts = EventCounts(total=1_000_000, bad=250)
>>> round(burn_rate(error_ratio(counts), 0.999), 6)
0.25
>>> round(budget_remaining(counts, 0.999), 6)
0.75
>>> error_ratio(EventCounts(total=0, bad=0)) is None
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

__all__ = [
    "EventCounts",
    "budget_consumed",
    "budget_remaining",
    "burn_rate",
    "error_ratio",
    "sli_ratio",
    "time_to_exhaustion",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCounts:
    """How many events happened in a window and how many of them were bad.

    Counts are floats because counter increases are; ``0 <= bad <= total``.
    """

    total: float
    bad: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.total) and self.total >= 0):
            raise ValueError(f"total must be a finite count >= 0, got {self.total}")
        if not (math.isfinite(self.bad) and 0 <= self.bad <= self.total):
            raise ValueError(f"bad must be between 0 and total ({self.total}), got {self.bad}")

    @property
    def good(self) -> float:
        """Return the events that were not bad."""
        return self.total - self.bad

    @classmethod
    def from_good(cls, *, good: float, total: float) -> EventCounts:
        """Return counts from good and total events; good above total counts as all good.

        Good and total come from different series scraped at slightly different times,
        so good may overshoot total by a little; the overshoot is clipped.

        Examples
        --------
        >>> EventCounts.from_good(good=990, total=1000).bad
        10.0
        >>> EventCounts.from_good(good=1002, total=1000).bad
        0.0
        """
        return cls(total=float(total), bad=float(max(total - good, 0.0)))

    @classmethod
    def from_bad(cls, *, bad: float, total: float) -> EventCounts:
        """Return counts from bad and total events; bad above total counts as all bad.

        Examples
        --------
        >>> EventCounts.from_bad(bad=12, total=10).bad
        10.0
        """
        return cls(total=float(total), bad=float(min(max(bad, 0.0), total)))


def error_ratio(counts: EventCounts | None) -> float | None:
    """Return the share of bad events, or ``None`` when there were no events.

    Parameters
    ----------
    counts
        Events in one window; ``None`` means the source had no data.

    Returns
    -------
    float or None
        ``bad / total`` in ``[0, 1]``; ``None`` for no data or zero events.

    Examples
    --------
    >>> error_ratio(EventCounts(total=400, bad=1))
    0.0025
    >>> error_ratio(None) is None
    True
    """
    if counts is None or counts.total == 0:
        return None
    return counts.bad / counts.total


def sli_ratio(counts: EventCounts | None) -> float | None:
    """Return the share of good events (the SLI), or ``None`` when there were no events.

    Examples
    --------
    >>> sli_ratio(EventCounts(total=400, bad=1))
    0.9975
    """
    ratio = error_ratio(counts)
    return None if ratio is None else 1.0 - ratio


def burn_rate(ratio: float | None, target: float) -> float | None:
    """Return how many times faster than sustainable the budget burns.

    Parameters
    ----------
    ratio
        The error ratio over some window, from :func:`error_ratio`.
    target
        The objective as a fraction in ``(0, 1)``, e.g. ``0.999`` for 99.9%.

    Returns
    -------
    float or None
        ``ratio / (1 - target)``: 1 spends exactly the budget over the SLO period,
        14.4 spends a 30-day budget in a little over two days. ``None`` for no data.

    Raises
    ------
    ValueError
        If *target* is not strictly between 0 and 1.

    Examples
    --------
    >>> round(burn_rate(0.0144, 0.999), 6)
    14.4
    """
    _check_target(target)
    if ratio is None:
        return None
    return ratio / (1.0 - target)


def budget_consumed(counts: EventCounts | None, target: float) -> float | None:
    """Return the share of the error budget that the bad events in *counts* spent.

    Parameters
    ----------
    counts
        Events over the whole SLO period.
    target
        The objective as a fraction in ``(0, 1)``.

    Returns
    -------
    float or None
        ``bad / ((1 - target) × total)``: 0 is untouched, 1 is spent, above 1 overspent.
        ``None`` for no data.

    Notes
    -----
    The budget is ``(1 - target) × total``, the bad events the period may hold. Over the
    whole period this equals the period's burn rate; a burn rate over a shorter window
    relates to the share it consumes as ``burn_rate = consumed × period / window``
    (at steady traffic).

    Examples
    --------
    >>> round(budget_consumed(EventCounts(total=20_000, bad=5), 0.999), 6)
    0.25
    """
    _check_target(target)
    if counts is None or counts.total == 0:
        return None
    return counts.bad / ((1.0 - target) * counts.total)


def budget_remaining(counts: EventCounts | None, target: float) -> float | None:
    """Return the share of the error budget left: ``1 - consumed``; negative once overspent.

    Examples
    --------
    >>> round(budget_remaining(EventCounts(total=20_000, bad=30), 0.999), 6)
    -0.5
    """
    consumed = budget_consumed(counts, target)
    return None if consumed is None else 1.0 - consumed


def time_to_exhaustion(remaining: float | None, rate: float | None,
                       period: timedelta) -> timedelta | None:
    """Return how long the error budget lasts if it keeps burning at *rate*.

    Parameters
    ----------
    remaining
        The share of the budget left (from :func:`budget_remaining`); ``<= 0`` is spent.
    rate
        The burn rate over the forecast's lookback window.
    period
        The SLO period: a burn rate of 1 spends the whole budget in exactly this long.

    Returns
    -------
    timedelta or None
        ``remaining × period / rate``: a burn rate of 1 spends the budget in one period.
        ``timedelta(0)`` when the budget is already spent; ``None`` when nothing burns,
        there is no data, or the forecast is beyond what a ``timedelta`` holds (Nobl9's
        ``timeToBurnBudget``).

    Examples
    --------
    >>> time_to_exhaustion(0.5, 2.0, timedelta(days=30))
    datetime.timedelta(days=7, seconds=43200)
    >>> time_to_exhaustion(0.5, 0.0, timedelta(days=30)) is None
    True
    """
    if remaining is None or rate is None or not rate > 0:
        return None
    if remaining <= 0:
        return timedelta(0)
    try:
        return period * (remaining / rate)
    except OverflowError:  # a burn so slow the budget outlives datetime
        return None


def _check_target(target: float) -> None:
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be a fraction between 0 and 1 (e.g. 0.999), got {target}")
