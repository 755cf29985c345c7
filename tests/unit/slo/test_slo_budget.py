"""Error-budget maths: exact figures, no data instead of NaN, and the burn-rate identity."""

from __future__ import annotations

import doctest
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.slo import budget
from monitor.slo.budget import (
    EventCounts,
    budget_consumed,
    budget_remaining,
    burn_rate,
    error_ratio,
    sli_ratio,
)


def test_figures_for_a_known_month() -> None:
    counts = EventCounts(total=2_000_000, bad=500)
    assert error_ratio(counts) == 0.00025
    assert sli_ratio(counts) == 0.99975
    assert burn_rate(error_ratio(counts), 0.999) == pytest.approx(0.25, rel=1e-12)
    assert budget_consumed(counts, 0.999) == pytest.approx(0.25, rel=1e-12)
    assert budget_remaining(counts, 0.999) == pytest.approx(0.75, rel=1e-12)


def test_overspent_budget_goes_negative() -> None:
    counts = EventCounts(total=1000, bad=3)
    assert budget_remaining(counts, 0.999) == pytest.approx(-2.0, rel=1e-12)


@pytest.mark.parametrize("counts", [None, EventCounts(total=0, bad=0)])
def test_no_events_is_no_data_not_nan(counts: EventCounts | None) -> None:
    assert error_ratio(counts) is None
    assert sli_ratio(counts) is None
    assert burn_rate(error_ratio(counts), 0.99) is None
    assert budget_consumed(counts, 0.99) is None
    assert budget_remaining(counts, 0.99) is None


def test_good_and_bad_constructors_clip_scrape_skew() -> None:
    assert EventCounts.from_good(good=1003, total=1000) == EventCounts(total=1000, bad=0)
    assert EventCounts.from_good(good=990, total=1000) == EventCounts(total=1000, bad=10)
    assert EventCounts.from_bad(bad=1200, total=1000) == EventCounts(total=1000, bad=1000)


@pytest.mark.parametrize(("total", "bad", "message"), [
    (-1.0, 0.0, "total must be a finite count >= 0, got -1.0"),
    (math.nan, 0.0, "total must be a finite count >= 0, got nan"),
    (10.0, 11.0, r"bad must be between 0 and total \(10.0\), got 11.0"),
    (10.0, -1.0, r"bad must be between 0 and total \(10.0\), got -1.0"),
])
def test_counts_invariants(total: float, bad: float, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        EventCounts(total=total, bad=bad)


@pytest.mark.parametrize("target", [0.0, 1.0, 99.9])
def test_target_must_be_a_fraction(target: float) -> None:
    with pytest.raises(ValueError, match=f"target must be a fraction between 0 and 1 "
                                         rf"\(e.g. 0.999\), got {target}"):
        burn_rate(0.1, target)


totals = st.integers(min_value=1, max_value=10**9)
targets = st.floats(min_value=0.5, max_value=0.99999)


@given(totals, st.floats(min_value=0, max_value=1), targets)
def test_burn_rate_over_the_period_is_the_consumed_share(
        total: int, bad_share: float, target: float) -> None:
    counts = EventCounts(total=total, bad=math.floor(total * bad_share))
    rate = burn_rate(error_ratio(counts), target)
    consumed = budget_consumed(counts, target)
    assert rate is not None and consumed is not None
    assert rate == pytest.approx(consumed, rel=1e-9, abs=1e-12)
    assert budget_remaining(counts, target) == pytest.approx(1 - consumed, rel=1e-9, abs=1e-12)


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=2, max_value=720),
       st.floats(min_value=0, max_value=1), targets)
def test_burn_rate_equals_consumed_times_period_over_window(
        per_window: int, windows_per_period: int, bad_share: float, target: float) -> None:
    # Steady traffic: the period holds `windows_per_period` windows of `per_window` events.
    bad = math.floor(per_window * bad_share)
    rate = burn_rate(error_ratio(EventCounts(total=per_window, bad=bad)), target)
    consumed = budget_consumed(EventCounts(total=per_window * windows_per_period, bad=bad), target)
    assert rate is not None and consumed is not None
    assert rate == pytest.approx(consumed * windows_per_period, rel=1e-9, abs=1e-12)


def test_doctests_pass() -> None:
    result = doctest.testmod(budget)
    assert result.attempted > 0 and result.failed == 0
