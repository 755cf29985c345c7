"""The native ``kind: SLO``: a full file reads into checked specs; mistakes are located."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.documents import load_file
from monitor.config.errors import ConfigError
from monitor.core.matchers import parse_selector
from monitor.core.model import Severity
from monitor.slo import (
    AlertingSpec,
    BoolGaugeSLI,
    Budgeting,
    BurnRateWindow,
    CalendarPeriod,
    CalendarUnit,
    DriftChecksSLI,
    EventsSLI,
    ExhaustionAlert,
    GroundTruthSLI,
    LatencySLI,
    NoDataAlert,
    ProbeSLI,
    PromQLSLI,
    SeverityAlerting,
    SLOSpec,
    SourceKind,
    default_windows,
    from_document,
)

FULL = """\
apiVersion: watchkeeper.dev/v1
kind: SLO
metadata: {name: churn-availability, labels: {team: ml}}
spec:
  service: churn-model
  description: "Churn predictions are served"
  objective: 99.9
  window: 30d
  labels: {model: churn}
  sli:
    events:
      good: 'model_requests_total{model="churn",code!~"5.."}'
      total: 'model_requests_total{model="churn"}'
  alerting:
    name: ChurnAvailabilityBurn
    labels: {team: ml}
    annotations: {runbook_url: "runbooks/churn.md"}
    page: {disable: false, labels: {route: oncall}, annotations: {note: wake}}
    ticket: {disable: true}
"""


def _read(tmp_path: Path, text: str) -> tuple[list[SLOSpec | None], list[str]]:
    path = tmp_path / "slo.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    errors: list[ConfigError] = []
    specs = [from_document(doc, errors) for doc in load_file(path, "slo.yaml", errors)]
    return specs, [str(e) for e in errors]


def test_full_document_reads_into_a_spec(tmp_path: Path) -> None:
    (spec,), errors = _read(tmp_path, FULL)
    assert errors == []
    assert spec == SLOSpec(
        name="churn-availability", service="churn-model", objective=99.9,
        description="Churn predictions are served", window=timedelta(days=30),
        labels={"model": "churn"}, metadata_labels={"team": "ml"},
        sli=EventsSLI(good=parse_selector('model_requests_total{model="churn",code!~"5.."}'),
                      total=parse_selector('model_requests_total{model="churn"}')),
        alerting=AlertingSpec(
            name="ChurnAvailabilityBurn", labels={"team": "ml"},
            annotations={"runbook_url": "runbooks/churn.md"},
            page=SeverityAlerting(labels={"route": "oncall"}, annotations={"note": "wake"}),
            ticket=SeverityAlerting(disable=True),
            windows=default_windows(timedelta(days=30))))
    assert spec.target == pytest.approx(0.999)
    assert spec.error_budget == pytest.approx(0.001)
    assert str(spec.where) == "slo.yaml:1:1"


def test_minimal_document_takes_the_defaults(tmp_path: Path) -> None:
    (spec,), errors = _read(tmp_path, """\
        apiVersion: watchkeeper.dev/v1
        kind: SLO
        metadata: {name: latency}
        spec:
          service: churn-model
          objective: 99
          sli: {events: {bad: 'slow_total', total: 'req_total'}}
        """)
    assert errors == []
    assert spec is not None
    assert spec.window == timedelta(days=30)
    assert spec.objective == 99.0
    assert spec.alerting.name == "SLOBurnRate"
    assert spec.alerting.windows == default_windows(timedelta(days=30))
    assert spec.sli == EventsSLI(bad=parse_selector("slow_total"),
                                 total=parse_selector("req_total"))


def test_windows_override_is_used_as_given(tmp_path: Path) -> None:
    (spec,), errors = _read(tmp_path, """\
        apiVersion: watchkeeper.dev/v1
        kind: SLO
        metadata: {name: demo}
        spec:
          service: demo
          objective: 95
          window: 1h
          sli: {events: {bad: 'err_total', total: 'req_total'}}
          alerting:
            windows:
              - {severity: page, long: 5m, short: 1m, factor: 10}
              - {severity: ticket, long: 30m, short: 5m, factor: 2.5}
        """)
    assert errors == []
    assert spec is not None
    assert spec.alerting.windows == (
        BurnRateWindow(severity=Severity.PAGE, long_window=timedelta(minutes=5),
                       short_window=timedelta(minutes=1), factor=10.0),
        BurnRateWindow(severity=Severity.TICKET, long_window=timedelta(minutes=30),
                       short_window=timedelta(minutes=5), factor=2.5))


def test_short_window_without_override_is_refused(tmp_path: Path) -> None:
    (spec,), errors = _read(tmp_path, """\
        apiVersion: watchkeeper.dev/v1
        kind: SLO
        metadata: {name: demo}
        spec:
          service: demo
          objective: 95
          window: 1h
          sli: {events: {bad: 'err_total', total: 'req_total'}}
        """)
    assert spec is None
    assert errors == [
        'slo.yaml:7:11: SLO "demo": spec.window: window 1h is shorter than the longest default '
        "alert window 3d; list alert windows under spec.alerting.windows or use a window of "
        "at least 3d"]


def test_wrong_api_version_is_reported(tmp_path: Path) -> None:
    (spec,), errors = _read(tmp_path, FULL.replace("watchkeeper.dev/v1", "watchkeeper.dev/v2"))
    assert spec is None
    assert errors == ['slo.yaml:1:1: SLO "churn-availability": apiVersion: unsupported '
                      "apiVersion 'watchkeeper.dev/v2' for kind SLO; use watchkeeper.dev/v1"]


def test_other_kinds_are_a_programming_error(tmp_path: Path) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text("apiVersion: watchkeeper.dev/v1\nkind: AlertRule\n"
                    "metadata: {name: x}\nspec: {}\n", encoding="utf-8")
    (doc,) = load_file(path, "rule.yaml", [])
    with pytest.raises(ValueError, match="expected a document of kind SLO, got 'AlertRule'"):
        from_document(doc, [])


def _window(**overrides: object) -> BurnRateWindow:
    values: dict[str, object] = {"severity": Severity.PAGE, "long_window": timedelta(hours=1),
                                 "short_window": timedelta(minutes=5), "factor": 14.4}
    values.update(overrides)
    return BurnRateWindow(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"short_window": timedelta(hours=1)}, "short_window 1h must be shorter than long_window 1h"),
    ({"short_window": timedelta(0)}, "short_window must be positive, got 0s"),
    ({"factor": 0.0}, "factor must be > 0, got 0.0"),
    ({"factor": float("nan")}, "factor must be > 0, got nan"),
    ({"severity": Severity.WARNING}, "severity must be page or ticket, got 'warning'"),
])
def test_burn_rate_window_invariants(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        _window(**overrides)


def test_spec_invariants_name_the_field_and_value() -> None:
    sli = EventsSLI(bad=parse_selector("e"), total=parse_selector("t"))
    alerting = AlertingSpec(windows=(_window(),))
    with pytest.raises(ValueError, match=r"objective must be a percentage .* got 100"):
        SLOSpec(name="a", service="s", objective=100, sli=sli, alerting=alerting)
    with pytest.raises(ValueError, match="alert window 1h is longer than the SLO window 30m"):
        SLOSpec(name="a", service="s", objective=99, sli=sli, alerting=alerting,
                window=timedelta(minutes=30))
    with pytest.raises(ValueError, match="set exactly one of good or bad, got neither"):
        EventsSLI(total=parse_selector("t"))
    with pytest.raises(ValueError, match="set exactly one of good or bad, got both"):
        EventsSLI(total=parse_selector("t"), good=parse_selector("g"), bad=parse_selector("b"))
    with pytest.raises(ValueError, match="name must be a valid alert name"):
        AlertingSpec(windows=(_window(),), name="burn rate")
    with pytest.raises(ValueError, match="SLO alerts are page or ticket, got 'info'"):
        alerting.severity(Severity.INFO)


EVERYTHING = """\
apiVersion: watchkeeper.dev/v1
kind: SLO
metadata: {name: checkout-latency}
spec:
  service: checkout
  objective: 99
  calendar: {unit: month, timezone: Europe/Berlin}
  budgeting: Timeslices
  timeslice: {duration: 1m, target: 0.95}
  group_by: [tenant, region]
  min_events: 100
  source: prometheus
  sli:
    latency: {histogram: 'http_request_duration_seconds{job="api"}', threshold: 0.3}
  alerting:
    dashboard_url: https://grafana.example/d/checkout
    no_data: {enabled: true, after: 30m, severity: page}
    exhaustion: {enabled: true, within: 2d, lookback: 12h}
    page: {labels: {route: oncall}}
    windows:
      - {severity: page, long: 1h, short: 5m, factor: 14.4, for: 2m}
      - {severity: page, long: 6h, short: 30m, factor: 6, disable: true}
      - {severity: ticket, long: 3d, short: 6h, factor: 1}
"""


def test_every_native_key_reads_into_the_model(tmp_path: Path) -> None:
    (spec,), errors = _read(tmp_path, EVERYTHING)
    assert errors == []
    assert spec is not None
    assert spec.sli == LatencySLI(histogram=parse_selector(
        'http_request_duration_seconds{job="api"}'), threshold_seconds=0.3)
    assert (spec.window, spec.calendar) == (timedelta(days=30), CalendarPeriod(
        unit=CalendarUnit.MONTH, timezone="Europe/Berlin"))
    assert (spec.budgeting, spec.timeslice, spec.timeslice_target) == (
        Budgeting.TIMESLICES, timedelta(minutes=1), 0.95)
    assert (spec.group_by, spec.min_events, spec.source) == (
        ("tenant", "region"), 100.0, SourceKind.PROMETHEUS)
    a = spec.alerting
    assert a.custom_windows and a.dashboard_url == "https://grafana.example/d/checkout"
    assert a.no_data == NoDataAlert(enabled=True, after=timedelta(minutes=30),
                                    severity=Severity.PAGE)
    assert a.exhaustion == ExhaustionAlert(enabled=True, within=timedelta(days=2),
                                           lookback=timedelta(hours=12))
    assert a.windows == (  # the disabled 6h/30m tier is dropped
        BurnRateWindow(severity=Severity.PAGE, long_window=timedelta(hours=1),
                       short_window=timedelta(minutes=5), factor=14.4,
                       for_duration=timedelta(minutes=2)),
        BurnRateWindow(severity=Severity.TICKET, long_window=timedelta(days=3),
                       short_window=timedelta(hours=6), factor=1.0))


@pytest.mark.parametrize(("sli", "expected"), [
    ("probe: {selector: 'up{job=\"api\"}'}", ProbeSLI(selector=parse_selector('up{job="api"}'))),
    ("bool_gauge: {selector: model_loaded}",
     BoolGaugeSLI(selector=parse_selector("model_loaded"))),
    ("drift_checks: {monitor: churn-drift}", DriftChecksSLI(monitor="churn-drift")),
    ("ground_truth: {predictions: capture.jsonl, labels: labels.jsonl, join_key: id, "
     "prediction_field: score, label_field: y, threshold: 0.7, label_lag: 1d}",
     GroundTruthSLI(predictions="capture.jsonl", labels="labels.jsonl", join_key="id",
                    prediction_field="score", label_field="y", threshold=0.7,
                    label_lag=timedelta(days=1))),
    ("ground_truth: {predictions: capture.jsonl, labels: labels.jsonl}",
     GroundTruthSLI(predictions="capture.jsonl", labels="labels.jsonl")),
    ("latency: {histogram: h, threshold: 300ms}",
     LatencySLI(histogram=parse_selector("h"), threshold_seconds=0.3)),
    ("promql: {error_ratio_query: 'sum(rate(e[{{.window}}]))'}",
     PromQLSLI(error_ratio_query="sum(rate(e[{{.window}}]))")),
    ("promql: {error_query: 'e[{{.window}}]', total_query: 't[{{.window}}]'}",
     PromQLSLI(error_query="e[{{.window}}]", total_query="t[{{.window}}]")),
])
def test_each_sli_kind_reads(tmp_path: Path, sli: str, expected: object) -> None:
    (spec,), errors = _read(tmp_path, f"""\
        apiVersion: watchkeeper.dev/v1
        kind: SLO
        metadata: {{name: quality}}
        spec:
          service: churn-model
          objective: 95
          window: 7d
          sli: {{{sli}}}
        """)
    assert errors == []
    assert spec is not None and spec.sli == expected
    assert spec.alerting.windows == default_windows(timedelta(days=7))
    assert not spec.alerting.custom_windows and spec.calendar is None


def test_calendar_windows_take_the_nominal_length(tmp_path: Path) -> None:
    for unit, days, factor in [("week", 7, 3.36), ("quarter", 90, 43.2)]:
        (spec,), errors = _read(tmp_path, FULL.replace(
            "window: 30d", f"calendar: {{unit: {unit}}}"))
        assert errors == [] and spec is not None
        assert spec.window == timedelta(days=days)
        assert spec.calendar == CalendarPeriod(unit=CalendarUnit(unit), timezone="UTC")
        assert spec.alerting.windows[0].factor == pytest.approx(factor)


def test_ratio_timeslices_take_no_target(tmp_path: Path) -> None:
    (spec,), errors = _read(tmp_path, FULL.replace(
        "window: 30d", "budgeting: RatioTimeslices\n  timeslice: {duration: 5m}"))
    assert errors == [] and spec is not None
    assert (spec.budgeting, spec.timeslice, spec.timeslice_target) == (
        Budgeting.RATIO_TIMESLICES, timedelta(minutes=5), None)
