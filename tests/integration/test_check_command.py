"""``watchkeeper check`` through its entry point: every problem printed as file:line:col."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main

BAD = Path(__file__).parents[1] / "bad" / "check"
GOOD = Path(__file__).parents[2] / "monitor" / "demo" / "files"


def test_check_prints_every_problem_with_its_location(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(BAD, tmp_path / "cfg")
    config = tmp_path / "cfg" / "watchkeeper.yaml"
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out.replace(str(tmp_path / "cfg") + "/", "")
    lines = out.splitlines()
    assert lines[-1].endswith("problems in 3 files; nothing was loaded.")
    expected_prefixes = [
        "watchkeeper.yaml:6:3: intervals.evalution: unknown key; did you mean \"evaluation\"?",
        "watchkeeper.yaml:10:14: targets[0].timeout: invalid duration 'soon'",
        "rules/policy.yaml:9:3: RemediationPolicy \"rollback\": spec.gaurds: unknown key; "
        "did you mean \"guards\"?",
        "rules/policy.yaml:12:1: kind: unknown kind 'RemediatonPolicy'; "
        "did you mean \"RemediationPolicy\"?",
        "rules/slo.yaml:7:14: SLO \"churn-availability\": spec.objective:",
        "rules/slo.yaml:11:12: SLO \"churn-availability\": spec.sli.events.bad:",
        "rules/slo.yaml:14:1: SLO \"churn-availability\": metadata.name: duplicate SLO name "
        "\"churn-availability\"",
    ]
    for prefix in expected_prefixes:
        assert any(line.startswith(prefix) for line in lines), (prefix, lines)
    for line in lines[:-1]:
        path, line_no, col = line.split(":")[:3]
        assert (BAD / path).exists() and line_no.isdigit() and col.isdigit(), line


def test_check_passes_on_the_demo_files(tmp_path: Path) -> None:
    shutil.copytree(GOOD, tmp_path / "cfg")
    config = tmp_path / "cfg" / "watchkeeper.yaml"
    config.write_text(config.read_text().replace("{port}", "9999").replace("{model_port}", "8080"))
    done = subprocess.run([sys.executable, "-m", "monitor", "check", "--config", str(config)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith(
        "ok (1 targets, 1 receivers, 1 SLOs, 1 remediation policies)")


def test_check_reports_a_missing_file(capsys: pytest.CaptureFixture[str],
                                      tmp_path: Path) -> None:
    assert main(["check", "--config", str(tmp_path / "nope.yaml")]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'nope.yaml'}: cannot read file:" in out
    assert "pass --config FILE or create watchkeeper.yaml" in out


def test_check_reports_selectors_naming_no_series_and_bad_buckets(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime

    from monitor.core.model import Labels, Sample
    from monitor.store import Database, SampleStore

    (tmp_path / "rules").mkdir()
    (tmp_path / "watchkeeper.yaml").write_text("database: {url: sqlite:///wk.db}\n")
    (tmp_path / "rules" / "slos.yaml").write_text("""\
apiVersion: watchkeeper.dev/v1
kind: SLO
metadata: {name: typo}
spec:
  service: api
  objective: 99
  sli:
    events:
      bad: 'http_requests_total{code="500"}'
      total: 'http_request_total'
---
apiVersion: watchkeeper.dev/v1
kind: SLO
metadata: {name: latency}
spec:
  service: api
  objective: 99
  sli:
    latency:
      histogram: 'http_request_duration_seconds'
      threshold: 0.3
""")
    db = Database(f"sqlite:///{tmp_path / 'wk.db'}")
    db.upgrade()
    now = datetime(2026, 8, 1, tzinfo=UTC)
    SampleStore(db).write([
        Sample(metric="http_requests_total", labels=Labels({"code": "200"}), value=1,
               timestamp=now),
        *(Sample(metric="http_request_duration_seconds_bucket", labels=Labels({"le": le}),
                 value=1, timestamp=now) for le in ("0.1", "0.25", "0.5", "+Inf")),
        Sample(metric="http_request_duration_seconds_count", labels=Labels(), value=1,
               timestamp=now),
    ])
    db.dispose()
    assert main(["check", "--config", str(tmp_path / "watchkeeper.yaml")]) == 1
    out = capsys.readouterr().out.replace(str(tmp_path) + "/", "")
    assert out.splitlines() == [
        'rules/slos.yaml:1:1: SLO "typo": spec.sli.events.total: selector http_request_total '
        "names no series: no metric 'http_request_total'; "
        'did you mean "http_requests_total"?',
        'rules/slos.yaml:1:1: SLO "typo": spec.sli.events.bad: selector '
        'http_requests_total{code="500"} names no series; the metric exists but no series '
        "matches the label matchers; a counter of failures may appear only after the first "
        "failure",
        'rules/slos.yaml:12:1: SLO "latency": spec.sli.latency.threshold: threshold 0.3s is '
        "between the buckets 0.25 and 0.5 of http_request_duration_seconds; "
        "use one of: 0.1, 0.25, 0.5",
        "3 problems in 1 file; nothing was loaded.",
    ]
