"""SLI kinds counted from the real store (sqlite and PostgreSQL) through StoreSLISource."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.matchers import parse_selector
from monitor.core.model import Labels, Sample, Severity
from monitor.core.time import FakeClock
from monitor.slo import (
    AlertingSpec,
    BurnRateWindow,
    EventCounts,
    EventsSLI,
    SLOEvaluator,
    SLOSpec,
    SLOState,
    StoreSLISource,
    count,
)
from monitor.slo.model import SLI, DriftChecksSLI, LatencySLI, ProbeSLI, SourceKind
from monitor.store import Database, SampleStore

AT = datetime(2026, 3, 31, 12, tzinfo=UTC)
M, H = timedelta(minutes=1), timedelta(hours=1)
HIST = "http_request_duration_seconds"
# Cumulative bucket counts at AT; every series is 0 at AT - 2h.
BUCKETS = {"0.1": 600.0, "0.25": 950.0, "0.5": 990.0, "1": 999.0, "+Inf": 1000.0}


def _counter(store: SampleStore, metric: str, labels: dict[str, str], value: float) -> None:
    store.write([Sample(metric=metric, labels=Labels(labels), value=v, timestamp=t)
                 for t, v in [(AT - 2 * H, 0.0), (AT - H, value / 2), (AT, value)]])


def _histogram(store: SampleStore) -> None:
    for le, value in BUCKETS.items():
        _counter(store, f"{HIST}_bucket", {"job": "api", "le": le}, value)
    _counter(store, f"{HIST}_count", {"job": "api"}, BUCKETS["+Inf"])
    _counter(store, f"{HIST}_bucket", {"job": "other", "le": "0.3"}, 5.0)


def _spec(name: str, sli: SLI, **overrides: object) -> SLOSpec:
    values: dict[str, object] = {
        "name": name, "service": "shop", "objective": 99.0, "sli": sli, "window": 2 * H,
        "alerting": AlertingSpec(windows=(BurnRateWindow(
            severity=Severity.PAGE, long_window=H, short_window=5 * M, factor=2.0),))}
    values.update(overrides)
    return SLOSpec(**values)  # type: ignore[arg-type]


def test_latency_from_a_stored_histogram(database: Database) -> None:
    store = SampleStore(database)
    _histogram(store)
    source = StoreSLISource(store)
    sli = LatencySLI(histogram=parse_selector(f'{HIST}{{job="api"}}'), threshold_seconds=0.25)
    assert count(sli, source, 2 * H, AT) == EventCounts(total=1000, bad=50)
    assert count(sli, source, H, AT) == EventCounts(total=500, bad=25)
    between = _spec("between", LatencySLI(histogram=parse_selector(f'{HIST}{{job="api"}}'),
                                          threshold_seconds=0.3))
    evaluation = SLOEvaluator(specs=[between, _spec("ok", sli)],
                              sources={SourceKind.STORE: source},
                              clock=FakeClock(AT)).evaluate()
    assert evaluation.status("between").state is SLOState.ERROR
    assert evaluation.status("between").error.endswith(
        "threshold 0.3s is between the buckets 0.25 and 0.5 of http_request_duration_seconds;"
        " use one of: 0.1, 0.25, 0.5, 1")
    ok = evaluation.status("ok")
    assert ok.error_budget_consumed == pytest.approx(5.0, rel=1e-12)  # 5% bad of a 1% budget
    assert ok.burn_rate(H) == pytest.approx(5.0, rel=1e-12)


def test_probe_counts_successful_scrapes(database: Database) -> None:
    store = SampleStore(database)
    failed = {10, 11, 70}
    store.write([Sample(metric="up", labels=Labels({"job": "api"}), timestamp=AT - i * M,
                        value=0.0 if i in failed else 1.0) for i in range(121)])
    source = StoreSLISource(store)
    sli = ProbeSLI(selector=parse_selector('up{job="api"}'))
    # (AT - 2h, AT]: 120 scrapes, 3 failed; the sample at exactly AT - 2h is outside
    assert count(sli, source, 2 * H, AT) == EventCounts(total=120, bad=3)
    assert count(sli, source, H, AT) == EventCounts(total=60, bad=2)
    assert count(sli, source, H, AT - 3 * H) is None


def test_drift_checks_from_stored_counters(database: Database) -> None:
    store = SampleStore(database)
    _counter(store, "watchkeeper_drift_checks_total", {"monitor": "churn", "result": "pass"},
             40.0)
    _counter(store, "watchkeeper_drift_checks_total", {"monitor": "churn", "result": "fail"},
             8.0)
    _counter(store, "watchkeeper_drift_checks_total", {"monitor": "fraud", "result": "fail"},
             99.0)
    got = count(DriftChecksSLI(monitor="churn"), StoreSLISource(store), 2 * H, AT)
    assert got == EventCounts(total=48, bad=8)


def test_group_by_discovers_tenants_in_the_store(database: Database) -> None:
    store = SampleStore(database)
    for tenant, bad in [("a", 0.0), ("b", 100.0)]:
        _counter(store, "req_total", {"tenant": tenant, "code": "200"}, 1000.0 - bad)
        _counter(store, "req_total", {"tenant": tenant, "code": "500"}, bad)
    spec = _spec("checkout", EventsSLI(bad=parse_selector('req_total{code="500"}'),
                                       total=parse_selector("req_total")),
                 group_by=("tenant",))
    evaluation = SLOEvaluator(specs=[spec], sources={SourceKind.STORE: StoreSLISource(store)},
                              clock=FakeClock(AT)).evaluate()
    assert [(dict(s.group), s.events) for s in evaluation.statuses] == [
        ({"tenant": "a"}, EventCounts(total=1000, bad=0)),
        ({"tenant": "b"}, EventCounts(total=1000, bad=100))]
    assert [(s.labels["tenant"], s.labels["severity"], s.active) for s in evaluation.signals] == [
        ("a", "page", False), ("b", "page", False)]  # the 5m window holds no samples
    assert evaluation.status("checkout", {"tenant": "b"}).burn_rate(H) == pytest.approx(10.0)
