"""The sample store on both databases: series, windows, counter increases, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.core.matchers import parse_selector
from monitor.core.model import Labels, Sample, TargetHealth
from monitor.store import Database, SampleStore, TargetStore, counter_increase

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _counter(store: SampleStore, labels: dict[str, str], values: list[float]) -> None:
    store.write(Sample(metric="req_total", labels=Labels(labels), value=v,
                       timestamp=T0 + timedelta(seconds=10 * i)) for i, v in enumerate(values))


def test_increase_handles_counter_reset(database: Database) -> None:
    store = SampleStore(database)
    _counter(store, {"code": "200"}, [100, 110, 120, 5, 15])
    _counter(store, {"code": "500"}, [1, 1, 2, 2, 4])
    at = T0 + timedelta(seconds=40)
    got = dict(store.increase(parse_selector("req_total"), timedelta(minutes=5), at))
    assert got == {Labels({"code": "200"}): 35.0, Labels({"code": "500"}): 3.0}
    bad = store.increase(parse_selector('req_total{code=~"5.."}'), timedelta(minutes=5), at)
    assert bad == [(Labels({"code": "500"}), 3.0)]


def test_window_excludes_older_samples_and_duplicates_are_ignored(database: Database) -> None:
    store = SampleStore(database)
    _counter(store, {"code": "200"}, [0, 10, 20, 30])
    _counter(store, {"code": "200"}, [99, 99, 99, 99])  # same timestamps: first write wins
    at = T0 + timedelta(seconds=30)
    assert store.increase(parse_selector("req_total"), timedelta(seconds=15), at) == [
        (Labels({"code": "200"}), 10.0)]
    assert store.increase(parse_selector("req_total"), timedelta(seconds=5), at) == []


def test_retention_deletes_only_old_samples(database: Database) -> None:
    store = SampleStore(database)
    _counter(store, {}, [1, 2, 3, 4])
    assert store.delete_before(T0 + timedelta(seconds=15)) == 2
    (series,) = store.select(parse_selector("req_total"), T0, T0 + timedelta(minutes=1))
    assert [v for _, v in series.points] == [3, 4]


def test_target_health_is_replaced_per_target(database: Database) -> None:
    targets = TargetStore(database)
    targets.record(TargetHealth(name="a", url="http://x/metrics", up=True, last_scrape=T0,
                                duration_seconds=0.1, samples_scraped=5))
    targets.record(TargetHealth(name="a", url="http://x/metrics", up=False, last_scrape=T0,
                                duration_seconds=2.0, error="timed out after 2s"))
    (health,) = targets.all()
    assert (health.up, health.error, health.last_scrape) == (False, "timed out after 2s", T0)


@given(st.lists(st.floats(min_value=0, max_value=1e9), min_size=0, max_size=50))
def test_counter_increase_is_never_negative(values: list[float]) -> None:
    assert counter_increase(values) >= 0


def test_nan_samples_are_skipped_and_the_rest_stored(database: Database) -> None:
    store = SampleStore(database)
    written = store.write([
        Sample(metric="g", labels=Labels(), value=float("nan"), timestamp=T0),
        Sample(metric="g", labels=Labels(), value=2.0, timestamp=T0 + timedelta(seconds=10)),
    ])
    assert written == 1
    (series,) = store.select(parse_selector("g"), T0, T0 + timedelta(minutes=1))
    assert series.points == ((T0.timestamp() + 10, 2.0),)
