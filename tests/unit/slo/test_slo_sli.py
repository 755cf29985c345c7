"""The store SLI source on both databases: raw and rollup answers agree, long windows stay cheap."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.matchers import parse_selector
from monitor.core.model import Labels, Sample
from monitor.slo.sli import GaugeStats, SLISource, StoreSLISource
from monitor.store import Database, RollupStore, SampleStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)
AT = T0 + timedelta(minutes=10)
WINDOW = timedelta(minutes=10)
TOTAL = 'req_total{model="churn"}'


def _write(store: SampleStore, labels: dict[str, str], start: float, end: float) -> None:
    store.write([Sample(metric="req_total", labels=Labels(labels), value=start, timestamp=T0),
                 Sample(metric="req_total", labels=Labels(labels), value=end, timestamp=AT)])


@pytest.fixture(params=["raw", "rollups"])
def source(request: pytest.FixtureRequest, database: Database) -> StoreSLISource:
    """Four counters from T0 to AT, read from raw samples only or through rollups."""
    store = SampleStore(database)
    _write(store, {"model": "churn", "pod": "a", "code": "200"}, 100, 400)
    _write(store, {"model": "churn", "pod": "b", "code": "200"}, 0, 590)
    _write(store, {"model": "churn", "pod": "b", "code": "503"}, 5, 15)
    _write(store, {"model": "fraud", "pod": "a", "code": "500"}, 0, 1000)
    if request.param == "raw":
        return StoreSLISource(store)
    rollups = RollupStore(database, settle=timedelta(0))
    rollups.compact(AT)
    return StoreSLISource(store, rollups)


def test_increase_sums_every_selected_series(source: StoreSLISource) -> None:
    assert isinstance(source, SLISource)
    assert source.increase(parse_selector(TOTAL), WINDOW, AT) == 900
    assert source.increase(parse_selector('req_total{code=~"5.."}'), WINDOW, AT) == 1010
    assert source.increase(parse_selector('req_total{model="x"}'), WINDOW, AT) is None
    # one sample per series inside the window: no measurable increase yet
    assert source.increase(parse_selector(TOTAL), timedelta(minutes=5), AT) is None


def test_gauge_counts_samples_in_the_half_open_window(source: StoreSLISource) -> None:
    churn = parse_selector(TOTAL)
    assert source.gauge(churn, WINDOW, AT) == GaugeStats(count=3, total=1005, positive=3)
    assert source.gauge(churn, WINDOW + timedelta(seconds=1), AT) == GaugeStats(
        count=6, total=1110, positive=5)
    assert source.gauge(parse_selector("nothing"), WINDOW, AT) is None


def test_label_values_come_from_series_with_data(source: StoreSLISource) -> None:
    selector = parse_selector("req_total")
    assert source.label_values(selector, "model", WINDOW, AT) == {"churn", "fraud"}
    assert source.label_values(selector, "pod", WINDOW, T0 - timedelta(minutes=1)) == set()
    assert source.label_values(selector, "tenant", WINDOW, AT) == set()


def test_bad_inputs_are_refused(source: StoreSLISource) -> None:
    with pytest.raises(ValueError, match=r"window must be positive, got 0:00:00"):
        source.increase(parse_selector(TOTAL), timedelta(0), AT)
    with pytest.raises(ValueError, match="need 0 <= positive <= count, got positive=3 count=2"):
        GaugeStats(count=2, total=1.0, positive=3)


def _traffic(store: SampleStore, hours: int, interval: int, seed: int,
             metrics: tuple[str, ...] = ("req_total", "err_total", "up")) -> None:
    rng = random.Random(seed)
    out = []
    for pod, offset in (("a", 0), ("b", 7), ("c", 59)):
        total = errors = 0
        for i in range(offset, hours * 3600, interval):
            if rng.random() < 0.03:
                continue  # a missed scrape
            if rng.random() < 0.005:
                total, errors = rng.randint(0, 3), 0  # a restart resets both counters
            total += rng.randint(0, 40)
            errors += rng.randint(0, 2)
            at = T0 + timedelta(seconds=i)
            out += [Sample(metric="req_total", labels=Labels({"pod": pod}), value=total,
                           timestamp=at),
                    Sample(metric="err_total", labels=Labels({"pod": pod}), value=errors,
                           timestamp=at),
                    Sample(metric="up", labels=Labels({"pod": pod}),
                           value=float(rng.random() < 0.9), timestamp=at)]
    store.write(s for s in out if s.metric in metrics)


def test_rollups_agree_exactly_with_raw_samples(database: Database) -> None:
    store = SampleStore(database)
    _traffic(store, hours=5, interval=15, seed=5)
    rollups = RollupStore(database, settle=timedelta(0))
    rollups.compact(T0 + timedelta(hours=4, minutes=42, seconds=10))
    raw, fast = StoreSLISource(store), StoreSLISource(store, rollups)
    selectors = [parse_selector(s) for s in ("req_total", 'err_total{pod=~"a|c"}', "up")]
    windows = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=7, seconds=13),
               timedelta(hours=1), timedelta(hours=2, minutes=30), timedelta(hours=5)]
    moments = [T0 + timedelta(hours=h, seconds=s) for h in (1, 4, 5)
               for s in (0, 7, 60 * 23 + 3)]
    for selector in selectors:
        for window in windows:
            for at in moments:
                case = f"{selector} over {window} at {at:%H:%M:%S}"
                assert fast.increase(selector, window, at) == raw.increase(
                    selector, window, at), case
                assert fast.gauge(selector, window, at) == raw.gauge(selector, window, at), case
                assert fast.label_values(selector, "pod", window, at) == raw.label_values(
                    selector, "pod", window, at), case
    assert fast.rows_read < raw.rows_read / 10


def test_a_30d_window_reads_about_as_much_as_a_5m_one(database: Database) -> None:
    store = SampleStore(database)
    _traffic(store, hours=30 * 24, interval=600, seed=6, metrics=("req_total",))
    rollups = RollupStore(database, settle=timedelta(0))
    at = T0 + timedelta(days=30, seconds=-97)
    rollups.compact(at)
    selector = parse_selector("req_total")
    costs = {}
    for window in (timedelta(minutes=5), timedelta(days=30)):
        source = StoreSLISource(store, rollups)
        assert source.increase(selector, window, at) == StoreSLISource(store).increase(
            selector, window, at)
        costs[window.days] = source.rows_read
    raw = StoreSLISource(store)
    raw.increase(selector, timedelta(days=30), at)
    # two rollup rows per series and step used, plus a few raw samples at the edges
    assert costs[30] <= costs[0] + 3 * 4, costs
    assert raw.rows_read > 100 * costs[30], (raw.rows_read, costs)
