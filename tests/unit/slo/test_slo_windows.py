"""Default burn-rate tiers: SRE Workbook table 5-8, scaled to the SLO window."""

from __future__ import annotations

import doctest
from datetime import timedelta

import pytest

from monitor.core.model import Severity
from monitor.slo import windows
from monitor.slo.windows import BurnRateWindow, default_windows

H = timedelta(hours=1)
M = timedelta(minutes=1)


def test_thirty_days_gives_the_workbook_table() -> None:
    assert default_windows(timedelta(days=30)) == (
        BurnRateWindow(severity=Severity.PAGE, long_window=H, short_window=5 * M, factor=14.4),
        BurnRateWindow(severity=Severity.PAGE, long_window=6 * H, short_window=30 * M, factor=6.0),
        BurnRateWindow(severity=Severity.TICKET, long_window=24 * H, short_window=2 * H,
                       factor=3.0),
        BurnRateWindow(severity=Severity.TICKET, long_window=72 * H, short_window=6 * H,
                       factor=1.0),
    )


def test_twenty_eight_days_scales_the_factors() -> None:
    got = default_windows(timedelta(days=28))
    # factor = budget share × window / long window, exactly rounded
    assert [w.factor for w in got] == [13.44, 5.6, 2.8, 0.9333333333333333]
    assert [w.pair for w in got] == ["1h/5m", "6h/30m", "1d/2h", "3d/6h"]


def test_window_shorter_than_three_days_needs_explicit_tiers() -> None:
    with pytest.raises(ValueError, match="^window 2d is shorter than the longest default alert "
                                         "window 3d; list alert windows under "):
        default_windows(timedelta(days=2))
    assert default_windows(timedelta(days=3))[-1].factor == 0.1


def test_doctests_pass() -> None:
    result = doctest.testmod(windows)
    assert result.attempted > 0 and result.failed == 0
