"""Alert rules: reading both file shapes, templating annotations, evaluating into signals."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerting import AlertStateMachine, templating
from monitor.alerting.expr import parse_expr
from monitor.alerting.rules import (
    AlertRuleEvaluator,
    AlertRuleGroup,
    AlertRuleSpec,
    from_document,
)
from monitor.alerting.templating import (
    TemplateError,
    go_float,
    humanize,
    humanize1024,
    humanize_duration,
    humanize_percentage,
    parse_template,
)
from monitor.config.documents import load_file
from monitor.config.errors import ConfigError
from monitor.core.errors import StoreError
from monitor.core.matchers import Selector
from monitor.core.model import AlertState, Labels, Sample
from monitor.core.time import FakeClock
from monitor.store import Database, SampleStore
from monitor.store.alerts import AlertStore

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

SINGLE = """\
apiVersion: watchkeeper.dev/v1
kind: AlertRule
metadata: {name: ModelErrorRatioHigh}
spec:
  expr: >-
    sum by (model) (rate(requests_total{code="500"}[5m]))
    / sum by (model) (rate(requests_total[5m])) > 0.05
  for: 2m
  keep_firing_for: 10m
  labels: {severity: page, team: ml}
  annotations:
    summary: "{{ $labels.model }} fails {{ $value | humanizePercentage }} of requests"
    description: 'error ratio {{ printf "%.3f" $value }} (team {{ $labels.team }})'
    runbook_url: https://runbooks.example.com/model-errors
"""

GROUPS = """\
apiVersion: watchkeeper.dev/v1
kind: AlertRule
metadata: {name: latency}
spec:
  groups:
    - name: latency
      labels: {team: ml, severity: ticket}
      rules:
        - alert: LatencyHigh
          expr: latency_seconds > 1
          for: 0s
          labels: {severity: page}
        - alert: LatencyHigh
          expr: latency_seconds > 0.3
          keep_firing_for: 90
          annotations: {summary: "{{ $labels.model }} at {{ $value }}s"}
"""


def _load(tmp_path: Path, text: str) -> tuple[AlertRuleGroup | None, list[str]]:
    path = tmp_path / "rule.yaml"
    path.write_text(text, encoding="utf-8")
    errors: list[ConfigError] = []
    (doc,) = load_file(path, "rules/rule.yaml", errors)
    group = from_document(doc, errors)
    return group, [str(e) for e in errors]


def _write(samples: SampleStore, metric: str, labels: dict[str, str],
           points: list[tuple[int, float]]) -> None:
    samples.write(Sample(metric=metric, labels=Labels(labels), value=v,
                         timestamp=AT - timedelta(seconds=ago)) for ago, v in points)


# -- reading -----------------------------------------------------------------------------

def test_single_rule_document(tmp_path: Path) -> None:
    group, errors = _load(tmp_path, SINGLE)
    assert errors == []
    assert group is not None
    (rule,) = group.rules
    assert (rule.name, rule.source, rule.where) == ("ModelErrorRatioHigh",
                                                    "rule/ModelErrorRatioHigh",
                                                    "rules/rule.yaml:5:3")
    assert (rule.for_duration, rule.keep_firing_for) == (timedelta(minutes=2),
                                                         timedelta(minutes=10))
    assert rule.labels == {"severity": "page", "team": "ml"}
    assert rule.expr.comparison == ">" and rule.expr.threshold == 0.05
    assert sorted(rule.annotations) == ["description", "runbook_url", "summary"]


def test_prometheus_groups_become_one_rule_each(tmp_path: Path) -> None:
    group, errors = _load(tmp_path, GROUPS)
    assert errors == []
    assert group is not None and group.name == "latency"
    page, ticket = group.rules
    assert (page.name, page.labels, page.for_duration) == (
        "LatencyHigh", {"team": "ml", "severity": "page"}, timedelta(0))
    assert (ticket.labels, ticket.keep_firing_for) == ({"team": "ml", "severity": "ticket"},
                                                       timedelta(seconds=90))
    assert page.source == ticket.source == "rule/LatencyHigh"


def test_spec_alert_overrides_the_document_name(tmp_path: Path) -> None:
    text = SINGLE.replace("  for: 2m\n", "  for: 2m\n  alert: ChurnErrors\n")
    group, errors = _load(tmp_path, text)
    assert errors == [] and group is not None
    assert group.rules[0].name == "ChurnErrors"


def test_spec_invariants() -> None:
    with pytest.raises(ValueError, match="for_duration must not be negative"):
        AlertRuleSpec(name="X", expr=parse_expr("x"), for_duration=timedelta(seconds=-1))
    with pytest.raises(ValueError, match="name must not be empty"):
        AlertRuleSpec(name="", expr=parse_expr("x"))


# -- templating --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "rendered"), [
    ("{{ $labels.model }} at {{ $value }}", "churn at 1234.5"),
    ("{{ .Labels.model }} at {{ .Value }}", "churn at 1234.5"),
    ("{{ $value | humanize }}", "1.234k"),
    ("{{ humanize $value }}", "1.234k"),
    ('{{ $value | printf "%.2f" }}', "1234.50"),
    ('{{ printf "%s=%.1f%%" $labels.model $value }}', "churn=1234.5%"),
    ('{{ printf "%q|%5.1f|%-6s|%d" $labels.model $value "ab" $value }}',
     '"churn"|1234.5|ab    |1234'),
    ("{{ $labels.model | toUpper }}/{{ $labels.model | title }}", "CHURN/Churn"),
    ("{{ $labels.absent }}|", "|"),
    ("a  {{- $labels.model -}}  b", "achurnb"),
    ("{{/* a comment */}}x", "x"),
    ("no actions at all", "no actions at all"),
    ('{{ "quoted" }} {{ `raw\\n` }}', "quoted raw\\n"),
])
def test_templates_render_like_prometheus(text: str, rendered: str) -> None:
    template = parse_template(text)
    assert template.render(labels={"model": "churn"}, value=1234.5) == rendered


def test_a_failing_function_renders_prometheus_error_text() -> None:
    template = parse_template("{{ $labels.model | humanize }}")
    assert template.render(labels={"model": "churn"}, value=1.0) == (
        "<error expanding template: cannot convert 'churn' to a number>")


@pytest.mark.parametrize(("text", "message"), [
    ("{{ $value | humanise }}", "unknown function 'humanise' at character 13 of "
                                "'{{ $value | humanise }}'; did you mean 'humanize'?"),
    ("{{ $vlaue }}", "unknown variable '$vlaue' at character 4 of '{{ $vlaue }}'; "
                     "did you mean '$value'?"),
    ("{{ value }}", "unknown function 'value' at character 4 of '{{ value }}'; "
                    "did you mean '$value'?"),
    ("{{ $labels }}", "$labels needs one label name at character 4 of '{{ $labels }}'; "
                      "write e.g. $labels.model"),
    ("{{ if $value }}x{{ end }}", "{{ if }} is not supported at character 4 of "
     "'{{ if $value }}x{{ end }}'; templates here print $labels and $value through functions"),
    ("{{ query \"up\" }}", "unknown function 'query' at character 4 of '{{ query \"up\" }}'; "
     "functions: humanize, humanize1024, humanizeDuration, humanizePercentage, printf, title, "
     "toLower, toUpper"),
    ("x {{ $value", "unclosed action at character 3 of 'x {{ $value'; close it with }}"),
    ("{{ }}", "empty action at character 3 of '{{ }}'; write e.g. {{ $value }}"),
    ("{{ $value | }}", "expected a function after '|' at character 12 of '{{ $value | }}'"),
    ('{{ printf "%.2f %s" $value }}', "printf format '%.2f %s' takes 2 values, got 1 at "
                                      "character 4 of '{{ printf \"%.2f %s\" $value }}'"),
    ('{{ printf "%x" $value }}', "unsupported printf verb '%x' at character 4 of "
                                 "'{{ printf \"%x\" $value }}'; use one of %v %s %q %d %f %e %g"),
    ("{{ humanize $value $value }}", "humanize takes 1 value, got 2 at character 4 of "
                                     "'{{ humanize $value $value }}'"),
    ("{{ $value $labels.x }}", "unexpected '$labels.x' after '$value' at character 11 of "
     "'{{ $value $labels.x }}'; put functions first, e.g. {{ humanize $value }}"),
])
def test_bad_templates_fail_at_load_with_the_character(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(text)
    assert str(caught.value) == message


def test_number_formatting_matches_go() -> None:
    # Expected strings are what Go's fmt and Prometheus' template functions print.
    assert [go_float(v) for v in (0.1, 100.0, 123456.0, 1234567.0, 1.5e6, -0.00012, 1e-05,
                                  float("nan"), float("-inf"))] == [
        "0.1", "100", "123456", "1.234567e+06", "1.5e+06", "-0.00012", "1e-05", "NaN", "-Inf"]
    assert [humanize(v) for v in (0.0, 1234.0, 0.00123, 1e9, 12.3456, -2500.0)] == [
        "0", "1.234k", "1.23m", "1G", "12.35", "-2.5k"]
    assert [humanize1024(v) for v in (1.0, 2048.0, 1536.0 * 1024)] == ["1", "2ki", "1.5Mi"]
    assert [humanize_duration(v) for v in (0.0, 90061.5, 3.2, 0.012, -65.0)] == [
        "0s", "1d 1h 1m 1s", "3.2s", "12ms", "-1m 5s"]
    assert humanize_percentage(0.0321) == "3.21%"
    assert humanize("2500") == "2.5k"


# -- evaluating --------------------------------------------------------------------------

@pytest.fixture
def samples(database: Database) -> SampleStore:
    store = SampleStore(database)
    minutes = [240, 180, 120, 60, 0]
    for model, bad, total in (("churn", [0, 10, 20, 30, 40], [0, 100, 200, 300, 400]),
                              ("fraud", [0, 0, 0, 0, 1], [0, 100, 200, 300, 400])):
        _write(store, "requests_total", {"model": model, "code": "500"},
               list(zip(minutes, bad, strict=True)))
        _write(store, "requests_total", {"model": model, "code": "200"},
               list(zip(minutes, total, strict=True)))
    return store


def test_evaluator_emits_one_templated_signal_per_series(tmp_path: Path,
                                                         samples: SampleStore) -> None:
    group, _ = _load(tmp_path, SINGLE)
    assert group is not None
    evaluator = AlertRuleEvaluator(rules=group.rules, samples=samples, clock=FakeClock(AT))
    (signal,) = evaluator.evaluate()
    assert signal.name == "ModelErrorRatioHigh"
    assert signal.labels == {"model": "churn", "severity": "page", "team": "ml"}
    assert signal.value == pytest.approx(40 / 440)
    assert (signal.active, signal.source) == (True, "rule/ModelErrorRatioHigh")
    assert (signal.for_duration, signal.keep_firing_for) == (timedelta(minutes=2),
                                                             timedelta(minutes=10))
    # $labels are the series' labels, as in Prometheus: the rule's own labels are not in them.
    assert signal.annotations == {
        "summary": "churn fails 9.091% of requests",
        "description": "error ratio 0.091 (team )",
        "runbook_url": "https://runbooks.example.com/model-errors"}
    assert evaluator.evaluated_sources == evaluator.sources == {"rule/ModelErrorRatioHigh"}
    assert evaluator.errors == {}


def test_rules_sharing_a_name_with_equal_labels_fail_that_rule(
        tmp_path: Path, samples: SampleStore) -> None:
    text = GROUPS.replace("latency_seconds > 1", "requests_total > 0").replace(
        "latency_seconds > 0.3", "requests_total > 0").replace(
        "labels: {severity: page}", "labels: {severity: ticket}")
    group, errors = _load(tmp_path, text)
    assert errors == [] and group is not None
    evaluator = AlertRuleEvaluator(rules=group.rules, samples=samples, clock=FakeClock(AT))
    signals = evaluator.evaluate()
    assert len(signals) == 4  # the first rule's series; the second would duplicate them
    assert list(evaluator.errors) == ["LatencyHigh"]
    assert "once the rule's labels are added" in evaluator.errors["LatencyHigh"]
    assert evaluator.evaluated_sources == frozenset()


class _BrokenStore(SampleStore):
    def increase(self, selector: Selector, window: timedelta,
                 at: datetime) -> list[tuple[Labels, float]]:
        raise StoreError("database sqlite:///x.db: disk I/O error")


def test_a_store_error_keeps_the_rule_out_of_evaluated_sources(
        tmp_path: Path, database: Database) -> None:
    group, _ = _load(tmp_path, SINGLE)
    assert group is not None
    evaluator = AlertRuleEvaluator(rules=group.rules, samples=_BrokenStore(database),
                                   clock=FakeClock(AT))
    assert evaluator.evaluate() == []
    assert evaluator.errors == {"ModelErrorRatioHigh": "database sqlite:///x.db: disk I/O error"}
    assert evaluator.evaluated_sources == frozenset()


def test_a_series_that_disappears_resolves_through_evaluated_sources(
        tmp_path: Path, samples: SampleStore, database: Database) -> None:
    group, _ = _load(tmp_path, SINGLE.replace("for: 2m", "for: 0s").replace(
        "  keep_firing_for: 10m\n", ""))
    assert group is not None
    clock = FakeClock(AT)
    evaluator = AlertRuleEvaluator(rules=group.rules, samples=samples, clock=clock)
    machine = AlertStateMachine(store=AlertStore(database))
    (fired,) = machine.apply(evaluator.evaluate(), AT, evaluator.evaluated_sources)
    assert (fired.to_state, fired.alert.labels["model"]) == (AlertState.FIRING, "churn")
    # Five minutes on, with no new samples, the rate has no data: the series is gone.
    later = clock.advance(timedelta(minutes=5))
    signals = evaluator.evaluate()
    assert signals == []
    (resolved,) = machine.apply(signals, later, evaluator.evaluated_sources)
    assert (resolved.from_state, resolved.to_state) == (AlertState.FIRING, AlertState.RESOLVED)


def test_doctests_pass() -> None:
    result = doctest.testmod(templating)
    assert result.attempted > 0 and result.failed == 0
