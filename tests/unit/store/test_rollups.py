"""Rollups: rollup-of-rollups equals rollup of raw, exact spans, idempotent compaction."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.matchers import parse_selector
from monitor.core.model import Labels, Sample
from monitor.core.time import from_epoch, to_epoch
from monitor.store import (
    Coverage,
    Database,
    Rollup,
    RollupStore,
    SampleStore,
    SeriesSummary,
    bucket_end,
    counter_increase,
    rollup_children,
    rollup_points,
    span,
)
from monitor.store.rollup_math import WindowPlan, combine, plan_window
from monitor.store.rollups import Window

T0 = datetime(2026, 3, 1, tzinfo=UTC)
E0 = to_epoch(T0)  # on an hour boundary


@st.composite
def counter_points(draw: st.DrawFn) -> list[tuple[float, float]]:
    """Sorted samples over up to 3 hours, with bursts, gaps, resets and edge timestamps."""
    offsets = draw(st.lists(st.one_of(st.integers(0, 3 * 3600),
                                      st.sampled_from([0, 60, 300, 3600, 7200, 10800]),
                                      st.integers(0, 3 * 3600).map(lambda s: s + 0.5)),
                            min_size=1, max_size=80, unique=True))
    value, out = 0, []
    for offset in sorted(offsets):
        value = draw(st.integers(0, 5)) if draw(st.integers(0, 9)) == 0 else value + draw(
            st.integers(0, 20))
        out.append((E0 + offset, float(value)))
    return out


@given(st.floats(-1e10, 1e10, allow_nan=False), st.sampled_from([60, 300, 3600]))
def test_bucket_end_holds_the_timestamp(ts: float, step: int) -> None:
    end = bucket_end(ts, step)
    assert end - step < ts <= end
    assert end % step == 0


@given(counter_points())
def test_rollup_of_rollups_equals_rollup_of_raw(points: list[tuple[float, float]]) -> None:
    minute = rollup_points(7, points, 60)
    five = rollup_children(minute, 300)
    hour = rollup_children(five, 3600)
    assert five == rollup_points(7, points, 300)
    assert hour == rollup_points(7, points, 3600)
    assert rollup_children(minute, 3600) == hour


@given(counter_points(), st.data())
def test_span_of_buckets_equals_the_raw_samples(points: list[tuple[float, float]],
                                                data: st.DataObject) -> None:
    step = data.draw(st.sampled_from([60, 300, 3600]))
    buckets = rollup_points(1, points, step)
    i = data.draw(st.integers(0, len(buckets) - 1))
    j = data.draw(st.integers(i, len(buckets) - 1))
    inside = [(t, v) for t, v in points if buckets[i].end - step < t <= buckets[j].end]
    got = span(buckets[i], buckets[j])
    # growth between the last sample of one bucket and the first of the next is counted
    assert got.increase == counter_increase([v for _, v in inside])
    assert got == SeriesSummary.of(inside)


@given(counter_points(), st.integers(1, 79))
def test_summaries_concatenate(points: list[tuple[float, float]], cut: int) -> None:
    if cut >= len(points):
        cut = len(points) // 2 or 1
    if cut >= len(points):
        return
    joined = SeriesSummary.of(points[:cut]).then(SeriesSummary.of(points[cut:]))
    assert joined == SeriesSummary.of(points)


def test_a_drop_counts_the_new_value_and_gauges_are_kept() -> None:
    pts = [(E0 + 10, 5.0), (E0 + 20, 9.0), (E0 + 30, 2.0), (E0 + 70, 0.0), (E0 + 80, 4.0)]
    first, second = rollup_points(3, pts, 60)
    assert (first.end, first.summary.increase, first.minimum, first.maximum) == (
        E0 + 60, 6.0, 2.0, 9.0)
    assert (first.summary.count, first.summary.total, first.summary.positive) == (3, 16.0, 3)
    assert (second.stitch, second.summary.increase, second.summary.positive) == (0.0, 4.0, 1)
    assert (second.cum_increase, second.cum_count) == (10.0, 5)


def _random_counters(samples: SampleStore, hours: int, seed: int) -> list[Sample]:
    rng = random.Random(seed)
    out = []
    for pod in ("a", "b"):
        value = 0.0
        for i in range(0, hours * 3600, 15):
            if rng.random() < 0.05:
                continue  # a missed scrape
            value = rng.randint(0, 3) if rng.random() < 0.01 else value + rng.randint(0, 9)
            out.append(Sample(metric="req_total", labels=Labels({"pod": pod}), value=value,
                              timestamp=T0 + timedelta(seconds=i + (7 if pod == "b" else 0))))
    samples.write(out)
    return out


def _expected(written: list[Sample], step: int, until: float) -> list[Rollup]:
    by_pod: dict[str, list[tuple[float, float]]] = {}
    for s in written:
        if to_epoch(s.timestamp) <= until:
            by_pod.setdefault(s.labels["pod"], []).append((to_epoch(s.timestamp), s.value))
    return [r for sid, pod in enumerate(("a", "b"), start=1)
            for r in rollup_points(sid, by_pod[pod], step)]


def test_compaction_matches_the_pure_rollups_and_is_idempotent(database: Database) -> None:
    samples = SampleStore(database)
    written = _random_counters(samples, hours=3, seed=1)
    rollups = RollupStore(database, settle=timedelta(0))
    until = T0 + timedelta(hours=2, minutes=7, seconds=30)
    # compacting in many small runs equals compacting once
    for minutes in range(0, 128, 13):
        rollups.compact(T0 + timedelta(minutes=minutes))
    rollups.compact(until)
    assert rollups.compact(until) == 0
    for step, done in ((60, E0 + 7620), (300, E0 + 7500), (3600, E0 + 7200)):
        assert rollups.select([1, 2], step, 0, 2e10) == _expected(written, step, done)
        assert rollups.coverage()[step].done_until == done
    assert rollups.coverage()[60].kept_from == E0 - 60


def test_settle_leaves_recent_buckets_to_raw(database: Database) -> None:
    samples = SampleStore(database)
    _random_counters(samples, hours=1, seed=2)
    rollups = RollupStore(database)  # default settle: one minute
    rollups.compact(T0 + timedelta(minutes=30, seconds=59))
    assert rollups.coverage()[60].done_until == E0 + 29 * 60
    assert max(r.end for r in rollups.select([1, 2], 60, 0, 2e10)) == E0 + 29 * 60


def test_empty_store_and_long_gaps(database: Database) -> None:
    rollups = RollupStore(database, settle=timedelta(0))
    assert rollups.compact(T0) == 0
    assert rollups.coverage() == {}
    samples = SampleStore(database)
    later = T0 + timedelta(days=30)
    samples.write([Sample(metric="up", labels=Labels({}), value=1, timestamp=T0),
                   Sample(metric="up", labels=Labels({}), value=1, timestamp=later)])
    assert rollups.compact(later) == 6  # one bucket per step at each end; the gap is skipped
    assert [r.end for r in rollups.select([1], 3600, 0, 2e10)] == [E0, to_epoch(later)]
    assert rollups.coverage()[3600].done_until == to_epoch(later)


def test_rollups_answer_after_raw_samples_are_deleted(database: Database) -> None:
    samples = SampleStore(database)
    written = _random_counters(samples, hours=3, seed=3)
    rollups = RollupStore(database, settle=timedelta(0))
    rollups.compact(T0 + timedelta(hours=3))
    selector = parse_selector('req_total{pod="a"}')
    before = rollups.summarize(selector, T0, T0 + timedelta(hours=3), include_start=True)
    samples.delete_before(T0 + timedelta(hours=3))
    assert samples.select(selector, T0, T0 + timedelta(hours=2)) == []
    after = rollups.summarize(selector, T0, T0 + timedelta(hours=3), include_start=True)
    assert after == before
    values = [s.value for s in written if s.labels["pod"] == "a"]
    assert after[0][1].increase == counter_increase(values)


def test_pruned_fine_rollups_fall_back_to_coarser_steps(database: Database) -> None:
    samples = SampleStore(database)
    _random_counters(samples, hours=3, seed=4)
    rollups = RollupStore(database, settle=timedelta(0))
    rollups.compact(T0 + timedelta(hours=3))
    selector = parse_selector("req_total")
    window = (T0 + timedelta(minutes=30), T0 + timedelta(hours=3))
    before = rollups.summarize(selector, *window)
    samples.delete_before(T0 + timedelta(hours=3))
    deleted = rollups.delete_before(T0 + timedelta(hours=2, seconds=30), step=timedelta(minutes=1))
    assert deleted == 121 + 120  # pod "a" has a sample exactly at T0, in the bucket ending there
    assert rollups.coverage()[60].kept_from == E0 + 7200
    assert rollups.summarize(selector, *window) == before


def test_bad_configuration_is_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="each step must divide the next, got 60s then 90s"):
        RollupStore(database, steps=[timedelta(minutes=1), timedelta(seconds=90)])
    with pytest.raises(ValueError, match="whole positive seconds"):
        RollupStore(database, steps=[timedelta(seconds=0.5)])
    with pytest.raises(ValueError, match="settle must be >= 0"):
        RollupStore(database, settle=timedelta(seconds=-1))
    with pytest.raises(ValueError, match="no rollup step of 0:02:00; steps are 60s, 300s, 3600s"):
        RollupStore(database).delete_before(T0, step=timedelta(minutes=2))


def test_summarize_many_equals_summarize_for_each_window(database: Database) -> None:
    samples = SampleStore(database)
    _random_counters(samples, hours=3, seed=7)
    rollups = RollupStore(database, settle=timedelta(0))
    rollups.compact(T0 + timedelta(hours=2, minutes=41, seconds=30))
    rollups.delete_before(T0 + timedelta(minutes=40), step=timedelta(minutes=1))
    samples.delete_before(T0 + timedelta(minutes=20))  # the first 20 minutes only rolled up
    selectors = [parse_selector(s) for s in ("req_total", 'req_total{pod="b"}')]
    ids = {str(s): [sid for sid, pod in ((1, "a"), (2, "b")) if s.matches("req_total",
                                                                          {"pod": pod})]
           for s in selectors}
    windows = [Window(start=E0 + a, end=E0 + b, include_start=closed)
               for a, b in ((0, 10800), (-3600, 600), (607, 9913.5), (3600, 3600 + 60),
                            (7200, 10800), (9900, 9840), (10000, 10800), (15, 45))
               for closed in (False, True)]
    got = rollups.summarize_many(dict.fromkeys(windows, ids["req_total"]))
    assert set(got) == set(windows)
    for w in windows:
        expected = rollups.summarize(selectors[0], from_epoch(w.start), from_epoch(w.end),
                                     include_start=w.include_start)
        assert [got[w][sid] for sid in sorted(got[w])] == [s for _, s in expected], w
    assert got[Window(start=E0 + 9900, end=E0 + 9840)] == {}
    assert rollups.summarize_many({}) == {}
    partial = rollups.summarize_many({windows[0]: ids[str(selectors[1])]})
    assert list(partial[windows[0]]) == [2]


def test_series_are_listed_by_id_and_edges_are_the_first_and_last_bucket(
        database: Database) -> None:
    samples = SampleStore(database)
    _random_counters(samples, hours=2, seed=8)
    samples.write([Sample(metric="up", labels=Labels({"job": "x"}), value=1, timestamp=T0)])
    rollups = RollupStore(database, settle=timedelta(0))
    rollups.compact(T0 + timedelta(hours=2))
    assert [(s.id, s.metric, dict(s.labels)) for s in rollups.series(["up", "req_total", "x"])] \
        == [(1, "req_total", {"pod": "a"}), (2, "req_total", {"pod": "b"}), (3, "up", {"job": "x"})]
    assert rollups.series([]) == []
    buckets = rollups.select([1, 2], 300, E0 + 600, E0 + 3000)
    edges = rollups.edges([1, 2, 99], 300, E0 + 600, E0 + 3000)
    assert edges == {sid: (first, last) for sid in (1, 2)
                     for first, last in [([b for b in buckets if b.series_id == sid][0],
                                          [b for b in buckets if b.series_id == sid][-1])]}
    assert rollups.edges([1], 300, E0 + 600, E0 + 610) == {}
    assert rollups.edges([], 300, 0, 1) == {}


def test_a_plan_covers_the_window_once() -> None:
    coverage = [Coverage(step=60, kept_from=E0 + 3600, done_until=E0 + 7200),
                Coverage(step=3600, kept_from=E0 - 3600, done_until=E0 + 7200)]
    plan = plan_window(E0 - 3570, E0 + 7230, coverage, include_start=True)
    assert plan.spans == ((3600, E0, E0 + 7200),)  # the hours leave the least to raw
    assert plan.raw == ((E0 - 3570, E0), (E0 + 7200, E0 + 7230))
    assert plan.start_step is None  # E0 - 3570 ends no bucket: its sample comes from raw
    assert plan_window(E0 + 60, E0, coverage, include_start=True) == WindowPlan(
        start=E0 + 60, end=E0)
    assert plan_window(E0 + 3600, E0 + 3660, coverage, include_start=True).start_step == 3600
    assert combine([], []) is None
    points = [(E0 + 1.0, 5.0), (E0 + 2.0, 1.0)]
    assert combine([], points) == SeriesSummary.of(points)


@given(counter_points(), st.data())
def test_combine_joins_pieces_and_raw_runs_in_time_order(points: list[tuple[float, float]],
                                                         data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.sets(st.integers(0, len(points)), max_size=6)) | {0, len(points)})
    chunks = [points[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if a < b]
    rolled = data.draw(st.lists(st.booleans(), min_size=len(chunks), max_size=len(chunks)))
    pieces = [(c[0][0], SeriesSummary.of(c)) for c, r in zip(chunks, rolled, strict=True) if r]
    raw = [p for c, r in zip(chunks, rolled, strict=True) if not r for p in c]
    # counters are whole numbers, so any grouping of the additions is exact
    assert combine(list(reversed(pieces)), raw) == SeriesSummary.of(points)
