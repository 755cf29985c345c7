"""The store SLI source on both databases: sums over series, zero for absent selections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.core.matchers import parse_selector
from monitor.core.model import Labels, Sample
from monitor.slo import EventCounts, EventsSLI, SLISource, StoreSLISource
from monitor.store import Database, SampleStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)
AT = T0 + timedelta(minutes=10)
WINDOW = timedelta(minutes=10)
TOTAL = 'req_total{model="churn"}'


def _write(store: SampleStore, labels: dict[str, str], start: float, end: float) -> None:
    store.write([Sample(metric="req_total", labels=Labels(labels), value=start, timestamp=T0),
                 Sample(metric="req_total", labels=Labels(labels), value=end, timestamp=AT)])


def _source(database: Database) -> StoreSLISource:
    store = SampleStore(database)
    _write(store, {"model": "churn", "pod": "a", "code": "200"}, 100, 400)
    _write(store, {"model": "churn", "pod": "b", "code": "200"}, 0, 590)
    _write(store, {"model": "churn", "pod": "b", "code": "503"}, 5, 15)
    _write(store, {"model": "fraud", "pod": "a", "code": "500"}, 0, 1000)
    return StoreSLISource(store)


def test_bad_and_total_are_summed_over_every_selected_series(database: Database) -> None:
    source = _source(database)
    assert isinstance(source, SLISource)
    sli = EventsSLI(bad=parse_selector('req_total{model="churn",code=~"5.."}'),
                    total=parse_selector(TOTAL))
    assert source.events(sli, WINDOW, AT) == EventCounts(total=900, bad=10)


def test_good_selector_gives_the_same_counts(database: Database) -> None:
    sli = EventsSLI(good=parse_selector('req_total{model="churn",code!~"5.."}'),
                    total=parse_selector(TOTAL))
    assert _source(database).events(sli, WINDOW, AT) == EventCounts(total=900, bad=10)


def test_absent_bad_series_count_as_zero_and_absent_good_as_all_bad(database: Database) -> None:
    source = _source(database)
    no_bad = EventsSLI(bad=parse_selector('req_total{model="churn",code="504"}'),
                       total=parse_selector(TOTAL))
    assert source.events(no_bad, WINDOW, AT) == EventCounts(total=900, bad=0)
    no_good = EventsSLI(good=parse_selector("requests_ok_total"), total=parse_selector(TOTAL))
    assert source.events(no_good, WINDOW, AT) == EventCounts(total=900, bad=900)


def test_no_total_series_is_no_data(database: Database) -> None:
    source = _source(database)
    sli = EventsSLI(bad=parse_selector("req_total"), total=parse_selector('req_total{model="x"}'))
    assert source.events(sli, WINDOW, AT) is None
    # one sample per series inside the window: no measurable increase either
    churn = EventsSLI(bad=parse_selector("req_total"), total=parse_selector(TOTAL))
    assert source.events(churn, timedelta(minutes=5), AT) is None
