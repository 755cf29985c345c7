"""Batched SLI reads on both databases: a tick in a few queries, with the unbatched answers."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import product
from typing import Any

import pytest
from sqlalchemy import event

from monitor.core.errors import StoreError
from monitor.core.matchers import Selector, parse_selector
from monitor.core.model import Labels, Sample, Severity
from monitor.core.time import FakeClock
from monitor.slo.counting import requests as sli_requests
from monitor.slo.counting import slice_windows
from monitor.slo.evaluator import SLOEvaluator
from monitor.slo.model import (
    SLI,
    AlertingSpec,
    BoolGaugeSLI,
    Budgeting,
    DriftChecksSLI,
    EventsSLI,
    LatencySLI,
    NoDataAlert,
    ProbeSLI,
    SLOSpec,
    SourceKind,
)
from monitor.slo.sli import (
    BatchingSLISource,
    GaugeStats,
    SLIQuery,
    SLIRequest,
    SLISource,
    StoreSLISource,
)
from monitor.slo.windows import BurnRateWindow
from monitor.store import Database, RollupStore, SampleStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)
END = T0 + timedelta(hours=6)
M, H = timedelta(minutes=1), timedelta(hours=1)
WINDOWS = (M, 5 * M, timedelta(minutes=7, seconds=13), H, timedelta(hours=2, minutes=30),
           8 * H)
SELECTORS = ("req_total", 'req_total{pod=~"a|c"}', 'req_total{pod="b"}', "err_total", "up")
HIST = "latency_seconds"


def _traffic(store: SampleStore, seed: int, tenants: int = 2) -> None:
    """Counters with resets and missed scrapes, an ``up`` gauge and a histogram, 30s apart."""
    rng = random.Random(seed)
    out = []
    for tenant, pod in product(range(tenants), ("a", "b", "c")):
        labels = {"pod": pod, "tenant": f"t{tenant}"}
        total = errors = 0.0
        for i in range(7 * (tenant + 1), 6 * 3600, 30):
            if rng.random() < 0.03:
                continue  # a missed scrape
            if rng.random() < 0.005:
                total, errors = float(rng.randint(0, 3)), 0.0  # a restart resets both
            total += rng.randint(0, 40)
            errors += rng.randint(0, 2)
            at = T0 + timedelta(seconds=i)
            out += [Sample(metric="req_total", labels=Labels(labels), value=total, timestamp=at),
                    Sample(metric="err_total", labels=Labels(labels), value=errors, timestamp=at),
                    Sample(metric="up", labels=Labels(labels), value=float(rng.random() < 0.9),
                           timestamp=at),
                    Sample(metric=f"{HIST}_count", labels=Labels(labels), value=total,
                           timestamp=at),
                    Sample(metric="watchkeeper_drift_checks_total",
                           labels=Labels({"monitor": "churn", "result": "pass", **labels}),
                           value=total - errors, timestamp=at),
                    Sample(metric="watchkeeper_drift_checks_total",
                           labels=Labels({"monitor": "churn", "result": "fail", **labels}),
                           value=errors, timestamp=at)]
            out += [Sample(metric=f"{HIST}_bucket", labels=Labels({**labels, "le": le}),
                           value=total - share * errors, timestamp=at)
                    for le, share in (("0.1", 2.0), ("0.25", 1.0), ("+Inf", 0.0))]
    store.write(out)


@pytest.fixture
def stored(database: Database) -> tuple[SampleStore, RollupStore]:
    """Six hours of traffic, rolled up to a moment off every bucket edge; 1m rollups pruned."""
    store = SampleStore(database)
    _traffic(store, seed=11)
    rollups = RollupStore(database, settle=timedelta(0))
    rollups.compact(END - timedelta(minutes=17, seconds=20))
    rollups.delete_before(T0 + H, step=M)  # the first hour only in 5m and 1h buckets
    return store, rollups


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    """Collect the SQL statements run on *db* inside the block."""
    seen: list[str] = []

    def record(*args: Any, **_: Any) -> None:
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _answers(source: SLISource, at: datetime) -> list[object]:
    out: list[object] = []
    for text, window in product(SELECTORS, WINDOWS):
        selector = parse_selector(text)
        out += [source.increase(selector, window, at), source.gauge(selector, window, at),
                source.label_values(selector, "pod", window, at)]
    return out


def _all_requests() -> list[SLIRequest]:
    return [SLIRequest(selector=parse_selector(text), window=window, query=query)
            for text, window, query in product(SELECTORS, WINDOWS, SLIQuery)]


@pytest.mark.parametrize("at", [END - timedelta(minutes=3, seconds=1),  # off every edge
                                T0 + 3 * H,  # on every bucket edge
                                T0 + timedelta(minutes=50, seconds=7),  # in pruned 1m buckets
                                T0 - H])  # before any data
def test_prepared_answers_equal_unprepared_ones_in_four_queries(
        database: Database, stored: tuple[SampleStore, RollupStore], at: datetime) -> None:
    store, rollups = stored
    fast, plain = StoreSLISource(store, rollups), StoreSLISource(store, rollups)
    assert isinstance(fast, BatchingSLISource)
    with _statements(database) as prepare:
        fast.prepare(_all_requests(), at)
    with _statements(database) as asked:
        got = _answers(fast, at)
    assert len(prepare) <= 4, prepare  # series, rollup progress, rollup edges, raw edges
    assert asked == []
    assert fast.prepared_hits == len(SELECTORS) * len(WINDOWS) * 3
    assert got == _answers(plain, at)
    if at > T0:
        assert any(isinstance(a, float) and a > 0 for a in got)
        assert any(isinstance(a, GaugeStats) and 0 < a.positive < a.count for a in got)


def test_questions_over_fewer_series_are_answered_from_memory(
        database: Database, stored: tuple[SampleStore, RollupStore]) -> None:
    store, rollups = stored
    at = END - timedelta(seconds=44)
    fast, plain = StoreSLISource(store, rollups), StoreSLISource(store, rollups)
    fast.prepare([SLIRequest(selector=parse_selector("req_total"), window=H)], at)
    narrower = [parse_selector(t) for t in ('req_total{pod="b"}', 'req_total{tenant!="t0"}',
                                            'req_total{pod=~"a|c",tenant="t1"}',
                                            'req_total{pod="nope"}')]
    with _statements(database) as asked:
        got = [fast.increase(s, H, at) for s in narrower]
    assert asked == [] and fast.prepared_hits == 4
    assert got == [plain.increase(s, H, at) for s in narrower]
    assert got[-1] is None


def test_anything_not_prepared_is_read_as_before(
        database: Database, stored: tuple[SampleStore, RollupStore]) -> None:
    store, rollups = stored
    at = END - timedelta(minutes=20, seconds=3)
    fast, plain = StoreSLISource(store, rollups), StoreSLISource(store, rollups)
    fast.prepare([SLIRequest(selector=parse_selector('req_total{pod="a"}'), window=H)], at)
    wider, pod_a = parse_selector("req_total"), parse_selector('req_total{pod="a"}')
    questions = [(pod_a, H, at + timedelta(seconds=1)),  # another moment
                 (pod_a, 2 * H, at),  # another window
                 (wider, H, at),  # series that were not read
                 (parse_selector("err_total"), H, at)]  # another metric
    with _statements(database) as asked:
        got = [fast.increase(*q) for q in questions] + [fast.gauge(pod_a, H, at)]
    assert len(asked) >= len(questions) + 1 and fast.prepared_hits == 0
    assert got == [plain.increase(*q) for q in questions] + [plain.gauge(pod_a, H, at)]


def test_prepare_is_a_snapshot_until_release(
        database: Database, stored: tuple[SampleStore, RollupStore]) -> None:
    store, rollups = stored
    at = END + timedelta(minutes=1)
    pod_a = parse_selector('req_total{pod="a",tenant="t0"}')
    fast = StoreSLISource(store, rollups)
    fast.prepare([SLIRequest(selector=pod_a, window=5 * M)], at)
    before = fast.increase(pod_a, 5 * M, at)
    store.write([Sample(metric="req_total", labels=Labels({"pod": "a", "tenant": "t0"}),
                        value=10**9, timestamp=at)])
    assert fast.increase(pod_a, 5 * M, at) == before  # the tick reads one snapshot
    fast.release()
    after = fast.increase(pod_a, 5 * M, at)
    assert before is not None and after is not None and after > before + 10**8
    assert fast.prepared_hits == 2


def test_requests_name_their_own_end_and_bad_windows_are_skipped(
        database: Database, stored: tuple[SampleStore, RollupStore]) -> None:
    store, rollups = stored
    at = END - timedelta(seconds=29)
    req = parse_selector("req_total")
    slices = slice_windows(H, at, timedelta(minutes=10))
    assert [(length, at - end) for length, end in slices] == [
        (10 * M, timedelta(minutes=10 * i)) for i in range(6)]
    fast, plain = StoreSLISource(store, rollups), StoreSLISource(store, rollups)
    fast.prepare([SLIRequest(selector=req, window=length, end=end) for length, end in slices]
                 + [SLIRequest(selector=req, window=timedelta(0)),
                    SLIRequest(selector=req, window=-H)], at)
    with _statements(database) as asked:
        got = [fast.increase(req, length, end) for length, end in slices]
    assert asked == [] and got == [plain.increase(req, length, end) for length, end in slices]
    with pytest.raises(ValueError, match=r"window must be positive, got 0:00:00"):
        fast.increase(req, timedelta(0), at)


def test_without_rollups_prepare_changes_nothing(
        database: Database, stored: tuple[SampleStore, RollupStore]) -> None:
    store, _ = stored
    at = END - timedelta(minutes=3)
    fast = StoreSLISource(store)
    with _statements(database) as prepare:
        fast.prepare(_all_requests(), at)
    assert prepare == []
    assert _answers(fast, at) == _answers(StoreSLISource(store), at)
    assert fast.prepared_hits == 0


# -- the evaluator -----------------------------------------------------------------------
class _OneByOne:
    """The store source without its batching methods: every question is its own read."""

    def __init__(self, source: StoreSLISource) -> None:
        self.source = source

    def increase(self, selector: Selector, window: timedelta, at: datetime) -> float | None:
        return self.source.increase(selector, window, at)

    def gauge(self, selector: Selector, window: timedelta, at: datetime) -> GaugeStats | None:
        return self.source.gauge(selector, window, at)

    def label_values(self, selector: Selector, label: str, window: timedelta,
                     at: datetime) -> set[str]:
        return self.source.label_values(selector, label, window, at)


class _Broken(StoreSLISource):
    def prepare(self, requests: object, at: datetime) -> None:
        raise StoreError("database sqlite:///x: disk I/O error")


_TIERS = (BurnRateWindow(severity=Severity.PAGE, long_window=H, short_window=5 * M, factor=2.0),
          BurnRateWindow(severity=Severity.TICKET, long_window=2 * H, short_window=10 * M,
                         factor=1.0))


def _spec(name: str, sli: SLI, **overrides: object) -> SLOSpec:
    values: dict[str, object] = {
        "name": name, "service": "shop", "objective": 99.0, "sli": sli, "window": 4 * H,
        "alerting": AlertingSpec(windows=_TIERS, no_data=NoDataAlert(enabled=True, after=7 * M))}
    values.update(overrides)
    return SLOSpec(**values)  # type: ignore[arg-type]


def _every_kind() -> list[SLOSpec]:
    req, err = parse_selector("req_total"), parse_selector("err_total")
    return [
        _spec("bad", EventsSLI(total=req, bad=err)),
        _spec("good", EventsSLI(total=parse_selector('req_total{pod="a"}'),
                                good=parse_selector('err_total{pod="a"}'))),
        _spec("tenants", EventsSLI(total=req, bad=err), group_by=("tenant", "pod")),
        _spec("latency", LatencySLI(histogram=parse_selector(f'{HIST}{{pod!="c"}}'),
                                    threshold_seconds=0.25)),
        _spec("between", LatencySLI(histogram=parse_selector(HIST), threshold_seconds=0.3)),
        _spec("probe", ProbeSLI(selector=parse_selector("up"))),
        _spec("gauge", BoolGaugeSLI(selector=parse_selector('up{tenant="t1"}'))),
        _spec("drift", DriftChecksSLI(monitor="churn")),
        _spec("slices", EventsSLI(total=req, bad=err), budgeting=Budgeting.TIMESLICES,
              timeslice=5 * M, timeslice_target=0.96),
        _spec("ratio-slices", EventsSLI(total=req, bad=err),
              budgeting=Budgeting.RATIO_TIMESLICES, timeslice=7 * M),
        _spec("empty", EventsSLI(total=parse_selector("nothing_total"),
                                 bad=parse_selector("nothing_total"))),
    ]


@pytest.mark.parametrize("at", [END - timedelta(minutes=12, seconds=31), T0 + 5 * H])
def test_a_batched_tick_equals_the_unbatched_one_for_every_sli_kind(
        database: Database, stored: tuple[SampleStore, RollupStore], at: datetime) -> None:
    store, rollups = stored
    specs = _every_kind()
    source = StoreSLISource(store, rollups)
    with _statements(database) as tick:
        batched = SLOEvaluator(specs=specs, sources={SourceKind.STORE: source},
                               clock=FakeClock(at)).evaluate()
    unbatched = SLOEvaluator(specs=specs, sources={SourceKind.STORE: _OneByOne(source)},
                             clock=FakeClock(at)).evaluate()
    assert batched == unbatched
    assert len(tick) <= 4, tick  # series, rollup progress, rollup edges, raw edges
    states = {s.name: s.state.value for s in batched.statuses}
    assert states["between"] == "error" and states["empty"] == "no_data"
    assert len([s for s in batched.statuses if s.name == "tenants"]) == 6
    assert all(s.events is not None for s in batched.statuses
               if s.name not in ("between", "empty"))
    assert source._batch is None  # released after the tick


def test_a_tick_costs_the_same_queries_for_3_or_30_slos(database: Database) -> None:
    store = SampleStore(database)
    store.write([Sample(metric="req_total", labels=Labels({"slo": str(i), "code": code}),
                        value=float(k * (10 + i) * (1 if code == "200" else 0.01)),
                        timestamp=T0 + timedelta(seconds=60 * k))
                 for i in range(30) for code in ("200", "500") for k in range(4 * 60)])
    rollups = RollupStore(database, settle=timedelta(0))
    at = T0 + timedelta(hours=4, seconds=-8)
    rollups.compact(at)
    queries = []
    for n in (3, 30):
        specs = [_spec(f"s{i}", EventsSLI(total=parse_selector(f'req_total{{slo="{i}"}}'),
                                          bad=parse_selector(f'req_total{{slo="{i}",code="500"}}')))
                 for i in range(n)]
        source = StoreSLISource(store, rollups)
        with _statements(database) as tick:
            evaluation = SLOEvaluator(specs=specs, sources={SourceKind.STORE: source},
                                      clock=FakeClock(at)).evaluate()
        queries.append(len(tick))
        assert evaluation == SLOEvaluator(specs=specs,
                                          sources={SourceKind.STORE: _OneByOne(source)},
                                          clock=FakeClock(at)).evaluate()
        assert source.prepared_hits == n * 2 * 6  # total and bad over 6 windows each
    assert queries == [4, 4]


def test_a_failing_prepare_falls_back_to_one_read_per_question(
        database: Database, stored: tuple[SampleStore, RollupStore],
        caplog: pytest.LogCaptureFixture) -> None:
    store, rollups = stored
    specs = _every_kind()[:3]
    with caplog.at_level(logging.WARNING, logger="monitor.slo.evaluator"):
        broken = SLOEvaluator(specs=specs, sources={SourceKind.STORE: _Broken(store, rollups)},
                              clock=FakeClock(END)).evaluate()
    assert broken == SLOEvaluator(specs=specs,
                                  sources={SourceKind.STORE: StoreSLISource(store, rollups)},
                                  clock=FakeClock(END)).evaluate()
    assert "cannot read this tick's" in caplog.text
    assert "disk I/O error" in caplog.text


def test_requests_cover_every_question_of_an_sli_kind() -> None:
    latency = LatencySLI(histogram=parse_selector('h{job="api"}'), threshold_seconds=0.5)
    got = sli_requests(latency, H)
    assert [(str(r.selector), r.query) for r in got] == [
        ('h_bucket{job="api"}', SLIQuery.LABEL_VALUES), ('h_bucket{job="api"}', SLIQuery.INCREASE),
        ('h_count{job="api"}', SLIQuery.INCREASE)]
    assert [str(r.selector) for r in sli_requests(DriftChecksSLI(monitor="m"), H)] == [
        'watchkeeper_drift_checks_total{monitor="m"}']
    assert sli_requests(ProbeSLI(selector=parse_selector("up")), H)[0].query is SLIQuery.GAUGE
    assert sli_requests(ProbeSLI(selector=parse_selector("up")), timedelta(0)) == []
    with pytest.raises(ValueError, match="timeslice must be positive, got 0:00:00"):
        slice_windows(H, END, timedelta(0))
