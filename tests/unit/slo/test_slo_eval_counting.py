"""Counting each SLI kind through the SLISource protocol: exact counts, queries and errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.core.matchers import Selector, parse_selector
from monitor.slo import ground_truth
from monitor.slo.budget import EventCounts
from monitor.slo.counting import (
    MAX_SLICES,
    QuerySource,
    SLIError,
    bucket_bound,
    count,
    count_slices,
    group_selector,
    narrow,
)
from monitor.slo.ground_truth import GroundTruthError
from monitor.slo.model import (
    BoolGaugeSLI,
    Budgeting,
    DriftChecksSLI,
    EventsSLI,
    GroundTruthSLI,
    LatencySLI,
    ProbeSLI,
    PromQLSLI,
)
from monitor.slo.sli import GaugeStats, SLISource

AT = datetime(2026, 3, 31, 12, tzinfo=UTC)
M, H = timedelta(minutes=1), timedelta(hours=1)
HIST = 'http_request_duration_seconds{job="api"}'
BOUNDS = {"0.1", "0.25", "0.5", "1", "+Inf"}


class FakeSource:
    """Answers from tables keyed by the selector's text; records every question."""

    def __init__(self, increases: dict[str, float] | None = None,
                 gauges: dict[str, GaugeStats] | None = None,
                 labels: dict[tuple[str, str], set[str]] | None = None,
                 increase_fn: Callable[[str, timedelta, datetime], float | None] | None = None,
                 ) -> None:
        self.increases, self.gauges, self.labels = increases or {}, gauges or {}, labels or {}
        self.increase_fn = increase_fn
        self.calls: list[tuple[str, str, timedelta, datetime]] = []

    def increase(self, selector: Selector, window: timedelta, at: datetime) -> float | None:
        self.calls.append(("increase", str(selector), window, at))
        if self.increase_fn is not None:
            return self.increase_fn(str(selector), window, at)
        return self.increases.get(str(selector))

    def gauge(self, selector: Selector, window: timedelta, at: datetime) -> GaugeStats | None:
        self.calls.append(("gauge", str(selector), window, at))
        return self.gauges.get(str(selector))

    def label_values(self, selector: Selector, label: str, window: timedelta,
                     at: datetime) -> set[str]:
        self.calls.append(("label_values", f"{selector} {label}", window, at))
        return self.labels.get((str(selector), label), set())


def test_the_fake_implements_the_protocol() -> None:
    assert isinstance(FakeSource(), SLISource)


def _events(*, good: str | None = None, bad: str | None = None) -> EventsSLI:
    return EventsSLI(total=parse_selector("req_total"),
                     good=parse_selector(good) if good else None,
                     bad=parse_selector(bad) if bad else None)


def test_events_bad_and_good_counts_are_exact() -> None:
    source = FakeSource({"req_total": 1000.0, "err_total": 7.0, "ok_total": 990.0})
    assert count(_events(bad="err_total"), source, H, AT) == EventCounts(total=1000, bad=7)
    assert count(_events(good="ok_total"), source, H, AT) == EventCounts(total=1000, bad=10)
    # a bad series that does not exist yet counts as zero; no total is no data
    assert count(_events(bad="missing_total"), source, H, AT) == EventCounts(total=1000, bad=0)
    assert count(_events(bad="err_total"), FakeSource(), H, AT) is None
    assert count(_events(bad="err_total"), source, timedelta(0), AT) is None
    assert ("increase", "req_total", H, AT) in source.calls


def test_latency_counts_the_bucket_at_the_threshold_over_count() -> None:
    source = FakeSource(
        {'http_request_duration_seconds_bucket{job="api",le="0.25"}': 950.0,
         'http_request_duration_seconds_count{job="api"}': 1000.0},
        labels={('http_request_duration_seconds_bucket{job="api"}', "le"): BOUNDS})
    sli = LatencySLI(histogram=parse_selector(HIST), threshold_seconds=0.25)
    assert count(sli, source, H, AT) == EventCounts(total=1000, bad=50)
    assert [c[:2] for c in source.calls] == [
        ("label_values", 'http_request_duration_seconds_bucket{job="api"} le'),
        ("increase", 'http_request_duration_seconds_count{job="api"}'),
        ("increase", 'http_request_duration_seconds_bucket{job="api",le="0.25"}')]


@pytest.mark.parametrize(("threshold", "where"), [
    (0.3, "is between the buckets 0.25 and 0.5"),
    (2.0, "is above the largest bucket 1"),
    (0.05, "is below the smallest bucket 0.1"),
])
def test_latency_threshold_off_the_buckets_names_them(threshold: float, where: str) -> None:
    source = FakeSource(labels={('http_request_duration_seconds_bucket{job="api"}', "le"):
                                BOUNDS})
    sli = LatencySLI(histogram=parse_selector(HIST), threshold_seconds=threshold)
    with pytest.raises(SLIError) as caught:
        count(sli, source, H, AT)
    assert str(caught.value) == (f"threshold {threshold:g}s {where} of "
                                 "http_request_duration_seconds; use one of: 0.1, 0.25, 0.5, 1")


def test_bucket_bound_uses_the_series_spelling_and_no_buckets_is_no_data() -> None:
    sli = LatencySLI(histogram=parse_selector("h"), threshold_seconds=0.25)
    assert bucket_bound(sli, {"0.250", "+Inf", "junk"}) == "0.250"
    assert bucket_bound(sli, set()) is None
    assert count(sli, FakeSource(), H, AT) is None
    with pytest.raises(SLIError, match="has no finite bucket to match .* use one of: none"):
        bucket_bound(sli, {"+Inf"})


def test_probe_and_bool_gauge_count_positive_samples() -> None:
    source = FakeSource(gauges={'up{job="api"}': GaugeStats(count=120, total=117, positive=117),
                                "model_loaded": GaugeStats(count=60, total=57.5, positive=58),
                                "empty": GaugeStats(count=0, total=0, positive=0)})
    probe = ProbeSLI(selector=parse_selector('up{job="api"}'))
    assert count(probe, source, H, AT) == EventCounts(total=120, bad=3)
    gauge = BoolGaugeSLI(selector=parse_selector("model_loaded"))
    assert count(gauge, source, H, AT) == EventCounts(total=60, bad=2)
    assert count(BoolGaugeSLI(selector=parse_selector("empty")), source, H, AT) is None
    assert count(BoolGaugeSLI(selector=parse_selector("absent")), source, H, AT) is None


def test_drift_checks_count_passing_checks() -> None:
    source = FakeSource({'watchkeeper_drift_checks_total{monitor="churn"}': 48.0,
                         'watchkeeper_drift_checks_total{monitor="churn",result="pass"}': 45.0})
    assert count(DriftChecksSLI(monitor="churn"), source, H, AT) == EventCounts(total=48, bad=3)
    assert count(DriftChecksSLI(monitor="other"), source, H, AT) is None


def _jsonl(path: Path, rows: Sequence[object]) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
                    encoding="utf-8")
    return str(path)


def _at(hh: int, mm: int) -> str:
    return datetime(2026, 3, 31, hh, mm, tzinfo=UTC).isoformat()


def test_ground_truth_joins_labels_after_the_lag(tmp_path: Path) -> None:
    def pred(rid: str, when: str, p: float) -> dict[str, object]:
        return {"request_id": rid, "time": when, "output": {"probability": p}}

    predictions = _jsonl(tmp_path / "predictions.jsonl", [
        pred("a", _at(9, 59), 0.9),          # before the window
        pred("b", _at(10, 15), 0.9),         # label 1: correct
        "{not json",
        pred("c", _at(10, 30), 0.2),         # label 1: wrong
        pred("d", _at(10, 45), 0.7),         # label 0: wrong
        pred("e", _at(10, 50), 0.1),         # label false: correct
        pred("f", _at(10, 55), 0.8),         # never labelled: not judged
        pred("g", _at(11, 0), 0.6),          # label "yes", on the window's edge: correct
        pred("h", _at(11, 10), 0.6),         # inside the label lag: not judged yet
        pred("i", _at(10, 20), 0.9),         # label arrives after AT: not judged
        {"request_id": "j", "time": _at(10, 40)},
    ])
    labels = _jsonl(tmp_path / "labels.jsonl", [
        {"request_id": k, "label": v, "time": _at(11, 30)}
        for k, v in [("a", 1), ("b", 1), ("c", 1), ("d", 0), ("e", False), ("g", "yes"),
                     ("h", 1)]] + [{"request_id": "i", "label": 1, "time": _at(12, 30)}])
    sli = GroundTruthSLI(predictions=predictions, labels=labels, label_lag=H)
    problems: list[str] = []
    assert count(sli, FakeSource(), H, AT, problems=problems) == EventCounts(total=5, bad=2)
    assert problems == [
        "predictions.jsonl:3: not JSON (Expecting property name enclosed in double quotes); "
        "line skipped",
        "predictions.jsonl:11: no 'output.probability' field; line skipped"]
    # a window with no labelled prediction is no data
    assert ground_truth.count(sli, M, AT - 5 * H) == (None, tuple(problems))


def test_ground_truth_missing_file_is_an_error(tmp_path: Path) -> None:
    sli = GroundTruthSLI(predictions=str(tmp_path / "nope.jsonl"),
                         labels=str(tmp_path / "labels.jsonl"))
    with pytest.raises(GroundTruthError, match="cannot read ground-truth file .*nope.jsonl"):
        count(sli, FakeSource(), H, AT)


def _slice_source(table: dict[datetime, tuple[float, float]]) -> FakeSource:
    """Serve per-slice (total, bad) keyed by the slice's end time."""
    def increase(selector: str, window: timedelta, at: datetime) -> float | None:
        if at not in table:
            return None
        total, bad = table[at]
        return total if selector == "req_total" else bad
    return FakeSource(increase_fn=increase)


# Five 2m slices ending at AT: ratios 1.0, 0.9, 0.97, (no data), 0.5.
SLICES = {AT: (100.0, 0.0), AT - 2 * M: (100.0, 10.0), AT - 4 * M: (100.0, 3.0),
          AT - 8 * M: (10.0, 5.0)}


def test_timeslices_count_bad_slices_against_the_target() -> None:
    got = count_slices(_events(bad="err_total"), _slice_source(SLICES), 10 * M, AT,
                       timeslice=2 * M, budgeting=Budgeting.TIMESLICES, target=0.95)
    assert got == EventCounts(total=4, bad=2)


def test_ratio_timeslices_average_the_slice_ratios() -> None:
    got = count_slices(_events(bad="err_total"), _slice_source(SLICES), 10 * M, AT,
                       timeslice=2 * M, budgeting=Budgeting.RATIO_TIMESLICES, target=None)
    assert got is not None
    assert got.total == 4
    assert got.bad == pytest.approx(0.0 + 0.1 + 0.03 + 0.5, rel=1e-12)
    assert 1 - got.bad / got.total == pytest.approx(0.8425, rel=1e-12)


def test_slices_below_min_events_and_partial_slices() -> None:
    source = _slice_source(SLICES)
    got = count_slices(_events(bad="err_total"), source, 10 * M, AT, timeslice=2 * M,
                       budgeting=Budgeting.TIMESLICES, target=0.95, min_events=50)
    assert got == EventCounts(total=3, bad=1)  # the 10-event slice is left out
    source = _slice_source({AT: (100.0, 0.0), AT - 2 * M: (100.0, 10.0),
                            AT - 4 * M: (100.0, 0.0)})
    got = count_slices(_events(bad="err_total"), source, 5 * M, AT, timeslice=2 * M,
                       budgeting=Budgeting.TIMESLICES, target=0.95)
    assert got == EventCounts(total=2.5, bad=1)  # 2m + 2m + a 1m slice weighing 0.5
    assert sorted({c[2] for c in source.calls}) == [M, 2 * M]
    assert count_slices(_events(bad="err_total"), _slice_source({}), 5 * M, AT,
                        timeslice=M, budgeting=Budgeting.TIMESLICES, target=0.9) is None


def test_long_windows_merge_slices_to_bound_the_cost() -> None:
    source = FakeSource(increase_fn=lambda s, w, a: 1000.0 if s == "req_total" else 20.0)
    window = 3000 * M  # 3,000 one-minute slices: read as 1,000 slices of 3m
    got = count_slices(_events(bad="err_total"), source, window, AT, timeslice=M,
                       budgeting=Budgeting.TIMESLICES, target=0.95)
    assert got == EventCounts(total=3000, bad=0)
    assert MAX_SLICES == 1440
    assert {c[2] for c in source.calls} == {3 * M}
    assert len(source.calls) == 2 * 1000


def test_count_slices_refuses_occurrences_and_a_missing_target() -> None:
    with pytest.raises(ValueError, match="is for Timeslices and RatioTimeslices"):
        count_slices(_events(bad="e"), FakeSource(), H, AT, timeslice=M,
                     budgeting=Budgeting.OCCURRENCES, target=None)
    with pytest.raises(ValueError, match="Timeslices budgeting needs a slice target"):
        count_slices(_events(bad="e"), FakeSource(), H, AT, timeslice=M,
                     budgeting=Budgeting.TIMESLICES, target=None)


def test_narrow_adds_the_group_to_every_selector() -> None:
    sli = narrow(_events(bad='err_total{code="500"}'), {"tenant": "a", "region": "eu"})
    assert isinstance(sli, EventsSLI) and sli.bad is not None
    assert (str(sli.total), str(sli.bad)) == ('req_total{region="eu",tenant="a"}',
                                              'err_total{code="500",region="eu",tenant="a"}')
    latency = narrow(LatencySLI(histogram=parse_selector(HIST), threshold_seconds=0.5),
                     {"tenant": "a"})
    assert str(group_selector(latency)) == ('http_request_duration_seconds_count'
                                            '{job="api",tenant="a"}')
    probe = ProbeSLI(selector=parse_selector("up"))
    assert narrow(probe, {}) is probe
    assert str(group_selector(narrow(probe, {"tenant": "b"}))) == 'up{tenant="b"}'
    assert group_selector(DriftChecksSLI(monitor="m")) is None
    with pytest.raises(SLIError, match="group_by needs an SLI over labelled series, "
                                       "not DriftChecksSLI"):
        narrow(DriftChecksSLI(monitor="m"), {"tenant": "a"})


def test_doctests_pass() -> None:
    import doctest

    from monitor.slo import counting

    result = doctest.testmod(counting)
    assert result.attempted > 0 and result.failed == 0


class PromQLFake(FakeSource):
    """A source that also runs PromQL: answers keyed by the rendered query."""

    def __init__(self, answers: dict[str, float]) -> None:
        super().__init__()
        self.answers = answers
        self.queries: list[str] = []

    def query_scalar(self, query: str, at: datetime) -> float | None:
        self.queries.append(query)
        return self.answers.get(query)


def test_promql_events_and_ratio_queries_fill_in_the_window() -> None:
    events = PromQLSLI(error_query="sum(increase(err[{{.window}}]))",
                       total_query="sum(increase(req[{{ .window }}]))")
    source = PromQLFake({"sum(increase(err[3600s]))": 12.0, "sum(increase(req[3600s]))": 4000.0,
                         "sum(increase(req[1500ms]))": 0.0,
                         "err_ratio[300s]": 0.25, "err_ratio[60s]": float("nan")})
    assert isinstance(source, QuerySource)
    assert count(events, source, H, AT) == EventCounts(total=4000, bad=12)
    assert source.queries == ["sum(increase(req[3600s]))", "sum(increase(err[3600s]))"]
    assert count(events, source, timedelta(seconds=1.5), AT) == EventCounts(total=0, bad=0)
    assert count(events, source, 2 * H, AT) is None
    ratio = PromQLSLI(error_ratio_query="err_ratio[{{.window}}]")
    assert count(ratio, source, 5 * M, AT) == EventCounts(total=1, bad=0.25)
    assert count(ratio, source, M, AT) is None  # NaN (0/0) is no data


def test_promql_needs_a_source_that_runs_promql() -> None:
    with pytest.raises(SLIError, match="a PromQL SLI needs a source that runs PromQL; "
                                       "set source: prometheus"):
        count(PromQLSLI(error_ratio_query="x"), FakeSource(), H, AT)
