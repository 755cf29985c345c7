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
    BurnRateWindow,
    EventsSLI,
    SeverityAlerting,
    SLOSpec,
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
    assert spec.sli.bad == parse_selector("slow_total") and spec.sli.good is None


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
    with pytest.raises(ValueError, match="windows must hold at least one"):
        AlertingSpec(windows=())
    with pytest.raises(ValueError, match="SLO alerts are page or ticket, got 'info'"):
        alerting.severity(Severity.INFO)
