"""Generated rules pass real ``promtool check rules``, their tests ``promtool test rules``."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from monitor.core.matchers import parse_selector
from monitor.core.model import Severity
from monitor.slo.model import (
    AlertingSpec,
    BoolGaugeSLI,
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
)
from monitor.slo.rules import write_rules
from monitor.slo.windows import BurnRateWindow, default_windows
from tests.integration.prometheus import require

GOLDEN = Path(__file__).parents[1] / "golden" / "rules"
W30 = default_windows(timedelta(days=30))


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require("promtool"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)


def _specs() -> list[SLOSpec]:
    sel = parse_selector
    tiers_with_for = (
        BurnRateWindow(severity=Severity.PAGE, long_window=timedelta(hours=1),
                       short_window=timedelta(minutes=5), factor=10,
                       for_duration=timedelta(minutes=2)),
        BurnRateWindow(severity=Severity.PAGE, long_window=timedelta(hours=6),
                       short_window=timedelta(minutes=30), factor=5))
    return [
        SLOSpec(name="events-bad", service="checkout", objective=99.9,
                sli=EventsSLI(total=sel('http_requests_total{job="api"}'),
                              bad=sel('http_requests_total{job="api",code=~"5.."}')),
                alerting=AlertingSpec(windows=W30, labels={"team": "payments"},
                                      dashboard_url="https://grafana.example.com/d/slo"),
                labels={"tier": "1"}),
        SLOSpec(name="events-good-grouped", service="checkout", objective=99.5,
                sli=EventsSLI(total=sel("requests_total"),
                              good=sel('requests_total{code=~"2..|3.."}')),
                alerting=AlertingSpec(windows=W30), group_by=("tenant",), min_events=10),
        SLOSpec(name="errors-other-metric", service="search", objective=95,
                window=timedelta(days=28),
                sli=EventsSLI(total=sel("search_requests_total"),
                              bad=sel("search_errors_total")),
                alerting=AlertingSpec(windows=default_windows(timedelta(days=28)),
                                      ticket=SeverityAlerting(disable=True))),
        SLOSpec(name="latency", service="checkout", objective=99,
                sli=LatencySLI(histogram=sel('http_request_duration_seconds{job="api"}'),
                               threshold_seconds=0.25),
                alerting=AlertingSpec(windows=W30, no_data=NoDataAlert(enabled=True),
                                      exhaustion=ExhaustionAlert(enabled=True))),
        SLOSpec(name="probe", service="checkout", objective=99.9,
                sli=ProbeSLI(selector=sel('probe_success{job="blackbox"}')),
                alerting=AlertingSpec(windows=W30)),
        SLOSpec(name="bool-gauge", service="churn", objective=99.9,
                sli=BoolGaugeSLI(selector=sel('model_loaded{model="churn"}')),
                alerting=AlertingSpec(windows=W30)),
        SLOSpec(name="drift", service="churn", objective=95,
                sli=DriftChecksSLI(monitor="churn-drift"),
                alerting=AlertingSpec(windows=tiers_with_for)),
        SLOSpec(name="promql", service="svc01", objective=99,
                sli=PromQLSLI(error_query="sum(rate(errors_total[{{.window}}]))",
                              total_query="sum(rate(requests_total[{{.window}}]))"),
                alerting=AlertingSpec(windows=W30)),
        SLOSpec(name="ground-truth", service="churn", objective=90,
                sli=GroundTruthSLI(predictions="p.jsonl", labels="l.jsonl"),
                alerting=AlertingSpec(windows=W30)),
    ]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rules")
    write_rules(_specs(), out)
    return out


def test_every_sli_kind_passes_promtool_check_rules(generated: Path) -> None:
    files = sorted(p.name for p in generated.glob("*.rules.yml"))
    assert len(files) == len(_specs())
    result = _promtool("check", "rules", *files, cwd=generated)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", [s.name for s in _specs() if s.name != "ground-truth"])
def test_generated_promtool_tests_pass(generated: Path, name: str) -> None:
    result = _promtool("test", "rules", f"{name}.test.yml", cwd=generated)
    assert result.returncode == 0, result.stdout + result.stderr
    tests = yaml.safe_load((generated / f"{name}.test.yml").read_text())["tests"]
    if name != "promql":  # a PromQL SLI has no synthetic input: metadata checks only
        burning, quiet = tests[1], tests[2]
        assert any(t["exp_alerts"] for t in burning["alert_rule_test"]), "nothing fires"
        assert not any(t["exp_alerts"] for t in quiet["alert_rule_test"])


def test_a_wrong_expectation_makes_promtool_fail(generated: Path, tmp_path: Path) -> None:
    data = yaml.safe_load((generated / "events-bad.test.yml").read_text())
    data["rule_files"] = [str(generated / "events-bad.rules.yml")]
    data["tests"][1]["promql_expr_test"][0]["exp_samples"][0]["value"] = 0.5
    (tmp_path / "wrong.test.yml").write_text(yaml.safe_dump(data))
    result = _promtool("test", "rules", "wrong.test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "slo:sli_error:ratio_rate5m" in result.stdout + result.stderr


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()))
def test_golden_outputs_pass_promtool(case: str) -> None:
    folder = GOLDEN / case
    check = _promtool("check", "rules", "out.rules.yml", cwd=folder)
    assert check.returncode == 0, check.stdout + check.stderr
    test = _promtool("test", "rules", "out.test.yml", cwd=folder)
    assert test.returncode == 0, test.stdout + test.stderr


def test_rules_generated_from_sloth_files_pass_promtool(tmp_path: Path) -> None:
    """``rules generate`` on a Sloth file (28d period) gives files promtool accepts."""
    import shutil as _shutil

    from monitor.cli import main

    promtool = _shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing; run tests/install-components.sh")
        pytest.skip("promtool is missing; run tests/install-components.sh")
    rules = tmp_path / "rules"
    rules.mkdir()
    _shutil.copy(Path(__file__).parents[1] / "golden" / "sloth_compat" / "base" / "in.yaml",
                 rules / "payments.yaml")
    out = tmp_path / "out"
    assert main(["rules", "generate", "--rules", str(rules), "--out", str(out),
                 "--sloth-default-period", "28d"]) == 0
    files = sorted(out.glob("*.rules.yml"))
    assert [f.name for f in files] == ["payments-api-authorisations-fast.rules.yml",
                                       "payments-api-requests-ok.rules.yml"]
    subprocess.run([promtool, "check", "rules", *map(str, files)], check=True,
                   capture_output=True)
    tests = sorted(out.glob("*.test.yml"))
    done = subprocess.run([promtool, "test", "rules", *map(str, tests)], capture_output=True,
                          text=True, check=False, cwd=out)
    assert done.returncode == 0, done.stdout + done.stderr
