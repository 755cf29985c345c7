"""Alert expressions: the parser's answers, good and bad, and evaluation against a real store."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerting import expr as expr_module
from monitor.alerting.expr import ExprError, parse_expr
from monitor.core.model import Labels, Sample
from monitor.store import Database, SampleStore

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _write(store: SampleStore, metric: str, labels: dict[str, str],
           points: list[tuple[int, float]]) -> None:
    """Write ``(seconds before AT, value)`` points of one series."""
    store.write(Sample(metric=metric, labels=Labels(labels), value=v,
                       timestamp=AT - timedelta(seconds=ago)) for ago, v in points)


def _result(store: SampleStore, text: str) -> list[tuple[dict[str, str], object]]:
    return [(dict(labels), value) for labels, value in parse_expr(text).evaluate(store, AT)]


@pytest.fixture
def store(database: Database) -> SampleStore:
    """A store with request counters (one with a reset), a latency gauge and a stale gauge."""
    samples = SampleStore(database)
    every_minute = [240, 180, 120, 60, 0]
    _write(samples, "requests_total", {"model": "churn", "code": "500"},
           list(zip(every_minute, [10, 20, 5, 15, 25], strict=True)))  # reset: grew 35
    _write(samples, "requests_total", {"model": "churn", "code": "200"},
           list(zip(every_minute, [100, 200, 300, 400, 500], strict=True)))  # grew 400
    _write(samples, "requests_total", {"model": "fraud", "code": "500"},
           list(zip(every_minute, [0, 0, 0, 0, 0], strict=True)))
    _write(samples, "requests_total", {"model": "fraud", "code": "200"},
           list(zip(every_minute, [0, 30, 60, 90, 120], strict=True)))  # grew 120
    _write(samples, "latency_seconds", {"model": "churn"}, [(90, 0.9), (30, 0.4)])
    _write(samples, "latency_seconds", {"model": "fraud"}, [(30, 1.7)])
    _write(samples, "latency_seconds", {"model": "old"}, [(600, 9.0)])  # outside the lookback
    _write(samples, "capacity", {"model": "churn"}, [(10, 2.0)])
    _write(samples, "capacity", {"model": "fraud"}, [(10, 0.0)])
    return samples


# -- parsing -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("sum(rate(x[5m])", "expected ')' at character 16 of 'sum(rate(x[5m])'"),
    ("sum(x > 5)", "expected ')' at character 7 of 'sum(x > 5)', found comparison '>'; "
                   "a comparison may only come once, at the end"),
    ("x > 5 > 3", "expected an operator (+ - * /) or the end of the expression at character 7 "
                  "of 'x > 5 > 3', found comparison '>'; a comparison may only come once, "
                  "at the end"),
    ("x y", "expected an operator (+ - * /), a comparison or the end of the expression at "
            "character 3 of 'x y', found 'y'"),
    ("rat(x[5m])", "unknown function 'rat' at character 1 of 'rat(x[5m])'; "
                   "did you mean 'rate'?"),
    ("histogram_quantile(0.9, x)", "unknown function 'histogram_quantile' at character 1 of "
     "'histogram_quantile(0.9, x)'; known: avg, count, increase, max, min, rate, sum"),
    ("x[5m] > 1", "a range selector is only allowed inside rate() or increase() at character 2 "
                  "of 'x[5m] > 1'; write e.g. rate(x[5m])"),
    ("rate(x)", "expected '[' and a window: rate() needs a range such as x[5m] at character 7 "
                "of 'rate(x)', found ')'"),
    ("rate(x[5x])", "invalid duration '5x' at character 8 of 'rate(x[5x])'; use a number and "
                    "a unit (ms, s, m, h, d, w, y), e.g. 5m"),
    ("rate(x[0s])", "the window '0s' must be longer than zero at character 8 of 'rate(x[0s])'"),
    ("rate(x[5m)", "expected ']' at character 11 of 'rate(x[5m)'"),
    ('x{a="b" c="d"}', "expected ',' or '}' at character 9 of 'x{a=\"b\" c=\"d\"}', found 'c'"),
    ("x{a=b}", "expected a quoted string at character 5 of 'x{a=b}', found 'b'"),
    ("x{a~\"b\"}", "expected one of = != =~ !~ at character 4 of 'x{a~\"b\"}', found '~'"),
    ('x{a="b}', "unterminated string at character 5 of 'x{a=\"b}'; close it with \""),
    ('x{a=~"(b"}', "invalid regular expression '(b' for label a (missing ), unterminated "
                   "subpattern at position 0) at character 6 of 'x{a=~\"(b\"}'"),
    ("5 > 3", "the expression selects no series at character 1 of '5 > 3'; compare series "
              "against a number, e.g. rate(errors_total[5m]) > 0.1"),
    ("x > y", "the right side of '>' must be a number at character 4 of 'x > y'; "
              "compare against a constant, e.g. > 0.1"),
    ("sum by (a (x)", "expected ',' or ')' at character 11 of 'sum by (a (x)', found '('"),
    ("sum by (a) (x) by (b)", "the aggregation already has a by clause at character 16 of "
                              "'sum by (a) (x) by (b)'"),
    ("sum(5)", "sum() needs series, got a number at character 5 of 'sum(5)'"),
    ("a / on(l) b", "'on' is not supported at character 5 of 'a / on(l) b'; both sides of "
                    "an operator must have the same labels"),
    ("x +", "expected a metric name, a number, a function or '(' at character 4 of 'x +'"),
    ("", "expected a metric name, a number, a function or '(' at character 1 of ''"),
])
def test_bad_expression_says_where_and_what(text: str, message: str) -> None:
    with pytest.raises(ExprError) as caught:
        parse_expr(text)
    assert str(caught.value) == message


def test_error_carries_the_offset_for_locating_it() -> None:
    with pytest.raises(ExprError) as caught:
        parse_expr("sum(rate(x[5m])")
    assert (caught.value.offset, caught.value.text) == (15, "sum(rate(x[5m])")


@pytest.mark.parametrize(("text", "comparison", "threshold"), [
    ('sum by (model) (rate(requests_total{code=~"5.."}[5m])) > 0.1', ">", 0.1),
    ("sum(rate(x[5m])) by (model) >= 1e-3", ">=", 0.001),
    ("x / y * 100 != -2.5", "!=", -2.5),
    ("x > 0.5 * 2", ">", 1.0),
    ("avg without (code) (x)", "", 0.0),
    ("count(x{a!~'b',}) == 0", "==", 0.0),
    ("-x <= -(1 + 1)", "<=", -2.0),
])
def test_good_expressions_parse(text: str, comparison: str, threshold: float) -> None:
    expr = parse_expr(text)
    assert (expr.text, expr.comparison, expr.threshold) == (text, comparison, threshold)
    assert str(expr) == text


def test_escapes_in_label_values() -> None:
    expr = parse_expr(r'x{path=~"/api/v1\.0/.*", q="say \"hi\""}')
    root = expr.root
    assert hasattr(root, "selector")
    values = [m.value for m in root.selector.matchers]
    assert values == [r"/api/v1\.0/.*", 'say "hi"']


# -- evaluation --------------------------------------------------------------------------

def test_instant_selector_reads_the_latest_sample_within_five_minutes(
        store: SampleStore) -> None:
    assert _result(store, "latency_seconds") == [({"model": "churn"}, 0.4),
                                                 ({"model": "fraud"}, 1.7)]


def test_increase_counts_a_reset_as_growth_from_zero(store: SampleStore) -> None:
    assert _result(store, 'increase(requests_total{model="churn"}[5m])') == [
        ({"code": "200", "model": "churn"}, 400.0), ({"code": "500", "model": "churn"}, 35.0)]


def test_rate_is_increase_over_the_window_without_extrapolation(store: SampleStore) -> None:
    # 4 minutes of growth seen in a 5-minute window: Prometheus would extrapolate to 5.
    ((labels, value),) = _result(store, 'rate(requests_total{model="churn",code="500"}[5m])')
    assert value == pytest.approx(35 / 300)


def test_sum_by_groups_series_on_the_listed_labels(store: SampleStore) -> None:
    assert _result(store, "sum by (model) (increase(requests_total[5m]))") == [
        ({"model": "churn"}, 435.0), ({"model": "fraud"}, 120.0)]
    assert _result(store, "sum(increase(requests_total[5m])) by (code)") == [
        ({"code": "200"}, 520.0), ({"code": "500"}, 35.0)]
    assert _result(store, "sum(increase(requests_total[5m]))") == [({}, 555.0)]


def test_other_aggregations(store: SampleStore) -> None:
    assert _result(store, "max(latency_seconds)") == [({}, 1.7)]
    assert _result(store, "min(latency_seconds)") == [({}, 0.4)]
    assert _result(store, "avg(latency_seconds)") == [({}, pytest.approx(1.05))]
    assert _result(store, "count by (model) (requests_total)") == [
        ({"model": "churn"}, 2.0), ({"model": "fraud"}, 2.0)]
    assert _result(store, "sum without (code) (increase(requests_total[5m]))") == [
        ({"model": "churn"}, 435.0), ({"model": "fraud"}, 120.0)]


def test_vector_division_matches_series_with_identical_labels(store: SampleStore) -> None:
    text = ('sum by (model) (rate(requests_total{code="500"}[5m]))'
            " / sum by (model) (rate(requests_total[5m]))")
    assert _result(store, text) == [({"model": "churn"}, pytest.approx(35 / 435)),
                                    ({"model": "fraud"}, 0.0)]


def test_series_without_a_partner_and_division_by_zero_are_dropped(
        store: SampleStore) -> None:
    # capacity{fraud} is 0: fraud's division gives NaN and is dropped; "old" has no latency.
    assert _result(store, "latency_seconds / capacity") == [({"model": "churn"}, 0.2)]
    assert _result(store, "latency_seconds / 0") == []


def test_arithmetic_with_numbers_and_precedence(store: SampleStore) -> None:
    assert _result(store, 'latency_seconds{model="churn"} * 100 + 1') == [
        ({"model": "churn"}, 41.0)]
    assert _result(store, '1 + 2 * latency_seconds{model="churn"}') == [
        ({"model": "churn"}, 1.8)]
    assert _result(store, '(1 + 2) * latency_seconds{model="churn"}') == [
        ({"model": "churn"}, pytest.approx(1.2))]
    assert _result(store, '-latency_seconds{model="fraud"}') == [({"model": "fraud"}, -1.7)]
    assert _result(store, '10 - latency_seconds{model="fraud"}') == [({"model": "fraud"}, 8.3)]


def test_comparison_keeps_matching_series_with_their_left_hand_value(
        store: SampleStore) -> None:
    text = ('sum by (model) (rate(requests_total{code="500"}[5m]))'
            " / sum by (model) (rate(requests_total[5m])) > 0.05")
    assert _result(store, text) == [({"model": "churn"}, pytest.approx(35 / 435))]
    assert _result(store, "latency_seconds >= 1.7") == [({"model": "fraud"}, 1.7)]
    assert _result(store, "latency_seconds < 1") == [({"model": "churn"}, 0.4)]
    assert _result(store, "latency_seconds == 0.4") == [({"model": "churn"}, 0.4)]
    assert _result(store, "latency_seconds != 0.4") == [({"model": "fraud"}, 1.7)]
    assert _result(store, "latency_seconds <= 0.1") == []


def test_nothing_selected_gives_nothing(store: SampleStore) -> None:
    assert _result(store, "sum(no_such_metric)") == []
    assert _result(store, 'rate(requests_total{model="nobody"}[5m]) > 0') == []


def test_a_window_with_one_sample_has_no_increase(store: SampleStore) -> None:
    # latency_seconds{fraud} has one sample in the last minute: no measured growth.
    assert _result(store, 'increase(latency_seconds{model="fraud"}[1m])') == []


def test_lookback_can_be_widened(store: SampleStore) -> None:
    found = parse_expr('latency_seconds{model="old"}').evaluate(
        store, AT, lookback=timedelta(minutes=15))
    assert [(dict(labels), value) for labels, value in found] == [({"model": "old"}, 9.0)]



def test_doctests_pass() -> None:
    result = doctest.testmod(expr_module)
    assert result.attempted > 0 and result.failed == 0
