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
