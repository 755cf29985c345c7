"""The SLO evaluator over a real store: budget, burn rates, MWMB signals, resets, no data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.matchers import parse_selector
from monitor.core.model import Labels, Sample, Severity, Signal
from monitor.core.time import FakeClock
from monitor.slo import (
    AlertingSpec,
    EventsSLI,
    SeverityAlerting,
    SLOEvaluation,
    SLOEvaluator,
    SLOSpec,
    SourceKind,
    StoreSLISource,
    default_windows,
)
from monitor.store import Database, SampleStore

AT = datetime(2026, 3, 31, tzinfo=UTC)
H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)
# Window boundaries before AT, oldest first, and the (total, bad) events in each segment
# between consecutive boundaries. 1,000,000 events and 250 bad ones in 30 days.
BOUNDARIES = [30 * D, 3 * D, D, 6 * H, 2 * H, H, 30 * M, 5 * M, timedelta(0)]
BURNING = [(880_000, 150), (100_000, 30), (12_000, 20), (5_000, 0), (1_900, 0), (500, 10),
           (500, 20), (100, 20)]
# The same month, but the error burst stopped before the last five minutes.
BURST_ENDED = [*BURNING[:-1], (100, 0)]
METRIC = "model_requests_total"
GOOD = f'{METRIC}{{model="churn",code!~"5.."}}'
BAD = f'{METRIC}{{model="churn",code=~"5.."}}'
TOTAL = f'{METRIC}{{model="churn"}}'


def _write(store: SampleStore, code: str, points: list[tuple[timedelta, float]]) -> None:
    store.write(Sample(metric=METRIC, labels=Labels({"model": "churn", "code": code}),
                       value=value, timestamp=AT - before) for before, value in points)


def _cumulative(start: float, increments: list[int]) -> list[float]:
    values = [start]
    for step in increments:
        values.append(values[-1] + step)
    return values


def _month(store: SampleStore, segments: list[tuple[int, int]], *, reset: bool = False) -> None:
    good = _cumulative(1_000, [total - bad for total, bad in segments])
    bad = _cumulative(7, [b for _, b in segments])
    good_points = list(zip(BOUNDARIES, good, strict=True))
    bad_points = list(zip(BOUNDARIES, bad, strict=True))
    if reset:
        # The model restarts at AT-2d (good counter back to 0, then 40,000 more) and its
        # bad counter restarts at AT-30m (back to 0, then 10 more).
        rest = segments[1][0] - segments[1][1] - 40_000
        good_points = [*good_points[:2], (2 * D, 40_000.0),
                       *[(b, 40_000.0 + rest + (v - good[2])) for b, v in good_points[2:]]]
        bad_points = [*bad_points[:6], *[(b, v - bad[6] + 10) for b, v in bad_points[6:]]]
    _write(store, "200", good_points)
    _write(store, "500", bad_points)
    # Another model's failures must not count.
    store.write(Sample(metric=METRIC, labels=Labels({"model": "fraud", "code": "500"}),
                       value=v, timestamp=AT - b) for b, v in [(30 * D, 0.0), (M, 1e6)])


def _spec(*, good: bool = False, alerting: AlertingSpec | None = None) -> SLOSpec:
    sli = (EventsSLI(good=parse_selector(GOOD), total=parse_selector(TOTAL)) if good
           else EventsSLI(bad=parse_selector(BAD), total=parse_selector(TOTAL)))
    return SLOSpec(name="churn-availability", service="churn-model", objective=99.9, sli=sli,
                   window=30 * D, labels={"model": "churn"},
                   alerting=alerting or AlertingSpec(
                       windows=default_windows(30 * D), labels={"team": "ml"},
                       page=SeverityAlerting(labels={"route": "oncall"},
                                             annotations={"note": "wake someone"})))


def _evaluate(database: Database, segments: list[tuple[int, int]], *, reset: bool = False,
              good: bool = False, at: datetime = AT) -> SLOEvaluation:
    store = SampleStore(database)
    _month(store, segments, reset=reset)
    evaluator = SLOEvaluator(specs=[_spec(good=good)],
                             sources={SourceKind.STORE: StoreSLISource(store)},
                             clock=FakeClock(AT + 365 * D))
    return evaluator.evaluate(at)


def _signal(evaluation: SLOEvaluation, severity: Severity) -> Signal:
    (signal,) = [s for s in evaluation.signals if s.labels["severity"] == severity.value]
    return signal


EXPECTED_RATES = {5 * M: 200.0, 30 * M: 40 / 600 * 1000, H: 50 / 1100 * 1000,
                  2 * H: 50 / 3000 * 1000, 6 * H: 6.25, D: 3.5, 3 * D: 100 / 120_000 * 1000,
                  30 * D: 0.25}


@pytest.mark.parametrize(("reset", "good"), [(False, False), (True, False), (False, True),
                                             (True, True)],
                         ids=["bad", "bad-reset", "good", "good-reset"])
def test_budget_and_burn_rates_are_exact(database: Database, reset: bool, good: bool) -> None:
    status = _evaluate(database, BURNING, reset=reset, good=good).status("churn-availability")
    assert status.events is not None
    assert (status.events.total, status.events.bad) == (1_000_000, 250)
    assert not status.no_data
    assert status.sli_ratio == pytest.approx(0.99975, rel=1e-12)
    assert status.error_budget_consumed == pytest.approx(0.25, rel=1e-9)
    assert status.error_budget_remaining == pytest.approx(0.75, rel=1e-9)
    assert [d for d, _ in status.burn_rates] == sorted(EXPECTED_RATES)
    for window, rate in status.burn_rates:
        assert rate == pytest.approx(EXPECTED_RATES[window], rel=1e-9), window
    assert status.burn_rate(H) == pytest.approx(45.4545454545, rel=1e-9)
    assert [(t.window.pair, t.active) for t in status.tiers] == [
        ("1h/5m", True), ("6h/30m", True), ("1d/2h", True), ("3d/6h", False)]
    assert status.labels == Labels({"model": "churn", "slo": "churn-availability",
                                    "service": "churn-model"})


def test_page_fires_when_long_and_short_windows_both_burn(database: Database) -> None:
    evaluation = _evaluate(database, BURNING)
    page = _signal(evaluation, Severity.PAGE)
    assert page.active
    assert page.name == "SLOBurnRate"
    assert page.source == "slo/churn-availability"
    assert page.for_duration == timedelta(0)
    assert page.value == pytest.approx(45.4545454545, rel=1e-9)
    assert page.labels == Labels({"model": "churn", "team": "ml", "route": "oncall",
                                  "slo": "churn-availability", "severity": "page",
                                  "service": "churn-model"})
    assert dict(page.annotations) == {
        "summary": "churn-availability is burning its error budget 45.5x too fast",
        "description": "SLO churn-availability of churn-model (99.9% over 30d): burn rate "
                       "45.45x over 1h and 200.00x over 5m (threshold 14.4x); "
                       "25.00% of the error budget is spent.",
        "window_pair": "1h/5m", "factor": "14.4", "burn_rate_long": "45.45",
        "burn_rate_short": "200.00", "budget_consumed": "25.00",
        "time_to_exhaustion": "3d14h24m", "runbook_url": "runbooks/slo-burn.md",
        "note": "wake someone"}
    ticket = _signal(evaluation, Severity.TICKET)
    assert ticket.active and ticket.value == pytest.approx(3.5, rel=1e-9)
    assert (ticket.annotations["window_pair"], ticket.annotations["factor"]) == ("1d/2h", "3")
    assert "note" not in ticket.annotations and "route" not in ticket.labels


def test_page_does_not_fire_once_the_burst_has_ended(database: Database) -> None:
    evaluation = _evaluate(database, BURST_ENDED)
    status = evaluation.status("churn-availability")
    assert status.burn_rate(H) == pytest.approx(30 / 1100 * 1000, rel=1e-9)
    assert status.burn_rate(5 * M) == 0.0
    assert not status.active(Severity.PAGE)
    page = _signal(evaluation, Severity.PAGE)
    assert not page.active
    assert page.value == pytest.approx(27.2727272727, rel=1e-9)  # the 1h rate, still high
    assert page.annotations["summary"] == ("churn-availability is burning its error budget at "
                                           "27.27x, below the page threshold")
    assert page.annotations["burn_rate_short"] == "0.00"


def test_no_data_is_flagged_and_never_fires(database: Database) -> None:
    evaluator = SLOEvaluator(specs=[_spec()],
                             sources={SourceKind.STORE: StoreSLISource(SampleStore(database))},
                             clock=FakeClock(AT))
    evaluation = evaluator.evaluate()
    assert evaluation.at == AT
    status = evaluation.status("churn-availability")
    assert status.no_data and status.events is None
    assert (status.sli_ratio, status.error_budget_remaining, status.error_budget_consumed) == (
        None, None, None)
    assert all(rate is None for _, rate in status.burn_rates)
    assert not any(t.active for t in status.tiers)
    assert [(s.labels["severity"], s.active, s.value) for s in evaluation.signals] == [
        ("page", False, 0.0), ("ticket", False, 0.0)]
    page = _signal(evaluation, Severity.PAGE)
    assert page.annotations["summary"] == "churn-availability has no SLI events in its 30d window"
    assert page.annotations["burn_rate_long"] == "n/a"
    assert "nan" not in " ".join(page.annotations.values()).lower()


def test_recent_windows_without_samples_do_not_fire(database: Database) -> None:
    evaluation = _evaluate(database, BURNING, at=AT + 2 * H)
    status = evaluation.status("churn-availability")
    assert not status.no_data
    assert status.burn_rate(5 * M) is None and status.burn_rate(H) is None
    assert not status.active(Severity.PAGE)
    assert not _signal(evaluation, Severity.PAGE).active


def test_disabled_severity_emits_no_signal_and_annotations_override(database: Database) -> None:
    store = SampleStore(database)
    _month(store, BURNING)
    spec = _spec(alerting=AlertingSpec(
        name="ChurnBurn", windows=default_windows(30 * D),
        annotations={"runbook_url": "runbooks/churn.md", "summary": "custom"},
        ticket=SeverityAlerting(disable=True)))
    evaluation = SLOEvaluator(specs=[spec], sources={SourceKind.STORE: StoreSLISource(store)},
                              clock=FakeClock(AT)).evaluate(AT)
    (page,) = evaluation.signals
    assert (page.name, page.labels["severity"], page.active) == ("ChurnBurn", "page", True)
    assert page.annotations["runbook_url"] == "runbooks/churn.md"
    assert page.annotations["summary"] == "custom"
    # the disabled ticket tiers are still evaluated for the status
    assert evaluation.status("churn-availability").active(Severity.TICKET)


def test_lookups_name_what_is_known() -> None:
    evaluation = SLOEvaluation(at=AT, statuses=(), signals=())
    with pytest.raises(KeyError, match="no SLO named 'x'"):
        evaluation.status("x")


def test_duplicate_names_are_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="SLO names must be unique, got duplicates: "
                                         "churn-availability"):
        SLOEvaluator(specs=[_spec(), _spec(good=True)],
                     sources={SourceKind.STORE: StoreSLISource(SampleStore(database))},
                     clock=FakeClock(AT))
