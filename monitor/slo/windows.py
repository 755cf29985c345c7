"""Multi-window, multi-burn-rate alert tiers (SRE Workbook, chapter 5).

A tier fires when the error budget burns at least ``factor`` times faster than
sustainable over both its long and its short window: the long window proves the burn
is significant, the short one that it is still going on.

Examples
--------
>>> for w in default_windows(timedelta(days=30)):
...     print(w.severity.value, w.pair, w.factor)
page 1h/5m 14.4
page 6h/30m 6.0
ticket 1d/2h 3.0
ticket 3d/6h 1.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

from monitor.config.durations import fmt_duration
from monitor.core.model import Severity

__all__ = ["SLO_SEVERITIES", "BurnRateWindow", "default_windows", "fmt_window"]

#: The severities an SLO alerts with: a page wakes someone, a ticket waits for work hours.
SLO_SEVERITIES = (Severity.PAGE, Severity.TICKET)

# SRE Workbook table 5-8: (severity, long window, short window, share of the period's
# budget that a burn at the threshold spends within the long window).
_DEFAULT_TIERS = (
    (Severity.PAGE, timedelta(hours=1), timedelta(minutes=5), Fraction(2, 100)),
    (Severity.PAGE, timedelta(hours=6), timedelta(minutes=30), Fraction(5, 100)),
    (Severity.TICKET, timedelta(days=1), timedelta(hours=2), Fraction(10, 100)),
    (Severity.TICKET, timedelta(days=3), timedelta(hours=6), Fraction(10, 100)),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BurnRateWindow:
    """One multi-window burn-rate condition (SRE Workbook, table 5-8)."""

    severity: Severity
    long_window: timedelta
    short_window: timedelta
    factor: float
    for_duration: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.for_duration < timedelta(0):
            raise ValueError(f"for must not be negative, got {fmt_window(self.for_duration)}")
        if self.severity not in SLO_SEVERITIES:
            raise ValueError(f"severity must be page or ticket, got {self.severity.value!r}")
        if self.short_window <= timedelta(0):
            raise ValueError("short_window must be positive, got "
                             f"{fmt_window(self.short_window)}")
        if not self.short_window < self.long_window:
            raise ValueError(f"short_window {fmt_window(self.short_window)} must be "
                             f"shorter than long_window {fmt_window(self.long_window)}")
        if not (math.isfinite(self.factor) and self.factor > 0):
            raise ValueError(f"factor must be > 0, got {self.factor}")

    @property
    def pair(self) -> str:
        """Return the windows as ``long/short``, e.g. ``1h/5m``."""
        return f"{fmt_window(self.long_window)}/{fmt_window(self.short_window)}"


def fmt_window(value: timedelta) -> str:
    """Format a window the way SLO users write it: whole days as days (``30d``, not ``4w2d``).

    Examples
    --------
    >>> fmt_window(timedelta(days=30)), fmt_window(timedelta(minutes=90))
    ('30d', '1h30m')
    """
    if value > timedelta(0) and value % timedelta(days=1) == timedelta(0):
        return f"{value.days}d"
    return fmt_duration(value)


def default_windows(period: timedelta) -> tuple[BurnRateWindow, ...]:
    """Return the SRE Workbook tiers for an SLO over *period*.

    Parameters
    ----------
    period
        The SLO's rolling window, e.g. 30 days.

    Returns
    -------
    tuple of BurnRateWindow
        Two page tiers (1h/5m, 6h/30m) and two ticket tiers (1d/2h, 3d/6h). Each factor is
        ``budget_share × period / long_window``, so a burn at the threshold spends 2%, 5%,
        10% and 10% of the period's budget within the long window.

    Raises
    ------
    ValueError
        If *period* is shorter than the longest default window (3d): those tiers would
        look further back than the SLO itself; list shorter windows explicitly instead.

    References
    ----------
    Beyer et al., *The Site Reliability Workbook*, chapter 5, table 5-8.

    Examples
    --------
    >>> [round(w.factor, 4) for w in default_windows(timedelta(days=28))]
    [13.44, 5.6, 2.8, 0.9333]
    """
    longest = max(long for _, long, _, _ in _DEFAULT_TIERS)
    if period < longest:
        raise ValueError(f"window {fmt_window(period)} is shorter than the longest default "
                         f"alert window {fmt_window(longest)}; list alert windows under "
                         "spec.alerting.windows or use a window of at least "
                         f"{fmt_window(longest)}")
    period_us = _microseconds(period)
    return tuple(
        BurnRateWindow(severity=severity, long_window=long, short_window=short,
                       factor=float(share * period_us / _microseconds(long)))
        for severity, long, short, share in _DEFAULT_TIERS
    )


def _microseconds(value: timedelta) -> int:
    # Integer arithmetic keeps 30d → 14.4 exact instead of 14.400000000000002.
    return value // timedelta(microseconds=1)
