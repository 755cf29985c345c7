"""Real Prometheus and the SLO engine agree on the same series within 1%.

Synthetic request counters over 31 days, with an error share that changes over time,
go both into a fresh Watchkeeper store and, as backfilled TSDB blocks, into a real
Prometheus that evaluates the generated rules every second. The recording rules are
read back with their own timestamps and the engine is evaluated at exactly those moments.

Why the numbers can agree exactly, and where they cannot
--------------------------------------------------------
Prometheus' ``rate()``/``increase()`` extrapolate a window's first-to-last growth to the
window edges; Watchkeeper counts the exact growth between the first and last sample in
the window. Both read the same samples (ranges are closed at both ends in both), and
the bad and the total series share every timestamp and start far from zero, so the
extrapolation factor is the same for both series and cancels out of every ratio: the
error ratios, burn rates and the traffic-weighted period ratio agree to float precision
at any evaluation time. Event *counts* keep the factor, which is at most
``(gap at start + gap at end) / window``: the series are sampled every 10 s over the
last day (5 min before), so counts are compared for windows of 1 h and longer (at most
0.5% apart). Sloth's own period ratio (``ratio_rate30d``, an average of recorded 5 min
ratios) only covers the seconds since Prometheus started, so it is not compared.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from monitor.config.durations import parse_duration
from monitor.core.matchers import parse_selector
from monitor.core.model import Labels, Sample, Severity
from monitor.core.time import FakeClock, from_epoch
from monitor.slo.counting import count
from monitor.slo.evaluator import SLOEvaluator
from monitor.slo.model import AlertingSpec, EventsSLI, SLOSpec, SourceKind
from monitor.slo.rules import write_rules
from monitor.slo.signals import SLOStatus
from monitor.slo.sli import StoreSLISource
from monitor.slo.windows import default_windows
from monitor.store import Database
from monitor.store.samples import SampleStore
from tests.integration.prometheus import (
    PrometheusServer,
    backfill,
    openmetrics_lines,
    prometheus_server,
)

METRIC = "http_requests_total"
RATE = 20.0  # requests per second
SPEC = SLOSpec(
    name="checkout-availability", service="checkout", objective=99.9,
    sli=EventsSLI(total=parse_selector(f'{METRIC}{{job="checkout"}}'),
                  bad=parse_selector(f'{METRIC}{{job="checkout",code=~"5.."}}')),
    alerting=AlertingSpec(windows=default_windows(timedelta(days=30)),
                          name="CheckoutAvailabilityBurn"))
FILTER = '{sloth_id="checkout-checkout-availability"}'
TOLERANCE = 0.01


def _error_share(age: float) -> float:
    """Return the share of failing requests *age* seconds before the end of the data."""
    if age < 3600:
        return 0.02       # the last hour burns at 20x: the page alert fires
    if age < 86400:
        return 0.004
    if age < 10 * 86400:
        return 0.0015
    return 0.0002


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """The synthetic counters: ``(unix_seconds, total, bad)``, oldest first."""

    points: tuple[tuple[int, float, float], ...]


def _series(end: int) -> Series:
    times = list(range(end - 31 * 86400, end - 86400, 300)) + list(range(end - 86400, end + 1,
                                                                         10))
    total, bad, points = 1_000_000.0, 1_000_000.0, []
    previous = times[0]
    for ts in times:
        requests = RATE * (ts - previous)
        total += requests
        bad += requests * _error_share(end - ts)
        points.append((ts, total, bad))
        previous = ts
    return Series(points=tuple(points))


def _samples(series: Series) -> Iterator[Sample]:
    for ts, total, bad in series.points:
        at = from_epoch(ts)
        yield Sample(metric=METRIC, labels=Labels({"job": "checkout", "code": "200"}),
                     value=total - bad, timestamp=at)
        yield Sample(metric=METRIC, labels=Labels({"job": "checkout", "code": "500"}),
                     value=bad, timestamp=at)


@pytest.fixture(scope="module")
def series() -> Series:
    return _series(int(time.time()) - 1)


@pytest.fixture(scope="module")
def prometheus(series: Series, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[PrometheusServer]:
    work = tmp_path_factory.mktemp("prometheus")
    rules = [p for p in write_rules([SPEC], work / "rules") if p.name.endswith(".rules.yml")]
    ok = [(ts, total - bad) for ts, total, bad in series.points]
    failed = [(ts, bad) for ts, _, bad in series.points]
    backfill(work / "data", {METRIC: [
        *openmetrics_lines(METRIC, {"job": "checkout", "code": "200"}, ok),
        *openmetrics_lines(METRIC, {"job": "checkout", "code": "500"}, failed)]}, work)
    with prometheus_server(work, rules, data_dir=work / "data") as server:
        server.wait_for(f"slo:sli_error:ratio_events30d{FILTER}")
        server.wait_for(f"slo:sli_error:ratio_rate3d{FILTER}")
        yield server


@pytest.fixture
def source(database: Database, series: Series) -> StoreSLISource:
    samples = SampleStore(database)
    samples.write(_samples(series))
    return StoreSLISource(samples)


@pytest.fixture
def engine(source: StoreSLISource) -> SLOEvaluator:
    return SLOEvaluator(specs=[SPEC], sources={SourceKind.STORE: source}, clock=FakeClock())


def _latest(prometheus: PrometheusServer, record: str) -> tuple[float, float]:
    """Return the last recorded ``(unix_seconds, value)`` of *record*, with its own time."""
    result = prometheus.query(f"{record}{FILTER}[1m]")
    assert len(result) == 1, f"{record}: {result}"
    ts, value = result[0]["values"][-1]
    return float(ts), float(value)


def _status(engine: SLOEvaluator, at: float) -> SLOStatus:
    return engine.evaluate(from_epoch(at)).status(SPEC.name)


def _close(ours: float | None, theirs: float, what: str) -> None:
    assert ours is not None, f"{what}: the engine has no value, Prometheus has {theirs}"
    assert ours == pytest.approx(theirs, rel=TOLERANCE), f"{what}: {ours} vs {theirs}"


@pytest.mark.parametrize("window", ["5m", "30m", "1h", "2h", "6h", "1d", "3d"])
def test_error_ratios_agree_per_window(prometheus: PrometheusServer, engine: SLOEvaluator,
                                       window: str) -> None:
    at, ratio = _latest(prometheus, f"slo:sli_error:ratio_rate{window}")
    rate = _status(engine, at).burn_rate(parse_duration(window))
    _close(None if rate is None else rate * SPEC.error_budget, ratio, f"ratio over {window}")


def test_traffic_weighted_period_budget_agrees(prometheus: PrometheusServer,
                                               engine: SLOEvaluator) -> None:
    at, ratio = _latest(prometheus, "slo:sli_error:ratio_events30d")
    status = _status(engine, at)
    assert status.events is not None
    _close(status.events.bad / status.events.total, ratio, "period error ratio")
    at, burn = _latest(prometheus, "slo:period_burn_rate:ratio_events")
    _close(_status(engine, at).error_budget_consumed, burn, "period burn rate")
    at, remaining = _latest(prometheus, "slo:period_error_budget_remaining:ratio_events")
    _close(_status(engine, at).error_budget_remaining, remaining, "budget remaining")
    # 20 days at 0.02%, 9 at 0.15%, 23 hours at 0.4% and 1 at 2%: 74% of the budget spent.
    assert remaining == pytest.approx(0.261, abs=0.002)


@pytest.mark.parametrize("window", ["1h", "6h", "1d", "3d", "30d"])
def test_event_counts_agree_for_long_windows(prometheus: PrometheusServer,
                                             source: StoreSLISource, window: str) -> None:
    at, total = _latest(prometheus, f"slo:sli_events_total:increase{window}")
    _, bad = _latest(prometheus, f"slo:sli_error_events:increase{window}")
    counts = count(SPEC.sli, source, parse_duration(window), from_epoch(at))
    assert counts is not None
    _close(counts.total, total, f"events over {window}")
    _close(counts.bad, bad, f"bad events over {window}")


def test_page_alert_fires_in_both(prometheus: PrometheusServer, engine: SLOEvaluator) -> None:
    alerts = prometheus.wait_for('ALERTS{alertname="CheckoutAvailabilityBurn",'
                                 'alertstate="firing",sloth_severity="page"}')
    assert alerts[0]["metric"]["sloth_slo"] == SPEC.name
    at, _ = _latest(prometheus, "slo:sli_error:ratio_rate5m")
    assert _status(engine, at).active(Severity.PAGE)
