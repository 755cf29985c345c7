"""The evaluator over a fake SLI source: calendar periods, timeslices, guards, groups, signals."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config.documents import load_file
from monitor.config.errors import ConfigError
from monitor.core.matchers import Selector, parse_selector
from monitor.core.model import Labels, Severity, Signal
from monitor.core.time import FakeClock
from monitor.slo import (
    AlertingSpec,
    BurnRateWindow,
    EventCounts,
    EventsSLI,
    SLOEvaluation,
    SLOEvaluator,
    SLOSpec,
    SLOState,
    from_document,
)
from monitor.slo.model import (
    Budgeting,
    CalendarPeriod,
    CalendarUnit,
    ExhaustionAlert,
    NoDataAlert,
    SourceKind,
)
from monitor.slo.sli import GaugeStats, SLISourceError
from monitor.slo.windows import default_windows

AT = datetime(2026, 3, 31, 12, tzinfo=UTC)
M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
TOTAL, BAD = "req_total", 'req_total{code="500"}'


class FakeSource:
    """Counter growth keyed by (selector text, window); label values by (selector, label)."""

    def __init__(self, increases: Mapping[tuple[str, timedelta], float] | None = None,
                 labels: Mapping[tuple[str, str], set[str]] | None = None,
                 fail: bool = False) -> None:
        self.increases = dict(increases or {})
        self.labels = dict(labels or {})
        self.fail = fail
        self.windows: list[timedelta] = []

    def increase(self, selector: Selector, window: timedelta, at: datetime) -> float | None:
        if self.fail:
            raise SLISourceError("Prometheus at http://127.0.0.1:9 refused: connection refused")
        self.windows.append(window)
        return self.increases.get((str(selector), window))

    def gauge(self, selector: Selector, window: timedelta, at: datetime) -> GaugeStats | None:
        return None

    def label_values(self, selector: Selector, label: str, window: timedelta,
                     at: datetime) -> set[str]:
        return self.labels.get((str(selector), label), set())


def _traffic(windows: Mapping[timedelta, tuple[float, float]], *, total: str = TOTAL,
             bad: str = BAD) -> dict[tuple[str, timedelta], float]:
    out: dict[tuple[str, timedelta], float] = {}
    for window, (t, b) in windows.items():
        out[(total, window)], out[(bad, window)] = t, b
    return out


def _spec(name: str = "checkout", **overrides: object) -> SLOSpec:
    values: dict[str, object] = {
        "name": name, "service": "shop", "objective": 99.9,
        "sli": EventsSLI(bad=parse_selector(BAD), total=parse_selector(TOTAL)),
        "alerting": AlertingSpec(windows=default_windows(30 * D))}
    values.update(overrides)
    return SLOSpec(**values)  # type: ignore[arg-type]


def _evaluate(source: FakeSource, *specs: SLOSpec, at: datetime = AT) -> SLOEvaluation:
    return SLOEvaluator(specs=specs or [_spec()], sources={SourceKind.STORE: source},
                        clock=FakeClock(at)).evaluate()


def _signal(evaluation: SLOEvaluation, name: str, **labels: str) -> Signal:
    (found,) = [s for s in evaluation.signals if s.name == name
                and all(s.labels.get(k) == v for k, v in labels.items())]
    return found


# A month burning at the SRE Workbook's example rates: 25% of the budget spent.
MONTH = {30 * D: (1_000_000, 250), 3 * D: (120_000, 100), D: (20_000, 70),
         6 * H: (8_000, 50), 2 * H: (3_000, 50), H: (1_100, 50), 30 * M: (600, 40),
         5 * M: (100, 20)}


def test_calendar_month_counts_from_the_local_month_start() -> None:
    berlin = CalendarPeriod(unit=CalendarUnit.MONTH, timezone="Europe/Berlin")
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    start = datetime(2026, 2, 28, 23, tzinfo=UTC)  # 1 March 00:00 in Berlin (UTC+1)
    source = FakeSource(_traffic({at - start: (100_000, 25), 6 * H: (1_000, 1)}))
    status = _evaluate(source, _spec(calendar=berlin), at=at).status("checkout")
    assert status.period_start == start
    assert at - start in source.windows and 30 * D not in source.windows
    assert status.events == EventCounts(total=100_000, bad=25)
    assert status.error_budget_consumed == pytest.approx(0.25, rel=1e-12)
    assert status.burn_rate(30 * D) == pytest.approx(0.25, rel=1e-12)
    # March is 31 days (less the DST hour): 0.75 × 31d less 1h / 1.0
    assert status.time_to_exhaustion == 0.75 * (31 * D - H)
    assert status.state is SLOState.OK


def test_calendar_quarter_and_a_period_that_just_started() -> None:
    quarter = CalendarPeriod(unit=CalendarUnit.QUARTER, timezone="America/New_York")
    at = datetime(2026, 5, 15, tzinfo=UTC)
    start = datetime(2026, 4, 1, 4, tzinfo=UTC)  # 1 April 00:00 EDT
    spec = _spec(calendar=quarter, window=90 * D, alerting=AlertingSpec(
        windows=default_windows(90 * D)))
    assert [w.factor for w in spec.alerting.windows] == [43.2, 18.0, 9.0, 3.0]
    status = _evaluate(FakeSource(_traffic({at - start: (10, 0)})), spec, at=at).status(
        "checkout")
    assert status.period_start == start and status.events == EventCounts(total=10, bad=0)
    status = _evaluate(FakeSource(), spec, at=start).status("checkout")
    assert status.state is SLOState.NO_DATA and status.events is None


def _slices(ratios: list[float]) -> FakeSource:
    """Ten-minute slices ending at AT, newest first, each of 1,000 events."""
    source = FakeSource()
    table = {AT - i * 10 * M: ratio for i, ratio in enumerate(ratios)}

    def increase(selector: Selector, window: timedelta, at: datetime) -> float | None:
        if window != 10 * M or at not in table:
            return None
        return 1000.0 if str(selector) == TOTAL else 1000.0 * (1 - table[at])

    source.increase = increase  # type: ignore[method-assign]
    return source


SLICE_TIERS = AlertingSpec(windows=(BurnRateWindow(
    severity=Severity.PAGE, long_window=30 * M, short_window=10 * M, factor=2.0),))


@pytest.mark.parametrize(("budgeting", "target", "consumed"), [
    (Budgeting.TIMESLICES, 0.95, 2 / (0.1 * 6)),
    (Budgeting.RATIO_TIMESLICES, None, (0.01 + 0.1 + 0.0 + 0.2 + 0.03 + 0.04) / (0.1 * 6)),
])
def test_timeslice_budgets_match_a_hand_computation(budgeting: Budgeting, target: float | None,
                                                    consumed: float) -> None:
    spec = _spec(objective=90.0, window=H, budgeting=budgeting, timeslice=10 * M,
                 timeslice_target=target, alerting=SLICE_TIERS)
    status = _evaluate(_slices([0.99, 0.9, 1.0, 0.8, 0.97, 0.96]), spec).status("checkout")
    assert status.budgeting is budgeting
    assert status.events is not None and status.events.total == 6
    assert status.error_budget_consumed == pytest.approx(consumed, rel=1e-12)
    # the 30m tier: slices 0.99, 0.9, 1.0
    bad_30m = 1 if budgeting is Budgeting.TIMESLICES else 0.01 + 0.1
    assert status.burn_rate(30 * M) == pytest.approx(bad_30m / 3 / 0.1, rel=1e-12)


def test_min_events_guard_keeps_three_requests_from_paging() -> None:
    quiet = {**MONTH, 2 * H: (3, 1), H: (3, 1), 30 * M: (3, 1), 5 * M: (3, 1)}
    loud = _evaluate(FakeSource(_traffic(quiet)), _spec()).status("checkout")
    assert loud.state is SLOState.BURNING and loud.active(Severity.PAGE)
    evaluation = _evaluate(FakeSource(_traffic(quiet)), _spec(min_events=100))
    status = evaluation.status("checkout")
    assert status.burn_rate(H) is None and status.burn_rate(5 * M) is None
    assert status.burn_rate(6 * H) == pytest.approx(6.25, rel=1e-12)
    assert not status.active(Severity.PAGE) and not status.active(Severity.TICKET)
    assert status.state is SLOState.INSUFFICIENT_TRAFFIC
    assert not _signal(evaluation, "SLOBurnRate", severity="page").active


def test_no_data_is_a_state_and_its_own_signal() -> None:
    alerting = AlertingSpec(windows=default_windows(30 * D),
                            no_data=NoDataAlert(enabled=True, after=30 * M))
    quiet = FakeSource(_traffic({k: (t, 0) for k, (t, _) in MONTH.items() if k > 30 * M}))
    evaluation = _evaluate(quiet, _spec(alerting=alerting))
    assert evaluation.status("checkout").state is SLOState.OK
    signal = _signal(evaluation, "SLOBurnRateNoData")
    assert signal.active and signal.value == 1.0
    assert signal.labels == Labels({"slo": "checkout", "service": "shop",
                                    "severity": "ticket"})
    assert signal.annotations["summary"] == "checkout has had no SLI data for 30m"
    assert not _signal(_evaluate(FakeSource(_traffic(MONTH)), _spec(alerting=alerting)),
                       "SLOBurnRateNoData").active
    evaluation = _evaluate(FakeSource(), _spec(alerting=alerting))
    assert evaluation.status("checkout").state is SLOState.NO_DATA
    assert _signal(evaluation, "SLOBurnRateNoData").active
    assert not _signal(evaluation, "SLOBurnRate", severity="page").active
    named = replace(alerting, name="ShopBurn")
    assert _signal(_evaluate(FakeSource(), _spec(alerting=named)), "ShopBurnNoData").active
    # without no_data.enabled there is no such signal
    assert not [s for s in _evaluate(FakeSource()).signals if s.name == "SLOBurnRateNoData"]


def test_group_by_gives_one_status_and_signal_set_per_group() -> None:
    burning = {k: (t, t / 2) for k, (t, _) in MONTH.items()}
    source = FakeSource(
        {**_traffic(MONTH, total='req_total{tenant="a"}', bad='req_total{code="500",tenant="a"}'),
         **_traffic(burning, total='req_total{tenant="b"}',
                    bad='req_total{code="500",tenant="b"}')},
        labels={(TOTAL, "tenant"): {"b", "a"}})
    evaluation = _evaluate(source, _spec(group_by=("tenant",), labels={"team": "web"}))
    assert [(dict(s.group), s.state) for s in evaluation.statuses] == [
        ({"tenant": "a"}, SLOState.BURNING), ({"tenant": "b"}, SLOState.BURNING)]
    b = evaluation.status("checkout", {"tenant": "b"})
    assert b.error_budget_consumed == pytest.approx(500.0, rel=1e-12)
    assert b.labels == Labels({"team": "web", "tenant": "b", "slo": "checkout",
                               "service": "shop"})
    assert len(evaluation.signals) == 4
    page = _signal(evaluation, "SLOBurnRate", severity="page", tenant="b")
    assert page.active and page.annotations["summary"].startswith('checkout{tenant="b"} is ')
    with pytest.raises(KeyError) as caught:
        evaluation.status("checkout")
    assert caught.value.args[0] == ("SLO 'checkout' has 2 groups; name one of: "
                                    '{tenant="a"}; {tenant="b"}')


def test_group_by_two_labels_finds_only_existing_combinations() -> None:
    source = FakeSource(labels={
        (TOTAL, "tenant"): {"a", "b"},
        ('req_total{tenant="a"}', "region"): {"eu"},
        ('req_total{tenant="b"}', "region"): {"eu", "us"}})
    evaluation = _evaluate(source, _spec(group_by=("tenant", "region")))
    assert [dict(s.group) for s in evaluation.statuses] == [
        {"tenant": "a", "region": "eu"}, {"tenant": "b", "region": "eu"},
        {"tenant": "b", "region": "us"}]
    assert all(s.state is SLOState.NO_DATA for s in evaluation.statuses)
    # no group found: the one ungrouped SLO, in no data
    (status,) = _evaluate(FakeSource(), _spec(group_by=("tenant",))).statuses
    assert status.group == Labels() and status.state is SLOState.NO_DATA


@pytest.mark.parametrize(("within", "active"), [(4 * D, True), (3 * D, False)])
def test_forecast_and_the_exhaustion_signal(within: timedelta, active: bool) -> None:
    alerting = AlertingSpec(windows=default_windows(30 * D), dashboard_url="https://grafana/x",
                            exhaustion=ExhaustionAlert(enabled=True, within=within))
    evaluation = _evaluate(FakeSource(_traffic(MONTH)), _spec(alerting=alerting))
    status = evaluation.status("checkout")
    # 75% left, burning 6.25x over the 6h lookback: 0.75 × 30d / 6.25 = 3.6 days
    assert status.time_to_exhaustion == timedelta(days=3.6)
    signal = _signal(evaluation, "SLOBurnRateBudgetExhaustion")
    assert signal.active is active
    assert signal.value == pytest.approx(3.6 * 86400)
    assert signal.labels["severity"] == "ticket"
    assert signal.annotations["time_to_exhaustion"] == "3d14h24m"
    assert signal.annotations["dashboard_url"] == "https://grafana/x"
    assert signal.annotations["summary"] == ("checkout spends its error budget in 3d14h24m at "
                                             "the burn rate of the last 6h")
    page = _signal(evaluation, "SLOBurnRate", severity="page")
    assert page.annotations["time_to_exhaustion"] == "3d14h24m"
    assert page.annotations["dashboard_url"] == "https://grafana/x"


def test_no_burn_means_no_forecast() -> None:
    calm = {k: (t, 0.0) for k, (t, _) in MONTH.items()}
    status = _evaluate(FakeSource(_traffic({**calm, 30 * D: (1_000_000, 250)}))).status(
        "checkout")
    assert status.time_to_exhaustion is None
    assert status.error_budget_remaining == pytest.approx(0.75)
    overspent = _evaluate(FakeSource(_traffic({**MONTH, 30 * D: (1000, 2)}))).status(
        "checkout")
    assert overspent.time_to_exhaustion == timedelta(0)


def test_tier_for_is_the_longest_of_the_firing_tiers() -> None:
    windows = tuple(replace(w, for_duration=f) for w, f in
                    zip(default_windows(30 * D), [2 * M, 5 * M, H, 0 * M], strict=True))
    evaluation = _evaluate(FakeSource(_traffic(MONTH)),
                           _spec(alerting=AlertingSpec(windows=windows)))
    assert _signal(evaluation, "SLOBurnRate", severity="page").for_duration == 5 * M
    assert _signal(evaluation, "SLOBurnRate", severity="ticket").for_duration == H


def _from_yaml(tmp_path: Path, text: str) -> SLOSpec:
    path = tmp_path / "slo.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    errors: list[ConfigError] = []
    (spec,) = [from_document(doc, errors) for doc in load_file(path, "slo.yaml", errors)]
    assert errors == [] and spec is not None
    return spec


def test_threshold_between_buckets_is_an_error_state_with_the_location(tmp_path: Path) -> None:
    latency = _from_yaml(tmp_path, """\
        apiVersion: watchkeeper.dev/v1
        kind: SLO
        metadata: {name: checkout-latency}
        spec:
          service: shop
          objective: 99
          sli:
            latency: {histogram: 'http_request_duration_seconds{job="api"}', threshold: 0.3}
        """)
    source = FakeSource(_traffic(MONTH), labels={
        ('http_request_duration_seconds_bucket{job="api"}', "le"): {"0.1", "0.25", "0.5", "1",
                                                                    "+Inf"}})
    evaluation = _evaluate(source, latency, _spec())
    status = evaluation.status("checkout-latency")
    assert status.state is SLOState.ERROR
    assert status.error == (
        'slo.yaml:1:1: SLO "checkout-latency": threshold 0.3s is between the buckets 0.25 '
        "and 0.5 of http_request_duration_seconds; use one of: 0.1, 0.25, 0.5, 1")
    assert status.burn_rates == () and status.events is None
    assert not [s for s in evaluation.signals if s.labels["slo"] == "checkout-latency"]
    # the other SLO is evaluated as usual
    assert evaluation.status("checkout").state is SLOState.BURNING


def test_a_failing_or_missing_source_is_an_error_state() -> None:
    status = _evaluate(FakeSource(fail=True)).status("checkout")
    assert status.state is SLOState.ERROR
    assert status.error == ('SLO "checkout": Prometheus at http://127.0.0.1:9 refused: '
                            "connection refused")
    status = _evaluate(FakeSource(), _spec(source=SourceKind.PROMETHEUS)).status("checkout")
    assert status.error == ('SLO "checkout": no prometheus SLI source is configured; '
                            "configure it in watchkeeper.yaml or set source: store")


def test_status_lookup_names_what_is_known() -> None:
    evaluation = _evaluate(FakeSource(_traffic(MONTH)))
    assert evaluation.status("checkout", {}).name == "checkout"
    with pytest.raises(KeyError, match=r"no SLO named 'nope'; known: checkout"):
        evaluation.status("nope")
